//! `MultiHeadAttention`: queries, keys and values projected, split into heads, attended to with
//! scaled dot-product attention per head, concatenated and projected out (PyTorch's
//! `nn.MultiheadAttention` with `batch_first=True`):
//! MHA(q, k, v) = concat(head₁, …, head_h) W_o, head_i = attention(q W_qᵢ, k W_kᵢ, v W_vᵢ).

use wengert_tape::Var;
use wengert_tensor::Float;

use super::attention::{AttentionMask, attention_weights};
use super::dropout::Dropout;
use super::linear::{Linear, affine};
use crate::init::Init;
use crate::module::Module;
use crate::param::{Param, TapeParam};
use crate::store::Path;

/// How [`MultiHeadAttention`] holds its input projections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Projections {
    /// One weight `in_proj_weight` `[3 · d_model, d_model]` (and bias `in_proj_bias` `[3 · d_model]`)
    /// for q, k and v, as PyTorch stores them: self-attention projects with one matmul and splits the
    /// result.
    #[default]
    Fused,
    /// Three layers `q_proj`, `k_proj`, `v_proj`, each `[d_model, d_model]` (not PyTorch's layout, but
    /// that of many Hugging Face models).
    Separate,
}

/// The input projections of either kind.
#[derive(Debug)]
enum InProj<F: Float> {
    Fused { weight: Param<F>, bias: Option<Param<F>> },
    Separate { q: Linear<F>, k: Linear<F>, v: Linear<F> },
}

/// Multi-head attention over batch-first `[batch, seq, d_model]` inputs. Weights start Xavier
/// uniform, biases at zero, as PyTorch's.
///
/// Its parameters take PyTorch's `state_dict` names, so a `nn.MultiheadAttention`'s weights load as
/// they are: `in_proj_weight` `[3 · d_model, d_model]`, `in_proj_bias` `[3 · d_model]`,
/// `out_proj.weight` `[d_model, d_model]`, `out_proj.bias` `[d_model]`.
///
/// ```
/// use wengert::nn::{AttentionMask, Module, MultiHeadAttention, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let mha = MultiHeadAttention::new(&store.root().sub("attn"), 8, 2);
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::ones(&[3, 5, 8]));
/// assert_eq!(mha.forward(x).shape(), vec![3, 5, 8]);                      // self-attention
/// let memory = tape.constant(Tensor::ones(&[3, 7, 8]));
/// let mask = AttentionMask::new().key_lengths(&[7, 4, 1], 7);
/// assert_eq!(mha.attend(x, memory, memory, &mask).shape(), vec![3, 5, 8]); // cross-attention
/// assert_eq!(store.parameters()[0].name(), "attn.in_proj_weight");
/// ```
#[derive(Debug)]
pub struct MultiHeadAttention<F: Float = f32> {
    in_proj: InProj<F>,
    /// The output projection, `[d_model, d_model]`.
    pub out_proj: Linear<F>,
    d_model: usize,
    heads: usize,
    attn_dropout: Dropout<F>,
}

impl<F: Float> MultiHeadAttention<F> {
    /// Attention of width `d_model` split into `heads` heads, with fused input projections and biases.
    ///
    /// # Panics
    ///
    /// When `heads` is zero or does not divide `d_model`.
    #[track_caller]
    pub fn new(path: &Path<F>, d_model: usize, heads: usize) -> Self {
        Self::with_options(path, d_model, heads, Projections::Fused, true)
    }

    /// Attention with fused or separate input projections, with or without biases.
    ///
    /// # Panics
    ///
    /// When `heads` is zero or does not divide `d_model`.
    #[track_caller]
    pub fn with_options(
        path: &Path<F>,
        d_model: usize,
        heads: usize,
        projections: Projections,
        bias: bool,
    ) -> Self {
        if heads == 0 || !d_model.is_multiple_of(heads) {
            panic!("multi_head_attention: {heads} heads do not divide d_model {d_model}");
        }
        let linear = |name: &str| {
            Linear::with_init(&path.sub(name), d_model, d_model, bias, Init::GLOROT_UNIFORM, Init::Zeros)
        };
        let in_proj = match projections {
            Projections::Fused => InProj::Fused {
                weight: path.param("in_proj_weight", &[3 * d_model, d_model], Init::GLOROT_UNIFORM),
                bias: bias.then(|| path.param("in_proj_bias", &[3 * d_model], Init::Zeros)),
            },
            Projections::Separate => {
                InProj::Separate { q: linear("q_proj"), k: linear("k_proj"), v: linear("v_proj") }
            }
        };
        MultiHeadAttention {
            in_proj,
            out_proj: linear("out_proj"),
            d_model,
            heads,
            attn_dropout: Dropout::new(path, 0.0),
        }
    }

