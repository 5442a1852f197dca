//! The recorded op of a node: an enum of primitive families plus `Custom`, and the context a
//! backward rule receives.

use std::rc::Rc;

use smallvec::SmallVec;
use wengert_tensor::Float;

use crate::custom::CustomOp;
use crate::ops::binary::Binary;
use crate::ops::fused::Fused;
use crate::ops::index::IndexOp;
use crate::ops::linalg::Linalg;
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
            Op::Fused(op) => op.backward(ctx),
            Op::Custom(op) => crate::custom::backward(op.as_ref(), ctx),
        }
    }
}
