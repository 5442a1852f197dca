//! Binary elementwise ops with NumPy broadcasting, comparisons to 0/1 masks, `where_cond`, and operators.

use std::ops::{Add, Div, Mul, Neg, Sub};

use ndarray::{ArrayD, IxDyn, Zip};

use crate::error::OrPanic;
use crate::float::Float;
use crate::kernel::{Cost, map_cost, map_owned_cost, zip_cost, zip_owned_cost};
use crate::shape::broadcast_shapes;
use crate::tensor::Tensor;

impl<F: Float> Tensor<F> {
    /// Elementwise sum with broadcasting; also `&a + &b`.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast: `add: shapes [2, 3] and [4] do not broadcast`.
    #[track_caller]
    pub fn add(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "add", self, other, |a, b| a + b)
    }

    /// Elementwise difference with broadcasting; also `&a - &b`.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn sub(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "sub", self, other, |a, b| a - b)
    }

    /// Elementwise product with broadcasting; also `&a * &b`.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn mul(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "mul", self, other, |a, b| a * b)
    }

    /// Elementwise quotient with broadcasting; also `&a / &b`.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn div(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "div", self, other, |a, b| a / b)
    }

    /// Elementwise power `a^b` with broadcasting.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn pow(&self, other: &Self) -> Self {
        zip_cost(Cost::Costly, "pow", self, other, |a, b| a.powf(b))
    }

    /// Elementwise maximum with broadcasting (NaN if either is NaN, as `torch.maximum`).
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn maximum(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "maximum", self, other, |a, b| {
            if a.is_nan() || b.is_nan() { F::nan() } else { a.max(b) }
        })
    }

    /// Elementwise minimum with broadcasting (NaN if either is NaN, as `torch.minimum`).
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn minimum(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "minimum", self, other, |a, b| {
            if a.is_nan() || b.is_nan() { F::nan() } else { a.min(b) }
        })
    }

    /// 1 where `self == other`, else 0 (broadcasting).
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[doc(alias = "eq")]
    pub fn eq_mask(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "eq_mask", self, other, |a, b| mask(a == b))
    }

    /// 1 where `self != other`, else 0 (broadcasting).
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[doc(alias = "ne")]
    pub fn ne_mask(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "ne_mask", self, other, |a, b| mask(a != b))
    }

    /// 1 where `self < other`, else 0 (broadcasting).
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[doc(alias = "lt")]
    pub fn lt_mask(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "lt_mask", self, other, |a, b| mask(a < b))
    }

    /// 1 where `self <= other`, else 0 (broadcasting).
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[doc(alias = "le")]
    pub fn le_mask(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "le_mask", self, other, |a, b| mask(a <= b))
    }

    /// 1 where `self > other`, else 0 (broadcasting).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![-1.0, 0.0, 2.0], &[3]).unwrap();
    /// assert_eq!(x.gt_mask(&Tensor::scalar(0.0)).to_vec(), vec![0.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[doc(alias = "gt")]
    pub fn gt_mask(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "gt_mask", self, other, |a, b| mask(a > b))
    }

    /// 1 where `self >= other`, else 0 (broadcasting).
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    #[doc(alias = "ge")]
    pub fn ge_mask(&self, other: &Self) -> Self {
        zip_cost(Cost::Cheap, "ge_mask", self, other, |a, b| mask(a >= b))
    }

    /// Picks `a` where `mask` is non-zero and `b` elsewhere, broadcasting all three.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let m = Tensor::<f32>::from_vec(vec![1.0, 0.0], &[2]).unwrap();
    /// let a = Tensor::full(&[2], 5.0);
    /// assert_eq!(Tensor::where_cond(&m, &a, &Tensor::scalar(-1.0)).to_vec(), vec![5.0, -1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the three shapes do not broadcast together.
    #[track_caller]
    #[doc(alias = "where")]
    pub fn where_cond(mask: &Self, a: &Self, b: &Self) -> Self {
        let shape = broadcast_shapes("where_cond", a.shape(), b.shape())
            .and_then(|s| broadcast_shapes("where_cond", mask.shape(), &s))
            .or_panic();
        let ix = IxDyn(&shape);
        let (m, x, y) = (
            mask.data.broadcast(ix.clone()).expect("checked"),
            a.data.broadcast(ix.clone()).expect("checked"),
            b.data.broadcast(ix).expect("checked"),
        );
        let out: ArrayD<F> =
            Zip::from(&m).and(&x).and(&y).map_collect(|&c, &p, &q| if c != F::zero() { p } else { q });
        Tensor::from_array(out)
    }

    /// Combines `self` and `other` elementwise with `f`, broadcasting like NumPy; `op` names the
    /// operation in the panic message. This is how other crates write fused kernels.
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast: `{op}: shapes [..] and [..] do not broadcast`.
    #[track_caller]
    pub fn zip_with(&self, other: &Self, op: &'static str, f: impl Fn(F, F) -> F + Sync + Send) -> Self {
        crate::kernel::zip(op, self, other, f)
    }

    /// Like [`Tensor::zip_with`], writing the result into `self`'s buffer when `self` is its only
    /// handle, contiguous and already of the result's shape (no allocation); fused kernels on values
    /// that are used once (gradients in a backward sweep) use it.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let g = Tensor::<f32>::from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let y = Tensor::from_vec(vec![0.5, 0.0], &[2]).unwrap();
    /// let gx = g.zip_into(&y, "tanh_backward", |g, y| g * (1.0 - y * y));
    /// assert_eq!(gx.to_vec(), vec![0.75, 2.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast: `{op}: shapes [..] and [..] do not broadcast`.
    #[track_caller]
    pub fn zip_into(self, other: &Self, op: &'static str, f: impl Fn(F, F) -> F + Sync + Send) -> Self {
        crate::kernel::zip_owned(op, self, other, f)
    }

    /// Adds a scalar to every element; also `&a + s` and `s + &a`.
    pub fn add_scalar(&self, s: F) -> Self {
        map_cost(Cost::Cheap, self, |a| a + s)
    }

    /// Multiplies every element by a scalar; also `&a * s` and `s * &a`.
    pub fn mul_scalar(&self, s: F) -> Self {
        map_cost(Cost::Cheap, self, |a| a * s)
    }
}

