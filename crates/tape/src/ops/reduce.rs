//! Reductions on Vars and their rules. With `gk` the incoming gradient reshaped to keep the reduced
//! axes as size 1 and `yk` the output likewise:
//!
//! sum: gk broadcast to x · max / min: gk · [x = yk] / (number of ties), so ties share equally ·
//! logsumexp: gk · e^(x - yk) · norm: gk · x / yk (0 where yk = 0) · prod: gk · (product of the
//! other elements of the group), computed without division so that zeros are exact.
//! mean, var and std are composed of these and need no rule of their own.

use smallvec::SmallVec;
use wengert_tensor::ndarray::ArrayD;
use wengert_tensor::{Float, Shape, Tensor};

use crate::op::{Ctx, Op};
use crate::var::Var;

/// Which reduction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ReduceKind {
    Sum,
    Max,
    Min,
    LogSumExp,
    Norm,
    Prod,
}

/// A reduction over `axes` (sorted), keeping them as size 1 or not.
#[derive(Clone, Debug)]
pub(crate) struct Reduce {
    kind: ReduceKind,
    axes: SmallVec<[usize; 4]>,
    keepdim: bool,
}

impl<'t, F: Float> Var<'t, F> {
    #[track_caller]
    fn reduce(self, kind: ReduceKind, axes: &[usize], keepdim: bool) -> Self {
        let op_name = match kind {
            ReduceKind::Sum => "sum_axes",
            ReduceKind::Max => "max_axes",
            ReduceKind::Min => "min_axes",
            ReduceKind::LogSumExp => "logsumexp_axes",
            ReduceKind::Norm => "norm_axes",
            ReduceKind::Prod => "prod_axes",
        };
        let axes = match Shape::check_axes(op_name, axes, &self.shape()) {
            Ok(axes) => axes,
            Err(e) => panic!("{e}"),
        };
        let y = {
            let x = &self.tape.node(self.id).value;
            match kind {
                ReduceKind::Sum => x.sum_axes(&axes, keepdim),
                ReduceKind::Max => x.max_axes(&axes, keepdim),
                ReduceKind::Min => x.min_axes(&axes, keepdim),
                ReduceKind::LogSumExp => x.logsumexp_axes(&axes, keepdim),
                ReduceKind::Norm => x.norm_axes(&axes, keepdim),
                ReduceKind::Prod => x.prod_axes(&axes, keepdim),
            }
        };
        let op = Reduce { kind, axes: SmallVec::from_slice(&axes), keepdim };
        self.tape.push(Op::Reduce(op), &[self.id], y)
    }

    #[track_caller]
    fn all_axes(self) -> Vec<usize> {
        (0..self.ndim()).collect()
    }

    /// Sum of all elements, as a 0-D Var.
    #[track_caller]
    pub fn sum(self) -> Self {
        self.reduce(ReduceKind::Sum, &self.all_axes(), false)
    }

    /// Sum over `axes`, keeping them as size 1 with `keepdim`.
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    #[doc(alias("sum_dim", "reduce_sum"))]
    pub fn sum_axes(self, axes: &[usize], keepdim: bool) -> Self {
        self.reduce(ReduceKind::Sum, axes, keepdim)
    }

    /// Mean of all elements.
    #[track_caller]
    pub fn mean(self) -> Self {
        let n = self.len();
        self.sum() * (F::one() / F::from_usize(n))
    }

    /// Mean over `axes`.
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    #[doc(alias("mean_dim", "reduce_mean"))]
    pub fn mean_axes(self, axes: &[usize], keepdim: bool) -> Self {
        let shape = self.shape();
        let s = self.sum_axes(axes, keepdim);
        let n: usize = axes.iter().map(|&a| shape[a]).product();
        s * (F::one() / F::from_usize(n))
    }

    /// Largest element; ties share the gradient equally.
    #[track_caller]
    pub fn max(self) -> Self {
        self.reduce(ReduceKind::Max, &self.all_axes(), false)
    }

    /// Largest elements over `axes`; ties share the gradient equally.
    ///
    /// # Panics
    ///
    /// When an axis is out of range, repeated or empty.
    #[track_caller]
    #[doc(alias("amax", "reduce_max"))]
    pub fn max_axes(self, axes: &[usize], keepdim: bool) -> Self {
        self.reduce(ReduceKind::Max, axes, keepdim)
    }

