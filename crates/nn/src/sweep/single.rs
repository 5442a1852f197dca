//! Each loss in f32 against the same loss in f64: at fixed inputs (rounded to f32 for both), the
//! value and the gradients of every input agree to f32's tolerance, so that nothing in a loss
//! loses precision (or overflows) in single precision where double precision is fine.

use wengert_tape::{Tape, Var};
use wengert_tensor::{Float, Tensor};

use crate::loss::{
    BceOptions, BceWithLogitsOptions, CrossEntropyOptions, CtcOptions, GaussianNllOptions, KlReduction,
    PoissonNllOptions, Reduction, TripletOptions, bce, bce_weighted, bce_with_logits,
    bce_with_logits_weighted, cosine_embedding, cross_entropy_with, ctc, gaussian_nll_with, huber,
    kl_div_with, l1, margin_ranking, mse, nll_with, poisson_nll_with, smooth_l1, triplet_margin_with,
};

/// `sin(0.71 i + phase)` of `shape`.
fn sines(shape: &[usize], phase: f64) -> Tensor<f64> {
    let n = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| (i as f64 * 0.71 + phase).sin()).collect(), shape).unwrap()
}

/// Values in `lo..lo + 1`, from [`sines`].
fn positive(shape: &[usize], phase: f64, lo: f64) -> Tensor<f64> {
    sines(shape, phase).map(|v| lo + 0.5 * (v + 1.0))
}

/// The per-class weights of the class losses and `pos_weight`.
fn class_weight<F: Float>() -> Tensor<F> {
    positive(&[4], 0.9, 0.5).cast()
}

/// The per-element weights of the binary losses.
fn element_weight<F: Float>() -> Tensor<F> {
    positive(&[3, 4], 0.5, 0.5).cast()
}

/// The ±1 targets of margin_ranking.
fn signs<F: Float>() -> Tensor<F> {
    sines(&[3, 4], 2.0).map(|v| if v >= 0.0 { 1.0 } else { -1.0 }).cast()
}

const TARGETS: [usize; 3] = [2, 0, 3];

/// The loss `name` of `v`, with fixed options.
fn loss<'t, F: Float>(name: &str, v: &[Var<'t, F>]) -> Var<'t, F> {
    match name {
        "mse" => mse(v[0], v[1]),
        "l1" => l1(v[0], v[1]),
        "huber" => huber(v[0], v[1], 0.5),
        "smooth_l1" => smooth_l1(v[0], v[1], 0.5),
        "bce" => bce(v[0], v[1]),
        "bce_weighted" => bce_weighted(
            v[0],
            v[1],
            &BceOptions { reduction: Reduction::Sum, weight: Some(element_weight()) },
        ),
        "bce_with_logits" => bce_with_logits(v[0], v[1]),
        "bce_with_logits_weighted" => {
            let opts = BceWithLogitsOptions {
                reduction: Reduction::Mean,
                weight: Some(element_weight()),
                pos_weight: Some(class_weight()),
            };
            bce_with_logits_weighted(v[0], v[1], &opts)
        }
        "cross_entropy" => {
            let opts = CrossEntropyOptions {
                label_smoothing: 0.1,
                weight: Some(class_weight()),
                ..Default::default()
            };
            cross_entropy_with(v[0], &TARGETS, &opts)
        }
        "nll" => nll_with(
            v[0].log_softmax(1),
            &TARGETS,
            &CrossEntropyOptions { weight: Some(class_weight()), ..Default::default() },
        ),
        "kl_div" => kl_div_with(v[0], v[1], KlReduction::BatchMean),
        "margin_ranking" => margin_ranking(v[0], v[1], v[0].constant(signs()), 0.1, Reduction::Mean),
        "cosine_embedding" => {
            let y = Tensor::from_vec(vec![F::one(), -F::one(), -F::one()], &[3]).expect("three targets");
            cosine_embedding(v[0], v[1], v[0].constant(y), 0.2, Reduction::Sum)
        }
        "triplet_margin" => triplet_margin_with(
            v[0],
            v[1],
            v[2],
            &TripletOptions { margin: 2.0, swap: true, ..TripletOptions::default() },
        ),
        "poisson_nll" => {
            poisson_nll_with(v[0], v[1], &PoissonNllOptions { full: true, ..PoissonNllOptions::default() })
        }
        "gaussian_nll" => gaussian_nll_with(
            v[0],
            v[1],
            v[2],
            &GaussianNllOptions { full: true, ..GaussianNllOptions::default() },
        ),
        "ctc" => ctc(v[0].log_softmax(2), &[vec![1, 2], vec![2]], &[4, 3], &CtcOptions::default()),
        _ => unreachable!("no loss {name}"),
    }
}

