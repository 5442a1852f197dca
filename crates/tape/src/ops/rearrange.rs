//! Ops that move, mask or pick elements, on Vars, composed of primitives so that they need no rule
//! of their own and differentiate to any order: `flip`, `roll`, `diagonal`, `diag_embed`, `unfold`
//! and `take_along_axis` are the tensor op applied to the positions of the elements (which says
//! where each output element comes from) and then an `index_select` of the flattened Var, whose
//! gradient adds back where each element went; `tril`, `triu` and `masked_fill` are `where_cond`
//! with the tensor op's mask (gradient 0 where an element was replaced, as PyTorch's); `scatter`
//! overwrites by both, and `index_put` is `scatter` or `scatter_add` over merged leading axes; `sort` and `topk` pick by `gather`, so the gradient goes to the returned
//! indices.

use wengert_tensor::ndarray::ArrayD;
use wengert_tensor::{Float, Tensor, index_put_layout};

use crate::var::Var;

impl<'t, F: Float> Var<'t, F> {
    /// The elements of `self` arranged as `f` arranges positions: `f` gets a tensor of `self`'s
    /// shape holding `1..=n` in row-major order and returns, for every output element, the position
    /// it takes (or 0 for a zero).
    #[track_caller]
    fn pick(self, f: impl FnOnce(&Tensor<f64>) -> Tensor<f64>) -> Self {
        let positions = Tensor::from_vec((1..=self.len()).map(|i| i as f64).collect(), &self.shape())
            .expect("one position per element");
        let from = f(&positions);
        let entries: Vec<usize> = from.to_vec().into_iter().map(|p| p as usize).collect();
        self.flatten().pad(&[(1, 0)], F::zero()).index_select(0, &entries).reshape(from.shape())
    }

