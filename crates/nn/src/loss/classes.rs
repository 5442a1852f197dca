//! Class losses on `[N, C]` scores and one class index per row: `cross_entropy` from logits (through
//! the stable, fused `log_softmax`) and `nll` from log-probabilities, with PyTorch's class weights,
//! ignored index and label smoothing.
//!
//! With ŷ = log-probabilities, w the class weights (1 without), ε the label smoothing and
//! m_n = [t_n ≠ ignore_index], the per-sample loss is
//! `l_n = -m_n ((1 - ε) w_{t_n} ŷ[n, t_n] + ε / C · Σ_c w_c ŷ[n, c])`; `Mean` divides Σ l_n by
//! Σ_n m_n w_{t_n} (the weighted number of samples), `Sum` returns Σ l_n, `None` the l_n (0 where
//! ignored). These are PyTorch's exact formulas.

use wengert_tape::Var;
use wengert_tensor::ndarray::{ArrayD, IxDyn};
use wengert_tensor::{Float, Tensor};

use super::Reduction;

/// Options of [`cross_entropy_with`] and [`nll_with`]; the default is PyTorch's: mean, no smoothing,
/// no weights, no ignored index.
///
/// With ŷ the log-probabilities, w the class weights (1 without), ε the label smoothing, C the
/// number of classes and m_n = [t_n ≠ ignore_index], the loss of sample n is
/// `l_n = -m_n ((1 - ε) w_{t_n} ŷ[n, t_n] + ε / C · Σ_c w_c ŷ[n, c])`; `Mean` divides Σ l_n by
/// Σ_n m_n w_{t_n} (the weighted number of samples counted), `Sum` returns Σ l_n and `None` every
/// l_n (0 where ignored). These are PyTorch's formulas.
///
/// ```
/// use wengert::nn::loss::{CrossEntropyOptions, Reduction};
/// use wengert::tensor::Tensor;
/// let opts = CrossEntropyOptions::<f32> {
///     label_smoothing: 0.1,
///     weight: Some(Tensor::from_vec(vec![1.0, 2.0, 1.0], &[3]).unwrap()),
///     ..CrossEntropyOptions::default()
/// };
/// assert_eq!(opts.reduction, Reduction::Mean);
/// ```
#[derive(Debug, Clone)]
pub struct CrossEntropyOptions<F: Float = f32> {
    /// How the per-sample losses are combined.
    pub reduction: Reduction,
    /// ε in `[0, 1]`: the target becomes `(1 - ε) · one_hot + ε / C`.
    pub label_smoothing: f64,
    /// A weight per class, `[C]`; a weighted mean divides by the sum of the targets' weights.
    pub weight: Option<Tensor<F>>,
    /// Samples whose target is this index contribute nothing (and do not count in the mean); it
    /// need not be a valid class.
    pub ignore_index: Option<usize>,
}

impl<F: Float> Default for CrossEntropyOptions<F> {
    fn default() -> Self {
        CrossEntropyOptions {
            reduction: Reduction::Mean,
            label_smoothing: 0.0,
            weight: None,
            ignore_index: None,
        }
    }
}

/// Mean cross-entropy of `logits` `[N, C]` against class indices `targets` (one per row), as
/// PyTorch's `cross_entropy`: `-log_softmax(logits)[n, t_n]` averaged. Stable for any finite logits.
///
/// ```
/// use wengert::nn::loss::cross_entropy;
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::from_vec(vec![1000.0, -1000.0], &[1, 2]).unwrap());
/// let l = cross_entropy(x, &[1]);
/// assert_eq!(l.item(), 2000.0);
/// assert_eq!(l.backward()[x].to_vec(), vec![1.0, -1.0]);
/// ```
///
/// # Panics
///
/// When `logits` is not 2-D, `targets` does not hold one index per row, a target (other than the
/// ignored index) is not below `C`, the weight is not of shape `[C]`, or the smoothing is outside
/// `[0, 1]`.
#[track_caller]
pub fn cross_entropy<'t, F: Float>(logits: Var<'t, F>, targets: &[usize]) -> Var<'t, F> {
    cross_entropy_with(logits, targets, &CrossEntropyOptions::default())
}

