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
}

/// Shorthand for `F::from_f64(x)`, used by kernels for literal constants.
#[inline]
pub(crate) fn lit<F: Float>(x: f64) -> F {
    F::from_f64(x)
}
