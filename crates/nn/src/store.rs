//! `ParamStore`: every parameter of a model, its train/eval mode and its seeded generator; and `Path`,
//! the hierarchical name under which a layer creates its parameters.
//!
//! A model is a plain struct of layers; each layer registers its parameters in the store through the
//! `Path` it is built with, so the model itself needs nothing but `forward`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use wengert_tensor::{Float, Tensor};

use crate::init::Init;
use crate::param::Param;
use crate::rng::SeedRng;

mod summary;

pub use summary::Summary;

/// The parameters of a model, its mode and its generator. Clones share them.
///
/// A store is `Send + Sync` (the lists behind read-write locks, the mode an atomic flag, the generator
/// behind a mutex), so a trained model can be shared by the threads of a server or a rayon pool.
///
/// ```
/// use wengert::nn::{Init, ParamStore};
/// let store = ParamStore::<f32>::new(0);
/// let w = store.root().sub("fc").param("weight", &[3, 2], Init::GLOROT_UNIFORM);
/// assert_eq!(w.name(), "fc.weight");
/// assert_eq!(store.num_parameters(), 6);
/// store.eval();
/// assert!(!store.is_training());
/// ```
pub struct ParamStore<F: Float = f32> {
    inner: Arc<Inner<F>>,
}

struct Inner<F: Float> {
    params: RwLock<Vec<Param<F>>>,
    /// Non-trainable state saved with the parameters (batch norm's running statistics).
    buffers: RwLock<Vec<Param<F>>>,
    training: AtomicBool,
    rng: Mutex<SeedRng>,
}

/// Read-locks a list. A panic while it was held (a duplicate name, say) leaves a whole list behind, so
/// a poisoned lock is still read.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-locks a list; poisoning is ignored as in [`read`].
fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl<F: Float> Clone for ParamStore<F> {
    fn clone(&self) -> Self {
        ParamStore { inner: Arc::clone(&self.inner) }
    }
}

impl ParamStore<f32> {
    /// An empty `f32` store in training mode, its generator seeded with `seed`: f32 is the default
    /// dtype, as in PyTorch and Keras, and `ParamStore::new` is always f32, so an untyped float literal
    /// in a user's tensors cannot turn the model into f64 (it is a type error instead). For f64, write
    /// [`ParamStore::<f64>::with_seed(seed)`](ParamStore::with_seed).
    ///
    /// ```
    /// use wengert::nn::{Linear, Module, ParamStore};
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    ///
    /// let store = ParamStore::new(0); // ParamStore<f32>
    /// let model = Linear::new(&store.root(), 2, 1);
    /// let tape = Tape::new();
    /// let y = model.forward(tape.constant(Tensor::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap()));
    /// let value: Tensor<f32> = y.value(); // the literals above are f32
    ///
    /// let wide = ParamStore::<f64>::with_seed(0); // f64, chosen by name
    /// let weight: Tensor<f64> = Linear::new(&wide.root(), 2, 1).weight.value();
    /// assert_eq!((value.shape(), weight.shape()), (&[1, 1][..], &[1, 2][..]));
    /// ```
    pub fn new(seed: u64) -> Self {
        ParamStore::with_seed(seed)
    }
}

impl<F: Float> ParamStore<F> {
    /// An empty store of dtype `F` in training mode, its generator seeded with `seed`:
    /// `ParamStore::<f64>::with_seed(seed)` for f64 (`ParamStore::new(seed)` is the f32 one).
    pub fn with_seed(seed: u64) -> Self {
        ParamStore {
            inner: Arc::new(Inner {
                params: RwLock::new(Vec::new()),
                buffers: RwLock::new(Vec::new()),
                training: AtomicBool::new(true),
                rng: Mutex::new(SeedRng::new(seed)),
            }),
        }
    }

    /// The root path, with no prefix.
    pub fn root(&self) -> Path<F> {
        Path { store: self.clone(), prefix: String::new() }
    }

