//! Tests of `math`: every function on its domain, checked against finite differences to the second
//! order, and its gradient at the edges of its domain.

use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::ops::cases::{Case, any_t, case, gradchecks, positive, prop};
use crate::tape::Tape;

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    (any_t(-2.0..2.0), any_t(-0.9..0.9), positive(0.2, 3.0), positive(1.2, 3.0)).prop_map(
        |(x, unit, p, above1)| {
            let (xs, us, ps, a1) = ([x], [unit], [p], [above1]);
            vec![
                case("atan", &xs, |v| v[0].atan().sum()),
                case("sinh", &xs, |v| v[0].sinh().sum()),
                case("cosh", &xs, |v| v[0].cosh().sum()),
                case("asinh", &xs, |v| v[0].asinh().sum()),
                case("exp2", &xs, |v| v[0].exp2().sum()),
                case("asin", &us, |v| v[0].asin().sum()),
                case("acos", &us, |v| v[0].acos().sum()),
                case("atanh", &us, |v| v[0].atanh().sum()),
                case("tan", &us, |v| v[0].tan().sum()),
                case("log2", &ps, |v| v[0].log2().sum()),
                case("log10", &ps, |v| v[0].log10().sum()),
                case("rsqrt", &ps, |v| v[0].rsqrt().sum()),
                case("acosh", &a1, |v| v[0].acosh().sum()),
            ]
        },
    )
}

#[test]
fn math_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

#[test]
fn gradients_at_the_edges_of_the_domains_are_pytorchs_infinities() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(vec![-1.0, 1.0], &[2]).unwrap());
    let g = |y: crate::var::Var<'_, f64>| tape.grad(y.sum(), &[x])[0].to_vec();
    assert_eq!(g(x.asin()), vec![f64::INFINITY; 2]);
    assert_eq!(g(x.acos()), vec![f64::NEG_INFINITY; 2]);
    assert_eq!(g(x.atanh()), vec![f64::INFINITY; 2]);
    assert_eq!(g(x.abs().acosh()), vec![-f64::INFINITY, f64::INFINITY]);
    let z = tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap());
    assert_eq!(tape.grad(z.rsqrt().sum(), &[z])[0].to_vec(), vec![f64::NEG_INFINITY]);
}
