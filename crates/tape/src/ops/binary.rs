//! Broadcasting binary ops on Vars and their rules (`g` the incoming gradient, `a`, `b` the inputs, `y` the
//! output); the backward sweep sums each gradient back to its input's shape:
//!
//! add: (g, g) · sub: (g, -g) · mul: (g·b, g·a) · div: (g/b, -g·y/b) · pow: (g·b·a^(b-1), g·y·ln a) ·
//! maximum / minimum: g to the larger / smaller, split equally on ties · where_cond: g where the mask
//! holds to `a`, elsewhere to `b`.
//!
//! xlogy, atan2, hypot, fmod and remainder nest here as `Binary::Math`, with their rules in
//! `binary_math.rs`.

use wengert_tensor::{Float, Tensor, broadcast_shapes};

use std::ops::{Add, Div, Mul, Neg, Sub};
use std::rc::Rc;

use crate::op::{Ctx, Grads, Op};
use crate::ops::binary_math::BinaryMath;
use crate::var::Var;

/// A binary op; `Where` keeps its (constant) mask.
#[derive(Clone)]
pub(crate) enum Binary<F: Float> {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Maximum,
    Minimum,
    Where(Rc<Tensor<F>>),
    /// xlogy, atan2, hypot and the remainders of `ops/binary_math.rs`.
    Math(BinaryMath),
}

impl<'t, F: Float> Var<'t, F> {
    #[track_caller]
    pub(crate) fn binary(
        self,
        other: Self,
        op: Binary<F>,
        f: impl FnOnce(&Tensor<F>, &Tensor<F>) -> Tensor<F>,
    ) -> Self {
        self.tape.check_same(op.name(), &[other]);
        let y = {
            let nodes = self.tape.nodes.borrow();
            let (a, b) = (&nodes[self.id].value, &nodes[other.id].value);
            // Checked here as well as in `f`: a panic inside `f` reports the line `f` was called through,
            // not the user's, while this function is `#[track_caller]` all the way up.
            // Equal shapes always broadcast: the common case pays one comparison.
            if a.shape() != b.shape()
                && let Err(e) = broadcast_shapes(op.name(), a.shape(), b.shape())
            {
                panic!("{e}");
            }
            f(a, b)
        };
        self.tape.push(Op::Binary(op), &[self.id, other.id], y)
    }

    /// Elementwise `a + b` with broadcasting; also the `+` operator.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[allow(clippy::should_implement_trait)] // the operator is implemented too and forwards here
    pub fn add(self, other: Self) -> Self {
        self.binary(other, Binary::Add, Tensor::add)
    }

    /// Elementwise `a - b` with broadcasting; also the `-` operator.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[allow(clippy::should_implement_trait)] // the operator is implemented too and forwards here
    pub fn sub(self, other: Self) -> Self {
        self.binary(other, Binary::Sub, Tensor::sub)
    }

    /// Elementwise `a · b` with broadcasting; also the `*` operator.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[allow(clippy::should_implement_trait)] // the operator is implemented too and forwards here
    pub fn mul(self, other: Self) -> Self {
        self.binary(other, Binary::Mul, Tensor::mul)
    }

    /// Elementwise `a / b` with broadcasting; also the `/` operator.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[allow(clippy::should_implement_trait)] // the operator is implemented too and forwards here
    pub fn div(self, other: Self) -> Self {
        self.binary(other, Binary::Div, Tensor::div)
    }

    /// Elementwise `a^b` with broadcasting. As in PyTorch, the gradient in `a` is 0 where `b = 0`, and
    /// the gradient in `b` is 0 where `a = 0` and `b ≥ 0` (elsewhere it needs `a > 0`).
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn pow(self, other: Self) -> Self {
        self.binary(other, Binary::Pow, Tensor::pow)
    }

    /// Elementwise maximum; on ties the gradient is split equally between `a` and `b`.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn maximum(self, other: Self) -> Self {
        self.binary(other, Binary::Maximum, Tensor::maximum)
    }

    /// Elementwise minimum; on ties the gradient is split equally between `a` and `b`.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn minimum(self, other: Self) -> Self {
        self.binary(other, Binary::Minimum, Tensor::minimum)
    }

    /// `a` where `mask` is non-zero, `b` elsewhere, broadcasting all three. The mask is a constant.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[doc(alias = "where")]
    pub fn where_cond(mask: &Tensor<F>, a: Self, b: Self) -> Self {
        let m = mask.ne_mask(&Tensor::scalar(F::zero()));
        a.binary(b, Binary::Where(Rc::new(m.clone())), |x, y| Tensor::where_cond(&m, x, y))
    }

    /// 1 where `a > b`, else 0, as a constant. Not differentiable.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[doc(alias = "gt")]
    pub fn gt_mask(self, other: Self) -> Self {
        self.constant(self.value().gt_mask(&other.value()))
    }

    /// 1 where `a < b`, else 0, as a constant. Not differentiable.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[doc(alias = "lt")]
    pub fn lt_mask(self, other: Self) -> Self {
        self.constant(self.value().lt_mask(&other.value()))
    }

    /// 1 where `a == b`, else 0, as a constant. Not differentiable.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[doc(alias = "eq")]
    pub fn eq_mask(self, other: Self) -> Self {
        self.constant(self.value().eq_mask(&other.value()))
    }
}

