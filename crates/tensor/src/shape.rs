//! Shape arithmetic: NumPy broadcasting, axis checks and strides, public for callers who validate first.

use crate::error::TensorError;

/// Shape checkers and helpers, usable before calling an op that would panic.
///
/// ```
/// use wengert::tensor::Shape;
/// assert_eq!(Shape::broadcast(&[3, 1], &[1, 4]).unwrap(), vec![3, 4]);
/// assert!(Shape::broadcast(&[3], &[4]).is_err());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Shape;

impl Shape {
    /// The NumPy broadcast of two shapes: dimensions are matched from the right, and a size of 1
    /// stretches to the other size.
    ///
    /// # Errors
    ///
    /// [`TensorError::Broadcast`] when a pair of dimensions differ and neither is 1.
    pub fn broadcast(a: &[usize], b: &[usize]) -> Result<Vec<usize>, TensorError> {
        broadcast_shapes("broadcast", a, b)
    }

    /// Number of elements of a shape (1 for the scalar shape `[]`).
    pub fn numel(shape: &[usize]) -> usize {
        shape.iter().product()
    }

    /// Checks that `axis` is a valid axis of a tensor with `ndim` dimensions.
    ///
    /// # Errors
    ///
    /// [`TensorError::InvalidArgument`] naming `op`, the axis and the shape.
    pub fn check_axis(op: &'static str, axis: usize, shape: &[usize]) -> Result<(), TensorError> {
        if axis < shape.len() {
            Ok(())
        } else {
            Err(TensorError::InvalidArgument {
                op,
                reason: format!("axis {axis} is out of range for shape {shape:?} ({} dims)", shape.len()),
            })
        }
    }

    /// Checks a list of axes: each in range and none repeated; returns them sorted.
    ///
    /// # Errors
    ///
    /// [`TensorError::InvalidArgument`] naming `op`, the offending axis and the shape.
    pub fn check_axes(op: &'static str, axes: &[usize], shape: &[usize]) -> Result<Vec<usize>, TensorError> {
        let mut sorted = axes.to_vec();
        sorted.sort_unstable();
        for (i, &axis) in sorted.iter().enumerate() {
            Self::check_axis(op, axis, shape)?;
            if i > 0 && sorted[i - 1] == axis {
                return Err(TensorError::InvalidArgument {
                    op,
                    reason: format!("axis {axis} is repeated in {axes:?} for shape {shape:?}"),
                });
            }
        }
        Ok(sorted)
    }
}

/// Broadcast of two shapes, with `op` named in the error.
///
/// # Errors
///
/// [`TensorError::Broadcast`] when the shapes are incompatible.
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>, TensorError> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i < n - a.len() { 1 } else { a[i - (n - a.len())] };
        let db = if i < n - b.len() { 1 } else { b[i - (n - b.len())] };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(TensorError::Broadcast { op, a: a.to_vec(), b: b.to_vec() }),
        };
    }
    Ok(out)
}

/// The number of elements of `shape`, or `None` when ndarray could not index an array of it: the
/// product of its non-zero dimensions must fit in `isize`, so `[0, usize::MAX, 2]` is refused though it
/// holds nothing.
pub(crate) fn checked_numel(shape: &[usize]) -> Option<usize> {
    let nonzero = shape.iter().filter(|&&d| d != 0).try_fold(1usize, |n, &d| n.checked_mul(d))?;
    if nonzero > isize::MAX as usize {
        return None;
    }
    Some(if shape.contains(&0) { 0 } else { nonzero })
}

/// The shape after reducing `axes` (sorted, checked) of `shape`, keeping them as size 1 or not.
pub(crate) fn reduced_shape(shape: &[usize], axes: &[usize], keepdim: bool) -> Vec<usize> {
    let mut out = Vec::with_capacity(shape.len());
    for (i, &d) in shape.iter().enumerate() {
        if axes.contains(&i) {
            if keepdim {
                out.push(1);
            }
        } else {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_matches_numpy_rules() {
        assert_eq!(Shape::broadcast(&[2, 1, 3], &[4, 1]).unwrap(), vec![2, 4, 3]);
        assert_eq!(Shape::broadcast(&[], &[5]).unwrap(), vec![5]);
        assert_eq!(Shape::broadcast(&[0], &[1]).unwrap(), vec![0]);
    }

    #[test]
    fn broadcast_error_names_the_shapes() {
        let err = Shape::broadcast(&[2, 3], &[4]).unwrap_err();
        assert_eq!(err.to_string(), "broadcast: shapes [2, 3] and [4] do not broadcast");
    }

    #[test]
    fn check_axes_rejects_repeats_and_out_of_range() {
        assert_eq!(Shape::check_axes("sum", &[1, 0], &[2, 3]).unwrap(), vec![0, 1]);
        let err = Shape::check_axes("sum", &[2], &[2, 3]).unwrap_err();
        assert_eq!(err.to_string(), "sum: axis 2 is out of range for shape [2, 3] (2 dims)");
        let err = Shape::check_axes("sum", &[1, 1], &[2, 3]).unwrap_err();
        assert!(err.to_string().contains("repeated"));
    }

    #[test]
    fn reduced_shape_keeps_or_drops_axes() {
        assert_eq!(reduced_shape(&[2, 3, 4], &[1], true), vec![2, 1, 4]);
        assert_eq!(reduced_shape(&[2, 3, 4], &[0, 2], false), vec![3]);
    }
}
