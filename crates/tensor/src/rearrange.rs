//! Ops that move, mask or pick elements without arithmetic, as PyTorch's: `flip`, `roll`,
//! `tril` / `triu`, `diagonal` / `diag_embed`, `unfold` (sliding windows), `masked_fill`,
//! `take_along_axis` and `index_put`. Each is an index pattern, so its gradient (in the tape) routes values back.

use ndarray::{ArrayD, Axis, IxDyn};

use crate::error::OrPanic;
use crate::float::Float;
use crate::shape::Shape;
use crate::shape_ops::{check_axis, invalid};
use crate::tensor::Tensor;

/// The flat entries of the `offset` diagonal of an `r × c` matrix, row-major: `(i, i + offset)`.
pub(crate) fn diagonal_entries(r: usize, c: usize, offset: isize) -> Vec<usize> {
    let (i0, j0) = if offset >= 0 { (0, offset.unsigned_abs()) } else { (offset.unsigned_abs(), 0) };
    let len = r.saturating_sub(i0).min(c.saturating_sub(j0));
    (0..len).map(|k| (i0 + k) * c + j0 + k).collect()
}

/// 1 where the `r × c` matrix keeps `(i, j)` by `keep(i, j)`, else 0.
fn triangle_mask<F: Float>(r: usize, c: usize, keep: impl Fn(isize, isize) -> bool) -> Tensor<F> {
    let v = (0..r * c).map(|n| if keep((n / c) as isize, (n % c) as isize) { F::one() } else { F::zero() });
    Tensor::from_vec(v.collect(), &[r, c]).expect("r * c entries")
}

/// The mask of `tril(k)` (`lower`) or `triu(k)` on the last two axes of `shape`, as `[r, c]`.
#[track_caller]
pub(crate) fn tri_mask<F: Float>(op: &'static str, shape: &[usize], k: isize, lower: bool) -> Tensor<F> {
    if shape.len() < 2 {
        invalid(op, format!("needs at least 2 dims, got shape {shape:?}"));
    }
    let (r, c) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    if lower { triangle_mask(r, c, |i, j| j - i <= k) } else { triangle_mask(r, c, |i, j| j - i >= k) }
}

/// The windows `unfold` picks along an axis of `n`: `(count, entries)`, entries window after window.
#[track_caller]
pub(crate) fn window_entries(n: usize, size: usize, step: usize) -> (usize, Vec<usize>) {
    if step == 0 || size > n {
        invalid(
            "unfold",
            format!("size {size} and step {step} do not fit an axis of {n} (size ≤ {n}, step ≥ 1)"),
        );
    }
    let count = (n - size) / step + 1;
    (count, (0..count).flat_map(|w| (w * step)..(w * step + size)).collect())
}

