//! Binary cross-entropy, from probabilities and from logits.
//!
//! bce: -(t · ln p + (1 - t) · ln(1 - p)), each log clamped to ≥ -100 as PyTorch does, so p = 0 or 1
//! gives a finite loss, with PyTorch's gradient (p - t) / max(p (1 - p), 1e-12) in p (large, never 0,
//! where a log is clamped) and ln(1 - p) - ln p, each clamped, in t ·
//! bce_with_logits: softplus(x) - x · t = max(x, 0) - x · t + ln(1 + e^-|x|), stable for any logit,
//! with gradient sigmoid(x) - t. With a positive-class weight p_w (PyTorch's `pos_weight`):
//! (1 - t) · x + (1 + (p_w - 1) · t) · softplus(-x), still stable. A `weight` multiplies each term
//! before the reduction (so `Mean` stays the plain mean, as PyTorch's).

use wengert_tape::{CustomCtx, CustomOp, Var};
use wengert_tensor::{Float, Tensor};

use super::{Reduction, check_same_shape, reduce};

/// `max(ln v, -100)`, with no gradient (rather than 0 · ∞) where the clamp is active.
fn clamped_ln<'t, F: Float>(v: Var<'t, F>) -> Var<'t, F> {
    let low = F::from_f64(-100.0);
    let clamped = v.value().ln().lt_mask(&Tensor::scalar(low));
    if clamped.to_vec().iter().all(|&m| m == F::zero()) {
        return v.ln();
    }
    let safe = Var::where_cond(&clamped, v.constant(Tensor::scalar(F::one())), v);
    Var::where_cond(&clamped, v.constant(Tensor::scalar(low)), safe.ln())
}

/// `max(ln v, -100)` of every element.
fn clamped_ln_values<F: Float>(v: &Tensor<F>) -> Tensor<F> {
    let low = F::from_f64(-100.0);
    v.map(|v| if v.ln() < low { low } else { v.ln() })
}

/// The pointwise terms `-(t · ln p + (1 - t) · ln(1 - p))` of bce with inputs `[p, t]`, as one op with
/// PyTorch's rule: `(p - t) / max(p (1 - p), 1e-12)` in `p`, so that a clamped log still gives the
/// large gradient PyTorch gives (-1e12 at p = 0, t = 1), and `ln(1 - p) - ln p`, clamped, in `t`.
struct BceTerms;

impl<F: Float> CustomOp<F> for BceTerms {
    fn name(&self) -> String {
        "bce".into()
    }

    fn forward(&self, inputs: &[Tensor<F>]) -> Tensor<F> {
        let (p, t) = (&inputs[0], &inputs[1]);
        let ln_p = clamped_ln_values(p);
        let ln_q = clamped_ln_values(&p.map(|p| F::one() - p));
        let a = t.zip_with(&ln_p, "bce", |t, l| t * l);
        let b = t.zip_with(&ln_q, "bce", |t, l| (F::one() - t) * l);
        -(a + b)
    }

    fn backward<'t>(&self, ctx: &CustomCtx<'_, 't, F>) -> Vec<Option<Var<'t, F>>> {
        let (p, t, g) = (ctx.inputs()[0], ctx.inputs()[1], ctx.grad());
        let gp = ctx.needs_grad(0).then(|| {
            let eps = p.constant(Tensor::scalar(F::from_f64(1e-12)));
            g * (p - t) / (p * p.rsub_scalar(F::one())).maximum(eps)
        });
        let gt = ctx.needs_grad(1).then(|| g * (clamped_ln(p.rsub_scalar(F::one())) - clamped_ln(p)));
        vec![gp, gt]
    }
}

/// Mean binary cross-entropy of probabilities `probs` against targets in `[0, 1]`.
///
/// ```
/// use wengert::nn::loss::bce;
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let p = tape.var(Tensor::from_vec(vec![0.8, 0.0], &[2]).unwrap());
/// let t = tape.constant(Tensor::from_vec(vec![1.0, 1.0], &[2]).unwrap());
/// assert!((bce(p, t).item() - (-(0.8f64.ln()) + 100.0) / 2.0).abs() < 1e-12); // ln 0 clamped to -100
/// ```
///
/// # Panics
///
/// When the shapes differ or a probability lies outside `[0, 1]`.
#[track_caller]
pub fn bce<'t, F: Float>(probs: Var<'t, F>, target: Var<'t, F>) -> Var<'t, F> {
    bce_with(probs, target, Reduction::Mean)
}

