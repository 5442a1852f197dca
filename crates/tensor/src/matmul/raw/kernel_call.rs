//! `c = a·b` (or `c += a·b`) straight into the f32 and f64 kernels of `gemm-f32` and `gemm-f64`.
//!
//! The `gemm` crate's own entry point does the same, but depending on it builds its complex and f16
//! kernels too, which Wengert never calls and which cost more compile time than the f32 and f64 ones.
//! [`gemm`] keeps its signature and its arithmetic: it normalizes the strides the same way (the
//! destination made column-preferring, negative strides flipped) and calls the same kernel function, so
//! the products are bit for bit those of `gemm::gemm`.

use std::any::Any;

use gemm_common::Parallelism;

use crate::float::Float;

/// `dst := alpha·dst + beta·lhs·rhs` for an `m x k` times `k x n` product, `gemm::gemm`'s signature
/// and meaning: every operand is given by its pointer to element `[0, 0]` and its column and row strides
/// (`_cs`, `_rs`), in elements; `dst` is read only when `read_dst` is set. The `conj_*` flags are for
/// complex elements and change nothing for real ones.
///
/// # Safety
///
/// As for `gemm::gemm`: every offset `i·rs + j·cs` (i below the rows, j below the columns) of each
/// operand must be an element of its allocation; the destination's elements must be distinct and not
/// overlap the operands; it may be uninitialized when `read_dst` is not set, and all `m·n` of its
/// elements are written.
#[allow(unsafe_code, clippy::too_many_arguments)]
pub(in crate::matmul) unsafe fn gemm<F: Float>(
    m: usize,
    n: usize,
    k: usize,
    mut dst: *mut F,
    dst_cs: isize,
    dst_rs: isize,
    read_dst: bool,
    lhs: *const F,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const F,
    rhs_cs: isize,
    rhs_rs: isize,
    alpha: F,
    beta: F,
    _conj_dst: bool,
    _conj_lhs: bool,
    _conj_rhs: bool,
    parallelism: Parallelism,
) {
    // The kernels prefer a column-major destination: a row-major one is computed as the transposed
    // product, cᵀ = bᵀ·aᵀ.
    let transpose = dst_cs.abs() < dst_rs.abs();
    let (m, n, mut dst_cs, mut dst_rs, mut lhs, mut lhs_cs, mut lhs_rs, mut rhs, mut rhs_cs, mut rhs_rs) =
        if transpose {
            (n, m, dst_rs, dst_cs, rhs, rhs_rs, rhs_cs, lhs, lhs_rs, lhs_cs)
        } else {
            (m, n, dst_cs, dst_rs, lhs, lhs_cs, lhs_rs, rhs, rhs_cs, rhs_rs)
        };
    // Negative strides are walked from the other end: (len - 1)·stride is the offset of the last element
    // along that axis, inside the allocation by the caller's contract.
    if dst_rs < 0 && m > 0 {
        dst = dst.wrapping_offset((m - 1) as isize * dst_rs);
        dst_rs = -dst_rs;
        lhs = lhs.wrapping_offset((m - 1) as isize * lhs_rs);
        lhs_rs = -lhs_rs;
    }
    if dst_cs < 0 && n > 0 {
        dst = dst.wrapping_offset((n - 1) as isize * dst_cs);
        dst_cs = -dst_cs;
        rhs = rhs.wrapping_offset((n - 1) as isize * rhs_cs);
        rhs_cs = -rhs_cs;
    }
    if lhs_cs < 0 && k > 0 {
        lhs = lhs.wrapping_offset((k - 1) as isize * lhs_cs);
        lhs_cs = -lhs_cs;
        rhs = rhs.wrapping_offset((k - 1) as isize * rhs_rs);
        rhs_rs = -rhs_rs;
    }
    // `F` is f32 or f64 (the trait is sealed), so exactly one branch is taken; the pointer casts change
    // only the static type to the one `F` is.
    let (alpha, beta): (&dyn Any, &dyn Any) = (&alpha, &beta);
    // SAFETY: the caller's contract above is the kernels' contract, with the strides normalized as
    // `gemm::gemm` normalizes them before it calls the same functions.
    unsafe {
        if let (Some(&alpha), Some(&beta)) = (alpha.downcast_ref::<f32>(), beta.downcast_ref::<f32>()) {
            gemm_f32::gemm::f32::get_gemm_fn()(
                m,
                n,
                k,
                dst.cast::<f32>(),
                dst_cs,
                dst_rs,
                read_dst,
                lhs.cast::<f32>(),
                lhs_cs,
                lhs_rs,
                rhs.cast::<f32>(),
                rhs_cs,
                rhs_rs,
                alpha,
                beta,
                false,
                false,
                false,
                parallelism,
            );
        } else if let (Some(&alpha), Some(&beta)) = (alpha.downcast_ref::<f64>(), beta.downcast_ref::<f64>())
        {
            gemm_f64::gemm::f64::get_gemm_fn()(
                m,
                n,
                k,
                dst.cast::<f64>(),
                dst_cs,
                dst_rs,
                read_dst,
                lhs.cast::<f64>(),
                lhs_cs,
                lhs_rs,
                rhs.cast::<f64>(),
                rhs_cs,
                rhs_rs,
                alpha,
                beta,
                false,
                false,
                false,
                parallelism,
            );
        } else {
            unreachable!("gemm: Float is sealed to f32 and f64");
        }
    }
}