impl<F: Float> Tensor<F> {
    /// The elements in reverse order along each of `axes`, as `torch.flip` (a view: no copy).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::arange(0.0, 4.0, 1.0).reshape(&[2, 2]).unwrap();
    /// assert_eq!(x.flip(&[1]).to_vec(), vec![1.0, 0.0, 3.0, 2.0]);
    /// assert_eq!(x.flip(&[0, 1]).to_vec(), vec![3.0, 2.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn flip(&self, axes: &[usize]) -> Self {
        let axes = Shape::check_axes("flip", axes, self.shape()).unwrap_or_else(|e| panic!("{e}"));
        let mut data = self.data.clone();
        for a in axes {
            data.invert_axis(Axis(a));
        }
        Tensor { data }
    }

    /// The elements shifted by `shifts[i]` along `axes[i]`, wrapping around, as `torch.roll`:
    /// `out[(j + shift) mod n] = x[j]`; negative shifts go the other way.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::arange(0.0, 4.0, 1.0);
    /// assert_eq!(x.roll(&[1], &[0]).to_vec(), vec![3.0, 0.0, 1.0, 2.0]);
    /// assert_eq!(x.roll(&[-1], &[0]).to_vec(), vec![1.0, 2.0, 3.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `shifts` and `axes` differ in length, or an axis is out of range.
    #[track_caller]
    pub fn roll(&self, shifts: &[isize], axes: &[usize]) -> Self {
        let mut out = self.clone();
        for (a, indices) in roll_entries(self.shape(), shifts, axes) {
            out = out.index_select(a, &indices);
        }
        out
    }

    /// The lower triangle of the last two axes, as `torch.tril(x, k)`: entries `(i, j)` with
    /// `j - i ≤ k` kept, the rest 0 (also where they were ∞ or NaN).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::ones(&[2, 2]);
    /// assert_eq!(x.tril(0).to_vec(), vec![1.0, 0.0, 1.0, 1.0]);
    /// assert_eq!(x.tril(-1).to_vec(), vec![0.0, 0.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` has fewer than 2 dims.
    #[track_caller]
    pub fn tril(&self, k: isize) -> Self {
        let mask = tri_mask("tril", self.shape(), k, true);
        Tensor::where_cond(&mask, self, &Tensor::scalar(F::zero()))
    }

    /// The upper triangle of the last two axes, as `torch.triu(x, k)`: entries with `j - i ≥ k`
    /// kept, the rest 0.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::ones(&[2, 3]);
    /// assert_eq!(x.triu(1).to_vec(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` has fewer than 2 dims.
    #[track_caller]
    pub fn triu(&self, k: isize) -> Self {
        let mask = tri_mask("triu", self.shape(), k, false);
        Tensor::where_cond(&mask, self, &Tensor::scalar(F::zero()))
    }

    /// The `offset` diagonal of the matrices on axes `a1` (rows) and `a2` (columns), as
    /// `torch.diagonal(x, offset, a1, a2)`: both axes removed and the diagonal appended last.
    /// Positive offsets are above the main diagonal.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::arange(0.0, 6.0, 1.0).reshape(&[2, 3]).unwrap();
    /// assert_eq!(x.diagonal(0, 0, 1).to_vec(), vec![0.0, 4.0]);
    /// assert_eq!(x.diagonal(1, 0, 1).to_vec(), vec![1.0, 5.0]);
    /// assert_eq!(x.diagonal(-1, 0, 1).to_vec(), vec![3.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `a1` or `a2` is out of range, or they are the same axis.
    #[track_caller]
    pub fn diagonal(&self, offset: isize, a1: usize, a2: usize) -> Self {
        let (order, outer) = diagonal_layout("diagonal", self.shape(), a1, a2);
        let (r, c) = (self.shape()[a1], self.shape()[a2]);
        let flat = self.permute(&order).reshape(&[&outer[..], &[r * c]].concat()).expect("same count");
        flat.index_select(outer.len(), &diagonal_entries(r, c, offset))
    }

    /// Square matrices on two new last axes with the last axis of `self` on their `offset`
    /// diagonal and zeros elsewhere, as `torch.diag_embed(x, offset)` (whose default new axes are
    /// the last two): `[..., n]` becomes `[..., m, m]` with `m = n + |offset|`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// assert_eq!(x.diag_embed(0).to_vec(), vec![1.0, 0.0, 0.0, 2.0]);
    /// assert_eq!(x.diag_embed(1).shape(), &[3, 3]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is 0-D.
    #[track_caller]
    pub fn diag_embed(&self, offset: isize) -> Self {
        let shape = self.shape();
        let Some((&n, outer)) = shape.split_last() else {
            invalid("diag_embed", "needs at least 1 dim, got a 0-D tensor".into())
        };
        let m = n + offset.unsigned_abs();
        let entries = diagonal_entries(m, m, offset);
        let rows = self.reshape(&[outer.iter().product(), n]).expect("same count");
        let mut out = ArrayD::<F>::zeros(IxDyn(&[rows.shape()[0], m * m]));
        for (mut to, from) in out.outer_iter_mut().zip(rows.data.outer_iter()) {
            for (&e, &v) in entries.iter().zip(from.iter()) {
                to[e] = v;
            }
        }
        Tensor::from_array(out).reshape(&[outer, &[m, m]].concat()).expect("same count")
    }

    /// Sliding windows of `size` every `step` along `axis`, as `torch.Tensor.unfold(axis, size,
    /// step)`: `axis` becomes the number of windows, `(n - size) / step + 1`, and a new last axis
    /// of `size` holds each window.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::arange(0.0, 5.0, 1.0);
    /// let w = x.unfold(0, 2, 2);
    /// assert_eq!(w.shape(), &[2, 2]);
    /// assert_eq!(w.to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range, `size` exceeds its length, or `step` is 0.
    #[track_caller]
    pub fn unfold(&self, axis: usize, size: usize, step: usize) -> Self {
        check_axis("unfold", axis, self.shape());
        let (count, entries) = window_entries(self.shape()[axis], size, step);
        let (split, order) = unfold_layout(self.shape(), axis, count, size);
        self.index_select(axis, &entries).reshape(&split).expect("same count").permute(&order)
    }

    /// `value` where `mask` (broadcast to `self`'s shape) is non-zero, `self` elsewhere, as
    /// `torch.masked_fill`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    /// let mask = Tensor::from_vec(vec![0.0, 1.0, 0.0], &[3]).unwrap();
    /// assert_eq!(x.masked_fill(&mask, -1.0).to_vec(), vec![1.0, -1.0, 3.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `mask` does not broadcast to `self`'s shape.
    #[track_caller]
    pub fn masked_fill(&self, mask: &Tensor<F>, value: F) -> Self {
        let mask = mask.broadcast_to(self.shape());
        Tensor::where_cond(&mask, &Tensor::scalar(value), self)
    }

    /// Picks along `axis` by `indices` (`numpy.take_along_axis`, PyTorch's `take_along_dim`):
    /// `gather` after broadcasting `self` and `indices` against each other on every other axis.
    ///
    /// ```
    /// use wengert::tensor::{Tensor, ndarray::arr2};
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let first = arr2(&[[1], [0]]).into_dyn();
    /// assert_eq!(x.take_along_axis(&first, 1).to_vec(), vec![2.0, 3.0]);
    /// let both = arr2(&[[1, 0]]).into_dyn(); // broadcast over the rows
    /// assert_eq!(x.take_along_axis(&both, 0).to_vec(), vec![3.0, 2.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the dims differ in number, the other axes do not broadcast, or an index is out of range.
    #[track_caller]
    pub fn take_along_axis(&self, indices: &ArrayD<usize>, axis: usize) -> Self {
        let (x_shape, index) = along_layout(self.shape(), indices, axis);
        self.broadcast_to(&x_shape).gather(axis, &index)
    }

    /// `self` with `values` put at the positions `indices` name, as PyTorch's
    /// `x.index_put((i0, i1, ..), values, accumulate)`, i.e. `x[i0, i1, ..] = values`:
    /// `indices[a][p]` is the index along axis `a` of the `p`-th position, for the first
    /// `indices.len()` axes, and `values` broadcasts to `[positions, ..the other axes]`. With
    /// `accumulate` the values are added (a position named twice gets both); without, they are
    /// written, and of a position named twice the last write stays (PyTorch leaves that undefined).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::zeros(&[2, 3]);
    /// let v = Tensor::from_vec(vec![5.0, 7.0], &[2]).unwrap();
    /// let y = x.index_put(&[&[0, 1], &[2, 0]], &v, false); // x[0, 2] = 5, x[1, 0] = 7
    /// assert_eq!(y.to_vec(), vec![0.0, 0.0, 5.0, 7.0, 0.0, 0.0]);
    /// let rows = x.index_put(&[&[1, 1]], &Tensor::ones(&[3]), true); // x[1] += 1, twice
    /// assert_eq!(rows.to_vec(), vec![0.0, 0.0, 0.0, 2.0, 2.0, 2.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`index_put_layout`].
    #[track_caller]
    pub fn index_put(&self, indices: &[&[usize]], values: &Tensor<F>, accumulate: bool) -> Self {
        let (rows, index) = index_put_layout(self.shape(), indices, values.shape());
        let (x, v) = (self.reshape(&rows).or_panic(), values.broadcast_to(index.shape()));
        let out = if accumulate { x.scatter_add(0, &index, &v) } else { x.scatter(0, &index, &v) };
        out.reshape(self.shape()).or_panic()
    }
}

