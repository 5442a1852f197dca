//! Joining and cutting tensors: concat, stack, split, chunk, constant padding and tiling (`repeat`).

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};

use crate::alloc;
use crate::float::Float;
use crate::shape::checked_numel;
use crate::shape_ops::{check_axis, invalid};
use crate::tensor::Tensor;

impl<F: Float> Tensor<F> {
    /// Joins tensors along an existing `axis`; all other dimensions must agree.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::zeros(&[2, 1]);
    /// let b = Tensor::<f32>::ones(&[2, 2]);
    /// let c = Tensor::concat(&[&a, &b], 1);
    /// assert_eq!(c.shape(), &[2, 3]);
    /// assert_eq!(c.to_vec(), vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `tensors` is empty, `axis` is out of range, two shapes differ off `axis`, or the result
    /// cannot be held (its size along `axis` overflows, or the allocator refuses it).
    #[track_caller]
    #[doc(alias("cat", "concatenate"))]
    pub fn concat(tensors: &[&Tensor<F>], axis: usize) -> Tensor<F> {
        let Some(first) = tensors.first() else { invalid("concat", "no tensors given".to_string()) };
        check_axis("concat", axis, first.shape());
        for (i, t) in tensors.iter().enumerate().skip(1) {
            let (a, b) = (first.shape(), t.shape());
            let agree = a.len() == b.len() && (0..a.len()).all(|d| d == axis || a[d] == b[d]);
            if !agree {
                invalid(
                    "concat",
                    format!(
                        "tensor {i} has shape {b:?} but tensor 0 has {a:?}; they must agree off axis {axis}"
                    ),
                );
            }
        }
        let Some(total) = tensors.iter().try_fold(0usize, |n, t| n.checked_add(t.shape()[axis])) else {
            invalid("concat", format!("the sizes along axis {axis} of {} tensors overflow", tensors.len()))
        };
        let mut shape = first.shape().to_vec();
        shape[axis] = total;
        alloc::check_room::<F>("concat", &shape);
        let views: Vec<ArrayViewD<'_, F>> = tensors.iter().map(|t| t.data.view()).collect();
        Tensor::from_array(ndarray::concatenate(Axis(axis), &views).expect("checked shapes"))
    }

    /// Joins tensors of one shape along a new `axis` (`0..=ndim`).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::zeros(&[3]);
    /// let b = Tensor::<f32>::ones(&[3]);
    /// assert_eq!(Tensor::stack(&[&a, &b], 0).shape(), &[2, 3]);
    /// assert_eq!(Tensor::stack(&[&a, &b], 1).to_vec(), vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `tensors` is empty, `axis > ndim`, two shapes differ, or the result cannot be held.
    #[track_caller]
    pub fn stack(tensors: &[&Tensor<F>], axis: usize) -> Tensor<F> {
        let Some(first) = tensors.first() else { invalid("stack", "no tensors given".to_string()) };
        if axis > first.ndim() {
            invalid(
                "stack",
                format!(
                    "axis {axis} is out of range for shape {:?} (at most {})",
                    first.shape(),
                    first.ndim()
                ),
            );
        }
        for (i, t) in tensors.iter().enumerate().skip(1) {
            if t.shape() != first.shape() {
                invalid(
                    "stack",
                    format!(
                        "tensor {i} has shape {:?} but tensor 0 has shape {:?}",
                        t.shape(),
                        first.shape()
                    ),
                );
            }
        }
        let mut shape = first.shape().to_vec();
        shape.insert(axis, tensors.len());
        alloc::check_room::<F>("stack", &shape);
        let views: Vec<ArrayViewD<'_, F>> = tensors.iter().map(|t| t.data.view()).collect();
        Tensor::from_array(ndarray::stack(Axis(axis), &views).expect("checked shapes"))
    }

