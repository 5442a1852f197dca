//! The activations of modern models beyond relu, sigmoid, tanh and exact gelu, with PyTorch's
//! formulas and defaults: gelu's tanh approximation, silu, elu, selu, mish, hardtanh, hardsigmoid,
//! hardswish, softsign and softplus with `beta` and `threshold`.

use crate::elementwise::{clamp, sigmoid, softplus};
use crate::float::{Float, lit};
use crate::kernel::{Cost, map_cost};
use crate::shape_ops::invalid;
use crate::tensor::Tensor;

/// SELU's `alpha`, as PyTorch (and the SELU paper) fix it.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// SELU's `scale`, as PyTorch (and the SELU paper) fix it.
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// Which GELU [`Tensor::gelu_with`] computes, PyTorch's `approximate` argument of `gelu`: `None`, the
/// exact `x Φ(x)` (PyTorch's `'none'`, the default), or `Tanh`, the tanh approximation (`'tanh'`).
///
/// ```
/// use wengert::tensor::{GeluApproximate, Tensor};
/// let x = Tensor::<f64>::from_vec(vec![-1.0, 0.5], &[2]).unwrap();
/// assert_eq!(x.gelu_with(GeluApproximate::default()), x.gelu());
/// assert_eq!(x.gelu_with(GeluApproximate::Tanh), x.gelu_tanh());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GeluApproximate {
    /// The exact GELU, `x Φ(x)` with the error function.
    #[default]
    None,
    /// The tanh approximation, `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
    Tanh,
}

impl<F: Float> Tensor<F> {
    /// GELU as `approximate` says: [`Tensor::gelu`] for [`GeluApproximate::None`],
    /// [`Tensor::gelu_tanh`] for [`GeluApproximate::Tanh`] (PyTorch's `gelu(x, approximate=...)`).
    ///
    /// ```
    /// use wengert::tensor::{GeluApproximate, Tensor};
    /// let y = Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap().gelu_with(GeluApproximate::Tanh);
    /// assert!((y.item() - 0.8411919906082767).abs() < 1e-15);
    /// ```
    pub fn gelu_with(&self, approximate: GeluApproximate) -> Self {
        match approximate {
            GeluApproximate::None => self.gelu(),
            GeluApproximate::Tanh => self.gelu_tanh(),
        }
    }

    /// GELU with the tanh approximation, PyTorch's `gelu(x, approximate='tanh')`:
    /// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![0.0, 1.0], &[2]).unwrap().gelu_tanh().to_vec();
    /// assert_eq!(y[0], 0.0);
    /// assert!((y[1] - 0.8411919906082767).abs() < 1e-15);
    /// ```
    pub fn gelu_tanh(&self) -> Self {
        map_cost(Cost::Costly, self, gelu_tanh)
    }

    /// SiLU (swish), `x · sigmoid(x)`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![0.0, 2.0], &[2]).unwrap().silu().to_vec();
    /// assert_eq!(y, vec![0.0, 2.0 / (1.0 + (-2f64).exp())]);
    /// ```
    #[doc(alias = "swish")]
    pub fn silu(&self) -> Self {
        map_cost(Cost::Costly, self, |x| x * sigmoid(x))
    }

    /// ELU, `x` above 0 and `alpha (e^x - 1)` at and below 0 (PyTorch's `elu`, default `alpha = 1`).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![-1.0, 2.0], &[2]).unwrap().elu(0.5).to_vec();
    /// assert_eq!(y, vec![0.5 * (-1f64).exp_m1(), 2.0]);
    /// ```
    pub fn elu(&self, alpha: F) -> Self {
        self.scaled_elu(alpha, F::one())
    }

    /// SELU, `scale · elu(x, alpha)` with PyTorch's fixed [`SELU_ALPHA`] and [`SELU_SCALE`].
    ///
    /// ```
    /// use wengert::tensor::{SELU_SCALE, Tensor};
    /// let y = Tensor::<f64>::from_vec(vec![0.0, 1.0], &[2]).unwrap().selu().to_vec();
    /// assert_eq!(y, vec![0.0, SELU_SCALE]);
    /// ```
    pub fn selu(&self) -> Self {
        self.scaled_elu(lit(SELU_ALPHA), lit(SELU_SCALE))
    }

