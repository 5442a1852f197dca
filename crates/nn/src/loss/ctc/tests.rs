//! Tests of the CTC loss against hand-computed cases, a sum over every path, and finite differences.

use super::*;
use wengert_tape::Tape;
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck};

/// Pins a closure to the higher-ranked signature `gradcheck` takes.
fn hr<G: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>(g: G) -> G {
    g
}

fn assert_close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-10 * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

fn sum_opts() -> CtcOptions {
    CtcOptions { reduction: Reduction::Sum, ..CtcOptions::default() }
}

/// `[T, 1, C]` log-probabilities of the probabilities `p`, row by row.
fn logs(p: &[f64], t: usize) -> Tensor<f64> {
    Tensor::from_vec(p.iter().map(|p| p.ln()).collect(), &[t, 1, p.len() / t]).unwrap()
}

#[test]
fn ctc_of_two_steps_sums_its_three_paths_and_its_gradient_is_minus_the_posteriors() {
    let tape = Tape::new();
    let lp = tape.var(logs(&[0.4, 0.6, 0.3, 0.7], 2));
    let loss = ctc(lp, &[vec![1]], &[2], &sum_opts());
    let p: f64 = 0.6 * 0.7 + 0.4 * 0.7 + 0.6 * 0.3; // paths aa, -a, a-
    assert_close(&[loss.item()], &[-p.ln()]);
    let g = loss.backward()[lp].to_vec();
    assert_close(&g, &[-0.28 / p, -0.6 / p, -0.18 / p, -0.7 / p]);
}

#[test]
fn ctc_needs_a_blank_between_repeated_labels() {
    let tape = Tape::new();
    let p = [0.5, 0.5, 0.2, 0.8, 0.1, 0.9];
    let lp = tape.var(logs(&p, 3));
    // "aa" in 3 steps: only a-a.
    assert_close(&[ctc(lp, &[vec![1, 1]], &[3], &sum_opts()).item()], &[-(0.5f64 * 0.2 * 0.9).ln()]);
    // In 2 steps it is impossible: +∞, or 0 with no gradient under zero_infinity.
    assert_eq!(ctc(lp, &[vec![1, 1]], &[2], &sum_opts()).item(), f64::INFINITY);
    let zero = CtcOptions { zero_infinity: true, ..sum_opts() };
    let l = ctc(lp, &[vec![1, 1]], &[2], &zero);
    assert_eq!(l.item(), 0.0);
    assert!(l.backward()[lp].to_vec().iter().all(|&g| g == 0.0));
}

/// The probability of `target` by summing over all C^T paths that collapse to it.
fn brute_force(p: &[f64], t: usize, c: usize, target: &[usize], blank: usize) -> f64 {
    (0..c.pow(t as u32))
        .map(|code| {
            let path: Vec<usize> = (0..t).map(|i| code / c.pow(i as u32) % c).collect();
            let mut collapsed: Vec<usize> = Vec::new();
            for (i, &k) in path.iter().enumerate() {
                if k != blank && (i == 0 || path[i - 1] != k) {
                    collapsed.push(k);
                }
            }
            if collapsed == target {
                path.iter().enumerate().map(|(i, &k)| p[i * c + k]).product()
            } else {
                0.0
            }
        })
        .sum()
}

#[test]
fn ctc_equals_the_sum_over_all_paths_for_every_blank_and_reduction() {
    let (t, c) = (4, 3);
    let raw: Vec<f64> = (0..t * c).map(|i| 1.0 + ((i * 7) % 5) as f64).collect();
    let p: Vec<f64> =
        raw.chunks(c).flat_map(|r| r.iter().map(|v| v / r.iter().sum::<f64>()).collect::<Vec<_>>()).collect();
    let targets = [vec![1, 2], vec![2, 2], vec![1]];
    let lengths = [4, 3, 2];
    for blank in [0, 2] {
        let targets: Vec<Vec<usize>> = targets
            .iter()
            .map(|l| l.iter().map(|&k| if blank == 2 && k == 2 { 0 } else { k }).collect())
            .collect();
        let each: Vec<f64> = (0..3)
            .map(|i| -brute_force(&p[..lengths[i] * c], lengths[i], c, &targets[i], blank).ln())
            .collect();
        let tape = Tape::new();
        // The same probabilities for each of the 3 samples, [T, 3, C].
        let data: Vec<f64> = (0..t)
            .flat_map(|s| (0..3).flat_map(move |_| (0..c).map(move |k| s * c + k)))
            .map(|i| p[i].ln())
            .collect();
        let lp = tape.var(Tensor::from_vec(data, &[t, 3, c]).unwrap());
        let opts = |reduction| CtcOptions { blank, reduction, zero_infinity: false };
        assert_close(&ctc(lp, &targets, &lengths, &opts(Reduction::None)).value().to_vec(), &each);
        assert_close(&[ctc(lp, &targets, &lengths, &opts(Reduction::Sum)).item()], &[each.iter().sum()]);
        let mean = (each[0] / 2.0 + each[1] / 2.0 + each[2]) / 3.0; // each over its target length
        assert_close(&[ctc(lp, &targets, &lengths, &opts(Reduction::Mean)).item()], &[mean]);
    }
}

#[test]
fn ctc_gradients_match_finite_differences_to_second_order() {
    let opts = GradcheckOptions::default();
    let logits =
        Tensor::from_vec((0..4 * 2 * 3).map(|i| ((i as f64) * 0.9).sin()).collect(), &[4, 2, 3]).unwrap();
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        let o = CtcOptions { reduction, ..CtcOptions::default() };
        let f = hr(|v| ctc(v[0].log_softmax(2), &[vec![1, 2], vec![2, 2]], &[4, 3], &o).sum());
        gradcheck(f, std::slice::from_ref(&logits), &opts).unwrap();
        gradgradcheck(f, std::slice::from_ref(&logits), &opts).unwrap();
    }
}

#[test]
#[should_panic(expected = "ctc: target class 0 is the blank 0 or not below 3")]
fn ctc_rejects_a_blank_in_a_target() {
    let tape = Tape::<f64>::new();
    ctc(tape.var(Tensor::zeros(&[2, 1, 3])), &[vec![0]], &[2], &CtcOptions::default());
}
