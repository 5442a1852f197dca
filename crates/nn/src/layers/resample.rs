//! Resampling of NCHW images, composed of differentiable Var ops (so differentiable to any order):
//! `upsample_nearest`, `upsample_bilinear` (PyTorch's `interpolate` to a size), their `_scale` forms
//! (`interpolate` by a scale factor), `pixel_shuffle` and `pixel_unshuffle`; the layers of them are in
//! `layers`.
//!
//! nearest: output row i reads input row ⌊i · H / Ho⌋ (PyTorch's "nearest"). bilinear: output row i
//! sits at input coordinate i (H - 1) / (Ho - 1) with `align_corners`, else (i + ½) H / Ho - ½
//! clamped at 0, and mixes its two neighbours linearly; as matrices, y = A_h x A_wᵀ. pixel_shuffle:
//! `[N, C r², H, W]` to `[N, C, H r, W r]`, element (c, i, j) of the output taking channel
//! c r² + (i mod r) r + (j mod r) at (⌊i / r⌋, ⌊j / r⌋); pixel_unshuffle is its inverse.
//!
//! By a scale factor s (PyTorch's `scale_factor` with `recompute_scale_factor` unset): the output has
//! ⌊H s⌋ rows, and the source coordinates use 1 / s in place of H / Ho (nearest: ⌊i / s⌋, in f32 as
//! PyTorch computes it; bilinear without `align_corners`: (i + ½) / s - ½), which differs from
//! resizing to ⌊H s⌋ when H s is not whole. With `align_corners` the factor only sets the size.

use wengert_tape::Var;
use wengert_tensor::{Float, Tensor};

mod layers;

pub use layers::{PixelShuffle, PixelUnshuffle, Upsample, UpsampleMode, UpsampleTarget};

/// `[n, c, h, w]` of a 4-D shape, or a panic naming `op`.
#[track_caller]
fn nchw<F: Float>(op: &str, x: Var<'_, F>) -> [usize; 4] {
    match x.shape()[..] {
        [n, c, h, w] => [n, c, h, w],
        ref s => panic!("{op}: input {s:?} must be 4-D [N, C, H, W]"),
    }
}

/// Panics unless both output sizes are positive.
#[track_caller]
fn check_size(op: &str, size: (usize, usize)) {
    if size.0 == 0 || size.1 == 0 {
        panic!("{op}: output size {size:?} must be positive");
    }
}

/// Nearest-neighbour resizing of `x` `[N, C, H, W]` to `[N, C, size.0, size.1]` (PyTorch's
/// `interpolate(x, size, mode="nearest")`): output row i copies input row ⌊i · H / Ho⌋, and likewise
/// for columns. The gradient sums over the copies.
///
/// ```
/// use wengert::nn::upsample_nearest;
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[1, 1, 1, 2]).unwrap());
/// let y = upsample_nearest(x, (2, 4));
/// assert_eq!(y.value().to_vec(), vec![1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
/// assert_eq!(y.sum().backward()[x].to_vec(), vec![4.0, 4.0]);
/// ```
///
/// # Panics
///
/// When `x` is not 4-D or an output size is 0.
#[track_caller]
pub fn upsample_nearest<'t, F: Float>(x: Var<'t, F>, size: (usize, usize)) -> Var<'t, F> {
    let [_, _, h, w] = nchw("upsample_nearest", x);
    check_size("upsample_nearest", size);
    let pick =
        |out: usize, len: usize| -> Vec<usize> { (0..out).map(|i| (i * len / out).min(len - 1)).collect() };
    x.index_select(2, &pick(size.0, h)).index_select(3, &pick(size.1, w))
}

/// The `[out, len]` matrix of linear interpolation along one axis; `ratio` is the step in input
/// coordinates per output position without `align_corners` (`len / out` for a size, `1 / s` for a scale
/// factor `s`).
fn bilinear_matrix<F: Float>(out: usize, len: usize, align_corners: bool, ratio: f64) -> Tensor<F> {
    let mut a = vec![F::zero(); out * len];
    for i in 0..out {
        let src = if align_corners {
            if out > 1 { i as f64 * (len - 1) as f64 / (out - 1) as f64 } else { 0.0 }
        } else {
            ((i as f64 + 0.5) * ratio - 0.5).max(0.0)
        };
        let i0 = (src.floor() as usize).min(len - 1);
        let i1 = (i0 + 1).min(len - 1);
        let lambda = src - i0 as f64;
        a[i * len + i0] += F::from_f64(1.0 - lambda);
        a[i * len + i1] += F::from_f64(lambda);
    }
    Tensor::from_vec(a, &[out, len]).expect("out · len weights")
}

