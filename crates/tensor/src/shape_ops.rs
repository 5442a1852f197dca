//! Shape ops that share storage where ndarray allows: reshape, squeeze, transpose, permute, slice, narrow.

use ndarray::{Axis, IxDyn, Slice, SliceInfoElem};

use crate::error::{TensorError, fail};
use crate::float::Float;
use crate::shape::{Shape, checked_numel};
use crate::tensor::Tensor;

/// Panics with an [`TensorError::InvalidArgument`] message naming `op`.
#[track_caller]
pub(crate) fn invalid(op: &'static str, reason: String) -> ! {
    fail(TensorError::InvalidArgument { op, reason })
}

/// Panics unless `axis` is an axis of `shape`, naming `op`.
#[track_caller]
pub(crate) fn check_axis(op: &'static str, axis: usize, shape: &[usize]) {
    if let Err(e) = Shape::check_axis(op, axis, shape) {
        fail(e)
    }
}

impl<F: Float> Tensor<F> {
    /// The same elements, in logical row-major order, arranged in `shape`.
    ///
    /// No copy is made when `self` is contiguous; a transposed or strided view is copied first.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::arange(0.0, 6.0, 1.0).reshape(&[2, 3]).unwrap();
    /// assert_eq!(a.shape(), &[2, 3]);
    /// assert_eq!(a.t().reshape(&[6]).unwrap().to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    /// assert!(a.reshape(&[4]).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`TensorError::ReshapeMismatch`] when `shape` holds a different number of elements.
    #[doc(alias = "view")]
    pub fn reshape(&self, shape: &[usize]) -> Result<Self, TensorError> {
        let mismatch = || TensorError::ReshapeMismatch { from: self.shape().to_vec(), to: shape.to_vec() };
        if checked_numel(shape) != Some(self.len()) {
            return Err(mismatch());
        }
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let data = if self.data.is_standard_layout() {
            self.data.clone()
        } else {
            self.data.as_standard_layout().into_owned().into_shared()
        };
        data.into_shape_with_order(IxDyn(shape)).map(Self::from_shared).map_err(|_| mismatch())
    }

    /// The elements as a 1-D tensor, in logical row-major order (no copy when contiguous).
    pub fn flatten(&self) -> Self {
        self.reshape(&[self.len()]).expect("the length always fills [len]")
    }

    /// Removes `axis`, which must have size 1 (a view).
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or its size is not 1.
    #[track_caller]
    pub fn squeeze(&self, axis: usize) -> Self {
        check_axis("squeeze", axis, self.shape());
        let d = self.shape()[axis];
        if d != 1 {
            invalid("squeeze", format!("dimension {d} of axis {axis} in shape {:?} is not 1", self.shape()));
        }
        Self::from_shared(self.data.clone().index_axis_move(Axis(axis), 0))
    }

    /// Removes every axis of size 1 (a view).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// assert_eq!(Tensor::<f32>::zeros(&[1, 3, 1]).squeeze_all().shape(), &[3]);
    /// ```
    pub fn squeeze_all(&self) -> Self {
        let mut data = self.data.clone();
        for axis in (0..data.ndim()).rev() {
            if data.shape()[axis] == 1 {
                data = data.index_axis_move(Axis(axis), 0);
            }
        }
        Self::from_shared(data)
    }

    /// Inserts an axis of size 1 at position `axis` (a view); `axis == ndim` appends one.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::zeros(&[2, 3]);
    /// assert_eq!(a.unsqueeze(0).shape(), &[1, 2, 3]);
    /// assert_eq!(a.unsqueeze(2).shape(), &[2, 3, 1]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis > ndim`.
    #[track_caller]
    #[doc(alias = "expand_dims")]
    pub fn unsqueeze(&self, axis: usize) -> Self {
        if axis > self.ndim() {
            invalid(
                "unsqueeze",
                format!("axis {axis} is out of range for shape {:?} (at most {})", self.shape(), self.ndim()),
            );
        }
        Self::from_shared(self.data.clone().insert_axis(Axis(axis)))
    }

