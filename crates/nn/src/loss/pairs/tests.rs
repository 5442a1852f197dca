//! Tests of the pair and triplet losses against hand-computed values and finite differences.

use super::*;
use proptest::prelude::*;
use wengert_tape::Tape;
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck, strategy};

const REDUCTIONS: [Reduction; 3] = [Reduction::Mean, Reduction::Sum, Reduction::None];

/// Pins a closure to the higher-ranked signature `gradcheck` takes.
fn hr<G: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>(g: G) -> G {
    g
}

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

fn assert_close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-9 * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

/// Checks every reduction of `l` against the per-sample values `each`.
fn check_reductions(l: impl Fn(Reduction) -> Vec<f64>, each: &[f64]) {
    assert_close(&l(Reduction::None), each);
    assert_close(&l(Reduction::Sum), &[each.iter().sum()]);
    assert_close(&l(Reduction::Mean), &[each.iter().sum::<f64>() / each.len() as f64]);
}

const A: [f64; 6] = [1.0, 2.0, -1.0, 0.5, 0.3, -2.0];
const B: [f64; 6] = [0.5, 2.2, 0.0, 0.8, -1.0, 1.0];
const N: [f64; 6] = [0.0, 1.0, 2.0, -0.5, 1.5, 0.5];
const Y: [f64; 6] = [1.0, -1.0, 1.0, -1.0, -1.0, 1.0];

#[test]
fn margin_ranking_matches_pytorchs_formula_for_every_margin_and_reduction() {
    for margin in [0.0, 0.1, 1.0] {
        let each: Vec<f64> = (0..6).map(|i| (-Y[i] * (A[i] - B[i]) + margin).max(0.0)).collect();
        check_reductions(
            |r| {
                let tape = Tape::new();
                let (a, b, y) = (tape.var(t(&A, &[6])), tape.var(t(&B, &[6])), tape.constant(t(&Y, &[6])));
                margin_ranking(a, b, y, margin, r).value().to_vec()
            },
            &each,
        );
    }
}

#[test]
fn margin_ranking_has_clamp_mins_gradient_of_one_at_the_kink() {
    let tape = Tape::<f64>::new();
    let (a, b, y) = (tape.var(t(&[1.0], &[1])), tape.var(t(&[1.0], &[1])), tape.constant(t(&[1.0], &[1])));
    let g = margin_ranking(a, b, y, 0.0, Reduction::Sum).backward();
    assert_eq!((g[a].to_vec(), g[b].to_vec()), (vec![-1.0], vec![1.0]));
}

fn cos_by_hand(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>() + 1e-12;
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>() + 1e-12;
    dot / (na * nb).sqrt()
}

#[test]
fn cosine_embedding_matches_pytorchs_formula_for_every_margin_and_reduction() {
    let y = [1.0, -1.0, -1.0];
    for margin in [0.0, -0.5, 0.5] {
        let each: Vec<f64> = (0..3)
            .map(|i| {
                let c = cos_by_hand(&A[2 * i..2 * i + 2], &B[2 * i..2 * i + 2]);
                if y[i] > 0.0 { 1.0 - c } else { (c - margin).max(0.0) }
            })
            .collect();
        check_reductions(
            |r| {
                let tape = Tape::new();
                let (a, b) = (tape.var(t(&A, &[3, 2])), tape.var(t(&B, &[3, 2])));
                cosine_embedding(a, b, tape.constant(t(&y, &[3])), margin, r).value().to_vec()
            },
            &each,
        );
    }
    // One pair as [D] with a [] label.
    let tape = Tape::new();
    let (a, b) = (tape.var(t(&A, &[6])), tape.var(t(&B, &[6])));
    let l = cosine_embedding(a, b, tape.constant(Tensor::scalar(1.0)), 0.0, Reduction::None);
    assert_close(&l.value().to_vec(), &[1.0 - cos_by_hand(&A, &B)]);
}

#[test]
fn cosine_embedding_of_a_zero_row_has_cosine_zero_and_a_finite_gradient() {
    let tape = Tape::<f64>::new();
    let (a, b) = (tape.var(Tensor::zeros(&[1, 3])), tape.var(t(&[1.0, 2.0, 2.0], &[1, 3])));
    let l = cosine_embedding(a, b, tape.constant(t(&[1.0], &[1])), 0.0, Reduction::Sum);
    assert_eq!(l.item(), 1.0);
    let g = l.backward();
    assert!(g[a].to_vec().iter().chain(&g[b].to_vec()).all(|v| v.is_finite()));
}

fn dist_by_hand(u: &[f64], v: &[f64], p: f64, eps: f64) -> f64 {
    u.iter().zip(v).map(|(a, b)| (a - b + eps).abs().powf(p)).sum::<f64>().powf(1.0 / p)
}