/// Binary cross-entropy `-(t · ln p + (1 - t) · ln(1 - p))`, logs clamped to ≥ -100, reduced by
/// `reduction`.
///
/// # Panics
///
/// When the shapes differ or a probability lies outside `[0, 1]`.
#[track_caller]
pub fn bce_with<'t, F: Float>(probs: Var<'t, F>, target: Var<'t, F>, reduction: Reduction) -> Var<'t, F> {
    check_same_shape("bce", probs, target);
    if let Some(p) = probs.value().to_vec().into_iter().find(|p| !(F::zero()..=F::one()).contains(p)) {
        panic!("bce: probabilities must lie in [0, 1], got {p} (for logits use bce_with_logits)");
    }
    reduce(probs.tape().custom(BceTerms, &[probs, target]), reduction)
}

/// Mean binary cross-entropy of logits against targets in `[0, 1]`: `bce(sigmoid(x), t)` computed
/// stably (PyTorch's `binary_cross_entropy_with_logits`).
///
/// ```
/// use wengert::nn::loss::bce_with_logits;
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f32>::new();
/// let x = tape.var(Tensor::from_vec(vec![1e4, -1e4], &[2]).unwrap());
/// let t = tape.constant(Tensor::from_vec(vec![0.0, 0.0], &[2]).unwrap());
/// let l = bce_with_logits(x, t);
/// assert_eq!(l.item(), 5e3);
/// assert_eq!(l.backward()[x].to_vec(), vec![0.5, 0.0]);
/// ```
///
/// # Panics
///
/// When the shapes differ.
#[track_caller]
pub fn bce_with_logits<'t, F: Float>(logits: Var<'t, F>, target: Var<'t, F>) -> Var<'t, F> {
    bce_with_logits_with(logits, target, Reduction::Mean)
}

/// Binary cross-entropy of logits, `softplus(x) - x · t` (= `max(x, 0) - x · t + ln(1 + e^-|x|)`),
/// reduced by `reduction`.
///
/// # Panics
///
/// When the shapes differ.
#[track_caller]
pub fn bce_with_logits_with<'t, F: Float>(
    logits: Var<'t, F>,
    target: Var<'t, F>,
    reduction: Reduction,
) -> Var<'t, F> {
    check_same_shape("bce_with_logits", logits, target);
    reduce(logits.softplus() - logits * target, reduction)
}

/// Options of [`bce_weighted`]; the default is PyTorch's: mean, no weight.
///
/// ```
/// use wengert::nn::loss::{BceOptions, Reduction};
/// let opts = BceOptions::<f32>::default();
/// assert_eq!(opts.reduction, Reduction::Mean);
/// assert!(opts.weight.is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct BceOptions<F: Float = f32> {
    /// How the pointwise losses are combined.
    pub reduction: Reduction,
    /// A rescaling weight, broadcast to the input's shape, multiplying each pointwise loss.
    pub weight: Option<Tensor<F>>,
}

/// Options of [`bce_with_logits_weighted`]; the default is PyTorch's: mean, no weights.
///
/// ```
/// use wengert::nn::loss::BceWithLogitsOptions;
/// use wengert::tensor::Tensor;
/// let opts = BceWithLogitsOptions::<f32> {
///     pos_weight: Some(Tensor::from_vec(vec![3.0, 1.0], &[2]).unwrap()),
///     ..BceWithLogitsOptions::default()
/// };
/// assert!(opts.weight.is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct BceWithLogitsOptions<F: Float = f32> {
    /// How the pointwise losses are combined.
    pub reduction: Reduction,
    /// A rescaling weight, broadcast to the input's shape, multiplying each pointwise loss.
    pub weight: Option<Tensor<F>>,
    /// The weight p_w of the positive term, broadcast to the input's shape (typically one per class,
    /// the last dimension): the loss becomes `-(p_w · t · ln σ(x) + (1 - t) · ln(1 - σ(x)))`.
    pub pos_weight: Option<Tensor<F>>,
}

