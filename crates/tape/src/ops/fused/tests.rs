//! Tests of `fused`: linear and softmax cross-entropy against their unfused forms and finite differences.

use proptest::collection::vec;
use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::check::{GradcheckOptions, gradcheck, gradgradcheck, strategy};
use crate::ops::cases::{Case, case, gradchecks, prop};

fn seq(shape: &[usize], scale: f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| ((i * 7 % 11) as f64 - 5.0) * scale).collect(), shape).unwrap()
}

#[test]
fn linear_matches_matmul_plus_bias() {
    let (x, w, b) = (seq(&[4, 3], 0.3), seq(&[2, 3], 0.2), seq(&[2], 0.5));
    let want = &x.matmul(&w.t()) + &b;
    assert_eq!(x.linear(&w, Some(&b)).to_vec(), want.to_vec());
    assert_eq!(x.linear(&w, None).to_vec(), x.matmul(&w.t()).to_vec());
}

#[test]
fn linear_grad_matches_finite_differences() {
    let inputs = [seq(&[4, 3], 0.3), seq(&[2, 3], 0.2), seq(&[2], 0.5)];
    let opts = GradcheckOptions::default();
    gradcheck(|v| v[0].linear(v[1], Some(v[2])).tanh().sum(), &inputs, &opts).unwrap();
    gradcheck(|v| v[0].linear(v[1], None).square().sum(), &inputs[..2], &opts).unwrap();
    gradgradcheck(|v| v[0].linear(v[1], Some(v[2])).tanh().sum(), &inputs, &opts).unwrap();
}

#[test]
fn softmax_cross_entropy_matches_log_softmax_and_gather() {
    let x = seq(&[3, 4], 0.7);
    let t = [1, 3, 0];
    let lp = x.log_softmax(1).to_vec();
    let want = -(lp[1] + lp[4 + 3] + lp[8]) / 3.0;
    assert!((super::cross_entropy_value(&x, &t).item() - want).abs() < 1e-12);
}

#[test]
fn softmax_cross_entropy_grad_matches_finite_differences() {
    let x = [seq(&[3, 4], 0.7)];
    let opts = GradcheckOptions::default();
    gradcheck(|v| v[0].softmax_cross_entropy(&[1, 3, 0]), &x, &opts).unwrap();
    gradgradcheck(|v| v[0].softmax_cross_entropy(&[2, 2, 0]), &x, &opts).unwrap();
}

#[test]
#[should_panic(expected = "softmax_cross_entropy: target 4 at position 1 is out of range for 4 classes")]
fn softmax_cross_entropy_rejects_a_bad_target() {
    let tape = crate::Tape::<f64>::new();
    tape.var(seq(&[2, 4], 1.0)).softmax_cross_entropy(&[0, 4]);
}

/// linear of an `[n, k]` `x`, an `[m, k]` `w` and an `[m]` `b`, with and without the bias, and with a
/// transposed (non-contiguous) weight.
fn linears(x: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>) -> Vec<Case> {
    let xwb = [x.clone(), w.clone(), b.clone()];
    let xwt = [x.clone(), w.t()];
    let (x, w, b) = (x.clone(), w.clone(), b.clone());
    vec![
        case("linear with a bias", &xwb, |v| v[0].linear(v[1], Some(v[2])).tanh().sum()),
        case("linear without a bias", &xwb[..2], |v| v[0].linear(v[1], None).square().sum()),
        case("linear of a transposed weight", &xwt, |v| v[0].linear(v[1].t(), None).square().sum()),
        case("linear of a constant weight and bias", &xwb, move |v| {
            v[0].linear(v[0].constant(w.clone()), Some(v[0].constant(b.clone()))).tanh().sum()
        }),
        case("linear of a constant input", &xwb, move |v| {
            v[1].constant(x.clone()).linear(v[1], Some(v[2])).tanh().sum()
        }),
    ]
}

/// softmax cross-entropy of `[n, c]` logits against `targets`, alone and of a transposed input.
fn cross_entropies(x: &Tensor<f64>, targets: Vec<usize>) -> Vec<Case> {
    let (xs, xt) = (std::slice::from_ref(x), [x.t()]);
    let t2 = targets.clone();
    vec![
        case("softmax_cross_entropy", xs, move |v| v[0].softmax_cross_entropy(&targets)),
        case("softmax_cross_entropy of a transpose", &xt, move |v| {
            v[0].t().softmax_cross_entropy(&t2) * v[0].sum()
        }),
    ]
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    let dense = (1usize..4, 1usize..4, 1usize..4).prop_flat_map(|(n, k, m)| {
        (
            strategy::tensor(&[n, k], -2.0..2.0),
            strategy::tensor(&[m, k], -1.0..1.0),
            strategy::tensor(&[m], -1.0..1.0),
        )
    });
    let logits =
        (1usize..4, 1usize..5).prop_flat_map(|(n, c)| (strategy::tensor(&[n, c], -3.0..3.0), vec(0..c, n)));
    (dense, logits).prop_map(|((x, w, b), (l, t))| {
        let mut all = linears(&x, &w, &b);
        all.extend(cross_entropies(&l, t));
        all
    })
}

#[test]
fn fused_grads_match_finite_differences_over_random_shapes() {
    prop(cases(), gradchecks);
}
