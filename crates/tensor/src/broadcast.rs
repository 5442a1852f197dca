//! Broadcasting and its undoing: `broadcast_to` stretches a tensor, `sum_to_shape` sums a broadcast
//! result back down. Gradients of broadcasting ops are reduced to their input's shape here, and only here.

use ndarray::{Axis, IxDyn};

use crate::alloc;
use crate::float::Float;
use crate::shape_ops::invalid;
use crate::tensor::Tensor;

impl<F: Float> Tensor<F> {
    /// Stretches `self` to `shape` by NumPy broadcasting rules: leading axes are added and
    /// axes of size 1 are repeated.
    ///
    /// Returns `self` (or a view with added leading axes) when nothing is repeated; otherwise the
    /// repeated elements are materialised, since shared storage cannot alias elements.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::from_vec(vec![1.0, 2.0], &[2, 1]).unwrap();
    /// assert_eq!(a.broadcast_to(&[2, 2, 3]).shape(), &[2, 2, 3]);
    /// assert_eq!(a.broadcast_to(&[2, 3]).to_vec(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self`'s shape does not broadcast to `shape`, or the stretched tensor cannot be allocated.
    #[track_caller]
    #[doc(alias = "expand")]
    pub fn broadcast_to(&self, shape: &[usize]) -> Self {
        let from = self.shape();
        let fits = from.len() <= shape.len()
            && from.iter().zip(&shape[shape.len() - from.len()..]).all(|(&a, &b)| a == b || a == 1);
        if !fits {
            invalid("broadcast_to", format!("shape {from:?} does not broadcast to {shape:?}"));
        }
        if from == shape {
            return self.clone();
        }
        let lead = shape.len() - from.len();
        if from == &shape[lead..] && shape[..lead].iter().all(|&d| d == 1) {
            let mut data = self.data.clone();
            for _ in 0..lead {
                data = data.insert_axis(Axis(0));
            }
            return Self::from_shared(data);
        }
        let Some(view) = self.data.broadcast(IxDyn(shape)) else {
            invalid("broadcast_to", format!("shape {shape:?} has too many elements"))
        };
        alloc::check_room::<F>("broadcast_to", shape);
        Self::from_array(view.to_owned())
    }

    /// Sums a broadcast result back down to `shape`: over the leading axes `shape` lacks and over
    /// the axes where `shape` has size 1 and `self` does not. This undoes [`Tensor::broadcast_to`]
    /// for gradients.
    ///
    /// Returns a clone (no work) when the shapes are already equal.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let g = Tensor::<f32>::ones(&[4, 2, 3]);
    /// assert_eq!(g.sum_to_shape(&[2, 1]).to_vec(), vec![12.0, 12.0]);
    /// assert_eq!(g.sum_to_shape(&[3]).to_vec(), vec![8.0, 8.0, 8.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `shape` does not broadcast to `self`'s shape.
    #[track_caller]
    pub fn sum_to_shape(&self, shape: &[usize]) -> Self {
        let from = self.shape();
        if from == shape {
            return self.clone();
        }
        let n = from.len();
        let fits =
            shape.len() <= n && shape.iter().zip(&from[n - shape.len()..]).all(|(&s, &d)| s == d || s == 1);
        if !fits {
            invalid("sum_to_shape", format!("shape {shape:?} does not broadcast to {from:?}"));
        }
        // Drop axes of size 1 and merge neighbouring axes of the same kind (summed or kept).
        let lead = n - shape.len();
        let (mut dims, mut summed) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (i, &d) in from.iter().enumerate() {
            if d == 1 {
                continue;
            }
            let sum = i < lead || shape[i - lead] == 1;
            match (dims.last_mut(), summed.last()) {
                (Some(last), Some(&s)) if s == sum => *last *= d,
                _ => {
                    dims.push(d);
                    summed.push(sum);
                }
            }
        }
        if !summed.contains(&true) {
            return self.reshape(shape).expect("only axes of size 1 differ");
        }
        let merged = self.data.to_shape(IxDyn(&dims)).expect("same number of elements");
        if let Some(x) = merged.as_slice() {
            return Self::from_vec(sum_merged(x, &dims, &summed), shape).expect("kept axes fill shape");
        }
        // A strided view: sum axis by axis where it lies rather than copy it into row-major order.
        let mut axes = summed.iter().enumerate().filter(|&(_, &s)| s).map(|(i, _)| i).rev();
        let first = axes.next().expect("at least one axis is summed");
        let mut acc = merged.sum_axis(Axis(first));
        for axis in axes {
            acc = acc.sum_axis(Axis(axis));
        }
        Self::from_array(acc).reshape(shape).expect("kept axes fill shape")
    }
}

