//! Elementwise unary ops on Vars and their backward rules (`g` the incoming gradient, `x` the input,
//! `y` the output):
//!
//! neg: -g · abs: g·sign x (0 at 0) · exp: g·y · ln: g/x · log1p: g/(1+x) · expm1: g·(y+1) ·
//! sqrt: g/(2y) (+inf at 0) · square: 2gx · recip: -g·y² · powf p: g·p·x^(p-1) · sin: g·cos x ·
//! cos: -g·sin x · tanh: g(1-y²) · sigmoid: g·y(1-y) · relu: g·[x>0] (0 at 0) · leaky_relu: g·[x>0 ? 1 : s] ·
//! gelu: g(Φ(x) + xφ(x)) · softplus: g·sigmoid x · clamp: g·[lo ≤ x ≤ hi] (1 at the bounds).
//!
//! tanh, sigmoid, relu, gelu, silu and tanh-approximated gelu backward through fused primitives
//! (`UnaryGrad`), one kernel each,
//! which have rules of their own, so every order of derivative works.
//!
//! Three families nest here, each in a file of its own with its rules: the activations of modern
//! models (`Unary::Act`, `activation.rs`), trigonometry, logarithms and powers (`Unary::Math`,
//! `math.rs`) and the special functions (`Unary::Special`, `special.rs`). Their rules apply unary ops
//! to values through `Value::unary_op`, which records the op with its own rule on Vars.

use wengert_tensor::{Float, Tensor, normal_cdf, normal_pdf};

use smallvec::SmallVec;

use crate::op::{Ctx, Grads, Op};
use crate::ops::activation::Act;
use crate::ops::math::Math;
use crate::ops::special::Special;
use crate::var::Var;

/// A unary op and its scalar parameters.
#[derive(Clone, Debug)]
pub(crate) enum Unary<F: Float> {
    Neg,
    Abs,
    Exp,
    Ln,
    Log1p,
    Expm1,
    Sqrt,
    /// The square root of a variance (the last step of `std`): as `Sqrt`, but with gradient 0 where
    /// the variance is 0 (PyTorch's `std` convention), not ∞ times a zero derivative.
    VarianceSqrt,
    Square,
    Recip,
    Powf(F),
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Relu,
    LeakyRelu(F),
    Gelu,
    Softplus,
    Clamp(F, F),
    AddScalar(F),
    MulScalar(F),
    /// The activations of `ops/activation.rs`.
    Act(Act<F>),
    /// Trigonometry, logarithms and powers of `ops/math.rs`.
    Math(Math),
    /// The special functions of `ops/special.rs`.
    Special(Special),
}

/// Fused backward kernels of the activations, with inputs `[g, y]` (tanh, sigmoid) or `[g, x]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum UnaryGrad {
    /// g (1 - y²)
    Tanh,
    /// g y (1 - y)
    Sigmoid,
    /// g [x > 0]
    Relu,
    /// g (Φ(x) + x φ(x))
    Gelu,
    /// g s (1 + x (1 - s)), s = σ(x): SiLU's
    Silu,
    /// g (½(1 + t) + ½ x (1 - t²) c (1 + 3k x²)), t = tanh(c (x + k x³)): tanh-approximated GELU's
    GeluTanh,
}

/// The tanh-approximated GELU's constants: `c = √(2/π)` and `k = 0.044715`.
fn gelu_tanh_constants<F: Float>() -> (F, F) {
    (F::from_f64((2.0 / std::f64::consts::PI).sqrt()), F::from_f64(0.044715))
}

/// The logistic sigmoid of one element, with [`Tensor::sigmoid`]'s arithmetic (so the fused
/// kernels match the ops they replace bit for bit).
fn sigmoid<F: Float>(x: F) -> F {
    if x >= F::zero() {
        F::one() / (F::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::one() + e)
    }
}

