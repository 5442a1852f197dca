//! Softmax and log-softmax along an axis, stable for large logits:
//! softmax(x) = e^(x - m) / Σ e^(x - m) and log_softmax(x) = x - m - ln Σ e^(x - m), m the max along the axis.
//! Their backward kernels: softmax dx = y ⊙ (g - Σ g ⊙ y), log_softmax dx = g - softmax(x) ⊙ Σ g.
//!
//! Over the last axis every op is one fused pass per contiguous row (no index arithmetic per
//! element), rows on the rayon pool above a threshold, each row computed by one thread in a fixed
//! order, so results do not depend on the pool's size. Other axes take ndarray's lanes.

use ndarray::{ArrayViewMut1, Axis, Zip};

use crate::error::OrPanic;
use crate::float::Float;
use crate::kernel::{PAR_THRESHOLD, from_vec_shaped};
use crate::norm::{for_blocks, rows_per_task};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Row work on at least this many elements runs on the rayon pool. A row's exp costs several
/// elementwise ops, so softmax pays a fork-join earlier than a cheap map does.
const ROWS_PAR_THRESHOLD: usize = PAR_THRESHOLD / 2;

impl<F: Float> Tensor<F> {
    /// Softmax along `axis`: non-negative, summing to 1 along it, finite for logits of ±1e4. An empty
    /// tensor (an empty `axis` included) gives an empty tensor of its shape, as in PyTorch.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let p = Tensor::<f32>::from_vec(vec![1e4, -1e4], &[1, 2]).unwrap().softmax(1);
    /// assert_eq!(p.to_vec(), vec![1.0, 0.0]);
    /// assert_eq!(Tensor::<f32>::zeros(&[2, 0]).softmax(1).shape(), &[2, 0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn softmax(&self, axis: usize) -> Self {
        Shape::check_axis("softmax", axis, self.shape()).or_panic();
        if self.is_empty() {
            return self.clone();
        }
        if axis + 1 == self.ndim() {
            return per_row([self], |[row], out| softmax_row(row, out));
        }
        per_lane(self, axis, |mut lane| {
            let m = lane_max(&lane);
            let mut s = F::zero();
            lane.map_inplace(|v| {
                *v = (*v - m).exp();
                s += *v;
            });
            lane.map_inplace(|v| *v /= s);
        })
    }

    /// Log-softmax along `axis`, `x - logsumexp(x)`, finite for logits of ±1e4; empty for an empty
    /// tensor, as [`Tensor::softmax`].
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn log_softmax(&self, axis: usize) -> Self {
        Shape::check_axis("log_softmax", axis, self.shape()).or_panic();
        if self.is_empty() {
            return self.clone();
        }
        if axis + 1 == self.ndim() {
            return per_row([self], |[row], out| {
                let m = row_max(row);
                let lse = row.iter().fold(F::zero(), |s, &v| s + (v - m).exp()).ln();
                out.iter_mut().zip(row).for_each(|(o, &v)| *o = (v - m) - lse);
            });
        }
        per_lane(self, axis, |mut lane| {
            let m = lane_max(&lane);
            let lse = lane.iter().fold(F::zero(), |s, &v| s + (v - m).exp()).ln();
            lane.map_inplace(|v| *v = (*v - m) - lse);
        })
    }

    /// The gradient of [`Tensor::softmax`] along `axis` at output `self` (`y`), given the output's
    /// gradient `g`: `y ⊙ (g - Σ g ⊙ y)`, the sum along `axis`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f64>::from_vec(vec![0.25, 0.75], &[1, 2]).unwrap();
    /// let g = Tensor::from_vec(vec![1.0, 0.0], &[1, 2]).unwrap();
    /// assert_eq!(y.softmax_backward(&g, 1).to_vec(), vec![0.25 * 0.75, -0.75 * 0.25]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or `g` is not of `self`'s shape.
    #[track_caller]
    pub fn softmax_backward(&self, g: &Self, axis: usize) -> Self {
        check_grad("softmax_backward", self, g, axis);
        if axis + 1 == self.ndim() && !self.is_empty() {
            return per_row([self, g], |[y, g], out| {
                let s = y.iter().zip(g).fold(F::zero(), |s, (&y, &g)| s + g * y);
                out.iter_mut().zip(y.iter().zip(g)).for_each(|(o, (&y, &g))| *o = y * (g - s));
            });
        }
        let s = (g * self).sum_axes(&[axis], true);
        &(g - &s) * self
    }

    /// The gradient of [`Tensor::log_softmax`] along `axis` at input `self` (`x`), given the output's
    /// gradient `g`: `g - softmax(x) ⊙ Σ g`. Taking `x` rather than the output keeps it exact where
    /// the rounding of `log_softmax(x)` is not (logits of 1000 in f32).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![0.0, 0.0], &[1, 2]).unwrap();
    /// let g = Tensor::from_vec(vec![1.0, 0.0], &[1, 2]).unwrap();
    /// assert_eq!(x.log_softmax_backward(&g, 1).to_vec(), vec![0.5, -0.5]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or `g` is not of `self`'s shape.
    #[track_caller]
    pub fn log_softmax_backward(&self, g: &Self, axis: usize) -> Self {
        check_grad("log_softmax_backward", self, g, axis);
        if axis + 1 == self.ndim() && !self.is_empty() {
            return per_row([self, g], |[x, g], out| {
                softmax_row(x, out);
                let s = g.iter().fold(F::zero(), |s, &g| s + g);
                out.iter_mut().zip(g).for_each(|(o, &g)| *o = g - *o * s);
            });
        }
        let s = g.sum_axes(&[axis], true);
        g - &(&self.softmax(axis) * &s)
    }

    /// Softmax over the last axis of the elements where `keep` (broadcast to `self`'s shape) is not
    /// zero; the others get exactly 0, and a row without any kept element is all zeros. Masked
    /// elements may hold anything finite or infinite. Its gradient is [`Tensor::softmax_backward`]
    /// of its output, which is 0 where masked.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 1e30, 1.0, 0.0, 0.0, 0.0], &[2, 3]).unwrap();
    /// let keep = Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.0, 0.0, 0.0], &[2, 3]).unwrap();
    /// assert_eq!(x.masked_softmax(&keep).to_vec(), vec![0.5, 0.0, 0.5, 0.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is 0-D or `keep` does not broadcast to `self`'s shape.
    #[track_caller]
    pub fn masked_softmax(&self, keep: &Self) -> Self {
        let shape = self.shape();
        if shape.is_empty() {
            panic!("masked_softmax: a 0-D input has no axis");
        }
        if Shape::broadcast(keep.shape(), shape).ok().as_deref() != Some(shape) {
            panic!("masked_softmax: mask {:?} does not broadcast to the input {shape:?}", keep.shape());
        }
        if self.is_empty() {
            return self.clone();
        }
        let keep = if keep.shape() == shape { keep.clone() } else { keep.broadcast_to(shape) };
        per_row([self, &keep], |[x, keep], out| {
            let kept = |k: F| k != F::zero();
            let m = x
                .iter()
                .zip(keep)
                .filter(|&(_, &k)| kept(k))
                .fold(F::neg_infinity(), |m, (&v, _)| nan_max(m, v));
            let m = finite_or_zero(m);
            let mut s = F::zero();
            for (o, (&v, &k)) in out.iter_mut().zip(x.iter().zip(keep)) {
                *o = if kept(k) { (v - m).exp() } else { F::zero() };
                s += *o;
            }
            let any = keep.iter().any(|&k| kept(k));
            let s = if any { s } else { s + F::one() };
            out.iter_mut().for_each(|o| *o /= s);
        })
    }
}

