//! Cumulative ops along one axis and vector norms: `cumsum` (y_k = Σ_{j≤k} x_j), `cumprod`
//! (y_k = Π_{j≤k} x_j), a stable `logcumsumexp` (y_k = ln Σ_{j≤k} e^(x_j), a running logaddexp) and
//! `vector_norm` as `torch.linalg.vector_norm`: (Σ |x|^p)^(1/p), with p = ∞ the largest |x| and
//! p = -∞ the smallest.

use ndarray::Axis;

use crate::float::Float;
use crate::shape_ops::{check_axis, invalid};
use crate::tensor::Tensor;

impl<F: Float> Tensor<F> {
    /// Runs `step(acc, x)` along every lane of `axis`, writing each running value in place.
    #[track_caller]
    fn scan(&self, op: &'static str, axis: usize, step: impl Fn(F, F) -> F) -> Self {
        check_axis(op, axis, self.shape());
        let mut out = self.data.to_owned();
        for mut lane in out.lanes_mut(Axis(axis)) {
            let mut it = lane.iter_mut();
            if let Some(first) = it.next() {
                let mut acc = *first;
                for x in it {
                    acc = step(acc, *x);
                    *x = acc;
                }
            }
        }
        Tensor::from_array(out)
    }

    /// Running sums along `axis`, as `torch.cumsum`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(x.cumsum(0).to_vec(), vec![1.0, 2.0, 4.0, 6.0]);
    /// assert_eq!(x.cumsum(1).to_vec(), vec![1.0, 3.0, 3.0, 7.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn cumsum(&self, axis: usize) -> Self {
        self.scan("cumsum", axis, |acc, x| acc + x)
    }

    /// Running products along `axis`, as `torch.cumprod`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![2.0, 3.0, 0.0, 5.0], &[4]).unwrap();
    /// assert_eq!(x.cumprod(0).to_vec(), vec![2.0, 6.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn cumprod(&self, axis: usize) -> Self {
        self.scan("cumprod", axis, |acc, x| acc * x)
    }

    /// Running `ln Σ e^x` along `axis`, as `torch.logcumsumexp`: each step is a stable logaddexp,
    /// `max + ln(1 + e^(min - max))`, so large inputs do not overflow.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![1000.0, 1000.0], &[2]).unwrap();
    /// let y = x.logcumsumexp(0).to_vec();
    /// assert_eq!(y[0], 1000.0);
    /// assert!((y[1] - (1000.0 + 2f64.ln())).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn logcumsumexp(&self, axis: usize) -> Self {
        self.scan("logcumsumexp", axis, |acc, x| {
            let (hi, lo) = if acc >= x { (acc, x) } else { (x, acc) };
            if lo == F::neg_infinity() { hi } else { hi + (lo - hi).exp().ln_1p() }
        })
    }

    /// The vector `ord`-norm over `axes`, as `torch.linalg.vector_norm(x, ord, dim, keepdim)`:
    /// `(Σ |x|^ord)^(1/ord)` for `ord > 0`, the largest `|x|` for `ord = ∞` and the smallest for
    /// `ord = -∞`. An empty `axes` reduces nothing (unlike PyTorch's `dim=None`, which means all axes:
    /// pass every axis for that).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![3.0, -4.0], &[2]).unwrap();
    /// assert_eq!(x.vector_norm(2.0, &[0], false).item(), 5.0);
    /// assert_eq!(x.vector_norm(1.0, &[0], false).item(), 7.0);
    /// assert_eq!(x.vector_norm(f64::INFINITY, &[0], true).to_vec(), vec![4.0]);
    /// assert_eq!(x.vector_norm(f64::NEG_INFINITY, &[0], false).item(), 3.0);
    /// ```
    ///
    /// # Panics
    ///
    /// When `ord` is not positive (and not -∞) or NaN, or an axis is out of range or repeated, or
    /// (for ±∞) a reduced axis is empty.
    #[track_caller]
    pub fn vector_norm(&self, ord: f64, axes: &[usize], keepdim: bool) -> Self {
        check_ord(ord);
        if ord == 2.0 {
            self.norm_axes(axes, keepdim)
        } else if ord == 1.0 {
            self.abs().sum_axes(axes, keepdim)
        } else if ord == f64::INFINITY {
            self.abs().max_axes(axes, keepdim)
        } else if ord == f64::NEG_INFINITY {
            self.abs().min_axes(axes, keepdim)
        } else {
            let p = F::from_f64(ord);
            self.abs().powf(p).sum_axes(axes, keepdim).powf(F::one() / p)
        }
    }
}

/// Panics unless `ord` is a norm order `vector_norm` takes: positive, or -∞.
#[track_caller]
pub(crate) fn check_ord(ord: f64) {
    if !(ord > 0.0 || ord == f64::NEG_INFINITY) {
        invalid("vector_norm", format!("ord {ord} is not supported: it must be > 0, ∞ or -∞"));
    }
}

#[cfg(test)]
mod tests;
