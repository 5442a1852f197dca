//! The comparison core: an input's analytic Jacobian block against the numeric one, entry by entry,
//! naming the first entry that differs, lacks a gradient or is not finite.

use super::error::{Check, GradcheckError, Location};

/// One row of an input's Jacobian block: the analytic row (`None` when the tape gives the input no
/// gradient) and the numeric row.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    pub(super) analytic: Option<Vec<f64>>,
    pub(super) numeric: Vec<f64>,
}

fn close(analytic: f64, numeric: f64, atol: f64, rtol: f64) -> bool {
    (analytic - numeric).abs() <= atol + rtol * numeric.abs()
}

/// The comparison core: checks input `input`'s block, column (input element) by column, row (output
/// element or direction) by row, and names the first bad entry through `locate(row, column)`.
pub(super) fn compare(
    check: Check,
    input: usize,
    rows: &[Row],
    atol: f64,
    rtol: f64,
    locate: &dyn Fn(usize, usize) -> Location,
) -> Result<(), GradcheckError> {
    let cols = rows.first().map_or(0, |r| r.numeric.len());
    for c in 0..cols {
        for (r, row) in rows.iter().enumerate() {
            let numeric = row.numeric[c];
            let analytic = row.analytic.as_ref().map(|a| a[c]);
            if !numeric.is_finite() || analytic.is_some_and(|a| !a.is_finite()) {
                return Err(GradcheckError::NotFinite { check, input, at: locate(r, c), analytic, numeric });
            }
            match analytic {
                None if !close(0.0, numeric, atol, rtol) => {
                    return Err(GradcheckError::MissingGradient { check, input, at: locate(r, c), numeric });
                }
                Some(analytic) if !close(analytic, numeric, atol, rtol) => {
                    return Err(GradcheckError::Mismatch {
                        check,
                        input,
                        at: locate(r, c),
                        analytic,
                        numeric,
                        atol,
                        rtol,
                    });
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::jacobian::unravel;

    fn entry(element: &[usize], output_element: &[usize]) -> Location {
        Location::Entry { element: element.to_vec(), output: 0, output_element: output_element.to_vec() }
    }

    fn row(analytic: Option<&[f64]>, numeric: &[f64]) -> Row {
        Row { analytic: analytic.map(<[f64]>::to_vec), numeric: numeric.to_vec() }
    }

    // --- the comparison core, on hand-made Jacobians ---

    #[test]
    fn compare_accepts_matching_jacobian() {
        let rows =
            [row(Some(&[1.0, 2.0]), &[1.0 + 1e-6, 2.0 - 1e-6]), row(Some(&[0.0, -3.0]), &[1e-7, -3.001])];
        assert_eq!(compare(Check::Grad, 0, &rows, 1e-5, 1e-3, &|_, _| entry(&[], &[])), Ok(()));
    }

    #[test]
    fn compare_names_the_wrong_entry_and_both_values() {
        // Input of shape [1, 3], output of shape [2]; entry (output [1], input [0, 2]) is wrong.
        let rows =
            [row(Some(&[1.0, 2.0, 3.0]), &[1.0, 2.0, 3.0]), row(Some(&[4.0, 5.0, 0.5]), &[4.0, 5.0, 0.25])];
        let locate = |r: usize, c: usize| entry(&unravel(c, &[1, 3]), &unravel(r, &[2]));
        let err = compare(Check::Grad, 1, &rows, 1e-5, 1e-3, &locate).unwrap_err();
        assert_eq!(
            err,
            GradcheckError::Mismatch {
                check: Check::Grad,
                input: 1,
                at: entry(&[0, 2], &[1]),
                analytic: 0.5,
                numeric: 0.25,
                atol: 1e-5,
                rtol: 1e-3
            }
        );
        assert_eq!(
            err.to_string(),
            "gradcheck: input 1, element [0, 2] (output element [1]): analytic 0.5 != numeric 0.25 (atol 1e-5, rtol 1e-3)"
        );
    }

    #[test]
    fn compare_scans_input_elements_before_output_elements() {
        let rows = [row(Some(&[1.0, 9.0]), &[1.0, 2.0]), row(Some(&[9.0, 1.0]), &[3.0, 1.0])];
        let locate = |r: usize, c: usize| entry(&[c], &[r]);
        let err = compare(Check::Grad, 0, &rows, 1e-5, 1e-3, &locate).unwrap_err();
        assert_eq!(err.location(), Some(&entry(&[0], &[1])));
    }

    #[test]
    fn compare_uses_atol_plus_rtol_times_numeric() {
        // |a - n| = 0.9e-3 <= 1e-5 + 1e-3 * 1 passes; 1.1e-3 fails.
        assert!(
            compare(Check::Grad, 0, &[row(Some(&[1.0009]), &[1.0])], 1e-5, 1e-3, &|_, _| entry(&[], &[]))
                .is_ok()
        );
        assert!(
            compare(Check::Grad, 0, &[row(Some(&[1.0011]), &[1.0])], 1e-5, 1e-3, &|_, _| entry(&[], &[]))
                .is_err()
        );
    }

    #[test]
    fn compare_reports_missing_gradient_with_nonzero_numeric() {
        let rows = [row(None, &[0.0, 0.0, 0.0, 1.5])];
        let err =
            compare(Check::Grad, 0, &rows, 1e-5, 1e-3, &|r, c| entry(&[c], &unravel(r, &[]))).unwrap_err();
        assert!(matches!(err, GradcheckError::MissingGradient { input: 0, numeric: 1.5, .. }));
        assert_eq!(
            err.to_string(),
            "gradcheck: input 0 gets no gradient but its numeric derivative at element [3] (output element []) is 1.5"
        );
    }

    #[test]
    fn compare_accepts_missing_gradient_with_zero_numeric() {
        let rows = [row(None, &[0.0, 1e-9, -1e-9])];
        assert_eq!(compare(Check::Grad, 0, &rows, 1e-5, 1e-3, &|_, _| entry(&[], &[])), Ok(()));
    }

    #[test]
    fn compare_reports_nan_in_either_value() {
        let locate = |_: usize, c: usize| entry(&[c], &[]);
        let err = compare(Check::Grad, 2, &[row(Some(&[1.0, f64::NAN]), &[1.0, 1.0])], 1e-5, 1e-3, &locate)
            .unwrap_err();
        assert!(matches!(err, GradcheckError::NotFinite { input: 2, .. }));
        assert_eq!(
            err.to_string(),
            "gradcheck: input 2, element [1] (output element []): analytic NaN, numeric 1: a derivative is not finite"
        );
        let err =
            compare(Check::Grad, 0, &[row(Some(&[1.0]), &[f64::INFINITY])], 1e-5, 1e-3, &locate).unwrap_err();
        assert!(matches!(err, GradcheckError::NotFinite { .. }));
        // Both NaN is a failure too.
        let err =
            compare(Check::Grad, 0, &[row(Some(&[f64::NAN]), &[f64::NAN])], 1e-5, 1e-3, &locate).unwrap_err();
        assert!(matches!(err, GradcheckError::NotFinite { .. }));
        let err = compare(Check::Grad, 0, &[row(None, &[f64::NAN])], 1e-5, 1e-3, &locate).unwrap_err();
        assert!(err.to_string().contains("analytic none, numeric NaN"));
    }
}
