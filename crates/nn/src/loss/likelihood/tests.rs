//! Tests of the likelihood losses against PyTorch's formulas and finite differences.

use super::*;
use proptest::prelude::*;
use wengert_tape::Tape;
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck, strategy};

const REDUCTIONS: [Reduction; 3] = [Reduction::Mean, Reduction::Sum, Reduction::None];
const X: [f64; 6] = [0.5, -1.0, 2.0, 0.1, 1.5, 0.0];
const RATE: [f64; 6] = [0.5, 1.0, 2.0, 0.1, 4.0, 0.0];
const COUNT: [f64; 6] = [0.0, 1.0, 3.0, 2.0, 7.0, 0.5];

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

fn check_reductions(l: impl Fn(Reduction) -> Vec<f64>, each: &[f64]) {
    assert_close(&l(Reduction::None), each);
    assert_close(&l(Reduction::Sum), &[each.iter().sum()]);
    assert_close(&l(Reduction::Mean), &[each.iter().sum::<f64>() / each.len() as f64]);
}

fn stirling(t: f64) -> f64 {
    if t > 1.0 { t * t.ln() - t + 0.5 * (2.0 * std::f64::consts::PI * t).ln() } else { 0.0 }
}

#[test]
fn poisson_nll_matches_pytorchs_formula_for_every_option() {
    for (log_input, full, eps) in [
        (true, false, 1e-8),
        (true, true, 1e-8),
        (false, false, 1e-8),
        (false, true, 0.5),
        (false, false, 0.0),
    ] {
        let input = if log_input { X } else { RATE };
        let each: Vec<f64> = (0..6)
            .map(|i| {
                let (x, c) = (input[i], COUNT[i]);
                let base = if log_input { x.exp() - c * x } else { x - c * (x + eps).ln() };
                base + if full { stirling(c) } else { 0.0 }
            })
            .collect();
        if eps == 0.0 {
            assert_eq!(each[5], f64::INFINITY); // rate 0 with count 0.5 and no eps
            continue;
        }
        check_reductions(
            |reduction| {
                let tape = Tape::new();
                let (x, c) = (tape.var(t(&input, &[2, 3])), tape.constant(t(&COUNT, &[2, 3])));
                poisson_nll_with(x, c, &PoissonNllOptions { log_input, full, eps, reduction })
                    .value()
                    .to_vec()
            },
            &each,
        );
    }
    let tape = Tape::new();
    let (x, c) = (tape.var(t(&X, &[6])), tape.constant(t(&COUNT, &[6])));
    assert_eq!(poisson_nll(x, c).item(), poisson_nll_with(x, c, &PoissonNllOptions::default()).item());
}

#[test]
fn poisson_nll_gradient_in_the_log_rate_is_the_rate_minus_the_count() {
    let tape = Tape::new();
    let (x, c) = (tape.var(t(&X, &[6])), tape.constant(t(&COUNT, &[6])));
    let opts = PoissonNllOptions { full: true, reduction: Reduction::Sum, ..PoissonNllOptions::default() };
    let g = poisson_nll_with(x, c, &opts).backward()[x].to_vec();
    assert_close(&g, &(0..6).map(|i| X[i].exp() - COUNT[i]).collect::<Vec<_>>());
}

#[test]
fn gaussian_nll_matches_pytorchs_formula_for_every_option_and_variance_shape() {
    let (mean, target) = (X, COUNT);
    let var = [0.5, 2.0, 1e-9, 1.0, 3.0, 0.25];
    for (full, eps) in [(false, 1e-6), (true, 1e-6), (false, 0.3)] {
        let c = if full { 0.5 * (2.0 * std::f64::consts::PI).ln() } else { 0.0 };
        let nll = |i: usize, v: f64| {
            let v = v.max(eps);
            0.5 * (v.ln() + (mean[i] - target[i]).powi(2) / v) + c
        };
        let each: Vec<f64> = (0..6).map(|i| nll(i, var[i])).collect();
        let shared: Vec<f64> = (0..6).map(|i| nll(i, var[3 * (i / 3)])).collect();
        for (v, vshape, want) in [
            (var.to_vec(), vec![2, 3], &each),
            (vec![var[0], var[3]], vec![2, 1], &shared),
            (vec![var[0], var[3]], vec![2], &shared),
        ] {
            check_reductions(
                |reduction| {
                    let tape = Tape::new();
                    let (m, y) = (tape.var(t(&mean, &[2, 3])), tape.constant(t(&target, &[2, 3])));
                    let opts = GaussianNllOptions { full, eps, reduction };
                    gaussian_nll_with(m, y, tape.var(t(&v, &vshape)), &opts).value().to_vec()
                },
                want,
            );
        }
    }
}

