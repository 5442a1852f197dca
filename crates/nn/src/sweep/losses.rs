//! The sweep of every loss over drawn sizes, reductions and options (see the parent module).

use proptest::prelude::*;
use wengert_tape::check::strategy;
use wengert_tensor::Tensor;

use super::{Case, Layout, case, first_order, layout, reduction, stored, sweep, view, view_t};
use crate::loss::{
    BceOptions, BceWithLogitsOptions, CrossEntropyOptions, CtcOptions, GaussianNllOptions, KlReduction,
    PoissonNllOptions, Reduction, TripletOptions, bce_weighted, bce_with, bce_with_logits_weighted,
    bce_with_logits_with, cosine_embedding, cross_entropy_with, ctc, gaussian_nll_with, huber_with,
    kl_div_with, l1_with, margin_ranking, mse_with, nll_with, poisson_nll_with, smooth_l1_with,
    triplet_margin_with,
};

/// Batch, width, layout and reduction of a loss over `[n, c]` inputs.
fn dims() -> impl Strategy<Value = (usize, usize, Layout, Reduction)> {
    (1usize..=3, 1usize..=4, layout(), reduction())
}

/// mse, l1, huber (δ = 1) and smooth_l1 (β = 0.5): the target is the prediction minus a difference
/// drawn away from each one's kinks (0, ±0.5, ±1).
fn regression() -> impl Strategy<Value = Vec<Case>> {
    dims()
        .prop_flat_map(|(n, c, lay, red)| {
            let kinks = &[-1.0, -0.5, 0.0, 0.5, 1.0];
            (
                stored(&[n, c], lay, -2.0..2.0),
                strategy::away_from_kinks(&[n, c], -2.0..2.0, kinks, 0.05),
                Just((lay, red)),
            )
        })
        .prop_map(|(p, d, (lay, red))| {
            let inputs = [p.clone(), &view_t(&p, lay) - &d];
            vec![
                case(format!("mse, {lay:?}, {red:?}"), &inputs, move |v| {
                    mse_with(view(v[0], lay), v[1], red)
                }),
                case(format!("l1, {lay:?}, {red:?}"), &inputs, move |v| l1_with(view(v[0], lay), v[1], red)),
                case(format!("huber, {lay:?}, {red:?}"), &inputs, move |v| {
                    huber_with(view(v[0], lay), v[1], 1.0, red)
                }),
                case(format!("smooth_l1, {lay:?}, {red:?}"), &inputs, move |v| {
                    smooth_l1_with(view(v[0], lay), v[1], 0.5, red)
                }),
            ]
        })
}

/// bce and bce_with_logits, plain and with a per-element weight and (for logits) a per-class
/// `pos_weight`; soft targets in [0, 1] are differentiated too.
fn binary() -> impl Strategy<Value = Vec<Case>> {
    dims()
        .prop_flat_map(|(n, c, lay, red)| {
            (
                stored(&[n, c], lay, 0.05..0.95),
                stored(&[n, c], lay, -3.0..3.0),
                strategy::tensor(&[n, c], 0.0..1.0),
                strategy::positive(&[n, c], 0.5, 2.0),
                strategy::positive(&[c], 0.5, 2.0),
                Just((lay, red)),
            )
        })
        .prop_map(|(probs, logits, target, weight, pos_weight, (lay, red))| {
            let bce_opts = BceOptions { reduction: red, weight: Some(weight.clone()) };
            let logit_opts =
                BceWithLogitsOptions { reduction: red, weight: Some(weight), pos_weight: Some(pos_weight) };
            let (p, l) = ([probs, target.clone()], [logits, target]);
            vec![
                case(format!("bce, {lay:?}, {red:?}"), &p, move |v| bce_with(view(v[0], lay), v[1], red)),
                case(format!("bce_weighted, {lay:?}, {red:?}"), &p, move |v| {
                    bce_weighted(view(v[0], lay), v[1], &bce_opts)
                }),
                case(format!("bce_with_logits, {lay:?}, {red:?}"), &l, move |v| {
                    bce_with_logits_with(view(v[0], lay), v[1], red)
                }),
                case(format!("bce_with_logits_weighted with pos_weight, {lay:?}, {red:?}"), &l, move |v| {
                    bce_with_logits_weighted(view(v[0], lay), v[1], &logit_opts)
                }),
            ]
        })
}

/// The options of a class loss: label smoothing, class weights and an ignored class, each drawn.
fn class_options(c: usize) -> impl Strategy<Value = (f64, Option<Tensor<f64>>, bool)> {
    (
        prop_oneof![Just(0.0), Just(0.1), Just(0.3)],
        proptest::option::of(strategy::positive(&[c], 0.5, 2.0)),
        any::<bool>(),
    )
}