    /// Smallest element; ties share the gradient equally.
    #[track_caller]
    pub fn min(self) -> Self {
        self.reduce(ReduceKind::Min, &self.all_axes(), false)
    }

    /// Smallest elements over `axes`; ties share the gradient equally.
    ///
    /// # Panics
    ///
    /// When an axis is out of range, repeated or empty.
    #[track_caller]
    #[doc(alias("amin", "reduce_min"))]
    pub fn min_axes(self, axes: &[usize], keepdim: bool) -> Self {
        self.reduce(ReduceKind::Min, axes, keepdim)
    }

    /// Variance of all elements, dividing by `n - correction`.
    #[track_caller]
    pub fn var(self, correction: usize) -> Self {
        self.var_axes(&self.all_axes(), correction, false)
    }

    /// Variance over `axes`, dividing by `n - correction` (by 0 when the correction reaches the count,
    /// giving inf, or NaN for a zero sum of squares, as PyTorch does).
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn var_axes(self, axes: &[usize], correction: usize, keepdim: bool) -> Self {
        let shape = self.shape();
        let n: usize = axes.iter().map(|&a| shape[a]).product();
        let d = self - self.mean_axes(axes, true);
        // Divided by max(0, n - correction), as in PyTorch: inf or NaN, never negative, past the count.
        (d * d).sum_axes(axes, keepdim) * (F::one() / F::from_f64((n as f64 - correction as f64).max(0.0)))
    }

    /// Standard deviation of all elements with a correction.
    #[track_caller]
    pub fn std(self, correction: usize) -> Self {
        self.var(correction).variance_sqrt()
    }

    /// Standard deviation over `axes` with a correction.
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn std_axes(self, axes: &[usize], correction: usize, keepdim: bool) -> Self {
        self.var_axes(axes, correction, keepdim).variance_sqrt()
    }

    /// `ln Σ e^x` over all elements, stably.
    #[track_caller]
    pub fn logsumexp(self) -> Self {
        self.reduce(ReduceKind::LogSumExp, &self.all_axes(), false)
    }

    /// `ln Σ e^x` over `axes`, stably.
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn logsumexp_axes(self, axes: &[usize], keepdim: bool) -> Self {
        self.reduce(ReduceKind::LogSumExp, axes, keepdim)
    }

    /// The L2 norm of all elements; its gradient at 0 is 0.
    #[track_caller]
    pub fn norm(self) -> Self {
        self.reduce(ReduceKind::Norm, &self.all_axes(), false)
    }

    /// The L2 norm over `axes`; its gradient where the norm is 0 is 0.
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn norm_axes(self, axes: &[usize], keepdim: bool) -> Self {
        self.reduce(ReduceKind::Norm, axes, keepdim)
    }

    /// Product of all elements, as a 0-D Var. Its gradient is exact where elements are 0: with one
    /// zero, the zero's gradient is the product of the others (and the rest get 0); with two or more,
    /// every gradient is 0, as in PyTorch.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![0.0, 2.0, 3.0], &[3]).unwrap());
    /// let y = x.prod();
    /// assert_eq!(y.value().item(), 0.0);
    /// assert_eq!(y.backward()[x].to_vec(), vec![6.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn prod(self) -> Self {
        self.reduce(ReduceKind::Prod, &self.all_axes(), false)
    }

    /// Product over `axes`, keeping them as size 1 with `keepdim`; the gradient is exact with zeros
    /// as in [`Var::prod`]. Its rule multiplies each element's others explicitly: O(m²) for groups
    /// of `m` elements.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 0.0, 0.0], &[2, 2]).unwrap());
    /// let y = x.prod_axes(&[1], true);
    /// assert_eq!(y.value().to_vec(), vec![2.0, 0.0]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![2.0, 1.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    #[doc(alias("prod_dim", "reduce_prod"))]
    pub fn prod_axes(self, axes: &[usize], keepdim: bool) -> Self {
        self.reduce(ReduceKind::Prod, axes, keepdim)
    }

    /// Indices of the largest elements along `axis`. Not differentiable: a plain index array.
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or empty.
    #[track_caller]
    pub fn argmax_axis(self, axis: usize, keepdim: bool) -> ArrayD<usize> {
        self.value().argmax_axis(axis, keepdim)
    }

    /// Indices of the smallest elements along `axis`. Not differentiable: a plain index array.
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or empty.
    #[track_caller]
    pub fn argmin_axis(self, axis: usize, keepdim: bool) -> ArrayD<usize> {
        self.value().argmin_axis(axis, keepdim)
    }
}

