//! Tests of `binary_math`: every function on pairs of shapes that broadcast together, checked
//! against finite differences to the second order; the remainders at quotients away from integers.

use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::check::strategy;
use crate::ops::cases::{Case, case, gradchecks, prop};
use crate::tape::Tape;

/// `(a, b)` broadcasting, with `a = q ⊙ b` for a quotient `q` at least 0.1 from every integer and
/// `|b| ≥ 0.5`, so that `fmod` and `remainder` are smooth near `(a, b)`.
fn dividend_and_divisor() -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>)> {
    const INTEGERS: &[f64] = &[-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0];
    strategy::broadcast_pair(3, 3).prop_flat_map(|(sa, sb)| {
        let out = (Tensor::<f64>::zeros(&sa) + Tensor::zeros(&sb)).shape().to_vec();
        (
            strategy::away_from_kinks(&out, -3.0..3.0, INTEGERS, 0.1),
            strategy::away_from_kinks(&sb, -2.0..2.0, &[0.0], 0.5),
        )
            .prop_map(|(q, b)| (&q * &b, b))
    })
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    let pairs = strategy::broadcast_pair(3, 3).prop_flat_map(|(sa, sb)| {
        (
            strategy::tensor(&sa, -2.0..2.0),
            strategy::positive(&sb, 0.3, 2.0),
            strategy::positive(&sa, 0.3, 2.0),
            strategy::tensor(&sb, -2.0..2.0),
        )
    });
    (pairs, dividend_and_divisor()).prop_map(|((a, p, pa, b), (n, d))| {
        let (ap, pab, with_zeros, nd) = ([a.clone(), p.clone()], [pa, b], [a.relu(), p], [n, d]);
        vec![
            case("xlogy", &ap, |v| v[0].xlogy(v[1]).sum()),
            case("xlogy where x has zeros", &with_zeros, |v| (v[0].xlogy(v[1]) * v[0]).sum()),
            case("atan2 right of the cut", &ap, |v| v[0].atan2(v[1]).sum()),
            case("atan2 above the cut", &pab, |v| v[0].atan2(v[1]).sum()),
            case("hypot", &ap, |v| v[0].hypot(v[1]).sum()),
            case("fmod", &nd, |v| (v[0].fmod(v[1]) * v[1]).sum()),
            case("remainder", &nd, |v| (v[0].remainder(v[1]) * v[1]).sum()),
        ]
    })
}

#[test]
fn binary_math_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

/// The gradients of `Σ f(a, b)` by `grad`, checked equal to `grad_graph`'s.
fn grads(
    a: &[f64],
    b: &[f64],
    f: impl for<'t> Fn(crate::var::Var<'t, f64>, crate::var::Var<'t, f64>) -> crate::var::Var<'t, f64>,
) -> (Vec<f64>, Vec<f64>) {
    let tape = Tape::<f64>::new();
    let (x, y) = (
        tape.var(Tensor::from_vec(a.to_vec(), &[a.len()]).unwrap()),
        tape.var(Tensor::from_vec(b.to_vec(), &[b.len()]).unwrap()),
    );
    let out = f(x, y).sum();
    let g = tape.grad(out, &[x, y]);
    let gg = tape.grad_graph(out, &[x, y]);
    let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
    assert_eq!(bits(g[0].to_vec()), bits(gg[0].value().to_vec()));
    assert_eq!(bits(g[1].to_vec()), bits(gg[1].value().to_vec()));
    (g[0].to_vec(), g[1].to_vec())
}

#[test]
fn xlogy_gradients_are_zero_where_x_is_zero() {
    let (ga, gb) = grads(&[0.0, 0.0, 0.0, 2.0], &[0.0, -1.0, 3.0, 4.0], |a, b| a.xlogy(b));
    // In x: ln y, 0 where x = 0 and y ≤ 0 (PyTorch's mask); in y: x / y, 0 where x = 0.
    assert_eq!(ga, vec![0.0, 0.0, 3f64.ln(), 4f64.ln()]);
    assert_eq!(gb, vec![0.0, 0.0, 0.0, 0.5]);
}

#[test]
fn fmod_and_remainder_gradients_round_the_quotient_as_pytorch() {
    let a = [-7.0, 7.0, -7.0, 7.0];
    let b = [2.0, 2.0, -2.0, -2.0];
    let (ga, gb) = grads(&a, &b, |a, b| a.fmod(b));
    assert_eq!((ga, gb), (vec![1.0; 4], vec![3.0, -3.0, -3.0, 3.0]));
    let (ga, gb) = grads(&a, &b, |a, b| a.remainder(b));
    assert_eq!((ga, gb), (vec![1.0; 4], vec![4.0, -3.0, -3.0, 4.0]));
}

#[test]
fn atan2_and_hypot_gradients_are_nan_at_the_origin_as_pytorchs() {
    let (ga, gb) = grads(&[0.0, 1.0], &[0.0, 1.0], |a, b| a.atan2(b));
    assert!(ga[0].is_nan() && gb[0].is_nan());
    assert_eq!((ga[1], gb[1]), (0.5, -0.5));
    let (ga, gb) = grads(&[0.0, 3.0], &[0.0, 4.0], |a, b| a.hypot(b));
    assert!(ga[0].is_nan() && gb[0].is_nan());
    assert_eq!((ga[1], gb[1]), (0.6, 0.8));
}
