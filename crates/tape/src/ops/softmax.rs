//! Softmax and log-softmax along an axis on Vars, with fused rules that stay stable for large logits:
//! softmax: y ⊙ (g - Σ g ⊙ y) · log_softmax: g - softmax(x) ⊙ Σ g (sums along the axis, kept as size 1).
//! A masked softmax (over the last axis, 0 where masked) has softmax's rule: its output is 0 there.
//! Each rule is one fused kernel (see `ops::norm`), recorded as a node of its own on Vars.

use wengert_tensor::{Float, Tensor};

use crate::op::{Ctx, Op};
use crate::var::Var;

/// Softmax or log-softmax along an axis.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SoftmaxOp {
    Softmax(usize),
    LogSoftmax(usize),
    /// Softmax over the kept elements of the last axis, the mask already applied to the output.
    Masked(usize),
}

impl<'t, F: Float> Var<'t, F> {
    /// Softmax along `axis`.
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn softmax(self, axis: usize) -> Self {
        let y = self.tape.node(self.id).value.softmax(axis);
        self.tape.push(Op::Softmax(SoftmaxOp::Softmax(axis)), &[self.id], y)
    }

    /// Log-softmax along `axis`, `x - logsumexp(x)`, stable for logits of ±1e4.
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn log_softmax(self, axis: usize) -> Self {
        let y = self.tape.node(self.id).value.log_softmax(axis);
        self.tape.push(Op::Softmax(SoftmaxOp::LogSoftmax(axis)), &[self.id], y)
    }

    /// Softmax over the last axis of the elements where `keep` (broadcast to `self`'s shape) is not
    /// zero; the others get exactly 0 (their gradient too), and a row without any kept element is
    /// all zeros. One fused pass per row, as [`Tensor::masked_softmax`].
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0, 5.0, 0.0], &[1, 3]).unwrap());
    /// let keep = Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3]).unwrap();
    /// let y = x.masked_softmax(&keep);
    /// assert_eq!(y.value().to_vec(), vec![0.5, 0.0, 0.5]);
    /// assert_eq!(y.square().sum().backward()[x].to_vec(), vec![0.0; 3]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is 0-D or `keep` does not broadcast to `self`'s shape.
    #[track_caller]
    pub fn masked_softmax(self, keep: &Tensor<F>) -> Self {
        let y = self.tape.node(self.id).value.masked_softmax(keep);
        let axis = y.ndim() - 1;
        self.tape.push(Op::Softmax(SoftmaxOp::Masked(axis)), &[self.id], y)
    }
}

impl SoftmaxOp {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            SoftmaxOp::Softmax(_) => "softmax",
            SoftmaxOp::LogSoftmax(_) => "log_softmax",
            SoftmaxOp::Masked(_) => "masked_softmax",
        }
    }

    /// The input's gradient, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(&self, ctx: &Ctx<'t, F>, g: V) -> V {
        match *self {
            SoftmaxOp::Softmax(axis) | SoftmaxOp::Masked(axis) => g.softmax_grad(&ctx.y(), axis),
            // From x rather than e^y: exact where the rounding of y is not (logits of 1000 in f32).
            SoftmaxOp::LogSoftmax(axis) => g.log_softmax_grad(&ctx.x(0), axis),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
