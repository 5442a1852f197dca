//! Cumulative ops, vector norms and max/min with indices on Vars, composed of primitives so that
//! they need no rule of their own and differentiate to any order:
//!
//! cumsum is a primitive (a shape-family op): its adjoint is the running sum from the end, whose
//! adjoint is cumsum again. cumprod / logcumsumexp along an axis of `n`: the axis moved last and
//! spread to an `n × n` triangle whose row `k` holds `x_j` for `j ≤ k` and the op's identity (1,
//! -∞) above, then reduced over the row by prod (whose rule is exact with zeros) or logsumexp
//! (stable). O(n²) work and memory per lane. · vector_norm: |x|, raised to p, summed and raised to 1/p, with
//! zeros (of |x| and of the sum) routed around the powers so that their gradient is 0, never NaN, as
//! PyTorch's; ∞ and -∞ are max and min of |x| (ties share). · max / min along an axis: the picked
//! entries (`gather`), so the gradient goes to the returned index, as PyTorch's `max(dim)`.

use wengert_tensor::ndarray::ArrayD;
use wengert_tensor::{Float, Shape, Tensor};

use crate::op::Op;
use crate::ops::shape::ShapeOp;
use crate::var::Var;

/// Running sums of `x` along `axis`, from its end when `reverse`: the forward of `cumsum` and of
/// its adjoint.
pub(crate) fn running_sum<F: Float>(x: &Tensor<F>, axis: usize, reverse: bool) -> Tensor<F> {
    if reverse { x.flip(&[axis]).cumsum(axis).flip(&[axis]) } else { x.cumsum(axis) }
}

impl<'t, F: Float> Var<'t, F> {
    /// `reduce` of the triangle of `self` along `axis` (see the module docs), with `fill` above the
    /// diagonal, and the axis moved back.
    #[track_caller]
    fn scan(self, op: &'static str, axis: usize, fill: F, reduce: impl Fn(Self, usize) -> Self) -> Self {
        let shape = self.shape();
        if let Err(e) = Shape::check_axis(op, axis, &shape) {
            panic!("{e}");
        }
        let (nd, n) = (shape.len(), shape[axis]);
        let mut order: Vec<usize> = (0..nd).filter(|&a| a != axis).collect();
        order.push(axis);
        let mut wide: Vec<usize> = order.iter().map(|&a| shape[a]).collect();
        wide.push(n);
        let lower = Tensor::from_vec(
            (0..n * n).map(|i| if i % n <= i / n { F::one() } else { F::zero() }).collect(),
            &[n, n],
        )
        .expect("n * n entries");
        let rows = self.permute(&order).unsqueeze(nd - 1).broadcast_to(&wide);
        let tri = Var::where_cond(&lower, rows, self.constant(Tensor::scalar(fill)));
        let mut back: Vec<usize> = (0..nd - 1).collect();
        back.insert(axis, nd - 1);
        reduce(tri, nd).permute(&back)
    }