    /// `scale · elu(x, alpha)`: the kernel of [`Tensor::elu`] and [`Tensor::selu`].
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![2.0], &[1]).unwrap().scaled_elu(1.0, 3.0);
    /// assert_eq!(y.to_vec(), vec![6.0]);
    /// ```
    pub fn scaled_elu(&self, alpha: F, scale: F) -> Self {
        map_cost(Cost::Costly, self, |x| if x > F::zero() { scale * x } else { scale * alpha * x.exp_m1() })
    }

    /// Mish, `x · tanh(softplus(x))`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![0.0, 1.0], &[2]).unwrap().mish().to_vec();
    /// assert_eq!(y[0], 0.0);
    /// assert!((y[1] - 0.8650983882673103).abs() < 1e-15);
    /// ```
    pub fn mish(&self) -> Self {
        map_cost(Cost::Costly, self, |x| x * softplus(x).tanh())
    }

    /// Hardtanh, `x` limited to `[min, max]` (PyTorch's defaults are -1 and 1). Unlike
    /// [`Tensor::clamp`], its gradient on a tape is 0 at the bounds, as PyTorch's is.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![-3.0, 0.5, 3.0], &[3]).unwrap().hardtanh(-1.0, 1.0);
    /// assert_eq!(y.to_vec(), vec![-1.0, 0.5, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `min > max` (`hardtanh: min 2 must not be above max 1`) or a bound is NaN.
    #[track_caller]
    pub fn hardtanh(&self, min: F, max: F) -> Self {
        check_hardtanh(min, max);
        map_cost(Cost::Cheap, self, |x| clamp(x, min, max))
    }

    /// Hardsigmoid, `clamp(x / 6 + 1/2, 0, 1)`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![-4.0, 0.0, 1.5, 4.0], &[4]).unwrap().hardsigmoid();
    /// assert_eq!(y.to_vec(), vec![0.0, 0.5, 0.75, 1.0]);
    /// ```
    pub fn hardsigmoid(&self) -> Self {
        map_cost(Cost::Cheap, self, hardsigmoid)
    }

    /// Hardswish, `x · hardsigmoid(x)`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![-4.0, 0.0, 1.5, 4.0], &[4]).unwrap().hardswish();
    /// assert_eq!(y.to_vec(), vec![0.0, 0.0, 1.125, 4.0]);
    /// ```
    pub fn hardswish(&self) -> Self {
        map_cost(Cost::Cheap, self, |x| x * hardsigmoid(x))
    }

    /// Softsign, `x / (1 + |x|)`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![-3.0, 1.0], &[2]).unwrap().softsign();
    /// assert_eq!(y.to_vec(), vec![-0.75, 0.5]);
    /// ```
    pub fn softsign(&self) -> Self {
        map_cost(Cost::Cheap, self, |x| x / (F::one() + x.abs()))
    }

    /// Softplus with PyTorch's options: `ln(1 + e^(beta x)) / beta`, and `x` itself where
    /// `beta x > threshold` (PyTorch's defaults are `beta = 1`, `threshold = 20`).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![0.0, 30.0], &[2]).unwrap();
    /// assert_eq!(x.softplus_with(2.0, 20.0).to_vec(), vec![2f64.ln() / 2.0, 30.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `beta` is 0 or NaN: `softplus: beta 0 must be non-zero`.
    #[track_caller]
    pub fn softplus_with(&self, beta: F, threshold: F) -> Self {
        check_beta(beta);
        map_cost(Cost::Costly, self, |x| if beta * x > threshold { x } else { softplus(beta * x) / beta })
    }
}

/// Panics unless `min ≤ max`, neither NaN, naming hardtanh.
#[track_caller]
fn check_hardtanh<F: Float>(min: F, max: F) {
    if min.is_nan() || max.is_nan() {
        invalid("hardtanh", format!("the bounds [{min}, {max}] must not be NaN"));
    }
    if min > max {
        invalid("hardtanh", format!("min {min} must not be above max {max}"));
    }
}

