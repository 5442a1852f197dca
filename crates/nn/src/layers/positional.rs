//! Positional information for sequence models over `[batch, seq, d_model]`: the fixed sinusoids of
//! "Attention is all you need", PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d)),
//! and a learned table of position vectors. Both add to the input.

use wengert_tape::Var;
use wengert_tensor::{Float, Tensor};

use crate::init::Init;
use crate::module::Module;
use crate::param::{Param, TapeParam};
use crate::store::Path;

/// Adds the sinusoidal encoding of each position to `[batch, seq, d_model]` inputs. It has no
/// parameter; the table `[max_len, d_model]` is computed once.
///
/// ```
/// use wengert::nn::{Module, SinusoidalPositionalEncoding};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let pe = SinusoidalPositionalEncoding::<f64>::new(4, 10);
/// assert_eq!(pe.table().shape(), &[10, 4]);
/// assert_eq!(pe.table().to_vec()[..4], [0.0, 1.0, 0.0, 1.0]); // position 0: sin 0, cos 0, ...
/// let tape = Tape::new();
/// assert_eq!(pe.forward(tape.constant(Tensor::zeros(&[2, 3, 4]))).shape(), vec![2, 3, 4]);
/// ```
#[derive(Debug, Clone)]
pub struct SinusoidalPositionalEncoding<F: Float = f32> {
    table: Tensor<F>,
}

impl<F: Float> SinusoidalPositionalEncoding<F> {
    /// The encoding of widths `d_model` for positions below `max_len`.
    pub fn new(d_model: usize, max_len: usize) -> Self {
        let mut v = Vec::with_capacity(max_len * d_model);
        for p in 0..max_len {
            for j in 0..d_model {
                let freq = (-(10000f64.ln()) * (2 * (j / 2)) as f64 / d_model as f64).exp();
                let angle = p as f64 * freq;
                v.push(F::from_f64(if j % 2 == 0 { angle.sin() } else { angle.cos() }));
            }
        }
        SinusoidalPositionalEncoding {
            table: Tensor::from_vec(v, &[max_len, d_model]).expect("max_len x d_model"),
        }
    }

    /// The table `[max_len, d_model]`: row `p` is the encoding of position `p`.
    pub fn table(&self) -> &Tensor<F> {
        &self.table
    }
}

impl<F: Float> Module<F> for SinusoidalPositionalEncoding<F> {
    /// `x` `[batch, seq, d_model]` plus the encodings of positions `0..seq`.
    ///
    /// # Panics
    ///
    /// When `x` is not 3-D with width `d_model`, or `seq` exceeds `max_len`.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let (max_len, d) = (self.table.shape()[0], self.table.shape()[1]);
        let seq = check("sinusoidal_positional_encoding", x, max_len, d);
        x + &self.table.narrow(0, 0, seq)
    }
}

/// Panics unless `x` is `[batch, seq ≤ max_len, d]`; returns `seq`.
#[track_caller]
fn check<F: Float>(name: &str, x: Var<'_, F>, max_len: usize, d: usize) -> usize {
    let s = x.shape();
    if s.len() != 3 || s[2] != d || s[1] > max_len {
        panic!("{name}: input of shape {s:?} where [batch, seq ≤ {max_len}, {d}] was expected");
    }
    s[1]
}

/// Adds a learned vector per position to `[batch, seq, d_model]` inputs (GPT's and BERT's position
/// embeddings): the parameter `weight` `[max_len, d_model]`, drawn from N(0, 0.02²) as they draw it.
///
/// ```
/// use wengert::nn::{GradientsParam, LearnedPositionalEmbedding, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let pos = LearnedPositionalEmbedding::new(&store.root().sub("pos"), 16, 4);
/// let tape = Tape::new();
/// let y = pos.forward(tape.constant(Tensor::zeros(&[2, 3, 4])));
/// let grads = y.sum().backward();
/// assert_eq!(grads.param(&pos.weight).unwrap().to_vec()[..12], [2.0; 12]); // rows 0..3, batch 2
/// ```
#[derive(Debug)]
pub struct LearnedPositionalEmbedding<F: Float = f32> {
    /// The table `[max_len, d_model]`.
    pub weight: Param<F>,
}

impl<F: Float> LearnedPositionalEmbedding<F> {
    /// A table for positions below `max_len` of width `d_model`.
    pub fn new(path: &Path<F>, max_len: usize, d_model: usize) -> Self {
        Self::with_init(path, max_len, d_model, Init::Normal { mean: 0.0, std: 0.02 })
    }

    /// A table filled by `init`.
    pub fn with_init(path: &Path<F>, max_len: usize, d_model: usize, init: Init) -> Self {
        LearnedPositionalEmbedding { weight: path.param("weight", &[max_len, d_model], init) }
    }
}

impl<F: Float> Module<F> for LearnedPositionalEmbedding<F> {
    /// `x` `[batch, seq, d_model]` plus the vectors of positions `0..seq`.
    ///
    /// # Panics
    ///
    /// When `x` is not 3-D with width `d_model`, or `seq` exceeds `max_len`.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let shape = self.weight.shape();
        let seq = check("learned_positional_embedding", x, shape[0], shape[1]);
        x + x.tape().param(&self.weight).narrow(0, 0, seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParamStore;
    use wengert_tape::Tape;

    #[test]
    fn sinusoids_follow_the_formula() {
        let pe = SinusoidalPositionalEncoding::<f64>::new(6, 5);
        let t = pe.table().to_vec();
        for p in 0..5 {
            for j in 0..6 {
                let angle = p as f64 / 10000f64.powf((2 * (j / 2)) as f64 / 6.0);
                let want = if j % 2 == 0 { angle.sin() } else { angle.cos() };
                assert!((t[p * 6 + j] - want).abs() < 1e-12, "p {p}, j {j}");
            }
        }
        let odd = SinusoidalPositionalEncoding::<f32>::new(3, 2);
        assert_eq!(odd.table().shape(), &[2, 3]);
    }

    #[test]
    fn encodings_add_the_first_seq_rows() {
        let pe = SinusoidalPositionalEncoding::<f64>::new(2, 8);
        let tape = Tape::new();
        let y = pe.forward(tape.constant(Tensor::ones(&[1, 3, 2]))).value().to_vec();
        let want: Vec<f64> = pe.table().narrow(0, 0, 3).to_vec().iter().map(|v| v + 1.0).collect();
        assert_eq!(y, want);
        let store = ParamStore::<f64>::with_seed(0);
        let pos = LearnedPositionalEmbedding::new(&store.root(), 4, 2);
        let y = pos.forward(tape.constant(Tensor::zeros(&[2, 4, 2]))).value().to_vec();
        let w = pos.weight.value().to_vec();
        assert_eq!(y, [w.clone(), w].concat());
        assert!(pos.weight.value().to_vec().iter().all(|v| v.abs() < 0.2));
    }

    #[test]
    #[should_panic(
        expected = "learned_positional_embedding: input of shape [1, 5, 2] where [batch, seq ≤ 4, 2] was expected"
    )]
    fn positions_beyond_max_len_are_rejected() {
        let store = ParamStore::<f32>::new(0);
        let tape = Tape::new();
        LearnedPositionalEmbedding::new(&store.root(), 4, 2)
            .forward(tape.constant(Tensor::zeros(&[1, 5, 2])));
    }
}