/// `l · weight`, checking that `weight` broadcasts to the shape of `l` without enlarging it.
#[track_caller]
fn weighted<'t, F: Float>(op: &str, name: &str, l: Var<'t, F>, weight: Option<&Tensor<F>>) -> Var<'t, F> {
    let Some(w) = weight else { return l };
    check_broadcasts(op, name, w, &l.shape());
    l * w
}

/// Panics unless `w` broadcasts to `shape` (a weight must not enlarge the loss).
#[track_caller]
fn check_broadcasts<F: Float>(op: &str, name: &str, w: &Tensor<F>, shape: &[usize]) {
    let ws = w.shape();
    let fits =
        ws.len() <= shape.len() && ws.iter().rev().zip(shape.iter().rev()).all(|(&a, &b)| a == b || a == 1);
    if !fits {
        panic!("{op}: {name} of shape {ws:?} does not broadcast to the input's shape {shape:?}");
    }
}

/// Binary cross-entropy of probabilities with a per-element `weight` (PyTorch's
/// `binary_cross_entropy(input, target, weight, reduction)`): `-w · (t · ln p + (1 - t) · ln(1 - p))`,
/// logs clamped to ≥ -100; `Mean` is the plain mean of the weighted terms.
///
/// ```
/// use wengert::nn::loss::{BceOptions, Reduction, bce_weighted};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let p = tape.var(Tensor::from_vec(vec![0.5, 0.5], &[2]).unwrap());
/// let t = tape.constant(Tensor::from_vec(vec![1.0, 0.0], &[2]).unwrap());
/// let opts = BceOptions { reduction: Reduction::Sum, weight: Some(Tensor::from_vec(vec![2.0, 0.0], &[2]).unwrap()) };
/// assert!((bce_weighted(p, t, &opts).item() - 2.0 * 2f64.ln()).abs() < 1e-12);
/// ```
///
/// # Panics
///
/// When the shapes differ, a probability lies outside `[0, 1]`, or the weight does not broadcast
/// to the input's shape.
#[track_caller]
pub fn bce_weighted<'t, F: Float>(probs: Var<'t, F>, target: Var<'t, F>, opts: &BceOptions<F>) -> Var<'t, F> {
    let terms = bce_with(probs, target, Reduction::None);
    reduce(weighted("bce", "weight", terms, opts.weight.as_ref()), opts.reduction)
}

