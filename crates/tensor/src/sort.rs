//! Sorting along an axis, as PyTorch's: `argsort`, `sort` (values and indices) and `topk`. Sorts
//! are stable and place NaN after every number (before, descending), as `torch.sort`.

use std::cmp::Ordering;

use ndarray::{ArrayD, Axis, IxDyn, Slice};

use crate::float::Float;
use crate::shape_ops::{check_axis, invalid};
use crate::tensor::Tensor;

/// `a` before `b` ascending: numbers in order, NaN last.
fn ascending<F: Float>(a: F, b: F) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.partial_cmp(&b).expect("numbers compare"),
        (a_nan, b_nan) => a_nan.cmp(&b_nan),
    }
}

impl<F: Float> Tensor<F> {
    /// The indices that sort each lane along `axis`, as `torch.argsort(x, axis, descending,
    /// stable=True)`: equal elements keep their order; NaN sorts as the largest.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![3.0, 1.0, 2.0, 1.0], &[4]).unwrap();
    /// assert_eq!(x.argsort(0, false).into_raw_vec_and_offset().0, vec![1, 3, 2, 0]);
    /// assert_eq!(x.argsort(0, true).into_raw_vec_and_offset().0, vec![0, 2, 1, 3]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn argsort(&self, axis: usize, descending: bool) -> ArrayD<usize> {
        check_axis("argsort", axis, self.shape());
        let mut out = ArrayD::<usize>::zeros(IxDyn(self.shape()));
        for (mut to, lane) in out.lanes_mut(Axis(axis)).into_iter().zip(self.data.lanes(Axis(axis))) {
            let mut order: Vec<usize> = (0..lane.len()).collect();
            if descending {
                order.sort_by(|&i, &j| ascending(lane[j], lane[i]));
            } else {
                order.sort_by(|&i, &j| ascending(lane[i], lane[j]));
            }
            for (t, i) in to.iter_mut().zip(order) {
                *t = i;
            }
        }
        out
    }

    /// Each lane along `axis` sorted, with the indices that sort it, as `torch.sort(x, axis,
    /// descending, stable=True)`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![3.0, 1.0, 2.0], &[3]).unwrap();
    /// let (values, indices) = x.sort(0, true);
    /// assert_eq!(values.to_vec(), vec![3.0, 2.0, 1.0]);
    /// assert_eq!(indices.into_raw_vec_and_offset().0, vec![0, 2, 1]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn sort(&self, axis: usize, descending: bool) -> (Self, ArrayD<usize>) {
        let idx = self.argsort(axis, descending);
        (self.gather(axis, &idx), idx)
    }

    /// The `k` largest (or, with `largest = false`, smallest) entries of each lane along `axis`,
    /// in order, with their indices, as `torch.topk(x, k, axis, largest, sorted=True)`; ties keep
    /// their order.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 4.0, 2.0, 3.0], &[4]).unwrap();
    /// let (values, indices) = x.topk(2, 0, true);
    /// assert_eq!(values.to_vec(), vec![4.0, 3.0]);
    /// assert_eq!(indices.into_raw_vec_and_offset().0, vec![1, 3]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or `k` exceeds its length.
    #[track_caller]
    pub fn topk(&self, k: usize, axis: usize, largest: bool) -> (Self, ArrayD<usize>) {
        let idx = topk_indices(self, k, axis, largest);
        (self.gather(axis, &idx), idx)
    }
}

/// The indices of `topk`: the first `k` of `argsort` along `axis`.
#[track_caller]
pub(crate) fn topk_indices<F: Float>(x: &Tensor<F>, k: usize, axis: usize, largest: bool) -> ArrayD<usize> {
    check_axis("topk", axis, x.shape());
    let n = x.shape()[axis];
    if k > n {
        invalid("topk", format!("k = {k} exceeds the length {n} of axis {axis} of shape {:?}", x.shape()));
    }
    let idx = x.argsort(axis, largest);
    idx.slice_axis(Axis(axis), Slice::from(0..k)).to_owned()
}

#[cfg(test)]
mod tests;
