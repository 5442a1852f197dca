//! `Param`: a trainable tensor that lives outside any tape — a shared handle with a stable id and a
//! hierarchical name — and the binding of parameters to a tape and to gradients.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use wengert_tape::{Gradients, Tape, Var};
use wengert_tensor::{Float, Tensor};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A trainable tensor. Clones share the same storage, id and name; an optimizer updates it in place.
///
/// A `Param` is `Send + Sync`: the value sits behind a read-write lock, so the threads of a server can
/// all read a trained model at once (reading takes one uncontended read lock and an O(1) clone of the
/// tensor's shared storage).
///
/// ```
/// use wengert::nn::{Param, TapeParam, GradientsParam};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let w = Param::new("w", Tensor::<f64>::from_vec(vec![3.0], &[1]).unwrap());
/// let tape = Tape::new();
/// let y = (tape.param(&w) * tape.param(&w)).sum();   // bound once: the same Var both times
/// let grads = y.backward();
/// assert_eq!(grads.param(&w).unwrap().to_vec(), vec![6.0]);
/// ```
pub struct Param<F: Float = f32> {
    inner: Arc<Inner<F>>,
}

struct Inner<F: Float> {
    id: u64,
    name: String,
    value: RwLock<Tensor<F>>,
}

impl<F: Float> Clone for Param<F> {
    fn clone(&self) -> Self {
        Param { inner: Arc::clone(&self.inner) }
    }
}

impl<F: Float> Param<F> {
    /// A new parameter with a fresh id.
    pub fn new(name: impl Into<String>, value: Tensor<F>) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Param { inner: Arc::new(Inner { id, name: name.into(), value: RwLock::new(value) }) }
    }

    /// The stable id: the key that binds it to a tape.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The hierarchical name, such as `layers.0.weight`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The current value (an O(1) clone of the shared storage).
    pub fn value(&self) -> Tensor<F> {
        self.read().clone()
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        self.read().shape().to_vec()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when the parameter holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces the value.
    ///
    /// # Panics
    ///
    /// When the new value's shape differs from the old one's.
    #[track_caller]
    pub fn set(&self, value: Tensor<F>) {
        let mut v = self.write();
        assert_eq!(
            v.shape(),
            value.shape(),
            "param `{}`: cannot set a value of shape {:?} in place of shape {:?}",
            self.inner.name,
            value.shape(),
            v.shape()
        );
        *v = value;
    }

    /// Updates the value in place with `f` (copying first only if a tape or a caller still shares the
    /// buffer).
    pub fn update(&self, f: impl FnOnce(&mut Tensor<F>)) {
        f(&mut self.write());
    }

    /// True when both handles are the same parameter.
    pub fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The value, read-locked. A panic while the lock was held (a failed shape check inside
    /// [`update`](Self::update), say) leaves a whole tensor behind, so a poisoned lock is still read.
    fn read(&self) -> RwLockReadGuard<'_, Tensor<F>> {
        self.inner.value.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value, write-locked; poisoning is ignored as in [`read`](Self::read).
    fn write(&self) -> RwLockWriteGuard<'_, Tensor<F>> {
        self.inner.value.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<F: Float> fmt::Debug for Param<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Param({}, #{}, shape {:?})", self.name(), self.id(), self.shape())
    }
}

/// Binding parameters to a tape: `tape.param(&p)` records `p` once per tape as a leaf.
pub trait TapeParam<F: Float> {
    /// The Var of `p` on this tape, recording it the first time.
    fn param(&self, p: &Param<F>) -> Var<'_, F>;
}

impl<F: Float> TapeParam<F> for Tape<F> {
    fn param(&self, p: &Param<F>) -> Var<'_, F> {
        self.bind(p.id(), || p.value())
    }
}

/// Reading a parameter's gradient: `grads.param(&p)`.
pub trait GradientsParam<F: Float> {
    /// The gradient of `p`, or `None` when it was not used or did not reach the output.
    fn param(&self, p: &Param<F>) -> Option<&Tensor<F>>;
}

impl<F: Float> GradientsParam<F> for Gradients<F> {
    fn param(&self, p: &Param<F>) -> Option<&Tensor<F>> {
        self.bound(p.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_value_id_and_name() {
        let p = Param::new("layers.0.weight", Tensor::<f32>::zeros(&[2]));
        let q = p.clone();
        q.set(Tensor::ones(&[2]));
        assert_eq!(p.value().to_vec(), vec![1.0, 1.0]);
        assert_eq!((p.id(), p.name()), (q.id(), "layers.0.weight"));
        assert!(p.same(&q));
        assert_ne!(Param::new("x", Tensor::<f32>::zeros(&[1])).id(), p.id());
    }

    #[test]
    #[should_panic(expected = "param `w`: cannot set a value of shape [3] in place of shape [2]")]
    fn set_rejects_a_new_shape() {
        Param::new("w", Tensor::<f32>::zeros(&[2])).set(Tensor::zeros(&[3]));
    }

    #[test]
    fn a_panic_while_the_value_was_locked_leaves_it_readable_and_writable() {
        let p = Param::new("w", Tensor::<f32>::zeros(&[2]));
        let q = p.clone();
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| q.set(Tensor::zeros(&[3]))));
        assert!(failed.is_err());
        assert_eq!(p.value().to_vec(), vec![0.0, 0.0]);
        p.set(Tensor::ones(&[2]));
        assert_eq!(p.value().to_vec(), vec![1.0, 1.0]);
    }

    #[test]
    fn a_param_is_read_from_many_threads_at_once() {
        let p = Param::new("w", Tensor::<f32>::from_vec(vec![1.0, 2.0], &[2]).unwrap());
        let sums: Vec<f32> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4).map(|_| s.spawn(|| p.value().sum().item())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(sums, vec![3.0; 4]);
    }

    #[test]
    fn a_param_binds_once_per_tape_and_reads_its_gradient() {
        let p = Param::new("w", Tensor::<f64>::from_vec(vec![2.0], &[1]).unwrap());
        let unused = Param::new("u", Tensor::<f64>::zeros(&[1]));
        let tape = Tape::new();
        assert_eq!(tape.param(&p).id(), tape.param(&p).id());
        let y = (tape.param(&p) * 3.0).sum();
        let g = y.backward();
        assert_eq!(g.param(&p).unwrap().to_vec(), vec![3.0]);
        assert!(g.param(&unused).is_none());
    }
}
