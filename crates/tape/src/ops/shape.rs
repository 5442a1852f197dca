//! Shape ops on Vars and their rules (`g` the incoming gradient, `x` the input):
//!
//! reshape (and flatten, squeeze, squeeze_all, unsqueeze): g reshaped to x's shape ·
//! broadcast_to: g summed to x's shape · sum_to_shape: g broadcast to x's shape ·
//! permute (and t, swap_axes): g permuted by the inverse permutation ·
//! slice (and narrow, split, chunk): g placed into zeros of x's shape at the slice, a primitive
//! (`slice_backward`) whose own rule is the slice again · concat: g narrowed to each input's place ·
//! stack: g indexed at each input's position · pad: g sliced inside the padding ·
//! repeat: g reshaped to `[r0, d0, r1, d1, ...]` and summed over the `r` axes.

use std::fmt::Write;
use std::rc::Rc;

use smallvec::SmallVec;
use wengert_tensor::ndarray::{ArrayD, IxDyn, SliceInfoElem};
use wengert_tensor::{Float, Tensor};

use crate::op::{Ctx, Grads, Op, one};
use crate::tape::Tape;
use crate::var::Var;

/// A shape, a permutation or repetitions: almost always a few entries.
type Dims = SmallVec<[usize; 4]>;

/// A shape op and what its rule needs; the slice data sits behind an `Rc` so cloning is O(1).
#[derive(Clone, Debug)]
pub(crate) enum ShapeOp {
    /// To this shape (reshape, flatten, squeeze, unsqueeze).
    Reshape(Dims),
    BroadcastTo(Dims),
    SumToShape(Dims),
    /// Axis `i` of the output is axis `axes[i]` of the input (permute, t, swap_axes).
    Permute(Dims),
    /// A view by ndarray slice elements (slice, narrow, split, chunk).
    Slice(Rc<[SliceInfoElem]>),
    /// The input placed into zeros of `shape` at the slice: the rule of `Slice`.
    SliceBackward {
        info: Rc<[SliceInfoElem]>,
        shape: Dims,
    },
    Concat(usize),
    Stack(usize),
    Pad(Rc<[(usize, usize)]>),
    Repeat(Dims),
    /// Running sums along `axis`, from its end when `reverse` (each is the other's adjoint).
    Cumsum {
        axis: usize,
        reverse: bool,
    },
}

/// The slice elements that pick `start..start + len` of `axis` and all of every other axis.
fn narrow_info(ndim: usize, axis: usize, start: usize, len: usize) -> Rc<[SliceInfoElem]> {
    let at = |d| {
        if d == axis {
            SliceInfoElem::Slice { start: start as isize, end: Some((start + len) as isize), step: 1 }
        } else {
            SliceInfoElem::Slice { start: 0, end: None, step: 1 }
        }
    };
    (0..ndim).map(at).collect()
}

/// The tape the Vars share, for ops with many inputs.
#[track_caller]
fn join_tape<'t, F: Float>(op: &str, vars: &[Var<'t, F>]) -> &'t Tape<F> {
    let Some(first) = vars.first() else { panic!("{op}: no Vars given") };
    if let Some(i) = vars.iter().position(|v| !std::ptr::eq(v.tape, first.tape)) {
        panic!("{op}: Var {i} belongs to another tape than Var 0");
    }
    first.tape
}

impl<'t, F: Float> Var<'t, F> {
    #[track_caller]
    fn shape_op(self, op: ShapeOp, y: Tensor<F>) -> Self {
        self.tape.push(Op::Shape(op), &[self.id], y)
    }

    /// Records `y`, a reshaped copy of the value, unless its shape is unchanged.
    #[track_caller]
    fn reshaped(self, y: Tensor<F>) -> Self {
        if y.shape() == self.shape() { self } else { self.shape_op(ShapeOp::Reshape(y.shape().into()), y) }
    }