/// The layout [`Tensor::index_put`] writes by: `shape` with its first `indices.len()` axes merged
/// into one axis of rows, and for each of the `k` positions the row it names, repeated over the
/// other axes, as a `[k, ..the other axes]` index for `scatter` / `scatter_add` along axis 0.
/// Returns the merged shape and that index.
///
/// ```
/// use wengert::tensor::index_put_layout;
/// let (rows, index) = index_put_layout(&[2, 3, 4], &[&[1, 0], &[2, 1]], &[4]);
/// assert_eq!(rows, vec![6, 4]);
/// assert_eq!(index.shape(), &[2, 4]);
/// assert_eq!(index[[0, 0]], 5); // row (1, 2) of the 2 × 3 leading axes
/// assert_eq!(index[[1, 3]], 1); // row (0, 1)
/// ```
///
/// # Panics
///
/// When no or too many index lists are given, they differ in length, an index is out of range, or
/// `values_shape` does not broadcast to `[k, ..the other axes]`; the message names `index_put`.
#[track_caller]
pub fn index_put_layout(
    shape: &[usize],
    indices: &[&[usize]],
    values_shape: &[usize],
) -> (Vec<usize>, ArrayD<usize>) {
    let m = indices.len();
    if m == 0 || m > shape.len() {
        invalid("index_put", format!("{m} index lists for shape {shape:?} (1 to {} allowed)", shape.len()));
    }
    let k = indices[0].len();
    if let Some(a) = indices.iter().position(|ix| ix.len() != k) {
        invalid("index_put", format!("index list {a} has {} entries, list 0 has {k}", indices[a].len()));
    }
    for (a, ix) in indices.iter().enumerate() {
        if let Some(&i) = ix.iter().find(|&&i| i >= shape[a]) {
            invalid("index_put", format!("index {i} is out of range for axis {a} of shape {shape:?}"));
        }
    }
    let rest = &shape[m..];
    let target: Vec<usize> = std::iter::once(k).chain(rest.iter().copied()).collect();
    let fits = values_shape.len() <= target.len()
        && values_shape.iter().rev().zip(target.iter().rev()).all(|(&v, &t)| v == t || v == 1);
    if !fits {
        invalid("index_put", format!("values of shape {values_shape:?} do not broadcast to {target:?}"));
    }
    let row = |p: usize| indices.iter().enumerate().fold(0, |r, (a, ix)| r * shape[a] + ix[p]);
    let rows: Vec<usize> = std::iter::once(shape[..m].iter().product()).chain(rest.iter().copied()).collect();
    (rows, ArrayD::from_shape_fn(IxDyn(&target), |at| row(at[0])))
}

