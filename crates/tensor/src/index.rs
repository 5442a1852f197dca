//! Index ops: `index_select`, `gather` and its adjoint `scatter_add`, `scatter` (overwrite) and `one_hot`.
//!
//! For `axis = 0`, `gather` is `out[i][j] = x[index[i][j]][j]` and `scatter_add` is
//! `out[index[i][j]][j] += src[i][j]`, as in PyTorch; the gradient of `gather` scatters back.

use ndarray::{ArrayD, Axis, Dimension};

use crate::alloc;
use crate::float::Float;
use crate::shape_ops::{check_axis, invalid};
use crate::tensor::Tensor;

/// Row-major strides of `shape`, in elements.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut out = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        out[i] = out[i + 1] * shape[i + 1];
    }
    out
}

/// Checks an `index` array for `gather` / `scatter_add` on `shape` (and `src`, for scatter).
#[track_caller]
fn check_index(op: &'static str, axis: usize, shape: &[usize], index: &ArrayD<usize>, src: Option<&[usize]>) {
    check_axis(op, axis, shape);
    let ix = index.shape();
    if ix.len() != shape.len() {
        invalid(op, format!("index of shape {ix:?} must have as many dims as shape {shape:?}"));
    }
    for d in 0..ix.len() {
        if d != axis && ix[d] > shape[d] {
            invalid(
                op,
                format!(
                    "index of shape {ix:?} exceeds shape {shape:?} on axis {d} (not the op's axis {axis})"
                ),
            );
        }
    }
    if let Some(src) = src
        && (src.len() != ix.len() || ix.iter().zip(src).any(|(i, s)| i > s))
    {
        invalid(op, format!("index of shape {ix:?} exceeds src of shape {src:?}"));
    }
    let d = shape[axis];
    if let Some((at, &i)) = index.indexed_iter().find(|&(_, &i)| i >= d) {
        invalid(
            op,
            format!(
                "index {i} at {:?} is out of range for axis {axis} of length {d} in shape {shape:?}",
                at.slice()
            ),
        );
    }
}

/// Calls `f(index position, offset in self, offset in src)` for every element of `index`, where
/// both offsets are row-major into contiguous buffers of `shape` and `src`.
fn for_each_target(
    axis: usize,
    shape: &[usize],
    src: &[usize],
    index: &ArrayD<usize>,
    mut f: impl FnMut(usize, usize),
) {
    let (st, ss) = (strides(shape), strides(src));
    for (at, &i) in index.indexed_iter() {
        let (mut to, mut from) = (0, 0);
        for (d, &p) in at.slice().iter().enumerate() {
            to += if d == axis { i } else { p } * st[d];
            from += p * ss[d];
        }
        f(to, from);
    }
}

impl<F: Float> Tensor<F> {
    /// The entries `indices` of `axis`, in that order (repeats allowed).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::arange(0.0, 6.0, 1.0).reshape(&[3, 2]).unwrap();
    /// assert_eq!(a.index_select(0, &[2, 0, 2]).to_vec(), vec![4.0, 5.0, 0.0, 1.0, 4.0, 5.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or an index is not below its dimension.
    #[track_caller]
    pub fn index_select(&self, axis: usize, indices: &[usize]) -> Self {
        check_axis("index_select", axis, self.shape());
        let d = self.shape()[axis];
        if let Some((at, &i)) = indices.iter().enumerate().find(|&(_, &i)| i >= d) {
            invalid(
                "index_select",
                format!(
                    "index {i} at position {at} is out of range for axis {axis} of length {d} in shape {:?}",
                    self.shape()
                ),
            );
        }
        Self::from_array(self.data.select(Axis(axis), indices))
    }

    /// Picks along `axis` by `index` (PyTorch's `gather`): the result has `index`'s shape and, for
    /// `axis = 1`, `out[i][j][k] = self[i][index[i][j][k]][k]`.
    ///
    /// `index` has as many dims as `self`, and is no larger than `self` on the other axes.
    ///
    /// ```
    /// use wengert::tensor::{Tensor, ndarray::arr2};
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let index = arr2(&[[1, 1], [0, 1]]).into_dyn();
    /// assert_eq!(x.gather(1, &index).to_vec(), vec![2.0, 2.0, 3.0, 4.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range, `index` has the wrong number of dims or is too large on
    /// another axis, or an index is not below the dimension of `axis`.
    #[track_caller]
    pub fn gather(&self, axis: usize, index: &ArrayD<usize>) -> Self {
        check_index("gather", axis, self.shape(), index, None);
        let x = self.to_contiguous();
        let xs = x.as_slice().expect("contiguous");
        let mut out = Vec::with_capacity(index.len());
        for_each_target(axis, self.shape(), index.shape(), index, |at, _| out.push(xs[at]));
        Self::from_vec(out, index.shape()).expect("one element per index")
    }

