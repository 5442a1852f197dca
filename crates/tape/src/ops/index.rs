//! Index ops on Vars and their rules (`g` the incoming gradient, `x` the input):
//!
//! index_select: g added at the selected entries of zeros of x's shape, a primitive (`index_add`)
//! whose own rule is index_select again · gather: g scattered (`scatter_add`) into zeros of x's shape ·
//! scatter_add into `x` from `src`: (g, g gathered by the index, padded with zeros to src's shape).
//! Gather and scatter_add are each other's adjoint, so every order of derivative closes over them.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::rc::Rc;

use wengert_tensor::ndarray::{ArrayD, Axis, IxDyn};
use wengert_tensor::{Float, Tensor};

use smallvec::SmallVec;

use crate::op::{Ctx, Grads, Op, one};
use crate::var::Var;

/// An index op and its (shared, O(1) to clone) index data.
#[derive(Clone)]
pub(crate) enum IndexOp<F: Float> {
    IndexSelect {
        axis: usize,
        indices: Rc<[usize]>,
    },
    /// The input added at entries `indices` of `axis` into zeros (the rule of `IndexSelect`).
    IndexAdd {
        axis: usize,
        indices: Rc<[usize]>,
    },
    Gather {
        axis: usize,
        index: Rc<ArrayD<usize>>,
    },
    ScatterAdd {
        axis: usize,
        index: Rc<ArrayD<usize>>,
    },
    /// Never built: holds the element type, which no index op needs.
    _Element(PhantomData<F>, Infallible),
}

impl<'t, F: Float> Var<'t, F> {
    #[track_caller]
    fn index_op(self, op: IndexOp<F>, inputs: &[usize], y: Tensor<F>) -> Self {
        self.tape.push(Op::Index(op), inputs, y)
    }

    /// The entries `indices` of `axis`, in that order (repeats allowed). The gradient of an entry
    /// picked twice adds up.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::arange(0.0, 3.0, 1.0));
    /// let y = x.index_select(0, &[2, 0, 2]);
    /// assert_eq!(y.value().to_vec(), vec![2.0, 0.0, 2.0]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![1.0, 0.0, 2.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range or an index is not below its dimension.
    #[track_caller]
    pub fn index_select(self, axis: usize, indices: &[usize]) -> Self {
        let y = self.tape.node(self.id).value.index_select(axis, indices);
        self.index_op(IndexOp::IndexSelect { axis, indices: indices.into() }, &[self.id], y)
    }

    /// [`Var::index_select`] with indices already behind an `Rc` (rules only).
    #[track_caller]
    pub(crate) fn index_select_rc(self, axis: usize, indices: Rc<[usize]>) -> Self {
        let y = self.tape.node(self.id).value.index_select(axis, &indices);
        self.index_op(IndexOp::IndexSelect { axis, indices }, &[self.id], y)
    }

    /// Entry `k` of `axis` of `self` added at entry `indices[k]` of zeros whose `axis` has size `dim`:
    /// the rule of `index_select`.
    #[track_caller]
    pub(crate) fn index_add(self, axis: usize, indices: Rc<[usize]>, dim: usize) -> Self {
        let y = index_add(&self.tape.node(self.id).value, axis, &indices, dim);
        self.index_op(IndexOp::IndexAdd { axis, indices }, &[self.id], y)
    }

    /// Picks along `axis` by `index` (PyTorch's `gather`): the result has `index`'s shape and, for
    /// `axis = 1`, `out[i][j][k] = self[i][index[i][j][k]][k]`. `index` has as many dims as `self`
    /// and is no larger on the other axes.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Tensor, ndarray::arr2};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
    /// let y = x.gather(1, &arr2(&[[1, 1], [0, 1]]).into_dyn());
    /// assert_eq!(y.value().to_vec(), vec![2.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![0.0, 2.0, 1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range, `index` has the wrong number of dims or is too large on another
    /// axis, or an index is not below the dimension of `axis`.
    #[track_caller]
    pub fn gather(self, axis: usize, index: &ArrayD<usize>) -> Self {
        let y = self.tape.node(self.id).value.gather(axis, index);
        self.index_op(IndexOp::Gather { axis, index: Rc::new(index.clone()) }, &[self.id], y)
    }