fn mask<F: Float>(c: bool) -> F {
    if c { F::one() } else { F::zero() }
}

// Operators. Every combination of owned and borrowed tensors, and scalars on either side, forwards to
// the methods above; a macro writes these trait impls because they differ only in the operator. An
// owned left operand that is its buffer's only handle, of the result's shape, is written in place
// (`g * y` in a backward rule reuses the gradient's buffer).
macro_rules! tensor_operator {
    ($trait:ident, $method:ident, $op:tt) => {
        impl<F: Float> $trait<&Tensor<F>> for &Tensor<F> {
            type Output = Tensor<F>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<F>) -> Tensor<F> {
                Tensor::$method(self, rhs)
            }
        }
        impl<F: Float> $trait<Tensor<F>> for Tensor<F> {
            type Output = Tensor<F>;
            #[track_caller]
            fn $method(self, rhs: Tensor<F>) -> Tensor<F> {
                zip_owned_cost(Cost::Cheap, stringify!($method), self, &rhs, |a, b| a $op b)
            }
        }
        impl<F: Float> $trait<&Tensor<F>> for Tensor<F> {
            type Output = Tensor<F>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<F>) -> Tensor<F> {
                zip_owned_cost(Cost::Cheap, stringify!($method), self, rhs, |a, b| a $op b)
            }
        }
        impl<F: Float> $trait<Tensor<F>> for &Tensor<F> {
            type Output = Tensor<F>;
            #[track_caller]
            fn $method(self, rhs: Tensor<F>) -> Tensor<F> {
                Tensor::$method(self, &rhs)
            }
        }
        impl<F: Float> $trait<F> for &Tensor<F> {
            type Output = Tensor<F>;
            fn $method(self, rhs: F) -> Tensor<F> {
                map_cost(Cost::Cheap, self, |a| a $op rhs)
            }
        }
        impl<F: Float> $trait<F> for Tensor<F> {
            type Output = Tensor<F>;
            fn $method(self, rhs: F) -> Tensor<F> {
                map_owned_cost(Cost::Cheap, self, |a| a $op rhs)
            }
        }
        impl $trait<&Tensor<f32>> for f32 {
            type Output = Tensor<f32>;
            fn $method(self, rhs: &Tensor<f32>) -> Tensor<f32> {
                map_cost(Cost::Cheap, rhs, |b| self $op b)
            }
        }
        impl $trait<Tensor<f32>> for f32 {
            type Output = Tensor<f32>;
            fn $method(self, rhs: Tensor<f32>) -> Tensor<f32> {
                map_owned_cost(Cost::Cheap, rhs, |b| self $op b)
            }
        }
        impl $trait<&Tensor<f64>> for f64 {
            type Output = Tensor<f64>;
            fn $method(self, rhs: &Tensor<f64>) -> Tensor<f64> {
                map_cost(Cost::Cheap, rhs, |b| self $op b)
            }
        }
        impl $trait<Tensor<f64>> for f64 {
            type Output = Tensor<f64>;
            fn $method(self, rhs: Tensor<f64>) -> Tensor<f64> {
                map_owned_cost(Cost::Cheap, rhs, |b| self $op b)
            }
        }
    };
}

