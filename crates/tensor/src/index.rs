//! Index ops: `index_select`, `gather` and its adjoint `scatter_add`, `scatter` (overwrite) and `one_hot`.
//!
//! For `axis = 0`, `gather` is `out[i][j] = x[index[i][j]][j]` and `scatter_add` is
//! `out[index[i][j]][j] += src[i][j]`, as in PyTorch; the gradient of `gather` scatters back.
//! Along the last axis of operands that line up row by row (max-pool's backward, a sort's gather)
//! they walk rows as slices (`index/rows.rs`); anything else takes the general path.

use ndarray::{ArrayD, Axis, Dimension};

use crate::alloc;
use crate::float::Float;
use crate::shape_ops::{check_axis, invalid};
use crate::tensor::Tensor;

use self::rows::Rows;

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
    // One tight pass over the indices; the slow walk below only finds the culprit's position.
    let in_range = match index.as_slice() {
        Some(s) => s.iter().copied().max().is_none_or(|m| m < d),
        None => index.iter().all(|&i| i < d),
    };
    if in_range {
        return;
    }
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
        if let (Some(rows), Some(is)) = (Rows::of(axis, self.shape(), index, None), index.as_slice()) {
            return Self::from_vec(rows.gather(xs, is), index.shape()).expect("one element per index");
        }
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
        if let (Some(rows), Some(is)) =
            (Rows::of(axis, self.shape(), index, Some(src.shape())), index.as_slice())
        {
            rows.scatter(&mut out, is, ss, true);
            return Self::from_vec(out, self.shape()).expect("same shape as self");
        }
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
        if let (Some(rows), Some(is)) =
            (Rows::of(axis, self.shape(), index, Some(src.shape())), index.as_slice())
        {
            rows.scatter(&mut out, is, ss, false);
            return Self::from_vec(out, self.shape()).expect("same shape as self");
        }
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

mod rows;

#[cfg(test)]
mod tests;
