//! Elementwise unary ops on Vars and their backward rules (`g` the incoming gradient, `x` the input,
//! `y` the output):
//!
//! neg: -g · abs: g·sign x (0 at 0) · exp: g·y · ln: g/x · log1p: g/(1+x) · expm1: g·(y+1) ·
//! sqrt: g/(2y) (+inf at 0) · square: 2gx · recip: -g·y² · powf p: g·p·x^(p-1) · sin: g·cos x ·
//! cos: -g·sin x · tanh: g(1-y²) · sigmoid: g·y(1-y) · relu: g·[x>0] (0 at 0) · leaky_relu: g·[x>0 ? 1 : s] ·
//! gelu: g(Φ(x) + xφ(x)) · softplus: g·sigmoid x · clamp: g·[lo ≤ x ≤ hi] (1 at the bounds).
//!
//! tanh, sigmoid, relu and gelu backward through fused primitives (`UnaryGrad`), one kernel each,
//! which have rules of their own, so every order of derivative works.

use wengert_tensor::{Float, Tensor, normal_cdf, normal_pdf};

use crate::op::{Ctx, Grads, Op, TensorGrads, ValueCtx};
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
}

/// Fused backward kernels of the activations, with inputs `[g, y]` (tanh, sigmoid) or `[g, x]`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum UnaryGrad {
    /// g (1 - y²)
    Tanh,
    /// g y (1 - y)
    Sigmoid,
    /// g [x > 0]
    Relu,
    /// g (Φ(x) + x φ(x))
    Gelu,
}

impl<'t, F: Float> Var<'t, F> {
    fn unary(self, op: Unary<F>, f: impl FnOnce(&Tensor<F>) -> Tensor<F>) -> Self {
        let y = f(&self.tape.node(self.id).value);
        self.tape.push(Op::Unary(op), &[self.id], y)
    }

    fn unary_grad(op: UnaryGrad, g: Self, x: Self) -> Self {
        let value = {
            let nodes = g.tape.nodes.borrow();
            op.kernel(nodes[g.id].value.clone(), &nodes[x.id].value)
        };
        g.tape.push(Op::UnaryGrad(op), &[g.id, x.id], value)
    }

    /// `-x`; also the unary `-` operator.
    #[allow(clippy::should_implement_trait)] // the operator is implemented too and forwards here
    pub fn neg(self) -> Self {
        self.unary(Unary::Neg, Tensor::neg)
    }

    /// `|x|`. Its gradient at 0 is 0.
    pub fn abs(self) -> Self {
        self.unary(Unary::Abs, Tensor::abs)
    }

    /// `e^x`.
    pub fn exp(self) -> Self {
        self.unary(Unary::Exp, Tensor::exp)
    }

    /// `ln x`.
    pub fn ln(self) -> Self {
        self.unary(Unary::Ln, Tensor::ln)
    }

    /// `ln(1 + x)`.
    pub fn log1p(self) -> Self {
        self.unary(Unary::Log1p, Tensor::log1p)
    }

    /// `e^x - 1`.
    pub fn expm1(self) -> Self {
        self.unary(Unary::Expm1, Tensor::expm1)
    }

    /// `√x`. Its gradient at 0 is +inf.
    pub fn sqrt(self) -> Self {
        self.unary(Unary::Sqrt, Tensor::sqrt)
    }

    /// `x²`.
    pub fn square(self) -> Self {
        self.unary(Unary::Square, Tensor::square)
    }

    /// `1 / x`.
    pub fn recip(self) -> Self {
        self.unary(Unary::Recip, Tensor::recip)
    }

    /// `x^p` for a scalar exponent.
    pub fn powf(self, p: F) -> Self {
        self.unary(Unary::Powf(p), |x| x.powf(p))
    }

    /// Sine.
    pub fn sin(self) -> Self {
        self.unary(Unary::Sin, Tensor::sin)
    }

    /// Cosine.
    pub fn cos(self) -> Self {
        self.unary(Unary::Cos, Tensor::cos)
    }

    /// Hyperbolic tangent.
    pub fn tanh(self) -> Self {
        self.unary(Unary::Tanh, Tensor::tanh)
    }