tensor_operator!(Add, add, +);
tensor_operator!(Sub, sub, -);
tensor_operator!(Mul, mul, *);
tensor_operator!(Div, div, /);

impl<F: Float> Neg for &Tensor<F> {
    type Output = Tensor<F>;
    fn neg(self) -> Tensor<F> {
        Tensor::neg(self)
    }
}

impl<F: Float> Neg for Tensor<F> {
    type Output = Tensor<F>;
    fn neg(self) -> Tensor<F> {
        map_owned_cost(Cost::Cheap, self, |a| -a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(v: &[f64], shape: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), shape).unwrap()
    }

    #[test]
    fn owned_left_operands_are_written_in_place() {
        let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let at = a.as_slice().unwrap().as_ptr();
        let b = t(&[10.0, 20.0], &[2]);
        let c = a * &b;
        assert_eq!(c.as_slice().unwrap().as_ptr(), at);
        assert_eq!(c.to_vec(), vec![10.0, 40.0, 30.0, 80.0]);
        let d = c - t(&[1.0; 4], &[2, 2]);
        assert_eq!(d.as_slice().unwrap().as_ptr(), at);
        assert_eq!(d.to_vec(), vec![9.0, 39.0, 29.0, 79.0]);
        // A shared buffer, or a result larger than the left operand, gets a new one.
        let kept = d.clone();
        let e = d / t(&[2.0; 4], &[2, 2]);
        assert_ne!(e.as_slice().unwrap().as_ptr(), at);
        assert_eq!(kept.to_vec(), vec![9.0, 39.0, 29.0, 79.0]);
        let f = t(&[1.0, 2.0], &[2]) + t(&[1.0; 4], &[2, 2]);
        assert_eq!(f.to_vec(), vec![2.0, 3.0, 2.0, 3.0]);
    }

    #[test]
    fn binary_ops_are_hand_checked() {
        let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = t(&[10.0, 20.0], &[2]);
        assert_eq!((&a + &b).to_vec(), vec![11.0, 22.0, 13.0, 24.0]);
        assert_eq!((&a - &b).to_vec(), vec![-9.0, -18.0, -7.0, -16.0]);
        assert_eq!((&a * &b).to_vec(), vec![10.0, 40.0, 30.0, 80.0]);
        assert_eq!((&b / &a).to_vec(), vec![10.0, 10.0, 10.0 / 3.0, 5.0]);
        assert_eq!(a.pow(&t(&[2.0], &[1])).to_vec(), vec![1.0, 4.0, 9.0, 16.0]);
        let c = t(&[2.5, 2.5], &[2, 1]);
        assert_eq!(a.maximum(&c).to_vec(), vec![2.5, 2.5, 3.0, 4.0]);
        assert_eq!(a.minimum(&c).to_vec(), vec![1.0, 2.0, 2.5, 2.5]);
        assert!(a.maximum(&Tensor::scalar(f64::NAN)).to_vec().iter().all(|x| x.is_nan()));
    }

    #[test]
    fn scalars_work_on_either_side() {
        let a = t(&[1.0, 2.0], &[2]);
        assert_eq!((&a + 1.0).to_vec(), vec![2.0, 3.0]);
        assert_eq!((1.0 - &a).to_vec(), vec![0.0, -1.0]);
        assert_eq!((2.0 * a.clone()).to_vec(), vec![2.0, 4.0]);
        assert_eq!((a.clone() / 2.0).to_vec(), vec![0.5, 1.0]);
        assert_eq!((4.0 / &a).to_vec(), vec![4.0, 2.0]);
        assert_eq!((-&a).to_vec(), vec![-1.0, -2.0]);
        assert_eq!((-a.clone()).to_vec(), vec![-1.0, -2.0]);
        assert_eq!(a.add_scalar(1.0).to_vec(), vec![2.0, 3.0]);
        assert_eq!(a.mul_scalar(3.0).to_vec(), vec![3.0, 6.0]);
        let f = Tensor::<f32>::ones(&[2]);
        assert_eq!((3.0f32 * &f).to_vec(), vec![3.0, 3.0]);
        assert_eq!((f + 1.0).to_vec(), vec![2.0, 2.0]);
    }

    #[test]
    fn owned_scalar_op_does_not_change_a_shared_buffer() {
        let a = t(&[1.0, 2.0], &[2]);
        let b = a.clone() * 2.0;
        assert_eq!(a.to_vec(), vec![1.0, 2.0]);
        assert_eq!(b.to_vec(), vec![2.0, 4.0]);
    }

