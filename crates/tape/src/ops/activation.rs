//! The activations of modern models on Vars and their rules (`g` the incoming gradient, `x` the
//! input, `y` the output), with PyTorch's gradients at the kinks:
//!
//! gelu_tanh: g(½(1+t) + ½x(1-t²)c(1+3kx²)), t = tanh(c(x+kx³)) · silu: g·s(1 + x(1-s)), s = σ(x) ·
//! elu: g·scale above 0, g(y + scale·α) at and below 0 · mish: g(t + xσ(x)(1-t²)), t = tanh(softplus x) ·
//! hardtanh: g·[min < x < max] (0 at the bounds) · hardsigmoid: g/6·[-3 < x < 3] ·
//! hardswish: g(x/3 + ½) on [-3, 3], g above, 0 below · softsign: g/(1+|x|)² ·
//! softplus(β, τ): g·σ(βx) where βx ≤ τ, g above.
//!
//! Every rule is written with ops that have rules of their own, so every order of derivative works;
//! gelu_tanh's and silu's are fused kernels (`UnaryGrad`), one pass each on tensors.

use wengert_tensor::{Float, GeluApproximate, SELU_ALPHA, SELU_SCALE, Tensor};

use crate::op::Ctx;
use crate::ops::unary::{Unary, UnaryGrad};
use crate::var::Var;

/// An activation and its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Act<F: Float> {
    GeluTanh,
    Silu,
    /// `scale · elu(x, alpha)`: elu with scale 1, selu with PyTorch's constants.
    Elu {
        alpha: F,
        scale: F,
    },
    Mish,
    Hardtanh(F, F),
    Hardsigmoid,
    Hardswish,
    Softsign,
    Softplus {
        beta: F,
        threshold: F,
    },
}

impl<'t, F: Float> Var<'t, F> {
    #[track_caller]
    fn act(self, act: Act<F>) -> Self {
        self.unary(Unary::Act(act))
    }

    /// GELU with the tanh approximation, PyTorch's `gelu(x, approximate='tanh')`; see
    /// [`Tensor::gelu_tanh`]. [`Var::gelu`] is the exact one (`approximate='none'`).
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// let y = x.gelu_tanh();
    /// assert_eq!(y.value().to_vec(), vec![0.0]);
    /// assert_eq!(tape.grad(y.sum(), &[x])[0].to_vec(), vec![0.5]);
    /// ```
    #[track_caller]
    pub fn gelu_tanh(self) -> Self {
        self.act(Act::GeluTanh)
    }

    /// GELU as `approximate` says, PyTorch's `gelu(x, approximate=...)`: [`Var::gelu`] (exact) or
    /// [`Var::gelu_tanh`], differentiated to any order either way.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{GeluApproximate, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    /// assert_eq!(x.gelu_with(GeluApproximate::Tanh).value(), x.value().gelu_tanh());
    /// assert_eq!(x.gelu_with(GeluApproximate::None).value(), x.value().gelu());
    /// ```
    #[track_caller]
    pub fn gelu_with(self, approximate: GeluApproximate) -> Self {
        match approximate {
            GeluApproximate::None => self.gelu(),
            GeluApproximate::Tanh => self.gelu_tanh(),
        }
    }

    /// SiLU (swish), `x · sigmoid(x)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.silu().sum(), &[x])[0].to_vec(), vec![0.5]);
    /// ```
    #[doc(alias = "swish")]
    #[track_caller]
    pub fn silu(self) -> Self {
        self.act(Act::Silu)
    }

    /// ELU, `x` above 0, `alpha (e^x - 1)` at and below 0 (PyTorch's default `alpha` is 1). Its
    /// gradient at 0 is `alpha`, as PyTorch's.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0, 2.0], &[2]).unwrap());
    /// assert_eq!(tape.grad(x.elu(0.5).sum(), &[x])[0].to_vec(), vec![0.5, 1.0]);
    /// ```
    #[track_caller]
    pub fn elu(self, alpha: F) -> Self {
        self.act(Act::Elu { alpha, scale: F::one() })
    }

