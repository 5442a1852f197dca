//! Pooling of NCHW images: `max_pool2d` (with the arg-max indices), `avg_pool2d`, `adaptive_avg_pool2d`,
//! and the adjoints of the two averages (public so that rules can differentiate them again).
//!
//! max / avg: window `(i, j)` covers rows `i·s₀ - p₀ + a·d₀` for `a < kh` (d the dilation, max only)
//! and likewise columns of the input padded by `p` (−∞ for max, zeros for avg); output size
//! `⌊(H + 2p - d(k - 1) - 1) / s⌋ + 1`, or with `ceil_mode` `⌈..⌉ + 1` less one where the last
//! window would start past the input and its left padding (PyTorch's rule). avg divides by the
//! window's part inside the padded input (`kh·kw` but at a ceil-mode edge: `count_include_pad`,
//! PyTorch's default) or inside the input only. Adaptive: window `i` of `Ho` covers rows
//! `⌊i·H / Ho⌋ .. ⌈(i + 1)·H / Ho⌉` and divides by its own size (PyTorch's formula).

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::alloc;
use crate::float::Float;
use crate::kernel::PAR_THRESHOLD;
use crate::shape_ops::invalid;
use crate::tensor::Tensor;

/// Settings of [`Tensor::max_pool2d`] and [`Tensor::avg_pool2d`], as `(rows, columns)` pairs: the
/// window, the stride (by default the window, as in PyTorch), the padding on each side (at most
/// half the window) and the dilation (max pooling only); and PyTorch's `ceil_mode` (false) and
/// `count_include_pad` (true).
///
/// ```
/// use wengert::tensor::Pool2dOptions;
/// let opts = Pool2dOptions::new((3, 3)).stride((2, 2)).padding((1, 1));
/// assert_eq!((opts.kernel, opts.stride, opts.padding), ((3, 3), (2, 2), (1, 1)));
/// assert_eq!(Pool2dOptions::new((2, 2)).stride, (2, 2));
/// let opts = opts.dilation((2, 1)).ceil_mode(true).count_include_pad(false);
/// assert_eq!((opts.dilation, opts.ceil_mode, opts.count_include_pad), ((2, 1), true, false));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool2dOptions {
    /// The window's rows and columns.
    pub kernel: (usize, usize),
    /// The step between windows.
    pub stride: (usize, usize),
    /// The padding above and below (`.0`), left and right (`.1`).
    pub padding: (usize, usize),
    /// The step between a window's elements (1 for adjacent ones); max pooling only.
    pub dilation: (usize, usize),
    /// Round the output size up rather than down, so that a last partial window counts.
    pub ceil_mode: bool,
    /// Average pooling divides by the window's part inside the padded input (true) or inside the
    /// input (false).
    pub count_include_pad: bool,
}

impl Pool2dOptions {
    /// Windows of `kernel`, stepped by `kernel` (non-overlapping), without padding.
    pub fn new(kernel: (usize, usize)) -> Self {
        Pool2dOptions {
            kernel,
            stride: kernel,
            padding: (0, 0),
            dilation: (1, 1),
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    /// With dilation `d` (max pooling only).
    pub fn dilation(mut self, d: (usize, usize)) -> Self {
        self.dilation = d;
        self
    }

    /// With the output size rounded up (`true`) or down.
    pub fn ceil_mode(mut self, ceil: bool) -> Self {
        self.ceil_mode = ceil;
        self
    }

    /// Averages divide by the window's part in the padded input (`true`) or in the input.
    pub fn count_include_pad(mut self, include: bool) -> Self {
        self.count_include_pad = include;
        self
    }

    /// With stride `s`.
    pub fn stride(mut self, s: (usize, usize)) -> Self {
        self.stride = s;
        self
    }

    /// With padding `p`.
    pub fn padding(mut self, p: (usize, usize)) -> Self {
        self.padding = p;
        self
    }
}

/// The windows along one axis: `(start, end)` in the input, clipped to it, and the divisor.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Spans {
    spans: Vec<(usize, usize)>,
    div: Vec<usize>,
}

impl Spans {
    fn window(out: usize, k: usize, s: usize, p: usize, len: usize, include_pad: bool) -> Spans {
        let (mut spans, mut div) = (Vec::with_capacity(out), Vec::with_capacity(out));
        for i in 0..out {
            // In padded coordinates the window is `i·s .. i·s + k`, clipped to the padded input.
            // Saturating: where `i·s + k` overflows, its excess over `p ≤ k/2` is past any length.
            let end_padded = (i * s).saturating_add(k).min(len.saturating_add(2 * p));
            let span = ((i * s).saturating_sub(p).min(len), end_padded.saturating_sub(p).min(len));
            div.push(if include_pad { end_padded - i * s } else { (span.1 - span.0).max(1) });
            spans.push(span);
        }
        Spans { spans, div }
    }

