//! The call into `gemm::gemm`, the only `unsafe` code of Wengert's kernels, and [`fresh_blocks`], a
//! matrix built from products written into memory that was never zeroed.

use std::mem::MaybeUninit;

use gemm_common::Parallelism;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};

use crate::float::Float;
use crate::share::share;

use super::split::{self, Way};

mod kernel_call;

/// Where [`gemm_call`] writes its product.
pub(super) enum Dst<'a, F> {
    /// Into an initialized matrix: overwriting it, or adding to it when the flag is set.
    Into(ArrayViewMut2<'a, F>, bool),
    /// Into a matrix of uninitialized elements, every one of which the call writes.
    Uninit(ArrayViewMut2<'a, MaybeUninit<F>>),
    /// Into a fresh row-major matrix, allocated without zeroing (gemm writes every element) and returned.
    Fresh,
}

/// Whether a product may use the rayon pool ([`Threads::Pool`], in the way [`split::way`] picks from
/// its shape) or runs as one gemm call on the calling thread ([`Threads::One`], for products that are
/// themselves items of a parallel loop: never nested threading).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Threads {
    One,
    Pool,
}

/// `a·b` into `dst`, run the way [`split::way`] picks for its shape when `threads` is
/// [`Threads::Pool`]; returns the matrix made for [`Dst::Fresh`], else `None`. Every element of an
/// [`Dst::Uninit`] destination is written when it returns.
#[allow(unsafe_code)]
pub(super) fn gemm_call<F: Float>(
    a: ArrayView2<'_, F>,
    b: ArrayView2<'_, F>,
    dst: Dst<'_, F>,
    threads: Threads,
) -> Option<Array2<F>> {
    let ((m, k), (kb, n)) = (a.dim(), b.dim());
    assert_eq!(k, kb, "gemm_call: {m}x{k} times {kb}x{n}");
    let way = match threads {
        Threads::One => Way::Whole,
        Threads::Pool => split::way(m, n, k),
    };
    let out = match dst {
        Dst::Into(c, accumulate) => Out::Init(c, accumulate),
        Dst::Uninit(c) => Out::Uninit(c),
        Dst::Fresh if k == 0 || m == 0 || n == 0 => return Some(Array2::zeros((m, n))),
        Dst::Fresh => {
            let mut fresh = Array2::<F>::uninit((m, n));
            run(a, b, Out::Uninit(fresh.view_mut()), way);
            // SAFETY: `run` wrote every element of the uninitialized destination: each part of it is
            // written whole by one `gemm_once` call, and the parts of a `Way` cover the matrix.
            return Some(unsafe { fresh.assume_init() });
        }
    };
    assert_eq!(out.dim(), (m, n), "gemm_call: {m}x{k} times {kb}x{n} into {:?}", out.dim());
    run(a, b, out, way);
    None
}

