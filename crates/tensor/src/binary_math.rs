//! Broadcasting binary functions beyond arithmetic, with PyTorch's conventions: `xlogy`, `atan2`,
//! `hypot`, and the two remainders, `fmod` (sign of the dividend, C's `fmod`) and `remainder`
//! (sign of the divisor, Python's `%`).

use crate::float::Float;
use crate::kernel::{Cost, zip_cost};
use crate::tensor::Tensor;

impl<F: Float> Tensor<F> {
    /// `x · ln y`, and 0 where `x = 0` (even where `y` is 0 or infinite); NaN where `y` is NaN. As
    /// PyTorch's `xlogy`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![0.0, 2.0, 0.0], &[3]).unwrap();
    /// let y = Tensor::from_vec(vec![0.0, 1.0, f64::NAN], &[3]).unwrap();
    /// let z = x.xlogy(&y).to_vec();
    /// assert_eq!(z[..2], [0.0, 0.0]);
    /// assert!(z[2].is_nan());
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast: `xlogy: shapes [..] and [..] do not broadcast`.
    #[track_caller]
    pub fn xlogy(&self, other: &Self) -> Self {
        zip_cost(Cost::Costly, "xlogy", self, other, xlogy)
    }

    /// The angle of the point `(other, self)`, `atan2(self, other)` in `[-π, π]`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap();
    /// let x = Tensor::from_vec(vec![-1.0], &[1]).unwrap();
    /// assert_eq!(y.atan2(&x).to_vec(), vec![3.0 * std::f64::consts::FRAC_PI_4]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast: `atan2: shapes [..] and [..] do not broadcast`.
    #[track_caller]
    pub fn atan2(&self, other: &Self) -> Self {
        zip_cost(Cost::Costly, "atan2", self, other, |a, b| a.atan2(b))
    }

    /// `√(a² + b²)` without overflow or underflow in the squares.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f64>::from_vec(vec![3.0, 3e300], &[2]).unwrap();
    /// let b = Tensor::from_vec(vec![4.0, 4e300], &[2]).unwrap();
    /// assert_eq!(a.hypot(&b).to_vec(), vec![5.0, 5e300]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast: `hypot: shapes [..] and [..] do not broadcast`.
    #[track_caller]
    pub fn hypot(&self, other: &Self) -> Self {
        zip_cost(Cost::Costly, "hypot", self, other, |a, b| a.hypot(b))
    }

    /// The remainder of `self / other` rounded toward zero, `a - trunc(a / b) · b`, with the sign
    /// of `a` (C's `fmod`, PyTorch's `fmod`); NaN where `b = 0`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f64>::from_vec(vec![-3.0, 3.0], &[2]).unwrap();
    /// assert_eq!(a.fmod(&Tensor::scalar(2.0)).to_vec(), vec![-1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast: `fmod: shapes [..] and [..] do not broadcast`.
    #[track_caller]
    pub fn fmod(&self, other: &Self) -> Self {
        zip_cost(Cost::Costly, "fmod", self, other, |a, b| a % b)
    }

    /// The remainder of `self / other` rounded toward -∞, `a - floor(a / b) · b`, with the sign of
    /// `b` (Python's `%`, PyTorch's `remainder`); NaN where `b = 0`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f64>::from_vec(vec![-3.0, 3.0], &[2]).unwrap();
    /// assert_eq!(a.remainder(&Tensor::scalar(2.0)).to_vec(), vec![1.0, 1.0]);
    /// assert_eq!(a.remainder(&Tensor::scalar(-2.0)).to_vec(), vec![-1.0, -1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast: `remainder: shapes [..] and [..] do not broadcast`.
    #[track_caller]
    pub fn remainder(&self, other: &Self) -> Self {
        zip_cost(Cost::Costly, "remainder", self, other, remainder)
    }
}

fn xlogy<F: Float>(x: F, y: F) -> F {
    if y.is_nan() {
        y
    } else if x == F::zero() {
        F::zero()
    } else {
        x * y.ln()
    }
}

/// PyTorch's `remainder`: `fmod`, moved by one `b` where its sign differs from `b`'s.
fn remainder<F: Float>(a: F, b: F) -> F {
    let m = a % b;
    if m != F::zero() && (m < F::zero()) != (b < F::zero()) { m + b } else { m }
}

#[cfg(test)]
mod tests {
    use crate::tensor::Tensor;

    fn t(v: &[f64]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
    }

    #[test]
    fn xlogy_is_zero_where_x_is_zero_as_in_pytorch() {
        let y = t(&[0.0, f64::INFINITY, 2.0, -1.0]);
        assert_eq!(t(&[0.0]).xlogy(&y).to_vec(), vec![0.0; 4]);
        let z = t(&[3.0]).xlogy(&y).to_vec();
        assert_eq!(z[..3], [f64::NEG_INFINITY, f64::INFINITY, 3.0 * 2f64.ln()]);
        assert!(z[3].is_nan());
    }

    #[test]
    fn fmod_and_remainder_take_the_signs_pytorch_gives() {
        let a = t(&[-3.5, -3.5, 3.5, 3.5, 4.0, 0.0]);
        let b = t(&[2.0, -2.0, 2.0, -2.0, 2.0, -1.0]);
        assert_eq!(a.fmod(&b).to_vec(), vec![-1.5, -1.5, 1.5, 1.5, 0.0, 0.0]);
        assert_eq!(a.remainder(&b).to_vec(), vec![0.5, -1.5, 1.5, -0.5, 0.0, 0.0]);
        assert!(t(&[1.0]).fmod(&t(&[0.0])).to_vec()[0].is_nan());
        assert!(t(&[1.0]).remainder(&t(&[0.0])).to_vec()[0].is_nan());
    }

    #[test]
    fn atan2_and_hypot_broadcast() {
        let y = t(&[0.0, 1.0, -1.0]);
        let x = Tensor::from_vec(vec![1.0, -1.0], &[2, 1]).unwrap();
        let a = y.atan2(&x);
        assert_eq!(a.shape(), &[2, 3]);
        let pi = std::f64::consts::PI;
        assert_eq!(a.to_vec(), vec![0.0, pi / 4.0, -pi / 4.0, pi, 3.0 * pi / 4.0, -3.0 * pi / 4.0]);
        assert_eq!(y.hypot(&x).to_vec(), vec![1.0, 2f64.sqrt(), 2f64.sqrt(), 1.0, 2f64.sqrt(), 2f64.sqrt()]);
    }

    #[test]
    #[should_panic(expected = "fmod: shapes [2] and [3] do not broadcast")]
    fn fmod_rejects_shapes_that_do_not_broadcast() {
        t(&[1.0, 2.0]).fmod(&t(&[1.0, 2.0, 3.0]));
    }
}