/// Panics unless `axis` is in range for `y` and `g` has `y`'s shape.
#[track_caller]
fn check_grad<F: Float>(op: &'static str, y: &Tensor<F>, g: &Tensor<F>, axis: usize) {
    Shape::check_axis(op, axis, y.shape()).or_panic();
    if g.shape() != y.shape() {
        panic!("{op}: gradient of shape {:?} for a value of shape {:?}", g.shape(), y.shape());
    }
}

/// `out` = the stable softmax of `row`.
#[inline]
fn softmax_row<F: Float>(row: &[F], out: &mut [F]) {
    let m = row_max(row);
    let mut s = F::zero();
    for (o, &v) in out.iter_mut().zip(row) {
        *o = (v - m).exp();
        s += *o;
    }
    out.iter_mut().for_each(|o| *o /= s);
}

/// A new contiguous tensor of the first input's shape whose rows along the last axis are filled by
/// `f(the inputs' rows, the output's row)`; the inputs have one shape. Blocks of rows run on the pool
/// above a threshold, each row on one thread.
fn per_row<F: Float, const N: usize>(
    inputs: [&Tensor<F>; N],
    f: impl Fn([&[F]; N], &mut [F]) + Sync + Send,
) -> Tensor<F> {
    let shape = inputs[0].shape();
    let d = shape[shape.len() - 1];
    let owned = inputs.map(Tensor::to_contiguous);
    let slices: [&[F]; N] = std::array::from_fn(|i| owned[i].as_slice().expect("contiguous"));
    let mut out = vec![F::zero(); inputs[0].len()];
    let rows = rows_per_task(d);
    for_blocks(&mut out, rows * d, out_len(&slices) >= ROWS_PAR_THRESHOLD, |blk, chunk| {
        for (i, o) in chunk.chunks_mut(d).enumerate() {
            let start = (blk * rows + i) * d;
            f(slices.map(|s| &s[start..start + d]), o);
        }
    });
    from_vec_shaped(out, shape)
}

