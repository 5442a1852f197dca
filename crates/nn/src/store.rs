//! `ParamStore`: every parameter of a model, its train/eval mode and its seeded generator; and `Path`,
//! the hierarchical name under which a layer creates its parameters.
//!
//! A model is a plain struct of layers; each layer registers its parameters in the store through the
//! `Path` it is built with, so the model itself needs nothing but `forward`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wengert_tensor::{Float, Tensor};

use crate::init::Init;
use crate::param::Param;
use crate::rng::SeedRng;

/// The parameters of a model, its mode and its generator. Clones share them.
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
    inner: Rc<Inner<F>>,
}

struct Inner<F: Float> {
    params: RefCell<Vec<Param<F>>>,
    /// Non-trainable state saved with the parameters (batch norm's running statistics).
    buffers: RefCell<Vec<Param<F>>>,
    training: Cell<bool>,
    rng: RefCell<SeedRng>,
}

impl<F: Float> Clone for ParamStore<F> {
    fn clone(&self) -> Self {
        ParamStore { inner: Rc::clone(&self.inner) }
    }
}

impl<F: Float> ParamStore<F> {
    /// An empty store in training mode, its generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        ParamStore {
            inner: Rc::new(Inner {
                params: RefCell::new(Vec::new()),
                buffers: RefCell::new(Vec::new()),
                training: Cell::new(true),
                rng: RefCell::new(SeedRng::new(seed)),
            }),
        }
    }

    /// The root path, with no prefix.
    pub fn root(&self) -> Path<F> {
        Path { store: self.clone(), prefix: String::new() }
    }

    /// Every parameter, in the order they were created.
    pub fn parameters(&self) -> Vec<Param<F>> {
        self.inner.params.borrow().clone()
    }

    /// The buffers: non-trainable state such as batch norm's running statistics. Optimizers do not see
    /// them; checkpoints save them.
    pub fn buffers(&self) -> Vec<Param<F>> {
        self.inner.buffers.borrow().clone()
    }

    /// Every parameter, then every buffer: what a checkpoint saves (PyTorch's `state_dict`).
    pub fn state_dict(&self) -> Vec<Param<F>> {
        let mut all = self.parameters();
        all.extend(self.buffers());
        all
    }

    /// The parameter with this full name, if any.
    pub fn get(&self, name: &str) -> Option<Param<F>> {
        self.inner.params.borrow().iter().find(|p| p.name() == name).cloned()
    }

    /// The total number of parameter elements.
    pub fn num_parameters(&self) -> usize {
        self.inner.params.borrow().iter().map(Param::len).sum()
    }

    /// Training mode: dropout drops, batch norm uses and updates batch statistics.
    pub fn train(&self) {
        self.inner.training.set(true);
    }

    /// Evaluation mode: dropout is the identity, batch norm uses its running statistics.
    pub fn eval(&self) {
        self.inner.training.set(false);
    }

    /// True in training mode.
    pub fn is_training(&self) -> bool {
        self.inner.training.get()
    }

    /// Runs `f` with the store's generator (initialisation, dropout masks, shuffling).
    pub fn with_rng<R>(&self, f: impl FnOnce(&mut SeedRng) -> R) -> R {
        f(&mut self.inner.rng.borrow_mut())
    }

    /// The generator's state, for checkpoints.
    pub fn rng_state(&self) -> SeedRng {
        self.inner.rng.borrow().clone()
    }

    /// Restores the generator's state from a checkpoint.
    pub fn set_rng_state(&self, rng: SeedRng) {
        *self.inner.rng.borrow_mut() = rng;
    }

    /// Registers a parameter made elsewhere.
    ///
    /// # Panics
    ///
    /// When a parameter of the same name is already registered.
    #[track_caller]
    pub fn add(&self, param: Param<F>) -> Param<F> {
        self.check_new_name(param.name());
        self.inner.params.borrow_mut().push(param.clone());
        param
    }

    /// Registers a buffer: state saved in checkpoints but never trained.
    ///
    /// # Panics
    ///
    /// When a parameter or buffer of the same name is already registered.
    #[track_caller]
    pub fn add_buffer(&self, buffer: Param<F>) -> Param<F> {
        self.check_new_name(buffer.name());
        self.inner.buffers.borrow_mut().push(buffer.clone());
        buffer
    }

    #[track_caller]
    fn check_new_name(&self, name: &str) {
        let taken = |list: &RefCell<Vec<Param<F>>>| list.borrow().iter().any(|p| p.name() == name);
        if taken(&self.inner.params) || taken(&self.inner.buffers) {
            panic!("param store: a parameter named `{name}` already exists");
        }
    }
}

/// A place in a store's name hierarchy: layers create their parameters under it.
#[derive(Clone)]
pub struct Path<F: Float = f32> {
    store: ParamStore<F>,
    prefix: String,
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
    fn the_same_seed_gives_the_same_parameters() {
        let make = || ParamStore::<f32>::new(9).root().param("w", &[4], Init::GLOROT_UNIFORM).value();
        assert_eq!(make(), make());
    }
}
