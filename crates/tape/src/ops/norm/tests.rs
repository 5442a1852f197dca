//! Tests of `norm`: layer and RMS norm against the chain of primitive ops they replace and against
//! finite differences to the second order; the softmax backward kernels and masked softmax likewise.

use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::check::strategy;
use crate::ops::cases::{Case, case, gradchecks, prop, within_1e_12};
use crate::tape::Tape;
use crate::var::Var;

/// The normalisations as they were composed of primitive ops before the fused op.
fn composite<'t>(
    x: Var<'t, f64>,
    rms: bool,
    k: usize,
    w: Option<Var<'t, f64>>,
    b: Option<Var<'t, f64>>,
    eps: f64,
) -> Var<'t, f64> {
    let d = x.shape().len();
    let axes: Vec<usize> = (d - k..d).collect();
    let y = if rms {
        x * x.square().mean_axes(&axes, true).add_scalar(eps).sqrt().recip()
    } else {
        let xc = x - x.mean_axes(&axes, true);
        xc * xc.square().mean_axes(&axes, true).add_scalar(eps).sqrt().recip()
    };
    let y = w.map_or(y, |w| y * w);
    b.map_or(y, |b| y + b)
}

fn seq(shape: &[usize], phase: f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| ((i as f64 + phase) * 0.917).sin() * 1.7).collect(), shape).unwrap()
}

#[test]
fn norms_match_their_old_composition_within_1e_12() {
    let inputs = [seq(&[3, 2, 5], 0.0), seq(&[2, 5], 1.0), seq(&[2, 5], 2.0), seq(&[3, 2, 5], 3.0)];
    for (rms, k) in [(false, 1), (false, 2), (true, 1), (true, 2)] {
        let tape = Tape::<f64>::new();
        let v: Vec<_> = inputs.iter().map(|t| tape.var(t.clone())).collect();
        let (w, b) = (v[1].narrow(0, 2 - k, k).reshape(&v[1].shape()[2 - k..]), v[2].narrow(0, 2 - k, k));
        let w = if k == 1 { w.reshape(&[5]) } else { w };
        let b = if k == 1 { b.reshape(&[5]) } else { b };
        let bias = (!rms).then_some(b);
        let fused =
            if rms { v[0].rms_norm(k, Some(w), 1e-5) } else { v[0].layer_norm(k, Some(w), bias, 1e-5) };
        let old = composite(v[0], rms, k, Some(w), bias, 1e-5);
        let (lf, lo) = ((fused * v[3]).sum(), (old * v[3]).sum());
        let all = [v[0], v[1], v[2]];
        let grads = |l| tape.grad_opt(l, &all).into_iter().flatten().collect::<Vec<_>>();
        let graph: Vec<Tensor<f64>> =
            tape.grad_graph_opt(lf, &all).iter().flatten().map(|g| g.value()).collect();
        let pairs = [(vec![fused.value()], vec![old.value()]), (grads(lf), grads(lo)), (graph, grads(lo))];
        for (a, b) in pairs {
            assert_eq!(a.len(), b.len());
            for (p, q) in a.iter().zip(&b) {
                for (p, q) in p.to_vec().iter().zip(q.to_vec()) {
                    assert!((p - q).abs() < 1e-12, "rms {rms}, k {k}: {p} vs {q}");
                }
            }
        }
    }
}

#[test]
#[should_panic(expected = "layer_norm: bias of shape [4] does not match the normalised shape [5]")]
fn layer_norm_names_a_bias_of_the_wrong_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(seq(&[2, 5], 0.0));
    x.layer_norm(1, None, Some(tape.var(seq(&[4], 0.0))), 1e-5);
}

