//! Binary cross-entropy, from probabilities and from logits.
//!
//! bce: -(t · ln p + (1 - t) · ln(1 - p)), each log clamped to ≥ -100 as PyTorch does, so p = 0 or 1
//! gives a finite loss, with PyTorch's gradient (p - t) / max(p (1 - p), 1e-12) in p (large, never 0,
//! where a log is clamped) and ln(1 - p) - ln p, each clamped, in t ·
//! bce_with_logits: softplus(x) - x · t = max(x, 0) - x · t + ln(1 + e^-|x|), stable for any logit,
//! with gradient sigmoid(x) - t.

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
/// use wengert_nn::loss::bce;
/// use wengert_tape::Tape;
/// use wengert_tensor::Tensor;
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
/// use wengert_nn::loss::bce_with_logits;
/// use wengert_tape::Tape;
/// use wengert_tensor::Tensor;
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
}