/// cross_entropy and nll with every option; an ignored class is the last sample's, and the first
/// sample's class is another, so that some sample always counts.
fn classes() -> impl Strategy<Value = Vec<Case>> {
    dims()
        .prop_flat_map(|(n, c, lay, red)| {
            (
                stored(&[n, c], lay, -2.0..2.0),
                proptest::collection::vec(0..c, n),
                class_options(c),
                Just((lay, red)),
            )
        })
        .prop_map(|(x, mut targets, (smoothing, weight, ignore), (lay, red))| {
            let (n, c) = (targets.len(), view_t(&x, lay).shape()[1]);
            let ignore_index = (ignore && n >= 2 && c >= 2).then(|| targets[n - 1]);
            if let Some(i) = ignore_index {
                targets[0] = (i + 1) % c;
            }
            let opts =
                CrossEntropyOptions { reduction: red, label_smoothing: smoothing, weight, ignore_index };
            let nll_opts = CrossEntropyOptions { label_smoothing: 0.0, ..opts.clone() };
            let what = format!(
                "{lay:?}, {red:?}, smoothing {smoothing}, weighted {}, ignore {ignore_index:?}",
                opts.weight.is_some()
            );
            let t2 = targets.clone();
            vec![
                case(format!("cross_entropy, {what}"), std::slice::from_ref(&x), move |v| {
                    cross_entropy_with(view(v[0], lay), &targets, &opts)
                }),
                case(format!("nll, {what}"), std::slice::from_ref(&x), move |v| {
                    nll_with(view(v[0], lay), &t2, &nll_opts)
                }),
            ]
        })
}

fn kl_reduction() -> impl Strategy<Value = KlReduction> {
    prop_oneof![
        Just(KlReduction::Mean),
        Just(KlReduction::BatchMean),
        Just(KlReduction::Sum),
        Just(KlReduction::None)
    ]
}

/// kl_div (both arguments differentiated; targets positive), poisson_nll with each of `log_input` and
/// `full` (targets away from 1, where `full`'s Stirling term starts) and gaussian_nll with a variance
/// per element or shared along the last axis.
fn likelihood() -> impl Strategy<Value = Vec<Case>> {
    (dims(), kl_reduction(), any::<bool>(), any::<bool>(), any::<bool>())
        .prop_flat_map(|((n, c, lay, red), kl, log_input, full, shared)| {
            (
                stored(&[n, c], lay, -2.0..2.0),
                strategy::positive(&[n, c], 0.1, 1.0),
                stored(&[n, c], lay, 0.2..2.0),
                strategy::away_from_kinks(&[n, c], 0.1..3.0, &[1.0], 0.05),
                strategy::positive(&[n, if shared { 1 } else { c }], 0.2, 2.0),
                Just((lay, red, kl, log_input, full)),
            )
        })
        .prop_map(|(x, target, positive, counts, var, (lay, red, kl, log_input, full))| {
            let rate = if log_input { x.clone() } else { positive };
            let poisson =
                PoissonNllOptions { log_input, full, reduction: red, ..PoissonNllOptions::default() };
            let gaussian = GaussianNllOptions { full, reduction: red, ..GaussianNllOptions::default() };
            vec![
                case(format!("kl_div, {lay:?}, {kl:?}"), &[x.clone(), target.clone()], move |v| {
                    kl_div_with(view(v[0], lay), v[1], kl)
                }),
                case(
                    format!("poisson_nll, {lay:?}, {red:?}, log_input {log_input}, full {full}"),
                    &[rate, counts],
                    move |v| poisson_nll_with(view(v[0], lay), v[1], &poisson),
                ),
                case(
                    format!("gaussian_nll, {lay:?}, {red:?}, full {full}, var {:?}", var.shape()),
                    &[x, target, var],
                    move |v| gaussian_nll_with(view(v[0], lay), v[1], v[2], &gaussian),
                ),
            ]
        })
}

#[test]
fn regression_losses_match_finite_differences_to_second_order() {
    sweep(regression());
}

#[test]
fn binary_losses_match_finite_differences_to_second_order() {
    sweep(binary());
}

#[test]
fn class_losses_match_finite_differences_to_second_order() {
    sweep(classes());
}

#[test]
fn likelihood_losses_match_finite_differences_to_second_order() {
    sweep(likelihood());
}

/// `(Σ |x - y + eps|^p)^(1/p)` of two rows, PyTorch's `pairwise_distance`.
fn distance(x: &[f64], y: &[f64], p: f64, eps: f64) -> f64 {
    x.iter().zip(y).map(|(a, b)| (a - b + eps).abs().powf(p)).sum::<f64>().powf(1.0 / p)
}

/// The cosine of two rows.
fn cosine(x: &[f64], y: &[f64]) -> f64 {
    let dot: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    dot / (norm(x) * norm(y))
}

/// The rows of a logical `[n, d]` tensor.
fn rows(t: &Tensor<f64>) -> Vec<Vec<f64>> {
    let d = t.shape()[1];
    t.to_vec().chunks(d).map(<[f64]>::to_vec).collect()
}