    /// The same elements, in row-major order, arranged in `shape` (a copy only when the value is not
    /// contiguous). An unchanged shape returns `self`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::arange(0.0, 6.0, 1.0));
    /// assert_eq!(x.reshape(&[2, 3]).shape(), vec![2, 3]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `shape` holds a different number of elements:
    /// `reshape: [2, 3] (6 elements) cannot become [4] (4 elements)`.
    #[track_caller]
    #[doc(alias = "view")]
    pub fn reshape(self, shape: &[usize]) -> Self {
        if self.shape() == shape {
            return self;
        }
        let y = match self.tape.node(self.id).value.reshape(shape) {
            Ok(y) => y,
            Err(e) => panic!("{e}"),
        };
        self.shape_op(ShapeOp::Reshape(shape.into()), y)
    }

    /// The elements as a 1-D Var, in row-major order.
    #[track_caller]
    pub fn flatten(self) -> Self {
        self.reshape(&[self.len()])
    }

    /// Removes `axis`, which must have size 1.
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or its size is not 1.
    #[track_caller]
    pub fn squeeze(self, axis: usize) -> Self {
        let y = self.tape.node(self.id).value.squeeze(axis);
        self.reshaped(y)
    }

    /// Removes every axis of size 1.
    #[track_caller]
    pub fn squeeze_all(self) -> Self {
        let y = self.tape.node(self.id).value.squeeze_all();
        self.reshaped(y)
    }

    /// Inserts an axis of size 1 at position `axis`; `axis == ndim` appends one.
    ///
    /// # Panics
    ///
    /// When `axis > ndim`.
    #[track_caller]
    #[doc(alias = "expand_dims")]
    pub fn unsqueeze(self, axis: usize) -> Self {
        let y = self.tape.node(self.id).value.unsqueeze(axis);
        self.reshaped(y)
    }

    /// Stretches the value to `shape` by NumPy broadcasting rules. Its gradient sums back.
    ///
    /// # Panics
    ///
    /// When the shape does not broadcast to `shape`.
    #[track_caller]
    #[doc(alias = "expand")]
    pub fn broadcast_to(self, shape: &[usize]) -> Self {
        if self.shape() == shape {
            return self;
        }
        let y = self.tape.node(self.id).value.broadcast_to(shape);
        self.shape_op(ShapeOp::BroadcastTo(shape.into()), y)
    }

    /// Sums a broadcast value back down to `shape`, undoing [`Var::broadcast_to`]; the backward
    /// sweep uses it to reduce every gradient to its input's shape. An unchanged shape returns `self`
    /// and records nothing.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let g = tape.var(Tensor::ones(&[4, 2, 3]));
    /// assert_eq!(g.sum_to_shape(&[2, 1]).value().to_vec(), vec![12.0, 12.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `shape` does not broadcast to the value's shape.
    #[track_caller]
    pub fn sum_to_shape(self, shape: &[usize]) -> Self {
        if self.shape() == shape {
            return self;
        }
        let y = self.tape.node(self.id).value.sum_to_shape(shape);
        self.shape_op(ShapeOp::SumToShape(shape.into()), y)
    }

    /// Swaps the last two axes; a 0-D or 1-D Var is returned unchanged, as in NumPy.
    #[track_caller]
    pub fn t(self) -> Self {
        let n = self.ndim();
        if n < 2 { self } else { self.swap_axes(n - 2, n - 1) }
    }

    /// Reorders the axes: axis `i` of the result is axis `axes[i]` of `self`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(Tensor::zeros(&[2, 3, 4]));
    /// assert_eq!(x.permute(&[2, 0, 1]).shape(), vec![4, 2, 3]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axes` is not a permutation of `0..ndim`.
    #[track_caller]
    #[doc(alias = "transpose_axes")]
    pub fn permute(self, axes: &[usize]) -> Self {
        let y = self.tape.node(self.id).value.permute(axes);
        if axes.iter().enumerate().all(|(i, &a)| i == a) {
            return self;
        }
        self.shape_op(ShapeOp::Permute(axes.into()), y)
    }

    /// Exchanges axes `a` and `b`.
    ///
    /// # Panics
    ///
    /// When either axis is out of range.
    #[track_caller]
    #[doc(alias("transpose", "swapaxes"))]
    pub fn swap_axes(self, a: usize, b: usize) -> Self {
        let y = self.tape.node(self.id).value.swap_axes(a, b);
        let mut axes: Dims = (0..y.ndim()).collect();
        axes.swap(a, b);
        self.shape_op(ShapeOp::Permute(axes), y)
    }