impl<'t, F: Float> Var<'t, F> {
    #[track_caller]
    pub(crate) fn unary(self, op: Unary<F>) -> Self {
        let y = op.apply(&self.tape.node(self.id).value);
        self.tape.push(Op::Unary(op), &[self.id], y)
    }

    #[track_caller]
    pub(crate) fn unary_grad(op: UnaryGrad, g: Self, x: Self) -> Self {
        let value = {
            let nodes = g.tape.nodes.borrow();
            op.kernel(nodes[g.id].value.clone(), &nodes[x.id].value)
        };
        g.tape.push(Op::UnaryGrad(op), &[g.id, x.id], value)
    }

    /// `-x`; also the unary `-` operator.
    #[allow(clippy::should_implement_trait)] // the operator is implemented too and forwards here
    #[track_caller]
    pub fn neg(self) -> Self {
        self.unary(Unary::Neg)
    }

    /// `|x|`. Its gradient at 0 is 0.
    #[track_caller]
    pub fn abs(self) -> Self {
        self.unary(Unary::Abs)
    }

    /// `e^x`.
    #[track_caller]
    pub fn exp(self) -> Self {
        self.unary(Unary::Exp)
    }

    /// `ln x`.
    #[track_caller]
    #[doc(alias = "log")]
    pub fn ln(self) -> Self {
        self.unary(Unary::Ln)
    }

    /// `ln(1 + x)`.
    #[track_caller]
    pub fn log1p(self) -> Self {
        self.unary(Unary::Log1p)
    }

    /// `e^x - 1`.
    #[track_caller]
    pub fn expm1(self) -> Self {
        self.unary(Unary::Expm1)
    }

    /// `√x`. Its gradient at 0 is +inf.
    #[track_caller]
    pub fn sqrt(self) -> Self {
        self.unary(Unary::Sqrt)
    }

    /// `√v` of a variance `v`, with gradient 0 where `v` is 0 (see `Unary::VarianceSqrt`).
    #[track_caller]
    pub(crate) fn variance_sqrt(self) -> Self {
        self.unary(Unary::VarianceSqrt)
    }

    /// `x²`.
    #[track_caller]
    pub fn square(self) -> Self {
        self.unary(Unary::Square)
    }

    /// `1 / x`.
    #[track_caller]
    #[doc(alias = "reciprocal")]
    pub fn recip(self) -> Self {
        self.unary(Unary::Recip)
    }

    /// `x^p` for a scalar exponent.
    #[track_caller]
    pub fn powf(self, p: F) -> Self {
        self.unary(Unary::Powf(p))
    }

    /// Sine.
    #[track_caller]
    pub fn sin(self) -> Self {
        self.unary(Unary::Sin)
    }

    /// Cosine.
    #[track_caller]
    pub fn cos(self) -> Self {
        self.unary(Unary::Cos)
    }

    /// Hyperbolic tangent.
    #[track_caller]
    pub fn tanh(self) -> Self {
        self.unary(Unary::Tanh)
    }

    /// Logistic sigmoid, stable for large |x|.
    #[track_caller]
    pub fn sigmoid(self) -> Self {
        self.unary(Unary::Sigmoid)
    }

    /// `max(x, 0)`. Its gradient at 0 is 0.
    #[track_caller]
    pub fn relu(self) -> Self {
        self.unary(Unary::Relu)
    }

    /// `x` above 0, `slope · x` below. Its gradient at 0 is `slope`.
    #[track_caller]
    pub fn leaky_relu(self, slope: F) -> Self {
        self.unary(Unary::LeakyRelu(slope))
    }

    /// GELU with the exact error function.
    #[track_caller]
    pub fn gelu(self) -> Self {
        self.unary(Unary::Gelu)
    }

    /// `ln(1 + e^x)`, stable for large |x|.
    #[track_caller]
    pub fn softplus(self) -> Self {
        self.unary(Unary::Softplus)
    }

    /// Limits every element to `[min, max]`. The gradient is 1 inside and at the bounds, 0 outside.
    #[track_caller]
    #[doc(alias = "clip")]
    pub fn clamp(self, min: F, max: F) -> Self {
        self.unary(Unary::Clamp(min, max))
    }