/// Bilinear resizing of `x` `[N, C, H, W]` to `[N, C, size.0, size.1]` (PyTorch's
/// `interpolate(x, size, mode="bilinear", align_corners)`): with `align_corners` the corner pixels'
/// centres of input and output coincide (output row i at input coordinate i (H - 1) / (Ho - 1));
/// without, their outer edges do ((i + ½) H / Ho - ½, clamped at 0). Linear in `x`.
///
/// ```
/// use wengert::nn::upsample_bilinear;
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::from_vec(vec![0.0, 3.0], &[1, 1, 1, 2]).unwrap());
/// assert_eq!(upsample_bilinear(x, (1, 4), true).value().to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
/// assert_eq!(upsample_bilinear(x, (1, 4), false).value().to_vec(), vec![0.0, 0.75, 2.25, 3.0]);
/// ```
///
/// # Panics
///
/// When `x` is not 4-D or an output size is 0.
#[track_caller]
pub fn upsample_bilinear<'t, F: Float>(
    x: Var<'t, F>,
    size: (usize, usize),
    align_corners: bool,
) -> Var<'t, F> {
    let [_, _, h, w] = nchw("upsample_bilinear", x);
    check_size("upsample_bilinear", size);
    let ratios = (h as f64 / size.0 as f64, w as f64 / size.1 as f64);
    bilinear(x, size, align_corners, ratios)
}

/// `A_h x A_wᵀ` with the interpolation matrices of `size`, `align_corners` and `ratios`.
fn bilinear<'t, F: Float>(
    x: Var<'t, F>,
    size: (usize, usize),
    align_corners: bool,
    ratios: (f64, f64),
) -> Var<'t, F> {
    let [_, _, h, w] = nchw("upsample_bilinear", x);
    let rows = x.constant(bilinear_matrix(size.0, h, align_corners, ratios.0));
    let cols = x.constant(bilinear_matrix(size.1, w, align_corners, ratios.1).t().to_contiguous());
    rows.matmul(x).matmul(cols)
}

/// Rearranges `x` `[N, C r², H, W]` into `[N, C, H r, W r]` (PyTorch's `pixel_shuffle`, the
/// sub-pixel convolution's last step): output (c, i, j) is input channel
/// `c r² + (i mod r) r + (j mod r)` at (⌊i / r⌋, ⌊j / r⌋).
///
/// ```
/// use wengert::nn::pixel_shuffle;
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::arange(0.0, 4.0, 1.0).reshape(&[1, 4, 1, 1]).unwrap());
/// let y = pixel_shuffle(x, 2);
/// assert_eq!(y.shape(), vec![1, 1, 2, 2]);
/// assert_eq!(y.value().to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
/// ```
///
/// # Panics
///
/// When `x` is not 4-D, `factor` is 0, or the channels are not a multiple of `factor²`.
#[track_caller]
pub fn pixel_shuffle<'t, F: Float>(x: Var<'t, F>, factor: usize) -> Var<'t, F> {
    let [n, c, h, w] = nchw("pixel_shuffle", x);
    let r = factor;
    if r == 0 || !c.is_multiple_of(r * r) {
        panic!("pixel_shuffle: {c} channels of input {:?} are not a multiple of {r}²", x.shape());
    }
    let co = c / (r * r);
    x.reshape(&[n, co, r, r, h, w]).permute(&[0, 1, 4, 2, 5, 3]).reshape(&[n, co, h * r, w * r])
}

/// The output size `(⌊H s₀⌋, ⌊W s₁⌋)` of resizing `x` by `scale`, PyTorch's rule, or a panic naming
/// `op` when a factor is not positive and finite or leaves no row or column.
#[track_caller]
fn scaled_size<F: Float>(op: &str, x: Var<'_, F>, scale: (f64, f64)) -> (usize, usize) {
    let [_, _, h, w] = nchw(op, x);
    let ok = |s: f64| s.is_finite() && s > 0.0;
    if !ok(scale.0) || !ok(scale.1) {
        panic!("{op}: scale factor {scale:?} must be positive and finite");
    }
    let size = ((h as f64 * scale.0).floor(), (w as f64 * scale.1).floor());
    if size.0 < 1.0 || size.1 < 1.0 || size.0 >= usize::MAX as f64 || size.1 >= usize::MAX as f64 {
        panic!("{op}: scale factor {scale:?} of input {:?} gives the output size {size:?}", x.shape());
    }
    (size.0 as usize, size.1 as usize)
}

