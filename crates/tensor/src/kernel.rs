//! Shared elementwise kernels: unary maps and broadcasting zips, serial for small work, rayon above a threshold.

use ndarray::{ArrayD, IxDyn, Zip};
use rayon::prelude::*;

use crate::error::OrPanic;
use crate::float::Float;
use crate::shape::broadcast_shapes;
use crate::tensor::Tensor;

/// Elementwise work on at least this many elements runs on the rayon pool; smaller work stays serial.
pub const PAR_THRESHOLD: usize = 1 << 15;

/// Applies `f` to every element, allocating the result once.
pub(crate) fn map<F: Float>(a: &Tensor<F>, f: impl Fn(F) -> F + Sync + Send) -> Tensor<F> {
    match a.data.as_slice() {
        Some(s) => {
            let v: Vec<F> = if s.len() >= PAR_THRESHOLD {
                s.par_iter().map(|&x| f(x)).collect()
            } else {
                s.iter().map(|&x| f(x)).collect()
            };
            from_vec_shaped(v, a.shape())
        }
        None => Tensor::from_array(a.data.map(|&x| f(x))),
    }
}

/// Applies `f` in place when `a` is the only handle to a contiguous buffer, else like [`map`].
pub(crate) fn map_owned<F: Float>(mut a: Tensor<F>, f: impl Fn(F) -> F + Sync + Send) -> Tensor<F> {
    if a.data.is_unique()
        && let Some(s) = a.data.as_slice_mut()
    {
        if s.len() >= PAR_THRESHOLD {
            s.par_iter_mut().for_each(|x| *x = f(*x));
        } else {
            s.iter_mut().for_each(|x| *x = f(*x));
        }
        return a;
    }
    map(&a, f)
}

/// Combines two tensors elementwise with NumPy broadcasting; `op` names the op in the panic message.
#[track_caller]
pub(crate) fn zip<F: Float>(
    op: &'static str,
    a: &Tensor<F>,
    b: &Tensor<F>,
    f: impl Fn(F, F) -> F + Sync + Send,
) -> Tensor<F> {
    if a.shape() == b.shape()
        && let (Some(x), Some(y)) = (a.data.as_slice(), b.data.as_slice())
    {
        let v: Vec<F> = if x.len() >= PAR_THRESHOLD {
            x.par_iter().zip(y.par_iter()).map(|(&p, &q)| f(p, q)).collect()
        } else {
            x.iter().zip(y).map(|(&p, &q)| f(p, q)).collect()
        };
        return from_vec_shaped(v, a.shape());
    }
    let shape = broadcast_shapes(op, a.shape(), b.shape()).or_panic();
    let av = a.data.broadcast(IxDyn(&shape)).expect("checked broadcast");
    let bv = b.data.broadcast(IxDyn(&shape)).expect("checked broadcast");
    let zip = Zip::from(&av).and(&bv);
    let out: ArrayD<F> = if shape.iter().product::<usize>() >= PAR_THRESHOLD {
        zip.par_map_collect(|&p, &q| f(p, q))
    } else {
        zip.map_collect(|&p, &q| f(p, q))
    };
    Tensor::from_array(out)
}

/// A tensor from a vector whose length is known to match `shape`.
pub(crate) fn from_vec_shaped<F: Float>(v: Vec<F>, shape: &[usize]) -> Tensor<F> {
    Tensor::from_array(ArrayD::from_shape_vec(IxDyn(shape), v).expect("kernel output matches its shape"))
}
