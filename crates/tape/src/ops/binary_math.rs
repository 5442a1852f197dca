//! Broadcasting binary functions beyond arithmetic on Vars and their rules (`g` the incoming
//! gradient, `a`, `b` the inputs, `y` the output), as PyTorch's except where noted:
//!
//! xlogy: (g·ln b, 0 where a = 0 and b ≤ 0; g·a/b, 0 where a = 0) · atan2: (g·b/(a²+b²), -g·a/(a²+b²)) ·
//! hypot: (g·a/y, g·b/y) · fmod: (g, -g·trunc(a/b)) · remainder: (g, -g·floor(a/b)).
//!
//! PyTorch's xlogy gradient in `b` is `g·a/b`, NaN at a = b = 0; here it is 0 wherever a = 0, where
//! xlogy is 0 for every b.

use wengert_tensor::{Float, Tensor};

use crate::op::{Ctx, Grads};
use crate::ops::binary::Binary;
use crate::var::Var;

/// A binary function of this family.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum BinaryMath {
    Xlogy,
    Atan2,
    Hypot,
    Fmod,
    Remainder,
}

impl<'t, F: Float> Var<'t, F> {
    /// `a · ln b`, 0 where `a = 0` (PyTorch's `xlogy`). The gradient in `a` is `ln b`, 0 where
    /// `a = 0` and `b ≤ 0` (as PyTorch's); in `b` it is `a / b`, 0 wherever `a = 0` (PyTorch's is
    /// NaN at `a = b = 0`).
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(Tensor::from_vec(vec![0.0, 2.0], &[2]).unwrap());
    /// let b = tape.var(Tensor::from_vec(vec![0.0, 1.0], &[2]).unwrap());
    /// let g = tape.grad(a.xlogy(b).sum(), &[a, b]);
    /// assert_eq!((g[0].to_vec(), g[1].to_vec()), (vec![0.0, 0.0], vec![0.0, 2.0]));
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn xlogy(self, other: Self) -> Self {
        self.binary(other, Binary::Math(BinaryMath::Xlogy), Tensor::xlogy)
    }

    /// `atan2(a, b)`, the angle of the point `(b, a)`. Its gradients are `b / (a² + b²)` and
    /// `-a / (a² + b²)`, NaN at `a = b = 0` as PyTorch's.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    /// let b = tape.var(Tensor::from_vec(vec![2.0], &[1]).unwrap());
    /// let g = tape.grad(a.atan2(b).sum(), &[a, b]);
    /// assert_eq!((g[0].to_vec(), g[1].to_vec()), (vec![0.5], vec![0.0]));
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn atan2(self, other: Self) -> Self {
        self.binary(other, Binary::Math(BinaryMath::Atan2), Tensor::atan2)
    }

    /// `√(a² + b²)`. Its gradients are `a / y` and `b / y`, NaN at `a = b = 0` as PyTorch's.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(Tensor::from_vec(vec![3.0], &[1]).unwrap());
    /// let b = tape.var(Tensor::from_vec(vec![4.0], &[1]).unwrap());
    /// let g = tape.grad(a.hypot(b).sum(), &[a, b]);
    /// assert_eq!((g[0].to_vec(), g[1].to_vec()), (vec![0.6], vec![0.8]));
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn hypot(self, other: Self) -> Self {
        self.binary(other, Binary::Math(BinaryMath::Hypot), Tensor::hypot)
    }

    /// `a - trunc(a / b) · b`, with the sign of `a` (PyTorch's `fmod`). Its gradients are 1 and
    /// `-trunc(a / b)`, as PyTorch's.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(Tensor::from_vec(vec![-7.0], &[1]).unwrap());
    /// let b = tape.var(Tensor::from_vec(vec![2.0], &[1]).unwrap());
    /// assert_eq!(a.fmod(b).value().to_vec(), vec![-1.0]);
    /// let g = tape.grad(a.fmod(b).sum(), &[a, b]);
    /// assert_eq!((g[0].to_vec(), g[1].to_vec()), (vec![1.0], vec![3.0]));
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn fmod(self, other: Self) -> Self {
        self.binary(other, Binary::Math(BinaryMath::Fmod), Tensor::fmod)
    }

    /// `a - floor(a / b) · b`, with the sign of `b` (PyTorch's `remainder`, Python's `%`). Its
    /// gradients are 1 and `-floor(a / b)`, as PyTorch's.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(Tensor::from_vec(vec![-7.0], &[1]).unwrap());
    /// let b = tape.var(Tensor::from_vec(vec![2.0], &[1]).unwrap());
    /// assert_eq!(a.remainder(b).value().to_vec(), vec![1.0]);
    /// let g = tape.grad(a.remainder(b).sum(), &[a, b]);
    /// assert_eq!((g[0].to_vec(), g[1].to_vec()), (vec![1.0], vec![4.0]));
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not broadcast.
    #[track_caller]
    pub fn remainder(self, other: Self) -> Self {
        self.binary(other, Binary::Math(BinaryMath::Remainder), Tensor::remainder)
    }
}

impl BinaryMath {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            BinaryMath::Xlogy => "xlogy",
            BinaryMath::Atan2 => "atan2",
            BinaryMath::Hypot => "hypot",
            BinaryMath::Fmod => "fmod",
            BinaryMath::Remainder => "remainder",
        }
    }

    /// The inputs' gradients, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(
        &self,
        ctx: &Ctx<'t, F>,
        g: V,
    ) -> Grads<V> {
        let a = || -> V { ctx.x(0) };
        let b = || -> V { ctx.x(1) };
        let zero = F::zero();
        let values = || (ctx.tape.value(ctx.inputs[0]), ctx.tape.value(ctx.inputs[1]));
        let flag = |c: bool| if c { F::one() } else { zero };
        match self {
            BinaryMath::Xlogy => {
                // Masks only where a zero of `a` is there.
                let (av, bv) = values();
                let masks = av.view().iter().any(|&v| v == zero).then(|| {
                    let a_zero = av.eq_mask(&Tensor::scalar(zero));
                    (av.zip_with(&bv, "xlogy_backward", |p, q| flag(p == zero && q <= zero)), a_zero)
                });
                let (ma, mb) = masks.map_or((None, None), |(ma, mb)| (Some(ma), Some(mb)));
                let masked = |v: V, m: Option<Tensor<F>>| match m {
                    Some(m) => v.zero_where(&m),
                    None => v,
                };
                ctx.pair(g, |g| masked(g * b().ln(), ma), |g| masked(g * a() / b(), mb))
            }
            BinaryMath::Atan2 => {
                let r2 = || a().square() + b().square();
                ctx.pair(g, |g| g * b() / r2(), |g| -(g * a() / r2()))
            }
            BinaryMath::Hypot => ctx.pair(g, |g| g * a() / ctx.y::<V>(), |g| g * b() / ctx.y::<V>()),
            BinaryMath::Fmod | BinaryMath::Remainder => {
                let round: fn(F) -> F = if *self == BinaryMath::Fmod { F::trunc } else { F::floor };
                ctx.pair(
                    g,
                    |g| g,
                    |g| {
                        let (av, bv) = values();
                        let op =
                            if *self == BinaryMath::Fmod { "fmod_backward" } else { "remainder_backward" };
                        let q = g.constant(av.zip_with(&bv, op, move |p, q| -round(p / q)));
                        g * q
                    },
                )
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
