//! Tests of `special`: every function, checked against finite differences to the second order, and
//! the lgamma → digamma → polygamma chain to the fourth.

use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::ops::cases::{Case, any_t, case, gradchecks, positive, prop};
use crate::tape::Tape;

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    (any_t(-2.0..2.0), any_t(-0.9..0.9), positive(0.3, 3.0), positive(0.2, 0.8)).prop_map(
        |(x, unit, p, frac)| {
            let (xs, us, ps, fs) = ([x], [unit], [p], [frac]);
            vec![
                case("erf", &xs, |v| v[0].erf().sum()),
                case("erfc", &xs, |v| v[0].erfc().sum()),
                case("erfinv", &us, |v| v[0].erfinv().sum()),
                case("lgamma", &ps, |v| v[0].lgamma().sum()),
                case("lgamma below 0", &fs, |v| (-v[0]).lgamma().sum()),
                case("digamma", &ps, |v| v[0].digamma().sum()),
                case("digamma below 0", &fs, |v| (-v[0]).digamma().sum()),
                case("polygamma(1)", &ps, |v| v[0].polygamma(1).sum()),
                case("polygamma(2)", &ps, |v| (v[0].polygamma(2) * 0.1).sum()),
            ]
        },
    )
}

#[test]
fn special_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

#[test]
fn lgamma_derivatives_are_polygammas_at_every_order() {
    // d^k/dx^k lgamma at 1: -γ, ζ(2), -2ζ(3), 6ζ(4) (30-digit values).
    let want = [-0.5772156649015329, 1.6449340668482264, -2.4041138063191885, 6.493939402266829];
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    let mut y = x.lgamma();
    for w in want {
        y = tape.grad_graph(y.sum(), &[x])[0];
        assert!((y.item() - w).abs() < 1e-13 * w.abs(), "{} vs {w}", y.item());
    }
}

#[test]
fn polygamma_order_is_an_option_and_digamma_is_order_zero() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(vec![0.5, 2.5], &[2]).unwrap());
    assert_eq!(x.digamma().value().to_vec(), x.polygamma(0).value().to_vec());
    let p3 = x.polygamma(3).value().to_vec();
    assert!((p3[0] - 97.40909103400244).abs() < 1e-11 && (p3[1] - 0.22390584881725206).abs() < 1e-14);
    // The gradient of polygamma(3) is polygamma(4).
    let g = tape.grad(x.polygamma(3).sum(), &[x])[0].to_vec();
    assert_eq!(g, x.polygamma(4).value().to_vec());
}

#[test]
fn erfinv_gradient_is_infinite_at_one_and_erf_undoes_it() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(vec![1.0, -0.3], &[2]).unwrap());
    let g = tape.grad(x.erfinv().sum(), &[x])[0].to_vec();
    assert_eq!(g[0], f64::INFINITY);
    // d/dx erf(erfinv x) = 1.
    let g = tape.grad(x.erfinv().erf().sum(), &[x])[0].to_vec();
    assert!((g[1] - 1.0).abs() < 1e-14, "{g:?}");
}