    /// Cuts `axis` into consecutive pieces of the given `sizes` (views).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let parts = Tensor::<f32>::arange(0.0, 5.0, 1.0).split(0, &[2, 3]);
    /// assert_eq!(parts[1].to_vec(), vec![2.0, 3.0, 4.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or `sizes` do not add up to its dimension.
    #[track_caller]
    pub fn split(&self, axis: usize, sizes: &[usize]) -> Vec<Self> {
        check_axis("split", axis, self.shape());
        let d = self.shape()[axis];
        let total = sizes.iter().try_fold(0usize, |n, &s| n.checked_add(s));
        if total != Some(d) {
            invalid(
                "split",
                format!(
                    "sizes {sizes:?} do not add up to dimension {d} of axis {axis} in shape {:?}",
                    self.shape()
                ),
            );
        }
        let mut start = 0;
        sizes
            .iter()
            .map(|&len| {
                let mut data = self.data.clone();
                data.slice_axis_inplace(Axis(axis), Slice::from(start..start + len));
                start += len;
                Self::from_shared(data)
            })
            .collect()
    }

    /// Cuts `axis` into pieces of `ceil(d / n)` entries, the last one shorter, as PyTorch's
    /// `chunk` does: fewer than `n` pieces may come back. An empty axis gives `n` empty pieces.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let parts = Tensor::<f32>::arange(0.0, 5.0, 1.0).chunk(3, 0);
    /// let sizes: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    /// assert_eq!(sizes, vec![2, 2, 1]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `n` is zero or `axis` is out of range.
    #[track_caller]
    pub fn chunk(&self, n: usize, axis: usize) -> Vec<Self> {
        if n == 0 {
            invalid("chunk", format!("cannot cut shape {:?} into 0 chunks", self.shape()));
        }
        check_axis("chunk", axis, self.shape());
        let d = self.shape()[axis];
        if d == 0 {
            return self.split(axis, &vec![0; n]);
        }
        let size = d.div_ceil(n);
        let sizes: Vec<usize> = (0..d).step_by(size).map(|start| size.min(d - start)).collect();
        self.split(axis, &sizes)
    }

    /// Pads every axis with `value`: `pads[i] = (before, after)` entries around axis `i`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::ones(&[1, 2]);
    /// let p = a.pad(&[(0, 1), (1, 0)], 0.0);
    /// assert_eq!(p.shape(), &[2, 3]);
    /// assert_eq!(p.to_vec(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `pads` does not hold one pair per axis, or the padded shape overflows or cannot be
    /// allocated.
    #[track_caller]
    pub fn pad(&self, pads: &[(usize, usize)], value: F) -> Self {
        let shape = self.shape();
        if pads.len() != shape.len() {
            invalid("pad", format!("{} pairs given for shape {shape:?} ({} dims)", pads.len(), shape.len()));
        }
        let out_shape: Option<Vec<usize>> =
            shape.iter().zip(pads).map(|(&d, &(a, b))| d.checked_add(a)?.checked_add(b)).collect();
        let Some(out_shape) = out_shape.filter(|s| checked_numel(s).is_some()) else {
            invalid("pad", format!("padding {pads:?} of shape {shape:?} overflows"))
        };
        alloc::check_room::<F>("pad", &out_shape);
        let mut out = ArrayD::from_elem(IxDyn(&out_shape), value);
        let mut axis = 0;
        out.slice_each_axis_mut(|_| {
            let (before, d) = (pads[axis].0, shape[axis]);
            axis += 1;
            Slice::from(before..before + d)
        })
        .assign(&self.data);
        Self::from_array(out)
    }

