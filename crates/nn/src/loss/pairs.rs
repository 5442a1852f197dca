//! Losses on pairs and triplets of embeddings, as PyTorch defines them.
//!
//! margin_ranking: max(0, -y · (a - b) + margin) · cosine_embedding: with
//! cos = Σ a b / √((Σ a² + 1e-12)(Σ b² + 1e-12)) over the last dimension, 1 - cos where y = 1 and
//! max(0, cos - margin) where y = -1 · triplet_margin: max(d(a, p) - d(a, n) + margin, 0) with
//! d(u, v) = ‖u - v + eps‖_p over the last dimension, and with `swap` d(a, n) replaced by
//! min(d(a, n), d(p, n)). Every `max(·, 0)` is PyTorch's `clamp_min`: its gradient at 0 is 1.

use wengert_tape::Var;
use wengert_tensor::{Float, Tensor};

use super::{Reduction, check_same_shape, reduce};

/// `max(v, 0)` with `clamp_min`'s gradient, 1 at 0 (PyTorch's; `relu` has 0 there).
fn clamp_min_zero<'t, F: Float>(v: Var<'t, F>) -> Var<'t, F> {
    v.clamp(F::zero(), F::infinity())
}

/// Panics unless `v` is `[N, D]` or `[D]`.
#[track_caller]
fn check_embeddings<F: Float>(op: &str, v: Var<'_, F>) {
    let s = v.shape();
    if s.is_empty() || s.len() > 2 {
        panic!("{op}: inputs of shape {s:?} are not [N, D] or [D]");
    }
}

/// Margin ranking loss (PyTorch's `margin_ranking_loss`): `max(0, -y · (a - b) + margin)` per
/// element, where `y` is 1 when `a` should rank higher and -1 when `b` should; reduced by
/// `reduction`.
///
/// ```
/// use wengert::nn::loss::{Reduction, margin_ranking};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let a = tape.var(Tensor::from_vec(vec![1.0, 1.0], &[2]).unwrap());
/// let b = tape.var(Tensor::from_vec(vec![0.5, 0.5], &[2]).unwrap());
/// let y = tape.constant(Tensor::from_vec(vec![1.0, -1.0], &[2]).unwrap());
/// let l = margin_ranking(a, b, y, 0.2, Reduction::None);
/// assert_eq!(l.value().to_vec(), vec![0.0, 0.7]);
/// ```
///
/// # Panics
///
/// When the three shapes differ.
#[track_caller]
pub fn margin_ranking<'t, F: Float>(
    a: Var<'t, F>,
    b: Var<'t, F>,
    target: Var<'t, F>,
    margin: f64,
    reduction: Reduction,
) -> Var<'t, F> {
    check_same_shape("margin_ranking", a, b);
    check_same_shape("margin_ranking", a, target);
    let each = (-target * (a - b)).add_scalar(F::from_f64(margin));
    reduce(clamp_min_zero(each), reduction)
}

/// Cosine embedding loss (PyTorch's `cosine_embedding_loss`) of rows `a`, `b` (`[N, D]`, or `[D]`
/// for one pair) with labels `target` (`[N]`, or `[]`) of 1 (similar) or -1 (dissimilar): `1 - cos`
/// where the label is 1, `max(0, cos - margin)` where it is -1, with
/// `cos = Σ a b / √((Σ a² + 1e-12)(Σ b² + 1e-12))` (PyTorch's ε, so a zero row gives cos 0).
/// The labels are not differentiated.
///
/// ```
/// use wengert::nn::loss::{Reduction, cosine_embedding};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let a = tape.var(Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.0], &[2, 2]).unwrap());
/// let b = tape.var(Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[2, 2]).unwrap());
/// let y = tape.constant(Tensor::from_vec(vec![1.0, -1.0], &[2]).unwrap());
/// let l = cosine_embedding(a, b, y, 0.5, Reduction::None).value().to_vec();
/// assert!((l[0] - 1.0).abs() < 1e-9 && (l[1] - 0.5).abs() < 1e-9);
/// ```
///
/// # Panics
///
/// When `a` is not `[N, D]` or `[D]`, `b` differs from it, `target` is not `[N]` (`[]` for 1-D
/// inputs), or a label is neither 1 nor -1.
#[track_caller]
pub fn cosine_embedding<'t, F: Float>(
    a: Var<'t, F>,
    b: Var<'t, F>,
    target: Var<'t, F>,
    margin: f64,
    reduction: Reduction,
) -> Var<'t, F> {
    const EPS: f64 = 1e-12;
    check_embeddings("cosine_embedding", a);
    check_same_shape("cosine_embedding", a, b);
    let shape = a.shape();
    let rows = &shape[..shape.len() - 1];
    if target.shape() != rows {
        panic!("cosine_embedding: target of shape {:?} for inputs of shape {shape:?}", target.shape());
    }
    let labels = target.value().to_vec();
    if let Some(bad) = labels.iter().find(|&&y| y != F::one() && y != -F::one()) {
        panic!("cosine_embedding: labels must be 1 or -1, got {bad}");
    }
    let last = shape.len() - 1;
    let dot = (a * b).sum_axes(&[last], false);
    let eps = F::from_f64(EPS);
    let mag_a = a.square().sum_axes(&[last], false).add_scalar(eps);
    let mag_b = b.square().sum_axes(&[last], false).add_scalar(eps);
    let cos = dot / (mag_a * mag_b).sqrt();
    let similar = target.value().gt_mask(&Tensor::scalar(F::zero()));
    let each = Var::where_cond(
        &similar,
        cos.rsub_scalar(F::one()),
        clamp_min_zero(cos.sub_scalar(F::from_f64(margin))),
    );
    reduce(each, reduction)
}

