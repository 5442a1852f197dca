//! Shared elementwise kernels: unary maps and broadcasting zips, serial for small work, rayon above a threshold.

use std::borrow::Cow;

use ndarray::{ArrayD, IxDyn, Zip};
use rayon::prelude::*;

use self::rows::Operand;
use crate::error::OrPanic;
use crate::float::Float;
use crate::recycle;
use crate::shape::broadcast_shapes;
use crate::tensor::Tensor;

/// Elementwise work on at least this many elements runs on the rayon pool; smaller work stays serial.
/// The built-in kernels of known cost (cheap arithmetic, or transcendental functions) use thresholds
/// of their class instead.
pub const PAR_THRESHOLD: usize = 1 << 15;

/// Cheap elementwise work (a few arithmetic instructions per element: add, mul, relu, a select, a
/// comparison) on at least this many elements is split across the pool; below it a fork-join costs
/// more than a second core saves. `benches/elementwise.rs` times the crossover: on the 2-core machine
/// with a neighbour's load of about 1, two halves of an add lost to one loop at every size up to 2^18
/// (3.4× slower at 2^16, 1.6× at 2^18: memory-bound work gains little from a second core that is
/// busy), so cheap work splits only from 2^18 elements (1 MiB of f32).
pub(crate) const CHEAP_PAR_THRESHOLD: usize = 1 << 18;

/// Costly elementwise work (exp, ln, tanh, erf, gelu, pow: tens of instructions per element) on at
/// least this many elements is split across the pool. `benches/elementwise.rs` times the crossover:
/// two halves won from 2^12 elements for tanh, 2^13 for exact gelu and 2^14 for exp.
pub(crate) const COSTLY_PAR_THRESHOLD: usize = 1 << 13;

/// The cost class of an elementwise function, which sets the size at which it goes parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cost {
    /// A few arithmetic instructions per element: memory-bound.
    Cheap,
    /// A transcendental function per element: compute-bound.
    Costly,
    /// A caller's closure of unknown cost: [`PAR_THRESHOLD`].
    Unknown,
}

impl Cost {
    /// The number of elements from which work of this cost runs on the pool.
    pub(crate) const fn threshold(self) -> usize {
        match self {
            Cost::Cheap => CHEAP_PAR_THRESHOLD,
            Cost::Costly => COSTLY_PAR_THRESHOLD,
            Cost::Unknown => PAR_THRESHOLD,
        }
    }

    /// Whether `n` elements of this cost run on the pool (never on a pool of one thread).
    fn parallel(self, n: usize) -> bool {
        n >= self.threshold() && rayon::current_num_threads() > 1
    }
}

/// Runs `fill(part, start)` over `out` in a few large chunks on the pool: `part` is
/// `out[start..start + part.len()]`. Chunks hold at least half the cost's threshold and about a
/// quarter of a thread's share, so a fork-join costs a handful of tasks, not one per element.
fn par_fill<F: Float>(out: &mut [F], cost: Cost, fill: impl Fn(&mut [F], usize) + Sync) {
    let chunk = (cost.threshold() / 2).max(out.len().div_ceil(4 * rayon::current_num_threads())).max(1);
    out.par_chunks_mut(chunk).enumerate().for_each(|(c, part)| fill(part, c * chunk));
}

/// Applies `f` (of unknown cost) to every element, allocating the result once.
pub(crate) fn map<F: Float>(a: &Tensor<F>, f: impl Fn(F) -> F + Sync + Send) -> Tensor<F> {
    map_cost(Cost::Unknown, a, f)
}

/// Applies `f`, of cost `cost`, to every element, allocating the result once.
pub(crate) fn map_cost<F: Float>(cost: Cost, a: &Tensor<F>, f: impl Fn(F) -> F + Sync + Send) -> Tensor<F> {
    // ndarray's own map keeps the memory order of a view and skips re-checking the shape.
    let Some(s) = a.data.as_slice() else { return Tensor::from_array(a.data.map(|&x| f(x))) };
    if cost.parallel(s.len()) {
        let mut v = vec![F::zero(); s.len()];
        par_fill(&mut v, cost, |d, at| d.iter_mut().zip(&s[at..]).for_each(|(d, &x)| *d = f(x)));
        return with_dim(v, a.data.raw_dim());
    }
    recycle::filled(a.shape(), |d| d.iter_mut().zip(s).for_each(|(d, &x)| *d = f(x)))
        .unwrap_or_else(|| with_dim(s.iter().map(|&x| f(x)).collect(), a.data.raw_dim()))
}

/// Applies `f` in place when `a` is the only handle to a contiguous buffer, else like [`map`].
pub(crate) fn map_owned<F: Float>(a: Tensor<F>, f: impl Fn(F) -> F + Sync + Send) -> Tensor<F> {
    map_owned_cost(Cost::Unknown, a, f)
}

/// [`map_owned`] for `f` of cost `cost`.
pub(crate) fn map_owned_cost<F: Float>(
    cost: Cost,
    mut a: Tensor<F>,
    f: impl Fn(F) -> F + Sync + Send,
) -> Tensor<F> {
    if a.data.is_unique()
        && let Some(s) = a.data.as_slice_mut()
    {
        if cost.parallel(s.len()) {
            par_fill(s, cost, |d, _| d.iter_mut().for_each(|x| *x = f(*x)));
        } else {
            s.iter_mut().for_each(|x| *x = f(*x));
        }
        return a;
    }
    map_cost(cost, &a, f)
}

