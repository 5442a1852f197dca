//! `Var`: a Copy handle to a value recorded on a tape (its arithmetic operators are in `ops/binary.rs`).

use std::fmt;

use wengert_tensor::{Float, Tensor};

use crate::tape::Tape;

/// A value recorded on a [`Tape`]: the tape's reference plus an index. `Copy`, so it is passed by
/// value like a number; ops on it record new nodes on the same tape.
///
/// ```
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::scalar(3.0));
/// let y = x * x + 2.0 * x;                 // y = x² + 2x
/// assert_eq!(y.value().item(), 15.0);
/// assert_eq!(y.backward()[x].item(), 8.0); // dy/dx = 2x + 2
/// ```
pub struct Var<'t, F: Float = f32> {
    pub(crate) tape: &'t Tape<F>,
    pub(crate) id: usize,
}

impl<F: Float> Clone for Var<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F: Float> Copy for Var<'_, F> {}

impl<'t, F: Float> Var<'t, F> {
    pub(crate) fn new(tape: &'t Tape<F>, id: usize) -> Self {
        Var { tape, id }
    }

    /// The value, as a tensor (an O(1) clone of the shared storage).
    pub fn value(self) -> Tensor<F> {
        self.tape.value(self.id)
    }

    /// The shape of the value.
    pub fn shape(self) -> Vec<usize> {
        self.tape.node(self.id).value.shape().to_vec()
    }

    /// The number of dimensions of the value.
    pub fn ndim(self) -> usize {
        self.tape.node(self.id).value.ndim()
    }

    /// The number of elements of the value.
    pub fn len(self) -> usize {
        self.tape.node(self.id).value.len()
    }

    /// True when the value holds no element.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The one element of a one-element value.
    ///
    /// # Panics
    ///
    /// When the value holds other than one element.
    #[track_caller]
    pub fn item(self) -> F {
        self.tape.node(self.id).value.item()
    }

    /// A constant copy of this value, off the graph: no gradient flows through it.
    pub fn detach(self) -> Self {
        self.tape.constant(self.value())
    }

    /// The tape this Var lives on.
    pub fn tape(self) -> &'t Tape<F> {
        self.tape
    }

    /// The index of this Var's node on its tape.
    pub fn id(self) -> usize {
        self.id
    }

    /// True when a gradient can flow from this value back to a leaf made by [`Tape::var`].
    pub fn requires_grad(self) -> bool {
        self.tape.node(self.id).requires_grad
    }

    /// A constant on the same tape (for mixing tensors into Var expressions).
    pub fn constant(self, value: Tensor<F>) -> Self {
        self.tape.constant(value)
    }
}

impl<F: Float> fmt::Debug for Var<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Var(#{}, {:?})", self.id, self.value())
    }
}

impl<F: Float> fmt::Display for Var<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value(), f)
    }
}