    /// A copy of `self` with `src` added at the positions `index` names along `axis` (PyTorch's
    /// `scatter_add`): for `axis = 0`, `out[index[i][j]][j] += src[i][j]`. Repeated positions add up.
    ///
    /// This is the adjoint of [`Tensor::gather`]: the gradient of `x.gather(axis, index)` is
    /// `zeros(x.shape()).scatter_add(axis, index, g)`.
    ///
    /// ```
    /// use wengert::tensor::{Tensor, ndarray::arr1};
    /// let x = Tensor::<f32>::zeros(&[3]);
    /// let src = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    /// let out = x.scatter_add(0, &arr1(&[2, 0, 2]).into_dyn(), &src);
    /// assert_eq!(out.to_vec(), vec![2.0, 0.0, 4.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range, `index` has the wrong number of dims, is larger than `src`,
    /// or larger than `self` on another axis, or an index is not below the dimension of `axis`.
    #[track_caller]
    pub fn scatter_add(&self, axis: usize, index: &ArrayD<usize>, src: &Tensor<F>) -> Self {
        check_index("scatter_add", axis, self.shape(), index, Some(src.shape()));
        let mut out = self.to_vec();
        let s = src.to_contiguous();
        let ss = s.as_slice().expect("contiguous");
        for_each_target(axis, self.shape(), src.shape(), index, |to, from| out[to] += ss[from]);
        Self::from_vec(out, self.shape()).expect("same shape as self")
    }

    /// A copy of `self` with `src` written at the positions `index` names along `axis` (PyTorch's
    /// `scatter`): for `axis = 0`, `out[index[i][j]][j] = src[i][j]`. Where a position is named more
    /// than once the last write (in row-major order of `index`) wins, as PyTorch on the CPU (which
    /// documents the winner as undefined).
    ///
    /// ```
    /// use wengert::tensor::{Tensor, ndarray::arr1};
    /// let x = Tensor::<f32>::full(&[3], 9.0);
    /// let src = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(x.scatter(0, &arr1(&[2, 0, 2]).into_dyn(), &src).to_vec(), vec![2.0, 9.0, 3.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::scatter_add`].
    #[track_caller]
    pub fn scatter(&self, axis: usize, index: &ArrayD<usize>, src: &Tensor<F>) -> Self {
        check_index("scatter", axis, self.shape(), index, Some(src.shape()));
        let mut out = self.to_vec();
        let s = src.to_contiguous();
        let ss = s.as_slice().expect("contiguous");
        for_each_target(axis, self.shape(), src.shape(), index, |to, from| out[to] = ss[from]);
        Self::from_vec(out, self.shape()).expect("same shape as self")
    }