/// A destination of [`gemm_once`]: [`Dst`] without the fresh matrix, which [`gemm_call`] makes.
enum Out<'a, F> {
    /// Initialized: overwritten, or added to when the flag is set.
    Init(ArrayViewMut2<'a, F>, bool),
    /// Uninitialized: every element is written.
    Uninit(ArrayViewMut2<'a, MaybeUninit<F>>),
}

impl<'a, F> Out<'a, F> {
    fn dim(&self) -> (usize, usize) {
        match self {
            Out::Init(c, _) => c.dim(),
            Out::Uninit(c) => c.dim(),
        }
    }

    /// The parts before and after index `at` of `axis`.
    fn split_at(self, axis: Axis, at: usize) -> (Self, Self) {
        match self {
            Out::Init(c, accumulate) => {
                let (c0, c1) = c.split_at(axis, at);
                (Out::Init(c0, accumulate), Out::Init(c1, accumulate))
            }
            Out::Uninit(c) => {
                let (c0, c1) = c.split_at(axis, at);
                (Out::Uninit(c0), Out::Uninit(c1))
            }
        }
    }
}

/// `a·b` into `out` the way `way` says: whole, or as two parts of the output's rows or columns, each
/// one single-threaded gemm call, shared between the calling thread and the pool.
fn run<F: Float>(a: ArrayView2<'_, F>, b: ArrayView2<'_, F>, out: Out<'_, F>, way: Way) {
    let parts = match way {
        Way::Whole => return gemm_once(a, b, out, Parallelism::None),
        Way::Pool => return gemm_once(a, b, out, Parallelism::Rayon(0)),
        Way::Rows(at) => {
            let ((a0, a1), (o0, o1)) = (a.split_at(Axis(0), at), out.split_at(Axis(0), at));
            [(a0, b, o0), (a1, b, o1)]
        }
        Way::Cols(at) => {
            let ((b0, b1), (o0, o1)) = (b.split_at(Axis(1), at), out.split_at(Axis(1), at));
            [(a, b0, o0), (a, b1, o1)]
        }
    };
    share(true, parts.into_iter(), || (), |(x, y, o), _| gemm_once(x, y, o, Parallelism::None));
}

/// `a·b` through one `gemm::gemm` call into `out`, of shapes checked by the caller.
#[allow(unsafe_code)]
fn gemm_once<F: Float>(
    a: ArrayView2<'_, F>,
    b: ArrayView2<'_, F>,
    out: Out<'_, F>,
    parallelism: Parallelism,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    debug_assert!(b.nrows() == k && out.dim() == (m, n), "gemm_once: shapes checked by gemm_call");
    let (c_ptr, c_rs, c_cs, accumulate) = match out {
        Out::Init(mut c, accumulate) => {
            if k == 0 {
                // Sums over nothing: zeros, added to nothing when accumulating.
                if !accumulate {
                    c.fill(F::zero());
                }
                return;
            }
            (c.as_mut_ptr(), c.strides()[0], c.strides()[1], accumulate)
        }
        Out::Uninit(mut c) => {
            if k == 0 {
                c.map_inplace(|e| {
                    e.write(F::zero());
                });
                return;
            }
            (c.as_mut_ptr().cast::<F>(), c.strides()[0], c.strides()[1], false)
        }
    };
    if m == 0 || n == 0 {
        return;
    }
    let (sa, sb) = (a.strides(), b.strides());
    // SAFETY: checked by `gemm_call` (the parts of a split are sub-views of its checked views): `a` is
    // m x k, `b` is k x n and the destination is m x n, with m, n, k > 0, so every offset `i·rs + j·cs`
    // that gemm forms (i below the rows, j below the columns, negative strides included) is an element
    // of the corresponding view, whose pointer is its element [0, 0]; ndarray guarantees such offsets
    // fit in isize. The destination is a mutable view of the caller's, or part of the fresh row-major
    // matrix: either way its elements are distinct (no stride-0 axis longer than 1), and they do not
    // overlap `a` or `b`, which are shared borrows alive at the same time, nor the other part of a
    // split (`split_at` parts are disjoint). `F` is f32 or f64 (sealed), types gemm supports;
    // `MaybeUninit<F>` has the layout of `F`. gemm reads the destination only when `accumulate`
    // (`read_dst`), which is false for uninitialized matrices; with `beta = 1` it writes all m·n of its
    // elements, so those are initialized when gemm returns.
    unsafe {
        kernel_call::gemm(
            m,
            n,
            k,
            c_ptr,
            c_cs,
            c_rs,
            accumulate,
            a.as_ptr(),
            sa[1],
            sa[0],
            b.as_ptr(),
            sb[1],
            sb[0],
            F::one(),
            F::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// A block of rows of a matrix under construction, whose elements start uninitialized; products fill
/// it from the top down ([`FreshRows::product`]), and rows still unwritten when the block is done are
/// zeroed, so that every element is initialized.
pub(crate) struct FreshRows<'a, F> {
    rows: ArrayViewMut2<'a, MaybeUninit<F>>,
    written: usize,
}

impl<F: Float> FreshRows<'_, F> {
    /// Writes `a · b` (on this thread) into the next `a.nrows()` rows of the block.
    ///
    /// # Panics
    ///
    /// When the inner dimensions differ, `b` has not the block's columns, or the rows run past the
    /// block.
    #[track_caller]
    pub(crate) fn product(&mut self, a: ArrayView2<'_, F>, b: ArrayView2<'_, F>) {
        let (rows, cols) = self.rows.dim();
        let end = self.written + a.nrows();
        assert!(
            a.ncols() == b.nrows() && b.ncols() == cols && end <= rows,
            "FreshRows::product: {:?} x {:?} into rows {}..{end} of a {rows} x {cols} block",
            a.shape(),
            b.shape(),
            self.written
        );
        let dst = self.rows.slice_mut(ndarray::s![self.written..end, ..]);
        gemm_call(a, b, Dst::Uninit(dst), Threads::One);
        self.written = end;
    }

    /// Zeroes the rows no product wrote.
    fn finish(mut self) {
        self.rows.slice_mut(ndarray::s![self.written.., ..]).map_inplace(|e| {
            e.write(F::zero());
        });
    }
}

/// The row-major `[blocks · block_rows, cols]` matrix whose `i`-th block of `block_rows` rows is
/// written by `f(i, rows, scratch)`, the blocks shared between the caller and the rayon pool when
/// `parallel` (see [`share`]). `scratch` is made by `init` once per thread and reused across its
/// blocks. The memory is not zeroed first, except the rows `f` leaves unwritten.
pub(crate) fn fresh_blocks<F: Float, S>(
    blocks: usize,
    block_rows: usize,
    cols: usize,
    parallel: bool,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(usize, &mut FreshRows<'_, F>, &mut S) + Sync + Send,
) -> Vec<F> {
    let len = blocks * block_rows * cols;
    let mut out: Vec<MaybeUninit<F>> = Vec::with_capacity(len);
    out.resize_with(len, MaybeUninit::uninit);
    let block = |i: usize, chunk: &mut [MaybeUninit<F>], s: &mut S| {
        let rows = ArrayViewMut2::from_shape((block_rows, cols), chunk).expect("a block's elements");
        let mut rows = FreshRows { rows, written: 0 };
        f(i, &mut rows, s);
        rows.finish();
    };
    let size = block_rows * cols;
    if size > 0 {
        share(parallel, out.chunks_mut(size).enumerate(), init, |(i, c), s| block(i, c, s));
    }
    assume_init(Array1::from_vec(out))
}

/// The elements of an array that [`fresh_blocks`] initialized.
#[allow(unsafe_code)]
fn assume_init<F: Float>(out: Array1<MaybeUninit<F>>) -> Vec<F> {
    // SAFETY: `fresh_blocks` handed every element to exactly one `FreshRows` block (the chunks partition
    // the vector, and a vector of length 0 has none), and each block's `finish` ran: its rows
    // `0..written` were written by gemm (`gemm_call` writes every element of an `Uninit` destination)
    // and the rows `written..` with zeros.
    let init = unsafe { out.assume_init() };
    let (data, offset) = init.into_raw_vec_and_offset();
    debug_assert!(matches!(offset, None | Some(0)), "a fresh vector starts at its first element");
    data
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn fresh_blocks_hold_the_products_and_zeros_in_rows_left_unwritten() {
        let a = array![[1.0f64, 2.0], [3.0, 4.0]];
        let b = array![[1.0f64, 0.0, 2.0], [0.0, 1.0, 3.0]];
        for parallel in [false, true] {
            // Block i gets i + 1 products of one row each, out of 3 rows: block 2 is full, block 0
            // leaves two rows for the zeros.
            let out = fresh_blocks(
                3,
                3,
                3,
                parallel,
                || 0usize,
                |i, rows, calls: &mut usize| {
                    *calls += 1;
                    for r in 0..=i {
                        rows.product(a.slice(ndarray::s![r % 2..r % 2 + 1, ..]), b.view());
                    }
                },
            );
            let (r0, r1) = ([1.0, 2.0, 8.0], [3.0, 4.0, 18.0]);
            let want = [r0, [0.0; 3], [0.0; 3], r0, r1, [0.0; 3], r0, r1, r0].concat();
            assert_eq!(out, want, "parallel: {parallel}");
        }
    }

    #[test]
    fn a_fresh_product_over_an_empty_inner_dimension_is_zero() {
        let (a, b) = (Array2::<f32>::zeros((2, 0)), Array2::<f32>::zeros((0, 3)));
        let out = fresh_blocks(1, 2, 3, false, || (), |_, rows, _| rows.product(a.view(), b.view()));
        assert_eq!(out, vec![0.0; 6]);
    }

    #[test]
    #[should_panic(expected = "FreshRows::product: [2, 2] x [2, 3] into rows 2..4 of a 3 x 3 block")]
    fn a_product_past_its_block_panics() {
        let a = array![[1.0f64, 2.0], [3.0, 4.0]];
        let b = Array2::<f64>::ones((2, 3));
        fresh_blocks(
            1,
            3,
            3,
            false,
            || (),
            |_, rows, _| {
                rows.product(a.view(), b.view());
                rows.product(a.view(), b.view());
            },
        );
    }
}