    /// `x + s`; also `x + s` and `s + x` with a scalar.
    #[track_caller]
    pub fn add_scalar(self, s: F) -> Self {
        self.unary(Unary::AddScalar(s))
    }

    /// `x - s`; also the `-` operator with a scalar on the right.
    #[track_caller]
    pub fn sub_scalar(self, s: F) -> Self {
        self.add_scalar(-s)
    }

    /// `s - x`; also the `-` operator with a scalar on the left.
    #[track_caller]
    pub fn rsub_scalar(self, s: F) -> Self {
        self.neg().add_scalar(s)
    }

    /// `x · s`; also `x * s` and `s * x` with a scalar.
    #[track_caller]
    pub fn mul_scalar(self, s: F) -> Self {
        self.unary(Unary::MulScalar(s))
    }

    /// `x / s`; also the `/` operator with a scalar on the right.
    #[track_caller]
    pub fn div_scalar(self, s: F) -> Self {
        self.mul_scalar(F::one() / s)
    }

    /// `s / x`; also the `/` operator with a scalar on the left.
    #[track_caller]
    pub fn rdiv_scalar(self, s: F) -> Self {
        self.recip().mul_scalar(s)
    }

    /// Rounds down. Not differentiable: returns a constant.
    #[track_caller]
    pub fn floor(self) -> Self {
        self.constant(self.value().floor())
    }

    /// Rounds up. Not differentiable: returns a constant.
    #[track_caller]
    pub fn ceil(self) -> Self {
        self.constant(self.value().ceil())
    }

    /// Rounds to nearest, ties to even. Not differentiable: returns a constant.
    #[track_caller]
    pub fn round(self) -> Self {
        self.constant(self.value().round())
    }

    /// -1, 0 or 1. Not differentiable: returns a constant.
    #[track_caller]
    pub fn sign(self) -> Self {
        self.constant(self.value().sign())
    }
}

/// The sign of `v`: -1, 0 or 1 (the derivative of `|v|`, 0 at 0).
fn sign<F: Float>(v: F) -> F {
    if v > F::zero() {
        F::one()
    } else if v < F::zero() {
        -F::one()
    } else {
        F::zero()
    }
}

impl<F: Float> Unary<F> {
    pub(crate) fn name(&self) -> String {
        match self {
            Unary::Powf(p) => format!("powf({p})"),
            Unary::VarianceSqrt => "sqrt(variance)".into(),
            Unary::LeakyRelu(s) => format!("leaky_relu({s})"),
            Unary::Clamp(lo, hi) => format!("clamp({lo}, {hi})"),
            Unary::AddScalar(s) => format!("add_scalar({s})"),
            Unary::MulScalar(s) => format!("mul_scalar({s})"),
            Unary::Act(a) => a.name(),
            Unary::Special(s) => s.name(),
            Unary::Math(m) => format!("{m:?}").to_lowercase(),
            other => format!("{other:?}").to_lowercase(),
        }
    }

