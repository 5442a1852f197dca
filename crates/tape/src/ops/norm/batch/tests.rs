//! Tests of `batch_norm`: against the chain of primitive ops it replaces, and against finite
//! differences to the second order, on `[N, C]`, `[N, C, L]` and transposed inputs.

use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::check::strategy;
use crate::ops::cases::{Case, case, gradchecks, prop, within_1e_12};
use crate::tape::Tape;
use crate::var::Var;

/// Batch norm as it was composed of primitive ops before the fused op (the layers' old chain):
/// the output, and the batch mean and variance kept as size-1 axes.
fn composite<'t>(
    x: Var<'t, f64>,
    w: Option<Var<'t, f64>>,
    b: Option<Var<'t, f64>>,
    eps: f64,
) -> (Var<'t, f64>, Var<'t, f64>, Var<'t, f64>) {
    let shape = x.shape();
    let (axes, column): (&[usize], Vec<usize>) =
        if shape.len() == 2 { (&[0], vec![shape[1]]) } else { (&[0, 2], vec![shape[1], 1]) };
    let mean = x.mean_axes(axes, true);
    let xc = x - mean;
    let var = xc.square().mean_axes(axes, true);
    let y = xc * var.add_scalar(eps).sqrt().recip();
    let y = w.map_or(y, |w| y * w.reshape(&column));
    (b.map_or(y, |b| y + b.reshape(&column)), mean, var)
}

fn seq(shape: &[usize], phase: f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| ((i as f64 + phase) * 0.917).sin() * 1.7).collect(), shape).unwrap()
}

fn close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (p, q) in a.iter().zip(b) {
        assert!((p - q).abs() < 1e-12, "{what}: {p} vs {q}");
    }
}

#[test]
fn batch_norm_matches_its_old_composition_within_1e_12() {
    for (shape, affine) in [(&[5, 3][..], true), (&[4, 3, 6][..], true), (&[2, 3, 4][..], false)] {
        let tape = Tape::<f64>::new();
        let c = shape[1];
        let (x, w, b) = (tape.var(seq(shape, 0.0)), tape.var(seq(&[c], 1.0)), tape.var(seq(&[c], 2.0)));
        let out = tape.constant(seq(shape, 3.0));
        let (w, b) = if affine { (Some(w), Some(b)) } else { (None, None) };
        let (fused, mean, var) = x.batch_norm(w, b, 1e-5);
        let (old, old_mean, old_var) = composite(x, w, b, 1e-5);
        close(&fused.value().to_vec(), &old.value().to_vec(), "output");
        close(&mean.to_vec(), &old_mean.value().to_vec(), "mean");
        close(&var.to_vec(), &old_var.value().to_vec(), "variance");
        let all: Vec<_> = [Some(x), w, b].into_iter().flatten().collect();
        let (lf, lo) = ((fused * out).sum(), (old * out).sum());
        let grads = |l| tape.grad(l, &all);
        let graph: Vec<Tensor<f64>> = tape.grad_graph(lf, &all).iter().map(|g| g.value()).collect();
        for ((f, g), o) in grads(lf).iter().zip(&graph).zip(grads(lo)) {
            close(&f.to_vec(), &o.to_vec(), "first-order gradient");
            close(&g.to_vec(), &o.to_vec(), "recorded gradient");
        }
    }
}

#[test]
#[should_panic(expected = "batch_norm: weight of shape [4] is not [C] = [3] for input [2, 3, 5]")]
fn batch_norm_names_a_weight_of_the_wrong_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(seq(&[2, 3, 5], 0.0));
    let _ = x.batch_norm(Some(tape.var(seq(&[4], 0.0))), None, 1e-5);
}

/// Batch norm of `x` `[n, c, l]` and of its `[n·l, c]`-shaped copy, with and without a weight and
/// bias, and of a transposed (non-contiguous) input.
fn batch_norms(x: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>, wt: &Tensor<f64>) -> Vec<Case> {
    let [n, c, l] = [x.shape()[0], x.shape()[1], x.shape()[2]];
    let all = [x.clone(), w.clone(), b.clone(), wt.clone()];
    let flat = |t: &Tensor<f64>| t.permute(&[0, 2, 1]).to_contiguous().reshape(&[n * l, c]).unwrap();
    let two = [flat(x), w.clone(), b.clone(), flat(wt)];
    let xt = [x.permute(&[2, 1, 0]), wt.clone()];
    vec![
        case("batch_norm with weight and bias", &all, |v| {
            (v[0].batch_norm(Some(v[1]), Some(v[2]), 1e-5).0 * v[3]).sum()
        }),
        case("batch_norm alone", &all, |v| (v[0].batch_norm(None, None, 1e-5).0 * v[3]).sum()),
        case("batch_norm with a bias alone", &all, |v| {
            (v[0].batch_norm(None, Some(v[2]), 1e-5).0 * v[3]).sum()
        }),
        case("batch_norm of [N, C]", &two, |v| {
            (v[0].batch_norm(Some(v[1]), Some(v[2]), 1e-5).0 * v[3]).sum()
        }),
        case("batch_norm of a transpose", &xt, |v| {
            (v[0].permute(&[2, 1, 0]).batch_norm(None, None, 1e-5).0 * v[1]).sum()
        }),
    ]
}

/// Every batch norm case: `[n, c, l]` inputs with distinct values and `n · l ≥ 2` (so that no
/// channel's variance is near 0), weights and biases of `[c]`, and an output weighting.
fn cases() -> impl Strategy<Value = Vec<Case>> {
    (1usize..4, 1usize..3, 1usize..4)
        .prop_filter("two or more values per channel", |(n, _, l)| n * l >= 2)
        .prop_flat_map(|(n, c, l)| {
            (
                strategy::distinct(&[n, c, l], -2.0..2.0, 0.1),
                strategy::tensor(&[c], 0.5..1.5),
                strategy::tensor(&[c], -1.0..1.0),
                strategy::tensor(&[n, c, l], -1.0..1.0),
            )
        })
        .prop_map(|(x, w, b, wt)| batch_norms(&x, &w, &b, &wt))
}

#[test]
fn batch_norm_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

#[test]
fn batch_norm_grads_by_grad_and_grad_graph_agree_within_1e_12() {
    prop(cases(), within_1e_12);
}