    /// The same attention with dropout of probability `p` on its attention weights in training
    /// (PyTorch's `dropout` argument of `nn.MultiheadAttention`; 0 by default).
    ///
    /// ```
    /// use wengert::nn::{MultiHeadAttention, ParamStore};
    /// let store = ParamStore::<f32>::new(0);
    /// let mha = MultiHeadAttention::new(&store.root(), 8, 2).with_attention_dropout(0.1);
    /// assert_eq!(mha.attention_dropout(), 0.1);
    /// ```
    ///
    /// # Panics
    ///
    /// When `p` is outside `[0, 1]`.
    #[track_caller]
    pub fn with_attention_dropout(mut self, p: f64) -> Self {
        self.attn_dropout = self.attn_dropout.with_p(p);
        self
    }

    /// The dropout probability on the attention weights.
    pub fn attention_dropout(&self) -> f64 {
        self.attn_dropout.p()
    }

    /// The model width.
    pub fn d_model(&self) -> usize {
        self.d_model
    }

    /// The number of heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// Self-attention of `x` `[batch, seq, d_model]` under `mask`.
    ///
    /// # Panics
    ///
    /// When `x` is not `[batch, seq, d_model]` or the mask does not fit.
    #[track_caller]
    pub fn self_attention<'t>(&self, x: Var<'t, F>, mask: &AttentionMask<F>) -> Var<'t, F> {
        self.check("query", x);
        let (q, k, v) = match &self.in_proj {
            InProj::Fused { weight, bias } => {
                let tape = x.tape();
                let qkv = affine(x, tape.param(weight), bias.as_ref().map(|b| tape.param(b)));
                let d = self.d_model;
                (qkv.narrow(2, 0, d), qkv.narrow(2, d, d), qkv.narrow(2, 2 * d, d))
            }
            InProj::Separate { q, k, v } => (q.forward(x), k.forward(x), v.forward(x)),
        };
        self.heads_attend(q, k, v, mask)
    }

    /// Attention of `query` `[batch, seq_q, d_model]` to `key` and `value` `[batch, seq_k, d_model]`
    /// under `mask` (cross-attention; with all three the same Var it equals
    /// [`MultiHeadAttention::self_attention`]).
    ///
    /// # Panics
    ///
    /// When the inputs are not of those shapes or the mask does not fit.
    #[track_caller]
    pub fn attend<'t>(
        &self,
        query: Var<'t, F>,
        key: Var<'t, F>,
        value: Var<'t, F>,
        mask: &AttentionMask<F>,
    ) -> Var<'t, F> {
        self.check("query", query);
        self.check("key", key);
        self.check("value", value);
        if key.shape()[..2] != value.shape()[..2] {
            panic!(
                "multi_head_attention: key {:?} and value {:?} differ in batch or length",
                key.shape(),
                value.shape()
            );
        }
        let (q, k, v) = match &self.in_proj {
            InProj::Fused { weight, bias } => {
                let tape = query.tape();
                let (w, d) = (tape.param(weight), self.d_model);
                let b = bias.as_ref().map(|b| tape.param(b));
                let proj = |x: Var<'t, F>, i: usize| {
                    affine(x, w.narrow(0, i * d, d), b.map(|b| b.narrow(0, i * d, d)))
                };
                (proj(query, 0), proj(key, 1), proj(value, 2))
            }
            InProj::Separate { q, k, v } => (q.forward(query), k.forward(key), v.forward(value)),
        };
        self.heads_attend(q, k, v, mask)
    }

    /// Splits projected `[batch, seq, d_model]` into heads, attends, merges and projects out.
    fn heads_attend<'t>(
        &self,
        q: Var<'t, F>,
        k: Var<'t, F>,
        v: Var<'t, F>,
        mask: &AttentionMask<F>,
    ) -> Var<'t, F> {
        let (h, dh) = (self.heads, self.d_model / self.heads);
        let split = |x: Var<'t, F>| {
            let s = x.shape();
            x.reshape(&[s[0], s[1], h, dh]).permute(&[0, 2, 1, 3])
        };
        let weights = self.attn_dropout.forward(attention_weights(split(q), split(k), mask));
        let y = weights.matmul(split(v)); // [batch, h, seq_q, dh]
        let s = y.shape();
        let merged = y.permute(&[0, 2, 1, 3]).reshape(&[s[0], s[2], self.d_model]);
        self.out_proj.forward(merged)
    }

    #[track_caller]
    fn check(&self, what: &str, x: Var<'_, F>) {
        let s = x.shape();
        if s.len() != 3 || s[2] != self.d_model {
            panic!(
                "multi_head_attention: {what} of shape {s:?} where [batch, seq, {}] was expected",
                self.d_model
            );
        }
    }
}