    /// Logistic sigmoid, stable for large |x|.
    pub fn sigmoid(self) -> Self {
        self.unary(Unary::Sigmoid, Tensor::sigmoid)
    }

    /// `max(x, 0)`. Its gradient at 0 is 0.
    pub fn relu(self) -> Self {
        self.unary(Unary::Relu, Tensor::relu)
    }

    /// `x` above 0, `slope · x` below. Its gradient at 0 is `slope`.
    pub fn leaky_relu(self, slope: F) -> Self {
        self.unary(Unary::LeakyRelu(slope), |x| x.leaky_relu(slope))
    }

    /// GELU with the exact error function.
    pub fn gelu(self) -> Self {
        self.unary(Unary::Gelu, Tensor::gelu)
    }

    /// `ln(1 + e^x)`, stable for large |x|.
    pub fn softplus(self) -> Self {
        self.unary(Unary::Softplus, Tensor::softplus)
    }

    /// Limits every element to `[min, max]`. The gradient is 1 inside and at the bounds, 0 outside.
    pub fn clamp(self, min: F, max: F) -> Self {
        self.unary(Unary::Clamp(min, max), |x| x.clamp(min, max))
    }

    /// `x + s`; also `x + s` and `s + x` with a scalar.
    pub fn add_scalar(self, s: F) -> Self {
        self.unary(Unary::AddScalar(s), |x| x.add_scalar(s))
    }

    /// `x - s`; also the `-` operator with a scalar on the right.
    pub fn sub_scalar(self, s: F) -> Self {
        self.add_scalar(-s)
    }

    /// `s - x`; also the `-` operator with a scalar on the left.
    pub fn rsub_scalar(self, s: F) -> Self {
        self.neg().add_scalar(s)
    }

    /// `x · s`; also `x * s` and `s * x` with a scalar.
    pub fn mul_scalar(self, s: F) -> Self {
        self.unary(Unary::MulScalar(s), |x| x.mul_scalar(s))
    }

    /// `x / s`; also the `/` operator with a scalar on the right.
    pub fn div_scalar(self, s: F) -> Self {
        self.mul_scalar(F::one() / s)
    }

    /// `s / x`; also the `/` operator with a scalar on the left.
    pub fn rdiv_scalar(self, s: F) -> Self {
        self.recip().mul_scalar(s)
    }

    /// Rounds down. Not differentiable: returns a constant.
    pub fn floor(self) -> Self {
        self.constant(self.value().floor())
    }

    /// Rounds up. Not differentiable: returns a constant.
    pub fn ceil(self) -> Self {
        self.constant(self.value().ceil())
    }

    /// Rounds to nearest, ties to even. Not differentiable: returns a constant.
    pub fn round(self) -> Self {
        self.constant(self.value().round())
    }

    /// -1, 0 or 1. Not differentiable: returns a constant.
    pub fn sign(self) -> Self {
        self.constant(self.value().sign())
    }
}

/// A constant built from the value of `v` (a mask or a derivative that is constant almost everywhere).
fn mask<'t, F: Float>(v: Var<'t, F>, f: impl Fn(F) -> F + Sync + Send) -> Var<'t, F> {
    v.constant(v.value().map(f))
}

impl<F: Float> Unary<F> {
    pub(crate) fn name(&self) -> String {
        match self {
            Unary::Powf(p) => format!("powf({p})"),
            Unary::LeakyRelu(s) => format!("leaky_relu({s})"),
            Unary::Clamp(lo, hi) => format!("clamp({lo}, {hi})"),
            Unary::AddScalar(s) => format!("add_scalar({s})"),
            Unary::MulScalar(s) => format!("mul_scalar({s})"),
            other => format!("{other:?}").to_lowercase(),
        }
    }

