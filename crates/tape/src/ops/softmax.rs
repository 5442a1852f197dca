//! Softmax and log-softmax along an axis on Vars, with fused rules that stay stable for large logits:
//! softmax: y ⊙ (g - Σ g ⊙ y) · log_softmax: g - e^y ⊙ Σ g (sums along the axis, kept as size 1).

use wengert_tensor::{Float, Tensor};

use crate::op::{Ctx, Grads, Op, ValueCtx};
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

    pub(crate) fn backward<'t, F: Float>(&self, ctx: &Ctx<'t, F>) -> Grads<'t, F> {
        let (g, y) = (ctx.g, ctx.y);
        let gx = match *self {
            SoftmaxOp::Softmax(axis) => y * (g - (g * y).sum_axes(&[axis], true)),
            SoftmaxOp::LogSoftmax(axis) => g - y.exp() * g.sum_axes(&[axis], true),
        };
        Grads::from_elem(Some(gx), 1)
    }

    /// [`SoftmaxOp::backward`] on tensors, the same formulas in the same order.
    pub(crate) fn backward_values<F: Float>(&self, ctx: &ValueCtx<'_, F>, g: Tensor<F>) -> Tensor<F> {
        let y = ctx.y;
        match *self {
            SoftmaxOp::Softmax(axis) => {
                let s = (&g * y).sum_axes(&[axis], true);
                g.zip_into(&s, "sub", |g, s| g - s).zip_into(y, "mul", |t, y| y * t)
            }
            SoftmaxOp::LogSoftmax(axis) => {
                let es = y.exp().zip_into(&g.sum_axes(&[axis], true), "mul", |e, s| e * s);
                g.zip_into(&es, "sub", |g, e| g - e)
            }
        }
    }
}
