//! Scaled dot-product attention, softmax(q kᵀ / √d) v, with causal and key-padding masks, and the
//! masked softmax under it.
//!
//! The masked softmax of scores s under a mask m (1 where a key may be attended to) is
//! e = m ⊙ exp(s - max), y = e / Σ e along the keys, with the max taken over the kept scores only and
//! a row without any kept key giving zeros (its Σ e is replaced by 1). Masked positions get exactly
//! zero weight and no gradient; nothing overflows and no NaN appears, at any order of derivative,
//! because the masked scores never reach the exponential. It is composed of `where_cond`, `exp`,
//! sums and a division, so every rule is already gradient-checked.

use wengert_tape::Var;
use wengert_tensor::{Float, Tensor};

/// Which keys each query may attend to: an optional causal mask, an optional key-padding mask and an
/// optional mask of allowed positions, combined by logical and. The default masks nothing.
///
/// Conventions follow PyTorch: the key-padding mask is `[batch, seq_k]` and marks the keys to
/// *ignore* (true = padding, as `key_padding_mask` in `nn.MultiheadAttention`); the allowed mask marks
/// the pairs that *may* attend (non-zero = allowed, as a boolean `attn_mask` in
/// `scaled_dot_product_attention`) and broadcasts against the scores `[..., seq_q, seq_k]`; causal
/// lets query `i` see keys `j ≤ i` (PyTorch's `is_causal`, aligned at the top left).
///
/// ```
/// use wengert::nn::AttentionMask;
/// let mask = AttentionMask::<f32>::new().causal().key_padding(&[vec![false, false, true]]);
/// let keep = mask.keep(&[1, 3, 3]).unwrap();     // for scores [batch 1, seq_q 3, seq_k 3]
/// assert_eq!(keep.to_vec(), vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
/// assert!(AttentionMask::<f32>::new().keep(&[1, 3, 3]).is_none());
/// ```
#[derive(Debug, Clone)]
pub struct AttentionMask<F: Float = f32> {
    causal: bool,
    /// `[batch, seq_k]`, non-zero = padding.
    padding: Option<Tensor<F>>,
    /// Broadcasts to the scores, non-zero = allowed.
    allowed: Option<Tensor<F>>,
}

impl<F: Float> Default for AttentionMask<F> {
    fn default() -> Self {
        AttentionMask { causal: false, padding: None, allowed: None }
    }
}

impl<F: Float> AttentionMask<F> {
    /// No mask: every query attends to every key.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the causal mask: query `i` attends to keys `j ≤ i` only.
    pub fn causal(mut self) -> Self {
        self.causal = true;
        self
    }

    /// Adds a key-padding mask from rows of booleans, one row per batch element, `true` for the keys
    /// to ignore.
    ///
    /// # Panics
    ///
    /// When the rows differ in length.
    #[track_caller]
    pub fn key_padding(self, padded: &[Vec<bool>]) -> Self {
        let seq = padded.first().map_or(0, Vec::len);
        if let Some(row) = padded.iter().position(|r| r.len() != seq) {
            panic!(
                "attention mask: key padding row {row} has {} keys where row 0 has {seq}",
                padded[row].len()
            );
        }
        let values = padded.iter().flatten().map(|&p| if p { F::one() } else { F::zero() }).collect();
        self.key_padding_tensor(Tensor::from_vec(values, &[padded.len(), seq]).expect("rows of equal length"))
    }

    /// Adds a key-padding mask from the valid length of each batch element: keys at and after
    /// `lengths[b]` of `seq_k` are ignored.
    pub fn key_lengths(self, lengths: &[usize], seq_k: usize) -> Self {
        let rows: Vec<Vec<bool>> = lengths.iter().map(|&n| (0..seq_k).map(|j| j >= n).collect()).collect();
        self.key_padding(&rows)
    }

    /// Adds a key-padding mask `[batch, seq_k]` whose non-zero entries mark the keys to ignore.
    ///
    /// # Panics
    ///
    /// When `padding` is not 2-D.
    #[track_caller]
    pub fn key_padding_tensor(mut self, padding: Tensor<F>) -> Self {
        if padding.ndim() != 2 {
            panic!(
                "attention mask: key padding of shape {:?} where [batch, seq_k] was expected",
                padding.shape()
            );
        }
        self.padding = Some(padding);
        self
    }

    /// Adds a mask of allowed pairs, non-zero where a query may attend to a key, broadcasting against
    /// the scores `[..., seq_q, seq_k]`.
    pub fn allow(mut self, allowed: Tensor<F>) -> Self {
        self.allowed = Some(allowed);
        self
    }

    /// True when nothing is masked.
    pub fn is_empty(&self) -> bool {
        !self.causal && self.padding.is_none() && self.allowed.is_none()
    }