/// layer and RMS norm of `x` over its last one or two dims, with and without a weight and bias, and
/// of a transposed (non-contiguous) input.
fn norms(x: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>, wt: &Tensor<f64>) -> Vec<Case> {
    let [n, c, l] = [x.shape()[0], x.shape()[1], x.shape()[2]];
    let all = [x.clone(), w.reshape(&[l]).unwrap(), b.reshape(&[l]).unwrap(), wt.clone()];
    let two = [x.clone(), w.reshape(&[1, l]).unwrap().broadcast_to(&[c, l]).to_contiguous(), wt.clone()];
    let xt = [x.permute(&[0, 2, 1]), wt.permute(&[0, 2, 1])];
    let _ = n;
    vec![
        case("layer_norm with weight and bias", &all, |v| {
            (v[0].layer_norm(1, Some(v[1]), Some(v[2]), 1e-5) * v[3]).sum()
        }),
        case("layer_norm alone", &all, |v| (v[0].layer_norm(1, None, None, 1e-5) * v[3]).sum()),
        case("layer_norm with a bias alone", &all, |v| {
            (v[0].layer_norm(1, None, Some(v[2]), 1e-5) * v[3]).sum()
        }),
        case("layer_norm over two dims", &two, |v| (v[0].layer_norm(2, Some(v[1]), None, 1e-5) * v[2]).sum()),
        case("rms_norm with a weight", &all, |v| (v[0].rms_norm(1, Some(v[1]), 1e-5) * v[3]).sum()),
        case("rms_norm over two dims", &two, |v| (v[0].rms_norm(2, Some(v[1]), 1e-5) * v[2]).sum()),
        case("layer_norm of a transpose", &xt, |v| {
            (v[0].permute(&[0, 2, 1]).layer_norm(1, None, None, 1e-5) * v[1].permute(&[0, 2, 1])).sum()
        }),
    ]
}

/// Every normalisation case: `[n, c, l]` inputs with distinct values (so that no row's variance is
/// near 0), weights and biases of `[l]`, and an output weighting.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    (1usize..3, 1usize..3, 2usize..5)
        .prop_flat_map(|(n, c, l)| {
            (
                strategy::distinct(&[n, c, l], -2.0..2.0, 0.1),
                strategy::tensor(&[l], 0.5..1.5),
                strategy::tensor(&[l], -1.0..1.0),
                strategy::tensor(&[n, c, l], -1.0..1.0),
            )
        })
        .prop_map(|(x, w, b, wt)| norms(&x, &w, &b, &wt))
}

#[test]
fn norm_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

#[test]
fn norm_grads_by_grad_and_grad_graph_agree_within_1e_12() {
    prop(cases(), within_1e_12);
}

/// Masked softmax of `x` under a mask of its last two axes (some rows fully masked), and the
/// softmax kernels' nodes differentiated twice (a third-order derivative of softmax).
fn masked(x: &Tensor<f64>, keep: &Tensor<f64>, wt: &Tensor<f64>) -> Vec<Case> {
    let (k1, k2) = (keep.clone(), keep.clone());
    let inputs = [x.clone(), wt.clone()];
    vec![
        case("masked_softmax", &inputs, move |v| (v[0].masked_softmax(&k1) * v[1]).sum()),
        case("masked_softmax of a transpose", &[x.t(), wt.t()], move |v| {
            (v[0].t().masked_softmax(&k2) * v[1].t()).sum()
        }),
        case("the gradient of softmax, differentiated", &inputs, |v| {
            let tape = v[0].tape();
            let y = (v[0].softmax(1) * v[1]).sum();
            let g = tape.grad_graph(y, &[v[0]])[0];
            let l = (v[0].log_softmax(0) * v[1]).sum();
            (g.square() + tape.grad_graph(l, &[v[0]])[0].square() * v[1]).sum()
        }),
    ]
}

/// The softmax cases of the family: masked softmax and softmax backward kernels.
pub(crate) fn softmax_cases() -> impl Strategy<Value = Vec<Case>> {
    (1usize..4, 1usize..5)
        .prop_flat_map(|(r, c)| {
            (
                strategy::tensor(&[r, c], -3.0..3.0),
                proptest::collection::vec(any::<bool>(), c),
                strategy::tensor(&[r, c], -1.0..1.0),
            )
        })
        .prop_map(|(x, keep, wt)| {
            let keep: Vec<f64> = keep.into_iter().map(|k| if k { 1.0 } else { 0.0 }).collect();
            let c = keep.len();
            masked(&x, &Tensor::from_vec(keep, &[c]).unwrap(), &wt)
        })
}

#[test]
fn masked_softmax_and_softmax_kernel_grads_match_finite_differences() {
    prop(softmax_cases(), gradchecks);
}