    #[test]
    fn comparisons_give_masks() {
        let a = t(&[1.0, 2.0, 3.0], &[3]);
        let two = Tensor::scalar(2.0);
        assert_eq!(a.eq_mask(&two).to_vec(), vec![0.0, 1.0, 0.0]);
        assert_eq!(a.ne_mask(&two).to_vec(), vec![1.0, 0.0, 1.0]);
        assert_eq!(a.lt_mask(&two).to_vec(), vec![1.0, 0.0, 0.0]);
        assert_eq!(a.le_mask(&two).to_vec(), vec![1.0, 1.0, 0.0]);
        assert_eq!(a.gt_mask(&two).to_vec(), vec![0.0, 0.0, 1.0]);
        assert_eq!(a.ge_mask(&two).to_vec(), vec![0.0, 1.0, 1.0]);
    }

    #[test]
    fn where_cond_broadcasts_three_ways() {
        let m = t(&[1.0, 0.0], &[2, 1]);
        let a = t(&[1.0, 2.0, 3.0], &[3]);
        let out = Tensor::where_cond(&m, &a, &Tensor::scalar(0.0));
        assert_eq!(out.shape(), &[2, 3]);
        assert_eq!(out.to_vec(), vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    #[should_panic(expected = "add: shapes [2, 3] and [4] do not broadcast")]
    fn add_names_the_shapes_that_do_not_broadcast() {
        let _ = &Tensor::<f32>::zeros(&[2, 3]) + &Tensor::zeros(&[4]);
    }

    #[test]
    #[should_panic(expected = "where_cond: shapes [3] and [2] do not broadcast")]
    fn where_cond_names_the_shapes() {
        let _ = Tensor::where_cond(&Tensor::<f32>::ones(&[3]), &Tensor::ones(&[3]), &Tensor::ones(&[2]));
    }

    /// Naive broadcasting reference: index each output position back into both inputs.
    fn naive_zip(a: &Tensor<f64>, b: &Tensor<f64>, f: impl Fn(f64, f64) -> f64) -> (Vec<usize>, Vec<f64>) {
        let shape = broadcast_shapes("ref", a.shape(), b.shape()).unwrap();
        let n: usize = shape.iter().product();
        let (av, bv) = (a.to_vec(), b.to_vec());
        let flat = |src: &[usize], idx: &[usize]| {
            let off = idx.len() - src.len();
            let mut k = 0;
            for (i, &d) in src.iter().enumerate() {
                k = k * d + if d == 1 { 0 } else { idx[off + i] };
            }
            k
        };
        let mut out = Vec::with_capacity(n);
        for lin in 0..n {
            let mut idx = vec![0; shape.len()];
            let mut r = lin;
            for i in (0..shape.len()).rev() {
                idx[i] = r % shape[i];
                r /= shape[i];
            }
            out.push(f(av[flat(a.shape(), &idx)], bv[flat(b.shape(), &idx)]));
        }
        (shape, out)
    }

    fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        prop::collection::vec(1usize..4, 0..4).prop_flat_map(|out| {
            let n = out.len();
            (
                Just(out),
                prop::collection::vec(any::<bool>(), n),
                prop::collection::vec(any::<bool>(), n),
                0..=n,
            )
                .prop_map(|(out, ma, mb, drop)| {
                    let a: Vec<usize> = out.iter().zip(&ma).map(|(&d, &m)| if m { 1 } else { d }).collect();
                    let b: Vec<usize> = out.iter().zip(&mb).map(|(&d, &m)| if m { 1 } else { d }).collect();
                    (a[drop..].to_vec(), b)
                })
        })
    }

    proptest! {
        #[test]
        fn broadcast_binary_ops_match_naive_reference((sa, sb) in broadcast_pair(), seed in 0u64..1000) {
            let na: usize = sa.iter().product();
            let nb: usize = sb.iter().product();
            let a = t(&(0..na).map(|i| (i as f64 + seed as f64) * 0.37 - 1.0).collect::<Vec<_>>(), &sa);
            let b = t(&(0..nb).map(|i| (i as f64 * 1.3 - seed as f64) * 0.11 + 0.5).collect::<Vec<_>>(), &sb);
            for (got, f) in [
                (&a + &b, (|x, y| x + y) as fn(f64, f64) -> f64),
                (&a - &b, |x, y| x - y),
                (&a * &b, |x, y| x * y),
                (&a / &b, |x, y| x / y),
                (a.maximum(&b), |x: f64, y: f64| x.max(y)),
                (a.minimum(&b), |x: f64, y: f64| x.min(y)),
            ] {
                let (shape, want) = naive_zip(&a, &b, f);
                prop_assert_eq!(got.shape(), &shape[..]);
                prop_assert_eq!(got.to_vec(), want);
            }
        }
    }
}
