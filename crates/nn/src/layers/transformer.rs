//! `TransformerEncoderLayer`, pre-norm by default: x + Dropout(MHA(LN(x))), then
//! x + Dropout(MLP(LN(x))) with MLP(x) = Linear₂(Dropout(GELU(Linear₁ x))) (PyTorch's
//! `nn.TransformerEncoderLayer` with `norm_first=True`, `activation="gelu"`, `batch_first=True`);
//! with `norm_first` false, post-norm: LN(x + Dropout(MHA(x))), then LN(x + Dropout(MLP(x))).

use wengert_tape::Var;
use wengert_tensor::Float;

use super::attention::AttentionMask;
use super::dropout::Dropout;
use super::linear::Linear;
use super::multihead::{MultiHeadAttention, Projections};
use super::norm::LayerNorm;
use crate::module::Module;
use crate::store::Path;

/// Settings of [`TransformerEncoderLayer`] and [`TransformerDecoderLayer`]; the default is PyTorch's
/// but for `norm_first`: a feed-forward width of `4 · d_model` (when `ff_dim` is `None`), dropout 0.1,
/// fused q/k/v projections, and pre-norm (`norm_first` true; PyTorch's default is false, post-norm).
///
/// [`TransformerDecoderLayer`]: crate::TransformerDecoderLayer
///
/// ```
/// use wengert::nn::TransformerOptions;
/// let opts = TransformerOptions::default().ff_dim(64).dropout(0.0);
/// assert_eq!((opts.ff_dim, opts.dropout), (Some(64), 0.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct TransformerOptions {
    /// The width of the feed-forward block; `None` for `4 · d_model`.
    pub ff_dim: Option<usize>,
    /// The dropout probability on the residual branches, inside the feed-forward block and on the
    /// attention weights (as PyTorch's).
    pub dropout: f64,
    /// Fused or separate q/k/v projections.
    pub projections: Projections,
    /// Normalise before each sub-block (pre-norm) rather than after each residual sum (post-norm).
    pub norm_first: bool,
}

impl Default for TransformerOptions {
    fn default() -> Self {
        TransformerOptions { ff_dim: None, dropout: 0.1, projections: Projections::Fused, norm_first: true }
    }
}

impl TransformerOptions {
    /// Sets the feed-forward width.
    pub fn ff_dim(mut self, n: usize) -> Self {
        self.ff_dim = Some(n);
        self
    }

    /// Sets the dropout probability.
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// Chooses fused or separate q/k/v projections.
    pub fn projections(mut self, projections: Projections) -> Self {
        self.projections = projections;
        self
    }

    /// Chooses pre-norm (`true`) or post-norm (`false`, PyTorch's default).
    pub fn norm_first(mut self, norm_first: bool) -> Self {
        self.norm_first = norm_first;
        self
    }
}

/// A pre-norm transformer encoder layer over `[batch, seq, d_model]`.
///
/// Its parameters take the names of PyTorch's `nn.TransformerEncoderLayer` `state_dict`, so that
/// one's weights load as they are: `self_attn.in_proj_weight`, `self_attn.in_proj_bias`,
/// `self_attn.out_proj.weight`, `self_attn.out_proj.bias`, `linear1.weight`, `linear1.bias`,
/// `linear2.weight`, `linear2.bias`, `norm1.weight`, `norm1.bias`, `norm2.weight`, `norm2.bias` (set
/// `norm_first` and the feed-forward width as the PyTorch layer was built).
///
/// ```
/// use wengert::nn::{AttentionMask, Module, ParamStore, TransformerEncoderLayer};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let layer = TransformerEncoderLayer::new(&store.root().sub("enc"), 16, 4);
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::ones(&[2, 5, 16]));
/// assert_eq!(layer.forward(x).shape(), vec![2, 5, 16]);
/// let y = layer.forward_masked(x, &AttentionMask::new().causal());
/// assert_eq!(y.shape(), vec![2, 5, 16]);
/// ```
#[derive(Debug)]
pub struct TransformerEncoderLayer<F: Float = f32> {
    /// The norm before attention.
    pub norm1: LayerNorm<F>,
    /// The self-attention.
    pub attn: MultiHeadAttention<F>,
    /// The norm before the feed-forward block.
    pub norm2: LayerNorm<F>,
    /// The feed-forward block's first layer, `d_model` to `ff_dim`.
    pub linear1: Linear<F>,
    /// The feed-forward block's second layer, `ff_dim` to `d_model`.
    pub linear2: Linear<F>,
    dropout: Dropout<F>,
    norm_first: bool,
}

impl<F: Float> TransformerEncoderLayer<F> {
    /// A layer of width `d_model` with `heads` heads and the default options.
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
        TransformerEncoderLayer {
            norm1: LayerNorm::new(&path.sub("norm1"), &[d_model]),
            attn: MultiHeadAttention::with_options(
                &path.sub("self_attn"),
                d_model,
                heads,
                opts.projections,
                true,
            )
            .with_attention_dropout(opts.dropout),
            norm2: LayerNorm::new(&path.sub("norm2"), &[d_model]),
            linear1: Linear::new(&path.sub("linear1"), d_model, ff),
            linear2: Linear::new(&path.sub("linear2"), ff, d_model),
            dropout: Dropout::new(path, opts.dropout),
            norm_first: opts.norm_first,
        }
    }

    /// The layer applied to `x` `[batch, seq, d_model]`, its attention under `mask`.
    ///
    /// # Panics
    ///
    /// When `x` is not `[batch, seq, d_model]` or the mask does not fit.
    #[track_caller]
    pub fn forward_masked<'t>(&self, x: Var<'t, F>, mask: &AttentionMask<F>) -> Var<'t, F> {
        let attn = |x: Var<'t, F>| self.dropout.forward(self.attn.self_attention(x, mask));
        let ff = |x: Var<'t, F>| feed_forward(&self.linear1, &self.linear2, &self.dropout, x);
        if self.norm_first {
            let x = x + attn(self.norm1.forward(x));
            x + ff(self.norm2.forward(x))
        } else {
            let x = self.norm1.forward(x + attn(x));
            self.norm2.forward(x + ff(x))
        }
    }

    /// Whether the layer is pre-norm.
    pub fn norm_first(&self) -> bool {
        self.norm_first
    }
}

/// `Dropout(Linear₂(Dropout(GELU(Linear₁ x))))`: the feed-forward branch of the transformer layers.
pub(crate) fn feed_forward<'t, F: Float>(
    linear1: &Linear<F>,
    linear2: &Linear<F>,
    dropout: &Dropout<F>,
    x: Var<'t, F>,
) -> Var<'t, F> {
    let h = dropout.forward(linear1.forward(x).gelu());
    dropout.forward(linear2.forward(h))
}

impl<F: Float> Module<F> for TransformerEncoderLayer<F> {
    /// The layer applied to `x` `[batch, seq, d_model]` without a mask.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        self.forward_masked(x, &AttentionMask::new())
    }
}
