//! Special functions on Vars and their rules (`g` the incoming gradient, `x` the input, `y` the
//! output), as PyTorch's:
//!
//! erf: g·2/√π·e^(-x²) · erfc: -g·2/√π·e^(-x²) · erfinv: g·√π/2·e^(y²) · lgamma: g·ψ(x) ·
//! polygamma(n): g·ψ⁽ⁿ⁺¹⁾(x) (digamma is polygamma(0)).
//!
//! lgamma's derivative is digamma, digamma's is polygamma(1), and each polygamma's the next one: the
//! chain has a rule at every order.

use wengert_tensor::{Float, Tensor};

use crate::op::Ctx;
use crate::ops::unary::Unary;
use crate::var::Var;

/// A special function; `Polygamma(0)` is digamma.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Special {
    Erf,
    Erfc,
    Erfinv,
    Lgamma,
    Polygamma(u32),
}

impl<'t, F: Float> Var<'t, F> {
    /// The error function; its gradient is `2/√π e^(-x²)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// let g = tape.grad(x.erf().sum(), &[x])[0].to_vec();
    /// assert_eq!(g, vec![2.0 / std::f64::consts::PI.sqrt()]);
    /// ```
    #[track_caller]
    pub fn erf(self) -> Self {
        self.unary(Unary::Special(Special::Erf))
    }

    /// The complementary error function `1 - erf x`; its gradient is `-2/√π e^(-x²)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// let g = tape.grad(x.erfc().sum(), &[x])[0].to_vec();
    /// assert_eq!(g, vec![-2.0 / std::f64::consts::PI.sqrt()]);
    /// ```
    #[track_caller]
    pub fn erfc(self) -> Self {
        self.unary(Unary::Special(Special::Erfc))
    }

    /// The inverse error function (±inf at ±1, NaN outside); its gradient is `√π/2 e^(y²)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// let g = tape.grad(x.erfinv().sum(), &[x])[0].to_vec();
    /// assert_eq!(g, vec![std::f64::consts::PI.sqrt() / 2.0]);
    /// ```
    #[track_caller]
    pub fn erfinv(self) -> Self {
        self.unary(Unary::Special(Special::Erfinv))
    }

    /// `ln |Γ(x)|`; its gradient is [`Var::digamma`].
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    /// let g = tape.grad(x.lgamma().sum(), &[x])[0].to_vec();
    /// assert!((g[0] + 0.5772156649015329).abs() < 1e-15); // ψ(1) = -γ
    /// ```
    #[track_caller]
    pub fn lgamma(self) -> Self {
        self.unary(Unary::Special(Special::Lgamma))
    }

    /// The digamma function `ψ = Γ'/Γ` (-inf at +0, NaN at the negative integers, as PyTorch);
    /// its gradient is `polygamma(1)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    /// let g = tape.grad(x.digamma().sum(), &[x])[0].to_vec();
    /// assert!((g[0] - std::f64::consts::PI.powi(2) / 6.0).abs() < 1e-15);
    /// ```
    #[track_caller]
    pub fn digamma(self) -> Self {
        self.polygamma(0)
    }

    /// The polygamma function `ψ⁽ⁿ⁾`, the `n`-th derivative of digamma; its gradient is
    /// `polygamma(n + 1)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    /// let g = tape.grad(x.polygamma(1).sum(), &[x])[0].to_vec();
    /// assert!((g[0] + 2.4041138063191885).abs() < 1e-14); // ψ⁽²⁾(1) = -2 ζ(3)
    /// ```
    #[track_caller]
    pub fn polygamma(self, n: u32) -> Self {
        self.unary(Unary::Special(Special::Polygamma(n)))
    }
}

impl Special {
    /// The forward on a tensor.
    pub(crate) fn apply<F: Float>(&self, x: &Tensor<F>) -> Tensor<F> {
        match *self {
            Special::Erf => x.erf(),
            Special::Erfc => x.erfc(),
            Special::Erfinv => x.erfinv(),
            Special::Lgamma => x.lgamma(),
            Special::Polygamma(n) => x.polygamma(n),
        }
    }

    pub(crate) fn name(&self) -> String {
        match *self {
            Special::Polygamma(0) => "digamma".into(),
            Special::Polygamma(n) => format!("polygamma({n})"),
            other => format!("{other:?}").to_lowercase(),
        }
    }

    /// The input's gradient, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(&self, ctx: &Ctx<'t, F>, g: V) -> V {
        let x = || -> V { ctx.x(0) };
        let two_over_sqrt_pi = F::from_f64(2.0 / std::f64::consts::PI.sqrt());
        match *self {
            Special::Erf => g * (x().square() * -F::one()).exp() * two_over_sqrt_pi,
            Special::Erfc => g * (x().square() * -F::one()).exp() * -two_over_sqrt_pi,
            Special::Erfinv => {
                g * ctx.y::<V>().square().exp() * F::from_f64(std::f64::consts::PI.sqrt() / 2.0)
            }
            Special::Lgamma => g * x().unary_op(Unary::Special(Special::Polygamma(0))),
            Special::Polygamma(n) => g * x().unary_op(Unary::Special(Special::Polygamma(n + 1))),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
