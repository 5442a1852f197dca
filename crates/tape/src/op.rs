//! The recorded op of a node: an enum of primitive families plus `Custom`, each family's rule reached
//! through [`Op::backward`], and the context a rule receives.

use std::rc::Rc;

use smallvec::SmallVec;
use wengert_tensor::Float;

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
use crate::tape::{Inputs, Tape};
use crate::value::Value;

/// What made a node. Leaves and constants are `Leaf`; every other variant carries a family's op.
/// Cloning one is cheap (no allocation): a recorded sweep clones the op of each node it visits.
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
    Conv(Rc<ConvOp>),
    Pool(PoolOp),
    Fused(Fused),
    Custom(Rc<dyn CustomOp<F>>),
}

/// The gradients a rule returns, one per input; `None` where none is needed or none flows.
pub(crate) type Grads<V> = SmallVec<[Option<V>; 2]>;

/// What a rule sees besides the output's gradient: its node's inputs and output, read as the rule's
/// value type, and which inputs need a gradient at all.
pub(crate) struct Ctx<'t, F: Float> {
    pub(crate) tape: &'t Tape<F>,
    pub(crate) inputs: Inputs,
    pub(crate) out: usize,
    pub(crate) needs: SmallVec<[bool; 2]>,
}

impl<'t, F: Float> Ctx<'t, F> {
    /// The `k`-th input.
    pub(crate) fn x<V: Value<'t, F>>(&self, k: usize) -> V {
        V::node(self.tape, self.inputs[k])
    }
    /// The output.
    pub(crate) fn y<V: Value<'t, F>>(&self) -> V {
        V::node(self.tape, self.out)
    }

    /// `f` of node `id` (an input or the output), lent where it lies (see [`Value::with_node`]).
    pub(crate) fn with<V: Value<'t, F>, R>(&self, id: usize, f: impl FnOnce(&V) -> R) -> R {
        V::with_node(self.tape, id, f)
    }

    /// The shape of the `k`-th input.
    pub(crate) fn shape(&self, k: usize) -> Vec<usize> {
        self.tape.node(self.inputs[k]).value.shape().to_vec()
    }
    /// `f()` when input `k` needs a gradient, else `None` without computing it.
    pub(crate) fn when<V>(&self, k: usize, f: impl FnOnce() -> V) -> Option<V> {
        if self.needs[k] { Some(f()) } else { None }
    }

    /// The gradients of a two-input op from `ga` and `gb`, each computed only when needed. When both
    /// are, `ga` gets a copy of `g` and `gb` `g` itself, so that the last use can write in place.
    pub(crate) fn pair<V: Clone>(&self, g: V, ga: impl FnOnce(V) -> V, gb: impl FnOnce(V) -> V) -> Grads<V> {
        if !self.needs[1] {
            return SmallVec::from_buf([self.needs[0].then(|| ga(g)), None]);
        }
        let a = self.needs[0].then(|| ga(g.clone()));
        SmallVec::from_buf([a, Some(gb(g))])
    }
}

/// The gradient of a one-input op.
pub(crate) fn one<V>(g: V) -> Grads<V> {
    SmallVec::from_buf_and_len([Some(g), None], 1)
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

    /// The gradients of the node's inputs, given its output's gradient `g`, computed with tensors or
    /// recorded as Vars as `V` says.
    pub(crate) fn backward<'t, V: Value<'t, F>>(&self, ctx: &Ctx<'t, F>, g: V) -> Grads<V> {
        match self {
            Op::Leaf => Grads::new(),
            Op::Unary(op) => one(op.backward(ctx, g)),
            Op::UnaryGrad(op) => op.backward(ctx, g),
            Op::Binary(op) => op.backward(ctx, g),
            Op::Reduce(op) => one(op.backward(ctx, g)),
            Op::Linalg(op) => op.backward(ctx, g),
            Op::Shape(op) => op.backward(ctx, g),
            Op::Index(op) => op.backward(ctx, g),
            Op::Softmax(op) => one(op.backward(ctx, g)),
            Op::Conv(op) => op.backward(ctx, g),
            Op::Pool(op) => one(op.backward(ctx, g)),
            Op::Fused(op) => op.backward(ctx, g),
            Op::Custom(op) => V::custom(op.as_ref(), ctx, g),
        }
    }
}
