//! Room for new tensors: element counts checked against overflow, and buffers reserved without aborting,
//! so that a shape too large to hold panics with a message naming the op and the shape, never with
//! `capacity overflow`, ndarray's `Shape too large` or the allocator's abort.

use crate::error::{TensorError, fail};
use crate::float::Float;
use crate::kernel::from_vec_shaped;
use crate::shape::checked_numel;
use crate::tensor::Tensor;

/// Buffers of at least this many bytes that a kernel outside this file allocates are first reserved
/// here and let go ([`check_room`]): a failed reservation then panics instead of aborting. Below it,
/// the probe's allocation would cost more than the failure it guards against is likely.
const PROBE_BYTES: usize = 1 << 26;

/// The number of elements of `shape` when a buffer of them can be indexed: ndarray's limit on the
/// dimensions (see [`checked_numel`]) and at most `isize::MAX` bytes of `F`; `None` otherwise.
pub(crate) fn fits<F: Float>(shape: &[usize]) -> Option<usize> {
    checked_numel(shape).filter(|&n| n.checked_mul(size_of::<F>()).is_some_and(|b| b <= isize::MAX as usize))
}

/// The number of elements of `shape`, or a panic naming `op` and the shape when no buffer can hold
/// them: `zeros: shape [4294967296, 4294967296] has too many elements to index`.
#[track_caller]
pub(crate) fn numel<F: Float>(op: &'static str, shape: &[usize]) -> usize {
    match fits::<F>(shape) {
        Some(n) => n,
        None => fail(TensorError::InvalidArgument {
            op,
            reason: format!("shape {shape:?} has too many elements to index"),
        }),
    }
}

/// An empty vector with room for the elements of `shape`, or a panic naming `op` and the shape when
/// they overflow or the allocator refuses them.
#[track_caller]
pub(crate) fn buffer<F: Float>(op: &'static str, shape: &[usize]) -> Vec<F> {
    let n = numel::<F>(op, shape);
    let mut v = Vec::new();
    if v.try_reserve_exact(n).is_err() {
        refuse::<F>(op, shape, n);
    }
    v
}

/// Panics naming `op` and the shape unless `shape` fits ([`numel`]) and, for a large buffer, the
/// allocator grants it now: for kernels whose output is allocated where a refusal would abort.
#[track_caller]
pub(crate) fn check_room<F: Float>(op: &'static str, shape: &[usize]) {
    let n = numel::<F>(op, shape);
    if refused::<F>(n) {
        refuse::<F>(op, shape, n);
    }
}

/// True when `n` elements of `F` (a count that [`fits`]) take [`PROBE_BYTES`] or more and the allocator
/// refuses them now; the reservation is let go at once.
pub(crate) fn refused<F: Float>(n: usize) -> bool {
    n * size_of::<F>() >= PROBE_BYTES && Vec::<F>::new().try_reserve_exact(n).is_err()
}

#[track_caller]
fn refuse<F: Float>(op: &'static str, shape: &[usize], n: usize) -> ! {
    fail(TensorError::InvalidArgument {
        op,
        reason: format!(
            "shape {shape:?} needs {} bytes ({n} elements of {}), more than can be allocated",
            n * size_of::<F>(),
            F::DTYPE
        ),
    })
}

/// A tensor of `shape` holding `value` everywhere; panics as [`buffer`]. Checked by [`check_room`], so
/// that zeros still come from `vec!`, whose zeroed allocation skips writing fresh pages.
#[track_caller]
pub(crate) fn full<F: Float>(op: &'static str, shape: &[usize], value: F) -> Tensor<F> {
    check_room::<F>(op, shape);
    from_vec_shaped(vec![value; shape.iter().product()], shape)
}

/// A tensor of `shape` holding the elements of `items`, which yields exactly that many in row-major
/// order; panics as [`buffer`] before taking any.
#[track_caller]
pub(crate) fn collect<F: Float>(
    op: &'static str,
    shape: &[usize],
    items: impl IntoIterator<Item = F>,
) -> Tensor<F> {
    let mut v = buffer(op, shape);
    v.extend(items);
    from_vec_shaped(v, shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2⁴⁶ f64 take 2⁴⁹ bytes (512 TiB): representable, but more address space than a 47-bit
    /// user space holds, so every allocator refuses them, whatever the machine's overcommit policy.
    const HUGE: [usize; 2] = [1 << 23, 1 << 23];

    #[test]
    fn fits_counts_elements_and_refuses_what_ndarray_cannot_index() {
        assert_eq!(fits::<f32>(&[2, 3]), Some(6));
        assert_eq!(fits::<f32>(&[]), Some(1));
        assert_eq!(fits::<f32>(&[0, 5]), Some(0));
        assert_eq!(fits::<f32>(&[usize::MAX, 2]), None);
        assert_eq!(fits::<f32>(&[0, usize::MAX, 2]), None, "ndarray refuses the non-zero product");
        assert_eq!(fits::<f32>(&[1 << 61]), None, "2^63 bytes");
        assert_eq!(fits::<f32>(&[1 << 60]), Some(1 << 60));
    }

    #[test]
    #[should_panic(expected = "zeros: shape [18446744073709551615, 2] has too many elements to index")]
    fn an_overflowing_count_names_the_op_and_the_shape() {
        full::<f32>("zeros", &[usize::MAX, 2], 0.0);
    }

    #[test]
    #[should_panic(
        expected = "full: shape [8388608, 8388608] needs 562949953421312 bytes (70368744177664 elements of f64), more than can be allocated"
    )]
    fn an_unallocatable_buffer_names_the_op_and_the_shape() {
        full::<f64>("full", &HUGE, 1.0);
    }

    #[test]
    #[should_panic(expected = "conv2d: shape [8388608, 8388608] needs 562949953421312 bytes")]
    fn check_room_refuses_an_unallocatable_output() {
        check_room::<f64>("conv2d", &HUGE);
    }

    #[test]
    fn small_buffers_are_filled_and_collected() {
        assert_eq!(full::<f32>("full", &[2, 2], 3.0).to_vec(), vec![3.0; 4]);
        assert_eq!(collect::<f64>("eye", &[3], [1.0, 2.0, 3.0]).to_vec(), vec![1.0, 2.0, 3.0]);
        check_room::<f32>("conv2d", &[1 << 20, 64]);
    }
}
