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

/// Division by a positive `b`, and a positive `p` to the power `b`.
fn on_a_domain(a: &Tensor<f64>, b: &Tensor<f64>, p: &Tensor<f64>) -> Vec<Case> {
    vec![
        case("div", &[a.clone(), b.clone()], |v| (v[0] / v[1]).sum()),
        case("pow", &[p.clone(), b.clone()], |v| v[0].pow(v[1]).sum()),
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