    /// A view selected by ndarray's `s!` macro: ranges with steps (negative ones walk from the end),
    /// single indices (which drop their axis) and `NewAxis`. Its gradient lands in zeros at the slice.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Tensor, s};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::arange(0.0, 12.0, 1.0).reshape(&[3, 4]).unwrap());
    /// let y = x.slice(s![1.., ..;2]);
    /// assert_eq!(y.value().to_vec(), vec![4.0, 6.0, 8.0, 10.0]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![0., 0., 0., 0., 1., 0., 1., 0., 1., 0., 1., 0.]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the number of ranges and indices differs from `ndim`, a range or index is out of bounds,
    /// or a step is zero.
    #[track_caller]
    pub fn slice<I: AsRef<[SliceInfoElem]>>(self, info: I) -> Self {
        let info = info.as_ref();
        let y = self.tape.node(self.id).value.slice(info);
        self.shape_op(ShapeOp::Slice(info.into()), y)
    }

    /// [`Var::slice`] with elements already behind an `Rc`, without checks (rules only).
    #[track_caller]
    pub(crate) fn slice_rc(self, info: Rc<[SliceInfoElem]>) -> Self {
        let y = self.tape.node(self.id).value.slice(&info[..]);
        self.shape_op(ShapeOp::Slice(info), y)
    }

    /// `self` placed into zeros of `shape` at the slice `info`: the rule of a slice.
    #[track_caller]
    pub(crate) fn slice_backward(self, info: Rc<[SliceInfoElem]>, shape: &[usize]) -> Self {
        let y = slice_adjoint(&self.tape.node(self.id).value, &info, shape);
        self.shape_op(ShapeOp::SliceBackward { info, shape: shape.into() }, y)
    }

    /// The `len` entries of `axis` starting at `start`.
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or `start + len` exceeds its dimension.
    #[track_caller]
    pub fn narrow(self, axis: usize, start: usize, len: usize) -> Self {
        let y = self.tape.node(self.id).value.narrow(axis, start, len);
        self.shape_op(ShapeOp::Slice(narrow_info(y.ndim(), axis, start, len)), y)
    }

    /// Records consecutive pieces of `axis`, as `split` and `chunk` cut them.
    #[track_caller]
    fn pieces(self, axis: usize, pieces: Vec<Tensor<F>>) -> Vec<Self> {
        let mut start = 0;
        pieces
            .into_iter()
            .map(|y| {
                let len = y.shape()[axis];
                let info = narrow_info(y.ndim(), axis, start, len);
                start += len;
                self.shape_op(ShapeOp::Slice(info), y)
            })
            .collect()
    }

    /// Cuts `axis` into consecutive pieces of the given `sizes`.
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or `sizes` do not add up to its dimension.
    #[track_caller]
    pub fn split(self, axis: usize, sizes: &[usize]) -> Vec<Self> {
        let pieces = self.tape.node(self.id).value.split(axis, sizes);
        self.pieces(axis, pieces)
    }

    /// Cuts `axis` into pieces of `ceil(d / n)` entries, the last one shorter, as PyTorch's `chunk`
    /// does: fewer than `n` pieces may come back.
    ///
    /// # Panics
    ///
    /// When `n` is zero or `axis` is out of range.
    #[track_caller]
    pub fn chunk(self, n: usize, axis: usize) -> Vec<Self> {
        let pieces = self.tape.node(self.id).value.chunk(n, axis);
        self.pieces(axis, pieces)
    }