    fn adaptive(out: usize, len: usize) -> Spans {
        // In u128, where `i · len` cannot overflow; the bounds are at most `len`.
        let at = |i: usize, up: bool| {
            let (p, q) = (i as u128 * len as u128, out as u128);
            (if up { p.div_ceil(q) } else { p / q }) as usize
        };
        let spans: Vec<(usize, usize)> = (0..out).map(|i| (at(i, false), at(i + 1, true))).collect();
        let div = spans.iter().map(|&(a, b)| (b - a).max(1)).collect();
        Spans { spans, div }
    }
}

/// `[n, c, h, w]` of a 4-D shape, or a panic naming `op`.
#[track_caller]
fn nchw(op: &'static str, s: &[usize]) -> [usize; 4] {
    match *s {
        [n, c, h, w] => [n, c, h, w],
        _ => invalid(op, format!("input {s:?} must be 4-D [N, C, H, W]")),
    }
}

/// Checks a window pooling of an `[.., h, w]` input and returns the output size.
#[track_caller]
fn pool_out(op: &'static str, shape: &[usize], o: &Pool2dOptions) -> (usize, usize) {
    let [_, _, h, w] = nchw(op, shape);
    let ((kh, kw), (sh, sw), (ph, pw)) = (o.kernel, o.stride, o.padding);
    if kh == 0 || kw == 0 || sh == 0 || sw == 0 {
        invalid(
            op,
            format!("input {shape:?}: kernel {:?} and stride {:?} must be positive", o.kernel, o.stride),
        );
    }
    if o.dilation.0 == 0 || o.dilation.1 == 0 {
        invalid(op, format!("input {shape:?}: dilation {:?} must be positive", o.dilation));
    }
    // `p > k / 2` is `2p > k` without the overflow of `2p`.
    if ph > kh / 2 || pw > kw / 2 {
        invalid(
            op,
            format!(
                "input {shape:?}: padding {:?} must be at most half the kernel {:?}",
                o.padding, o.kernel
            ),
        );
    }
    // The dilated extent d(k - 1) + 1 ≥ k ≥ 2p, so `extent - 2p` cannot overflow, where `h + 2p` could.
    let extent = |k: usize, d: usize| d.saturating_mul(k - 1).saturating_add(1);
    let (rows, cols) = (extent(kh, o.dilation.0) - 2 * ph, extent(kw, o.dilation.1) - 2 * pw);
    if rows > h || cols > w {
        invalid(
            op,
            format!(
                "input {shape:?}: kernel {:?}{} is larger than the input padded by {:?}",
                o.kernel,
                if o.dilation == (1, 1) { String::new() } else { format!(" dilated by {:?}", o.dilation) },
                o.padding
            ),
        );
    }
    let size = |len: usize, span: usize, s: usize, p: usize| {
        if !o.ceil_mode {
            return span / s + 1;
        }
        let out = span.div_ceil(s) + 1;
        // The last window must start inside the input or its left padding.
        if (out - 1) * s >= len.saturating_add(p) { out - 1 } else { out }
    };
    (size(h, h - rows, sh, ph), size(w, w - cols, sw, pw))
}

/// Runs `f(plane index, output plane)` over the planes of `out` (`size` elements each), on the rayon
/// pool when the work is large; each plane is written by one call only.
fn planes<F: Float>(out: &mut [F], size: usize, work: usize, f: impl Fn(usize, &mut [F]) + Sync) {
    if size == 0 {
        return;
    }
    if work >= PAR_THRESHOLD {
        out.par_chunks_mut(size).enumerate().for_each(|(i, p)| f(i, p));
    } else {
        out.chunks_mut(size).enumerate().for_each(|(i, p)| f(i, p));
    }
}

/// The weighted window sums of every plane of `x` (`[n, c, h, w]`, contiguous): `[n, c, rows, cols]`.
fn average<F: Float>(x: &Tensor<F>, rows: &Spans, cols: &Spans) -> Tensor<F> {
    let [n, c, h, w] = nchw("avg_pool2d", x.shape());
    let x = x.to_contiguous();
    let src = x.as_slice().expect("contiguous");
    let (ho, wo) = (rows.spans.len(), cols.spans.len());
    let mut out = vec![F::zero(); n * c * ho * wo];
    planes(&mut out, ho * wo, n * c * h * w, |p, y| {
        let plane = &src[p * h * w..(p + 1) * h * w];
        for (i, &(y0, y1)) in rows.spans.iter().enumerate() {
            for (j, &(x0, x1)) in cols.spans.iter().enumerate() {
                let mut s = F::zero();
                for r in y0..y1 {
                    s += plane[r * w + x0..r * w + x1].iter().copied().sum::<F>();
                }
                y[i * wo + j] = s / F::from_usize(rows.div[i] * cols.div[j]);
            }
        }
    });
    Tensor::from_vec(out, &[n, c, ho, wo]).expect("the output has its size")
}

/// The adjoint of [`average`]: each element of `g` (`[n, c, rows, cols]`) spread over its window of an
/// `[n, c, h, w]` result.
fn spread<F: Float>(g: &Tensor<F>, (h, w): (usize, usize), rows: &Spans, cols: &Spans) -> Tensor<F> {
    let [n, c, ho, wo] = nchw("avg_pool2d_adjoint", g.shape());
    let g = g.to_contiguous();
    let src = g.as_slice().expect("contiguous");
    let mut out = vec![F::zero(); n * c * h * w];
    planes(&mut out, h * w, n * c * h * w, |p, dx| {
        let plane = &src[p * ho * wo..(p + 1) * ho * wo];
        for (i, &(y0, y1)) in rows.spans.iter().enumerate() {
            for (j, &(x0, x1)) in cols.spans.iter().enumerate() {
                let v = plane[i * wo + j] / F::from_usize(rows.div[i] * cols.div[j]);
                for r in y0..y1 {
                    dx[r * w + x0..r * w + x1].iter_mut().for_each(|d| *d += v);
                }
            }
        }
    });
    Tensor::from_vec(out, &[n, c, h, w]).expect("the output has its size")
}

impl<F: Float> Tensor<F> {
    /// The maximum of each window of every channel of `self`, `[N, C, H, W]`, and where it is: the
    /// index `row · W + column` of the arg-max in its `H x W` plane (PyTorch's convention), the first
    /// in row-major order on ties. A NaN in a window is its maximum.
    ///
    /// ```
    /// use wengert::tensor::{Pool2dOptions, Tensor};
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 5.0, 2.0, 5.0, 0.0, 3.0, 4.0, 4.0, 4.0], &[1, 1, 3, 3]).unwrap();
    /// let (y, index) = x.max_pool2d(&Pool2dOptions::new((2, 2)).stride((1, 1)));
    /// assert_eq!(y.to_vec(), vec![5.0, 5.0, 5.0, 4.0]);
    /// assert_eq!(index.iter().copied().collect::<Vec<_>>(), vec![1, 1, 3, 7]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is not 4-D, the kernel or stride has a 0, the padding is more than half the kernel,
    /// or the kernel is larger than the padded input.
    #[track_caller]
    pub fn max_pool2d(&self, opts: &Pool2dOptions) -> (Self, ArrayD<usize>) {
        let (ho, wo) = pool_out("max_pool2d", self.shape(), opts);
        let [n, c, h, w] = nchw("max_pool2d", self.shape());
        let x = self.to_contiguous();
        let src = x.as_slice().expect("contiguous");
        let mut out = vec![(F::zero(), 0usize); n * c * ho * wo];
        let ((kh, kw), (sh, sw), (ph, pw)) = (opts.kernel, opts.stride, opts.padding);
        let (dh, dw) = opts.dilation;
        // The input rows (columns) of window `i`: `i·s - p + a·d` for `a < k`, where inside.
        let taps = |i: usize, s: usize, p: usize, k: usize, d: usize, len: usize| {
            (0..k).filter_map(move |a| (i * s + a * d).checked_sub(p).filter(|&r| r < len))
        };
        let pick = |p: usize, y: &mut [(F, usize)]| {
            let plane = &src[p * h * w..(p + 1) * h * w];
            for (i, row) in y.chunks_mut(wo).enumerate() {
                for (j, cell) in row.iter_mut().enumerate() {
                    let first = |i, s, p, k, d, len| taps(i, s, p, k, d, len).next().unwrap_or(0);
                    let mut best =
                        (F::neg_infinity(), first(i, sh, ph, kh, dh, h) * w + first(j, sw, pw, kw, dw, w));
                    for r in taps(i, sh, ph, kh, dh, h) {
                        for q in taps(j, sw, pw, kw, dw, w) {
                            let v = plane[r * w + q];
                            if v > best.0 || (v.is_nan() && !best.0.is_nan()) {
                                best = (v, r * w + q);
                            }
                        }
                    }
                    *cell = best;
                }
            }
        };
        if ho * wo > 0 && n * c * h * w >= PAR_THRESHOLD {
            out.par_chunks_mut(ho * wo).enumerate().for_each(|(p, y)| pick(p, y));
        } else if ho * wo > 0 {
            out.chunks_mut(ho * wo).enumerate().for_each(|(p, y)| pick(p, y));
        }
        let (values, index): (Vec<F>, Vec<usize>) = out.into_iter().unzip();
        let shape = [n, c, ho, wo];
        let index = ArrayD::from_shape_vec(IxDyn(&shape), index).expect("the index has the output's size");
        (Tensor::from_vec(values, &shape).expect("the output has its size"), index)
    }

    /// The mean of each window of every channel of `self`, `[N, C, H, W]`; padding counts as zeros
    /// and every window divides by `kh · kw` (PyTorch's default, `count_include_pad`; a ceil-mode
    /// window past the padded input divides by its part inside it), or without `count_include_pad`
    /// by the number of input elements it covers.
    ///
    /// ```
    /// use wengert::tensor::{Pool2dOptions, Tensor};
    /// let x = Tensor::<f32>::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]).unwrap();
    /// assert_eq!(x.avg_pool2d(&Pool2dOptions::new((2, 2))).to_vec(), vec![2.5, 4.5, 10.5, 12.5]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::max_pool2d`], and when the dilation is not `(1, 1)` (PyTorch's average pooling
    /// has none).
    #[track_caller]
    pub fn avg_pool2d(&self, opts: &Pool2dOptions) -> Self {
        check_no_dilation("avg_pool2d", self.shape(), opts);
        let (ho, wo) = pool_out("avg_pool2d", self.shape(), opts);
        let (rows, cols) = window_spans(self.shape(), (ho, wo), opts);
        average(self, &rows, &cols)
    }

    /// The adjoint of [`Tensor::avg_pool2d`] on an input of `input` rows and columns: each element of
    /// `self` (an array of the pooled shape, such as the output's gradient) divided by `kh · kw` and
    /// added over its window.
    ///
    /// ```
    /// use wengert::tensor::{Pool2dOptions, Tensor};
    /// let g = Tensor::<f32>::ones(&[1, 1, 1, 2]);
    /// let dx = g.avg_pool2d_adjoint((2, 4), &Pool2dOptions::new((2, 2)));
    /// assert_eq!(dx.to_vec(), vec![0.25; 8]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::max_pool2d`] for an input of that size, and when `self` is not the output's shape.
    #[track_caller]
    pub fn avg_pool2d_adjoint(&self, input: (usize, usize), opts: &Pool2dOptions) -> Self {
        let [n, c, ..] = nchw("avg_pool2d_adjoint", self.shape());
        let shape = [n, c, input.0, input.1];
        check_no_dilation("avg_pool2d_adjoint", &shape, opts);
        let out = pool_out("avg_pool2d_adjoint", &shape, opts);
        check_grad("avg_pool2d_adjoint", self.shape(), &shape, out);
        alloc::check_room::<F>("avg_pool2d_adjoint", &shape);
        let (rows, cols) = window_spans(&shape, out, opts);
        spread(self, input, &rows, &cols)
    }

    /// The mean over `output.0 x output.1` adaptive windows of every channel of `self`,
    /// `[N, C, H, W]` to `[N, C, output.0, output.1]`: window `i` covers rows `⌊i·H / Ho⌋` up to
    /// `⌈(i + 1)·H / Ho⌉` (PyTorch's formula), and likewise for columns.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::arange(0.0, 6.0, 1.0).reshape(&[1, 1, 2, 3]).unwrap();
    /// assert_eq!(x.adaptive_avg_pool2d((1, 2)).to_vec(), vec![2.0, 3.0]);
    /// assert_eq!(x.adaptive_avg_pool2d((1, 1)).to_vec(), vec![2.5]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is not 4-D, an output size is 0 while the input's is not, or the output cannot be
    /// held (it has too many elements, or the allocator refuses it).
    #[track_caller]
    pub fn adaptive_avg_pool2d(&self, output: (usize, usize)) -> Self {
        let [_, _, h, w] = nchw("adaptive_avg_pool2d", self.shape());
        check_adaptive::<F>("adaptive_avg_pool2d", self.shape(), output);
        average(self, &Spans::adaptive(output.0, h), &Spans::adaptive(output.1, w))
    }

    /// The adjoint of [`Tensor::adaptive_avg_pool2d`] to an input of `input` rows and columns: each
    /// element of `self` (an array of the pooled shape, such as the output's gradient) divided by its
    /// window's size and added over it.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let g = Tensor::<f32>::ones(&[1, 1, 1, 1]);
    /// assert_eq!(g.adaptive_avg_pool2d_adjoint((2, 2)).to_vec(), vec![0.25; 4]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is not 4-D, an output size is 0 while the input's is not, or the input's shape
    /// cannot be held.
    #[track_caller]
    pub fn adaptive_avg_pool2d_adjoint(&self, input: (usize, usize)) -> Self {
        let [n, c, ho, wo] = nchw("adaptive_avg_pool2d_adjoint", self.shape());
        check_adaptive::<F>("adaptive_avg_pool2d_adjoint", &[n, c, input.0, input.1], (ho, wo));
        alloc::check_room::<F>("adaptive_avg_pool2d_adjoint", &[n, c, input.0, input.1]);
        spread(self, input, &Spans::adaptive(ho, input.0), &Spans::adaptive(wo, input.1))
    }
}