/// margin_ranking (margin 0.3; `a - b` away from ±0.3), cosine_embedding (margin 0.1; rows of
/// dissimilar pairs with cosine away from it, every row away from zero) and triplet_margin_with
/// (p of 2 or 3, swap or not; distances and the hinge away from their kinks).
fn pairs() -> impl Strategy<Value = Vec<Case>> {
    (1usize..=3, 2usize..=4, layout(), reduction(), prop_oneof![Just(2.0), Just(3.0)], any::<bool>())
        .prop_flat_map(|(n, d, lay, red, p, swap)| {
            (
                stored(&[n, d], lay, -2.0..2.0),
                strategy::away_from_kinks(&[n, d], -2.0..2.0, &[-0.3, 0.3], 0.05),
                proptest::collection::vec(prop_oneof![Just(-1.0), Just(1.0)], n * d),
                strategy::tensor(&[n, d], -2.0..2.0),
                strategy::tensor(&[n, d], -2.0..2.0),
                Just((lay, red, p, swap)),
            )
        })
        .prop_filter("rows near a kink", |(a, _, signs, b, c, (lay, _, p, swap))| {
            let (a, b, c) = (rows(&view_t(a, *lay)), rows(b), rows(c));
            let d = b[0].len();
            let ok_row = |i: usize| {
                let far = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>().sqrt() > 0.3;
                let (dp, dn, ds) = (
                    distance(&a[i], &b[i], *p, 1e-6),
                    distance(&a[i], &c[i], *p, 1e-6),
                    distance(&b[i], &c[i], *p, 1e-6),
                );
                let dn_eff = if *swap { dn.min(ds) } else { dn };
                let cos_ok = signs[i * d] > 0.0 || (cosine(&a[i], &b[i]) - 0.1).abs() > 0.05;
                far(&a[i])
                    && far(&b[i])
                    && cos_ok
                    && dp.min(dn).min(ds) > 0.2
                    && (dp - dn_eff + 1.0).abs() > 0.05
                    && (!*swap || (dn - ds).abs() > 0.05)
            };
            (0..a.len()).all(ok_row)
        })
        .prop_map(|(a, diff, signs, b, c, (lay, red, p, swap))| {
            let (n, d) = (b.shape()[0], b.shape()[1]);
            let y = Tensor::from_vec(signs.clone(), &[n, d]).unwrap();
            let y_rows = Tensor::from_vec((0..n).map(|i| signs[i * d]).collect(), &[n]).unwrap();
            // b = a - diff·y, so that the hinge -y(a - b) + 0.3 = 0.3 - diff is away from 0.
            let ranked = [a.clone(), &view_t(&a, lay) - &(&diff * &y)];
            let triplet =
                TripletOptions { margin: 1.0, p, swap, reduction: red, ..TripletOptions::default() };
            vec![
                case(format!("margin_ranking, {lay:?}, {red:?}"), &ranked, move |v| {
                    margin_ranking(view(v[0], lay), v[1], v[0].constant(y.clone()), 0.3, red)
                }),
                case(format!("cosine_embedding, {lay:?}, {red:?}"), &[a.clone(), b.clone()], move |v| {
                    cosine_embedding(view(v[0], lay), v[1], v[0].constant(y_rows.clone()), 0.1, red)
                }),
                case(
                    format!("triplet_margin_with, {lay:?}, {red:?}, p {p}, swap {swap}"),
                    &[a, b, c],
                    move |v| triplet_margin_with(view(v[0], lay), v[1], v[2], &triplet),
                ),
            ]
        })
}

#[test]
fn pair_losses_match_finite_differences_to_second_order() {
    sweep(pairs());
}

/// ctc over `[T, N, C]` log-softmaxed logits (3 classes, blank 0), targets of 1 or 2 labels and
/// input lengths from 3 (enough for any such target) to T; first order.
fn ctc_cases() -> impl Strategy<Value = Vec<Case>> {
    (3usize..=5, 1usize..=2, layout(), reduction())
        .prop_flat_map(|(t, n, lay, red)| {
            let target = proptest::collection::vec(1usize..3, 1..=2);
            (
                stored(&[t, n, 3], lay, -2.0..2.0),
                proptest::collection::vec(target, n),
                proptest::collection::vec(3..=t, n),
                Just((lay, red)),
            )
        })
        .prop_map(|(x, targets, lengths, (lay, red))| {
            let opts = CtcOptions { reduction: red, ..CtcOptions::default() };
            vec![first_order(
                format!("ctc, {lay:?}, {red:?}, targets {targets:?}, lengths {lengths:?}"),
                &[x],
                move |v| ctc(view(v[0], lay).log_softmax(2), &targets, &lengths, &opts),
            )]
        })
}

#[test]
fn ctc_matches_finite_differences_to_first_order() {
    sweep(ctc_cases());
}