    /// The input's gradient, given the output's gradient `g`.
    pub(crate) fn backward<'t, V: crate::value::Value<'t, F>>(&self, ctx: &Ctx<'t, F>, g: V) -> V {
        let x = || -> V { ctx.x(0) };
        let y = || -> V { ctx.y() };
        let (one, two) = (F::one(), F::from_f64(2.0));
        match *self {
            Unary::Neg => -g,
            Unary::Abs => ctx.with(ctx.inputs[0], |x| g.mul_mask(x, "abs_backward", sign)),
            Unary::Exp => g * y(),
            Unary::Ln => g / x(),
            Unary::Log1p => g / (x() + one),
            Unary::Expm1 => g * (y() + one),
            Unary::Sqrt => g / (y() * two),
            Unary::VarianceSqrt => {
                let y = y();
                let zero = y.tensor().eq_mask(&Tensor::scalar(F::zero()));
                (g / (y * two)).zero_where(&zero)
            }
            Unary::Square => g * x() * two,
            Unary::Recip => {
                let y = y();
                -(g * y.clone() * y)
            }
            // PyTorch's convention: x⁰ has gradient 0 everywhere, also at x = 0 (not 0 · 0⁻¹).
            Unary::Powf(p) if p == F::zero() => g.zero_where(&Tensor::scalar(one)),
            Unary::Powf(p) => g * x().powf(p - one) * p,
            Unary::Sin => g * x().cos(),
            Unary::Cos => -(g * x().sin()),
            Unary::Tanh => ctx.with(ctx.out, |y| g.unary_grad(UnaryGrad::Tanh, y)),
            Unary::Sigmoid => ctx.with(ctx.out, |y| g.unary_grad(UnaryGrad::Sigmoid, y)),
            Unary::Relu => ctx.with(ctx.inputs[0], |x| g.unary_grad(UnaryGrad::Relu, x)),
            Unary::LeakyRelu(s) => ctx.with(ctx.inputs[0], |x| {
                g.mul_mask(x, "leaky_relu_backward", |v| if v > F::zero() { one } else { s })
            }),
            Unary::Gelu => ctx.with(ctx.inputs[0], |x| g.unary_grad(UnaryGrad::Gelu, x)),
            Unary::Softplus => g * x().sigmoid(),
            Unary::Clamp(lo, hi) => {
                let inside = move |v: F| if v >= lo && v <= hi { one } else { F::zero() };
                ctx.with(ctx.inputs[0], |x| g.mul_mask(x, "clamp_backward", inside))
            }
            Unary::AddScalar(_) => g,
            Unary::MulScalar(s) => g * s,
            Unary::Act(a) => a.backward(ctx, g),
            Unary::Math(m) => m.backward(ctx, g),
            Unary::Special(s) => s.backward(ctx, g),
        }
    }

    /// The op on a tensor: what [`Var`]'s method records, for rules that apply the op to a value.
    #[track_caller]
    pub(crate) fn apply(&self, x: &Tensor<F>) -> Tensor<F> {
        match *self {
            Unary::Neg => x.neg(),
            Unary::Abs => x.abs(),
            Unary::Exp => x.exp(),
            Unary::Ln => x.ln(),
            Unary::Log1p => x.log1p(),
            Unary::Expm1 => x.expm1(),
            Unary::Sqrt | Unary::VarianceSqrt => x.sqrt(),
            Unary::Square => x.square(),
            Unary::Recip => x.recip(),
            Unary::Powf(p) => x.powf(p),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Tanh => x.tanh(),
            Unary::Sigmoid => x.sigmoid(),
            Unary::Relu => x.relu(),
            Unary::LeakyRelu(s) => x.leaky_relu(s),
            Unary::Gelu => x.gelu(),
            Unary::Softplus => x.softplus(),
            Unary::Clamp(lo, hi) => x.clamp(lo, hi),
            Unary::AddScalar(s) => x.add_scalar(s),
            Unary::MulScalar(s) => x.mul_scalar(s),
            Unary::Act(a) => a.apply(x),
            Unary::Math(m) => m.apply(x),
            Unary::Special(s) => s.apply(x),
        }
    }
}