#[test]
fn gaussian_nll_passes_the_gradient_through_the_variance_clamp() {
    // v = 0 is clamped to eps = 0.5 in value; the gradient is that of v at 0.5, as PyTorch's.
    let tape = Tape::new();
    let (m, y) = (tape.var(t(&[1.0], &[1])), tape.constant(t(&[0.0], &[1])));
    let v = tape.var(t(&[0.0], &[1]));
    let opts = GaussianNllOptions { eps: 0.5, ..GaussianNllOptions::default() };
    let l = gaussian_nll_with(m, y, v, &opts);
    assert_close(&[l.item()], &[0.5 * (0.5f64.ln() + 2.0)]);
    // d/dv ½ (ln v + d² / v) = ½ (1/v - d² / v²) = ½ (2 - 4) at v = 0.5, d = 1.
    assert_close(&l.backward()[v].to_vec(), &[-1.0]);
}

#[test]
fn likelihood_loss_gradients_match_finite_differences_to_second_order() {
    let opts = GradcheckOptions::default();
    // Counts away from 1, where the Stirling term (0 up to 1) jumps, as PyTorch's does.
    let count = t(&[0.0, 1.2, 3.0, 2.0, 7.0, 0.5], &[2, 3]);
    let (x, rate) = (t(&X, &[2, 3]), t(&[0.5, 1.0, 2.0, 0.1, 4.0, 0.3], &[2, 3]));
    for reduction in REDUCTIONS {
        for (log_input, full) in [(true, false), (true, true), (false, false), (false, true)] {
            let p = PoissonNllOptions { log_input, full, reduction, ..PoissonNllOptions::default() };
            let input = if log_input { x.clone() } else { rate.clone() };
            let f = hr(|v| poisson_nll_with(v[0], v[1], &p));
            gradcheck(f, &[input.clone(), count.clone()], &opts).unwrap();
            gradgradcheck(f, &[input, count.clone()], &opts).unwrap();
        }
        for full in [false, true] {
            let g = GaussianNllOptions { full, reduction, ..GaussianNllOptions::default() };
            let f = hr(|v| gaussian_nll_with(v[0], v[1], v[2], &g));
            let shared = t(&[0.7, 1.3], &[2]);
            gradcheck(f, &[x.clone(), count.clone(), rate.clone()], &opts).unwrap();
            gradgradcheck(f, &[x.clone(), count.clone(), rate.clone()], &opts).unwrap();
            gradcheck(f, &[x.clone(), count.clone(), shared.clone()], &opts).unwrap();
            gradgradcheck(f, &[x.clone(), count.clone(), shared], &opts).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn likelihood_loss_gradients_match_finite_differences_over_random_inputs(
        (x, count, var) in strategy::shape(3, 4).prop_flat_map(|s| (
            strategy::tensor(&s, -2.0..2.0),
            strategy::tensor(&s, 0.0..5.0),
            strategy::tensor(&s, 0.2..3.0),
        ))
    ) {
        let opts = GradcheckOptions::default();
        let p = PoissonNllOptions { full: true, ..PoissonNllOptions::default() };
        gradcheck(|v| poisson_nll_with(v[0], v[1], &p), &[x.clone(), count.clone()], &opts)?;
        let rates = PoissonNllOptions { log_input: false, reduction: Reduction::Sum, ..PoissonNllOptions::default() };
        gradcheck(|v| poisson_nll_with(v[0], v[1], &rates), &[var.clone(), count.clone()], &opts)?;
        gradcheck(|v| gaussian_nll(v[0], v[1], v[2]), &[x, count, var], &opts)?;
    }
}

#[test]
#[should_panic(
    expected = "gaussian_nll: var of shape [3] fits neither the input's shape [2, 3] nor it without its last dimension"
)]
fn gaussian_nll_rejects_a_variance_of_another_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::zeros(&[2, 3]));
    gaussian_nll(x, x, tape.var(Tensor::ones(&[3])));
}

#[test]
#[should_panic(expected = "gaussian_nll: var has a negative entry")]
fn gaussian_nll_rejects_a_negative_variance() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::zeros(&[2]));
    gaussian_nll(x, x, tape.var(t(&[1.0, -1.0], &[2])));
}