/// Nearest-neighbour resizing of `x` `[N, C, H, W]` by `scale` (PyTorch's
/// `interpolate(x, scale_factor=scale, mode="nearest")`): `[N, C, ⌊H s₀⌋, ⌊W s₁⌋]`, output row i
/// copying input row ⌊i / s₀⌋ (computed in f32, as PyTorch does), and likewise for columns.
///
/// ```
/// use wengert::nn::upsample_nearest_scale;
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 1, 1, 3]).unwrap());
/// // 3 · 1.5 = 4.5 gives 4 columns, reading ⌊j / 1.5⌋ = 0, 0, 1, 2.
/// assert_eq!(upsample_nearest_scale(x, (2.0, 1.5)).value().to_vec(), vec![1.0, 1.0, 2.0, 3.0, 1.0, 1.0, 2.0, 3.0]);
/// ```
///
/// # Panics
///
/// When `x` is not 4-D, a factor is not positive and finite, or it leaves an empty output.
#[track_caller]
pub fn upsample_nearest_scale<'t, F: Float>(x: Var<'t, F>, scale: (f64, f64)) -> Var<'t, F> {
    let size = scaled_size("upsample_nearest", x, scale);
    let [_, _, h, w] = nchw("upsample_nearest", x);
    let pick = |out: usize, len: usize, s: f64| -> Vec<usize> {
        let step = (1.0 / s) as f32;
        (0..out).map(|i| (((i as f32) * step).floor() as usize).min(len - 1)).collect()
    };
    x.index_select(2, &pick(size.0, h, scale.0)).index_select(3, &pick(size.1, w, scale.1))
}

/// Bilinear resizing of `x` `[N, C, H, W]` by `scale` (PyTorch's
/// `interpolate(x, scale_factor=scale, mode="bilinear", align_corners)`): `[N, C, ⌊H s₀⌋, ⌊W s₁⌋]`;
/// without `align_corners` output row i sits at input coordinate (i + ½) / s₀ - ½ (clamped at 0),
/// with it as [`upsample_bilinear`] to that size.
///
/// ```
/// use wengert::nn::upsample_bilinear_scale;
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::from_vec(vec![0.0, 3.0], &[1, 1, 1, 2]).unwrap());
/// assert_eq!(upsample_bilinear_scale(x, (1.0, 2.0), false).value().to_vec(), vec![0.0, 0.75, 2.25, 3.0]);
/// assert_eq!(upsample_bilinear_scale(x, (1.0, 2.0), true).value().to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
/// ```
///
/// # Panics
///
/// When `x` is not 4-D, a factor is not positive and finite, or it leaves an empty output.
#[track_caller]
pub fn upsample_bilinear_scale<'t, F: Float>(
    x: Var<'t, F>,
    scale: (f64, f64),
    align_corners: bool,
) -> Var<'t, F> {
    let size = scaled_size("upsample_bilinear", x, scale);
    bilinear(x, size, align_corners, (1.0 / scale.0, 1.0 / scale.1))
}

/// Rearranges `x` `[N, C, H r, W r]` into `[N, C r², H, W]` (PyTorch's `pixel_unshuffle`), the
/// inverse of [`pixel_shuffle`]: output channel `c r² + a r + b` at (i, j) is input channel c at
/// (i r + a, j r + b). See [`Tensor::pixel_unshuffle`] for the same on tensors.
///
/// ```
/// use wengert::nn::{pixel_shuffle, pixel_unshuffle};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::arange(0.0, 4.0, 1.0).reshape(&[1, 1, 2, 2]).unwrap());
/// let y = pixel_unshuffle(x, 2);
/// assert_eq!((y.shape(), y.value().to_vec()), (vec![1, 4, 1, 1], vec![0.0, 1.0, 2.0, 3.0]));
/// assert_eq!(pixel_shuffle(y, 2).value(), x.value());
/// ```
///
/// # Panics
///
/// When `x` is not 4-D, `factor` is 0, or the height or width is not a multiple of `factor`.
#[track_caller]
pub fn pixel_unshuffle<'t, F: Float>(x: Var<'t, F>, factor: usize) -> Var<'t, F> {
    let [n, c, h, w] = nchw("pixel_unshuffle", x);
    let r = factor;
    if r == 0 || !h.is_multiple_of(r) || !w.is_multiple_of(r) {
        panic!(
            "pixel_unshuffle: input {:?}: height {h} and width {w} must be multiples of the factor {r}",
            x.shape()
        );
    }
    let (ho, wo) = (h / r, w / r);
    x.reshape(&[n, c, ho, r, wo, r]).permute(&[0, 1, 3, 5, 2, 4]).reshape(&[n, c * r * r, ho, wo])
}

#[cfg(test)]
mod tests;
