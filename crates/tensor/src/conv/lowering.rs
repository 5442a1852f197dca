//! The lowering of 2-D convolution to GEMM: `im2col` copies each sample's receptive fields into the
//! columns of a `[C·kh·kw, Ho·Wo]` matrix, so that the convolution of a group is one product
//! `W_g [O/g, C/g·kh·kw] x cols_g`; `col2im` is its adjoint (it adds each column back where it came from).
//!
//! forward: y_n = W · cols(x_n) · input gradient: x̄_n = col2im(Wᵀ · ȳ_n) · weight gradient:
//! W̄ = Σ_n ȳ_n · cols(x_n)ᵀ. Every product goes through [`matmul_into`], the kernel under `matmul`.

use ndarray::{ArrayView2, ArrayViewMut2};
use rayon::prelude::*;

use crate::float::Float;
use crate::matmul::{MATMUL_PAR_THRESHOLD, matmul_into};

/// The sizes of one 2-D convolution `[n, c, h, w] ⋆ [o, c/groups, kh, kw] -> [n, o, ho, wo]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geom {
    pub(crate) n: usize,
    pub(crate) c: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) o: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) ho: usize,
    pub(crate) wo: usize,
    pub(crate) stride: (usize, usize),
    pub(crate) padding: (usize, usize),
    pub(crate) dilation: (usize, usize),
    pub(crate) groups: usize,
}

impl Geom {
    /// Output positions per channel, `ho · wo`.
    fn l(&self) -> usize {
        self.ho * self.wo
    }

    /// Rows of a group's column matrix, `c/groups · kh · kw` (also a group's weight row length).
    fn rows(&self) -> usize {
        self.c / self.groups * self.kh * self.kw
    }

    /// Output channels per group.
    fn og(&self) -> usize {
        self.o / self.groups
    }

    /// Multiply-adds of the whole convolution (the same for each of its three products).
    fn work(&self) -> usize {
        self.n.saturating_mul(self.o).saturating_mul(self.l()).saturating_mul(self.rows())
    }

    /// True when samples run on the rayon pool (each of their GEMMs then stays small).
    fn parallel(&self) -> bool {
        self.n > 1 && self.work() >= MATMUL_PAR_THRESHOLD
    }
}

/// The outputs `i` in `0..n_out` whose input `i·stride + offset` lies in `0..len`, as `(start, end)`.
fn valid(n_out: usize, stride: usize, offset: isize, len: usize) -> (usize, usize) {
    let lo = if offset >= 0 { 0 } else { offset.unsigned_abs().div_ceil(stride) };
    let room = if len as isize <= offset { 0 } else { (len as isize - offset) as usize };
    let hi = room.div_ceil(stride);
    let lo = lo.min(n_out);
    (lo, hi.clamp(lo, n_out))
}

/// Calls `f(row, oy, iy, x0, x1, xoff)` for every row `(ci, i, j)` of the column matrix and every output
/// row `oy` whose input row `iy` is inside the image; `x0..x1` are the output columns inside it and
/// `ix = ox·sw + xoff`. The parts of each row that `f` is not called for read zero padding.
fn for_each_span(g: &Geom, mut f: impl FnMut(usize, usize, usize, usize, usize, isize)) {
    for ci in 0..g.c {
        for i in 0..g.kh {
            let yoff = (i * g.dilation.0) as isize - g.padding.0 as isize;
            let (y0, y1) = valid(g.ho, g.stride.0, yoff, g.h);
            for j in 0..g.kw {
                let xoff = (j * g.dilation.1) as isize - g.padding.1 as isize;
                let (x0, x1) = valid(g.wo, g.stride.1, xoff, g.w);
                let row = (ci * g.kh + i) * g.kw + j;
                for oy in y0..y1 {
                    let iy = ((oy * g.stride.0) as isize + yoff) as usize;
                    f(row, oy, ci * g.h * g.w + iy * g.w, x0, x1, xoff);
                }
            }
        }
    }
}

/// Fills `cols` (`[c·kh·kw, ho·wo]`, row-major) with the receptive fields of one sample `x` (`[c, h, w]`).
pub(crate) fn im2col<F: Float>(x: &[F], g: &Geom, cols: &mut [F]) {
    cols.fill(F::zero());
    let (l, sw) = (g.l(), g.stride.1);
    for_each_span(g, |row, oy, at, x0, x1, xoff| {
        let dst = &mut cols[row * l + oy * g.wo..][..g.wo];
        let src = &x[at..at + g.w];
        if sw == 1 {
            let s0 = (x0 as isize + xoff) as usize;
            dst[x0..x1].copy_from_slice(&src[s0..s0 + (x1 - x0)]);
        } else {
            for (ox, d) in dst.iter_mut().enumerate().take(x1).skip(x0) {
                *d = src[((ox * sw) as isize + xoff) as usize];
            }
        }
    });
}

/// Adds every element of `cols` (`[c·kh·kw, ho·wo]`) to the input position it was copied from in
/// `dx` (`[c, h, w]`): the adjoint of [`im2col`]; padding positions are dropped.
pub(crate) fn col2im<F: Float>(cols: &[F], g: &Geom, dx: &mut [F]) {
    let (l, sw) = (g.l(), g.stride.1);
    for_each_span(g, |row, oy, at, x0, x1, xoff| {
        let src = &cols[row * l + oy * g.wo..][..g.wo];
        let dst = &mut dx[at..at + g.w];
        for (ox, &v) in src.iter().enumerate().take(x1).skip(x0) {
            dst[((ox * sw) as isize + xoff) as usize] += v;
        }
    });
}