/// The window spans of a pooling of `shape` to `out` rows and columns.
fn window_spans(shape: &[usize], (ho, wo): (usize, usize), o: &Pool2dOptions) -> (Spans, Spans) {
    let (h, w) = (shape[2], shape[3]);
    (
        Spans::window(ho, o.kernel.0, o.stride.0, o.padding.0, h, o.count_include_pad),
        Spans::window(wo, o.kernel.1, o.stride.1, o.padding.1, w, o.count_include_pad),
    )
}

/// Panics unless the dilation of an average pooling is `(1, 1)`.
#[track_caller]
fn check_no_dilation(op: &'static str, shape: &[usize], o: &Pool2dOptions) {
    if o.dilation != (1, 1) {
        invalid(op, format!("input {shape:?}: dilation {:?} is for max pooling only", o.dilation));
    }
}

/// Panics unless `grad` is `[n, c, out.0, out.1]` for an input of `shape`.
#[track_caller]
fn check_grad(op: &'static str, grad: &[usize], shape: &[usize], out: (usize, usize)) {
    if grad[2..] != [out.0, out.1] {
        invalid(
            op,
            format!(
                "grad {grad:?} is not the output {:?} of an input {shape:?}",
                [shape[0], shape[1], out.0, out.1]
            ),
        );
    }
}

/// Panics when an output size is 0 for an input size that is not, or the output cannot be held.
#[track_caller]
fn check_adaptive<F: Float>(op: &'static str, shape: &[usize], output: (usize, usize)) {
    if (output.0 == 0 && shape[2] > 0) || (output.1 == 0 && shape[3] > 0) {
        invalid(op, format!("input {shape:?}: output size {output:?} must be positive"));
    }
    alloc::check_room::<F>(op, &[shape[0], shape[1], output.0, output.1]);
}

mod one_d;

pub use one_d::Pool1dOptions;

#[cfg(test)]
mod tests;
