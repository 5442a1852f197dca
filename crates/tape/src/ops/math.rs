//! Inverse and hyperbolic trigonometry, tangent, base-2 and base-10 logarithms, `2^x` and `1/√x` on
//! Vars and their rules (`g` the incoming gradient, `x` the input, `y` the output), as PyTorch's:
//!
//! atan: g/(1+x²) · asin: g·rsqrt(1-x²) · acos: -g·rsqrt(1-x²) · sinh: g·cosh x · cosh: g·sinh x ·
//! tan: g(1+y²) · atanh: g/(1-x²) · asinh: g·rsqrt(x²+1) · acosh: g·rsqrt(x²-1) · log2: g/(x ln 2) ·
//! log10: g/(x ln 10) · exp2: g·y·ln 2 · rsqrt: -½g·y³.
//!
//! Every rule is written with ops that have rules of their own, so every order of derivative works.

use wengert_tensor::{Float, Tensor};

use crate::op::Ctx;
use crate::ops::unary::Unary;
use crate::var::Var;

/// A function of this family.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Math {
    Atan,
    Asin,
    Acos,
    Sinh,
    Cosh,
    Tan,
    Atanh,
    Asinh,
    Acosh,
    Log2,
    Log10,
    Exp2,
    Rsqrt,
}

impl<'t, F: Float> Var<'t, F> {
    /// Arctangent; its gradient is `1 / (1 + x²)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.atan().sum(), &[x])[0].to_vec(), vec![1.0]);
    /// ```
    #[track_caller]
    pub fn atan(self) -> Self {
        self.unary(Unary::Math(Math::Atan))
    }

    /// Arcsine; its gradient is `1 / √(1 - x²)`, +inf at ±1.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.asin().sum(), &[x])[0].to_vec(), vec![1.0]);
    /// ```
    #[track_caller]
    pub fn asin(self) -> Self {
        self.unary(Unary::Math(Math::Asin))
    }

    /// Arccosine; its gradient is `-1 / √(1 - x²)`, -inf at ±1.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.acos().sum(), &[x])[0].to_vec(), vec![-1.0]);
    /// ```
    #[track_caller]
    pub fn acos(self) -> Self {
        self.unary(Unary::Math(Math::Acos))
    }

    /// Hyperbolic sine; its gradient is `cosh x`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.sinh().sum(), &[x])[0].to_vec(), vec![1.0]);
    /// ```
    #[track_caller]
    pub fn sinh(self) -> Self {
        self.unary(Unary::Math(Math::Sinh))
    }

    /// Hyperbolic cosine; its gradient is `sinh x`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.cosh().sum(), &[x])[0].to_vec(), vec![0.0]);
    /// ```
    #[track_caller]
    pub fn cosh(self) -> Self {
        self.unary(Unary::Math(Math::Cosh))
    }

    /// Tangent; its gradient is `1 + tan² x`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.tan().sum(), &[x])[0].to_vec(), vec![1.0]);
    /// ```
    #[track_caller]
    pub fn tan(self) -> Self {
        self.unary(Unary::Math(Math::Tan))
    }

    /// Inverse hyperbolic tangent; its gradient is `1 / (1 - x²)`, +inf at ±1.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.atanh().sum(), &[x])[0].to_vec(), vec![1.0]);
    /// ```
    #[track_caller]
    pub fn atanh(self) -> Self {
        self.unary(Unary::Math(Math::Atanh))
    }

    /// Inverse hyperbolic sine; its gradient is `1 / √(x² + 1)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.asinh().sum(), &[x])[0].to_vec(), vec![1.0]);
    /// ```
    #[track_caller]
    pub fn asinh(self) -> Self {
        self.unary(Unary::Math(Math::Asinh))
    }

    /// Inverse hyperbolic cosine; its gradient is `1 / √(x² - 1)`, +inf at 1.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.acosh().sum(), &[x])[0].to_vec(), vec![f64::INFINITY]);
    /// ```
    #[track_caller]
    pub fn acosh(self) -> Self {
        self.unary(Unary::Math(Math::Acosh))
    }

    /// Base-2 logarithm; its gradient is `1 / (x ln 2)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.log2().sum(), &[x])[0].to_vec(), vec![1.0 / std::f64::consts::LN_2]);
    /// ```
    #[track_caller]
    pub fn log2(self) -> Self {
        self.unary(Unary::Math(Math::Log2))
    }

    /// Base-10 logarithm; its gradient is `1 / (x ln 10)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.log10().sum(), &[x])[0].to_vec(), vec![1.0 / std::f64::consts::LN_10]);
    /// ```
    #[track_caller]
    pub fn log10(self) -> Self {
        self.unary(Unary::Math(Math::Log10))
    }

    /// `2^x`; its gradient is `2^x ln 2`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.exp2().sum(), &[x])[0].to_vec(), vec![std::f64::consts::LN_2]);
    /// ```
    #[track_caller]
    pub fn exp2(self) -> Self {
        self.unary(Unary::Math(Math::Exp2))
    }

    /// `1 / √x`; its gradient is `-1 / (2 x^(3/2))`, -inf at 0.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    /// assert_eq!(tape.grad(x.rsqrt().sum(), &[x])[0].to_vec(), vec![-0.5]);
    /// ```
    #[track_caller]
    pub fn rsqrt(self) -> Self {
        self.unary(Unary::Math(Math::Rsqrt))
    }
}

impl Math {
    /// The forward on a tensor.
    pub(crate) fn apply<F: Float>(&self, x: &Tensor<F>) -> Tensor<F> {
        match self {
            Math::Atan => x.atan(),
            Math::Asin => x.asin(),
            Math::Acos => x.acos(),
            Math::Sinh => x.sinh(),
            Math::Cosh => x.cosh(),
            Math::Tan => x.tan(),
            Math::Atanh => x.atanh(),
            Math::Asinh => x.asinh(),
            Math::Acosh => x.acosh(),
            Math::Log2 => x.log2(),
            Math::Log10 => x.log10(),
            Math::Exp2 => x.exp2(),
            Math::Rsqrt => x.rsqrt(),
        }
    }

    /// The input's gradient, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(&self, ctx: &Ctx<'t, F>, g: V) -> V {
        let x = || -> V { ctx.x(0) };
        let one = F::one();
        let rsqrt = |v: V| v.unary_op(Unary::Math(Math::Rsqrt));
        match self {
            Math::Atan => g / (x().square() + one),
            Math::Asin => g * rsqrt(x().square().rsub_scalar(one)),
            Math::Acos => -(g * rsqrt(x().square().rsub_scalar(one))),
            Math::Sinh => g * x().unary_op(Unary::Math(Math::Cosh)),
            Math::Cosh => g * x().unary_op(Unary::Math(Math::Sinh)),
            Math::Tan => g * (ctx.y::<V>().square() + one),
            Math::Atanh => g / x().square().rsub_scalar(one),
            Math::Asinh => g * rsqrt(x().square() + one),
            Math::Acosh => g * rsqrt(x().square() + -one),
            Math::Log2 => g / (x() * F::from_f64(std::f64::consts::LN_2)),
            Math::Log10 => g / (x() * F::from_f64(std::f64::consts::LN_10)),
            Math::Exp2 => g * ctx.y::<V>() * F::from_f64(std::f64::consts::LN_2),
            Math::Rsqrt => g * ctx.y::<V>().powf(F::from_f64(3.0)) * F::from_f64(-0.5),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
