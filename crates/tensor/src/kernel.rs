//! Shared elementwise kernels: unary maps and broadcasting zips, serial for small work, rayon above a threshold.

use ndarray::{ArrayD, IxDyn, Zip};
use rayon::prelude::*;

use crate::error::OrPanic;
use crate::float::Float;
use crate::recycle;
use crate::shape::broadcast_shapes;
use crate::tensor::Tensor;

/// Elementwise work on at least this many elements runs on the rayon pool; smaller work stays serial.
pub const PAR_THRESHOLD: usize = 1 << 15;

/// Applies `f` to every element, allocating the result once.
pub(crate) fn map<F: Float>(a: &Tensor<F>, f: impl Fn(F) -> F + Sync + Send) -> Tensor<F> {
    // ndarray's own map keeps the memory order of a view and skips re-checking the shape.
    let Some(s) = a.data.as_slice() else { return Tensor::from_array(a.data.map(|&x| f(x))) };
    if s.len() >= PAR_THRESHOLD {
        return with_dim(s.par_iter().map(|&x| f(x)).collect(), a.data.raw_dim());
    }
    recycle::filled(a.shape(), |d| d.iter_mut().zip(s).for_each(|(d, &x)| *d = f(x)))
        .unwrap_or_else(|| Tensor::from_array(a.data.map(|&x| f(x))))
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

/// Combines `a` with `b` elementwise, writing into `a`'s buffer when `a` is its only handle, in
/// standard layout, and `b` broadcasts to `a`'s shape; otherwise like [`zip`].
#[track_caller]
pub(crate) fn zip_owned<F: Float>(
    op: &'static str,
    mut a: Tensor<F>,
    b: &Tensor<F>,
    f: impl Fn(F, F) -> F + Sync + Send,
) -> Tensor<F> {
    if !(a.data.is_unique() && a.data.is_standard_layout()) {
        return zip(op, &a, b, f);
    }
    if a.has_shape(b.shape())
        && let Some(y) = b.data.as_slice()
        && let Some(x) = a.data.as_slice_mut()
    {
        if x.len() >= PAR_THRESHOLD {
            x.par_iter_mut().zip(y.par_iter()).for_each(|(p, &q)| *p = f(*p, q));
        } else {
            x.iter_mut().zip(y).for_each(|(p, &q)| *p = f(*p, q));
        }
        return a;
    }
    let (dim, len) = (a.data.raw_dim(), a.len());
    let Some(bv) = b.data.broadcast(dim) else { return zip(op, &a, b, f) };
    let zip = Zip::from(a.data.view_mut()).and(bv);
    if len >= PAR_THRESHOLD {
        zip.par_for_each(|p, &q| *p = f(*p, q));
    } else {
        zip.for_each(|p, &q| *p = f(*p, q));
    }
    a
}

/// Combines two tensors elementwise with NumPy broadcasting; `op` names the op in the panic message.
#[track_caller]
pub(crate) fn zip<F: Float>(
    op: &'static str,
    a: &Tensor<F>,
    b: &Tensor<F>,
    f: impl Fn(F, F) -> F + Sync + Send,
) -> Tensor<F> {
    if a.has_shape(b.shape())
        && let (Some(x), Some(y)) = (a.data.as_slice(), b.data.as_slice())
    {
        let fill = |d: &mut [F]| d.iter_mut().zip(x.iter().zip(y)).for_each(|(d, (&p, &q))| *d = f(p, q));
        if x.len() < PAR_THRESHOLD
            && let Some(out) = recycle::filled(a.shape(), fill)
        {
            return out;
        }
        let v: Vec<F> = if x.len() >= PAR_THRESHOLD {
            x.par_iter().zip(y.par_iter()).map(|(&p, &q)| f(p, q)).collect()
        } else {
            x.iter().zip(y).map(|(&p, &q)| f(p, q)).collect()
        };
        return with_dim(v, a.data.raw_dim());
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
    with_dim(v, IxDyn(shape))
}

/// A tensor from a vector whose length is known to match `dim` (taken from an input, which saves
/// converting a shape slice again).
fn with_dim<F: Float>(v: Vec<F>, dim: IxDyn) -> Tensor<F> {
    Tensor::from_array(ArrayD::from_shape_vec(dim, v).expect("kernel output matches its shape"))
}

#[cfg(test)]
mod tests {
    use crate::tensor::Tensor;

    fn t(v: &[f32], shape: &[usize]) -> Tensor<f32> {
        Tensor::from_vec(v.to_vec(), shape).unwrap()
    }

    #[test]
    fn owned_kernels_write_in_place_only_into_unshared_buffers() {
        let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let ptr = a.as_slice().unwrap().as_ptr();
        let b = a.zip_into(&t(&[10.0, 20.0], &[2]), "add", |p, q| p + q);
        assert_eq!((b.to_vec(), b.as_slice().unwrap().as_ptr()), (vec![11.0, 22.0, 13.0, 24.0], ptr));
        let c = b.map_into(|x| -x);
        assert_eq!(c.as_slice().unwrap().as_ptr(), ptr);

        let shared = c.clone();
        let d = c.zip_into(&shared, "mul", |p, q| p * q);
        assert_eq!(d.to_vec(), vec![121.0, 484.0, 169.0, 576.0]);
        assert_eq!(shared.to_vec(), vec![-11.0, -22.0, -13.0, -24.0], "a shared buffer is never written");
        assert_ne!(d.as_slice().unwrap().as_ptr(), ptr);
    }

    #[test]
    fn owned_zip_grows_to_the_broadcast_shape_when_it_must() {
        let col = t(&[1.0, 2.0], &[2, 1]);
        let out = col.zip_into(&t(&[10.0, 20.0, 30.0], &[3]), "add", |p, q| p + q);
        assert_eq!(out.shape(), &[2, 3]);
        assert_eq!(out.to_vec(), vec![11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
        let transposed = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).t();
        let out = transposed.zip_into(&t(&[1.0; 4], &[2, 2]), "add", |p, q| p + q);
        assert_eq!(out.to_vec(), vec![2.0, 4.0, 3.0, 5.0]);
    }
}
