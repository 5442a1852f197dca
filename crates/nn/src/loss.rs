//! Losses as plain functions of Vars, following PyTorch's definitions. Each `name(pred, target)`
//! takes the mean; `name_with(..., reduction)` chooses the [`Reduction`].
//!
//! Pointwise, with d = pred - target: mse d² · l1 |d| · huber(δ) ½d² for |d| < δ, else δ(|d| - ½δ) ·
//! smooth_l1(β) ½d²/β for |d| < β, else |d| - ½β (huber / β; l1 at β = 0) · kl_div
//! target · (ln target - input), 0 where target = 0. The binary losses (`bce`, `bce_with_logits`)
//! and the class losses (`cross_entropy`, `nll`), the pair losses (`margin_ranking`,
//! `cosine_embedding`, `triplet_margin`) and the likelihoods (`poisson_nll`, `gaussian_nll`) live in
//! their own files and are re-exported here.
//!
//! ```
//! use wengert::nn::loss::{self, Reduction};
//! use wengert::tape::Tape;
//! use wengert::tensor::Tensor;
//! let tape = Tape::<f64>::new();
//! let pred = tape.var(Tensor::from_vec(vec![1.0, 2.0, 4.0], &[3]).unwrap());
//! let target = tape.constant(Tensor::from_vec(vec![1.0, 0.0, 1.0], &[3]).unwrap());
//! assert_eq!(loss::mse(pred, target).item(), (0.0 + 4.0 + 9.0) / 3.0);
//! assert_eq!(loss::l1_with(pred, target, Reduction::Sum).item(), 5.0);
//! assert_eq!(loss::mse_with(pred, target, Reduction::None).value().to_vec(), vec![0.0, 4.0, 9.0]);
//! ```

mod binary;
mod classes;
mod ctc;
mod likelihood;
mod pairs;

pub use binary::{
    BceOptions, BceWithLogitsOptions, bce, bce_weighted, bce_with, bce_with_logits, bce_with_logits_weighted,
    bce_with_logits_with,
};
pub use classes::{
    CrossEntropyOptions, cross_entropy, cross_entropy_with, nll, nll_with, sparse_cross_entropy,
};
pub use ctc::{CtcOptions, ctc};
pub use likelihood::{
    GaussianNllOptions, PoissonNllOptions, gaussian_nll, gaussian_nll_with, poisson_nll, poisson_nll_with,
};
pub use pairs::{TripletOptions, cosine_embedding, margin_ranking, triplet_margin, triplet_margin_with};

use wengert_tape::Var;
use wengert_tensor::{Float, Tensor};

/// How a loss combines its per-element values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The mean (the default, as PyTorch's).
    #[default]
    Mean,
    /// The sum.
    Sum,
    /// No reduction: one value per element (per sample for the class losses).
    None,
}

/// How [`kl_div_with`] combines its per-element values: as [`Reduction`], plus `BatchMean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KlReduction {
    /// The mean over all elements (PyTorch's default, which is not the KL divergence of a batch of
    /// distributions: it divides by their size too).
    #[default]
    Mean,
    /// The sum divided by the batch size (the first dimension): the mean KL divergence per sample.
    BatchMean,
    /// The sum.
    Sum,
    /// No reduction.
    None,
}

/// Applies `reduction` to pointwise losses.
pub(crate) fn reduce<'t, F: Float>(v: Var<'t, F>, reduction: Reduction) -> Var<'t, F> {
    match reduction {
        Reduction::Mean => v.mean(),
        Reduction::Sum => v.sum(),
        Reduction::None => v,
    }
}

/// Panics unless `pred` and `target` have the same shape (broadcasting them is almost always a bug:
/// `[N, 1]` against `[N]` would compare every prediction with every target).
#[track_caller]
pub(crate) fn check_same_shape<F: Float>(op: &str, pred: Var<'_, F>, target: Var<'_, F>) {
    let (p, t) = (pred.shape(), target.shape());
    if p != t {
        panic!("{op}: prediction of shape {p:?} and target of shape {t:?} differ");
    }
}

/// Mean squared error, `mean (pred - target)²`.
///
/// # Panics
///
/// When the shapes differ (as in every loss here: they do not broadcast).
#[track_caller]
pub fn mse<'t, F: Float>(pred: Var<'t, F>, target: Var<'t, F>) -> Var<'t, F> {
    mse_with(pred, target, Reduction::Mean)
}

/// Squared error `(pred - target)²`, reduced by `reduction`.
///
/// # Panics
///
/// When the shapes differ.
#[track_caller]
pub fn mse_with<'t, F: Float>(pred: Var<'t, F>, target: Var<'t, F>, reduction: Reduction) -> Var<'t, F> {
    check_same_shape("mse", pred, target);
    reduce((pred - target).square(), reduction)
}