/// Cross-entropy of `logits` `[N, C]` against class indices, with class weights, an ignored index
/// and label smoothing (the formulas of [`CrossEntropyOptions`]): [`nll_with`] of `log_softmax(logits, 1)`.
///
/// # Panics
///
/// As [`cross_entropy`].
#[track_caller]
pub fn cross_entropy_with<'t, F: Float>(
    logits: Var<'t, F>,
    targets: &[usize],
    opts: &CrossEntropyOptions<F>,
) -> Var<'t, F> {
    let c = check("cross_entropy", logits, targets, opts);
    let plain = opts.reduction == Reduction::Mean
        && opts.label_smoothing == 0.0
        && opts.weight.is_none()
        && opts.ignore_index.is_none();
    if plain && !targets.is_empty() {
        // PyTorch's default: one fused op, whose rule is softmax minus the one-hot targets.
        return logits.softmax_cross_entropy(targets);
    }
    picked_loss(logits.log_softmax(1), c, targets, opts)
}

/// Mean negative log-likelihood of log-probabilities `log_probs` `[N, C]` at class indices `targets`:
/// `-log_probs[n, t_n]` averaged (PyTorch's `nll_loss`).
///
/// # Panics
///
/// As [`cross_entropy`].
#[track_caller]
pub fn nll<'t, F: Float>(log_probs: Var<'t, F>, targets: &[usize]) -> Var<'t, F> {
    nll_with(log_probs, targets, &CrossEntropyOptions::default())
}

/// Negative log-likelihood with class weights, an ignored index and, beyond PyTorch's `nll_loss`,
/// label smoothing (the formulas of [`CrossEntropyOptions`], with ŷ = `log_probs`).
///
/// # Panics
///
/// As [`cross_entropy`].
#[track_caller]
pub fn nll_with<'t, F: Float>(
    log_probs: Var<'t, F>,
    targets: &[usize],
    opts: &CrossEntropyOptions<F>,
) -> Var<'t, F> {
    let c = check("nll", log_probs, targets, opts);
    picked_loss(log_probs, c, targets, opts)
}

/// Validates the inputs of a class loss and returns the number of classes.
#[track_caller]
fn check<F: Float>(op: &str, scores: Var<'_, F>, targets: &[usize], opts: &CrossEntropyOptions<F>) -> usize {
    let shape = scores.shape();
    if shape.len() != 2 {
        panic!("{op}: scores of shape {shape:?} are not [N, C]");
    }
    let (n, c) = (shape[0], shape[1]);
    if targets.len() != n {
        panic!("{op}: {} targets for scores of shape {shape:?}", targets.len());
    }
    let bad = targets.iter().enumerate().find(|&(_, &t)| t >= c && Some(t) != opts.ignore_index);
    if let Some((at, t)) = bad {
        panic!("{op}: target {t} at position {at} is out of range for {c} classes");
    }
    if let Some(w) = &opts.weight
        && w.shape() != [c]
    {
        panic!("{op}: class weight of shape {:?} is not [{c}]", w.shape());
    }
    let eps = opts.label_smoothing;
    if !(0.0..=1.0).contains(&eps) {
        panic!("{op}: label_smoothing must lie in [0, 1], got {eps}");
    }
    c
}

