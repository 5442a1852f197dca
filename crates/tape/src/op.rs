//! The recorded op of a node: an enum of primitive families plus `Custom`, and the context a
//! backward rule receives.

use std::rc::Rc;

use smallvec::SmallVec;
use wengert_tensor::{Float, Tensor};

use crate::custom::CustomOp;
use crate::ops::binary::Binary;
use crate::ops::conv::ConvOp;
use crate::ops::fused::Fused;
use crate::ops::index::IndexOp;
use crate::ops::linalg::Linalg;
use crate::ops::pool::PoolOp;
use crate::ops::reduce::Reduce;
use crate::ops::shape::ShapeOp;
use crate::ops::softmax::SoftmaxOp;
use crate::ops::unary::{Unary, UnaryGrad};
use crate::tape::Tape;
use crate::var::Var;

/// What made a node. Leaves and constants are `Leaf`; every other variant carries a family's op.
#[derive(Clone)]
pub(crate) enum Op<F: Float> {
    Leaf,
    Unary(Unary<F>),
    UnaryGrad(UnaryGrad),
    Binary(Binary<F>),
    Reduce(Reduce),
    Linalg(Linalg),
    Shape(ShapeOp),
    Index(IndexOp<F>),
    Softmax(SoftmaxOp),
    Conv(Box<ConvOp>),
    Pool(PoolOp),
    Fused(Fused),
    Custom(Rc<dyn CustomOp<F>>),
}

/// The gradients a rule returns, one per input; `None` where no gradient flows.
pub(crate) type Grads<'t, F> = SmallVec<[Option<Var<'t, F>>; 2]>;

/// What a backward rule sees: the inputs `a`, `b`, ... as Vars, the output `y` and its gradient `g`,
/// and which inputs need a gradient at all.
pub(crate) struct Ctx<'t, F: Float> {
    pub(crate) tape: &'t Tape<F>,
    pub(crate) inputs: SmallVec<[Var<'t, F>; 2]>,
    pub(crate) y: Var<'t, F>,
    pub(crate) g: Var<'t, F>,
    pub(crate) needs: SmallVec<[bool; 2]>,
}

impl<'t, F: Float> Ctx<'t, F> {
    /// The `k`-th input.
    pub(crate) fn x(&self, k: usize) -> Var<'t, F> {
        self.inputs[k]
    }

    /// True when input `k` needs a gradient.
    pub(crate) fn needs(&self, k: usize) -> bool {
        self.needs[k]
    }

    /// `f()` when input `k` needs a gradient, else `None` without computing it.
    pub(crate) fn when(&self, k: usize, f: impl FnOnce() -> Var<'t, F>) -> Option<Var<'t, F>> {
        if self.needs[k] { Some(f()) } else { None }
    }
}

/// What a first-order rule on tensors sees: the input values, the output value, and which inputs need
/// a gradient. The incoming gradient is passed by value, so a rule can reuse its buffer.
pub(crate) struct ValueCtx<'a, F: Float> {
    pub(crate) inputs: SmallVec<[&'a Tensor<F>; 2]>,
    pub(crate) y: &'a Tensor<F>,
    pub(crate) needs: SmallVec<[bool; 2]>,
}

/// The input gradients a rule on tensors returns, one per input; `None` where none is needed.
pub(crate) type TensorGrads<F> = SmallVec<[Option<Tensor<F>>; 2]>;

/// The gradient of a one-input op.
pub(crate) fn one_grad<F: Float>(g: Tensor<F>) -> TensorGrads<F> {
    let mut out = TensorGrads::new();
    out.push(Some(g));
    out
}

impl<F: Float> ValueCtx<'_, F> {
    /// Two gradients from `ga` and `gb`, computed only for the inputs that need them. When both are
    /// needed `ga` gets a shared `g` and `gb` the owned one, so that exactly one can write in place.
    pub(crate) fn pair(
        &self,
        g: Tensor<F>,
        ga: impl FnOnce(Tensor<F>) -> Tensor<F>,
        gb: impl FnOnce(Tensor<F>) -> Tensor<F>,
    ) -> TensorGrads<F> {
        let mut out = TensorGrads::new();
        match (self.needs[0], self.needs[1]) {
            (true, true) => {
                out.push(Some(ga(g.clone())));
                out.push(Some(gb(g)));
            }
            (true, false) => out.extend([Some(ga(g)), None]),
            (false, true) => out.extend([None, Some(gb(g))]),
            (false, false) => out.extend([None, None]),
        }
        out
    }
}

impl<F: Float> Op<F> {
    /// The op's name as summaries, Graphviz output and anomaly messages print it.
    pub(crate) fn name(&self) -> String {
        match self {
            Op::Leaf => "leaf".into(),
            Op::Unary(op) => op.name(),
            Op::UnaryGrad(op) => op.name().into(),
            Op::Binary(op) => op.name().into(),
            Op::Reduce(op) => op.name(),
            Op::Linalg(op) => op.name().into(),
            Op::Shape(op) => op.name(),
            Op::Index(op) => op.name().into(),
            Op::Softmax(op) => op.name().into(),
            Op::Conv(op) => op.name().into(),
            Op::Pool(op) => op.name().into(),
            Op::Fused(op) => op.name().into(),
            Op::Custom(op) => format!("custom({})", op.name()),
        }
    }

    /// The gradients of the node's inputs, given its output's gradient `ctx.g`.
    pub(crate) fn backward<'t>(&self, ctx: &Ctx<'t, F>) -> Grads<'t, F> {
        match self {
            Op::Leaf => Grads::new(),
            Op::Unary(op) => op.backward(ctx),
            Op::UnaryGrad(op) => op.backward(ctx),
            Op::Binary(op) => op.backward(ctx),
            Op::Reduce(op) => op.backward(ctx),
            Op::Linalg(op) => op.backward(ctx),
            Op::Shape(op) => op.backward(ctx),
            Op::Index(op) => op.backward(ctx),
            Op::Softmax(op) => op.backward(ctx),
            Op::Conv(op) => op.backward(ctx),
            Op::Pool(op) => op.backward(ctx),
            Op::Fused(op) => op.backward(ctx),
            Op::Custom(op) => crate::custom::backward(op.as_ref(), ctx),
        }
    }

    /// The first-order rule on tensors, for the families that have one: the fast path of
    /// `backward()`, computing what [`Op::backward`] computes without recording anything. `Err(g)`
    /// hands the gradient back when the family has no such rule, and the sweep runs the Var rule.
    pub(crate) fn backward_values(
        &self,
        ctx: &ValueCtx<'_, F>,
        g: Tensor<F>,
    ) -> Result<TensorGrads<F>, Tensor<F>> {
        match self {
            Op::Unary(op) => Ok(one_grad(op.backward_values(ctx, g))),
            Op::UnaryGrad(op) => Ok(op.backward_values(ctx, g)),
            Op::Binary(op) => op.backward_values(ctx, g),
            Op::Reduce(op) => op.backward_values(ctx, g),
            Op::Linalg(op) => op.backward_values(ctx, g),
            Op::Softmax(op) => Ok(one_grad(op.backward_values(ctx, g))),
            Op::Fused(op) => Ok(op.backward_values(ctx, g)),
            Op::Conv(op) => op.backward_values(ctx, g),
            _ => Err(g),
        }
    }
}
