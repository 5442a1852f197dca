//! The lowering of 2-D convolution to GEMM: `im2col` copies each sample's receptive fields into the
//! columns of a `[C·kh·kw, Ho·Wo]` matrix, so that the convolution of a group is one product
//! `W_g [O/g, C/g·kh·kw] x cols_g`; `col2im` is its adjoint (it adds each column back where it came from).
//!
//! forward: y_n = W · cols(x_n) · input gradient: x̄_n = col2im(Wᵀ · ȳ_n) · weight gradient:
//! W̄ = Σ_n ȳ_n · cols(x_n)ᵀ. Every product goes through the kernel under `matmul`.

use ndarray::{ArrayView2, ArrayViewMut2, s};

use crate::float::Float;
use crate::matmul::{MATMUL_PAR_THRESHOLD, fresh_blocks, matmul_into};
use crate::share::share;

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

    /// Rows of the padded input, `h + 2·padding`.
    fn hp(&self) -> usize {
        self.h + 2 * self.padding.0
    }

    /// Columns of the padded input, `w + 2·padding`.
    fn wp(&self) -> usize {
        self.w + 2 * self.padding.1
    }

    /// How far apart the fields of consecutive output rows start in a padded sample, `stride₀ · wp`;
    /// saturated, since a stride past the padded input leaves one output row, whose field is the only one.
    fn row_step(&self) -> usize {
        self.stride.0.saturating_mul(self.wp())
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

/// Per-task buffers: the column matrix of one sample, that sample with its zero padding (whose border
/// only ever holds zeros), and a padded sample that [`col2im`] accumulates into.
struct Scratch<F> {
    cols: Vec<F>,
    padded: Vec<F>,
    padded_grad: Vec<F>,
}

impl<F: Float> Scratch<F> {
    fn new(g: &Geom) -> Self {
        let padded = if g.padding == (0, 0) { 0 } else { g.c * g.hp() * g.wp() };
        Scratch {
            cols: vec![F::zero(); g.c * g.kh * g.kw * g.l()],
            padded: vec![F::zero(); padded],
            padded_grad: vec![F::zero(); padded],
        }
    }
}

/// Fills `s.cols` (`[c·kh·kw, ho·wo]`, row-major) with the receptive fields of one sample `x`
/// (`[c, h, w]`): the sample is copied into the middle of `s.padded` first (whose border stays zero), so
/// that every field reads inside it.
fn im2col<F: Float>(x: &[F], g: &Geom, s: &mut Scratch<F>) {
    let xp = if g.padding == (0, 0) {
        x
    } else {
        let (hp, wp, (p0, p1)) = (g.hp(), g.wp(), g.padding);
        for (src, dst) in x.chunks_exact(g.w).zip(0..g.c * g.h) {
            let (ci, iy) = (dst / g.h, dst % g.h);
            let at = (ci * hp + iy + p0) * wp + p1;
            s.padded[at..at + g.w].copy_from_slice(src);
        }
        &s.padded[..]
    };
    im2col_padded(xp, g, &mut s.cols);
}

/// The column matrix of a padded sample `xp` (`[c, hp, wp]`), every field inside it.
fn im2col_padded<F: Float>(xp: &[F], g: &Geom, cols: &mut [F]) {
    let (wo, sw, step) = (g.wo, g.stride.1, g.row_step());
    for (rows, at) in cols.chunks_exact_mut(g.l()).zip(tap_offsets(g)) {
        for (dst, src) in rows.chunks_exact_mut(wo).zip(xp[at..].chunks(step)) {
            if sw == 1 {
                dst.copy_from_slice(&src[..wo]);
            } else {
                dst.iter_mut().zip(src.iter().step_by(sw)).for_each(|(d, &v)| *d = v);
            }
        }
    }
}

/// Where each tap `(ci, i, j)` of the kernel reads its first field (output position (0, 0)) in the
/// padded sample, in the order of the column matrix's rows; the field of output row `oy` starts
/// `oy · stride₀ · wp` further on.
fn tap_offsets(g: &Geom) -> impl Iterator<Item = usize> + '_ {
    let (hp, wp) = (g.hp(), g.wp());
    (0..g.c).flat_map(move |ci| {
        (0..g.kh)
            .flat_map(move |i| (0..g.kw).map(move |j| (ci * hp + i * g.dilation.0) * wp + j * g.dilation.1))
    })
}