/// The loss of log-probabilities `lp` `[N, C]`: the target column picked by `gather` (so a -inf
/// elsewhere in the row does no harm), the smoothing term only when ε > 0.
fn picked_loss<'t, F: Float>(
    lp: Var<'t, F>,
    c: usize,
    targets: &[usize],
    opts: &CrossEntropyOptions<F>,
) -> Var<'t, F> {
    let n = targets.len();
    let kept: Vec<bool> = targets.iter().map(|&t| Some(t) != opts.ignore_index).collect();
    let class_w: Option<Vec<f64>> =
        opts.weight.as_ref().map(|w| w.to_vec().into_iter().map(Float::to_f64).collect());
    let w = |t: usize| class_w.as_ref().map_or(1.0, |w| w[t]);
    let eps = opts.label_smoothing;
    let index: Vec<usize> = targets.iter().zip(&kept).map(|(&t, &k)| if k { t } else { 0 }).collect();
    let index = ArrayD::from_shape_vec(IxDyn(&[n, 1]), index).expect("one index per row");
    let mut per = lp.gather(1, &index).reshape(&[n]);
    if class_w.is_some() || eps > 0.0 {
        let coef: Vec<F> = targets
            .iter()
            .zip(&kept)
            .map(|(&t, &k)| F::from_f64(if k { (1.0 - eps) * w(t) } else { 0.0 }))
            .collect();
        per = per * &Tensor::from_vec(coef, &[n]).expect("one coefficient per row");
    }
    if eps > 0.0 {
        let smooth = match &opts.weight {
            Some(wt) => (lp * wt).sum_axes(&[1], false),
            None => lp.sum_axes(&[1], false),
        };
        per = per + smooth.mul_scalar(F::from_f64(eps / c as f64));
    }
    if kept.iter().any(|&k| !k) {
        let mask: Vec<F> = kept.iter().map(|&k| if k { F::one() } else { F::zero() }).collect();
        let mask = Tensor::from_vec(mask, &[n]).expect("one mask entry per row");
        per = Var::where_cond(&mask, per, lp.constant(Tensor::scalar(F::zero())));
    }
    match opts.reduction {
        Reduction::Mean => {
            let denom: f64 = targets.iter().zip(&kept).filter(|(_, k)| **k).map(|(&t, _)| w(t)).sum();
            per.sum().mul_scalar(F::from_f64(-1.0 / denom))
        }
        Reduction::Sum => -per.sum(),
        Reduction::None => -per,
    }
}