    /// Swaps the last two axes (a view). A 0-D or 1-D tensor is returned unchanged, as in NumPy.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// assert_eq!(a.t().shape(), &[3, 2]);
    /// assert_eq!(a.t().to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// ```
    pub fn t(&self) -> Self {
        let n = self.ndim();
        if n < 2 { self.clone() } else { self.swap_axes(n - 2, n - 1) }
    }

    /// Reorders the axes: axis `i` of the result is axis `axes[i]` of `self` (a view).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// assert_eq!(Tensor::<f32>::zeros(&[2, 3, 4]).permute(&[2, 0, 1]).shape(), &[4, 2, 3]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axes` is not a permutation of `0..ndim`.
    #[track_caller]
    #[doc(alias = "transpose_axes")]
    pub fn permute(&self, axes: &[usize]) -> Self {
        if axes.len() != self.ndim() || Shape::check_axes("permute", axes, self.shape()).is_err() {
            invalid(
                "permute",
                format!(
                    "axes {axes:?} are not a permutation of the {} axes of shape {:?}",
                    self.ndim(),
                    self.shape()
                ),
            );
        }
        Self::from_shared(self.data.clone().permuted_axes(IxDyn(axes)))
    }

    /// Exchanges axes `a` and `b` (a view).
    ///
    /// # Panics
    ///
    /// When either axis is out of range.
    #[track_caller]
    #[doc(alias("transpose", "swapaxes"))]
    pub fn swap_axes(&self, a: usize, b: usize) -> Self {
        check_axis("swap_axes", a, self.shape());
        check_axis("swap_axes", b, self.shape());
        let mut data = self.data.clone();
        data.swap_axes(a, b);
        Self::from_shared(data)
    }

    /// A view selected by ndarray's [`s!`](crate::s) macro: ranges with steps, single indices
    /// (which drop their axis) and `NewAxis`.
    ///
    /// Negative starts and ends count from the end of the axis. As in ndarray, a negative step
    /// walks the range from its end: `s![0..4;-1]` is `3, 2, 1, 0`.
    ///
    /// ```
    /// use wengert::tensor::{Tensor, s};
    /// let a = Tensor::<f32>::arange(0.0, 12.0, 1.0).reshape(&[3, 4]).unwrap();
    /// assert_eq!(a.slice(s![1.., ..;2]).to_vec(), vec![4.0, 6.0, 8.0, 10.0]);
    /// assert_eq!(a.slice(s![-1, 1..3]).to_vec(), vec![9.0, 10.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the number of ranges and indices differs from `ndim`, a range or index is out of
    /// bounds for its axis, or a step is zero.
    #[track_caller]
    pub fn slice<I: AsRef<[SliceInfoElem]>>(&self, info: I) -> Self {
        let info = info.as_ref();
        let shape = self.shape();
        let given = info.iter().filter(|e| !matches!(e, SliceInfoElem::NewAxis)).count();
        if given != shape.len() {
            invalid(
                "slice",
                format!("{given} ranges or indices given for shape {shape:?} ({} dims)", shape.len()),
            );
        }
        // NewAxis entries consume no axis of self; every other entry consumes the next one.
        let consumed = info.iter().filter(|e| !matches!(e, SliceInfoElem::NewAxis));
        for (axis, elem) in consumed.enumerate() {
            let len = shape[axis];
            let (ok, what) = match *elem {
                SliceInfoElem::Slice { start, end, step } => {
                    let ok = step != 0
                        && resolve(start, len).is_some()
                        && end.is_none_or(|e| resolve(e, len).is_some());
                    (ok, format!("range {start}..{};{step}", end.map_or(String::new(), |e| e.to_string())))
                }
                SliceInfoElem::Index(i) => (resolve(i, len).is_some_and(|i| i < len), format!("index {i}")),
                SliceInfoElem::NewAxis => (true, String::new()),
            };
            if !ok {
                invalid(
                    "slice",
                    format!("{what} is out of bounds for axis {axis} of length {len} in shape {shape:?}"),
                );
            }
        }
        Self::from_shared(self.data.clone().slice_move(info))
    }