fn out_len<F>(slices: &[&[F]]) -> usize {
    slices.first().map_or(0, |s| s.len())
}

/// The shift of a stable softmax over a row: its max (NaN when any element is), 0 when not finite.
#[inline]
fn row_max<F: Float>(row: &[F]) -> F {
    finite_or_zero(row.iter().fold(F::neg_infinity(), |m, &x| nan_max(m, x)))
}

/// `max(m, x)`, NaN when either is.
#[inline]
fn nan_max<F: Float>(m: F, x: F) -> F {
    if x.is_nan() || m.is_nan() { F::nan() } else { m.max(x) }
}

/// A copy of `x` with `f` applied to each lane along `axis` (one pass per lane, no temporaries), on
/// the thread pool for large tensors; each lane is computed serially, so results do not depend on the
/// pool's size.
fn per_lane<F: Float>(
    x: &Tensor<F>,
    axis: usize,
    f: impl Fn(ArrayViewMut1<'_, F>) + Sync + Send,
) -> Tensor<F> {
    let mut out = x.data.to_owned();
    let lanes = Zip::from(out.lanes_mut(Axis(axis)));
    if x.len() >= PAR_THRESHOLD {
        lanes.par_for_each(f);
    } else {
        lanes.for_each(f);
    }
    Tensor::from_array(out)
}

/// The shift of a stable softmax: the lane's max (NaN when any element is), 0 when not finite.
fn lane_max<F: Float>(lane: &ArrayViewMut1<'_, F>) -> F {
    finite_or_zero(lane.iter().fold(F::neg_infinity(), |m, &x| nan_max(m, x)))
}

/// A max of ±inf (a row of -inf, say) would turn the shift into NaN; shifting by 0 keeps inf arithmetic.
fn finite_or_zero<F: Float>(m: F) -> F {
    if m.is_finite() { m } else { F::zero() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one() {
        let x = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0], &[2, 3]).unwrap();
        let p = x.softmax(1);
        let e: Vec<f64> = [1f64, 2.0, 3.0].iter().map(|v| v.exp()).collect();
        let z: f64 = e.iter().sum();
        let want = [e[0] / z, e[1] / z, e[2] / z, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0];
        for (a, b) in p.to_vec().iter().zip(want) {
            assert!((a - b).abs() < 1e-15);
        }
        let col = x.softmax(0).sum_axes(&[0], false).to_vec();
        assert!(col.iter().all(|s| (s - 1.0).abs() < 1e-15));
    }

    #[test]
    fn log_softmax_is_stable_for_huge_logits() {
        let x = Tensor::<f32>::from_vec(vec![1e4, -1e4, 0.0], &[3]).unwrap();
        assert_eq!(x.log_softmax(0).to_vec(), vec![0.0, -2e4, -1e4]);
        let y = Tensor::<f64>::from_vec(vec![1000.0, 1000.0], &[2]).unwrap();
        assert_eq!(y.log_softmax(0).to_vec(), vec![-(2f64.ln()); 2]);
        assert!(
            Tensor::<f32>::from_vec(vec![-1e4, 1e4], &[2])
                .unwrap()
                .softmax(0)
                .to_vec()
                .iter()
                .all(|v| v.is_finite())
        );
    }

    fn t(shape: &[usize], phase: f64) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| ((i as f64 + phase) * 0.731).sin() * 3.0).collect(), shape).unwrap()
    }

    #[test]
    fn the_row_kernels_match_the_lane_kernels_bit_for_bit() {
        // The last axis takes the fused rows; the same values on axis 0 of the transpose take lanes.
        let x = t(&[5, 7], 0.0);
        let xt = x.t().to_contiguous();
        assert_eq!(x.softmax(1).to_vec(), xt.softmax(0).t().to_contiguous().to_vec());
        assert_eq!(x.log_softmax(1).to_vec(), xt.log_softmax(0).t().to_contiguous().to_vec());
    }

    #[test]
    fn the_backward_kernels_match_their_formulas() {
        let (x, g) = (t(&[4, 6], 0.0), t(&[4, 6], 2.0));
        for axis in [0, 1] {
            let y = x.softmax(axis);
            let want = &(&g - &(&g * &y).sum_axes(&[axis], true)) * &y;
            let got = y.softmax_backward(&g, axis);
            let want_log = &g - &(&y * &g.sum_axes(&[axis], true));
            let got_log = x.log_softmax_backward(&g, axis);
            for (a, b) in got
                .to_vec()
                .iter()
                .chain(&got_log.to_vec())
                .zip(want.to_vec().iter().chain(&want_log.to_vec()))
            {
                assert!((a - b).abs() < 1e-14, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn masked_softmax_is_the_softmax_of_the_kept_elements() {
        let x = t(&[2, 3, 4], 1.0);
        let keep =
            Tensor::from_vec(vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0], &[3, 4])
                .unwrap();
        let y = x.masked_softmax(&keep);
        let lowest = Tensor::scalar(-1e300);
        let want = Tensor::where_cond(&keep.ne_mask(&Tensor::scalar(0.0)), &x, &lowest).softmax(2);
        let want = &want * &keep;
        let (y, want) = (y.to_vec(), want.to_vec());
        for i in 0..y.len() {
            let row_empty = (i / 4) % 3 == 1;
            let w = if row_empty { 0.0 } else { want[i] };
            assert!((y[i] - w).abs() < 1e-15, "{i}: {} vs {w}", y[i]);
        }
    }

    #[test]
    #[should_panic(expected = "masked_softmax: mask [3] does not broadcast to the input [2, 4]")]
    fn masked_softmax_names_a_mask_that_does_not_broadcast() {
        t(&[2, 4], 0.0).masked_softmax(&t(&[3], 0.0));
    }

    #[test]
    fn row_kernels_do_not_depend_on_the_pool() {
        let (x, g) = (t(&[400, 64], 0.0).cast::<f32>(), t(&[400, 64], 3.0).cast::<f32>());
        let keep = t(&[64, 64], 5.0).map(|v| if v > 0.0 { 1.0 } else { 0.0 }).cast::<f32>();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let y = x.softmax(1);
                let m = x.reshape(&[100, 4, 64]).unwrap().masked_softmax(&keep.narrow(0, 0, 4));
                [y.softmax_backward(&g, 1), x.log_softmax(1), x.log_softmax_backward(&g, 1), y, m]
                    .map(|r| r.to_vec())
            })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
    }

    #[test]
    fn softmax_of_an_empty_axis_is_empty_as_in_pytorch() {
        for shape in [[2, 0], [0, 3]] {
            let x = Tensor::<f64>::zeros(&shape);
            for axis in 0..2 {
                assert_eq!(x.softmax(axis).shape(), &shape);
                assert_eq!(x.log_softmax(axis).shape(), &shape);
            }
        }
        assert_eq!(Tensor::<f32>::zeros(&[0]).log_softmax(0).to_vec(), Vec::<f32>::new());
    }

    #[test]
    #[should_panic(expected = "log_softmax: axis 2 is out of range for shape [2, 0] (2 dims)")]
    fn log_softmax_of_an_empty_tensor_still_checks_the_axis() {
        Tensor::<f32>::zeros(&[2, 0]).log_softmax(2);
    }

    #[test]
    #[should_panic(expected = "softmax: axis 1 is out of range for shape [3] (1 dims)")]
    fn softmax_names_a_bad_axis() {
        Tensor::<f32>::zeros(&[3]).softmax(1);
    }
}