/// Cross-entropy from logits with the class indices held as a Var of whole numbers, one per row —
/// Keras' `sparse_categorical_crossentropy`, in the `loss(prediction, target)` form `fit` takes.
///
/// # Panics
///
/// As [`cross_entropy`], and when a target is not a whole number.
#[track_caller]
pub fn sparse_cross_entropy<'t, F: Float>(logits: Var<'t, F>, targets: Var<'t, F>) -> Var<'t, F> {
    let values = targets.value().to_vec();
    let classes: Vec<usize> = values
        .iter()
        .map(|&v| {
            let c = Float::to_f64(v);
            assert!(c >= 0.0 && c.fract() == 0.0, "sparse_cross_entropy: target {c} is not a class index");
            c as usize
        })
        .collect();
    cross_entropy(logits, &classes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use wengert_tape::Tape;
    use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck, strategy};

    const LOGITS: [f64; 12] = [1.0, 2.0, 3.0, 0.5, -1.0, 0.0, 2.5, 0.3, 0.2, 0.2, 0.2, -4.0];
    const TARGETS: [usize; 3] = [2, 0, 1];

    fn logits() -> Tensor<f64> {
        Tensor::from_vec(LOGITS.to_vec(), &[3, 4]).unwrap()
    }

    /// Row-wise log-softmax of `LOGITS` by hand.
    fn log_probs() -> Vec<Vec<f64>> {
        LOGITS
            .chunks(4)
            .map(|row| {
                let lse = row.iter().map(|x| x.exp()).sum::<f64>().ln();
                row.iter().map(|x| x - lse).collect()
            })
            .collect()
    }

    /// PyTorch's formula: per-sample losses and the mean's denominator.
    fn by_hand(w: &[f64], eps: f64, ignore: Option<usize>) -> (Vec<f64>, f64) {
        let lp = log_probs();
        let c = 4.0;
        let mut denom = 0.0;
        let each = TARGETS
            .iter()
            .zip(&lp)
            .map(|(&t, row)| {
                if Some(t) == ignore {
                    return 0.0;
                }
                denom += w[t];
                let smooth: f64 = row.iter().zip(w).map(|(l, w)| -w * l).sum();
                (1.0 - eps) * -w[t] * row[t] + eps / c * smooth
            })
            .collect();
        (each, denom)
    }

    fn assert_close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }

    fn opts(
        reduction: Reduction,
        eps: f64,
        weight: Option<&[f64]>,
        ignore: Option<usize>,
    ) -> CrossEntropyOptions<f64> {
        CrossEntropyOptions {
            reduction,
            label_smoothing: eps,
            weight: weight.map(|w| Tensor::from_vec(w.to_vec(), &[4]).unwrap()),
            ignore_index: ignore,
        }
    }

    const WEIGHT: [f64; 4] = [0.5, 2.0, 1.0, 3.0];

    #[test]
    fn cross_entropy_matches_pytorch_for_every_option_and_reduction() {
        let tape = Tape::new();
        let x = tape.var(logits());
        for weight in [None, Some(&WEIGHT[..])] {
            for eps in [0.0, 0.1, 1.0] {
                for ignore in [None, Some(0), Some(7)] {
                    let w = weight.unwrap_or(&[1.0; 4]);
                    let (each, denom) = by_hand(w, eps, ignore);
                    let run = |r| cross_entropy_with(x, &TARGETS, &opts(r, eps, weight, ignore));
                    assert_close(&run(Reduction::None).value().to_vec(), &each);
                    assert_close(&[run(Reduction::Sum).item()], &[each.iter().sum()]);
                    assert_close(&[run(Reduction::Mean).item()], &[each.iter().sum::<f64>() / denom]);
                }
            }
        }
        // The default: the plain mean of -log_softmax at the targets; 2.4076 for [1, 2, 3] at class 0.
        let lp = log_probs();
        let plain = -(lp[0][2] + lp[1][0] + lp[2][1]) / 3.0;
        assert_close(&[cross_entropy(x, &TARGETS).item()], &[plain]);
        let one = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3]).unwrap());
        assert!((cross_entropy(one, &[0]).item() - 2.4076059644443806).abs() < 1e-12);
    }

    #[test]
    fn a_weighted_mean_divides_by_the_targets_weights() {
        let tape = Tape::new();
        let x = tape.var(logits());
        let lp = log_probs();
        let expected = -(1.0 * lp[0][2] + 0.5 * lp[1][0] + 2.0 * lp[2][1]) / (1.0 + 0.5 + 2.0);
        let got = cross_entropy_with(x, &TARGETS, &opts(Reduction::Mean, 0.0, Some(&WEIGHT), None)).item();
        assert_close(&[got], &[expected]);
    }

    #[test]
    fn nll_picks_the_negated_target_entries() {
        let tape = Tape::new();
        let lp = tape.var(Tensor::from_vec(vec![-0.1, -2.0, -3.0, -0.5, -1.5, -0.25], &[2, 3]).unwrap());
        assert_close(&[nll(lp, &[1, 2]).item()], &[(2.0 + 0.25) / 2.0]);
        let none =
            nll_with(lp, &[1, 2], &CrossEntropyOptions { reduction: Reduction::None, ..Default::default() });
        assert_eq!(none.value().to_vec(), vec![2.0, 0.25]);
        let g = nll(lp, &[1, 2]).backward();
        assert_eq!(g[lp].to_vec(), vec![0.0, -0.5, 0.0, 0.0, 0.0, -0.5]);
        // An ignored target need not be a class (PyTorch's -100 idiom).
        let o = CrossEntropyOptions { ignore_index: Some(99), ..Default::default() };
        assert_eq!(nll_with(lp, &[99, 2], &o).item(), 0.25);
        // cross_entropy is nll of log_softmax.
        let x = tape.var(logits());
        let o = opts(Reduction::Mean, 0.2, Some(&WEIGHT), Some(1));
        assert_close(
            &[cross_entropy_with(x, &TARGETS, &o).item()],
            &[nll_with(x.log_softmax(1), &TARGETS, &o).item()],
        );
    }

    #[test]
    fn plain_cross_entropy_is_fused_and_agrees_with_log_softmax_and_nll() {
        let tape = Tape::<f64>::new();
        let x = tape.var(logits());
        let fused = cross_entropy(x, &TARGETS);
        let general = nll(x.log_softmax(1), &TARGETS);
        assert!((fused.item() - general.item()).abs() < 1e-12);
        let (gf, gg) = (fused.backward()[x].to_vec(), general.backward()[x].to_vec());
        assert!(gf.iter().zip(&gg).all(|(a, b)| (a - b).abs() < 1e-12), "{gf:?} vs {gg:?}");
        assert!(tape.summary().to_string().contains("softmax_cross_entropy"));
    }

    #[test]
    fn cross_entropy_of_extreme_logits_is_exact_and_its_gradient_finite() {
        let tape = Tape::<f64>::new();
        let x = tape.var(Tensor::from_vec(vec![1000.0, -1000.0], &[1, 2]).unwrap());
        let l = cross_entropy(x, &[1]);
        assert_eq!(l.item(), 2000.0);
        assert_eq!(l.backward()[x].to_vec(), vec![1.0, -1.0]);
        let tape = Tape::<f32>::new();
        let x = tape.var(Tensor::from_vec(vec![1e4, -1e4, -1e4, 1e4, 0.0, 1e4], &[3, 2]).unwrap());
        let o = CrossEntropyOptions { label_smoothing: 0.1, ..Default::default() };
        for l in [cross_entropy(x, &[1, 1, 0]), cross_entropy_with(x, &[1, 1, 0], &o)] {
            assert!(l.item().is_finite());
            assert!(l.backward()[x].to_vec().iter().all(|g| g.is_finite()));
        }
        assert_eq!(cross_entropy(x, &[1, 1, 0]).item(), (2e4 + 0.0 + 1e4) / 3.0);
        // A -inf logit away from the target (a masked class) is harmless without smoothing.
        let x = tape.var(Tensor::from_vec(vec![f32::NEG_INFINITY, 0.0, 0.0], &[1, 3]).unwrap());
        let l = cross_entropy(x, &[1]);
        assert!((l.item() - 2f32.ln()).abs() < 1e-6);
        assert_eq!(l.backward()[x].to_vec(), vec![0.0, -0.5, 0.5]);
    }

    #[test]
    fn class_loss_gradients_match_finite_differences() {
        let gopts = GradcheckOptions::default();
        for r in [Reduction::Mean, Reduction::Sum, Reduction::None] {
            for (eps, weight, ignore) in [
                (0.0, None, None),
                (0.15, None, None),
                (0.0, Some(&WEIGHT[..]), Some(1)),
                (0.3, Some(&WEIGHT[..]), Some(0)),
            ] {
                let o = opts(r, eps, weight, ignore);
                gradcheck(|v| cross_entropy_with(v[0], &TARGETS, &o), &[logits()], &gopts).unwrap();
                gradcheck(|v| nll_with(v[0], &TARGETS, &o), &[logits()], &gopts).unwrap();
            }
        }
    }

    #[test]
    fn cross_entropy_second_derivatives_match_finite_differences() {
        let o = opts(Reduction::Mean, 0.1, Some(&WEIGHT), Some(1));
        gradgradcheck(|v| cross_entropy_with(v[0], &TARGETS, &o), &[logits()], &GradcheckOptions::default())
            .unwrap();
    }

    fn logits_and_targets() -> impl Strategy<Value = (Tensor<f64>, Vec<usize>)> {
        (1usize..5, 2usize..6).prop_flat_map(|(n, c)| {
            (strategy::tensor(&[n, c], -5.0..5.0), proptest::collection::vec(0..c, n))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn cross_entropy_gradients_match_finite_differences_over_random_logits(
            (x, targets) in logits_and_targets(),
            eps in 0.0..0.5f64,
        ) {
            let o = CrossEntropyOptions { label_smoothing: eps, ..Default::default() };
            gradcheck(|v| cross_entropy_with(v[0], &targets, &o), &[x], &GradcheckOptions::default())?;
        }
    }

    #[test]
    #[should_panic(expected = "cross_entropy: target 4 at position 1 is out of range for 4 classes")]
    fn cross_entropy_rejects_a_target_out_of_range() {
        let tape = Tape::<f64>::new();
        cross_entropy(tape.var(logits()), &[0, 4, 1]);
    }

    #[test]
    #[should_panic(expected = "cross_entropy: class weight of shape [3] is not [4]")]
    fn cross_entropy_rejects_a_weight_of_the_wrong_size() {
        let tape = Tape::<f64>::new();
        let o = CrossEntropyOptions { weight: Some(Tensor::ones(&[3])), ..Default::default() };
        cross_entropy_with(tape.var(logits()), &TARGETS, &o);
    }

    #[test]
    #[should_panic(expected = "nll: 2 targets for scores of shape [3, 4]")]
    fn nll_rejects_a_wrong_number_of_targets() {
        let tape = Tape::<f64>::new();
        nll(tape.var(logits()), &[0, 1]);
    }

    #[test]
    #[should_panic(expected = "cross_entropy: scores of shape [4] are not [N, C]")]
    fn cross_entropy_rejects_one_dimensional_scores() {
        let tape = Tape::<f64>::new();
        cross_entropy(tape.var(Tensor::zeros(&[4])), &[0]);
    }
}