    /// Rows of `num_classes` entries, all zero but a one at column `indices[i]`: shape `[n, num_classes]`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let y = Tensor::<f32>::one_hot(&[2, 0], 3);
    /// assert_eq!(y.to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When an index is not below `num_classes`, or `[indices.len(), num_classes]` cannot be held.
    #[track_caller]
    pub fn one_hot(indices: &[usize], num_classes: usize) -> Tensor<F> {
        if let Some((at, &i)) = indices.iter().enumerate().find(|&(_, &i)| i >= num_classes) {
            invalid(
                "one_hot",
                format!("index {i} at position {at} is out of range for {num_classes} classes"),
            );
        }
        let mut out = alloc::full("one_hot", &[indices.len(), num_classes], F::zero()).data.into_owned();
        for (row, &i) in indices.iter().enumerate() {
            out[[row, i]] = F::one();
        }
        Tensor::from_array(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2, arr3};
    use proptest::prelude::*;

    fn seq(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| i as f64).collect(), shape).unwrap()
    }

    #[test]
    #[should_panic(expected = "one_hot: shape [3, 18446744073709551615] has too many elements to index")]
    fn one_hot_names_a_shape_too_large_to_index() {
        Tensor::<f32>::one_hot(&[0, 1, 2], usize::MAX);
    }

    #[test]
    fn index_select_picks_entries_in_order() {
        let a = seq(&[2, 3]);
        assert_eq!(a.index_select(1, &[2, 0]).to_vec(), vec![2.0, 0.0, 5.0, 3.0]);
        assert_eq!(a.t().index_select(0, &[1]).to_vec(), vec![1.0, 4.0]);
        assert_eq!(a.index_select(0, &[]).shape(), &[0, 3]);
    }

    #[test]
    #[should_panic(
        expected = "index_select: index 3 at position 1 is out of range for axis 1 of length 3 in shape"
    )]
    fn index_select_rejects_a_far_index() {
        seq(&[2, 3]).index_select(1, &[0, 3]);
    }

    #[test]
    fn gather_follows_pytorch() {
        // torch.gather(torch.tensor([[0., 1, 2], [3, 4, 5]]), 0, torch.tensor([[1, 0, 1]])) = [[3, 1, 5]]
        let a = seq(&[2, 3]);
        assert_eq!(a.gather(0, &arr2(&[[1, 0, 1]]).into_dyn()).to_vec(), vec![3.0, 1.0, 5.0]);
        let g = a.gather(1, &arr2(&[[2, 2], [0, 1]]).into_dyn());
        assert_eq!(g.shape(), &[2, 2]);
        assert_eq!(g.to_vec(), vec![2.0, 2.0, 3.0, 4.0]);
        // A transposed view gathers in logical order.
        assert_eq!(a.t().gather(1, &arr2(&[[1], [0], [1]]).into_dyn()).to_vec(), vec![3.0, 1.0, 5.0]);
        let b = seq(&[2, 2, 2]);
        let g = b.gather(2, &arr3(&[[[1], [0]], [[0], [0]]]).into_dyn());
        assert_eq!(g.to_vec(), vec![1.0, 2.0, 4.0, 6.0]);
    }

    #[test]
    #[should_panic(
        expected = "gather: index 2 at [1, 0] is out of range for axis 0 of length 2 in shape [2, 3]"
    )]
    fn gather_rejects_a_far_index() {
        seq(&[2, 3]).gather(0, &arr2(&[[0], [2]]).into_dyn());
    }

    #[test]
    #[should_panic(expected = "gather: index of shape [1, 4] exceeds shape [2, 3] on axis 1")]
    fn gather_rejects_a_wide_index() {
        seq(&[2, 3]).gather(0, &arr2(&[[0, 0, 0, 0]]).into_dyn());
    }

    #[test]
    #[should_panic(expected = "gather: index of shape [2] must have as many dims as shape [2, 3]")]
    fn gather_rejects_an_index_of_other_rank() {
        seq(&[2, 3]).gather(0, &arr1(&[0, 1]).into_dyn());
    }

    #[test]
    fn scatter_add_accumulates_repeats() {
        let x = Tensor::<f64>::ones(&[2, 3]);
        let src = seq(&[2, 2]);
        let out = x.scatter_add(1, &arr2(&[[2, 2], [0, 1]]).into_dyn(), &src);
        assert_eq!(out.to_vec(), vec![1.0, 1.0, 2.0, 3.0, 4.0, 1.0]);
        // Only the part of src that index covers is used.
        let out = Tensor::<f64>::zeros(&[3]).scatter_add(0, &arr1(&[1]).into_dyn(), &seq(&[3]));
        assert_eq!(out.to_vec(), vec![0.0, 0.0, 0.0]);
        assert_eq!(x.to_vec(), vec![1.0; 6]);
    }

    #[test]
    #[should_panic(expected = "scatter_add: index of shape [1, 2] exceeds src of shape [1, 1]")]
    fn scatter_add_rejects_a_small_src() {
        seq(&[2, 3]).scatter_add(0, &arr2(&[[0, 1]]).into_dyn(), &seq(&[1, 1]));
    }

    #[test]
    #[should_panic(
        expected = "scatter_add: index 5 at [0] is out of range for axis 0 of length 3 in shape [3]"
    )]
    fn scatter_add_rejects_a_far_index() {
        seq(&[3]).scatter_add(0, &arr1(&[5]).into_dyn(), &seq(&[1]));
    }

    #[test]
    fn one_hot_marks_one_column_per_row() {
        let y = Tensor::<f64>::one_hot(&[1, 0, 1], 2);
        assert_eq!(y.shape(), &[3, 2]);
        assert_eq!(y.to_vec(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
        assert_eq!(Tensor::<f32>::one_hot(&[], 4).shape(), &[0, 4]);
    }

    #[test]
    #[should_panic(expected = "one_hot: index 3 at position 1 is out of range for 3 classes")]
    fn one_hot_rejects_a_far_class() {
        Tensor::<f32>::one_hot(&[0, 3], 3);
    }

    proptest! {
        /// <gather(x, i), g> = <x, scatter_add(0, i, g)>: scatter_add is the adjoint of gather.
        #[test]
        fn scatter_add_is_the_adjoint_of_gather(
            (rows, cols, axis, picks) in (1usize..4, 1usize..4, 0usize..2).prop_flat_map(|(r, c, axis)| {
                let d = if axis == 0 { r } else { c };
                (Just(r), Just(c), Just(axis), proptest::collection::vec(0..d, r * c))
            })
        ) {
            let x = seq(&[rows, cols]);
            let index = ArrayD::from_shape_vec(ndarray::IxDyn(&[rows, cols]), picks).unwrap();
            let g: Vec<f64> = (0..rows * cols).map(|v| v as f64 * 0.5 + 1.0).collect();
            let g = Tensor::from_vec(g, &[rows, cols]).unwrap();
            let y = x.gather(axis, &index);
            let s = Tensor::<f64>::zeros(&[rows, cols]).scatter_add(axis, &index, &g);
            let lhs: f64 = y.to_vec().iter().zip(g.to_vec()).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.to_vec().iter().zip(s.to_vec()).map(|(a, b)| a * b).sum();
            prop_assert!((lhs - rhs).abs() < 1e-9, "{} vs {}", lhs, rhs);
        }
    }
}
