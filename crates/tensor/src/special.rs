//! Special functions: the error function and its complement and inverse, the log-gamma function, and
//! the polygamma functions ψ⁽ⁿ⁾ (ψ⁽⁰⁾ = digamma). Evaluated in f64: erf, erfc and lgamma by `libm`;
//! erfinv by Giles' approximation refined by two Newton steps; digamma by recurrence up to 15, its
//! asymptotic series and, below 0, the reflection ψ(x) = ψ(1-x) - π / tan(πx); ψ⁽ⁿ⁾ for n ≥ 1 as
//! (-1)ⁿ⁺¹ n! ζ(n+1, x) with the Hurwitz zeta summed up to 20 + n and the Euler–Maclaurin tail.

use crate::float::Float;
use crate::kernel::map;
use crate::tensor::Tensor;

impl<F: Float> Tensor<F> {
    /// The error function, `erf x = 2/√π ∫₀ˣ e^(-t²) dt`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![0.0, 1.0], &[2]).unwrap().erf().to_vec();
    /// assert_eq!(y[0], 0.0);
    /// assert!((y[1] - 0.8427007929497149).abs() < 1e-16);
    /// ```
    pub fn erf(&self) -> Self {
        map(self, |x| F::from_f64(libm::erf(x.to_f64())))
    }

    /// The complementary error function, `1 - erf x`, accurate where it is small.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![10.0], &[1]).unwrap().erfc().to_vec();
    /// assert!((y[0] - 2.088487583762545e-45).abs() < 1e-58);
    /// ```
    pub fn erfc(&self) -> Self {
        map(self, |x| F::from_f64(libm::erfc(x.to_f64())))
    }

    /// The inverse error function: ±inf at ±1, NaN outside `[-1, 1]` (as PyTorch's `erfinv`).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![0.0, 0.8427007929497149, 1.0], &[3]).unwrap().erfinv();
    /// let y = y.to_vec();
    /// assert!(y[0] == 0.0 && (y[1] - 1.0).abs() < 1e-15 && y[2] == f64::INFINITY);
    /// ```
    pub fn erfinv(&self) -> Self {
        map(self, |x| F::from_f64(erfinv(x.to_f64())))
    }

    /// `ln |Γ(x)|`; +inf at 0 and the negative integers (as PyTorch's `lgamma`).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![1.0, 4.0, 0.0], &[3]).unwrap().lgamma().to_vec();
    /// assert!(y[0] == 0.0 && (y[1] - 6f64.ln()).abs() < 1e-15 && y[2] == f64::INFINITY);
    /// ```
    pub fn lgamma(&self) -> Self {
        map(self, |x| F::from_f64(libm::lgamma(x.to_f64())))
    }

    /// The digamma function `ψ = Γ'/Γ`, the derivative of [`Tensor::lgamma`]. As PyTorch (since
    /// 1.8): -inf at +0, +inf at -0, NaN at the negative integers.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![1.0, 0.0], &[2]).unwrap().digamma().to_vec();
    /// assert!((y[0] + 0.5772156649015329).abs() < 1e-15 && y[1] == f64::NEG_INFINITY);
    /// ```
    pub fn digamma(&self) -> Self {
        map(self, |x| F::from_f64(digamma(x.to_f64())))
    }

    /// The polygamma function `ψ⁽ⁿ⁾`, the `n`-th derivative of [`Tensor::digamma`] (`n = 0` is
    /// digamma itself). At 0 and the negative integers it is `(-1)ⁿ⁺¹ ∞` for `n ≥ 1`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// // ψ⁽¹⁾(1) = π²/6.
    /// let y = Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap().polygamma(1).to_vec();
    /// assert!((y[0] - std::f64::consts::PI.powi(2) / 6.0).abs() < 1e-15);
    /// ```
    pub fn polygamma(&self, n: u32) -> Self {
        map(self, |x| F::from_f64(polygamma(n, x.to_f64())))
    }
}

