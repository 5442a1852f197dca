//! Inverted dropout as one op: the mask is drawn and the output written in the same pass over the
//! input, and the node is recorded as the product of the input and the (constant) scaled mask, so its
//! rule is the multiply's, `g ⊙ mask`, to every order.

use rand::Rng;
use wengert_tensor::{Float, Tensor};

use crate::op::Op;
use crate::ops::binary::Binary;
use crate::var::Var;

impl<'t, F: Float> Var<'t, F> {
    /// Inverted dropout with probability `p`: each element is zeroed with probability `p` and the
    /// others are scaled by `1 / (1 - p)`. The mask draws one `f64` per element from `rng`, in
    /// row-major order, keeping the element when the draw is below `1 - p`: the stream and the
    /// numbers of [`Tensor::bernoulli`]`(shape, 1 - p)` scaled by `1 / (1 - p)` and multiplied in.
    /// It is recorded as `self ⊙ mask` with the mask a constant, so the gradient is `g ⊙ mask`. At
    /// `p = 0` it is `self` and at `p = 1` zeros, neither drawing from `rng`.
    ///
    /// ```
    /// use wengert::rand::{SeedableRng, rngs::StdRng};
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[1000]));
    /// let y = x.dropout(0.5, &mut StdRng::seed_from_u64(0));
    /// assert!(y.value().to_vec().iter().all(|&v| v == 0.0 || v == 2.0));
    /// assert_eq!(y.sum().backward()[x].to_vec(), y.value().to_vec()); // each element's gradient: its mask
    /// ```
    ///
    /// # Panics
    ///
    /// When `p` is outside `[0, 1]`: `dropout: probability must lie in [0, 1], got 1.5`.
    #[track_caller]
    pub fn dropout<R: Rng + ?Sized>(self, p: f64, rng: &mut R) -> Self {
        if !(0.0..=1.0).contains(&p) {
            panic!("dropout: probability must lie in [0, 1], got {p}");
        }
        if p == 0.0 {
            return self;
        }
        if p == 1.0 {
            return self * F::zero();
        }
        let (y, mask) = dropout_pass(&self.tape.node(self.id).value, 1.0 - p, rng);
        let mask = self.tape.constant(mask);
        self.tape.push(Op::Binary(Binary::Mul), &[self.id, mask.id], y)
    }
}

/// `x ⊙ mask` and the mask, each mask element `1 / keep` with probability `keep` and 0 otherwise,
/// drawn and applied in one pass in row-major order.
fn dropout_pass<F: Float, R: Rng + ?Sized>(x: &Tensor<F>, keep: f64, rng: &mut R) -> (Tensor<F>, Tensor<F>) {
    let scale = F::from_f64(1.0 / keep);
    let n = x.len();
    let (mut y, mut mask) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut step = |v: F| {
        let m = if rng.random::<f64>() < keep { scale } else { F::zero() };
        mask.push(m);
        y.push(v * m); // the product, not a select: x · 0 keeps the sign and NaN of a two-pass multiply
    };
    match x.as_slice() {
        Some(xs) => xs.iter().for_each(|&v| step(v)),
        None => x.view().iter().for_each(|&v| step(v)),
    }
    let shape = x.shape();
    let tensor = |v| Tensor::from_vec(v, shape).expect("one element per position of the shape");
    (tensor(y), tensor(mask))
}

#[cfg(test)]
mod tests;
