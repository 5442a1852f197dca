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
    /// use wengert_tape::Tape;
    /// use wengert_tensor::Tensor;
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
    /// use wengert_tape::Tape;
    /// use wengert_tensor::{Tensor, ndarray::arr2};
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
    /// use wengert_tape::Tape;
    /// use wengert_tensor::{Tensor, ndarray::arr1};
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
pub(crate) mod tests {
    use wengert_tensor::Tensor;
    use wengert_tensor::ndarray::{arr1, arr2, arr3};

    use crate::tape::Tape;
    use crate::var::Var;

    /// Distinct, non-trivial values of `shape`.
    pub(crate) fn seq(shape: &[usize]) -> Tensor<f64> {
        let n = shape.iter().product();
        Tensor::from_vec((0..n).map(|i| (i as f64 * 0.37).cos() * 1.5 + 0.1 * i as f64).collect(), shape)
            .unwrap()
    }

    fn weighted<'t>(y: Var<'t, f64>, salt: f64) -> Var<'t, f64> {
        let n = y.len();
        let w: Vec<f64> = (0..n).map(|i| ((i as f64 + 1.0) * 0.754 + salt).sin() + 0.25).collect();
        (y * y.constant(Tensor::from_vec(w, &y.shape()).unwrap())).sum()
    }

    fn zeros_for_none(gs: Vec<Option<Tensor<f64>>>, xs: &[Tensor<f64>]) -> Vec<Tensor<f64>> {
        gs.into_iter().zip(xs).map(|(g, x)| g.unwrap_or_else(|| Tensor::zeros(x.shape()))).collect()
    }

    /// `Σ_k Σ w_k ⊙ ∂y/∂x_k` as computed by first-order `grad`: the function the second order checks.
    fn first_order_sum<Fun: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>(f: &Fun, xs: &[Tensor<f64>]) -> f64 {
        let tape = Tape::new();
        let vars: Vec<_> = xs.iter().map(|x| tape.var(x.clone())).collect();
        let gs = zeros_for_none(tape.grad_opt(weighted(f(&vars), 0.0), &vars), xs);
        gs.iter().enumerate().map(|(k, g)| weighted(tape.constant(g.clone()), 1.0 + k as f64).item()).sum()
    }

    fn compare(
        what: &str,
        k: usize,
        analytic: &Tensor<f64>,
        x: &Tensor<f64>,
        numeric: impl Fn(usize) -> f64,
    ) {
        assert_eq!(analytic.shape(), x.shape(), "{what}: gradient of input {k} has the wrong shape");
        for (i, a) in analytic.to_vec().into_iter().enumerate() {
            let n = numeric(i);
            assert!(
                (a - n).abs() <= 1e-5 + 1e-3 * n.abs(),
                "{what}: input {k}, element {i}: analytic {a}, numeric {n}"
            );
        }
    }

    /// Central difference of `f` in element `i` of input `k`.
    fn central(f: impl Fn(&[Tensor<f64>]) -> f64, xs: &[Tensor<f64>], k: usize, i: usize) -> f64 {
        let eps = 1e-6;
        let at = |d: f64| {
            let mut v = xs[k].to_vec();
            v[i] += d;
            let mut ys = xs.to_vec();
            ys[k] = Tensor::from_vec(v, xs[k].shape()).unwrap();
            f(&ys)
        };
        (at(eps) - at(-eps)) / (2.0 * eps)
    }

    /// Checks `grad` (and that `grad_graph` agrees) of `Σ w ⊙ f(xs)` against finite differences.
    pub(crate) fn check<Fun: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>(xs: &[Tensor<f64>], f: Fun) {
        let tape = Tape::new();
        let vars: Vec<_> = xs.iter().map(|x| tape.var(x.clone())).collect();
        let y = weighted(f(&vars), 0.0);
        let gs = zeros_for_none(tape.grad_opt(y, &vars), xs);
        let graph = tape.grad_graph_opt(y, &vars);
        let value = |xs: &[Tensor<f64>]| {
            let tape = Tape::new();
            let vars: Vec<_> = xs.iter().map(|x| tape.var(x.clone())).collect();
            weighted(f(&vars), 0.0).item()
        };
        for (k, x) in xs.iter().enumerate() {
            compare("first order", k, &gs[k], x, |i| central(value, xs, k, i));
            if let Some(g) = graph[k] {
                assert_eq!(g.value().to_vec(), gs[k].to_vec(), "grad_graph and grad differ for input {k}");
            }
        }
    }

    /// Checks the gradient of `grad_graph`'s first-order gradients against finite differences of the
    /// first-order gradients.
    pub(crate) fn check2<Fun: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>(xs: &[Tensor<f64>], f: Fun) {
        let tape = Tape::new();
        let vars: Vec<_> = xs.iter().map(|x| tape.var(x.clone())).collect();
        let gs = tape.grad_graph_opt(weighted(f(&vars), 0.0), &vars);
        let z = gs
            .iter()
            .enumerate()
            .filter_map(|(k, g)| g.map(|g| weighted(g, 1.0 + k as f64)))
            .reduce(|a, b| a + b);
        let hs = match z {
            Some(z) => zeros_for_none(tape.grad_opt(z, &vars), xs),
            None => xs.iter().map(|x| Tensor::zeros(x.shape())).collect(),
        };
        for (k, x) in xs.iter().enumerate() {
            compare("second order", k, &hs[k], x, |i| central(|xs| first_order_sum(&f, xs), xs, k, i));
        }
    }

    #[test]
    fn index_select_grads_match_finite_differences() {
        check(&[seq(&[3, 2])], |v| v[0].index_select(0, &[2, 0, 2]));
        check(&[seq(&[2, 3])], |v| v[0].t().index_select(1, &[1, 1]));
        check(&[seq(&[1, 4])], |v| v[0].index_select(0, &[0, 0]).index_select(1, &[3, 0]));
        check(&[seq(&[2, 3])], |v| v[0].index_select(1, &[]).sum() + v[0].index_select(0, &[1]));
    }

    #[test]
    fn gather_grads_match_finite_differences() {
        let index = arr2(&[[1, 1, 0], [0, 2, 2]]).into_dyn();
        check(&[seq(&[2, 3])], |v| v[0].gather(1, &index));
        check(&[seq(&[3, 2])], |v| v[0].t().gather(1, &index));
        // An index smaller than x off the axis, and a size-1 dim.
        let small = arr3(&[[[0], [0]]]).into_dyn();
        check(&[seq(&[1, 3, 2])], |v| v[0].gather(2, &small));
        check(&[seq(&[3])], |v| v[0].gather(0, &arr1(&[2, 2, 0, 1]).into_dyn()));
    }

    #[test]
    fn scatter_add_grads_match_finite_differences() {
        let index = arr2(&[[2, 0], [2, 1]]).into_dyn();
        check(&[seq(&[3, 2]), seq(&[2, 2])], |v| v[0].scatter_add(0, &index, v[1]));
        // src larger than the index, x transposed.
        let small = arr2(&[[1], [0]]).into_dyn();
        check(&[seq(&[3, 2]), seq(&[2, 3])], |v| v[0].t().scatter_add(1, &small, v[1]));
        // Only src differentiated.
        let zeros = Tensor::zeros(&[3]);
        check(&[seq(&[3])], |v| {
            v[0].constant(zeros.clone()).scatter_add(0, &arr1(&[1, 1, 0]).into_dyn(), v[0])
        });
    }

    #[test]
    fn index_second_order_grads_match_finite_differences() {
        check2(&[seq(&[3, 2])], |v| v[0].index_select(0, &[2, 0, 2]).square());
        check2(&[seq(&[3, 2])], |v| v[0].t().index_select(1, &[1, 1]).square());
        let index = arr2(&[[1, 1, 0], [0, 2, 2]]).into_dyn();
        check2(&[seq(&[2, 3])], |v| v[0].gather(1, &index).square());
        let small = arr2(&[[1], [0]]).into_dyn();
        check2(&[seq(&[2, 3]), seq(&[2, 2])], |v| (v[0].scatter_add(1, &small, v[1]) * v[0]).exp());
    }

    #[test]
    fn index_ops_are_named() {
        let tape = Tape::<f64>::new();
        let x = tape.var(seq(&[3]));
        let y = x.index_select(0, &[1]).gather(0, &arr1(&[0]).into_dyn());
        assert_eq!(tape.node(y.id).op.name(), "gather");
    }
}