/// Combines `a` with `b` elementwise, writing into `a`'s buffer when `a` is its only handle, in
/// standard layout, and `b` broadcasts to `a`'s shape; otherwise like [`zip`]. `f` is of unknown cost.
#[track_caller]
pub(crate) fn zip_owned<F: Float>(
    op: &'static str,
    a: Tensor<F>,
    b: &Tensor<F>,
    f: impl Fn(F, F) -> F + Sync + Send,
) -> Tensor<F> {
    zip_owned_cost(Cost::Unknown, op, a, b, f)
}

/// [`zip_owned`] for `f` of cost `cost`.
#[track_caller]
pub(crate) fn zip_owned_cost<F: Float>(
    cost: Cost,
    op: &'static str,
    mut a: Tensor<F>,
    b: &Tensor<F>,
    f: impl Fn(F, F) -> F + Sync + Send,
) -> Tensor<F> {
    if !(a.data.is_unique() && a.data.is_standard_layout()) {
        return zip_cost(cost, op, &a, b, f);
    }
    if let Some(y) = b.data.as_slice()
        && let Some(plan) = rows::plan(a.shape(), a.shape(), b.shape())
    {
        let b = Operand { data: y, pattern: plan.b };
        let x = a.data.as_slice_mut().expect("unique and in standard layout");
        if cost.parallel(x.len()) {
            par_fill(x, cost, |x, at| rows::update(x, at, plan.m, b, &f));
        } else {
            rows::update(x, 0, plan.m, b, &f);
        }
        return a;
    }
    let (dim, len) = (a.data.raw_dim(), a.len());
    let Some(bv) = b.data.broadcast(dim) else { return zip_cost(cost, op, &a, b, f) };
    let zip = Zip::from(a.data.view_mut()).and(bv);
    if cost.parallel(len) {
        zip.par_for_each(|p, &q| *p = f(*p, q));
    } else {
        zip.for_each(|p, &q| *p = f(*p, q));
    }
    a
}

/// Combines two tensors elementwise with NumPy broadcasting; `op` names the op in the panic message.
/// `f` is of unknown cost.
#[track_caller]
pub(crate) fn zip<F: Float>(
    op: &'static str,
    a: &Tensor<F>,
    b: &Tensor<F>,
    f: impl Fn(F, F) -> F + Sync + Send,
) -> Tensor<F> {
    zip_cost(Cost::Unknown, op, a, b, f)
}

/// [`zip`] for `f` of cost `cost`. Operands in standard layout whose broadcast is a whole output, a
/// repeated row, a repeated column or a scalar each (see [`rows::plan`]) run as slice loops over
/// rows; other broadcasts go through ndarray's `Zip`. Every element is `f(a, b)` of the same two
/// elements on every path, so the result is the same whichever runs and whatever the pool size.
#[track_caller]
pub(crate) fn zip_cost<F: Float>(
    cost: Cost,
    op: &'static str,
    a: &Tensor<F>,
    b: &Tensor<F>,
    f: impl Fn(F, F) -> F + Sync + Send,
) -> Tensor<F> {
    let shape: Cow<'_, [usize]> = if a.has_shape(b.shape()) {
        Cow::Borrowed(a.shape())
    } else {
        Cow::Owned(broadcast_shapes(op, a.shape(), b.shape()).or_panic())
    };
    if let (Some(x), Some(y)) = (a.data.as_slice(), b.data.as_slice())
        && let Some(plan) = rows::plan(&shape, a.shape(), b.shape())
    {
        let (a, b) = (Operand { data: x, pattern: plan.a }, Operand { data: y, pattern: plan.b });
        let n = shape.iter().product();
        if cost.parallel(n) {
            let mut v = vec![F::zero(); n];
            par_fill(&mut v, cost, |d, at| rows::fill(d, at, plan.m, a, b, &f));
            return from_vec_shaped(v, &shape);
        }
        if let Some(out) = recycle::filled(&shape, |d| rows::fill(d, 0, plan.m, a, b, &f)) {
            return out;
        }
        let mut v = Vec::with_capacity(n);
        rows::extend(&mut v, n, plan.m, a, b, &f);
        return from_vec_shaped(v, &shape);
    }
    general_zip(cost, &shape, a, b, f)
}

/// The broadcast of `a` and `b` to `shape` through ndarray's `Zip`, for any layout.
pub(crate) fn general_zip<F: Float>(
    cost: Cost,
    shape: &[usize],
    a: &Tensor<F>,
    b: &Tensor<F>,
    f: impl Fn(F, F) -> F + Sync + Send,
) -> Tensor<F> {
    let av = a.data.broadcast(IxDyn(shape)).expect("checked broadcast");
    let bv = b.data.broadcast(IxDyn(shape)).expect("checked broadcast");
    let zip = Zip::from(&av).and(&bv);
    let out: ArrayD<F> = if cost.parallel(shape.iter().product()) {
        zip.par_map_collect(|&p, &q| f(p, q))
    } else {
        zip.map_collect(|&p, &q| f(p, q))
    };
    Tensor::from_array(out)
}

/// A tensor from a vector whose length is known to match `shape`.
pub(crate) fn from_vec_shaped<F: Float>(v: Vec<F>, shape: &[usize]) -> Tensor<F> {
    with_dim(v, IxDyn(shape))
}

/// A tensor from a vector whose length is known to match `dim` (taken from an input, which saves
/// converting a shape slice again).
fn with_dim<F: Float>(v: Vec<F>, dim: IxDyn) -> Tensor<F> {
    Tensor::from_array(ArrayD::from_shape_vec(dim, v).expect("kernel output matches its shape"))
}

pub(crate) mod rows;

#[cfg(test)]
mod tests;