    pub(crate) fn backward<'t>(&self, ctx: &Ctx<'t, F>) -> Grads<'t, F> {
        let (g, x, y) = (ctx.g, ctx.x(0), ctx.y);
        let one = F::one();
        let gx = match *self {
            Unary::Neg => -g,
            Unary::Abs => {
                g * mask(x, |v| {
                    if v > F::zero() {
                        one
                    } else if v < F::zero() {
                        -one
                    } else {
                        F::zero()
                    }
                })
            }
            Unary::Exp => g * y,
            Unary::Ln => g / x,
            Unary::Log1p => g / (x + one),
            Unary::Expm1 => g * (y + one),
            Unary::Sqrt => g / (y * F::from_f64(2.0)),
            Unary::Square => g * x * F::from_f64(2.0),
            Unary::Recip => -(g * y * y),
            Unary::Powf(p) => g * x.powf(p - one) * p,
            Unary::Sin => g * x.cos(),
            Unary::Cos => -(g * x.sin()),
            Unary::Tanh => Var::unary_grad(UnaryGrad::Tanh, g, y),
            Unary::Sigmoid => Var::unary_grad(UnaryGrad::Sigmoid, g, y),
            Unary::Relu => Var::unary_grad(UnaryGrad::Relu, g, x),
            Unary::LeakyRelu(s) => g * mask(x, |v| if v > F::zero() { one } else { s }),
            Unary::Gelu => Var::unary_grad(UnaryGrad::Gelu, g, x),
            Unary::Softplus => g * x.sigmoid(),
            Unary::Clamp(lo, hi) => g * mask(x, |v| if v >= lo && v <= hi { one } else { F::zero() }),
            Unary::AddScalar(_) => g,
            Unary::MulScalar(s) => g * s,
        };
        Grads::from_elem(Some(gx), 1)
    }

    /// [`Unary::backward`] on tensors, the same formulas in the same order, reusing `g`'s buffer.
    pub(crate) fn backward_values(&self, ctx: &ValueCtx<'_, F>, g: Tensor<F>) -> Tensor<F> {
        let (x, y) = (ctx.inputs[0], ctx.y);
        let (zero, one, two) = (F::zero(), F::one(), F::from_f64(2.0));
        let step = |v: F, lo: F, hi: F| if v > zero { hi } else { lo };
        match *self {
            Unary::Neg => -g,
            Unary::Abs => g.zip_into(x, "abs_backward", |g, v| {
                g * if v > zero {
                    one
                } else if v < zero {
                    -one
                } else {
                    zero
                }
            }),
            Unary::Exp => g.zip_into(y, "exp_backward", |g, y| g * y),
            Unary::Ln => g.zip_into(x, "ln_backward", |g, x| g / x),
            Unary::Log1p => g.zip_into(x, "log1p_backward", |g, x| g / (x + one)),
            Unary::Expm1 => g.zip_into(y, "expm1_backward", |g, y| g * (y + one)),
            Unary::Sqrt => g.zip_into(y, "sqrt_backward", |g, y| g / (y * two)),
            Unary::Square => g.zip_into(x, "square_backward", |g, x| g * x * two),
            Unary::Recip => g.zip_into(y, "recip_backward", |g, y| -(g * y * y)),
            Unary::Powf(p) => g.zip_into(x, "powf_backward", |g, x| g * x.powf(p - one) * p),
            Unary::Sin => g.zip_into(x, "sin_backward", |g, x| g * x.cos()),
            Unary::Cos => g.zip_into(x, "cos_backward", |g, x| -(g * x.sin())),
            Unary::Tanh => UnaryGrad::Tanh.kernel(g, y),
            Unary::Sigmoid => UnaryGrad::Sigmoid.kernel(g, y),
            Unary::Relu => UnaryGrad::Relu.kernel(g, x),
            Unary::Gelu => UnaryGrad::Gelu.kernel(g, x),
            Unary::LeakyRelu(s) => g.zip_into(x, "leaky_relu_backward", |g, v| g * step(v, s, one)),
            Unary::Softplus => g.zip_into(&x.sigmoid(), "softplus_backward", |g, s| g * s),
            Unary::Clamp(lo, hi) => {
                g.zip_into(x, "clamp_backward", |g, v| g * if v >= lo && v <= hi { one } else { zero })
            }
            Unary::AddScalar(_) => g,
            Unary::MulScalar(s) => g * s,
        }
    }
}