impl UnaryGrad {
    /// The fused kernel on tensors: `g` the gradient, `v` the output (tanh, sigmoid) or input.
    pub(crate) fn kernel<F: Float>(self, g: Tensor<F>, v: &Tensor<F>) -> Tensor<F> {
        let one = F::one();
        match self {
            UnaryGrad::Tanh => g.zip_into(v, "tanh_backward", |g, y| g * (one - y * y)),
            UnaryGrad::Sigmoid => g.zip_into(v, "sigmoid_backward", |g, y| g * y * (one - y)),
            UnaryGrad::Relu => {
                g.zip_into(v, "relu_backward", |g, x| if x > F::zero() { g } else { F::zero() })
            }
            UnaryGrad::Gelu => g.zip_into(v, "gelu_backward", |g, x| g * (normal_cdf(x) + x * normal_pdf(x))),
            UnaryGrad::Silu => g.zip_into(v, "silu_backward", |g, x| {
                let s = sigmoid(x);
                g * s * (x * (one - s) + one)
            }),
            UnaryGrad::GeluTanh => {
                let (c, k) = gelu_tanh_constants::<F>();
                let (k3, half) = (k * F::from_f64(3.0), F::from_f64(0.5));
                let hc = half * c;
                g.zip_into(v, "gelu_tanh_backward", move |g, x| {
                    let x2 = x * x;
                    let t = ((x2 * k + one) * x * c).tanh_kernel();
                    let inner = x * (one - t * t) * (x2 * k3 + one);
                    g * ((t + one) * half + inner * hc)
                })
            }
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            UnaryGrad::Tanh => "tanh_backward",
            UnaryGrad::Sigmoid => "sigmoid_backward",
            UnaryGrad::Relu => "relu_backward",
            UnaryGrad::Gelu => "gelu_backward",
            UnaryGrad::Silu => "silu_backward",
            UnaryGrad::GeluTanh => "gelu_tanh_backward",
        }
    }

    /// Rules of the fused kernels: `h` is the gradient of their output, `g` and `v` their inputs.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(
        &self,
        ctx: &Ctx<'t, F>,
        h: V,
    ) -> Grads<V> {
        let (g, v): (V, V) = (ctx.x(0), ctx.x(1));
        let op = *self;
        let two = F::from_f64(2.0);
        if op == UnaryGrad::Relu {
            // d/dg g[x>0] = [x>0]; zero in x almost everywhere
            return SmallVec::from_buf([ctx.when(0, || h.unary_grad(op, &v)), None]);
        }
        let vc = v.clone();
        ctx.pair(
            h,
            |h| h.unary_grad(op, &vc),
            |h| {
                let hg = h * g;
                match op {
                    // d/dy g(1-y²) = -2gy
                    UnaryGrad::Tanh => hg * v * -two,
                    // d/dy gy(1-y) = g(1-2y)
                    UnaryGrad::Sigmoid => hg * (v * -two + F::one()),
                    // d/dx g(Φ + xφ) = g φ(x)(2 - x²), with φ(x) = e^{-x²/2}/√(2π)
                    UnaryGrad::Gelu => {
                        let phi = (v.clone().square() * F::from_f64(-0.5)).exp()
                            * F::from_f64(1.0 / (2.0 * std::f64::consts::PI).sqrt());
                        hg * phi * v.square().rsub_scalar(two)
                    }
                    // d/dx g s(1 + x(1 - s)) = g s(1 - s)(2 + x(1 - 2s))
                    UnaryGrad::Silu => {
                        let s = v.clone().sigmoid();
                        let ds = s.clone() * s.clone().rsub_scalar(F::one());
                        hg * ds * (v * (s * -two + F::one()) + two)
                    }
                    // With u = c(x + kx³), u' = c(1 + 3kx²), t = tanh u:
                    // d/dx g(½(1 + t) + ½x(1 - t²)u') = g(1 - t²)(u' - x t u'² + 3ckx²)
                    UnaryGrad::GeluTanh => {
                        let (c, k) = gelu_tanh_constants::<F>();
                        let x2 = v.clone().square();
                        let du = (x2.clone() * (k * F::from_f64(3.0)) + F::one()) * c;
                        let t = ((x2.clone() * k + F::one()) * v.clone() * c).unary_op(Unary::Tanh);
                        let sech2 = t.clone().square().rsub_scalar(F::one());
                        let curve = du.clone() - v * t * du.square() + x2 * (F::from_f64(3.0) * c * k);
                        hg * sech2 * curve
                    }
                    UnaryGrad::Relu => unreachable!("relu's rule returned above"),
                }
            },
        )
    }
}

#[cfg(test)]
pub(crate) mod tests;