/// Options of [`triplet_margin_with`]; the default is PyTorch's: margin 1, p 2, eps 1e-6, no swap,
/// mean.
///
/// ```
/// use wengert::nn::loss::TripletOptions;
/// let opts = TripletOptions { swap: true, ..TripletOptions::default() };
/// assert_eq!((opts.margin, opts.p, opts.eps), (1.0, 2.0, 1e-6));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripletOptions {
    /// The margin by which the negative should be farther than the positive.
    pub margin: f64,
    /// The norm degree of the distance, finite and ≥ 1.
    pub p: f64,
    /// Added to every difference before the norm, as PyTorch's `pairwise_distance` does.
    pub eps: f64,
    /// Use the smaller of d(anchor, negative) and d(positive, negative) as the negative distance.
    pub swap: bool,
    /// How the per-triplet losses are combined.
    pub reduction: Reduction,
}

impl Default for TripletOptions {
    fn default() -> Self {
        TripletOptions { margin: 1.0, p: 2.0, eps: 1e-6, swap: false, reduction: Reduction::Mean }
    }
}

/// `‖u - v + eps‖_p` over the last dimension (PyTorch's `pairwise_distance`); its gradient where
/// the norm is 0 is 0.
fn pairwise_distance<'t, F: Float>(u: Var<'t, F>, v: Var<'t, F>, p: f64, eps: f64) -> Var<'t, F> {
    let last = u.shape().len() - 1;
    let d = (u - v).add_scalar(F::from_f64(eps));
    if p == 2.0 {
        return d.norm_axes(&[last], false);
    }
    if p == 1.0 {
        return d.abs().sum_axes(&[last], false);
    }
    let s = d.abs().powf(F::from_f64(p)).sum_axes(&[last], false);
    let positive = s.value().gt_mask(&Tensor::scalar(F::zero()));
    let zero = s.constant(Tensor::scalar(F::zero()));
    let safe = Var::where_cond(&positive, s, s.constant(Tensor::scalar(F::one())));
    Var::where_cond(&positive, safe.powf(F::from_f64(1.0 / p)), zero)
}

/// Mean triplet margin loss with PyTorch's defaults (margin 1, p 2, eps 1e-6, no swap).
///
/// # Panics
///
/// As [`triplet_margin_with`].
#[track_caller]
pub fn triplet_margin<'t, F: Float>(
    anchor: Var<'t, F>,
    positive: Var<'t, F>,
    negative: Var<'t, F>,
) -> Var<'t, F> {
    triplet_margin_with(anchor, positive, negative, &TripletOptions::default())
}

/// Triplet margin loss (PyTorch's `triplet_margin_loss`) of `[N, D]` (or `[D]`) anchors, positives
/// and negatives: `max(d(a, p) - d(a, n) + margin, 0)` with `d(u, v) = ‖u - v + eps‖_p` over `D`; with
/// `swap`, `d(a, n)` becomes `min(d(a, n), d(p, n))`.
///
/// ```
/// use wengert::nn::loss::{Reduction, TripletOptions, triplet_margin_with};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let a = tape.var(Tensor::from_vec(vec![0.0, 0.0], &[1, 2]).unwrap());
/// let p = tape.var(Tensor::from_vec(vec![3.0, 4.0], &[1, 2]).unwrap());
/// let n = tape.var(Tensor::from_vec(vec![0.0, 1.0], &[1, 2]).unwrap());
/// let opts = TripletOptions { eps: 0.0, ..TripletOptions::default() };
/// assert_eq!(triplet_margin_with(a, p, n, &opts).item(), 5.0 - 1.0 + 1.0);
/// ```
///
/// # Panics
///
/// When the inputs are not `[N, D]` or `[D]`, their shapes differ, or `p` is not finite and ≥ 1.
#[track_caller]
pub fn triplet_margin_with<'t, F: Float>(
    anchor: Var<'t, F>,
    positive: Var<'t, F>,
    negative: Var<'t, F>,
    opts: &TripletOptions,
) -> Var<'t, F> {
    check_embeddings("triplet_margin", anchor);
    check_same_shape("triplet_margin", anchor, positive);
    check_same_shape("triplet_margin", anchor, negative);
    let p = opts.p;
    assert!(p.is_finite() && p >= 1.0, "triplet_margin: p must be finite and at least 1, got {p}");
    let d_pos = pairwise_distance(anchor, positive, p, opts.eps);
    let mut d_neg = pairwise_distance(anchor, negative, p, opts.eps);
    if opts.swap {
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, opts.eps));
    }
    reduce(clamp_min_zero((d_pos - d_neg).add_scalar(F::from_f64(opts.margin))), opts.reduction)
}

#[cfg(test)]
mod tests;
