//! Rotary position embeddings (RoPE, Su et al.), applied to queries and keys of shape `[.., seq, dim]`.
//!
//! With half = dim / 2, θ_i = base^(-2i / dim) and the position p = start + row, the pair
//! (x_i, x_{i+half}) is rotated by the angle p θ_i: y = x cos + rotate_half(x) sin with
//! rotate_half(x) = (-x_{half..}, x_{..half}), the "rotate half" layout of GPT-NeoX and Hugging Face's
//! Llama (the original paper pairs neighbours (x_{2i}, x_{2i+1}) instead; the two differ by a fixed
//! permutation of the features). The dot product of a query at p and a key at q depends on p - q only.

use wengert_tape::Var;
use wengert_tensor::{Float, Tensor};

use crate::module::Module;

/// Rotary position embedding of feature width `dim` (even), without parameters: [`apply`] rotates
/// each row of `[.., seq, dim]` by its position, counted from a chosen start (for decoding with a
/// cache); as a [`Module`] positions start at 0.
///
/// [`apply`]: RotaryEmbedding::apply
///
/// ```
/// use wengert::nn::{Module, RotaryEmbedding};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let rope = RotaryEmbedding::<f64>::new(2);
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.0], &[2, 2]).unwrap());
/// let y = rope.forward(x).value().to_vec(); // position 1 turns (1, 0) by 1 radian
/// assert_eq!(y[..2], [1.0, 0.0]);
/// assert!((y[2] - 1f64.cos()).abs() < 1e-12 && (y[3] - 1f64.sin()).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct RotaryEmbedding<F: Float = f32> {
    dim: usize,
    base: f64,
    _f: std::marker::PhantomData<F>,
}

impl<F: Float> RotaryEmbedding<F> {
    /// RoPE over `dim` features with the usual base 10000.
    ///
    /// # Panics
    ///
    /// When `dim` is odd or zero.
    #[track_caller]
    pub fn new(dim: usize) -> Self {
        Self::with_base(dim, 10000.0)
    }

    /// RoPE over `dim` features with frequencies `base^(-2i / dim)`.
    ///
    /// # Panics
    ///
    /// When `dim` is odd or zero, or `base` is not greater than 1.
    #[track_caller]
    pub fn with_base(dim: usize, base: f64) -> Self {
        if dim == 0 || !dim.is_multiple_of(2) {
            panic!("rotary_embedding: dim must be even and positive, got {dim}");
        }
        assert!(base > 1.0, "rotary_embedding: base must be greater than 1, got {base}");
        RotaryEmbedding { dim, base, _f: std::marker::PhantomData }
    }

    /// The feature width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The base of the frequencies.
    pub fn base(&self) -> f64 {
        self.base
    }

    /// The tables `cos(p θ_i)` and `sin(p θ_i)`, `[seq, dim]`, for positions `start..start + seq`.
    fn tables(&self, start: usize, seq: usize) -> (Tensor<F>, Tensor<F>) {
        let half = self.dim / 2;
        let angles: Vec<f64> = (0..seq)
            .flat_map(|r| {
                (0..self.dim).map(move |j| {
                    let i = (j % half) as f64;
                    (start + r) as f64 * self.base.powf(-2.0 * i / self.dim as f64)
                })
            })
            .collect();
        let table = |f: fn(f64) -> f64| {
            let v = angles.iter().map(|&a| F::from_f64(f(a))).collect();
            Tensor::from_vec(v, &[seq, self.dim]).expect("seq · dim angles")
        };
        (table(f64::cos), table(f64::sin))
    }

    /// Rotates every row of `x` `[.., seq, dim]` by the angles of positions `start..start + seq`.
    ///
    /// # Panics
    ///
    /// When `x` has fewer than 2 dimensions or its last is not `dim`.
    #[track_caller]
    pub fn apply<'t>(&self, x: Var<'t, F>, start: usize) -> Var<'t, F> {
        let shape = x.shape();
        if shape.len() < 2 || shape[shape.len() - 1] != self.dim {
            panic!("rotary_embedding: input of shape {shape:?} is not [.., seq, {}]", self.dim);
        }
        let (last, half) = (shape.len() - 1, self.dim / 2);
        let (cos, sin) = self.tables(start, shape[last - 1]);
        let rotated = Var::concat(&[-x.narrow(last, half, half), x.narrow(last, 0, half)], last);
        x * &cos + rotated * &sin
    }
}

impl<F: Float> Module<F> for RotaryEmbedding<F> {
    /// `x` `[.., seq, dim]` rotated by positions `0..seq`.
    ///
    /// # Panics
    ///
    /// As [`RotaryEmbedding::apply`].
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        self.apply(x, 0)
    }
}

#[cfg(test)]
mod tests;