    /// Running sums along `axis`, as `torch.cumsum`; the gradient is the running sum of the
    /// output's gradient from the end.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap());
    /// let y = x.cumsum(0);
    /// assert_eq!(y.value().to_vec(), vec![1.0, 3.0, 6.0]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![3.0, 2.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn cumsum(self, axis: usize) -> Self {
        if let Err(e) = Shape::check_axis("cumsum", axis, &self.shape()) {
            panic!("{e}");
        }
        self.running_sum(axis, false)
    }

    /// Running sums along `axis` (checked), from its end when `reverse`.
    pub(crate) fn running_sum(self, axis: usize, reverse: bool) -> Self {
        let y = running_sum(&self.tape.node(self.id).value, axis, reverse);
        self.tape.push(Op::Shape(ShapeOp::Cumsum { axis, reverse }), &[self.id], y)
    }

    /// Running products along `axis`, as `torch.cumprod`, with a gradient exact where elements are
    /// 0 (no division). O(n²) per lane of `n`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![2.0, 0.0, 3.0], &[3]).unwrap());
    /// let y = x.cumprod(0);
    /// assert_eq!(y.value().to_vec(), vec![2.0, 0.0, 0.0]);
    /// // d/dx1 of x0 + x0·x1 + x0·x1·x2 = x0 + x0·x2.
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![1.0, 8.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn cumprod(self, axis: usize) -> Self {
        self.scan("cumprod", axis, F::one(), |t, last| t.prod_axes(&[last], false))
    }

    /// Running `ln Σ e^x` along `axis`, as `torch.logcumsumexp`: stable for large inputs, its
    /// gradient a softmax over each prefix. O(n²) per lane of `n`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1000.0, 1000.0], &[2]).unwrap());
    /// let y = x.logcumsumexp(0);
    /// assert!((y.value().to_vec()[1] - (1000.0 + 2f64.ln())).abs() < 1e-12);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![1.5, 0.5]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn logcumsumexp(self, axis: usize) -> Self {
        self.scan("logcumsumexp", axis, F::neg_infinity(), |t, last| t.logsumexp_axes(&[last], false))
    }

    /// The vector `ord`-norm over `axes`, as `torch.linalg.vector_norm(x, ord, dim, keepdim)`:
    /// `(Σ |x|^ord)^(1/ord)` for `ord > 0`, the largest `|x|` for `ord = ∞`, the smallest for
    /// `ord = -∞`. Gradients as PyTorch's: 0 where the norm is 0 and (for every order) where an
    /// element is 0; for ±∞, ties share the gradient equally. An empty `axes` reduces nothing
    /// (PyTorch's `dim=None` is every axis).
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![3.0, -4.0, 0.0], &[3]).unwrap());
    /// let y = x.vector_norm(1.0, &[0], false);
    /// assert_eq!(y.value().item(), 7.0);
    /// assert_eq!(y.backward()[x].to_vec(), vec![1.0, -1.0, 0.0]);
    /// let z = tape.var(Tensor::zeros(&[2]));
    /// assert_eq!(z.vector_norm(0.5, &[0], false).backward()[z].to_vec(), vec![0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `ord` is not positive (and not -∞) or NaN, or an axis is out of range or repeated, or
    /// (for ±∞) a reduced axis is empty.
    #[track_caller]
    pub fn vector_norm(self, ord: f64, axes: &[usize], keepdim: bool) -> Self {
        if !(ord > 0.0 || ord == f64::NEG_INFINITY) {
            panic!("vector_norm: ord {ord} is not supported: it must be > 0, ∞ or -∞");
        }
        if ord == 2.0 {
            return self.norm_axes(axes, keepdim);
        }
        let a = self.abs();
        match ord {
            1.0 => a.sum_axes(axes, keepdim),
            f64::INFINITY => a.max_axes(axes, keepdim),
            f64::NEG_INFINITY => a.min_axes(axes, keepdim),
            _ => {
                let p = F::from_f64(ord);
                let s = a.pow_away_from_zero(p).sum_axes(axes, keepdim);
                s.pow_away_from_zero(F::one() / p)
            }
        }
    }

    /// `self^p` for `self ≥ 0`, with 0 where `self` is 0 and a gradient of 0 there: the power is taken
    /// of 1 in its place, so no ∞ from `p x^(p-1)` meets a zero gradient and makes NaN.
    fn pow_away_from_zero(self, p: F) -> Self {
        let zero = self.value().eq_mask(&Tensor::scalar(F::zero()));
        let nought = self.constant(Tensor::scalar(F::zero()));
        let safe = Var::where_cond(&zero, self.constant(Tensor::scalar(F::one())), self);
        Var::where_cond(&zero, nought, safe.powf(p))
    }

    /// The largest entries along `axis` and their indices (the first on ties), as PyTorch's
    /// `max(dim, keepdim)`: the gradient goes to the returned index only.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 5.0, 5.0, 2.0], &[2, 2]).unwrap());
    /// let (values, indices) = x.max_axis_with_indices(1, false);
    /// assert_eq!(values.value().to_vec(), vec![5.0, 5.0]);
    /// assert_eq!(indices.into_raw_vec_and_offset().0, vec![1, 0]);
    /// assert_eq!(values.sum().backward()[x].to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or has size 0.
    #[track_caller]
    pub fn max_axis_with_indices(self, axis: usize, keepdim: bool) -> (Self, ArrayD<usize>) {
        let idx = self.value().argmax_axis(axis, true);
        self.picked(axis, idx, keepdim)
    }

    /// The smallest entries along `axis` and their indices (the first on ties), as PyTorch's
    /// `min(dim, keepdim)`: the gradient goes to the returned index only.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 5.0, 0.0, 2.0], &[2, 2]).unwrap());
    /// let (values, indices) = x.min_axis_with_indices(0, true);
    /// assert_eq!(values.value().to_vec(), vec![0.0, 2.0]);
    /// assert_eq!(values.sum().backward()[x].to_vec(), vec![0.0, 0.0, 1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or has size 0.
    #[track_caller]
    pub fn min_axis_with_indices(self, axis: usize, keepdim: bool) -> (Self, ArrayD<usize>) {
        let idx = self.value().argmin_axis(axis, true);
        self.picked(axis, idx, keepdim)
    }

    /// The entries `idx` (kept axis) picks along `axis`, and `idx`, both without `axis` unless `keepdim`.
    fn picked(self, axis: usize, idx: ArrayD<usize>, keepdim: bool) -> (Self, ArrayD<usize>) {
        let values = self.gather(axis, &idx);
        if keepdim {
            (values, idx)
        } else {
            (values.squeeze(axis), idx.remove_axis(wengert_tensor::ndarray::Axis(axis)))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
