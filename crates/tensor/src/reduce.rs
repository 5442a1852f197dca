//! Reductions over all elements or over given axes, with `keepdim`: sum, mean, max, min, arg-max/min,
//! var/std with a correction, a stable logsumexp (m + ln Σ e^(x - m), m the max), the L2 norm, the product,
//! and max/min along one axis with their indices.
//!
//! Results do not depend on the size of the thread pool: each output element is reduced serially in a
//! fixed order, and long sums add fixed-size blocks in order.

use ndarray::{ArrayD, Axis, IxDyn};
use rayon::prelude::*;

use crate::error::{OrPanic, TensorError, fail};
use crate::float::Float;
use crate::kernel::{PAR_THRESHOLD, from_vec_shaped};
use crate::shape::{Shape, reduced_shape};
use crate::tensor::Tensor;

/// Block length for long sums: partial sums of blocks are added in order.
const BLOCK: usize = 4096;

impl<F: Float> Tensor<F> {
    /// True when no element is NaN or ±∞ (also for an empty tensor). One branch-free pass, on the
    /// thread pool for long tensors: the check an optimizer makes on every gradient before a step.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![1.0, -2.0, 3.5], &[3]).unwrap();
    /// assert!(x.all_finite());
    /// let y = Tensor::<f32>::from_vec(vec![1.0, f32::INFINITY], &[2]).unwrap();
    /// assert!(!y.all_finite());
    /// ```
    pub fn all_finite(&self) -> bool {
        // The order does not matter here, so a transposed or otherwise permuted gradient (a weight's, from
        // a product's backward) is read as the slice its buffer is; only views with gaps go element-wise.
        let Some(s) = self.data.as_slice_memory_order() else {
            return self.view().iter().all(|x| x.is_finite());
        };
        if s.len() >= PAR_THRESHOLD { s.par_chunks(BLOCK).all(finite_slice) } else { finite_slice(s) }
    }

    /// Sum of all elements, as a 0-D tensor.
    pub fn sum(&self) -> Self {
        Tensor::scalar(sum_slice(&self.contiguous_data()))
    }

    /// Sum over `axes`; with `keepdim` the reduced axes stay as size 1.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(x.sum_axes(&[1], true).shape(), &[2, 1]);
    /// assert_eq!(x.sum_axes(&[0, 1], false).item(), 10.0);
    /// ```
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated: `sum_axes: axis 2 is out of range for shape [2, 2] (2 dims)`.
    #[track_caller]
    #[doc(alias("sum_dim", "reduce_sum"))]
    pub fn sum_axes(&self, axes: &[usize], keepdim: bool) -> Self {
        let axes = checked_axes("sum_axes", axes, self.shape());
        if axes.is_empty() {
            return self.clone();
        }
        let inner: usize = axes.iter().map(|&a| self.shape()[a]).product();
        let outer = self.len().checked_div(inner).unwrap_or(0);
        if outer <= 1 || axes.iter().all(|&a| a + axes.len() >= self.ndim()) {
            // Reduced axes are trailing (or the output is tiny): reduce contiguous rows.
            self.reduce_rows("sum_axes", &axes, keepdim, sum_slice)
        } else {
            // Outer reduced axes: ndarray adds whole lanes at a time, which vectorizes.
            let mut a: ArrayD<F> = self.data.sum_axis(Axis(axes[axes.len() - 1]));
            for &ax in axes.iter().rev().skip(1) {
                a = a.sum_axis(Axis(ax));
            }
            let shape = reduced_shape(self.shape(), &axes, keepdim);
            Tensor::from_array(a.into_shape_with_order(IxDyn(&shape)).expect("same length"))
        }
    }

    /// Mean of all elements (NaN for an empty tensor).
    pub fn mean(&self) -> Self {
        Tensor::scalar(sum_slice(&self.contiguous_data()) / F::from_usize(self.len()))
    }

    /// Mean over `axes`.
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    #[doc(alias("mean_dim", "reduce_mean"))]
    pub fn mean_axes(&self, axes: &[usize], keepdim: bool) -> Self {
        let checked = checked_axes("mean_axes", axes, self.shape());
        let n: usize = checked.iter().map(|&a| self.shape()[a]).product();
        let s = self.sum_axes(&checked, keepdim);
        &s * (F::one() / F::from_usize(n))
    }

    /// Largest element (NaN if any is NaN).
    ///
    /// # Panics
    ///
    /// When the tensor is empty.
    #[track_caller]
    pub fn max(&self) -> Self {
        self.reduce_all_nonempty("max", max_slice)
    }