    /// Joins Vars along an existing `axis`; all other dimensions must agree.
    ///
    /// ```
    /// use wengert::tape::{Tape, Var};
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let (a, b) = (tape.var(Tensor::zeros(&[2, 1])), tape.var(Tensor::ones(&[2, 2])));
    /// assert_eq!(Var::concat(&[a, b], 1).shape(), vec![2, 3]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `vars` is empty or spans two tapes, `axis` is out of range, or two shapes differ off `axis`.
    #[track_caller]
    #[doc(alias("cat", "concatenate"))]
    pub fn concat(vars: &[Var<'t, F>], axis: usize) -> Var<'t, F> {
        let tape = join_tape("concat", vars);
        let y = {
            let nodes = tape.nodes.borrow();
            let values: Vec<&Tensor<F>> = vars.iter().map(|v| &nodes[v.id].value).collect();
            Tensor::concat(&values, axis)
        };
        if let [one] = vars {
            return *one;
        }
        let ids: SmallVec<[usize; 4]> = vars.iter().map(|v| v.id).collect();
        tape.push(Op::Shape(ShapeOp::Concat(axis)), &ids, y)
    }

    /// Joins Vars of one shape along a new `axis` (`0..=ndim`).
    ///
    /// # Panics
    ///
    /// When `vars` is empty or spans two tapes, `axis > ndim`, or two shapes differ.
    #[track_caller]
    pub fn stack(vars: &[Var<'t, F>], axis: usize) -> Var<'t, F> {
        let tape = join_tape("stack", vars);
        let y = {
            let nodes = tape.nodes.borrow();
            let values: Vec<&Tensor<F>> = vars.iter().map(|v| &nodes[v.id].value).collect();
            Tensor::stack(&values, axis)
        };
        let ids: SmallVec<[usize; 4]> = vars.iter().map(|v| v.id).collect();
        tape.push(Op::Shape(ShapeOp::Stack(axis)), &ids, y)
    }

    /// Pads every axis with `value`: `pads[i] = (before, after)` entries around axis `i`.
    ///
    /// # Panics
    ///
    /// When `pads` does not hold one pair per axis, or the padded shape overflows.
    #[track_caller]
    pub fn pad(self, pads: &[(usize, usize)], value: F) -> Self {
        let y = self.tape.node(self.id).value.pad(pads, value);
        self.shape_op(ShapeOp::Pad(pads.into()), y)
    }

    /// Tiles the value: axis `i` repeats `reps[i]` times (PyTorch's `repeat`, NumPy's `tile`). `reps`
    /// may be longer than `ndim`; the value then gains leading axes of size 1 first.
    ///
    /// # Panics
    ///
    /// When `reps` has fewer entries than `ndim`, or the tiled shape overflows.
    #[track_caller]
    pub fn repeat(self, reps: &[usize]) -> Self {
        let y = self.tape.node(self.id).value.repeat(reps);
        self.shape_op(ShapeOp::Repeat(reps.into()), y)
    }
}

/// `[1..3, ..;2, 0, newaxis]`, as a slice is written.
fn fmt_info(info: &[SliceInfoElem]) -> String {
    let mut out = String::from("[");
    for (i, e) in info.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = match *e {
            SliceInfoElem::Slice { start, end, step } => {
                let start = if start == 0 { String::new() } else { start.to_string() };
                let end = end.map_or(String::new(), |e| e.to_string());
                let step = if step == 1 { String::new() } else { format!(";{step}") };
                write!(out, "{sep}{start}..{end}{step}")
            }
            SliceInfoElem::Index(i) => write!(out, "{sep}{i}"),
            SliceInfoElem::NewAxis => write!(out, "{sep}newaxis"),
        };
    }
    out.push(']');
    out
}

impl ShapeOp {
    pub(crate) fn name(&self) -> String {
        match self {
            ShapeOp::Reshape(s) => format!("reshape({:?})", s.as_slice()),
            ShapeOp::BroadcastTo(s) => format!("broadcast_to({:?})", s.as_slice()),
            ShapeOp::SumToShape(s) => format!("sum_to_shape({:?})", s.as_slice()),
            ShapeOp::Permute(a) => format!("permute({:?})", a.as_slice()),
            ShapeOp::Slice(info) => format!("slice({})", fmt_info(info)),
            ShapeOp::SliceBackward { info, shape } => {
                format!("slice_backward({}, {:?})", fmt_info(info), shape.as_slice())
            }
            ShapeOp::Concat(axis) => format!("concat(axis {axis})"),
            ShapeOp::Stack(axis) => format!("stack(axis {axis})"),
            ShapeOp::Pad(pads) => format!("pad({:?})", &pads[..]),
            ShapeOp::Repeat(r) => format!("repeat({:?})", r.as_slice()),
            ShapeOp::Cumsum { axis, reverse } => {
                format!("cumsum(axis {axis}{})", if *reverse { ", reverse" } else { "" })
            }
        }
    }

    /// The inputs' gradients, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(
        &self,
        ctx: &Ctx<'t, F>,
        g: V,
    ) -> Grads<V> {
        match *self {
            ShapeOp::Concat(axis) => {
                let mut start = 0;
                let grad = |k: usize| {
                    let len = ctx.shape(k)[axis];
                    start += len;
                    ctx.when(k, || g.clone().narrow(axis, start - len, len))
                };
                return (0..ctx.inputs.len()).map(grad).collect();
            }
            ShapeOp::Stack(axis) => {
                let full = SliceInfoElem::Slice { start: 0, end: None, step: 1 };
                let ndim = g.dims().len();
                let at = |k: usize| -> Rc<[SliceInfoElem]> {
                    (0..ndim)
                        .map(|d| if d == axis { SliceInfoElem::Index(k as isize) } else { full })
                        .collect()
                };
                return (0..ctx.inputs.len()).map(|k| ctx.when(k, || g.clone().slice(&at(k)))).collect();
            }
            _ => {}
        }
        let shape = ctx.shape(0);
        one(match self {
            ShapeOp::Reshape(_) => g.reshape(&shape),
            ShapeOp::BroadcastTo(_) => g.sum_to_shape(&shape),
            ShapeOp::SumToShape(_) => g.broadcast_to(&shape),
            ShapeOp::Permute(axes) => {
                let mut inverse: Dims = SmallVec::from_elem(0, axes.len());
                for (i, &a) in axes.iter().enumerate() {
                    inverse[a] = i;
                }
                g.permute(&inverse)
            }
            ShapeOp::Slice(info) => g.slice_adjoint(info, &shape),
            ShapeOp::SliceBackward { info, .. } => g.slice(info),
            ShapeOp::Pad(pads) => {
                let inside = |(&(before, _), &d): (&(usize, usize), &usize)| SliceInfoElem::Slice {
                    start: before as isize,
                    end: Some((before + d) as isize),
                    step: 1,
                };
                g.slice(&pads.iter().zip(&shape).map(inside).collect())
            }
            ShapeOp::Repeat(reps) => {
                let lead = reps.len() - shape.len();
                let dim = |i: usize| if i < lead { 1 } else { shape[i - lead] };
                let stretched: Vec<usize> = reps.iter().enumerate().flat_map(|(i, &r)| [r, dim(i)]).collect();
                let r_axes: Vec<usize> = (0..reps.len()).map(|i| 2 * i).collect();
                g.reshape(&stretched).sum_axes(&r_axes, false).reshape(&shape)
            }
            ShapeOp::Cumsum { axis, reverse } => g.cumsum(*axis, !*reverse),
            ShapeOp::Concat(_) | ShapeOp::Stack(_) => unreachable!("handled above"),
        })
    }
}

/// Zeros of `shape` with `g` placed at the slice `info`: the adjoint of slicing.
pub(crate) fn slice_adjoint<F: Float>(g: &Tensor<F>, info: &[SliceInfoElem], shape: &[usize]) -> Tensor<F> {
    let mut out = ArrayD::zeros(IxDyn(shape));
    out.slice_mut(info).assign(&g.view());
    Tensor::from_array(out)
}

/// `acc` plus zeros of `shape` with `g` placed at the slice `info` (`acc` absent: those zeros), the
/// way a first-order sweep accumulates a slice's gradient: added into `acc`'s region in place when
/// `acc` is the only handle to a buffer in standard layout, so that a value sliced many times (each
/// time step of a sequence) costs one pass over its gradient, not one per slice. Each element gets
/// the same sum in the same order as `acc + slice_adjoint(g)`; only an element of `acc` outside the
/// region that is -0 stays -0 (adding the +0 of the zeros would make it +0).
pub(crate) fn add_slice_adjoint<F: Float>(
    g: &Tensor<F>,
    acc: Option<Tensor<F>>,
    info: &[SliceInfoElem],
    shape: &[usize],
) -> Tensor<F> {
    let Some(mut acc) = acc else { return slice_adjoint(g, info, shape) };
    if acc.is_unique() && acc.view().is_standard_layout() && acc.has_shape(shape) {
        acc.as_array_mut().slice_mut(info).zip_mut_with(&g.view(), |a, &b| *a += b);
        return acc;
    }
    acc + slice_adjoint(g, info, shape)
}

#[cfg(test)]
pub(crate) mod tests;