/// A row-major `rows x cols` view of `data[at..]`.
fn mat<F>(data: &[F], at: usize, rows: usize, cols: usize) -> ArrayView2<'_, F> {
    ArrayView2::from_shape((rows, cols), &data[at..at + rows * cols]).expect("the slice holds the matrix")
}

/// A mutable row-major `rows x cols` view of `data[at..]`.
fn mat_mut<F>(data: &mut [F], at: usize, rows: usize, cols: usize) -> ArrayViewMut2<'_, F> {
    ArrayViewMut2::from_shape((rows, cols), &mut data[at..at + rows * cols])
        .expect("the slice holds the matrix")
}

/// Runs `f(sample, chunk)` over the `size`-element chunks of `out`, one per sample, on the rayon pool
/// when `parallel`. Each sample writes only its own chunk, so the result does not depend on the pool.
fn per_sample<F: Float>(out: &mut [F], size: usize, parallel: bool, f: impl Fn(usize, &mut [F]) + Sync) {
    if size == 0 {
        return;
    }
    if parallel {
        out.par_chunks_mut(size).enumerate().for_each(|(n, chunk)| f(n, chunk));
    } else {
        out.chunks_mut(size).enumerate().for_each(|(n, chunk)| f(n, chunk));
    }
}

/// `y = x ⋆ w`: `x` is `[n, c, h, w]`, `w` is `[o, c/groups, kh, kw]`, both row-major; `[n, o, ho, wo]`.
pub(crate) fn forward<F: Float>(x: &[F], wt: &[F], g: &Geom) -> Vec<F> {
    let (l, rows, og, chw) = (g.l(), g.rows(), g.og(), g.c * g.h * g.w);
    let mut out = vec![F::zero(); g.n * g.o * l];
    per_sample(&mut out, g.o * l, g.parallel(), |n, y| {
        let mut cols = vec![F::zero(); g.c * g.kh * g.kw * l];
        im2col(&x[n * chw..(n + 1) * chw], g, &mut cols);
        for gi in 0..g.groups {
            let (a, b) = (mat(wt, gi * og * rows, og, rows), mat(&cols, gi * rows * l, rows, l));
            matmul_into(a, b, mat_mut(y, gi * og * l, og, l), false);
        }
    });
    out
}

/// The gradient of [`forward`] with respect to `x`, for the output gradient `gy` (`[n, o, ho, wo]`):
/// `col2im(Wᵀ · gy_n)` per sample and group, of shape `[n, c, h, w]`. It is also the transposed
/// convolution of `gy` by `w`.
pub(crate) fn input_grad<F: Float>(gy: &[F], wt: &[F], g: &Geom) -> Vec<F> {
    let (l, rows, og, chw) = (g.l(), g.rows(), g.og(), g.c * g.h * g.w);
    let mut dx = vec![F::zero(); g.n * chw];
    per_sample(&mut dx, chw, g.parallel(), |n, dx| {
        let mut cols = vec![F::zero(); g.c * g.kh * g.kw * l];
        for gi in 0..g.groups {
            let a = mat(wt, gi * og * rows, og, rows).reversed_axes();
            let b = mat(gy, (n * g.o + gi * og) * l, og, l);
            matmul_into(a, b, mat_mut(&mut cols, gi * rows * l, rows, l), false);
        }
        col2im(&cols, g, dx);
    });
    dx
}

/// The gradient of [`forward`] with respect to `w`, for the input `x` and the output gradient `gy`:
/// `Σ_n gy_n · cols(x_n)ᵀ` per group, of shape `[o, c/groups, kh, kw]`.
///
/// Samples are summed in at most 8 consecutive chunks, on the rayon pool when large, and the chunks'
/// sums are added in order; the chunks depend only on the shapes, so the result does not depend on
/// the number of threads.
pub(crate) fn weight_grad<F: Float>(x: &[F], gy: &[F], g: &Geom) -> Vec<F> {
    let (l, rows, og, chw) = (g.l(), g.rows(), g.og(), g.c * g.h * g.w);
    let chunks = if g.parallel() { g.n.min(8) } else { 1 };
    let per = g.n.div_ceil(chunks.max(1)).max(1);
    let partial = |k: usize| {
        let mut dw = vec![F::zero(); g.o * rows];
        let mut cols = vec![F::zero(); g.c * g.kh * g.kw * l];
        for n in k * per..((k + 1) * per).min(g.n) {
            im2col(&x[n * chw..(n + 1) * chw], g, &mut cols);
            for gi in 0..g.groups {
                let a = mat(gy, (n * g.o + gi * og) * l, og, l);
                let b = mat(&cols, gi * rows * l, rows, l).reversed_axes();
                matmul_into(a, b, mat_mut(&mut dw, gi * og * rows, og, rows), true);
            }
        }
        dw
    };
    let count = g.n.div_ceil(per);
    let sums: Vec<Vec<F>> =
        if count > 1 { (0..count).into_par_iter().map(partial).collect() } else { vec![partial(0)] };
    let mut sums = sums.into_iter();
    let mut dw = sums.next().expect("at least one chunk");
    for s in sums {
        dw.iter_mut().zip(s).for_each(|(a, b)| *a += b);
    }
    dw
}