    /// SELU, `scale · elu(x, alpha)` with PyTorch's fixed `alpha` and `scale`
    /// ([`wengert::tensor::SELU_ALPHA`](SELU_ALPHA), [`wengert::tensor::SELU_SCALE`](SELU_SCALE)).
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{SELU_SCALE, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.selu().sum(), &[x])[0].to_vec(), vec![SELU_SCALE]);
    /// ```
    #[track_caller]
    pub fn selu(self) -> Self {
        self.act(Act::Elu { alpha: F::from_f64(SELU_ALPHA), scale: F::from_f64(SELU_SCALE) })
    }

    /// Mish, `x · tanh(softplus(x))`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// let g = tape.grad(x.mish().sum(), &[x])[0].to_vec();
    /// assert!((g[0] - 0.6).abs() < 1e-15); // tanh(softplus 0) = tanh(ln 2) = 0.6
    /// ```
    #[track_caller]
    pub fn mish(self) -> Self {
        self.act(Act::Mish)
    }

    /// Hardtanh, `x` limited to `[min, max]` (PyTorch's defaults are -1 and 1). As PyTorch's, its
    /// gradient is 1 strictly inside and 0 at the bounds and outside (where [`Var::clamp`]'s is 1
    /// at the bounds).
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![-1.0, 0.0, 2.0], &[3]).unwrap());
    /// assert_eq!(tape.grad(x.hardtanh(-1.0, 1.0).sum(), &[x])[0].to_vec(), vec![0.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `min > max` (`hardtanh: min 2 must not be above max 1`) or a bound is NaN.
    #[track_caller]
    pub fn hardtanh(self, min: F, max: F) -> Self {
        self.act(Act::Hardtanh(min, max))
    }

    /// Hardsigmoid, `clamp(x / 6 + 1/2, 0, 1)`; its gradient is 0 at ±3, as PyTorch's.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0, 3.0], &[2]).unwrap());
    /// assert_eq!(tape.grad(x.hardsigmoid().sum(), &[x])[0].to_vec(), vec![1.0 / 6.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn hardsigmoid(self) -> Self {
        self.act(Act::Hardsigmoid)
    }

    /// Hardswish, `x · hardsigmoid(x)`; its gradient is `x/3 + 1/2` on `[-3, 3]` (bounds included),
    /// 1 above and 0 below, as PyTorch's.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![-3.0, 0.0, 4.0], &[3]).unwrap());
    /// assert_eq!(tape.grad(x.hardswish().sum(), &[x])[0].to_vec(), vec![-0.5, 0.5, 1.0]);
    /// ```
    #[track_caller]
    pub fn hardswish(self) -> Self {
        self.act(Act::Hardswish)
    }

    /// Softsign, `x / (1 + |x|)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.softsign().sum(), &[x])[0].to_vec(), vec![0.25]);
    /// ```
    #[track_caller]
    pub fn softsign(self) -> Self {
        self.act(Act::Softsign)
    }

    /// Softplus with PyTorch's options: `ln(1 + e^(beta x)) / beta`, and `x` where
    /// `beta x > threshold` (defaults `beta = 1`, `threshold = 20`), where the gradient is 1.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0, 30.0], &[2]).unwrap());
    /// assert_eq!(tape.grad(x.softplus_with(2.0, 20.0).sum(), &[x])[0].to_vec(), vec![0.5, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `beta` is 0 or NaN: `softplus: beta 0 must be non-zero`.
    #[track_caller]
    pub fn softplus_with(self, beta: F, threshold: F) -> Self {
        self.act(Act::Softplus { beta, threshold })
    }
}

impl<F: Float> Act<F> {
    /// The forward on a tensor.
    #[track_caller]
    pub(crate) fn apply(&self, x: &Tensor<F>) -> Tensor<F> {
        match *self {
            Act::GeluTanh => x.gelu_tanh(),
            Act::Silu => x.silu(),
            Act::Elu { alpha, scale } => x.scaled_elu(alpha, scale),
            Act::Mish => x.mish(),
            Act::Hardtanh(min, max) => x.hardtanh(min, max),
            Act::Hardsigmoid => x.hardsigmoid(),
            Act::Hardswish => x.hardswish(),
            Act::Softsign => x.softsign(),
            Act::Softplus { beta, threshold } => x.softplus_with(beta, threshold),
        }
    }

    pub(crate) fn name(&self) -> String {
        match *self {
            Act::GeluTanh => "gelu(approximate=tanh)".into(),
            Act::Elu { alpha, scale } => format!("elu(alpha={alpha}, scale={scale})"),
            Act::Hardtanh(min, max) => format!("hardtanh({min}, {max})"),
            Act::Softplus { beta, threshold } => format!("softplus(beta={beta}, threshold={threshold})"),
            other => format!("{other:?}").to_lowercase(),
        }
    }

    /// The input's gradient, given the output's gradient `g`.
    pub(crate) fn backward<'t, V: crate::value::Value<'t, F>>(&self, ctx: &Ctx<'t, F>, g: V) -> V {
        let x: V = ctx.x(0);
        let (one, zero, half) = (F::one(), F::zero(), F::from_f64(0.5));
        let step = |on: bool| if on { one } else { zero };
        match *self {
            Act::GeluTanh => g.unary_grad(UnaryGrad::GeluTanh, &x),
            Act::Silu => g.unary_grad(UnaryGrad::Silu, &x),
            Act::Elu { alpha, scale } => {
                let below = (g.clone() * (ctx.y::<V>() + scale * alpha))
                    .mul_mask(&x, "elu_backward", |v| step(v <= zero));
                g.mul_mask(&x, "elu_backward", move |v| if v > zero { scale } else { zero }) + below
            }
            Act::Mish => {
                let t = x.clone().unary_op(Unary::Softplus).unary_op(Unary::Tanh);
                let s = x.clone().sigmoid();
                g * (t.clone() + x * s * t.square().rsub_scalar(one))
            }
            Act::Hardtanh(min, max) => g.mul_mask(&x, "hardtanh_backward", move |v| step(v > min && v < max)),
            Act::Hardsigmoid => {
                let (lo, hi, sixth) = (F::from_f64(-3.0), F::from_f64(3.0), F::from_f64(1.0 / 6.0));
                g.mul_mask(&x, "hardsigmoid_backward", move |v| if v > lo && v < hi { sixth } else { zero })
            }
            Act::Hardswish => {
                let (lo, hi) = (F::from_f64(-3.0), F::from_f64(3.0));
                let above = g.clone().mul_mask(&x, "hardswish_backward", move |v| step(v > hi));
                let slope = x.clone() * F::from_f64(1.0 / 3.0) + half;
                (g * slope).mul_mask(&x, "hardswish_backward", move |v| step(v >= lo && v <= hi)) + above
            }
            Act::Softsign => g / (x.unary_op(Unary::Abs) + one).square(),
            Act::Softplus { beta, threshold } => {
                let linear = move |v: F| beta * v > threshold;
                let above = g.clone().mul_mask(&x, "softplus_backward", move |v| step(linear(v)));
                let below = (g * (x.clone() * beta).sigmoid())
                    .mul_mask(&x, "softplus_backward", move |v| step(!linear(v)));
                below + above
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