/// For `roll`: each axis to roll with the source entry of each output entry.
#[track_caller]
pub(crate) fn roll_entries(shape: &[usize], shifts: &[isize], axes: &[usize]) -> Vec<(usize, Vec<usize>)> {
    if shifts.len() != axes.len() {
        invalid("roll", format!("{} shifts for {} axes {axes:?}", shifts.len(), axes.len()));
    }
    let mut out = Vec::new();
    for (&s, &a) in shifts.iter().zip(axes) {
        check_axis("roll", a, shape);
        let n = shape[a] as isize;
        if n > 0 {
            out.push((a, (0..n).map(|j| (j - s).rem_euclid(n) as usize).collect()));
        }
    }
    out
}

/// For `diagonal`: the permutation moving `a1`, `a2` last, and the other axes' sizes.
#[track_caller]
pub(crate) fn diagonal_layout(
    op: &'static str,
    shape: &[usize],
    a1: usize,
    a2: usize,
) -> (Vec<usize>, Vec<usize>) {
    check_axis(op, a1, shape);
    check_axis(op, a2, shape);
    if a1 == a2 {
        invalid(op, format!("axes {a1} and {a2} are the same axis of shape {shape:?}"));
    }
    let mut order: Vec<usize> = (0..shape.len()).filter(|&a| a != a1 && a != a2).collect();
    let outer = order.iter().map(|&a| shape[a]).collect();
    order.extend([a1, a2]);
    (order, outer)
}

/// For `unfold`: the shape with `axis` split into `[count, size]`, and the permutation moving
/// `size` last.
pub(crate) fn unfold_layout(
    shape: &[usize],
    axis: usize,
    count: usize,
    size: usize,
) -> (Vec<usize>, Vec<usize>) {
    let mut split = shape.to_vec();
    split.splice(axis..=axis, [count, size]);
    let mut order: Vec<usize> = (0..split.len()).filter(|&a| a != axis + 1).collect();
    order.push(axis + 1);
    (split, order)
}

/// For `take_along_axis`: the shape `self` broadcasts to and `indices` broadcast to its shape.
#[track_caller]
pub(crate) fn along_layout(
    shape: &[usize],
    indices: &ArrayD<usize>,
    axis: usize,
) -> (Vec<usize>, ArrayD<usize>) {
    check_axis("take_along_axis", axis, shape);
    let ix = indices.shape();
    if ix.len() != shape.len() {
        invalid(
            "take_along_axis",
            format!("indices of shape {ix:?} must have as many dims as shape {shape:?}"),
        );
    }
    let mut x_shape = shape.to_vec();
    let mut i_shape = ix.to_vec();
    for d in (0..shape.len()).filter(|&d| d != axis) {
        let (a, b) = (shape[d], ix[d]);
        let both = if a == b || b == 1 {
            a
        } else if a == 1 {
            b
        } else {
            invalid(
                "take_along_axis",
                format!("indices of shape {ix:?} do not broadcast with shape {shape:?} on axis {d}"),
            )
        };
        (x_shape[d], i_shape[d]) = (both, both);
    }
    let index = indices.broadcast(IxDyn(&i_shape)).expect("checked to broadcast").to_owned();
    (x_shape, index)
}

#[cfg(test)]
mod tests;