impl UnaryGrad {
    /// The fused kernel on tensors: `g` the gradient, `v` the output (tanh, sigmoid) or input.
    fn kernel<F: Float>(self, g: Tensor<F>, v: &Tensor<F>) -> Tensor<F> {
        let one = F::one();
        match self {
            UnaryGrad::Tanh => g.zip_into(v, "tanh_backward", |g, y| g * (one - y * y)),
            UnaryGrad::Sigmoid => g.zip_into(v, "sigmoid_backward", |g, y| g * y * (one - y)),
            UnaryGrad::Relu => {
                g.zip_into(v, "relu_backward", |g, x| if x > F::zero() { g } else { F::zero() })
            }
            UnaryGrad::Gelu => g.zip_into(v, "gelu_backward", |g, x| g * (normal_cdf(x) + x * normal_pdf(x))),
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            UnaryGrad::Tanh => "tanh_backward",
            UnaryGrad::Sigmoid => "sigmoid_backward",
            UnaryGrad::Relu => "relu_backward",
            UnaryGrad::Gelu => "gelu_backward",
        }
    }

    /// Rules of the fused kernels: `h` is the gradient of their output, `g` and `y`/`x` their inputs.
    pub(crate) fn backward<'t, F: Float>(&self, ctx: &Ctx<'t, F>) -> Grads<'t, F> {
        let (h, g, v) = (ctx.g, ctx.x(0), ctx.x(1));
        let two = F::from_f64(2.0);
        let (dg, dv) = match self {
            // d/dg g(1-y²) = 1-y², d/dy = -2gy
            UnaryGrad::Tanh => {
                (ctx.when(0, || Var::unary_grad(UnaryGrad::Tanh, h, v)), ctx.when(1, || h * g * v * -two))
            }
            // d/dg gy(1-y) = y(1-y), d/dy = g(1-2y)
            UnaryGrad::Sigmoid => (
                ctx.when(0, || Var::unary_grad(UnaryGrad::Sigmoid, h, v)),
                ctx.when(1, || h * g * (v * -two + F::one())),
            ),
            // d/dg g[x>0] = [x>0]; zero in x almost everywhere
            UnaryGrad::Relu => (ctx.when(0, || Var::unary_grad(UnaryGrad::Relu, h, v)), None),
            // d/dx g(Φ + xφ) = g φ(x)(2 - x²), with φ(x) = e^{-x²/2}/√(2π)
            UnaryGrad::Gelu => (
                ctx.when(0, || Var::unary_grad(UnaryGrad::Gelu, h, v)),
                ctx.when(1, || {
                    let phi = (v.square() * F::from_f64(-0.5)).exp()
                        * F::from_f64(1.0 / (2.0 * std::f64::consts::PI).sqrt());
                    h * g * phi * (v.square().rsub_scalar(two))
                }),
            ),
        };
        let mut out = Grads::new();
        out.push(dg);
        out.push(dv);
        out
    }

    /// [`UnaryGrad::backward`] on tensors.
    pub(crate) fn backward_values<F: Float>(&self, ctx: &ValueCtx<'_, F>, h: Tensor<F>) -> TensorGrads<F> {
        let (g, v) = (ctx.inputs[0], ctx.inputs[1]);
        let (one, two) = (F::one(), F::from_f64(2.0));
        let op = *self;
        if matches!(op, UnaryGrad::Relu) {
            return TensorGrads::from_iter([ctx.needs[0].then(|| op.kernel(h, v)), None]);
        }
        ctx.pair(
            h,
            |h| op.kernel(h, v),
            |h| {
                let hg = h.zip_into(g, "mul", |h, g| h * g);
                match op {
                    UnaryGrad::Tanh => hg.zip_into(v, "tanh_backward_backward", |t, v| t * v * -two),
                    UnaryGrad::Sigmoid => {
                        hg.zip_into(v, "sigmoid_backward_backward", |t, v| t * (v * -two + one))
                    }
                    _ => {
                        let c = F::from_f64(1.0 / (2.0 * std::f64::consts::PI).sqrt());
                        let half = F::from_f64(-0.5);
                        hg.zip_into(v, "gelu_backward_backward", |t, v| {
                            t * ((v * v * half).exp() * c) * (-(v * v) + two)
                        })
                    }
                }
            },
        )
    }
}