    /// Largest element over `axes` (NaN if any is NaN).
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated, or a reduced axis has size 0.
    #[track_caller]
    #[doc(alias("amax", "reduce_max"))]
    pub fn max_axes(&self, axes: &[usize], keepdim: bool) -> Self {
        let axes = checked_nonempty_axes("max_axes", axes, self.shape());
        self.reduce_rows("max_axes", &axes, keepdim, max_slice)
    }

    /// Smallest element (NaN if any is NaN).
    ///
    /// # Panics
    ///
    /// When the tensor is empty.
    #[track_caller]
    pub fn min(&self) -> Self {
        self.reduce_all_nonempty("min", min_slice)
    }

    /// Smallest element over `axes`.
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated, or a reduced axis has size 0.
    #[track_caller]
    #[doc(alias("amin", "reduce_min"))]
    pub fn min_axes(&self, axes: &[usize], keepdim: bool) -> Self {
        let axes = checked_nonempty_axes("min_axes", axes, self.shape());
        self.reduce_rows("min_axes", &axes, keepdim, min_slice)
    }

    /// Row-major index of the largest element (the first on ties; a NaN counts as largest).
    ///
    /// # Panics
    ///
    /// When the tensor is empty.
    #[track_caller]
    pub fn argmax(&self) -> usize {
        self.check_nonempty("argmax");
        arg_best(&self.contiguous_data(), |a, b| a > b)
    }

    /// Row-major index of the smallest element (the first on ties; a NaN counts as smallest).
    ///
    /// # Panics
    ///
    /// When the tensor is empty.
    #[track_caller]
    pub fn argmin(&self) -> usize {
        self.check_nonempty("argmin");
        arg_best(&self.contiguous_data(), |a, b| a < b)
    }

    /// Indices of the largest elements along `axis` (the first on ties). Not differentiable.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 5.0, 5.0, 0.0, 2.0, 9.0], &[2, 3]).unwrap();
    /// assert_eq!(x.argmax_axis(1, false).into_raw_vec_and_offset().0, vec![1, 2]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or has size 0.
    #[track_caller]
    pub fn argmax_axis(&self, axis: usize, keepdim: bool) -> ArrayD<usize> {
        self.arg_axis("argmax_axis", axis, keepdim, |a, b| a > b)
    }

    /// Indices of the smallest elements along `axis` (the first on ties). Not differentiable.
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or has size 0.
    #[track_caller]
    pub fn argmin_axis(&self, axis: usize, keepdim: bool) -> ArrayD<usize> {
        self.arg_axis("argmin_axis", axis, keepdim, |a, b| a < b)
    }

    /// Variance of all elements, dividing by `n - correction` (1 gives the unbiased estimate, as
    /// `torch.var`'s default; 0 the population variance). Where `correction ≥ n` the divisor is 0, as in
    /// PyTorch: the result is inf, or NaN when every element is the same; never negative.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!((x.var(1).item(), x.var(3).item(), x.var(5).item()), (1.0, f64::INFINITY, f64::INFINITY));
    /// ```
    pub fn var(&self, correction: usize) -> Self {
        let all: Vec<usize> = (0..self.ndim()).collect();
        self.var_axes(&all, correction, false)
    }

    /// Variance over `axes`, dividing by `max(0, n - correction)`; where that is 0 the result is inf or
    /// NaN, as in PyTorch.
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn var_axes(&self, axes: &[usize], correction: usize, keepdim: bool) -> Self {
        let axes = checked_axes("var_axes", axes, self.shape());
        self.reduce_rows("var_axes", &axes, keepdim, |row| {
            let n = row.len();
            let mean = sum_slice(row) / F::from_usize(n);
            let ss = row.iter().map(|&x| (x - mean) * (x - mean)).sum::<F>();
            ss / F::from_usize(n.saturating_sub(correction))
        })
    }

    /// Standard deviation of all elements with a correction (see [`Tensor::var`]).
    pub fn std(&self, correction: usize) -> Self {
        self.var(correction).sqrt()
    }

    /// Standard deviation over `axes` with a correction.
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn std_axes(&self, axes: &[usize], correction: usize, keepdim: bool) -> Self {
        self.var_axes(axes, correction, keepdim).sqrt()
    }

    /// `ln Σ e^x` over all elements, computed stably (finite for logits of ±1e4).
    pub fn logsumexp(&self) -> Self {
        Tensor::scalar(logsumexp_slice(&self.contiguous_data()))
    }