/// The inputs of the loss `name`, in f64 (its constants are in [`loss`]).
fn inputs(name: &str) -> Vec<Tensor<f64>> {
    let x = sines(&[3, 4], 0.3);
    match name {
        "mse" | "l1" | "huber" | "smooth_l1" => vec![x, sines(&[3, 4], 1.7)],
        "bce" | "bce_weighted" => {
            vec![positive(&[3, 4], 0.1, 0.0).map(|p| 0.05 + 0.9 * p), positive(&[3, 4], 1.2, 0.0)]
        }
        "bce_with_logits" | "bce_with_logits_weighted" => {
            vec![x.map(|v| 3.0 * v), positive(&[3, 4], 1.2, 0.0)]
        }
        "cross_entropy" | "nll" => vec![x.map(|v| 2.0 * v)],
        "kl_div" => vec![x, positive(&[3, 4], 0.4, 0.1)],
        "margin_ranking" | "cosine_embedding" => vec![x, sines(&[3, 4], 1.1)],
        "triplet_margin" => vec![x, sines(&[3, 4], 0.9), sines(&[3, 4], 2.5)],
        "poisson_nll" => vec![x, positive(&[3, 4], 0.8, 0.5).map(|v| 2.0 * v)],
        "gaussian_nll" => vec![x, sines(&[3, 4], 1.4), positive(&[3, 1], 0.6, 0.3)],
        "ctc" => vec![sines(&[4, 2, 3], 0.2).map(|v| 2.0 * v)],
        _ => unreachable!("no loss {name}"),
    }
}

/// The value and the gradients of every input of the loss `name` (summed when it has several
/// elements) at `xs`, in `F`, as f64.
fn evaluate<F: Float>(name: &str, xs: &[Tensor<F>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let tape = Tape::<F>::new();
    let vars: Vec<_> = xs.iter().map(|x| tape.var(x.clone())).collect();
    let y = loss(name, &vars);
    let grads = tape.grad(y.sum(), &vars);
    (y.value().cast::<f64>().to_vec(), grads.iter().map(|g| g.cast::<f64>().to_vec()).collect())
}

/// Panics unless the loss `name` gives in f32 the value and gradients it gives in f64, within
/// `1e-5 + 1e-4 · |f64 value|`.
#[track_caller]
fn agrees_in_f32(name: &str) {
    // Both precisions start from the same f32 values, so only the arithmetic differs.
    let xs32: Vec<Tensor<f32>> = inputs(name).iter().map(|x| x.cast()).collect();
    let xs64: Vec<Tensor<f64>> = xs32.iter().map(|x| x.cast()).collect();
    let ((y32, g32), (y64, g64)) = (evaluate(name, &xs32), evaluate(name, &xs64));
    let close = |a: &[f64], b: &[f64], what: &str| {
        assert_eq!(a.len(), b.len(), "{name}: {what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-5 + 1e-4 * y.abs(), "{name}: {what}[{i}]: f32 {x}, f64 {y}");
        }
    };
    close(&y32, &y64, "value");
    assert!(y64.iter().all(|v| v.is_finite()), "{name}: {y64:?}");
    for (i, (a, b)) in g32.iter().zip(&g64).enumerate() {
        close(a, b, &format!("gradient of input {i}"));
    }
}

#[test]
fn mse_agrees_in_f32_with_f64() {
    agrees_in_f32("mse");
}

#[test]
fn l1_agrees_in_f32_with_f64() {
    agrees_in_f32("l1");
}

#[test]
fn huber_agrees_in_f32_with_f64() {
    agrees_in_f32("huber");
}

#[test]
fn smooth_l1_agrees_in_f32_with_f64() {
    agrees_in_f32("smooth_l1");
}

#[test]
fn bce_agrees_in_f32_with_f64() {
    agrees_in_f32("bce");
}

#[test]
fn bce_weighted_agrees_in_f32_with_f64() {
    agrees_in_f32("bce_weighted");
}

#[test]
fn bce_with_logits_agrees_in_f32_with_f64() {
    agrees_in_f32("bce_with_logits");
}

#[test]
fn bce_with_logits_weighted_agrees_in_f32_with_f64() {
    agrees_in_f32("bce_with_logits_weighted");
}

#[test]
fn cross_entropy_agrees_in_f32_with_f64() {
    agrees_in_f32("cross_entropy");
}

#[test]
fn nll_agrees_in_f32_with_f64() {
    agrees_in_f32("nll");
}

#[test]
fn kl_div_agrees_in_f32_with_f64() {
    agrees_in_f32("kl_div");
}

#[test]
fn margin_ranking_agrees_in_f32_with_f64() {
    agrees_in_f32("margin_ranking");
}

#[test]
fn cosine_embedding_agrees_in_f32_with_f64() {
    agrees_in_f32("cosine_embedding");
}

#[test]
fn triplet_margin_agrees_in_f32_with_f64() {
    agrees_in_f32("triplet_margin");
}

#[test]
fn poisson_nll_agrees_in_f32_with_f64() {
    agrees_in_f32("poisson_nll");
}

#[test]
fn gaussian_nll_agrees_in_f32_with_f64() {
    agrees_in_f32("gaussian_nll");
}

#[test]
fn ctc_agrees_in_f32_with_f64() {
    agrees_in_f32("ctc");
}
