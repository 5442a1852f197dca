//! `GradcheckError`: which input, which element, the analytic and the numeric value.

use std::fmt;

/// Which check failed: first derivatives ([`gradcheck`](super::gradcheck)) or second
/// ([`gradgradcheck`](super::gradgradcheck)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// First derivatives of the function.
    Grad,
    /// Derivatives of the function's gradients.
    GradGrad,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Check::Grad => "gradcheck",
            Check::GradGrad => "gradgradcheck",
        })
    }
}

/// Where a derivative was compared.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// One entry of the full Jacobian: the derivative of `output_element` of output `output` with
    /// respect to `element` of the input. [`gradcheck`](super::gradcheck) has one output (0);
    /// for [`gradgradcheck`](super::gradgradcheck) output `k` is the gradient of input `k`.
    Entry {
        /// The element of the input, a multi-index in the input's shape.
        element: Vec<usize>,
        /// Which output.
        output: usize,
        /// The element of the output, a multi-index in the output's shape.
        output_element: Vec<usize>,
    },
    /// Random direction `index` of fast mode: the values compared are `uᵀ J v`.
    Direction {
        /// The direction's number, from 0.
        index: usize,
    },
}

impl Location {
    fn describe(&self, check: Check) -> String {
        match (self, check) {
            (Location::Entry { element, output_element, .. }, Check::Grad) => {
                format!("element {element:?} (output element {output_element:?})")
            }
            (Location::Entry { element, output, output_element }, Check::GradGrad) => {
                format!("element {element:?} (element {output_element:?} of the gradient of input {output})")
            }
            (Location::Direction { index }, _) => format!("random direction {index} (uᵀ J v)"),
        }
    }
}

/// A gradient check that failed. `Display` names the input, the element, the analytic and the
/// numeric value:
///
/// ```text
/// gradcheck: input 1, element [0, 2] (output element [1]): analytic 0.5 != numeric 0.25 (atol 1e-5, rtol 1e-3)
/// gradcheck: input 0 gets no gradient but its numeric derivative at element [3] (output element []) is 1.5
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GradcheckError {
    /// The analytic and the numeric derivative differ: `|analytic - numeric| > atol + rtol |numeric|`.
    #[error(
        "{check}: input {input}, {}: analytic {analytic} != numeric {numeric} (atol {atol:e}, rtol {rtol:e})",
        .at.describe(*.check)
    )]
    Mismatch {
        /// First or second derivatives.
        check: Check,
        /// The index of the input in the slice of inputs.
        input: usize,
        /// Where in the Jacobian.
        at: Location,
        /// The tape's value.
        analytic: f64,
        /// The finite-difference value.
        numeric: f64,
        /// The absolute tolerance used.
        atol: f64,
        /// The relative tolerance used.
        rtol: f64,
    },
    /// The input gets no gradient from the tape (it does not reach the output, or only through
    /// `detach` or a constant), yet its numeric derivative is not zero.
    #[error("{check}: input {input} gets no gradient but its numeric derivative {} is {numeric}", place(.at, *.check))]
    MissingGradient {
        /// First or second derivatives.
        check: Check,
        /// The index of the input.
        input: usize,
        /// Where the numeric derivative is not zero.
        at: Location,
        /// The finite-difference value.
        numeric: f64,
    },
    /// An analytic or numeric derivative is NaN or infinite.
    #[error(
        "{check}: input {input}, {}: analytic {}, numeric {numeric}: a derivative is not finite",
        .at.describe(*.check),
        optional(*.analytic)
    )]
    NotFinite {
        /// First or second derivatives.
        check: Check,
        /// The index of the input.
        input: usize,
        /// Where in the Jacobian.
        at: Location,
        /// The tape's value; `None` when the input gets no gradient.
        analytic: Option<f64>,
        /// The finite-difference value.
        numeric: f64,
    },
    /// The tape's gradient of an input has another shape than the input (a bug in a backward rule).
    #[error(
        "{check}: the analytic gradient of input {input} has shape {got:?} but the input has shape {expected:?}"
    )]
    GradientShape {
        /// First or second derivatives.
        check: Check,
        /// The index of the input.
        input: usize,
        /// The input's shape.
        expected: Vec<usize>,
        /// The gradient's shape.
        got: Vec<usize>,
    },
}

impl GradcheckError {
    /// The index of the input the error is about.
    pub fn input(&self) -> usize {
        match self {
            GradcheckError::Mismatch { input, .. }
            | GradcheckError::MissingGradient { input, .. }
            | GradcheckError::NotFinite { input, .. }
            | GradcheckError::GradientShape { input, .. } => *input,
        }
    }

    /// Which check failed.
    pub fn check(&self) -> Check {
        match self {
            GradcheckError::Mismatch { check, .. }
            | GradcheckError::MissingGradient { check, .. }
            | GradcheckError::NotFinite { check, .. }
            | GradcheckError::GradientShape { check, .. } => *check,
        }
    }

    /// Where in the Jacobian, when the error is about one entry or direction.
    pub fn location(&self) -> Option<&Location> {
        match self {
            GradcheckError::Mismatch { at, .. }
            | GradcheckError::MissingGradient { at, .. }
            | GradcheckError::NotFinite { at, .. } => Some(at),
            GradcheckError::GradientShape { .. } => None,
        }
    }
}

/// `at`, with the word for how the numeric derivative was taken there.
fn place(at: &Location, check: Check) -> String {
    match at {
        Location::Entry { .. } => format!("at {}", at.describe(check)),
        Location::Direction { .. } => format!("along {}", at.describe(check)),
    }
}

/// The analytic value of a [`GradcheckError::NotFinite`], or `none`.
fn optional(analytic: Option<f64>) -> String {
    analytic.map_or_else(|| "none".to_string(), |a| a.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_name_second_order_and_directions() {
        let err = GradcheckError::Mismatch {
            check: Check::GradGrad,
            input: 0,
            at: Location::Entry { element: vec![1], output: 1, output_element: vec![0, 2] },
            analytic: 2.0,
            numeric: 4.0,
            atol: 1e-5,
            rtol: 1e-3,
        };
        assert_eq!(
            err.to_string(),
            "gradgradcheck: input 0, element [1] (element [0, 2] of the gradient of input 1): analytic 2 != numeric 4 (atol 1e-5, rtol 1e-3)"
        );
        let err = GradcheckError::MissingGradient {
            check: Check::Grad,
            input: 3,
            at: Location::Direction { index: 2 },
            numeric: 0.5,
        };
        assert_eq!(
            err.to_string(),
            "gradcheck: input 3 gets no gradient but its numeric derivative along random direction 2 (uᵀ J v) is 0.5"
        );
        let err = GradcheckError::GradientShape {
            check: Check::Grad,
            input: 0,
            expected: vec![2, 3],
            got: vec![3],
        };
        assert_eq!(
            err.to_string(),
            "gradcheck: the analytic gradient of input 0 has shape [3] but the input has shape [2, 3]"
        );
        assert_eq!((err.input(), err.check(), err.location()), (0, Check::Grad, None));
    }
}