    /// Every parameter, in the order they were created.
    pub fn parameters(&self) -> Vec<Param<F>> {
        read(&self.inner.params).clone()
    }

    /// The buffers: non-trainable state such as batch norm's running statistics. Optimizers do not see
    /// them; checkpoints save them.
    pub fn buffers(&self) -> Vec<Param<F>> {
        read(&self.inner.buffers).clone()
    }

    /// Every parameter, then every buffer: what a checkpoint saves (PyTorch's `state_dict`).
    pub fn state_dict(&self) -> Vec<Param<F>> {
        let mut all = self.parameters();
        all.extend(self.buffers());
        all
    }

    /// The parameter with this full name, if any.
    pub fn get(&self, name: &str) -> Option<Param<F>> {
        read(&self.inner.params).iter().find(|p| p.name() == name).cloned()
    }

    /// The total number of parameter elements.
    pub fn num_parameters(&self) -> usize {
        read(&self.inner.params).iter().map(Param::len).sum()
    }

    /// A Keras-like table of every parameter and buffer (name, shape, element count; buffers marked),
    /// then the total, trainable and non-trainable counts. Print it with `{}`.
    ///
    /// ```
    /// use wengert::nn::{Linear, ParamStore};
    /// let store = ParamStore::<f32>::new(0);
    /// let _fc = Linear::new(&store.root().sub("fc"), 2, 3);
    /// let table = store.summary().to_string();
    /// assert!(table.contains("fc.weight  [3, 2]"));
    /// assert!(table.contains("Trainable params: 9"));
    /// ```
    pub fn summary(&self) -> Summary {
        Summary::new(&read(&self.inner.params), &read(&self.inner.buffers))
    }

    /// Training mode: dropout drops, batch norm uses and updates batch statistics.
    pub fn train(&self) {
        self.inner.training.store(true, Ordering::Relaxed);
    }

    /// Evaluation mode: dropout is the identity, batch norm uses its running statistics.
    pub fn eval(&self) {
        self.inner.training.store(false, Ordering::Relaxed);
    }

    /// True in training mode.
    pub fn is_training(&self) -> bool {
        self.inner.training.load(Ordering::Relaxed)
    }

    /// Runs `f` with the store's generator (initialisation, dropout masks, shuffling). The generator is
    /// locked while `f` runs, so threads that draw at the same time take turns; `f` must not draw from
    /// the same store again (the lock is not re-entrant: a nested call deadlocks or panics).
    pub fn with_rng<R>(&self, f: impl FnOnce(&mut SeedRng) -> R) -> R {
        f(&mut self.rng())
    }

    /// The generator's state, for checkpoints.
    pub fn rng_state(&self) -> SeedRng {
        self.rng().clone()
    }

    /// Restores the generator's state from a checkpoint.
    pub fn set_rng_state(&self, rng: SeedRng) {
        *self.rng() = rng;
    }

    /// Registers a parameter made elsewhere.
    ///
    /// # Panics
    ///
    /// When a parameter of the same name is already registered.
    #[track_caller]
    pub fn add(&self, param: Param<F>) -> Param<F> {
        // Both lists stay locked from the check to the push, so two threads cannot both add a name;
        // every method locks `params` before `buffers`.
        let mut params = write(&self.inner.params);
        check_new_name(&params, &read(&self.inner.buffers), param.name());
        params.push(param.clone());
        param
    }

    /// Registers a buffer: state saved in checkpoints but never trained.
    ///
    /// # Panics
    ///
    /// When a parameter or buffer of the same name is already registered.
    #[track_caller]
    pub fn add_buffer(&self, buffer: Param<F>) -> Param<F> {
        let params = read(&self.inner.params);
        let mut buffers = write(&self.inner.buffers);
        check_new_name(&params, &buffers, buffer.name());
        buffers.push(buffer.clone());
        buffer
    }

