//! Elementwise unary ops: arithmetic, exponentials, trigonometry and activations.
//!
//! The activations are written to stay finite for large inputs: sigmoid(x) = 1 / (1 + e^-x) for x ≥ 0 and
//! e^x / (1 + e^x) below; softplus(x) = max(x, 0) + ln(1 + e^-|x|); gelu(x) = x Φ(x) with the exact erf.

use crate::float::{Float, lit};
use crate::kernel::{Cost, map, map_cost, map_owned};
use crate::shape_ops::invalid;
use crate::tensor::Tensor;

impl<F: Float> Tensor<F> {
    /// Applies `f` to every element (serially for small tensors, on rayon for large ones).
    pub fn map(&self, f: impl Fn(F) -> F + Sync + Send) -> Self {
        map(self, f)
    }

    /// Applies `f` to every element, in place when this tensor is the only handle to a contiguous
    /// buffer (no allocation), else into a new buffer: the owned form of [`Tensor::map`].
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let t = Tensor::<f32>::from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// assert_eq!(t.map_into(|x| x * 10.0).to_vec(), vec![10.0, 20.0]);
    /// ```
    pub fn map_into(self, f: impl Fn(F) -> F + Sync + Send) -> Self {
        map_owned(self, f)
    }

    /// Negation, `-x`.
    pub fn neg(&self) -> Self {
        map_cost(Cost::Cheap, self, |x| -x)
    }

    /// Absolute value, `|x|`.
    pub fn abs(&self) -> Self {
        map_cost(Cost::Cheap, self, |x| x.abs())
    }

    /// Sign: -1, 0 or 1 (0 for ±0; NaN stays NaN).
    pub fn sign(&self) -> Self {
        map_cost(Cost::Cheap, self, sign)
    }

    /// `e^x`.
    pub fn exp(&self) -> Self {
        map_cost(Cost::Costly, self, |x| x.exp())
    }

    /// Natural logarithm, `ln x`.
    #[doc(alias = "log")]
    pub fn ln(&self) -> Self {
        map_cost(Cost::Costly, self, |x| x.ln())
    }

    /// `ln(1 + x)`, accurate near 0.
    pub fn log1p(&self) -> Self {
        map_cost(Cost::Costly, self, |x| x.ln_1p())
    }

    /// `e^x - 1`, accurate near 0.
    pub fn expm1(&self) -> Self {
        map_cost(Cost::Costly, self, |x| x.exp_m1())
    }

    /// Square root.
    pub fn sqrt(&self) -> Self {
        map_cost(Cost::Cheap, self, |x| x.sqrt())
    }

    /// `x²`.
    pub fn square(&self) -> Self {
        map_cost(Cost::Cheap, self, |x| x * x)
    }

    /// Reciprocal, `1 / x`.
    #[doc(alias = "reciprocal")]
    pub fn recip(&self) -> Self {
        map_cost(Cost::Cheap, self, |x| x.recip())
    }

    /// `x^p` for a scalar exponent `p`.
    pub fn powf(&self, p: F) -> Self {
        map_cost(Cost::Costly, self, |x| x.powf(p))
    }

    /// Sine.
    pub fn sin(&self) -> Self {
        map_cost(Cost::Costly, self, |x| x.sin())
    }

    /// Cosine.
    pub fn cos(&self) -> Self {
        map_cost(Cost::Costly, self, |x| x.cos())
    }

    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Self {
        map_cost(Cost::Costly, self, F::tanh_kernel)
    }

    /// Logistic sigmoid `1 / (1 + e^-x)`, finite for every finite input.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f32>::from_vec(vec![-1e4, 0.0, 1e4], &[3]).unwrap().sigmoid();
    /// assert_eq!(y.to_vec(), vec![0.0, 0.5, 1.0]);
    /// ```
    pub fn sigmoid(&self) -> Self {
        map_cost(Cost::Costly, self, sigmoid)
    }