    /// The `len` entries of `axis` starting at `start` (a view).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::arange(0.0, 8.0, 1.0).reshape(&[2, 4]).unwrap();
    /// assert_eq!(a.narrow(1, 1, 2).to_vec(), vec![1.0, 2.0, 5.0, 6.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or `start + len` exceeds its dimension.
    #[track_caller]
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Self {
        check_axis("narrow", axis, self.shape());
        let d = self.shape()[axis];
        if start.checked_add(len).is_none_or(|end| end > d) {
            invalid(
                "narrow",
                format!(
                    "start {start} + length {len} exceeds dimension {d} of axis {axis} in shape {:?}",
                    self.shape()
                ),
            );
        }
        let mut data = self.data.clone();
        data.slice_axis_inplace(Axis(axis), Slice::from(start..start + len));
        Self::from_shared(data)
    }
}

/// The absolute position of a possibly negative `index` on an axis of length `len`, if it is in `0..=len`.
fn resolve(index: isize, len: usize) -> Option<usize> {
    let abs = if index < 0 { len.checked_sub(index.unsigned_abs())? } else { index.unsigned_abs() };
    (abs <= len).then_some(abs)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::s;
    use ndarray::NewAxis;
    use proptest::prelude::*;

    pub(crate) fn seq(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| i as f64).collect(), shape).unwrap()
    }

    #[test]
    fn reshape_keeps_logical_order_and_shares_contiguous_storage() {
        let a = seq(&[2, 3]);
        let b = a.reshape(&[3, 2]).unwrap();
        assert_eq!(b.to_vec(), a.to_vec());
        assert_eq!(b.as_slice().unwrap().as_ptr(), a.as_slice().unwrap().as_ptr());
        assert_eq!(a.t().reshape(&[6]).unwrap().to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(a.flatten().shape(), &[6]);
        assert_eq!(Tensor::<f64>::scalar(2.0).reshape(&[1, 1]).unwrap().to_vec(), vec![2.0]);
    }

    #[test]
    fn reshape_rejects_wrong_count_and_overflow() {
        let err = seq(&[2, 3]).reshape(&[4]).unwrap_err();
        assert_eq!(err, TensorError::ReshapeMismatch { from: vec![2, 3], to: vec![4] });
        assert_eq!(err.to_string(), "reshape: [2, 3] (6 elements) cannot become [4] (4 elements)");
        assert!(seq(&[0]).reshape(&[0, usize::MAX, 2]).is_err());
        assert!(seq(&[0]).reshape(&[0, usize::MAX]).is_err());
    }

    #[test]
    fn squeeze_and_unsqueeze_move_size_one_axes() {
        let a = seq(&[2, 1, 3, 1]);
        assert_eq!(a.squeeze(1).shape(), &[2, 3, 1]);
        assert_eq!(a.squeeze_all().shape(), &[2, 3]);
        assert_eq!(a.squeeze_all().to_vec(), a.to_vec());
        assert_eq!(Tensor::<f64>::ones(&[1, 1]).squeeze_all().shape(), &[] as &[usize]);
        assert_eq!(seq(&[2]).unsqueeze(1).shape(), &[2, 1]);
        assert_eq!(Tensor::<f64>::scalar(1.0).unsqueeze(0).shape(), &[1]);
    }

    #[test]
    #[should_panic(expected = "squeeze: dimension 3 of axis 1 in shape [2, 3] is not 1")]
    fn squeeze_rejects_a_wide_axis() {
        seq(&[2, 3]).squeeze(1);
    }

    #[test]
    #[should_panic(expected = "unsqueeze: axis 3 is out of range for shape [2] (at most 1)")]
    fn unsqueeze_rejects_a_far_axis() {
        seq(&[2]).unsqueeze(3);
    }

    #[test]
    fn transposes_are_views_in_logical_order() {
        let a = seq(&[2, 3]);
        let t = a.t();
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.get(&[2, 1]), Some(5.0));
        assert_eq!(t.to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(seq(&[3]).t(), seq(&[3]));
        assert_eq!(seq(&[2, 3, 4]).t().shape(), &[2, 4, 3]);
        let p = seq(&[2, 3, 4]).permute(&[1, 2, 0]);
        assert_eq!(p.shape(), &[3, 4, 2]);
        assert_eq!(p.get(&[2, 1, 1]), Some(12.0 + 2.0 * 4.0 + 1.0));
        assert_eq!(seq(&[2, 3, 4]).swap_axes(0, 2).shape(), &[4, 3, 2]);
    }

    #[test]
    #[should_panic(expected = "permute: axes [0, 0] are not a permutation of the 2 axes of shape [2, 3]")]
    fn permute_rejects_repeats() {
        seq(&[2, 3]).permute(&[0, 0]);
    }

    #[test]
    #[should_panic(expected = "swap_axes: axis 2 is out of range for shape [2, 3] (2 dims)")]
    fn swap_axes_rejects_a_missing_axis() {
        seq(&[2, 3]).swap_axes(0, 2);
    }

    #[test]
    fn slice_takes_ranges_steps_indices_and_new_axes() {
        let a = seq(&[3, 4]);
        assert_eq!(a.slice(s![0..2, ..;2]).to_vec(), vec![0.0, 2.0, 4.0, 6.0]);
        assert_eq!(a.slice(s![.., -1]).to_vec(), vec![3.0, 7.0, 11.0]);
        assert_eq!(a.slice(s![1, ..;-1]).to_vec(), vec![7.0, 6.0, 5.0, 4.0]);
        assert_eq!(a.slice(s![NewAxis, 2.., 1..3]).shape(), &[1, 1, 2]);
        assert_eq!(a.slice(s![3.., ..]).shape(), &[0, 4]);
        let v: Vec<SliceInfoElem> = vec![(..).into(), 1.into()];
        assert_eq!(a.slice(&v).to_vec(), vec![1.0, 5.0, 9.0]);
        assert_eq!(a.t().slice(s![1..3, 0]).to_vec(), vec![1.0, 2.0]);
    }

    #[test]
    #[should_panic(expected = "slice: range 1..5;1 is out of bounds for axis 1 of length 4 in shape [3, 4]")]
    fn slice_rejects_a_long_range() {
        seq(&[3, 4]).slice(s![.., 1..5]);
    }

    #[test]
    #[should_panic(expected = "slice: index -4 is out of bounds for axis 0 of length 3 in shape [3, 4]")]
    fn slice_rejects_a_far_index() {
        seq(&[3, 4]).slice(s![-4, ..]);
    }

    #[test]
    #[should_panic(expected = "slice: 1 ranges or indices given for shape [3, 4] (2 dims)")]
    fn slice_rejects_a_wrong_count() {
        seq(&[3, 4]).slice(s![..]);
    }

    #[test]
    #[should_panic(expected = "slice: range 0..;0 is out of bounds")]
    fn slice_rejects_a_zero_step() {
        seq(&[3]).slice([SliceInfoElem::Slice { start: 0, end: None, step: 0 }]);
    }

    #[test]
    fn narrow_is_a_view_of_a_window() {
        let a = seq(&[2, 4]);
        assert_eq!(a.narrow(1, 1, 2).to_vec(), vec![1.0, 2.0, 5.0, 6.0]);
        assert_eq!(a.narrow(0, 2, 0).shape(), &[0, 4]);
    }

    #[test]
    #[should_panic(expected = "narrow: start 3 + length 2 exceeds dimension 4 of axis 1 in shape [2, 4]")]
    fn narrow_rejects_a_window_past_the_end() {
        seq(&[2, 4]).narrow(1, 3, 2);
    }

    /// A shape of up to 4 axes of sizes 0 to 3, mostly non-empty.
    pub(crate) fn shape() -> impl Strategy<Value = Vec<usize>> {
        proptest::collection::vec(prop_oneof![9 => 1usize..4, 1 => Just(0usize)], 0..5)
    }

    /// A shape and a permutation of its axes.
    pub(crate) fn shape_and_perm() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        shape().prop_flat_map(|s| {
            let n = s.len();
            (Just(s), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
        })
    }

    /// The row-major multi-indices of `shape`.
    pub(crate) fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
        let mut out = vec![vec![]];
        for &d in shape {
            out =
                out.into_iter().flat_map(|ix| (0..d).map(move |i| [ix.clone(), vec![i]].concat())).collect();
        }
        out
    }

    /// One slice per axis as (start, end, step), and the positions it picks per ndarray's rules.
    fn slice_of(len: usize) -> impl Strategy<Value = (SliceInfoElem, Vec<usize>)> {
        (0..=len, 0..=len, prop_oneof![1isize..4, -3isize..0]).prop_map(move |(a, b, step)| {
            let (start, end) = (a.min(b), a.max(b));
            let picks: Vec<usize> = if step > 0 {
                (start..end).step_by(step as usize).collect()
            } else {
                (start..end).rev().step_by(step.unsigned_abs()).collect()
            };
            // A negative start where one can be, to exercise counting from the end.
            let start = if start < len { start as isize - len as isize } else { start as isize };
            (SliceInfoElem::Slice { start, end: Some(end as isize), step }, picks)
        })
    }

    proptest! {
        #[test]
        fn permute_then_inverse_is_identity((s, perm) in shape_and_perm()) {
            let a = seq(&s);
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            let p = a.permute(&perm);
            for ix in indices(p.shape()) {
                let src: Vec<usize> = (0..s.len()).map(|d| ix[inverse[d]]).collect();
                prop_assert_eq!(p.get(&ix), a.get(&src));
            }
            let naive: Vec<f64> = indices(p.shape()).iter().map(|ix| p.get(ix).unwrap()).collect();
            prop_assert_eq!(p.to_vec(), naive.clone());
            prop_assert_eq!(p.flatten().to_vec(), naive);
            prop_assert_eq!(p.permute(&inverse), a);
        }

        #[test]
        fn reshape_to_flat_and_back_is_identity((s, perm) in shape_and_perm()) {
            let p = seq(&s).permute(&perm);
            let flat = p.reshape(&[p.len()]).unwrap();
            prop_assert_eq!(flat.reshape(p.shape()).unwrap(), p.clone());
            prop_assert_eq!(flat.to_vec(), p.to_contiguous().to_vec());
        }

        #[test]
        fn slice_of_a_view_matches_a_naive_gather(
            (s, perm, cuts) in shape_and_perm().prop_flat_map(|(s, perm)| {
                let permuted: Vec<usize> = perm.iter().map(|&p| s[p]).collect();
                let cuts: Vec<_> = permuted.iter().map(|&d| slice_of(d)).collect();
                (Just(s), Just(perm), cuts)
            })
        ) {
            let view = seq(&s).permute(&perm);
            let info: Vec<SliceInfoElem> = cuts.iter().map(|c| c.0).collect();
            let got = view.slice(&info);
            let copy = view.to_contiguous().slice(&info);
            prop_assert_eq!(got.shape(), copy.shape());
            prop_assert_eq!(got.to_vec(), copy.to_vec());
            let picks: Vec<usize> = cuts.iter().map(|c| c.1.len()).collect();
            prop_assert_eq!(got.shape(), &picks[..]);
            let naive: Vec<f64> = indices(&picks)
                .iter()
                .map(|ix| {
                    let src: Vec<usize> = ix.iter().enumerate().map(|(d, &i)| cuts[d].1[i]).collect();
                    view.get(&src).unwrap()
                })
                .collect();
            prop_assert_eq!(got.to_vec(), naive);
        }
    }
}