    /// `ln Σ e^x` over `axes`, computed stably.
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn logsumexp_axes(&self, axes: &[usize], keepdim: bool) -> Self {
        let axes = checked_axes("logsumexp_axes", axes, self.shape());
        self.reduce_rows("logsumexp_axes", &axes, keepdim, logsumexp_slice)
    }

    /// Product of all elements (1 for an empty tensor).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(x.prod().item(), 24.0);
    /// ```
    pub fn prod(&self) -> Self {
        Tensor::scalar(prod_slice(&self.contiguous_data()))
    }

    /// Product over `axes` (1 over an empty axis), keeping them as size 1 with `keepdim`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(x.prod_axes(&[0], false).to_vec(), vec![3.0, 8.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    #[doc(alias("prod_dim", "reduce_prod"))]
    pub fn prod_axes(&self, axes: &[usize], keepdim: bool) -> Self {
        let axes = checked_axes("prod_axes", axes, self.shape());
        self.reduce_rows("prod_axes", &axes, keepdim, prod_slice)
    }

    /// The largest elements along `axis` and their indices (the first on ties), as PyTorch's
    /// `max(dim)`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 5.0, 0.0, 2.0], &[2, 2]).unwrap();
    /// let (values, indices) = x.max_axis_with_indices(1, false);
    /// assert_eq!(values.to_vec(), vec![5.0, 2.0]);
    /// assert_eq!(indices.into_raw_vec_and_offset().0, vec![1, 1]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or has size 0.
    #[track_caller]
    pub fn max_axis_with_indices(&self, axis: usize, keepdim: bool) -> (Self, ArrayD<usize>) {
        let idx = self.argmax_axis(axis, true);
        self.picked(axis, idx, keepdim)
    }

    /// The smallest elements along `axis` and their indices (the first on ties), as PyTorch's
    /// `min(dim)`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 5.0, 0.0, 2.0], &[2, 2]).unwrap();
    /// let (values, indices) = x.min_axis_with_indices(0, true);
    /// assert_eq!(values.to_vec(), vec![0.0, 2.0]);
    /// assert_eq!(indices.into_raw_vec_and_offset().0, vec![1, 1]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or has size 0.
    #[track_caller]
    pub fn min_axis_with_indices(&self, axis: usize, keepdim: bool) -> (Self, ArrayD<usize>) {
        let idx = self.argmin_axis(axis, true);
        self.picked(axis, idx, keepdim)
    }

    /// The entries `idx` (kept axis) picks along `axis`, and `idx`, both without `axis` unless `keepdim`.
    fn picked(&self, axis: usize, idx: ArrayD<usize>, keepdim: bool) -> (Self, ArrayD<usize>) {
        let values = self.gather(axis, &idx);
        if keepdim { (values, idx) } else { (values.squeeze(axis), idx.remove_axis(Axis(axis))) }
    }

    /// The L2 (Frobenius) norm of all elements.
    pub fn norm(&self) -> Self {
        Tensor::scalar(norm_slice(&self.contiguous_data()))
    }

    /// The L2 norm over `axes`.
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn norm_axes(&self, axes: &[usize], keepdim: bool) -> Self {
        let axes = checked_axes("norm_axes", axes, self.shape());
        self.reduce_rows("norm_axes", &axes, keepdim, norm_slice)
    }

    /// The elements in row-major order, borrowed when already contiguous.
    fn contiguous_data(&self) -> std::borrow::Cow<'_, [F]> {
        match self.data.as_slice() {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(self.data.iter().copied().collect()),
        }
    }

    #[track_caller]
    fn check_nonempty(&self, op: &'static str) {
        if self.is_empty() {
            fail(TensorError::InvalidArgument {
                op,
                reason: format!("cannot reduce an empty tensor of shape {:?}", self.shape()),
            });
        }
    }

    #[track_caller]
    fn reduce_all_nonempty(&self, op: &'static str, f: fn(&[F]) -> F) -> Self {
        self.check_nonempty(op);
        Tensor::scalar(f(&self.contiguous_data()))
    }

    /// Moves `axes` (sorted) last, lays the result out in rows, and reduces each row with `f`.
    fn reduce_rows(
        &self,
        _op: &'static str,
        axes: &[usize],
        keepdim: bool,
        f: impl Fn(&[F]) -> F + Sync,
    ) -> Self {
        let shape = reduced_shape(self.shape(), axes, keepdim);
        let inner: usize = axes.iter().map(|&a| self.shape()[a]).product();
        let outer: usize = shape.iter().product();
        let mut order: Vec<usize> = (0..self.ndim()).filter(|a| !axes.contains(a)).collect();
        order.extend_from_slice(axes);
        let moved = self.data.view().permuted_axes(IxDyn(&order));
        let rows = moved.as_standard_layout();
        let data = rows.as_slice().expect("standard layout is contiguous");
        let out: Vec<F> = if inner == 0 {
            (0..outer).map(|_| f(&[])).collect()
        } else if outer > 1 && data.len() >= PAR_THRESHOLD {
            data.par_chunks_exact(inner).map(&f).collect()
        } else {
            data.chunks_exact(inner).map(&f).collect()
        };
        from_vec_shaped(out, &shape)
    }

    #[track_caller]
    fn arg_axis(
        &self,
        op: &'static str,
        axis: usize,
        keepdim: bool,
        better: fn(F, F) -> bool,
    ) -> ArrayD<usize> {
        let axes = checked_nonempty_axes(op, &[axis], self.shape());
        let idx = self.reduce_rows(op, &axes, keepdim, |row| F::from_usize(arg_best(row, better)));
        idx.data.mapv(|v| v.to_f64() as usize)
    }
}