impl<F: Float> Module<F> for MultiHeadAttention<F> {
    /// Self-attention of `x` `[batch, seq, d_model]` without a mask.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        self.self_attention(x, &AttentionMask::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParamStore;
    use wengert_tape::Tape;
    use wengert_tensor::Tensor;

    fn seq(shape: &[usize]) -> Tensor<f64> {
        crate::testing::sines(shape, 0.37)
    }

    #[test]
    fn fused_and_separate_projections_compute_the_same_attention() {
        let store = ParamStore::<f64>::with_seed(0);
        let fused = MultiHeadAttention::new(&store.root().sub("f"), 4, 2);
        let sep = MultiHeadAttention::with_options(&store.root().sub("s"), 4, 2, Projections::Separate, true);
        // Copy the separate weights into the fused ones.
        let w: Vec<Tensor<f64>> = ["s.q_proj.weight", "s.k_proj.weight", "s.v_proj.weight"]
            .iter()
            .map(|n| store.get(n).unwrap().value())
            .collect();
        store.get("f.in_proj_weight").unwrap().set(Tensor::concat(&[&w[0], &w[1], &w[2]], 0));
        let b = Tensor::from_vec((0..12).map(|i| i as f64 * 0.01).collect(), &[12]).unwrap();
        store.get("f.in_proj_bias").unwrap().set(b.clone());
        for (i, n) in ["s.q_proj.bias", "s.k_proj.bias", "s.v_proj.bias"].iter().enumerate() {
            store.get(n).unwrap().set(b.narrow(0, 4 * i, 4));
        }
        store.get("f.out_proj.weight").unwrap().set(store.get("s.out_proj.weight").unwrap().value());
        let tape = Tape::new();
        let x = tape.constant(seq(&[2, 3, 4]));
        let mask = AttentionMask::new().causal();
        let (a, b) =
            (fused.self_attention(x, &mask).value().to_vec(), sep.self_attention(x, &mask).value().to_vec());
        let c = fused.attend(x, x, x, &mask).value().to_vec();
        for ((a, b), c) in a.iter().zip(&b).zip(&c) {
            assert!((a - b).abs() < 1e-12 && (a - c).abs() < 1e-12, "{a} {b} {c}");
        }
        assert_eq!((fused.d_model(), fused.heads()), (4, 2));
    }

    #[test]
    #[should_panic(expected = "multi_head_attention: 3 heads do not divide d_model 8")]
    fn multi_head_attention_rejects_heads_that_do_not_divide_the_width() {
        MultiHeadAttention::<f32>::new(&ParamStore::new(0).root(), 8, 3);
    }

    #[test]
    #[should_panic(
        expected = "multi_head_attention: key of shape [2, 3, 5] where [batch, seq, 4] was expected"
    )]
    fn multi_head_attention_rejects_a_wrong_key_width() {
        let store = ParamStore::<f32>::new(0);
        let mha = MultiHeadAttention::new(&store.root(), 4, 2);
        let tape = Tape::new();
        let x = tape.constant(Tensor::zeros(&[2, 3, 4]));
        mha.attend(x, tape.constant(Tensor::zeros(&[2, 3, 5])), x, &AttentionMask::new());
    }
}
