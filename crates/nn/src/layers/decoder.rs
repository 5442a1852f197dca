//! `TransformerDecoderLayer` (PyTorch's, `batch_first=True`, GELU): causal self-attention over the
//! target, cross-attention to the encoder's memory, then the feed-forward block, each a residual
//! branch with dropout. Pre-norm (`norm_first`, the default here):
//! x += SA(LN₁ x); x += CA(LN₂ x, m); x += FF(LN₃ x). Post-norm (PyTorch's default):
//! x = LN₁(x + SA(x)); x = LN₂(x + CA(x, m)); x = LN₃(x + FF(x)).

use wengert_tape::Var;
use wengert_tensor::Float;

use super::attention::AttentionMask;
use super::dropout::Dropout;
use super::linear::Linear;
use super::multihead::MultiHeadAttention;
use super::norm::LayerNorm;
use super::transformer::{TransformerOptions, feed_forward};
use crate::module::Module;
use crate::store::Path;

/// A transformer decoder layer over targets `[batch, seq_t, d_model]` and an encoder's memory
/// `[batch, seq_m, d_model]`, with parameters named as PyTorch's `nn.TransformerDecoderLayer`
/// `state_dict`: `self_attn.in_proj_weight`, `self_attn.in_proj_bias`, `self_attn.out_proj.*`, the same
/// under `multihead_attn` (the cross-attention), `linear1.*`, `linear2.*`, `norm1.*` .. `norm3.*`.
///
/// ```
/// use wengert::nn::{ParamStore, TransformerDecoderLayer};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let layer = TransformerDecoderLayer::new(&store.root().sub("dec"), 8, 2);
/// let tape = Tape::new();
/// let target = tape.constant(Tensor::ones(&[2, 5, 8]));
/// let memory = tape.constant(Tensor::ones(&[2, 3, 8]));
/// assert_eq!(layer.decode(target, memory).shape(), vec![2, 5, 8]);
/// ```
#[derive(Debug)]
pub struct TransformerDecoderLayer<F: Float = f32> {
    /// The target's self-attention.
    pub self_attn: MultiHeadAttention<F>,
    /// The attention of the target to the memory.
    pub cross_attn: MultiHeadAttention<F>,
    /// The norm of the self-attention branch.
    pub norm1: LayerNorm<F>,
    /// The norm of the cross-attention branch.
    pub norm2: LayerNorm<F>,
    /// The norm of the feed-forward branch.
    pub norm3: LayerNorm<F>,
    /// The feed-forward block's first layer, `d_model` to `ff_dim`.
    pub linear1: Linear<F>,
    /// The feed-forward block's second layer, `ff_dim` to `d_model`.
    pub linear2: Linear<F>,
    dropout: Dropout<F>,
    norm_first: bool,
}

impl<F: Float> TransformerDecoderLayer<F> {
    /// A layer of width `d_model` with `heads` heads and the default options (pre-norm).
    ///
    /// # Panics
    ///
    /// When `heads` does not divide `d_model`.
    #[track_caller]
    pub fn new(path: &Path<F>, d_model: usize, heads: usize) -> Self {
        Self::with_options(path, d_model, heads, &TransformerOptions::default())
    }

    /// A layer with chosen options.
    ///
    /// # Panics
    ///
    /// When `heads` does not divide `d_model`, or the dropout probability is outside `[0, 1]`.
    #[track_caller]
    pub fn with_options(path: &Path<F>, d_model: usize, heads: usize, opts: &TransformerOptions) -> Self {
        let ff = opts.ff_dim.unwrap_or(4 * d_model);
        let attn = |name: &str| {
            MultiHeadAttention::with_options(&path.sub(name), d_model, heads, opts.projections, true)
        };
        TransformerDecoderLayer {
            self_attn: attn("self_attn"),
            cross_attn: attn("multihead_attn"),
            norm1: LayerNorm::new(&path.sub("norm1"), &[d_model]),
            norm2: LayerNorm::new(&path.sub("norm2"), &[d_model]),
            norm3: LayerNorm::new(&path.sub("norm3"), &[d_model]),
            linear1: Linear::new(&path.sub("linear1"), d_model, ff),
            linear2: Linear::new(&path.sub("linear2"), ff, d_model),
            dropout: Dropout::new(path, opts.dropout),
            norm_first: opts.norm_first,
        }
    }

    /// Whether the layer is pre-norm.
    pub fn norm_first(&self) -> bool {
        self.norm_first
    }

    /// The layer applied to `target` with a causal self-attention mask (each position sees itself
    /// and those before it) and the whole `memory`.
    ///
    /// # Panics
    ///
    /// As [`TransformerDecoderLayer::decode_masked`].
    #[track_caller]
    pub fn decode<'t>(&self, target: Var<'t, F>, memory: Var<'t, F>) -> Var<'t, F> {
        self.decode_masked(target, memory, &AttentionMask::new().causal(), &AttentionMask::new())
    }

    /// The layer applied to `target` `[batch, seq_t, d_model]` and `memory` `[batch, seq_m, d_model]`,
    /// the self-attention under `target_mask` and the cross-attention under `memory_mask` (PyTorch's
    /// `tgt_mask` and `memory_mask`, plus key padding through [`AttentionMask`]).
    ///
    /// # Panics
    ///
    /// When the inputs are not of those shapes or a mask does not fit.
    #[track_caller]
    pub fn decode_masked<'t>(
        &self,
        target: Var<'t, F>,
        memory: Var<'t, F>,
        target_mask: &AttentionMask<F>,
        memory_mask: &AttentionMask<F>,
    ) -> Var<'t, F> {
        let sa = |x: Var<'t, F>| self.dropout.forward(self.self_attn.self_attention(x, target_mask));
        let ca = |x: Var<'t, F>| self.dropout.forward(self.cross_attn.attend(x, memory, memory, memory_mask));
        let ff = |x: Var<'t, F>| feed_forward(&self.linear1, &self.linear2, &self.dropout, x);
        let x = target;
        if self.norm_first {
            let x = x + sa(self.norm1.forward(x));
            let x = x + ca(self.norm2.forward(x));
            x + ff(self.norm3.forward(x))
        } else {
            let x = self.norm1.forward(x + sa(x));
            let x = self.norm2.forward(x + ca(x));
            self.norm3.forward(x + ff(x))
        }
    }
}

#[cfg(test)]
mod tests;