impl<F: Float> Binary<F> {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
            Binary::Pow => "pow",
            Binary::Maximum => "maximum",
            Binary::Minimum => "minimum",
            Binary::Where(_) => "where_cond",
            Binary::Math(m) => m.name(),
        }
    }

    /// The inputs' gradients, given the output's gradient `g`.
    pub(crate) fn backward<'t, V: crate::value::Value<'t, F>>(&self, ctx: &Ctx<'t, F>, g: V) -> Grads<V> {
        let a = || -> V { ctx.x(0) };
        let b = || -> V { ctx.x(1) };
        let one = F::one();
        match self {
            Binary::Add => ctx.pair(g, |g| g, |g| g),
            Binary::Sub => ctx.pair(g, |g| g, |g| -g),
            Binary::Mul => ctx.pair(g, |g| g * b(), |g| g * a()),
            Binary::Div => ctx.pair(g, |g| g / b(), |g| -(g * ctx.y::<V>() / b())),
            // PyTorch's masks: 0 in `a` where b = 0, and 0 in `b` where a = 0 ≤ b (not 0 · ln 0), each
            // built only when such a zero is there.
            Binary::Pow => {
                let (av, bv) = (ctx.tape.value(ctx.inputs[0]), ctx.tape.value(ctx.inputs[1]));
                let has_zero = |t: &Tensor<F>| t.view().iter().any(|&v| v == F::zero());
                let b_zero = has_zero(&bv).then(|| bv.eq_mask(&Tensor::scalar(F::zero())));
                let zero_base = has_zero(&av).then(|| {
                    av.zip_with(&bv, "pow_backward", |p, q| {
                        if p == F::zero() && q >= F::zero() { one } else { F::zero() }
                    })
                });
                let masked = |v: V, mask: Option<Tensor<F>>| match mask {
                    Some(m) => v.zero_where(&m),
                    None => v,
                };
                ctx.pair(
                    g,
                    |g| masked(g * b() * a().pow(b() + -one), b_zero),
                    |g| masked(g * ctx.y::<V>() * a().ln(), zero_base),
                )
            }
            Binary::Maximum | Binary::Minimum => {
                // Share of `a`: 1 where it wins, 1/2 on a tie, 0 where it loses.
                let max = matches!(self, Binary::Maximum);
                let half = F::from_f64(0.5);
                let (av, bv) = (ctx.tape.value(ctx.inputs[0]), ctx.tape.value(ctx.inputs[1]));
                let share = av.zip_with(&bv, "maximum_backward", |p, q| {
                    if p == q {
                        half
                    } else if (p > q) == max {
                        one
                    } else {
                        F::zero()
                    }
                });
                masked(ctx, g, &share)
            }
            Binary::Where(m) => masked(ctx, g, m),
            Binary::Math(m) => m.backward(ctx, g),
        }
    }
}

/// `(g · s, g · (1 - s))` for a share `s` of the gradient that is constant almost everywhere.
fn masked<'t, F: Float, V: crate::value::Value<'t, F>>(ctx: &Ctx<'t, F>, g: V, s: &Tensor<F>) -> Grads<V> {
    ctx.pair(
        g,
        |g| {
            let s = g.constant(s.clone());
            g * s
        },
        |g| {
            let s = g.constant(s.clone()).rsub_scalar(F::one());
            g * s
        },
    )
}

// Operators on Vars, with Vars, tensors and scalars on either side. A macro writes these trait impls
// because they differ only in the operator; each forwards to a documented method.
macro_rules! var_operator {
    ($trait:ident, $method:ident, $scalar:ident, $rscalar:ident) => {
        impl<'t, F: Float> $trait<Var<'t, F>> for Var<'t, F> {
            type Output = Var<'t, F>;
            #[track_caller]
            fn $method(self, rhs: Var<'t, F>) -> Var<'t, F> {
                Var::$method(self, rhs)
            }
        }
        impl<'t, F: Float> $trait<F> for Var<'t, F> {
            type Output = Var<'t, F>;
            #[track_caller]
            fn $method(self, rhs: F) -> Var<'t, F> {
                self.$scalar(rhs)
            }
        }
        impl<'t, F: Float> $trait<&Tensor<F>> for Var<'t, F> {
            type Output = Var<'t, F>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<F>) -> Var<'t, F> {
                Var::$method(self, self.constant(rhs.clone()))
            }
        }
        impl<'t> $trait<Var<'t, f32>> for f32 {
            type Output = Var<'t, f32>;
            #[track_caller]
            fn $method(self, rhs: Var<'t, f32>) -> Var<'t, f32> {
                rhs.$rscalar(self)
            }
        }
        impl<'t> $trait<Var<'t, f64>> for f64 {
            type Output = Var<'t, f64>;
            #[track_caller]
            fn $method(self, rhs: Var<'t, f64>) -> Var<'t, f64> {
                rhs.$rscalar(self)
            }
        }
    };
}

var_operator!(Add, add, add_scalar, add_scalar);
var_operator!(Sub, sub, sub_scalar, rsub_scalar);
var_operator!(Mul, mul, mul_scalar, mul_scalar);
var_operator!(Div, div, div_scalar, rdiv_scalar);

impl<'t, F: Float> Neg for Var<'t, F> {
    type Output = Var<'t, F>;
    #[track_caller]
    fn neg(self) -> Var<'t, F> {
        Var::neg(self)
    }
}

#[cfg(test)]
pub(crate) mod tests;