    /// `max(x, 0)`; NaN stays NaN, as in PyTorch and IEEE `maximum`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f32>::from_vec(vec![-1.0, 2.0, f32::NAN], &[3]).unwrap().relu().to_vec();
    /// assert_eq!(y[..2], [0.0, 2.0]);
    /// assert!(y[2].is_nan());
    /// ```
    pub fn relu(&self) -> Self {
        map_cost(Cost::Cheap, self, relu)
    }

    /// `x` for `x > 0`, `slope · x` otherwise; NaN stays NaN.
    pub fn leaky_relu(&self, slope: F) -> Self {
        map_cost(Cost::Cheap, self, |x| if x > F::zero() { x } else { slope * x })
    }

    /// Gaussian error linear unit `x Φ(x)` with the exact error function (PyTorch's default GELU).
    pub fn gelu(&self) -> Self {
        map_cost(Cost::Costly, self, gelu)
    }

    /// `ln(1 + e^x)`, finite for every finite input.
    pub fn softplus(&self) -> Self {
        map_cost(Cost::Costly, self, softplus)
    }

    /// Limits every element to `[min, max]`: `min(max(x, min), max)`, so that NaN stays NaN and, when
    /// `min > max`, every element becomes `max` (both as in PyTorch).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![-3.0, 0.5, 3.0, f32::NAN], &[4]).unwrap();
    /// let y = x.clamp(-1.0, 1.0).to_vec();
    /// assert_eq!(y[..3], [-1.0, 0.5, 1.0]);
    /// assert!(y[3].is_nan());
    /// assert_eq!(x.clamp(2.0, 1.0).to_vec()[..3], [1.0; 3]);
    /// ```
    ///
    /// # Panics
    ///
    /// When a bound is NaN: `clamp: the bounds [NaN, 1] must not be NaN`.
    #[track_caller]
    #[doc(alias = "clip")]
    pub fn clamp(&self, min: F, max: F) -> Self {
        if min.is_nan() || max.is_nan() {
            invalid("clamp", format!("the bounds [{min}, {max}] must not be NaN"));
        }
        map_cost(Cost::Cheap, self, |x| clamp(x, min, max))
    }

    /// Rounds down. Not differentiable: the tape treats it as a constant.
    pub fn floor(&self) -> Self {
        map_cost(Cost::Cheap, self, |x| x.floor())
    }

    /// Rounds up. Not differentiable: the tape treats it as a constant.
    pub fn ceil(&self) -> Self {
        map_cost(Cost::Cheap, self, |x| x.ceil())
    }

    /// Rounds to nearest, ties to even (as `torch.round`). Not differentiable.
    pub fn round(&self) -> Self {
        map_cost(Cost::Cheap, self, |x| x.round_half_even())
    }
}

/// `max(x, 0)` that keeps NaN (a comparison with NaN is false, so NaN takes the `else` branch).
#[inline]
pub(crate) fn relu<F: Float>(x: F) -> F {
    if x <= F::zero() { F::zero() } else { x }
}

/// `min(max(x, lo), hi)` that keeps NaN, written as two selects on comparisons that NaN fails.
#[inline]
pub(crate) fn clamp<F: Float>(x: F, lo: F, hi: F) -> F {
    let y = if x < lo { lo } else { x };
    if y > hi { hi } else { y }
}

/// -1, 0 or 1.
pub(crate) fn sign<F: Float>(x: F) -> F {
    if x > F::zero() {
        F::one()
    } else if x < F::zero() {
        -F::one()
    } else {
        x
    }
}

/// Stable logistic sigmoid.
pub(crate) fn sigmoid<F: Float>(x: F) -> F {
    if x >= F::zero() {
        F::one() / (F::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::one() + e)
    }
}

/// Stable softplus.
pub(crate) fn softplus<F: Float>(x: F) -> F {
    x.max(F::zero()) + (-x.abs()).exp().ln_1p()
}

/// Exact GELU, `0.5 x (1 + erf(x / √2))`.
pub(crate) fn gelu<F: Float>(x: F) -> F {
    let v = x.to_f64();
    F::from_f64(0.5 * v * (1.0 + erf(v / std::f64::consts::SQRT_2)))
}