/// The inverse error function in f64.
fn erfinv(y: f64) -> f64 {
    if y.is_nan() || y.abs() > 1.0 {
        return f64::NAN;
    }
    if y.abs() == 1.0 {
        return y * f64::INFINITY;
    }
    let a = y.abs();
    let mut w = -((1.0 - a) * (1.0 + a)).ln();
    // Giles, "Approximating the erfinv function" (2010), single-precision coefficients.
    let (coeffs, t): (&[f64], f64) = if w < 5.0 {
        w -= 2.5;
        (
            &[
                2.810_226_36e-08,
                3.432_739_39e-07,
                -3.523_387_7e-06,
                -4.391_506_54e-06,
                0.000_218_580_87,
                -0.001_253_725_03,
                -0.004_177_681_64,
                0.246_640_727,
                1.501_409_41,
            ],
            w,
        )
    } else {
        (
            &[
                -0.000_200_214_257,
                0.000_100_950_558,
                0.001_349_343_22,
                -0.003_673_428_44,
                0.005_739_507_73,
                -0.007_622_461_3,
                0.009_438_870_47,
                1.001_674_06,
                2.832_976_82,
            ],
            w.sqrt() - 3.0,
        )
    };
    let mut x = coeffs.iter().fold(0.0, |p, &c| p * t + c) * a;
    // Newton on erf x = a (on erfc x = 1 - a near 1, where 1 - a is exact and erf x would round to
    // 1). Giles' fit is for f32's range; past it (1 - a < 1e-7) a few more steps are needed.
    for _ in 0..8 {
        let r = if a > 0.5 { (1.0 - a) - libm::erfc(x) } else { libm::erf(x) - a };
        let step = r / (2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp());
        x -= step;
        if step.abs() <= 1e-17 * x {
            break;
        }
    }
    x.copysign(y)
}

/// The digamma function in f64.
pub(crate) fn digamma(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x == 0.0 {
        return f64::INFINITY.copysign(-x);
    }
    if x < 0.0 {
        if x == x.floor() {
            return f64::NAN;
        }
        return digamma(1.0 - x) - std::f64::consts::PI / (std::f64::consts::PI * x).tan();
    }
    let (mut x, mut acc) = (x, 0.0);
    while x < 15.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    // ψ(x) ~ ln x - 1/(2x) - Σ B₂ₖ / (2k x²ᵏ)
    let z = 1.0 / (x * x);
    let tail = z
        * (1.0 / 12.0
            - z * (1.0 / 120.0
                - z * (1.0 / 252.0 - z * (1.0 / 240.0 - z * (1.0 / 132.0 - z * 691.0 / 32760.0)))));
    acc + x.ln() - 0.5 / x - tail
}

/// Bernoulli numbers B₂, B₄, …, B₁₆.
const BERNOULLI: [f64; 8] = [
    1.0 / 6.0,
    -1.0 / 30.0,
    1.0 / 42.0,
    -1.0 / 30.0,
    5.0 / 66.0,
    -691.0 / 2730.0,
    7.0 / 6.0,
    -3617.0 / 510.0,
];

/// ψ⁽ⁿ⁾(x) in f64.
pub(crate) fn polygamma(n: u32, x: f64) -> f64 {
    if n == 0 {
        return digamma(x);
    }
    let sign = if n % 2 == 1 { 1.0 } else { -1.0 };
    if x.is_nan() {
        return x;
    }
    if x <= 0.0 && x == x.floor() {
        return sign * f64::INFINITY;
    }
    let factorial: f64 = (1..=n).map(f64::from).product();
    sign * factorial * hurwitz_zeta(f64::from(n) + 1.0, x, 20.0 + f64::from(n))
}

/// ζ(s, x) = Σₖ (x + k)^(-s): the terms below `from`, then the Euler–Maclaurin tail.
fn hurwitz_zeta(s: f64, x: f64, from: f64) -> f64 {
    let (mut x, mut sum) = (x, 0.0);
    while x < from {
        sum += x.powf(-s);
        x += 1.0;
    }
    let mut tail = x.powf(1.0 - s) / (s - 1.0) + 0.5 * x.powf(-s);
    // term k: B₂ₖ / (2k)! · s (s+1) … (s+2k-2) · x^(-s-2k+1)
    let (mut rising, mut fact, mut pow) = (s, 2.0, x.powf(-s - 1.0));
    for (k, b) in BERNOULLI.iter().enumerate() {
        tail += b / fact * rising * pow;
        let m = 2.0 * k as f64 + 2.0;
        rising *= (s + m - 1.0) * (s + m);
        fact *= (m + 1.0) * (m + 2.0);
        pow /= x * x;
    }
    sum + tail
}

#[cfg(test)]
mod tests;