#[test]
fn triplet_margin_matches_pytorchs_formula_for_every_option() {
    for (margin, p, eps, swap) in
        [(1.0, 2.0, 1e-6, false), (0.5, 1.0, 0.0, false), (2.0, 3.0, 1e-3, true), (1.0, 2.0, 1e-6, true)]
    {
        let each: Vec<f64> = (0..3)
            .map(|i| {
                let (a, pp, n) = (&A[2 * i..2 * i + 2], &B[2 * i..2 * i + 2], &N[2 * i..2 * i + 2]);
                let mut dn = dist_by_hand(a, n, p, eps);
                if swap {
                    dn = dn.min(dist_by_hand(pp, n, p, eps));
                }
                (dist_by_hand(a, pp, p, eps) - dn + margin).max(0.0)
            })
            .collect();
        check_reductions(
            |reduction| {
                let tape = Tape::new();
                let [a, b, n] = [A, B, N].map(|d| tape.var(t(&d, &[3, 2])));
                let opts = TripletOptions { margin, p, eps, swap, reduction };
                triplet_margin_with(a, b, n, &opts).value().to_vec()
            },
            &each,
        );
    }
    let tape = Tape::new();
    let [a, b, n] = [A, B, N].map(|d| tape.var(t(&d, &[3, 2])));
    let default = TripletOptions::default();
    assert_eq!(triplet_margin(a, b, n).item(), triplet_margin_with(a, b, n, &default).item());
}

#[test]
fn triplet_swap_uses_the_positive_when_it_is_closer_to_the_negative() {
    let tape = Tape::<f64>::new();
    let a = tape.var(t(&[0.0, 0.0], &[1, 2]));
    let p = tape.var(t(&[3.0, 0.0], &[1, 2]));
    let n = tape.var(t(&[4.0, 0.0], &[1, 2]));
    let opts = TripletOptions { eps: 0.0, ..TripletOptions::default() };
    assert_eq!(triplet_margin_with(a, p, n, &opts).item(), 0.0); // 3 - 4 + 1
    let swapped = triplet_margin_with(a, p, n, &TripletOptions { swap: true, ..opts });
    assert_eq!(swapped.item(), 3.0); // 3 - min(4, 1) + 1
    assert_eq!(swapped.backward()[a].to_vec(), vec![-1.0, 0.0]);
}

#[test]
fn pair_loss_gradients_match_finite_differences_to_second_order() {
    let opts = GradcheckOptions::default();
    let (a, b, n) = (t(&A, &[3, 2]), t(&B, &[3, 2]), t(&N, &[3, 2]));
    let y3 = t(&[1.0, -1.0, -1.0], &[3]);
    for r in REDUCTIONS {
        let rank = hr(|v| margin_ranking(v[0], v[1], v[2], 0.1, r));
        let ins = [t(&A, &[6]), t(&B, &[6]), t(&Y, &[6])];
        gradcheck(rank, &ins, &opts).unwrap();
        gradgradcheck(rank, &ins, &opts).unwrap();
        let cos = hr(|v| cosine_embedding(v[0], v[1], v[0].constant(y3.clone()), -0.5, r));
        gradcheck(cos, &[a.clone(), b.clone()], &opts).unwrap();
        gradgradcheck(cos, &[a.clone(), b.clone()], &opts).unwrap();
        for (p, swap) in [(2.0, false), (1.0, true), (3.0, true), (1.5, false)] {
            let trip = TripletOptions { margin: 2.3, p, swap, reduction: r, ..TripletOptions::default() };
            let f = hr(|v| triplet_margin_with(v[0], v[1], v[2], &trip));
            gradcheck(f, &[a.clone(), b.clone(), n.clone()], &opts).unwrap();
            gradgradcheck(f, &[a.clone(), b.clone(), n.clone()], &opts).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn pair_loss_gradients_match_finite_differences_over_random_inputs(
        (a, b, n) in strategy::shape_in(1..=2, 1..=4).prop_flat_map(|s| {
            let v = || strategy::tensor(&s, -3.0..3.0);
            (v(), v(), v())
        })
    ) {
        let opts = GradcheckOptions::default();
        let rows = a.shape()[..a.shape().len() - 1].to_vec();
        let count: usize = rows.iter().product();
        let y = Tensor::from_vec((0..count).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect(), &rows).unwrap();
        let ins = [a, b, n];
        // Margins that keep every clamp away from its kink.
        gradcheck(|v| cosine_embedding(v[0], v[1], v[0].constant(y.clone()), -2.0, Reduction::Sum), &ins[..2], &opts)?;
        let trip = TripletOptions { margin: 100.0, ..TripletOptions::default() };
        gradcheck(|v| triplet_margin_with(v[0], v[1], v[2], &trip), &ins, &opts)?;
        gradcheck(|v| margin_ranking(v[0], v[1], v[2], 100.0, Reduction::Mean), &ins, &opts)?;
    }
}

#[test]
#[should_panic(expected = "cosine_embedding: labels must be 1 or -1, got 0")]
fn cosine_embedding_rejects_labels_other_than_plus_or_minus_one() {
    let tape = Tape::<f64>::new();
    let a = tape.var(Tensor::zeros(&[2, 3]));
    cosine_embedding(a, a, tape.constant(t(&[1.0, 0.0], &[2])), 0.0, Reduction::Mean);
}

#[test]
#[should_panic(expected = "triplet_margin: p must be finite and at least 1, got 0.5")]
fn triplet_margin_rejects_a_norm_degree_below_one() {
    let tape = Tape::<f64>::new();
    let a = tape.var(Tensor::zeros(&[2, 3]));
    triplet_margin_with(a, a, a, &TripletOptions { p: 0.5, ..TripletOptions::default() });
}