/// Mean absolute error, `mean |pred - target|` (its gradient at 0 is 0).
///
/// # Panics
///
/// When the shapes differ.
#[track_caller]
pub fn l1<'t, F: Float>(pred: Var<'t, F>, target: Var<'t, F>) -> Var<'t, F> {
    l1_with(pred, target, Reduction::Mean)
}

/// Absolute error `|pred - target|`, reduced by `reduction`.
///
/// # Panics
///
/// When the shapes differ.
#[track_caller]
pub fn l1_with<'t, F: Float>(pred: Var<'t, F>, target: Var<'t, F>, reduction: Reduction) -> Var<'t, F> {
    check_same_shape("l1", pred, target);
    reduce((pred - target).abs(), reduction)
}

/// ½d² below `delta` in |d|, `delta · (|d| - ½delta)` above: quadratic, then linear with slope δ.
fn huber_pointwise<'t, F: Float>(d: Var<'t, F>, delta: f64) -> Var<'t, F> {
    let ad = d.abs();
    let inside = ad.value().lt_mask(&Tensor::scalar(F::from_f64(delta)));
    let quadratic = d.square().mul_scalar(F::from_f64(0.5));
    let linear = ad.sub_scalar(F::from_f64(0.5 * delta)).mul_scalar(F::from_f64(delta));
    Var::where_cond(&inside, quadratic, linear)
}

/// Mean Huber loss with threshold `delta` (PyTorch's `HuberLoss`, whose default `delta` is 1).
///
/// # Panics
///
/// When the shapes differ or `delta` is not positive.
#[track_caller]
pub fn huber<'t, F: Float>(pred: Var<'t, F>, target: Var<'t, F>, delta: f64) -> Var<'t, F> {
    huber_with(pred, target, delta, Reduction::Mean)
}

/// Huber loss: with d = pred - target, ½d² where |d| < `delta`, else `delta · (|d| - ½delta)`;
/// reduced by `reduction`.
///
/// # Panics
///
/// When the shapes differ or `delta` is not positive.
#[track_caller]
pub fn huber_with<'t, F: Float>(
    pred: Var<'t, F>,
    target: Var<'t, F>,
    delta: f64,
    reduction: Reduction,
) -> Var<'t, F> {
    check_same_shape("huber", pred, target);
    assert!(delta > 0.0, "huber: delta must be positive, got {delta}");
    reduce(huber_pointwise(pred - target, delta), reduction)
}

/// Mean smooth L1 loss with threshold `beta` (PyTorch's `SmoothL1Loss`, whose default `beta` is 1).
///
/// # Panics
///
/// When the shapes differ or `beta` is negative.
#[track_caller]
pub fn smooth_l1<'t, F: Float>(pred: Var<'t, F>, target: Var<'t, F>, beta: f64) -> Var<'t, F> {
    smooth_l1_with(pred, target, beta, Reduction::Mean)
}

/// Smooth L1 loss: with d = pred - target, ½d²/`beta` where |d| < `beta`, else |d| - ½`beta` (the
/// Huber loss divided by `beta`, so its linear part has slope 1; plain L1 at `beta` 0); reduced by
/// `reduction`.
///
/// # Panics
///
/// When the shapes differ or `beta` is negative.
#[track_caller]
pub fn smooth_l1_with<'t, F: Float>(
    pred: Var<'t, F>,
    target: Var<'t, F>,
    beta: f64,
    reduction: Reduction,
) -> Var<'t, F> {
    check_same_shape("smooth_l1", pred, target);
    assert!(beta >= 0.0, "smooth_l1: beta must not be negative, got {beta}");
    let d = pred - target;
    let pointwise =
        if beta == 0.0 { d.abs() } else { huber_pointwise(d, beta).mul_scalar(F::from_f64(1.0 / beta)) };
    reduce(pointwise, reduction)
}

/// Kullback-Leibler divergence of `target` from the distribution whose log-probabilities are
/// `log_input`, pointwise `target · (ln target - log_input)`, averaged over all elements (PyTorch's
/// `kl_div` default; [`KlReduction::BatchMean`] gives the true mean divergence per sample).
///
/// ```
/// use wengert::nn::loss::{KlReduction, kl_div_with};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let q = tape.var(Tensor::from_vec(vec![0.5, 0.5], &[1, 2]).unwrap().ln());
/// let p = tape.constant(Tensor::from_vec(vec![1.0, 0.0], &[1, 2]).unwrap());
/// assert!((kl_div_with(q, p, KlReduction::BatchMean).item() - 2f64.ln()).abs() < 1e-12);
/// ```
///
/// # Panics
///
/// When the shapes differ.
#[track_caller]
pub fn kl_div<'t, F: Float>(log_input: Var<'t, F>, target: Var<'t, F>) -> Var<'t, F> {
    kl_div_with(log_input, target, KlReduction::Mean)
}