impl Reduce {
    /// The input's shape with the reduced axes kept as size 1: the shape the output's gradient is
    /// reshaped to before it is broadcast back.
    fn kept_shape(&self, shape: &[usize]) -> SmallVec<[usize; 6]> {
        shape.iter().enumerate().map(|(i, &d)| if self.axes.contains(&i) { 1 } else { d }).collect()
    }

    pub(crate) fn name(&self) -> String {
        let kind = match self.kind {
            ReduceKind::Sum => "sum",
            ReduceKind::Max => "max",
            ReduceKind::Min => "min",
            ReduceKind::LogSumExp => "logsumexp",
            ReduceKind::Norm => "norm",
            ReduceKind::Prod => "prod",
        };
        format!("{kind}(axes {:?}{})", self.axes.as_slice(), if self.keepdim { ", keepdim" } else { "" })
    }

    /// The input's gradient, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(&self, ctx: &Ctx<'t, F>, g: V) -> V {
        let shape = ctx.shape(0);
        let keep = self.kept_shape(&shape);
        let (gk, yk) = (g.reshape(&keep), || ctx.y::<V>().reshape(&keep));
        match self.kind {
            ReduceKind::Sum => gk.broadcast_to(&shape),
            ReduceKind::Max | ReduceKind::Min => {
                let ties = ctx.tape.value(ctx.inputs[0]).eq_mask(&yk().tensor());
                let count = ties.sum_axes(&self.axes, true);
                let share = gk.constant(&ties / &count);
                gk * share
            }
            // The softmax over the axes, exp(x - max) / Σ: exact where exp(x - logsumexp) is not.
            ReduceKind::LogSumExp if self.axes.len() == 1 => gk * ctx.x::<V>(0).softmax(self.axes[0]),
            ReduceKind::LogSumExp => {
                let x: V = ctx.x(0);
                let max = x.constant(ctx.tape.value(ctx.inputs[0]).max_axes(&self.axes, true));
                let e = (x - max).exp();
                let total = e.clone().sum_axes(&self.axes, true);
                gk * (e / total)
            }
            ReduceKind::Norm => {
                let yk = yk();
                let zero = yk.tensor().eq_mask(&Tensor::scalar(F::zero()));
                let zero = yk.constant(zero);
                gk * ctx.x::<V>(0) / (yk + zero)
            }
            ReduceKind::Prod => gk * self.others_product(ctx.x::<V>(0), &shape),
        }
    }

    /// For each element of `x`, the product of the other elements of its reduced group: the
    /// derivative of the product, without dividing by `x` (so exact with zeros). The group of `m`
    /// elements is laid out in a row, each element's `m - 1` others are picked into a row of their
    /// own (`index_select`) and multiplied: O(m²) work, differentiable again by the same rule.
    fn others_product<'t, F: Float, V: crate::value::Value<'t, F>>(&self, x: V, shape: &[usize]) -> V {
        let mut order: Vec<usize> = (0..shape.len()).filter(|a| !self.axes.contains(a)).collect();
        order.extend_from_slice(&self.axes);
        let moved: Vec<usize> = order.iter().map(|&a| shape[a]).collect();
        let outer = &moved[..moved.len() - self.axes.len()];
        let m: usize = self.axes.iter().map(|&a| shape[a]).product();
        let others: std::rc::Rc<[usize]> = (0..m).flat_map(|i| (0..m).filter(move |&j| j != i)).collect();
        let rows = x.permute(&order).reshape(&[outer, &[m]].concat());
        let picked =
            rows.index_select(outer.len(), &others).reshape(&[outer, &[m, m.saturating_sub(1)]].concat());
        let mut inverse = vec![0; order.len()];
        for (i, &a) in order.iter().enumerate() {
            inverse[a] = i;
        }
        picked.prod_axes(&[outer.len() + 1], false).reshape(&moved).permute(&inverse)
    }
}

#[cfg(test)]
pub(crate) mod tests;
