//! Softmax and log-softmax along an axis on Vars, with fused rules that stay stable for large logits:
//! softmax: y ⊙ (g - Σ g ⊙ y) · log_softmax: g - e^y ⊙ Σ g (sums along the axis, kept as size 1).

use wengert_tensor::Float;

use crate::op::{Ctx, Op};
use crate::var::Var;

/// Softmax or log-softmax along an axis.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SoftmaxOp {
    Softmax(usize),
    LogSoftmax(usize),
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
}

impl SoftmaxOp {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            SoftmaxOp::Softmax(_) => "softmax",
            SoftmaxOp::LogSoftmax(_) => "log_softmax",
        }
    }

    /// The input's gradient, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(&self, ctx: &Ctx<'t, F>, g: V) -> V {
        match *self {
            SoftmaxOp::Softmax(axis) => {
                let y: V = ctx.y();
                let s = (g.clone() * y.clone()).sum_axes(&[axis], true);
                (g - s) * y
            }
            // softmax(x) rather than e^y: exact where the rounding of y is not (logits of 1000 in f32).
            SoftmaxOp::LogSoftmax(axis) => {
                let s = g.clone().sum_axes(&[axis], true);
                g - ctx.x::<V>(0).softmax(axis) * s
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