#[track_caller]
fn checked_axes(op: &'static str, axes: &[usize], shape: &[usize]) -> Vec<usize> {
    Shape::check_axes(op, axes, shape).or_panic()
}

#[track_caller]
fn checked_nonempty_axes(op: &'static str, axes: &[usize], shape: &[usize]) -> Vec<usize> {
    let axes = checked_axes(op, axes, shape);
    if let Some(&a) = axes.iter().find(|&&a| shape[a] == 0) {
        fail(TensorError::InvalidArgument { op, reason: format!("axis {a} of shape {shape:?} is empty") });
    }
    axes
}

/// Product in order, 1 for no elements.
fn prod_slice<F: Float>(s: &[F]) -> F {
    s.iter().fold(F::one(), |acc, &x| acc * x)
}

/// Sum in fixed blocks added in order: deterministic, and more accurate than one running sum.
fn sum_slice<F: Float>(s: &[F]) -> F {
    if s.len() <= BLOCK {
        return s.iter().copied().sum();
    }
    let partial: Vec<F> = if s.len() >= PAR_THRESHOLD {
        s.par_chunks(BLOCK).map(|c| c.iter().copied().sum()).collect()
    } else {
        s.chunks(BLOCK).map(|c| c.iter().copied().sum()).collect()
    };
    partial.into_iter().sum()
}

/// True when every element is finite. `0·x` is 0 for a finite `x` and NaN otherwise, and NaN stays
/// NaN through sums: 32 independent running sums, no branch, so the loop vectorises and is bound by
/// memory, not by the latency of one chain of additions.
fn finite_slice<F: Float>(s: &[F]) -> bool {
    const LANES: usize = 32;
    let zero = F::zero();
    let mut acc = [zero; LANES];
    let chunks = s.chunks_exact(LANES);
    let rest = chunks.remainder().iter().fold(zero, |a, &x| a + zero * x);
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += zero * x;
        }
    }
    acc.iter().fold(rest, |a, &b| a + b).is_finite()
}

fn max_slice<F: Float>(s: &[F]) -> F {
    s.iter()
        .copied()
        .fold(F::neg_infinity(), |m, x| if x.is_nan() || m.is_nan() { F::nan() } else { m.max(x) })
}

fn min_slice<F: Float>(s: &[F]) -> F {
    s.iter().copied().fold(F::infinity(), |m, x| if x.is_nan() || m.is_nan() { F::nan() } else { m.min(x) })
}

/// Index of the first element that no later element beats; NaN beats everything.
fn arg_best<F: Float>(s: &[F], better: fn(F, F) -> bool) -> usize {
    let mut best = 0;
    for (i, &x) in s.iter().enumerate().skip(1) {
        if s[best].is_nan() {
            break;
        }
        if x.is_nan() || better(x, s[best]) {
            best = i;
        }
    }
    best
}

fn logsumexp_slice<F: Float>(s: &[F]) -> F {
    let m = max_slice(s);
    if !m.is_finite() {
        // All -inf gives -inf; any +inf gives +inf; NaN stays NaN.
        return if s.is_empty() { F::neg_infinity() } else { m };
    }
    m + s.iter().map(|&x| (x - m).exp()).sum::<F>().ln()
}

fn norm_slice<F: Float>(s: &[F]) -> F {
    s.iter().map(|&x| x * x).sum::<F>().sqrt()
}

#[cfg(test)]
mod tests;