/// Panics unless `beta` is non-zero and not NaN, naming softplus.
#[track_caller]
fn check_beta<F: Float>(beta: F) {
    if beta == F::zero() || beta.is_nan() {
        invalid("softplus", format!("beta {beta} must be non-zero"));
    }
}

fn hardsigmoid<F: Float>(x: F) -> F {
    clamp(x / lit(6.0) + lit(0.5), F::zero(), F::one())
}

/// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`, in f64.
fn gelu_tanh<F: Float>(x: F) -> F {
    let v = x.to_f64();
    let u = (2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v * v * v);
    F::from_f64(0.5 * v * (1.0 + u.tanh()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
    }

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-14 * (1.0 + y.abs()), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn activations_match_pytorch_reference_values() {
        // PyTorch's formulas evaluated to 30 digits (mpmath), rounded to f64.
        let x = t(&[-2.0, -0.5, 0.0, 0.5, 2.0]);
        let want: [(&str, Tensor<f64>, [f64; 5]); 5] = [
            (
                "gelu_tanh",
                x.gelu_tanh(),
                [-0.04540230591222498, -0.15428599017485609, 0.0, 0.34571400982514394, 1.954597694087775],
            ),
            (
                "silu",
                x.silu(),
                [-0.23840584404423512, -0.18877033439907273, 0.0, 0.3112296656009273, 1.7615941559557649],
            ),
            (
                "mish",
                x.mish(),
                [-0.2525014826957089, -0.22074377465173, 0.0, 0.37524521130489513, 1.9439589595339946],
            ),
            (
                "selu",
                x.selu(),
                [-1.520166468595695, -0.6917581878028713, 0.0, 0.5253504936777402, 2.101401974710961],
            ),
            (
                "hardswish",
                x.hardswish(),
                [-1.0 / 3.0, -0.20833333333333334, 0.0, 0.2916666666666667, 5.0 / 3.0],
            ),
        ];
        for (name, y, w) in want {
            eprintln!("{name}");
            close(&y.to_vec(), &w);
        }
        close(&x.softsign().to_vec(), &[-2.0 / 3.0, -1.0 / 3.0, 0.0, 1.0 / 3.0, 2.0 / 3.0]);
    }

    #[test]
    fn softplus_reverts_to_linear_above_the_threshold() {
        let x = t(&[1.0, 10.0, 10.5, 100.0]);
        let y = x.softplus_with(2.0, 20.0).to_vec();
        close(&y[..2], &[(1.0 + 2f64.exp()).ln() / 2.0, (1.0 + 20f64.exp()).ln() / 2.0]);
        assert_eq!(y[2..], [10.5, 100.0]);
        // beta = 1, threshold = 20 is the plain softplus below 20.
        close(&t(&[3.0]).softplus_with(1.0, 20.0).to_vec(), &t(&[3.0]).softplus().to_vec());
        // A negative beta still gives ln(1 + e^(beta x)) / beta.
        close(&t(&[1.0]).softplus_with(-1.0, 20.0).to_vec(), &[-(1.0 + (-1f64).exp()).ln()]);
    }

    #[test]
    fn elu_takes_alpha_and_is_continuous_at_zero() {
        assert_eq!(t(&[0.0, -1e300]).elu(2.0).to_vec(), vec![0.0, -2.0]);
        close(&t(&[-1.0]).elu(1.0).to_vec(), &[(-1f64).exp() - 1.0]);
    }

    #[test]
    fn hardtanh_takes_its_bounds_and_keeps_nan() {
        let y = t(&[-5.0, 0.25, 5.0, f64::NAN]).hardtanh(-0.5, 2.0).to_vec();
        assert_eq!(y[..3], [-0.5, 0.25, 2.0]);
        assert!(y[3].is_nan());
    }

    #[test]
    #[should_panic(expected = "hardtanh: min 2 must not be above max 1")]
    fn hardtanh_rejects_min_above_max() {
        t(&[0.0]).hardtanh(2.0, 1.0);
    }

    #[test]
    #[should_panic(expected = "softplus: beta 0 must be non-zero")]
    fn softplus_rejects_a_zero_beta() {
        t(&[0.0]).softplus_with(0.0, 20.0);
    }
}
