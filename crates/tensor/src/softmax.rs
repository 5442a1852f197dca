//! Softmax and log-softmax along an axis, stable for large logits:
//! softmax(x) = e^(x - m) / Σ e^(x - m) and log_softmax(x) = x - m - ln Σ e^(x - m), m the max along the axis.

use ndarray::{ArrayViewMut1, Axis, Zip};

use crate::error::OrPanic;
use crate::float::Float;
use crate::kernel::PAR_THRESHOLD;
use crate::shape::Shape;
use crate::tensor::Tensor;

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
        per_lane(self, axis, |mut lane| {
            let m = lane_max(&lane);
            let lse = lane.iter().fold(F::zero(), |s, &v| s + (v - m).exp()).ln();
            lane.map_inplace(|v| *v = (*v - m) - lse);
        })
    }
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
    let m = lane
        .iter()
        .fold(F::neg_infinity(), |m, &x| if x.is_nan() || m.is_nan() { F::nan() } else { m.max(x) });
    finite_or_zero(m)
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