    /// Tiles `self`: axis `i` repeats `reps[i]` times (PyTorch's `repeat`, NumPy's `tile`).
    ///
    /// `reps` may be longer than `ndim`; `self` then gains leading axes of size 1 first.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let r = a.repeat(&[2, 2]);
    /// assert_eq!(r.shape(), &[2, 4]);
    /// assert_eq!(r.to_vec(), vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `reps` has fewer entries than `ndim`, or the tiled shape overflows or cannot be allocated.
    #[track_caller]
    pub fn repeat(&self, reps: &[usize]) -> Self {
        let n = reps.len();
        if n < self.ndim() {
            invalid(
                "repeat",
                format!("{n} repetitions given for shape {:?} ({} dims)", self.shape(), self.ndim()),
            );
        }
        let mut dims = vec![1; n - self.ndim()];
        dims.extend_from_slice(self.shape());
        let out_shape: Option<Vec<usize>> = dims.iter().zip(reps).map(|(&d, &r)| d.checked_mul(r)).collect();
        let Some(out_shape) = out_shape.filter(|s| checked_numel(s).is_some()) else {
            invalid("repeat", format!("repetitions {reps:?} of shape {:?} overflow", self.shape()))
        };
        alloc::check_room::<F>("repeat", &out_shape);
        // View self as [1, d0, 1, d1, ...], broadcast it to [r0, d0, r1, d1, ...], then merge the pairs.
        let interleaved: Vec<usize> = dims.iter().flat_map(|&d| [1, d]).collect();
        let stretched: Vec<usize> = dims.iter().zip(reps).flat_map(|(&d, &r)| [r, d]).collect();
        let contiguous = self.data.as_standard_layout();
        let view = contiguous.view().into_shape_with_order(IxDyn(&interleaved)).expect("contiguous");
        let data: Vec<F> =
            view.broadcast(IxDyn(&stretched)).expect("size-1 axes stretch").iter().copied().collect();
        Self::from_vec(data, &out_shape).expect("tiled length matches its shape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| i as f64).collect(), shape).unwrap()
    }

    #[test]
    fn concat_joins_along_an_axis() {
        let a = seq(&[2, 2]);
        let b = seq(&[2, 1]);
        let c = Tensor::concat(&[&a, &b], 1);
        assert_eq!(c.to_vec(), vec![0.0, 1.0, 0.0, 2.0, 3.0, 1.0]);
        assert_eq!(Tensor::concat(&[&a, &a.t()], 0).to_vec(), vec![0.0, 1.0, 2.0, 3.0, 0.0, 2.0, 1.0, 3.0]);
        assert_eq!(Tensor::concat(&[&a], 0), a);
    }

    #[test]
    #[should_panic(
        expected = "concat: tensor 1 has shape [3, 1] but tensor 0 has [2, 2]; they must agree off axis 1"
    )]
    fn concat_rejects_mismatched_shapes() {
        Tensor::concat(&[&seq(&[2, 2]), &seq(&[3, 1])], 1);
    }

    #[test]
    #[should_panic(expected = "concat: no tensors given")]
    fn concat_rejects_an_empty_list() {
        Tensor::<f32>::concat(&[], 0);
    }

    #[test]
    fn stack_adds_an_axis() {
        let a = seq(&[2]);
        let b = Tensor::from_vec(vec![10.0, 11.0], &[2]).unwrap();
        assert_eq!(Tensor::stack(&[&a, &b], 0).to_vec(), vec![0.0, 1.0, 10.0, 11.0]);
        assert_eq!(Tensor::stack(&[&a, &b], 1).to_vec(), vec![0.0, 10.0, 1.0, 11.0]);
        assert_eq!(Tensor::stack(&[&Tensor::<f64>::scalar(1.0)], 0).shape(), &[1]);
    }

    #[test]
    #[should_panic(expected = "stack: tensor 2 has shape [3] but tensor 0 has shape [2]")]
    fn stack_rejects_mismatched_shapes() {
        Tensor::stack(&[&seq(&[2]), &seq(&[2]), &seq(&[3])], 0);
    }

    #[test]
    #[should_panic(expected = "stack: axis 2 is out of range for shape [2] (at most 1)")]
    fn stack_rejects_a_far_axis() {
        Tensor::stack(&[&seq(&[2])], 2);
    }

    #[test]
    fn split_and_chunk_cut_views() {
        let a = seq(&[2, 5]);
        let parts = a.split(1, &[1, 4, 0]);
        assert_eq!(parts[0].to_vec(), vec![0.0, 5.0]);
        assert_eq!(parts[1].shape(), &[2, 4]);
        assert_eq!(parts[2].shape(), &[2, 0]);
        let chunks = a.chunk(2, 1);
        assert_eq!(chunks.iter().map(|c| c.shape()[1]).collect::<Vec<_>>(), vec![3, 2]);
        assert_eq!(chunks[1].to_vec(), vec![3.0, 4.0, 8.0, 9.0]);
        // PyTorch: 6 entries in 4 chunks are 3 chunks of 2.
        assert_eq!(seq(&[6]).chunk(4, 0).len(), 3);
        assert_eq!(seq(&[2]).chunk(5, 0).len(), 2);
        assert_eq!(seq(&[0]).chunk(3, 0).len(), 3);
        let back: Vec<&Tensor<f64>> = chunks.iter().collect();
        assert_eq!(Tensor::concat(&back, 1), a);
    }

    #[test]
    #[should_panic(expected = "split: sizes [1, 2] do not add up to dimension 5 of axis 1 in shape [2, 5]")]
    fn split_rejects_sizes_of_the_wrong_sum() {
        seq(&[2, 5]).split(1, &[1, 2]);
    }

    #[test]
    #[should_panic(expected = "chunk: cannot cut shape [2] into 0 chunks")]
    fn chunk_rejects_zero_chunks() {
        seq(&[2]).chunk(0, 0);
    }

    #[test]
    fn pad_surrounds_with_a_constant() {
        let a = seq(&[2, 2]).t();
        let p = a.pad(&[(1, 0), (0, 2)], -1.0);
        assert_eq!(p.shape(), &[3, 4]);
        assert_eq!(p.to_vec(), vec![-1.0, -1.0, -1.0, -1.0, 0.0, 2.0, -1.0, -1.0, 1.0, 3.0, -1.0, -1.0]);
        assert_eq!(Tensor::<f64>::scalar(2.0).pad(&[], 0.0).to_vec(), vec![2.0]);
    }

    #[test]
    #[should_panic(expected = "pad: 1 pairs given for shape [2, 2] (2 dims)")]
    fn pad_rejects_a_wrong_count() {
        seq(&[2, 2]).pad(&[(1, 1)], 0.0);
    }

    #[test]
    fn repeat_tiles_like_numpy() {
        let a = seq(&[2, 2]);
        let r = a.repeat(&[1, 2]);
        assert_eq!(r.to_vec(), vec![0.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 3.0]);
        let r = a.t().repeat(&[2, 1, 1]);
        assert_eq!(r.shape(), &[2, 2, 2]);
        assert_eq!(r.to_vec(), vec![0.0, 2.0, 1.0, 3.0, 0.0, 2.0, 1.0, 3.0]);
        assert_eq!(a.repeat(&[0, 3]).shape(), &[0, 6]);
        assert_eq!(Tensor::<f64>::scalar(1.5).repeat(&[3]).to_vec(), vec![1.5; 3]);
        let stepped = seq(&[4]).slice(crate::s![..;2]);
        assert_eq!(stepped.repeat(&[2]).to_vec(), vec![0.0, 2.0, 0.0, 2.0]);
    }

    #[test]
    #[should_panic(expected = "repeat: 1 repetitions given for shape [2, 2] (2 dims)")]
    fn repeat_rejects_too_few_repetitions() {
        seq(&[2, 2]).repeat(&[2]);
    }

    #[test]
    #[should_panic(expected = "concat: the sizes along axis 1 of 4 tensors overflow")]
    fn concat_names_a_length_that_overflows() {
        let e = Tensor::<f32>::zeros(&[0, 1 << 62]);
        Tensor::concat(&[&e, &e, &e, &e], 1);
    }

    #[test]
    #[should_panic(expected = "concat: shape [0, 9223372036854775808] has too many elements to index")]
    fn concat_names_a_shape_too_large_to_index() {
        let e = Tensor::<f32>::zeros(&[0, 1 << 62]);
        Tensor::concat(&[&e, &e], 1);
    }

    #[test]
    #[should_panic(expected = "stack: shape [2, 0, 4611686018427387904] has too many elements to index")]
    fn stack_names_a_shape_too_large_to_index() {
        let e = Tensor::<f32>::zeros(&[0, 1 << 62]);
        Tensor::stack(&[&e, &e], 0);
    }

    // 2^49 bytes of f64 can be indexed but not allocated (more than a 47-bit address space).

    #[test]
    #[should_panic(expected = "pad: shape [70368744177665] needs 562949953421320 bytes")]
    fn pad_names_a_result_the_allocator_refuses() {
        seq(&[1]).pad(&[(0, 1 << 46)], 0.0);
    }

    #[test]
    #[should_panic(expected = "repeat: shape [70368744177664] needs 562949953421312 bytes")]
    fn repeat_names_a_result_the_allocator_refuses() {
        seq(&[1]).repeat(&[1 << 46]);
    }

    #[test]
    #[should_panic(expected = "repeat: repetitions [2, 9223372036854775807] of shape [1] overflow")]
    fn repeat_names_a_result_too_large_to_index() {
        seq(&[1]).repeat(&[2, isize::MAX as usize]);
    }
}