/// The standard normal density `φ(x)`, the derivative of `Φ`; used by GELU's gradient.
pub fn normal_pdf<F: Float>(x: F) -> F {
    let v = x.to_f64();
    lit::<F>((-0.5 * v * v).exp() / (2.0 * std::f64::consts::PI).sqrt())
}

/// The standard normal distribution function `Φ(x) = (1 + erf(x / √2)) / 2`.
pub fn normal_cdf<F: Float>(x: F) -> F {
    F::from_f64(0.5 * (1.0 + erf(x.to_f64() / std::f64::consts::SQRT_2)))
}

/// The error function, `libm`'s (a port of FreeBSD's msun, accurate to about 1 ulp).
pub fn erf(x: f64) -> f64 {
    libm::erf(x)
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
            assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn arithmetic_ops_are_hand_checked() {
        let x = t(&[-2.0, 0.0, 3.0]);
        assert_eq!(x.neg().to_vec(), vec![2.0, 0.0, -3.0]);
        assert_eq!(x.abs().to_vec(), vec![2.0, 0.0, 3.0]);
        assert_eq!(x.sign().to_vec(), vec![-1.0, 0.0, 1.0]);
        assert_eq!(x.square().to_vec(), vec![4.0, 0.0, 9.0]);
        assert_eq!(t(&[2.0, 4.0]).recip().to_vec(), vec![0.5, 0.25]);
        assert_eq!(t(&[4.0, 9.0]).sqrt().to_vec(), vec![2.0, 3.0]);
        assert_eq!(t(&[2.0, 3.0]).powf(3.0).to_vec(), vec![8.0, 27.0]);
        assert_eq!(x.clamp(-1.0, 1.0).to_vec(), vec![-1.0, 0.0, 1.0]);
        assert_eq!(x.map(|v| v + 1.0).to_vec(), vec![-1.0, 1.0, 4.0]);
    }

    #[test]
    fn transcendental_ops_are_hand_checked() {
        close(&t(&[0.0, 1.0]).exp().to_vec(), &[1.0, std::f64::consts::E]);
        close(&t(&[1.0, std::f64::consts::E]).ln().to_vec(), &[0.0, 1.0]);
        close(&t(&[1e-10]).log1p().to_vec(), &[1e-10 - 5e-21]);
        close(&t(&[1e-10]).expm1().to_vec(), &[1e-10 + 5e-21]);
        close(&t(&[0.0, std::f64::consts::FRAC_PI_2]).sin().to_vec(), &[0.0, 1.0]);
        close(&t(&[0.0, std::f64::consts::PI]).cos().to_vec(), &[1.0, -1.0]);
        close(&t(&[0.0, 1.0]).tanh().to_vec(), &[0.0, 1f64.tanh()]);
    }

    #[test]
    fn activations_are_hand_checked() {
        let x = t(&[-2.0, 0.0, 3.0]);
        assert_eq!(x.relu().to_vec(), vec![0.0, 0.0, 3.0]);
        assert_eq!(x.leaky_relu(0.1).to_vec(), vec![-0.2, 0.0, 3.0]);
        close(&x.sigmoid().to_vec(), &[1.0 / (1.0 + 2f64.exp()), 0.5, 1.0 / (1.0 + (-3f64).exp())]);
        close(&t(&[0.0, 1.0]).softplus().to_vec(), &[2f64.ln(), (1.0 + 1f64.exp()).ln()]);
        // gelu(1) = Φ(1) = 0.841344746068543 (tables of the normal distribution).
        close(&t(&[0.0, 1.0, -1.0]).gelu().to_vec(), &[0.0, 0.841344746068543, -0.158655253931457]);
    }

    #[test]
    fn activations_and_clamp_propagate_nan() {
        let x = t(&[f64::NAN, -1.0, 2.0]);
        for y in [x.relu(), x.leaky_relu(0.1), x.clamp(-0.5, 0.5), x.clamp(f64::NEG_INFINITY, 0.0)] {
            assert!(y.to_vec()[0].is_nan(), "{y:?}");
        }
        assert_eq!(x.relu().to_vec()[1..], [0.0, 2.0]);
        assert_eq!(x.clamp(-0.5, 0.5).to_vec()[1..], [-0.5, 0.5]);
        let f = Tensor::<f32>::from_vec(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY], &[3]).unwrap();
        assert!(f.relu().to_vec()[0].is_nan());
        assert_eq!(f.relu().to_vec()[1..], [f32::INFINITY, 0.0]);
        assert_eq!(f.clamp(-1.0, 1.0).to_vec()[1..], [1.0, -1.0]);
        let n = crate::PAR_THRESHOLD + 1;
        let big = Tensor::<f32>::full(&[n], f32::NAN);
        assert!(big.relu().to_vec().iter().chain(&big.clamp(0.0, 1.0).to_vec()).all(|v| v.is_nan()));
    }

    #[test]
    fn clamp_with_min_above_max_gives_max_as_pytorch_does() {
        assert_eq!(t(&[-5.0, 0.0, 5.0]).clamp(1.0, -1.0).to_vec(), vec![-1.0; 3]);
    }

    #[test]
    #[should_panic(expected = "clamp: the bounds [NaN, 1] must not be NaN")]
    fn clamp_rejects_a_nan_min() {
        t(&[0.0]).clamp(f64::NAN, 1.0);
    }

    #[test]
    #[should_panic(expected = "clamp: the bounds [0, NaN] must not be NaN")]
    fn clamp_rejects_a_nan_max() {
        t(&[0.0]).clamp(0.0, f64::NAN);
    }

    #[test]
    fn erf_matches_reference_values() {
        // Reference values from a libm erf (CPython's math.erf).
        for (x, want) in [
            (0.5, 0.5204998778130465),
            (1.0, 0.8427007929497149),
            (2.0, 0.9953222650189527),
            (2.9, 0.9999589021219005),
            (3.1, 0.9999883513426328),
            (4.0, 0.9999999845827421),
        ] {
            assert!((erf(x) - want).abs() < 1e-14, "erf({x}) = {} not {want}", erf(x));
            assert!((erf(-x) + want).abs() < 1e-14);
        }
        assert_eq!(erf(10.0), 1.0);
        assert!(erf(f64::NAN).is_nan());
    }

    #[test]
    fn rounding_ops_round_like_torch() {
        let x = t(&[-1.5, -0.5, 0.5, 1.5, 2.5, 1.2]);
        assert_eq!(x.round().to_vec(), vec![-2.0, -0.0, 0.0, 2.0, 2.0, 1.0]);
        assert_eq!(x.floor().to_vec(), vec![-2.0, -1.0, 0.0, 1.0, 2.0, 1.0]);
        assert_eq!(x.ceil().to_vec(), vec![-1.0, -0.0, 1.0, 2.0, 3.0, 2.0]);
    }

    #[test]
    fn sigmoid_and_softplus_are_finite_at_extremes_in_f32() {
        let x = Tensor::<f32>::from_vec(vec![-1e4, -100.0, 100.0, 1e4], &[4]).unwrap();
        let s = x.sigmoid().to_vec();
        assert!(s.iter().all(|v| v.is_finite()));
        // sigmoid(-100) = e^-100 = 3.7e-44 is a subnormal f32, not 0.
        assert!(s[0] == 0.0 && s[1] > 0.0 && s[1] < 1e-40 && s[2] == 1.0 && s[3] == 1.0, "{s:?}");
        let sp = x.softplus().to_vec();
        assert!(sp.iter().all(|v| v.is_finite()));
        assert!(sp[0] == 0.0 && sp[1] < 1e-40 && sp[2] == 100.0 && sp[3] == 1e4, "{sp:?}");
    }

    #[test]
    fn large_tensors_take_the_parallel_path_and_agree() {
        let n = crate::PAR_THRESHOLD * 2 + 3;
        let x = Tensor::<f32>::arange(0.0, n as f32, 1.0);
        let y = x.map(|v| v * 2.0).to_vec();
        assert!(y.iter().enumerate().all(|(i, &v)| v == 2.0 * i as f32));
    }
}