    fn rng(&self) -> MutexGuard<'_, SeedRng> {
        self.inner.rng.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[track_caller]
fn check_new_name<F: Float>(params: &[Param<F>], buffers: &[Param<F>], name: &str) {
    if params.iter().chain(buffers).any(|p| p.name() == name) {
        panic!("param store: a parameter named `{name}` already exists");
    }
}

impl<F: Float> std::fmt::Debug for ParamStore<F> {
    /// Every parameter and buffer (name, id, shape), and the mode.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParamStore")
            .field("parameters", &*read(&self.inner.params))
            .field("buffers", &*read(&self.inner.buffers))
            .field("training", &self.is_training())
            .finish_non_exhaustive()
    }
}

/// A place in a store's name hierarchy: layers create their parameters under it.
#[derive(Clone)]
pub struct Path<F: Float = f32> {
    store: ParamStore<F>,
    prefix: String,
}

impl<F: Float> std::fmt::Debug for Path<F> {
    /// The prefix only: the store is printed by its own `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Path").field(&self.prefix).finish()
    }
}

impl<F: Float> Path<F> {
    /// The path one level down: `fc1` under `encoder` is `encoder.fc1`.
    pub fn sub(&self, name: impl std::fmt::Display) -> Path<F> {
        Path { store: self.store.clone(), prefix: self.full(&name.to_string()) }
    }

    /// Creates and registers a parameter `prefix.name` of `shape` filled by `init`.
    ///
    /// # Panics
    ///
    /// When a parameter of that name already exists in the store.
    #[track_caller]
    pub fn param(&self, name: &str, shape: &[usize], init: Init) -> Param<F> {
        let value: Tensor<F> = self.store.with_rng(|rng| init.tensor(shape, rng));
        self.store.add(Param::new(self.full(name), value))
    }

    /// The store this path belongs to.
    pub fn store(&self) -> &ParamStore<F> {
        &self.store
    }

    /// The prefix, such as `layers.0`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn full(&self, name: &str) -> String {
        if self.prefix.is_empty() { name.to_string() } else { format!("{}.{name}", self.prefix) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_parameters_hierarchically() {
        let store = ParamStore::<f32>::new(1);
        let p = store.root().sub("layers").sub(0).param("weight", &[2, 2], Init::Ones);
        assert_eq!(p.name(), "layers.0.weight");
        assert!(store.get("layers.0.weight").unwrap().same(&p));
        assert!(store.get("nope").is_none());
        assert_eq!(store.parameters().len(), 1);
    }

    #[test]
    #[should_panic(expected = "param store: a parameter named `w` already exists")]
    fn duplicate_names_are_rejected() {
        let store = ParamStore::<f32>::new(1);
        store.root().param("w", &[1], Init::Zeros);
        store.root().param("w", &[1], Init::Zeros);
    }

    #[test]
    fn debug_lists_parameters_buffers_and_mode_and_a_path_shows_its_prefix() {
        let store = ParamStore::<f32>::new(1);
        let w = store.root().sub("fc").param("weight", &[2, 3], Init::Zeros);
        store.add_buffer(Param::new("bn.running_mean", Tensor::zeros(&[3])));
        store.eval();
        let text = format!("{store:?}");
        let expected = format!(
            "ParamStore {{ parameters: [Param(fc.weight, #{}, shape [2, 3])], buffers: [Param(bn.running_mean, #",
            w.id()
        );
        assert!(text.starts_with(&expected), "{text}");
        assert!(text.ends_with("shape [3])], training: false, .. }"), "{text}");
        assert_eq!(format!("{:?}", store.root().sub("encoder").sub(0)), "Path(\"encoder.0\")");
    }

    #[test]
    fn the_same_seed_gives_the_same_parameters() {
        let make = || ParamStore::<f32>::new(9).root().param("w", &[4], Init::GLOROT_UNIFORM).value();
        assert_eq!(make(), make());
    }
}
