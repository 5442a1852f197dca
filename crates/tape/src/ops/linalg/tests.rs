//! Tests of `linalg`: matmul in every NumPy form (vector, matrix, batched, broadcast batch),
//! on transposed and reversed (non-contiguous) operands, and dot and outer, checked against finite
//! differences to the second order.

use proptest::prelude::*;
use wengert_tensor::{Tensor, s};

use crate::check::strategy;
use crate::ops::cases::{Case, case, gradchecks, prop};

/// Operand shapes for every NumPy matmul case.
fn matmul_shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (1usize..4, 1usize..4, 1usize..4, 1usize..3, 0usize..6).prop_map(|(m, k, n, batch, form)| match form {
        0 => (vec![k], vec![k]),
        1 => (vec![k], vec![k, n]),
        2 => (vec![m, k], vec![k]),
        3 => (vec![m, k], vec![k, n]),
        4 => (vec![batch, m, k], vec![k, n]),
        _ => (vec![batch, 1, m, k], vec![2, k, n]),
    })
}

/// Transposed and reversed operands of a `[k, m]` `a` and an `[n, k]` `b`, and dot and outer of
/// their flattenings.
fn non_contiguous(a: &Tensor<f64>, b: &Tensor<f64>) -> Vec<Case> {
    let ab = [a.clone(), b.clone()];
    let xy = [a.flatten(), b.flatten()];
    vec![
        case("matmul of transposes", &ab, |v| v[0].t().matmul(v[1].t()).square().sum()),
        case("matmul by its own transpose", std::slice::from_ref(a), |v| {
            v[0].t().matmul(v[0]).square().sum()
        }),
        case("matmul of a reversed view", &ab, |v| v[1].slice(s![..;-1, ..]).matmul(v[0]).square().sum()),
        case("outer", &xy, |v| v[0].outer(v[1]).square().sum()),
        case("dot", &xy, |v| v[0].dot(v[0]) * v[1].sum()),
    ]
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    let forms = matmul_shapes()
        .prop_flat_map(|(sa, sb)| (strategy::tensor(&sa, -2.0..2.0), strategy::tensor(&sb, -2.0..2.0)));
    let transposed = (1usize..4, 1usize..4, 1usize..4).prop_flat_map(|(m, k, n)| {
        (strategy::tensor(&[k, m], -2.0..2.0), strategy::tensor(&[n, k], -2.0..2.0))
    });
    (forms, transposed).prop_map(|((a, b), (c, d))| {
        let mut all = vec![case("matmul", &[a, b], |v| v[0].matmul(v[1]).square().sum())];
        all.extend(non_contiguous(&c, &d));
        all
    })
}

#[test]
fn linalg_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}