/// Binary cross-entropy of logits with a per-element `weight` and a positive-class `pos_weight`
/// (PyTorch's `binary_cross_entropy_with_logits`): `w · ((1 - t) · x + (1 + (p_w - 1) · t) · softplus(-x))`,
/// which is `-w · (p_w · t · ln σ(x) + (1 - t) · ln(1 - σ(x)))` computed stably for any logit.
///
/// ```
/// use wengert::nn::loss::{BceWithLogitsOptions, Reduction, bce_with_logits_weighted};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::from_vec(vec![0.0, 0.0], &[1, 2]).unwrap());
/// let t = tape.constant(Tensor::from_vec(vec![1.0, 1.0], &[1, 2]).unwrap());
/// let opts = BceWithLogitsOptions {
///     reduction: Reduction::None,
///     pos_weight: Some(Tensor::from_vec(vec![3.0, 1.0], &[2]).unwrap()),
///     ..BceWithLogitsOptions::default()
/// };
/// let l = bce_with_logits_weighted(x, t, &opts).value().to_vec();
/// assert!((l[0] - 3.0 * 2f64.ln()).abs() < 1e-12 && (l[1] - 2f64.ln()).abs() < 1e-12);
/// ```
///
/// # Panics
///
/// When the shapes differ or a weight does not broadcast to the input's shape.
#[track_caller]
pub fn bce_with_logits_weighted<'t, F: Float>(
    logits: Var<'t, F>,
    target: Var<'t, F>,
    opts: &BceWithLogitsOptions<F>,
) -> Var<'t, F> {
    check_same_shape("bce_with_logits", logits, target);
    let terms = match &opts.pos_weight {
        None => logits.softplus() - logits * target,
        Some(pw) => {
            check_broadcasts("bce_with_logits", "pos_weight", pw, &logits.shape());
            let log_weight = (target * &pw.add_scalar(-F::one())).add_scalar(F::one());
            target.rsub_scalar(F::one()) * logits + log_weight * logits.neg().softplus()
        }
    };
    reduce(weighted("bce_with_logits", "weight", terms, opts.weight.as_ref()), opts.reduction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Reduction;
    use wengert_tape::Tape;
    use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck};

    fn t(data: &[f64]) -> Tensor<f64> {
        Tensor::from_vec(data.to_vec(), &[data.len()]).unwrap()
    }

    fn by_hand(p: &[f64], y: &[f64]) -> Vec<f64> {
        p.iter()
            .zip(y)
            .map(|(p, y)| -(y * p.ln().max(-100.0) + (1.0 - y) * (1.0 - p).ln().max(-100.0)))
            .collect()
    }

    fn assert_close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }

    const P: [f64; 5] = [0.9, 0.2, 0.5, 0.0, 1.0];
    const Y: [f64; 5] = [1.0, 0.0, 0.3, 1.0, 1.0];

    #[test]
    fn bce_matches_its_formula_for_every_reduction() {
        let tape = Tape::new();
        let (p, y) = (tape.var(t(&P)), tape.constant(t(&Y)));
        let each = by_hand(&P, &Y);
        assert_eq!(each[3], 100.0);
        assert_close(&bce_with(p, y, Reduction::None).value().to_vec(), &each);
        assert_close(&[bce_with(p, y, Reduction::Sum).item()], &[each.iter().sum()]);
        assert_close(&[bce(p, y).item()], &[each.iter().sum::<f64>() / 5.0]);
        let g = bce(p, y).backward();
        assert!(g[p].to_vec().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn bce_keeps_pytorchs_large_gradient_where_a_log_is_clamped() {
        let tape = Tape::<f64>::new();
        let (p, y) = (tape.var(t(&[0.0, 1.0, 1.0])), tape.constant(t(&[1.0, 0.0, 1.0])));
        let l = bce_with(p, y, Reduction::None);
        assert_eq!(l.value().to_vec(), vec![100.0, 100.0, 0.0]);
        assert_eq!(l.sum().backward()[p].to_vec(), vec![-1e12, 1e12, 0.0]);
        let tape = Tape::<f32>::new();
        let p = tape.var(Tensor::from_vec(vec![0.0f32], &[1]).unwrap());
        let l = bce(p, tape.constant(Tensor::ones(&[1])));
        assert_eq!(l.item(), 100.0);
        assert_eq!(l.backward()[p].to_vec(), vec![-1e12]);
    }

    #[test]
    fn bce_gradients_match_finite_differences() {
        let (p, y) = (t(&[0.9, 0.2, 0.5, 0.05]), t(&[1.0, 0.0, 0.3, 0.6]));
        let opts = GradcheckOptions::default();
        for r in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            gradcheck(|v| bce_with(v[0], v[1], r), &[p.clone(), y.clone()], &opts).unwrap();
        }
        gradgradcheck(|v| bce(v[0], v[1]), &[p.clone(), y.clone()], &opts).unwrap();
    }

    #[test]
    #[should_panic(
        expected = "bce: probabilities must lie in [0, 1], got 1.5 (for logits use bce_with_logits)"
    )]
    fn bce_rejects_values_outside_zero_one() {
        let tape = Tape::<f64>::new();
        bce(tape.var(t(&[0.5, 1.5])), tape.constant(t(&[1.0, 0.0])));
    }

    #[test]
    fn bce_with_logits_equals_bce_of_the_sigmoid() {
        let x = [2.0, -1.0, 0.0, 0.3, -4.0];
        let tape = Tape::new();
        let (xv, y) = (tape.var(t(&x)), tape.constant(t(&Y)));
        let p: Vec<f64> = x.iter().map(|x| 1.0 / (1.0 + (-x).exp())).collect();
        let each = by_hand(&p, &Y);
        assert_close(&bce_with_logits_with(xv, y, Reduction::None).value().to_vec(), &each);
        assert_close(&[bce_with_logits_with(xv, y, Reduction::Sum).item()], &[each.iter().sum()]);
        assert_close(&[bce_with_logits(xv, y).item()], &[each.iter().sum::<f64>() / 5.0]);
        // The gradient is (sigmoid(x) - t) / n, also at x = 0.
        let g = bce_with_logits(xv, y).backward()[xv].to_vec();
        assert_close(&g, &p.iter().zip(&Y).map(|(p, y)| (p - y) / 5.0).collect::<Vec<_>>());
    }

    #[test]
    fn bce_with_logits_gradients_match_finite_differences() {
        let (x, y) = (t(&[2.0, -1.0, 0.0, 0.3, -4.0]), t(&Y));
        let opts = GradcheckOptions::default();
        for r in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            gradcheck(|v| bce_with_logits_with(v[0], v[1], r), &[x.clone(), y.clone()], &opts).unwrap();
        }
        gradgradcheck(|v| bce_with_logits(v[0], v[1]), &[x.clone(), y.clone()], &opts).unwrap();
    }

    #[test]
    fn bce_with_logits_is_finite_at_large_logits_in_f32() {
        let tape = Tape::<f32>::new();
        let x = tape.var(Tensor::from_vec(vec![1e4, -1e4, 1e4, -1e4], &[4]).unwrap());
        let y = tape.constant(Tensor::from_vec(vec![1.0, 1.0, 0.0, 0.0], &[4]).unwrap());
        let l = bce_with_logits_with(x, y, Reduction::None);
        assert_eq!(l.value().to_vec(), vec![0.0, 1e4, 1e4, 0.0]);
        assert_eq!(l.sum().backward()[x].to_vec(), vec![0.0, -1.0, 1.0, 0.0]);
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    fn m(data: &[f64]) -> Tensor<f64> {
        Tensor::from_vec(data.to_vec(), &[2, data.len() / 2]).unwrap()
    }

    #[test]
    fn weighted_bce_multiplies_each_term_before_every_reduction() {
        let (p, y) = ([0.9, 0.2, 0.5, 0.7, 0.1, 0.4], [1.0, 0.0, 0.3, 1.0, 0.5, 0.0]);
        let w = [2.0, 0.5, -1.0]; // one per column, broadcast over the rows
        let each: Vec<f64> = by_hand(&p, &y).iter().enumerate().map(|(i, l)| w[i % 3] * l).collect();
        let tape = Tape::new();
        let (pv, yv) = (tape.var(m(&p)), tape.constant(m(&y)));
        let weight = Some(t(&w));
        for (reduction, want) in [
            (Reduction::None, each.clone()),
            (Reduction::Sum, vec![each.iter().sum()]),
            (Reduction::Mean, vec![each.iter().sum::<f64>() / 6.0]),
        ] {
            let opts = BceOptions { reduction, weight: weight.clone() };
            assert_close(&bce_weighted(pv, yv, &opts).value().to_vec(), &want);
        }
        let unweighted = bce_weighted(pv, yv, &BceOptions::default()).item();
        assert_close(&[unweighted], &[bce(pv, yv).item()]);
    }

    #[test]
    fn bce_with_logits_pos_weight_and_weight_follow_pytorchs_formula() {
        let (x, y) = ([2.0, -1.0, 0.0, 0.3, -4.0, 1.5], [1.0, 0.0, 0.3, 1.0, 0.5, 0.0]);
        let (pw, w) = ([3.0, 1.0, 0.5], [1.0, 2.0]);
        // -w · (p_w · t · ln σ(x) + (1 - t) · ln(1 - σ(x))), with pos_weight per column, weight per row.
        let each: Vec<f64> = (0..6)
            .map(|i| {
                let s = sigmoid(x[i]);
                -w[i / 3] * (pw[i % 3] * y[i] * s.ln() + (1.0 - y[i]) * (1.0 - s).ln())
            })
            .collect();
        let tape = Tape::new();
        let (xv, yv) = (tape.var(m(&x)), tape.constant(m(&y)));
        let mut opts = BceWithLogitsOptions {
            reduction: Reduction::None,
            weight: Some(Tensor::from_vec(w.to_vec(), &[2, 1]).unwrap()),
            pos_weight: Some(t(&pw)),
        };
        assert_close(&bce_with_logits_weighted(xv, yv, &opts).value().to_vec(), &each);
        opts.reduction = Reduction::Sum;
        assert_close(&[bce_with_logits_weighted(xv, yv, &opts).item()], &[each.iter().sum()]);
        opts.reduction = Reduction::Mean;
        assert_close(&[bce_with_logits_weighted(xv, yv, &opts).item()], &[each.iter().sum::<f64>() / 6.0]);
        // d/dx = w · ((1 - t) - (1 + (p_w - 1) t) σ(-x)), over n for the mean.
        let g = bce_with_logits_weighted(xv, yv, &opts).backward()[xv].to_vec();
        let want: Vec<f64> = (0..6)
            .map(|i| w[i / 3] * ((1.0 - y[i]) - (1.0 + (pw[i % 3] - 1.0) * y[i]) * sigmoid(-x[i])) / 6.0)
            .collect();
        assert_close(&g, &want);
        let plain = bce_with_logits_weighted(xv, yv, &BceWithLogitsOptions::default()).item();
        assert_close(&[plain], &[bce_with_logits(xv, yv).item()]);
    }

    #[test]
    fn bce_with_logits_pos_weight_is_finite_at_large_logits_in_f32() {
        let tape = Tape::<f32>::new();
        let x = tape.var(Tensor::from_vec(vec![1e4, -1e4, 1e4, -1e4], &[4]).unwrap());
        let y = tape.constant(Tensor::from_vec(vec![1.0, 1.0, 0.0, 0.0], &[4]).unwrap());
        let opts = BceWithLogitsOptions {
            reduction: Reduction::None,
            pos_weight: Some(Tensor::from_vec(vec![2.0], &[1]).unwrap()),
            ..BceWithLogitsOptions::default()
        };
        let l = bce_with_logits_weighted(x, y, &opts);
        assert_eq!(l.value().to_vec(), vec![0.0, 2e4, 1e4, 0.0]);
        assert_eq!(l.sum().backward()[x].to_vec(), vec![0.0, -2.0, 1.0, 0.0]);
    }

    #[test]
    fn weighted_binary_losses_match_finite_differences_to_second_order() {
        let (p, x, y) = (
            m(&[0.9, 0.2, 0.5, 0.7, 0.1, 0.4]),
            m(&[2.0, -1.0, 0.1, 0.3, -4.0, 1.5]),
            m(&[1.0, 0.0, 0.3, 1.0, 0.5, 0.0]),
        );
        let (w, pw) = (t(&[2.0, 0.5, 1.5]), t(&[3.0, 1.0, 0.5]));
        let opts = GradcheckOptions::default();
        for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            let b = BceOptions { reduction, weight: Some(w.clone()) };
            gradcheck(|v| bce_weighted(v[0], v[1], &b), &[p.clone(), y.clone()], &opts).unwrap();
            let l = BceWithLogitsOptions { reduction, weight: Some(w.clone()), pos_weight: Some(pw.clone()) };
            gradcheck(|v| bce_with_logits_weighted(v[0], v[1], &l), &[x.clone(), y.clone()], &opts).unwrap();
            gradgradcheck(|v| bce_with_logits_weighted(v[0], v[1], &l), &[x.clone(), y.clone()], &opts)
                .unwrap();
        }
        let b = BceOptions { reduction: Reduction::Mean, weight: Some(w) };
        gradgradcheck(|v| bce_weighted(v[0], v[1], &b), &[p, y], &opts).unwrap();
    }

    #[test]
    #[should_panic(
        expected = "bce_with_logits: pos_weight of shape [2] does not broadcast to the input's shape [2, 3]"
    )]
    fn bce_with_logits_rejects_a_pos_weight_of_the_wrong_size() {
        let tape = Tape::<f64>::new();
        let opts =
            BceWithLogitsOptions { pos_weight: Some(t(&[1.0, 2.0])), ..BceWithLogitsOptions::default() };
        bce_with_logits_weighted(
            tape.var(Tensor::zeros(&[2, 3])),
            tape.constant(Tensor::zeros(&[2, 3])),
            &opts,
        );
    }
}
