//! Gradient checking: the tape's gradients against central finite differences in f64.
//!
//! [`gradcheck`] compares the analytic Jacobian of a function of tensors (one vector-Jacobian
//! product per output element, from the tape) with a numeric one (one central difference per input
//! element); [`gradgradcheck`] does the same for the gradients themselves, so second-order rules are
//! checked too. The defaults are PyTorch's: `eps` 1e-6, `atol` 1e-5, `rtol` 1e-3. Large problems
//! are checked along random directions instead (PyTorch's fast mode, JAX's `check_grads`): see
//! [`Mode`].
//!
//! ```
//! use wengert::tape::Var;
//! use wengert::tape::check::{GradcheckError, GradcheckOptions, gradcheck, gradgradcheck};
//! use wengert::tensor::Tensor;
//!
//! // A user-written loss: mean softplus of a·b.
//! fn loss<'t>(xs: &[Var<'t, f64>]) -> Var<'t, f64> {
//!     ((xs[0] * xs[1]).exp() + 1.0).ln().mean()
//! }
//!
//! let a = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]).unwrap();
//! let b = Tensor::from_vec(vec![1.5, 0.25, -0.5], &[3]).unwrap();
//! let opts = GradcheckOptions::default();
//! gradcheck(loss, &[a.clone(), b.clone()], &opts).unwrap();
//! gradgradcheck(loss, &[a.clone(), b], &opts).unwrap();
//!
//! // A function whose tape gradient is wrong: `detach` hides half of d(x²)/dx from the tape.
//! let err = gradcheck(|xs| (xs[0].detach() * xs[0]).sum(), &[a], &opts).unwrap_err();
//! assert!(matches!(err, GradcheckError::Mismatch { input: 0, .. }));
//! assert!(err.to_string().starts_with("gradcheck: input 0, element [0] (output element []): analytic 0.5"));
//! ```

mod compare;
mod error;
mod gradcheck;
mod jacobian;
#[cfg(any(test, feature = "proptest"))]
pub mod strategy;

pub use error::{Check, GradcheckError, Location};
pub use gradcheck::{gradcheck, gradgradcheck};

/// How [`gradcheck`] and [`gradgradcheck`] compare the analytic and the numeric derivatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// [`Mode::Full`] when the number of input elements times the number of output elements is at
    /// most [`Mode::AUTO_FULL_LIMIT`], else [`Mode::Fast`] with [`Mode::AUTO_DIRECTIONS`] directions.
    #[default]
    Auto,
    /// Every entry of the Jacobian: one vector-Jacobian product per output element and two
    /// evaluations of the function per input element. Errors name both elements.
    Full,
    /// `uᵀ J v` for random unit vectors `u` (over the outputs) and `v` (over one input at a time), as
    /// PyTorch's `fast_mode`: analytic `⟨vjp(u), v⟩` against numeric
    /// `uᵀ (f(x + εv) - f(x - εv)) / 2ε`, two evaluations per input and direction. The tolerances
    /// apply to `uᵀ J v` as to one Jacobian entry. (PyTorch scales `atol` by `‖u‖₁ ‖v‖₁`, the worst
    /// case over all error patterns; with thousands of elements that lets wrong gradients through,
    /// since a random `uᵀ J v` is only of order `‖J‖ / √(mn)`.)
    Fast {
        /// The number of random `(u, v)` pairs.
        directions: usize,
    },
}

impl Mode {
    /// The largest `input elements × output elements` that [`Mode::Auto`] checks in full.
    pub const AUTO_FULL_LIMIT: usize = 4096;
    /// The number of random directions of [`Mode::Auto`] above [`Mode::AUTO_FULL_LIMIT`].
    pub const AUTO_DIRECTIONS: usize = 4;
}

/// Settings of [`gradcheck`] and [`gradgradcheck`]; the default is PyTorch's.
///
/// ```
/// use wengert::tape::check::{GradcheckOptions, Mode};
/// let opts = GradcheckOptions::default().atol(1e-4).mode(Mode::Fast { directions: 8 });
/// assert_eq!((opts.eps, opts.atol, opts.rtol), (1e-6, 1e-4, 1e-3));
/// let opts = GradcheckOptions { rtol: 1e-2, ..GradcheckOptions::default() };
/// assert_eq!(opts.mode, Mode::Auto);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradcheckOptions {
    /// The step of the central differences: `(f(x + eps) - f(x - eps)) / 2 eps`.
    pub eps: f64,
    /// Absolute tolerance: an analytic `a` matches a numeric `n` when `|a - n| <= atol + rtol |n|`.
    pub atol: f64,
    /// Relative tolerance, relative to the numeric value.
    pub rtol: f64,
    /// Full Jacobian, random directions, or a choice by size.
    pub mode: Mode,
    /// Seeds the random directions of fast mode and the output seed of [`gradgradcheck`].
    pub seed: u64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions { eps: 1e-6, atol: 1e-5, rtol: 1e-3, mode: Mode::Auto, seed: 0 }
    }
}

impl GradcheckOptions {
    /// Sets the finite-difference step.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the absolute tolerance.
    pub fn atol(mut self, atol: f64) -> Self {
        self.atol = atol;
        self
    }

    /// Sets the relative tolerance.
    pub fn rtol(mut self, rtol: f64) -> Self {
        self.rtol = rtol;
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Checks the full Jacobian, whatever its size ([`Mode::Full`]).
    pub fn full(self) -> Self {
        self.mode(Mode::Full)
    }

    /// Checks `directions` random directions ([`Mode::Fast`]).
    pub fn fast(self, directions: usize) -> Self {
        self.mode(Mode::Fast { directions })
    }

    /// Sets the seed of the random directions.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    #[track_caller]
    fn validate(&self) {
        assert!(
            self.eps > 0.0 && self.eps.is_finite(),
            "gradcheck: eps must be positive and finite, got {}",
            self.eps
        );
        assert!(self.atol >= 0.0, "gradcheck: atol must be non-negative, got {}", self.atol);
        assert!(self.rtol >= 0.0, "gradcheck: rtol must be non-negative, got {}", self.rtol);
        if let Mode::Fast { directions: 0 } = self.mode {
            panic!("gradcheck: fast mode needs at least one direction");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_options_are_pytorch_defaults() {
        let o = GradcheckOptions::default();
        assert_eq!((o.eps, o.atol, o.rtol, o.mode, o.seed), (1e-6, 1e-5, 1e-3, Mode::Auto, 0));
        let o = o.eps(1e-5).atol(1e-4).rtol(1e-2).seed(7).fast(3);
        assert_eq!(
            (o.eps, o.atol, o.rtol, o.mode, o.seed),
            (1e-5, 1e-4, 1e-2, Mode::Fast { directions: 3 }, 7)
        );
        assert_eq!(o.full().mode, Mode::Full);
    }

    #[test]
    #[should_panic(expected = "fast mode needs at least one direction")]
    fn options_reject_zero_directions() {
        GradcheckOptions::default().fast(0).validate();
    }
}
