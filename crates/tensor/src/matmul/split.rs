//! How one product is run, chosen from its shape alone: one gemm call on this thread, one gemm call that
//! threads itself over the rayon pool, or the output cut into two halves of rows (or of columns), each
//! one single-threaded gemm call, the two shared between the caller and the pool.
//!
//! Measured side by side on 2 cores (the MLP of `benches/`, 784-512-512-10 at batch 128), two halves
//! lost to gemm's own threading on its large products: each half packs the whole shared operand again,
//! and packing grew from 16% to 24% of the step's time. So halves are used only between
//! [`SPLIT_MIN`] and [`POOL_MIN`] multiply-adds, products that used to run on one thread.
//!
//! The choice never looks at the pool's size, so a product is computed by the same calls on 1, 2 or 3
//! threads. Cutting the output leaves every element's sum as it was: `gemm` sums over `k` in blocks
//! whose size depends on `k` alone (`gemm_common::cache::kernel_params`) once either output dimension
//! exceeds 64, and in blocks of 512 when both are at most 64, so a cut is made only where every part
//! keeps a dimension above 64 or `k` is at most 512 (one block either way); where every part has at
//! least 4 rows and columns and more than 256 elements (never the matrix-vector or dot-product
//! kernels); and where `k > 2`. The tests check the parts against the uncut call, bit for bit.

/// A product of fewer multiply-adds (`m·n·k`, here 2¹⁷ ≈ 51³) runs on the calling thread: below it,
/// handing a half to a second core costs about what it saves.
const SPLIT_MIN: usize = 1 << 17;

/// A product of at least this many multiply-adds (2²² ≈ 161³) uses gemm's own threading, which packs
/// each operand once for both threads.
const POOL_MIN: usize = 1 << 22;

/// Parts are cut at a multiple of this many rows or columns (a whole number of SIMD registers).
const ALIGN: usize = 16;

/// Any output dimension above this takes gemm's general path, whose blocking of `k` depends on `k`
/// only; at or below it on both sides, gemm blocks `k` by 512 instead.
const GEMM_SMALL_SIDE: usize = 64;

/// gemm computes an output of at most this many elements as dot products (a kernel of its own).
const GEMM_DOT_AREA: usize = 256;

/// The way to run a product: see the module's documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Way {
    /// One gemm call on the calling thread.
    Whole,
    /// One gemm call threading itself over the rayon pool.
    Pool,
    /// Rows `..at` and `at..` of the output, each one gemm call on one thread.
    Rows(usize),
    /// Columns `..at` and `at..` of the output, likewise.
    Cols(usize),
}

/// The way to run an `m x k` times `k x n` product that may use the rayon pool.
pub(super) fn way(m: usize, n: usize, k: usize) -> Way {
    let work = m.saturating_mul(n).saturating_mul(k);
    if work < SPLIT_MIN || k <= 2 {
        return Way::Whole;
    }
    if work >= POOL_MIN {
        return Way::Pool;
    }
    // Rows first: measured as fast or faster than columns on every skinny shape tried (W2's eight).
    if let Some(at) = cut(m, n, k) {
        return Way::Rows(at);
    }
    if let Some(at) = cut(n, m, k) {
        return Way::Cols(at);
    }
    Way::Whole
}

/// Where to cut `len` (the output's rows or columns; `other` is its other dimension) into two parts
/// that each run the uncut call's arithmetic, if anywhere.
fn cut(len: usize, other: usize, k: usize) -> Option<usize> {
    let at = len.div_ceil(2).next_multiple_of(ALIGN);
    if at >= len {
        return None;
    }
    let smaller = at.min(len - at);
    // Up to 512, both of gemm's paths sum over all of `k` in one block.
    let general = |part: usize| part > GEMM_SMALL_SIDE || other > GEMM_SMALL_SIDE || k <= 512;
    let wide = smaller.min(other) >= 4 && smaller * other > GEMM_DOT_AREA;
    (wide && general(at) && general(len - at)).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_sized_products_are_cut_into_halves_of_rows_at_a_multiple_of_16() {
        assert_eq!(way(128, 40, 512), Way::Rows(64));
        assert_eq!(way(128, 10, 512), Way::Rows(64));
        assert_eq!(way(512, 30, 128), Way::Rows(256));
        assert_eq!(way(129, 60, 512), Way::Rows(80));
    }

    #[test]
    fn products_too_short_to_cut_in_rows_are_cut_in_columns() {
        assert_eq!(way(10, 512, 128), Way::Cols(256));
        assert_eq!(way(4, 4096, 64), Way::Cols(2048));
        assert_eq!(way(3, 4096, 64), Way::Whole);
    }

    #[test]
    fn small_products_and_inner_dimensions_up_to_2_run_whole_on_one_thread() {
        assert_eq!(way(50, 50, 50), Way::Whole);
        assert_eq!(way(4096, 4096, 2), Way::Whole);
        // Both sides at most 64 on a part and k above 512: gemm would block k differently for it.
        assert_eq!(way(128, 10, 1000), Way::Whole);
        assert_eq!(way(128, 10, 512), Way::Rows(64));
        // A matrix-vector product is not cut.
        assert_eq!(way(50_000, 1, 64), Way::Whole);
    }

    #[test]
    fn products_of_2_to_the_22_multiply_adds_or_more_keep_gemms_own_threading() {
        assert_eq!(way(512, 512, 512), Way::Pool);
        assert_eq!(way(1024, 1024, 1024), Way::Pool);
        assert_eq!(way(128, 1024, 1024), Way::Pool);
        assert_eq!(way(128, 512, 784), Way::Pool);
        assert_eq!(way(128, 512, 63), Way::Rows(64));
    }

    #[test]
    fn every_cut_leaves_each_part_on_gemms_general_path() {
        for len in 1..300 {
            for other in [1, 3, 4, 10, 64, 65, 200] {
                for k in [3, 512, 513] {
                    let Some(at) = cut(len, other, k) else { continue };
                    assert!(at % ALIGN == 0 && at < len, "{len} x {other} cut at {at}");
                    for part in [at, len - at] {
                        let general = part > 64 || other > 64 || k <= 512;
                        assert!(part >= 4 && part * other > 256 && general, "{len} x {other} cut at {at}");
                    }
                }
            }
        }
    }
}