    /// [`Tensor::flip`]: the elements in reverse order along each of `axes`, as `torch.flip`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::arange(0.0, 3.0, 1.0));
    /// let y = x.flip(&[0]);
    /// assert_eq!(y.value().to_vec(), vec![2.0, 1.0, 0.0]);
    /// let w = tape.constant(Tensor::arange(1.0, 4.0, 1.0));
    /// assert_eq!((y * w).sum().backward()[x].to_vec(), vec![3.0, 2.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn flip(self, axes: &[usize]) -> Self {
        self.pick(|p| p.flip(axes))
    }

    /// [`Tensor::roll`]: the elements shifted by `shifts[i]` along `axes[i]`, wrapping around, as
    /// `torch.roll`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::arange(0.0, 4.0, 1.0));
    /// assert_eq!(x.roll(&[1], &[0]).value().to_vec(), vec![3.0, 0.0, 1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `shifts` and `axes` differ in length, or an axis is out of range.
    #[track_caller]
    pub fn roll(self, shifts: &[isize], axes: &[usize]) -> Self {
        self.pick(|p| p.roll(shifts, axes))
    }

    /// [`Tensor::diagonal`]: the `offset` diagonal of axes `a1`, `a2`, appended last, as
    /// `torch.diagonal`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::arange(0.0, 4.0, 1.0).reshape(&[2, 2]).unwrap());
    /// let d = x.diagonal(0, 0, 1);
    /// assert_eq!(d.value().to_vec(), vec![0.0, 3.0]);
    /// assert_eq!(d.sum().backward()[x].to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `a1` or `a2` is out of range, or they are the same axis.
    #[track_caller]
    pub fn diagonal(self, offset: isize, a1: usize, a2: usize) -> Self {
        self.pick(|p| p.diagonal(offset, a1, a2))
    }

    /// [`Tensor::diag_embed`]: matrices on two new last axes with the last axis on their `offset`
    /// diagonal, as `torch.diag_embed(x, offset)`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
    /// assert_eq!(x.diag_embed(-1).value().to_vec(), vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is 0-D.
    #[track_caller]
    pub fn diag_embed(self, offset: isize) -> Self {
        self.pick(|p| p.diag_embed(offset))
    }

    /// [`Tensor::unfold`]: sliding windows of `size` every `step` along `axis`, on a new last axis,
    /// as `torch.Tensor.unfold`. Elements in several windows add up their gradients.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::arange(0.0, 4.0, 1.0));
    /// let w = x.unfold(0, 2, 1);
    /// assert_eq!(w.value().to_vec(), vec![0.0, 1.0, 1.0, 2.0, 2.0, 3.0]);
    /// assert_eq!(w.sum().backward()[x].to_vec(), vec![1.0, 2.0, 2.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range, `size` exceeds its length, or `step` is 0.
    #[track_caller]
    pub fn unfold(self, axis: usize, size: usize, step: usize) -> Self {
        self.pick(|p| p.unfold(axis, size, step))
    }

    /// [`Tensor::take_along_axis`]: `gather` along `axis` after broadcasting `self` and `indices`
    /// on the other axes (`numpy.take_along_axis`, `torch.take_along_dim`).
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Tensor, ndarray::arr2};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
    /// let y = x.take_along_axis(&arr2(&[[1], [1]]).into_dyn(), 1);
    /// assert_eq!(y.value().to_vec(), vec![2.0, 4.0]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![0.0, 1.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the dims differ in number, the other axes do not broadcast, or an index is out of range.
    #[track_caller]
    pub fn take_along_axis(self, indices: &ArrayD<usize>, axis: usize) -> Self {
        self.pick(|p| p.take_along_axis(indices, axis))
    }

    /// [`Tensor::tril`]: the lower triangle (`j - i ≤ k`) of the last two axes, as `torch.tril`;
    /// the gradient is 0 above it.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[2, 2]));
    /// assert_eq!(x.tril(0).sum().backward()[x].to_vec(), vec![1.0, 0.0, 1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` has fewer than 2 dims.
    #[track_caller]
    pub fn tril(self, k: isize) -> Self {
        let keep = Tensor::ones(&self.shape()).tril(k);
        Var::where_cond(&keep, self, self.constant(Tensor::scalar(F::zero())))
    }

    /// [`Tensor::triu`]: the upper triangle (`j - i ≥ k`) of the last two axes, as `torch.triu`;
    /// the gradient is 0 below it.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[2, 2]));
    /// assert_eq!(x.triu(1).sum().backward()[x].to_vec(), vec![0.0, 1.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` has fewer than 2 dims.
    #[track_caller]
    pub fn triu(self, k: isize) -> Self {
        let keep = Tensor::ones(&self.shape()).triu(k);
        Var::where_cond(&keep, self, self.constant(Tensor::scalar(F::zero())))
    }

    /// [`Tensor::masked_fill`]: `value` where `mask` (a constant, broadcast to `self`) is non-zero,
    /// as `torch.masked_fill`; the gradient is 0 at the filled elements.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
    /// let mask = Tensor::from_vec(vec![1.0, 0.0], &[2]).unwrap();
    /// let y = x.masked_fill(&mask, f64::NEG_INFINITY);
    /// assert_eq!(y.value().to_vec(), vec![f64::NEG_INFINITY, 2.0]);
    /// assert_eq!(y.softmax(0).sum().backward()[x].to_vec(), vec![0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `mask` does not broadcast to `self`'s shape.
    #[track_caller]
    pub fn masked_fill(self, mask: &Tensor<F>, value: F) -> Self {
        let mask = mask.broadcast_to(&self.shape());
        Var::where_cond(&mask, self.constant(Tensor::scalar(value)), self)
    }

    /// [`Tensor::scatter`]: `self` with `src` written at the positions `index` names along `axis`,
    /// as `torch.scatter`. The gradient is 0 for the overwritten elements of `self`, and reaches an
    /// element of `src` where it was written; where a position is named twice the last write wins
    /// and only it gets the gradient (PyTorch leaves the winner undefined and gives every write the
    /// gradient).
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Tensor, ndarray::arr1};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::full(&[3], 9.0));
    /// let src = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
    /// let y = x.scatter(0, &arr1(&[2, 0]).into_dyn(), src);
    /// assert_eq!(y.value().to_vec(), vec![2.0, 9.0, 1.0]);
    /// let grads = (y * 3.0).sum().backward();
    /// assert_eq!((grads[x].to_vec(), grads[src].to_vec()), (vec![0.0, 3.0, 0.0], vec![3.0, 3.0]));
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::scatter_add`].
    #[track_caller]
    pub fn scatter(self, axis: usize, index: &ArrayD<usize>, src: Self) -> Self {
        let mut written = None;
        let from_src = src.pick(|p| {
            let w = Tensor::zeros(&self.shape()).scatter(axis, index, p);
            written = Some(w.ne_mask(&Tensor::scalar(0.0)).cast::<F>());
            w
        });
        let written: Tensor<F> = written.expect("pick runs its function");
        Var::where_cond(&written, from_src, self)
    }

    /// [`Tensor::index_put`]: `self` with `values` put at the positions `indices` name in the
    /// leading axes, as PyTorch's `x.index_put((i0, i1, ..), values, accumulate)`. Written
    /// (`accumulate` false): the gradient is 0 for the overwritten elements of `self` and reaches
    /// each value where it was written (of a position named twice, the last write); added: `self`
    /// gets the whole gradient and each value the gradient at its position.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[2, 2]));
    /// let v = tape.var(Tensor::from_vec(vec![5.0, 7.0], &[2]).unwrap());
    /// let y = x.index_put(&[&[0, 1], &[1, 0]], v, false); // x[0, 1] = 5, x[1, 0] = 7
    /// assert_eq!(y.value().to_vec(), vec![1.0, 5.0, 7.0, 1.0]);
    /// let grads = (y * 2.0).sum().backward();
    /// assert_eq!((grads[x].to_vec(), grads[v].to_vec()), (vec![2.0, 0.0, 0.0, 2.0], vec![2.0, 2.0]));
    /// ```
    ///
    /// # Panics
    ///
    /// As [`wengert::tensor::index_put_layout`](index_put_layout).
    #[track_caller]
    pub fn index_put(self, indices: &[&[usize]], values: Self, accumulate: bool) -> Self {
        let shape = self.shape();
        let (rows, index) = index_put_layout(&shape, indices, &values.shape());
        let (x, v) = (self.reshape(&rows), values.broadcast_to(index.shape()));
        let out = if accumulate { x.scatter_add(0, &index, v) } else { x.scatter(0, &index, v) };
        out.reshape(&shape)
    }

    /// [`Tensor::sort`]: each lane along `axis` sorted (stably, NaN last), with the indices that
    /// sort it, as `torch.sort(x, axis, descending, stable=True)`; the gradient goes back to each
    /// value's place.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![3.0, 1.0, 2.0], &[3]).unwrap());
    /// let (values, indices) = x.sort(0, false);
    /// assert_eq!(values.value().to_vec(), vec![1.0, 2.0, 3.0]);
    /// assert_eq!(indices.into_raw_vec_and_offset().0, vec![1, 2, 0]);
    /// let w = tape.constant(Tensor::arange(1.0, 4.0, 1.0));
    /// assert_eq!((values * w).sum().backward()[x].to_vec(), vec![3.0, 1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn sort(self, axis: usize, descending: bool) -> (Self, ArrayD<usize>) {
        let idx = self.value().argsort(axis, descending);
        (self.gather(axis, &idx), idx)
    }

    /// [`Tensor::argsort`]: the indices that sort each lane along `axis`. Not differentiable.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![3.0, 1.0, 2.0], &[3]).unwrap());
    /// assert_eq!(x.argsort(0, true).into_raw_vec_and_offset().0, vec![0, 2, 1]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range.
    #[track_caller]
    pub fn argsort(self, axis: usize, descending: bool) -> ArrayD<usize> {
        self.value().argsort(axis, descending)
    }

    /// [`Tensor::topk`]: the `k` largest (or smallest) entries along `axis`, in order, with their
    /// indices, as `torch.topk(x, k, axis, largest, sorted=True)`; the gradient goes to the picked
    /// entries.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 4.0, 2.0], &[3]).unwrap());
    /// let (values, _) = x.topk(2, 0, false);
    /// assert_eq!(values.value().to_vec(), vec![1.0, 2.0]);
    /// assert_eq!(values.sum().backward()[x].to_vec(), vec![1.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or `k` exceeds its length.
    #[track_caller]
    pub fn topk(self, k: usize, axis: usize, largest: bool) -> (Self, ArrayD<usize>) {
        let (_, idx) = self.value().topk(k, axis, largest);
        (self.gather(axis, &idx), idx)
    }
}

#[cfg(test)]
pub(crate) mod tests;