    /// [`Var::gather`] with the index already behind an `Rc` (rules only).
    #[track_caller]
    pub(crate) fn gather_rc(self, axis: usize, index: Rc<ArrayD<usize>>) -> Self {
        let y = self.tape.node(self.id).value.gather(axis, &index);
        self.index_op(IndexOp::Gather { axis, index }, &[self.id], y)
    }

    /// A copy of `self` with `src` added at the positions `index` names along `axis` (PyTorch's
    /// `scatter_add`): for `axis = 0`, `out[index[i][j]][j] += src[i][j]`; repeated positions add up.
    /// Both `self` and `src` are differentiated.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Tensor, ndarray::arr1};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::zeros(&[3]));
    /// let src = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap());
    /// let y = x.scatter_add(0, &arr1(&[2, 0, 2]).into_dyn(), src);
    /// assert_eq!(y.value().to_vec(), vec![2.0, 0.0, 4.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `axis` is out of range, `index` has the wrong number of dims, is larger than `src`, or
    /// larger than `self` on another axis, or an index is not below the dimension of `axis`.
    #[track_caller]
    pub fn scatter_add(self, axis: usize, index: &ArrayD<usize>, src: Self) -> Self {
        let y = {
            let nodes = self.tape.nodes.borrow();
            nodes[self.id].value.scatter_add(axis, index, &nodes[src.id].value)
        };
        self.index_op(IndexOp::ScatterAdd { axis, index: Rc::new(index.clone()) }, &[self.id, src.id], y)
    }

    /// [`Var::scatter_add`] with the index already behind an `Rc` (rules only).
    #[track_caller]
    pub(crate) fn scatter_add_rc(self, axis: usize, index: Rc<ArrayD<usize>>, src: Self) -> Self {
        let y = {
            let nodes = self.tape.nodes.borrow();
            nodes[self.id].value.scatter_add(axis, &index, &nodes[src.id].value)
        };
        self.index_op(IndexOp::ScatterAdd { axis, index }, &[self.id, src.id], y)
    }
}

impl<F: Float> IndexOp<F> {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            IndexOp::IndexSelect { .. } => "index_select",
            IndexOp::IndexAdd { .. } => "index_add",
            IndexOp::Gather { .. } => "gather",
            IndexOp::ScatterAdd { .. } => "scatter_add",
            IndexOp::_Element(_, never) => match *never {},
        }
    }

    /// The inputs' gradients, given the output's gradient `g`.
    pub(crate) fn backward<'t, V: crate::value::Value<'t, F>>(&self, ctx: &Ctx<'t, F>, g: V) -> Grads<V> {
        match self {
            IndexOp::IndexSelect { axis, indices } => one(g.index_add(*axis, indices, ctx.shape(0)[*axis])),
            IndexOp::IndexAdd { axis, indices } => one(g.index_select(*axis, indices)),
            IndexOp::Gather { axis, index } => {
                let zeros = g.constant(Tensor::zeros(&ctx.shape(0)));
                one(zeros.scatter_add(*axis, index, g))
            }
            IndexOp::ScatterAdd { axis, index } => {
                let gsrc = ctx.when(1, || {
                    let picked = g.clone().gather(*axis, index);
                    let (have, want) = (picked.dims(), ctx.shape(1));
                    if have == want {
                        picked
                    } else {
                        let pads: Vec<(usize, usize)> =
                            have.iter().zip(&want).map(|(&h, &w)| (0, w - h)).collect();
                        picked.pad(&pads, F::zero())
                    }
                });
                SmallVec::from_buf([ctx.when(0, || g), gsrc])
            }
            IndexOp::_Element(_, never) => match *never {},
        }
    }
}

/// Zeros with `dim` entries along `axis` (else `g`'s shape), each entry `k` of `g` along `axis` added
/// at `indices[k]`: the adjoint of `index_select`.
pub(crate) fn index_add<F: Float>(g: &Tensor<F>, axis: usize, indices: &[usize], dim: usize) -> Tensor<F> {
    let mut shape = g.shape().to_vec();
    shape[axis] = dim;
    let (src, mut out) = (g.view(), ArrayD::zeros(IxDyn(&shape)));
    for (k, &i) in indices.iter().enumerate() {
        let mut row = out.index_axis_mut(Axis(axis), i);
        row += &src.index_axis(Axis(axis), k);
    }
    Tensor::from_array(out)
}

#[cfg(test)]
pub(crate) mod tests;