/// Pointwise `target · (ln target - log_input)` (0 where `target` is 0, as PyTorch's `xlogy`),
/// reduced by `reduction`. `target` holds probabilities; it may be differentiated too.
///
/// # Panics
///
/// When the shapes differ.
#[track_caller]
pub fn kl_div_with<'t, F: Float>(
    log_input: Var<'t, F>,
    target: Var<'t, F>,
    reduction: KlReduction,
) -> Var<'t, F> {
    check_same_shape("kl_div", log_input, target);
    let positive = target.value().gt_mask(&Tensor::scalar(F::zero()));
    let safe = Var::where_cond(&positive, target, target.constant(Tensor::scalar(F::one())));
    let pointwise = target * (safe.ln() - log_input);
    match reduction {
        KlReduction::Mean => pointwise.mean(),
        KlReduction::BatchMean => {
            let n = log_input.shape().first().copied().unwrap_or(1);
            pointwise.sum().div_scalar(F::from_usize(n))
        }
        KlReduction::Sum => pointwise.sum(),
        KlReduction::None => pointwise,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use wengert_tape::Tape;
    use wengert_tape::check::{GradcheckOptions, gradcheck, strategy};

    const REDUCTIONS: [Reduction; 3] = [Reduction::Mean, Reduction::Sum, Reduction::None];
    const PRED: [f64; 6] = [1.1, -2.0, 0.5, 3.0, 0.3, -0.4];
    const TARGET: [f64; 6] = [0.0, 1.0, 0.7, -1.5, 0.3 - 1.2, 2.0];

    fn t(data: &[f64]) -> Tensor<f64> {
        Tensor::from_vec(data.to_vec(), &[2, data.len() / 2]).unwrap()
    }

    fn assert_close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{x} vs {y}");
        }
    }

    /// Checks `loss` under every reduction against the pointwise values `each`.
    fn check_reductions(
        loss: impl for<'t> Fn(Var<'t, f64>, Var<'t, f64>, Reduction) -> Var<'t, f64>,
        each: &[f64],
    ) {
        let tape = Tape::new();
        let (p, y) = (tape.var(t(&PRED)), tape.constant(t(&TARGET)));
        let none = loss(p, y, Reduction::None);
        assert_eq!(none.shape(), vec![2, 3]);
        assert_close(&none.value().to_vec(), each);
        assert_close(&[loss(p, y, Reduction::Sum).item()], &[each.iter().sum()]);
        assert_close(&[loss(p, y, Reduction::Mean).item()], &[each.iter().sum::<f64>() / 6.0]);
    }

    fn diffs() -> Vec<f64> {
        PRED.iter().zip(&TARGET).map(|(p, t)| p - t).collect()
    }

    fn huber_by_hand(d: f64, delta: f64) -> f64 {
        if d.abs() < delta { 0.5 * d * d } else { delta * (d.abs() - 0.5 * delta) }
    }

    #[test]
    fn mse_and_l1_match_their_formulas_for_every_reduction() {
        check_reductions(mse_with, &diffs().iter().map(|d| d * d).collect::<Vec<_>>());
        check_reductions(l1_with, &diffs().iter().map(|d| d.abs()).collect::<Vec<_>>());
        let tape = Tape::new();
        let (p, y) = (tape.var(t(&PRED)), tape.constant(t(&TARGET)));
        assert_eq!(mse(p, y).item(), mse_with(p, y, Reduction::Mean).item());
        assert_eq!(l1(p, y).item(), l1_with(p, y, Reduction::Mean).item());
    }

    #[test]
    fn huber_and_smooth_l1_follow_pytorch_and_differ_by_the_threshold() {
        // The differences 1.1, -3, -0.2, 4.5, 1.2, -2.4 lie on both sides of every threshold used.
        for delta in [1.0, 0.5, 2.0] {
            let each: Vec<f64> = diffs().iter().map(|&d| huber_by_hand(d, delta)).collect();
            check_reductions(|p, y, r| huber_with(p, y, delta, r), &each);
            let smooth: Vec<f64> = diffs()
                .iter()
                .map(|&d| if d.abs() < delta { 0.5 * d * d / delta } else { d.abs() - 0.5 * delta })
                .collect();
            check_reductions(|p, y, r| smooth_l1_with(p, y, delta, r), &smooth);
            assert_close(&smooth, &each.iter().map(|h| h / delta).collect::<Vec<_>>());
        }
        check_reductions(
            |p, y, r| smooth_l1_with(p, y, 0.0, r),
            &diffs().iter().map(|d| d.abs()).collect::<Vec<_>>(),
        );
        let tape = Tape::new();
        let (p, y) = (tape.var(t(&PRED)), tape.constant(t(&TARGET)));
        assert_eq!(huber(p, y, 1.0).item(), huber_with(p, y, 1.0, Reduction::Mean).item());
        assert_eq!(smooth_l1(p, y, 1.0).item(), huber(p, y, 1.0).item()); // equal at threshold 1
    }

    #[test]
    fn kl_div_matches_pytorch_for_every_reduction() {
        let log_q: Vec<f64> = [0.2, 0.5, 0.3, 0.6, 0.1, 0.3].iter().map(|q: &f64| q.ln()).collect();
        let p: [f64; 6] = [0.1, 0.9, 0.0, 0.5, 0.25, 0.25];
        let each: Vec<f64> =
            p.iter().zip(&log_q).map(|(&p, &lq)| if p == 0.0 { 0.0 } else { p * (p.ln() - lq) }).collect();
        let tape = Tape::new();
        let (x, y) = (tape.var(t(&log_q)), tape.constant(t(&p)));
        assert_close(&kl_div_with(x, y, KlReduction::None).value().to_vec(), &each);
        let sum: f64 = each.iter().sum();
        assert_close(&[kl_div_with(x, y, KlReduction::Sum).item()], &[sum]);
        assert_close(&[kl_div_with(x, y, KlReduction::BatchMean).item()], &[sum / 2.0]);
        assert_close(&[kl_div_with(x, y, KlReduction::Mean).item()], &[sum / 6.0]);
        assert_close(&[kl_div(x, y).item()], &[sum / 6.0]);
        let g = kl_div(x, y).backward();
        assert_close(&g[x].to_vec(), &p.iter().map(|p| -p / 6.0).collect::<Vec<_>>());
    }

    #[test]
    fn pointwise_loss_gradients_match_finite_differences() {
        let opts = GradcheckOptions::default();
        let inputs = [t(&PRED), t(&TARGET)];
        for r in REDUCTIONS {
            gradcheck(|v| mse_with(v[0], v[1], r), &inputs, &opts).unwrap();
            gradcheck(|v| l1_with(v[0], v[1], r), &inputs, &opts).unwrap();
            gradcheck(|v| huber_with(v[0], v[1], 1.0, r), &inputs, &opts).unwrap();
            gradcheck(|v| smooth_l1_with(v[0], v[1], 0.5, r), &inputs, &opts).unwrap();
            gradcheck(|v| smooth_l1_with(v[0], v[1], 0.0, r), &inputs, &opts).unwrap();
        }
        let log_q = t(&[-1.6, -0.7, -1.2, -0.5, -2.3, -1.2]);
        let p = t(&[0.1, 0.9, 0.05, 0.5, 0.25, 0.25]);
        for r in [KlReduction::Mean, KlReduction::BatchMean, KlReduction::Sum, KlReduction::None] {
            gradcheck(|v| kl_div_with(v[0], v[1], r), &[log_q.clone(), p.clone()], &opts).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn pointwise_loss_gradients_match_finite_differences_over_random_inputs(
            (pred, target) in strategy::shape(3, 4).prop_flat_map(|s| (strategy::tensor(&s, -3.0..3.0), strategy::tensor(&s, -3.0..3.0)))
        ) {
            let opts = GradcheckOptions::default();
            let inputs = [pred, target];
            gradcheck(|v| mse(v[0], v[1]), &inputs, &opts)?;
            gradcheck(|v| huber_with(v[0], v[1], 1.0, Reduction::Sum), &inputs, &opts)?;
            gradcheck(|v| smooth_l1_with(v[0], v[1], 0.5, Reduction::None), &inputs, &opts)?;
        }
    }

    #[test]
    #[should_panic(expected = "mse: prediction of shape [4, 1] and target of shape [4] differ")]
    fn losses_reject_targets_of_another_shape() {
        let tape = Tape::<f32>::new();
        mse(tape.var(Tensor::zeros(&[4, 1])), tape.constant(Tensor::zeros(&[4])));
    }

    #[test]
    #[should_panic(expected = "huber: delta must be positive, got 0")]
    fn huber_rejects_a_zero_delta() {
        let tape = Tape::<f32>::new();
        huber(tape.var(Tensor::zeros(&[2])), tape.constant(Tensor::zeros(&[2])), 0.0);
    }
}
