//! Tests of `binary`: every broadcasting op on pairs of shapes that broadcast together (size-1 and
//! missing axes on either side), checked against finite differences to the second order.

use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::check::strategy;
use crate::ops::cases::{Case, case, gradchecks, prop};
use crate::var::Var;

/// The ops defined everywhere, on a broadcast pair.
fn everywhere(a: &Tensor<f64>, b: &Tensor<f64>) -> Vec<Case> {
    let ab = [a.clone(), b.clone()];
    let mask = a.gt_mask(&Tensor::scalar(0.0));
    vec![
        case("add", &ab, |v| (v[0] + v[1]).square().sum()),
        case("sub", &ab, |v| (v[0] - v[1]).square().sum()),
        case("mul", &ab, |v| (v[0] * v[1]).sum()),
        case("maximum", &ab, |v| (v[0].maximum(v[1]) * v[1]).sum()),
        case("minimum", &ab, |v| (v[0].minimum(v[1]) * v[0]).sum()),
        case("where_cond", &ab, move |v| (Var::where_cond(&mask, v[0], v[1]) * v[0]).sum()),
    ]
}

/// Division by a positive `b`, and a positive `p` to the power `b`; and each with one operand a
/// constant (the rule is asked for one gradient; the constant's input does not reach the output).
fn on_a_domain(a: &Tensor<f64>, b: &Tensor<f64>, p: &Tensor<f64>) -> Vec<Case> {
    let (ab, pb) = ([a.clone(), b.clone()], [p.clone(), b.clone()]);
    let (a1, b1, p1, b2) = (a.clone(), b.clone(), p.clone(), b.clone());
    vec![
        case("div", &ab, |v| (v[0] / v[1]).sum()),
        case("pow", &pb, |v| v[0].pow(v[1]).sum()),
        case("div of a constant", &ab, move |v| (v[1].constant(a1.clone()) / v[1]).sum()),
        case("div by a constant", &ab, move |v| (v[0] / v[0].constant(b1.clone())).sum()),
        case("pow of a constant base", &pb, move |v| v[1].constant(p1.clone()).pow(v[1]).sum()),
        case("pow to a constant exponent", &pb, move |v| v[0].pow(v[0].constant(b2.clone())).sum()),
    ]
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    let domain = strategy::broadcast_pair(3, 3).prop_flat_map(|(sa, sb)| {
        (
            strategy::tensor(&sa, -2.0..2.0),
            strategy::positive(&sb, 0.3, 2.0),
            strategy::positive(&sa, 0.3, 2.0),
        )
    });
    (strategy::tensor_pair_broadcast(3, 3, -2.0..2.0), domain).prop_map(|((a, b), (c, d, p))| {
        let mut all = everywhere(&a, &b);
        all.extend(on_a_domain(&c, &d, &p));
        all
    })
}

#[test]
fn binary_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}
