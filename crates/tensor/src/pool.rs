//! Pooling of NCHW images: `max_pool2d` (with the arg-max indices), `avg_pool2d`, `adaptive_avg_pool2d`,
//! and the adjoints of the two averages (public so that rules can differentiate them again).
//!
//! max / avg: window `(i, j)` covers rows `i·s₀ - p₀ ..+ kh` and columns `j·s₁ - p₁ ..+ kw` of the input
//! padded by `p` (−∞ for max, zeros for avg, which always divides by `kh·kw`, PyTorch's
//! `count_include_pad`); output size `⌊(H + 2p - k) / s⌋ + 1`. Adaptive: window `i` of `Ho` covers rows
//! `⌊i·H / Ho⌋ .. ⌈(i + 1)·H / Ho⌉` and divides by its own size (PyTorch's formula).

use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

use crate::alloc;
use crate::float::Float;
use crate::kernel::PAR_THRESHOLD;
use crate::shape_ops::invalid;
use crate::tensor::Tensor;

/// Settings of [`Tensor::max_pool2d`] and [`Tensor::avg_pool2d`], as `(rows, columns)` pairs: the
/// window, the stride (by default the window, as in PyTorch) and the padding on each side (at most
/// half the window).
///
/// ```
/// use wengert_tensor::Pool2dOptions;
/// let opts = Pool2dOptions::new((3, 3)).stride((2, 2)).padding((1, 1));
/// assert_eq!((opts.kernel, opts.stride, opts.padding), ((3, 3), (2, 2), (1, 1)));
/// assert_eq!(Pool2dOptions::new((2, 2)).stride, (2, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool2dOptions {
    /// The window's rows and columns.
    pub kernel: (usize, usize),
    /// The step between windows.
    pub stride: (usize, usize),
    /// The padding above and below (`.0`), left and right (`.1`).
    pub padding: (usize, usize),
}

impl Pool2dOptions {
    /// Windows of `kernel`, stepped by `kernel` (non-overlapping), without padding.
    pub fn new(kernel: (usize, usize)) -> Self {
        Pool2dOptions { kernel, stride: kernel, padding: (0, 0) }
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
    fn window(out: usize, k: usize, s: usize, p: usize, len: usize) -> Spans {
        let spans = (0..out)
            .map(|i| {
                let start = (i * s).saturating_sub(p);
                // Saturating: where `i·s + k` overflows, its excess over `p ≤ k/2` is past any length.
                (start.min(len), (i * s).saturating_add(k).saturating_sub(p).min(len))
            })
            .collect();
        Spans { spans, div: vec![k; out] }
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
    // With 2p ≤ k, `k - 2p` cannot overflow, where `h + 2p` could.
    let (rows, cols) = (kh - 2 * ph, kw - 2 * pw);
    if rows > h || cols > w {
        invalid(
            op,
            format!(
                "input {shape:?}: kernel {:?} is larger than the input padded by {:?}",
                o.kernel, o.padding
            ),
        );
    }
    ((h - rows) / sh + 1, (w - cols) / sw + 1)
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
    /// use wengert_tensor::{Pool2dOptions, Tensor};
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
        let pick = |p: usize, y: &mut [(F, usize)]| {
            let plane = &src[p * h * w..(p + 1) * h * w];
            for (i, row) in y.chunks_mut(wo).enumerate() {
                let (y0, y1) =
                    ((i * sh).saturating_sub(ph), (i * sh).saturating_add(kh).saturating_sub(ph).min(h));
                for (j, cell) in row.iter_mut().enumerate() {
                    let (x0, x1) =
                        ((j * sw).saturating_sub(pw), (j * sw).saturating_add(kw).saturating_sub(pw).min(w));
                    let mut best = (F::neg_infinity(), y0 * w + x0);
                    for r in y0..y1 {
                        for (q, &v) in plane[r * w + x0..r * w + x1].iter().enumerate() {
                            if v > best.0 || (v.is_nan() && !best.0.is_nan()) {
                                best = (v, r * w + x0 + q);
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
    /// and every window divides by `kh · kw` (PyTorch's default, `count_include_pad`).
    ///
    /// ```
    /// use wengert_tensor::{Pool2dOptions, Tensor};
    /// let x = Tensor::<f32>::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]).unwrap();
    /// assert_eq!(x.avg_pool2d(&Pool2dOptions::new((2, 2))).to_vec(), vec![2.5, 4.5, 10.5, 12.5]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::max_pool2d`].
    #[track_caller]
    pub fn avg_pool2d(&self, opts: &Pool2dOptions) -> Self {
        let (ho, wo) = pool_out("avg_pool2d", self.shape(), opts);
        let (rows, cols) = window_spans(self.shape(), (ho, wo), opts);
        average(self, &rows, &cols)
    }

    /// The adjoint of [`Tensor::avg_pool2d`] on an input of `input` rows and columns: each element of
    /// `self` (an array of the pooled shape, such as the output's gradient) divided by `kh · kw` and
    /// added over its window.
    ///
    /// ```
    /// use wengert_tensor::{Pool2dOptions, Tensor};
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
    /// use wengert_tensor::Tensor;
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
    /// use wengert_tensor::Tensor;
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
        Spans::window(ho, o.kernel.0, o.stride.0, o.padding.0, h),
        Spans::window(wo, o.kernel.1, o.stride.1, o.padding.1, w),
    )
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

#[cfg(test)]
mod tests;