/// Sums the row-major `x` of shape `dims` over the axes flagged in `summed`, in one pass and one
/// allocation: row by row along the innermost axis, adding a row into the output when that axis
/// is kept, or the row's sum into one output element when it is summed.
fn sum_merged<F: Float>(x: &[F], dims: &[usize], summed: &[bool]) -> Vec<F> {
    let n = dims.len();
    // The output is row-major over the kept axes; a summed axis does not move the output offset.
    let mut out_stride = vec![0; n];
    let mut len = 1;
    for i in (0..n).rev() {
        if !summed[i] {
            out_stride[i] = len;
            len *= dims[i];
        }
    }
    let mut out = vec![F::zero(); len];
    let inner = dims[n - 1];
    if x.is_empty() {
        return out;
    }
    let (mut index, mut offset) = (vec![0; n - 1], 0);
    for row in x.chunks_exact(inner) {
        if summed[n - 1] {
            out[offset] += sum_slice(row);
        } else {
            out[offset..offset + inner].iter_mut().zip(row).for_each(|(o, &v)| *o += v);
        }
        for d in (0..n - 1).rev() {
            index[d] += 1;
            offset += out_stride[d];
            if index[d] < dims[d] {
                break;
            }
            offset -= out_stride[d] * index[d];
            index[d] = 0;
        }
    }
    out
}

/// The sum of a slice with eight independent accumulators, so that it vectorises.
fn sum_slice<F: Float>(x: &[F]) -> F {
    let mut acc = [F::zero(); 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    let tail: F = rest.iter().copied().sum();
    acc.iter().copied().sum::<F>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape_ops::tests::{indices, seq, shape};
    use proptest::prelude::*;

    #[test]
    #[should_panic(expected = "broadcast_to: shape [8388608, 8388608] needs 562949953421312 bytes")]
    fn broadcast_to_names_a_result_the_allocator_refuses() {
        seq(&[1]).broadcast_to(&[1 << 23, 1 << 23]);
    }

    #[test]
    fn broadcast_to_follows_numpy() {
        let a = seq(&[3, 1]);
        let b = a.broadcast_to(&[2, 3, 2]);
        assert_eq!(b.shape(), &[2, 3, 2]);
        assert_eq!(b.to_vec(), vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
        assert!(a.broadcast_to(&[1, 3, 1]).to_vec() == a.to_vec());
        assert_eq!(Tensor::<f64>::scalar(5.0).broadcast_to(&[2]).to_vec(), vec![5.0, 5.0]);
        assert_eq!(a.broadcast_to(&[3, 0]).shape(), &[3, 0]);
    }

    #[test]
    #[should_panic(expected = "broadcast_to: shape [2, 18446744073709551615] has too many elements")]
    fn broadcast_to_rejects_an_uncountable_shape() {
        seq(&[1, 1]).broadcast_to(&[2, usize::MAX]);
    }

    #[test]
    #[should_panic(expected = "broadcast_to: shape [3, 2] does not broadcast to [3, 4]")]
    fn broadcast_to_rejects_incompatible_shapes() {
        seq(&[3, 2]).broadcast_to(&[3, 4]);
    }

    #[test]
    fn sum_to_shape_sums_broadcast_axes() {
        let g = seq(&[2, 3]);
        assert!(g.sum_to_shape(&[2, 3]).same_storage(&g));
        assert_eq!(g.sum_to_shape(&[3]).to_vec(), vec![3.0, 5.0, 7.0]);
        assert_eq!(g.sum_to_shape(&[2, 1]).to_vec(), vec![3.0, 12.0]);
        assert_eq!(g.sum_to_shape(&[1, 1]).shape(), &[1, 1]);
        assert_eq!(g.sum_to_shape(&[]).to_vec(), vec![15.0]);
        assert_eq!(g.t().sum_to_shape(&[3, 1]).to_vec(), vec![3.0, 5.0, 7.0]);
        assert_eq!(seq(&[1, 3]).sum_to_shape(&[3]).to_vec(), vec![0.0, 1.0, 2.0]);
        assert_eq!(seq(&[2, 0]).sum_to_shape(&[1, 0]).shape(), &[1, 0]);
        assert_eq!(seq(&[0, 2]).sum_to_shape(&[2]).to_vec(), vec![0.0, 0.0]);
    }

    #[test]
    #[should_panic(expected = "sum_to_shape: shape [2] does not broadcast to [2, 3]")]
    fn sum_to_shape_rejects_a_foreign_shape() {
        seq(&[2, 3]).sum_to_shape(&[2]);
    }

    proptest! {
        #[test]
        fn sum_to_shape_matches_a_naive_sum(
            (s, keep, lead, perm) in shape().prop_flat_map(|s| {
                let n = s.len();
                let perm = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
                (Just(s), proptest::collection::vec(any::<bool>(), n), 0..=n, perm)
            })
        ) {
            // A permuted view of seq data, so non-contiguous inputs are covered too.
            let base: Vec<usize> = {
                let mut inv = vec![0; perm.len()];
                for (i, &p) in perm.iter().enumerate() { inv[p] = i; }
                inv.iter().map(|&i| s[i]).collect()
            };
            let g = seq(&base).permute(&perm);
            prop_assert_eq!(g.shape(), &s[..]);
            let target: Vec<usize> = (lead..s.len()).map(|i| if keep[i] { s[i] } else { 1 }).collect();
            let got = g.sum_to_shape(&target);
            prop_assert_eq!(g.to_contiguous().sum_to_shape(&target), got.clone());
            prop_assert_eq!(got.shape(), &target[..]);
            let mut naive = vec![0.0; target.iter().product()];
            for ix in indices(&s) {
                let mut at = 0;
                for (j, &t) in target.iter().enumerate() {
                    at = at * t + if t == 1 { 0 } else { ix[lead + j] };
                }
                naive[at] += g.get(&ix).unwrap();
            }
            prop_assert_eq!(got.to_vec(), naive);
        }
    }
}
