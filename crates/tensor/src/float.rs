//! The element type: a sealed `Float` trait implemented for `f32` and `f64`.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use ndarray::{LinalgScalar, ScalarOperand};
use serde::Serialize;
use serde::de::DeserializeOwned;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type of a [`Tensor`](crate::Tensor): `f32` or `f64`.
///
/// The trait is sealed: Wengert's kernels are written and tested for exactly these two types.
/// `f32` is the default everywhere; `f64` exists so gradients can be checked tightly.
pub trait Float:
    num_traits::Float
    + num_traits::FloatConst
    + LinalgScalar
    + ScalarOperand
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Serialize
    + DeserializeOwned
    + sealed::Sealed
    + 'static
{
    /// The name of the type, as checkpoints and messages spell it: `"f32"` or `"f64"`.
    const DTYPE: &'static str;

    /// Converts from `f64`, rounding to nearest where `Self` is narrower.
    fn from_f64(x: f64) -> Self;

    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;

    /// Rounds to the nearest integer, ties to even (as `torch.round` and NumPy do).
    fn round_half_even(self) -> Self;

    /// The hyperbolic tangent as the tensor kernels compute it: `f64::tanh` for `f64`; for `f32` a
    /// clamped 13/6 rational approximation (the one Eigen and XLA use on CPU), evaluated in f64, within 2 ulp
    /// of the correctly rounded value, branch-free so that loops over it vectorise.
    fn tanh_kernel(self) -> Self;

    /// Converts from an index or count.
    fn from_usize(n: usize) -> Self {
        Self::from_f64(n as f64)
    }
}

impl Float for f32 {
    const DTYPE: &'static str = "f32";
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn round_half_even(self) -> Self {
        self.round_ties_even()
    }
    #[inline]
    fn tanh_kernel(self) -> Self {
        tanh_f32(self)
    }
}

impl Float for f64 {
    const DTYPE: &'static str = "f64";
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn round_half_even(self) -> Self {
        self.round_ties_even()
    }
    #[inline]
    fn tanh_kernel(self) -> Self {
        self.tanh()
    }
}

/// Shorthand for `F::from_f64(x)`, used by kernels for literal constants.
#[inline]
pub(crate) fn lit<F: Float>(x: f64) -> F {
    F::from_f64(x)
}

/// tanh(x) ≈ x·p(x²)/q(x²) on x clamped to ±9 (beyond, f32's tanh is ±1), with the minimax
/// coefficients of Eigen's `generic_fast_tanh_float`; the result is clamped to ±1.
#[inline]
fn tanh_f32(x: f32) -> f32 {
    const ALPHA: [f64; 7] = [
        4.893_524_558_917_86e-3,
        6.372_619_288_754_36e-4,
        1.485_722_357_179_79e-5,
        5.122_297_090_371_14e-8,
        -8.604_671_522_137_35e-11,
        2.000_187_904_824_77e-13,
        -2.760_768_477_423_55e-16,
    ];
    const BETA: [f64; 4] =
        [4.893_525_185_543_85e-3, 2.268_434_632_439e-3, 1.185_347_056_866_54e-4, 1.198_258_394_667_02e-6];
    // In f64 the rounding of the evaluation stays far below f32's ulp; only the fit's error remains.
    let x = f64::from(x.clamp(-9.0, 9.0));
    let x2 = x * x;
    let mut p = ALPHA[6];
    for &a in ALPHA[..6].iter().rev() {
        p = p * x2 + a;
    }
    let mut q = BETA[3];
    for &b in BETA[..3].iter().rev() {
        q = q * x2 + b;
    }
    ((x * p / q) as f32).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between two finite f32 of the same sign or zero.
    fn ulps(a: f32, b: f32) -> u32 {
        let key = |v: f32| {
            let bits = v.to_bits() as i32;
            if bits < 0 { i32::MIN - bits } else { bits }
        };
        key(a).abs_diff(key(b))
    }

    #[test]
    fn f32_tanh_is_close_to_the_correctly_rounded_value() {
        // Worst distance in ulp and in absolute terms, in |x| < 1, < 4 and everywhere.
        let mut worst = [(0u32, 0.0f32); 3];
        let mut x = -12.0f32;
        while x < 12.0 {
            let (y, exact) = (x.tanh_kernel(), (x as f64).tanh() as f32);
            for (k, lim) in [1.0, 4.0, f32::INFINITY].into_iter().enumerate() {
                if x.abs() < lim {
                    worst[k].0 = worst[k].0.max(ulps(y, exact));
                    worst[k].1 = worst[k].1.max((y - exact).abs());
                }
            }
            assert!(y.abs() <= 1.0, "|tanh({x})| = {} > 1", y.abs());
            x += 1.0 / 4096.0;
        }
        eprintln!("tanh_kernel worst (ulp, abs) in |x|<1, <4, all: {worst:?}");
        assert!(worst[2].0 <= 2 && worst[2].1 <= 6e-8, "{worst:?}");
        for x in [1e-30f32, 1e-7, 1e-4, 0.0, -0.0] {
            assert!(ulps(x.tanh_kernel(), x) <= 2, "tanh({x}) = {}", x.tanh_kernel());
        }
        assert_eq!((9.5f32.tanh_kernel(), f32::MAX.tanh_kernel()), (1.0, 1.0));
        assert_eq!(f32::INFINITY.tanh_kernel(), 1.0);
        assert_eq!(f32::NEG_INFINITY.tanh_kernel(), -1.0);
        assert!(f32::NAN.tanh_kernel().is_nan());
    }
}