/// Adds every element of `s.cols` (`[c·kh·kw, ho·wo]`) to the input position it was copied from in
/// `dx` (`[c, h, w]`), the adjoint of [`im2col`]: into the zeroed `s.padded_grad`, whose middle is
/// then added to `dx` (padding positions are dropped).
fn col2im<F: Float>(s: &mut Scratch<F>, g: &Geom, dx: &mut [F]) {
    if g.padding == (0, 0) {
        col2im_padded(&s.cols, g, dx);
        return;
    }
    s.padded_grad.fill(F::zero());
    col2im_padded(&s.cols, g, &mut s.padded_grad);
    let (hp, wp, (p0, p1)) = (g.hp(), g.wp(), g.padding);
    for (dst, src) in dx.chunks_exact_mut(g.w).zip(0..g.c * g.h) {
        let (ci, iy) = (src / g.h, src % g.h);
        let at = (ci * hp + iy + p0) * wp + p1;
        dst.iter_mut().zip(&s.padded_grad[at..at + g.w]).for_each(|(d, &v)| *d += v);
    }
}

/// Adds the column matrix `cols` into the padded sample `dxp` (`[c, hp, wp]`).
fn col2im_padded<F: Float>(cols: &[F], g: &Geom, dxp: &mut [F]) {
    let (wo, sw, step) = (g.wo, g.stride.1, g.row_step());
    for (rows, at) in cols.chunks_exact(g.l()).zip(tap_offsets(g)) {
        for (src, dst) in rows.chunks_exact(wo).zip(dxp[at..].chunks_mut(step)) {
            if sw == 1 {
                dst[..wo].iter_mut().zip(src).for_each(|(d, &v)| *d += v);
            } else {
                dst.iter_mut().step_by(sw).zip(src).for_each(|(d, &v)| *d += v);
            }
        }
    }
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

/// Runs `f(sample, chunk, scratch)` over the `size`-element chunks of `out`, one per sample, shared
/// with the rayon pool when `parallel` (see [`share`]); `scratch` is reused across the samples a thread
/// takes, its contents left from the last sample. Each sample writes only its own chunk, so the result
/// does not depend on the pool.
fn per_sample<F: Float>(
    out: &mut [F],
    size: usize,
    g: &Geom,
    f: impl Fn(usize, &mut [F], &mut Scratch<F>) + Sync,
) {
    if size == 0 {
        return;
    }
    share(g.parallel(), out.chunks_mut(size).enumerate(), || Scratch::new(g), |(n, c), s| f(n, c, s));
}

/// `y = x ⋆ w`: `x` is `[n, c, h, w]`, `w` is `[o, c/groups, kh, kw]`, both row-major; `[n, o, ho, wo]`,
/// written by the products alone (the output is not zeroed first).
pub(crate) fn forward<F: Float>(x: &[F], wt: &[F], g: &Geom) -> Vec<F> {
    let (l, rows, og, chw) = (g.l(), g.rows(), g.og(), g.c * g.h * g.w);
    fresh_blocks(
        g.n,
        g.o,
        l,
        g.parallel(),
        || Scratch::new(g),
        |n, y, s| {
            im2col(&x[n * chw..(n + 1) * chw], g, s);
            for gi in 0..g.groups {
                y.product(mat(wt, gi * og * rows, og, rows), mat(&s.cols, gi * rows * l, rows, l));
            }
        },
    )
}

/// The gradient of [`forward`] with respect to `x`, for the output gradient `gy` (`[n, o, ho, wo]`):
/// `col2im(Wᵀ · gy_n)` per sample and group, of shape `[n, c, h, w]`. It is also the transposed
/// convolution of `gy` by `w`.
pub(crate) fn input_grad<F: Float>(gy: &[F], wt: &[F], g: &Geom) -> Vec<F> {
    let chw = g.c * g.h * g.w;
    let mut dx = vec![F::zero(); g.n * chw];
    per_sample(&mut dx, chw, g, |n, dx, s| input_grad_sample(gy, wt, g, n, s, dx));
    dx
}

/// Adds sample `n`'s input gradient to `dx` (`[c, h, w]`, zero or holding earlier terms).
fn input_grad_sample<F: Float>(gy: &[F], wt: &[F], g: &Geom, n: usize, s: &mut Scratch<F>, dx: &mut [F]) {
    let (l, rows, og) = (g.l(), g.rows(), g.og());
    for gi in 0..g.groups {
        let a = mat(wt, gi * og * rows, og, rows).reversed_axes();
        let b = mat(gy, (n * g.o + gi * og) * l, og, l);
        matmul_into(a, b, mat_mut(&mut s.cols, gi * rows * l, rows, l), false);
    }
    col2im(s, g, dx);
}

/// Adds sample `n`'s term of the weight gradient, `gy_n · cols(x_n)ᵀ` per group, to `dw`.
fn weight_grad_sample<F: Float>(x: &[F], gy: &[F], g: &Geom, n: usize, s: &mut Scratch<F>, dw: &mut [F]) {
    let (l, rows, og, chw) = (g.l(), g.rows(), g.og(), g.c * g.h * g.w);
    im2col(&x[n * chw..(n + 1) * chw], g, s);
    for gi in 0..g.groups {
        let a = mat(gy, (n * g.o + gi * og) * l, og, l);
        let b = mat(&s.cols, gi * rows * l, rows, l).reversed_axes();
        dot_product_tiles(a, b, mat_mut(dw, gi * og * rows, og, rows));
    }
}

/// The samples per chunk of a weight gradient's sum: at most 8 chunks of consecutive samples, more
/// than one only when the convolution runs in parallel. They depend only on the shapes.
fn samples_per_chunk(g: &Geom) -> usize {
    let chunks = if g.parallel() { g.n.min(8) } else { 1 };
    g.n.div_ceil(chunks.max(1)).max(1)
}

/// The chunks' weight-gradient sums added in chunk order (the first alone when there is one).
fn add_in_order<F: Float>(sums: Vec<Vec<F>>) -> Vec<F> {
    let mut sums = sums.into_iter();
    let mut dw = sums.next().expect("at least one chunk");
    for s in sums {
        dw.iter_mut().zip(s).for_each(|(a, b)| *a += b);
    }
    dw
}

/// The gradient of [`forward`] with respect to `w`, for the input `x` and the output gradient `gy`:
/// `Σ_n gy_n · cols(x_n)ᵀ` per group, of shape `[o, c/groups, kh, kw]`.
///
/// Samples are summed in the chunks of [`samples_per_chunk`], on the rayon pool when there are
/// several, and the chunks' sums are added in order, so the result does not depend on the number of
/// threads.
pub(crate) fn weight_grad<F: Float>(x: &[F], gy: &[F], g: &Geom) -> Vec<F> {
    let per = samples_per_chunk(g);
    let mut sums = vec![vec![F::zero(); g.o * g.rows()]; g.n.div_ceil(per).max(1)];
    let partial = |(k, dw): (usize, &mut Vec<F>), s: &mut Scratch<F>| {
        for n in k * per..((k + 1) * per).min(g.n) {
            weight_grad_sample(x, gy, g, n, s, dw);
        }
    };
    share(sums.len() > 1, sums.iter_mut().enumerate(), || Scratch::new(g), partial);
    add_in_order(sums)
}

/// Both gradients of [`forward`], `(input_grad, weight_grad)`, in one pass over the samples, so that
/// each sample's `gy_n` is read into the cache once for both; the same values as the two apart.
pub(crate) fn backward<F: Float>(x: &[F], wt: &[F], gy: &[F], g: &Geom) -> (Vec<F>, Vec<F>) {
    let (chw, per) = (g.c * g.h * g.w, samples_per_chunk(g));
    if chw == 0 {
        return (Vec::new(), weight_grad(x, gy, g));
    }
    let mut dx = vec![F::zero(); g.n * chw];
    let mut sums = vec![vec![F::zero(); g.o * g.rows()]; g.n.div_ceil(per).max(1)];
    let partial = |(k, (dx, dw)): (usize, (&mut [F], &mut Vec<F>)), s: &mut Scratch<F>| {
        for (i, dx) in dx.chunks_mut(chw).enumerate() {
            weight_grad_sample(x, gy, g, k * per + i, s, dw);
            input_grad_sample(gy, wt, g, k * per + i, s, dx);
        }
    };
    let parallel = sums.len() > 1;
    let chunks = dx.chunks_mut(per * chw).zip(sums.iter_mut()).enumerate();
    share(parallel, chunks, || Scratch::new(g), partial);
    (dx, add_in_order(sums))
}

/// `out += a · b` where both operands run along their long inner dimension (`a` row-major, `b` column-
/// major), as the weight gradient's are, in tiles of at most 16 x 16 outputs: gemm computes tiles that
/// small as dot products straight from the operands, where a larger product would first copy one
/// operand into its transpose.
fn dot_product_tiles<F: Float>(a: ArrayView2<'_, F>, b: ArrayView2<'_, F>, mut out: ArrayViewMut2<'_, F>) {
    const TILE: usize = 16;
    let (m, n) = out.dim();
    for r0 in (0..m).step_by(TILE) {
        let r1 = (r0 + TILE).min(m);
        for c0 in (0..n).step_by(TILE) {
            let c1 = (c0 + TILE).min(n);
            matmul_into(
                a.slice(s![r0..r1, ..]),
                b.slice(s![.., c0..c1]),
                out.slice_mut(s![r0..r1, c0..c1]),
                true,
            );
        }
    }
}