    /// The combined mask for scores of shape `scores` (`[batch, ..., seq_q, seq_k]`): 1 where a query
    /// may attend to a key, 0 elsewhere, broadcastable to `scores`; `None` when nothing is masked.
    ///
    /// # Panics
    ///
    /// When `scores` has fewer than 3 dimensions while a key-padding mask is set, or a mask does not
    /// fit: `attention mask: key padding [2, 4] for scores [3, 5, 4]`.
    #[track_caller]
    pub fn keep(&self, scores: &[usize]) -> Option<Tensor<F>> {
        let n = scores.len();
        assert!(n >= 2, "attention mask: scores of shape {scores:?} need [.., seq_q, seq_k]");
        let (sq, sk) = (scores[n - 2], scores[n - 1]);
        let mut keep: Option<Tensor<F>> = None;
        let mut and = |m: Tensor<F>| keep = Some(keep.take().map_or(m.clone(), |k| &k * &m));
        if self.causal {
            let v = (0..sq * sk).map(|p| if p % sk <= p / sk { F::one() } else { F::zero() }).collect();
            and(Tensor::from_vec(v, &[sq, sk]).expect("seq_q x seq_k"));
        }
        if let Some(p) = &self.padding {
            if n < 3 || p.shape() != [scores[0], sk] {
                panic!("attention mask: key padding {:?} for scores {scores:?}", p.shape());
            }
            let mut shape = vec![1; n];
            (shape[0], shape[n - 1]) = (scores[0], sk);
            let valid = p.eq_mask(&Tensor::scalar(F::zero()));
            and(valid.reshape(&shape).expect("same number of elements"));
        }
        if let Some(a) = &self.allowed {
            if wengert_tensor::Shape::broadcast(a.shape(), scores).ok().as_deref() != Some(scores) {
                panic!(
                    "attention mask: allowed mask {:?} does not broadcast to scores {scores:?}",
                    a.shape()
                );
            }
            and(a.ne_mask(&Tensor::scalar(F::zero())));
        }
        keep
    }
}

/// Softmax along the last axis over the entries where `keep` is non-zero (`keep` broadcasts to `x`):
/// the others get exactly zero, and a row with no kept entry is all zeros, with finite gradients.
///
/// ```
/// use wengert::nn::masked_softmax;
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0, 1e30, 1.0, 0.0, 0.0, 0.0], &[2, 3]).unwrap());
/// let keep = Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.0, 0.0, 0.0], &[2, 3]).unwrap();
/// let y = masked_softmax(x, &keep);
/// assert_eq!(y.value().to_vec(), vec![0.5, 0.0, 0.5, 0.0, 0.0, 0.0]);
/// assert!(y.sum().backward()[x].to_vec().iter().all(|g| g.is_finite()));
/// ```
///
/// # Panics
///
/// When `x` is 0-D or `keep` does not broadcast to `x`'s shape.
#[track_caller]
pub fn masked_softmax<'t, F: Float>(x: Var<'t, F>, keep: &Tensor<F>) -> Var<'t, F> {
    x.masked_softmax(keep)
}

/// The attention weights softmax(q kᵀ / √d) under `mask`, `[..., seq_q, seq_k]`, for `q`
/// `[..., seq_q, d]` and `k` `[..., seq_k, d]` (leading dimensions broadcast, as in matmul). Masked
/// pairs get exactly zero; a query that may attend to no key gets a row of zeros.
///
/// # Panics
///
/// When `q` and `k` are not at least 2-D with the same last dimension, or a mask does not fit.
#[track_caller]
pub fn attention_weights<'t, F: Float>(q: Var<'t, F>, k: Var<'t, F>, mask: &AttentionMask<F>) -> Var<'t, F> {
    let (qs, ks) = (q.shape(), k.shape());
    if qs.len() < 2 || ks.len() < 2 || qs.last() != ks.last() {
        panic!("attention: queries {qs:?} and keys {ks:?} need [.., seq, d] with the same d");
    }
    let d = qs[qs.len() - 1];
    let scores = q.matmul(k.t()) * F::from_f64(1.0 / (d.max(1) as f64).sqrt());
    match mask.keep(&scores.shape()) {
        None => scores.softmax(scores.ndim() - 1),
        Some(keep) => masked_softmax(scores, &keep),
    }
}

/// Scaled dot-product attention, softmax(q kᵀ / √d) v, for `q` `[..., seq_q, d]`, `k`
/// `[..., seq_k, d]` and `v` `[..., seq_k, d_v]`, giving `[..., seq_q, d_v]` (PyTorch's
/// `scaled_dot_product_attention` without dropout). See [`AttentionMask`] for the masks; a query
/// whose keys are all masked gets zeros.
///
/// ```
/// use wengert::nn::{AttentionMask, scaled_dot_product_attention};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let q = tape.var(Tensor::ones(&[2, 3, 4]));           // batch 2, 3 queries of width 4
/// let kv = tape.var(Tensor::arange(0.0, 24.0, 1.0).reshape(&[2, 3, 4]).unwrap());
/// let y = scaled_dot_product_attention(q, kv, kv, &AttentionMask::new().causal());
/// assert_eq!(y.shape(), vec![2, 3, 4]);
/// assert_eq!(y.value().to_vec()[..4], [0.0, 1.0, 2.0, 3.0]); // the first query sees the first key only
/// ```
///
/// # Panics
///
/// When the shapes do not fit together or a mask does not fit.
#[track_caller]
pub fn scaled_dot_product_attention<'t, F: Float>(
    q: Var<'t, F>,
    k: Var<'t, F>,
    v: Var<'t, F>,
    mask: &AttentionMask<F>,
) -> Var<'t, F> {
    let (ks, vs) = (k.shape(), v.shape());
    if vs.len() < 2 || ks[..ks.len() - 1] != vs[..vs.len() - 1] {
        panic!("attention: keys {ks:?} and values {vs:?} need the same [.., seq_k]");
    }
    attention_weights(q, k, mask).matmul(v)
}
