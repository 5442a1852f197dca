//! Tests of `softmax`: softmax and log_softmax on every axis, and on a transposed input, checked
//! against finite differences to the second order.

use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::check::strategy;
use crate::ops::cases::{Case, any_t, case, gradchecks, prop};

/// softmax and log_softmax of `x` on `axis`, weighted by `w` (the first elements of a 27-vector),
/// so that the gradient is not zero. None for a scalar, which has no axis.
fn on_axis(x: &Tensor<f64>, axis: u8, w: &Tensor<f64>) -> Vec<Case> {
    if x.ndim() == 0 {
        return Vec::new();
    }
    let axis = axis as usize % x.ndim();
    let xs = std::slice::from_ref(x);
    let w = w.narrow(0, 0, x.len()).reshape(x.shape()).unwrap();
    let (w1, w2, wt) = (w.clone(), w.clone(), w.t());
    vec![
        case("softmax", xs, move |v| (v[0].softmax(axis) * &w1).sum()),
        case("log_softmax", xs, move |v| (v[0].log_softmax(axis) * &w2).sum()),
        case("log_softmax of a transpose", xs, move |v| (v[0].t().log_softmax(0) * &wt).sum()),
    ]
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    (any_t(-3.0..3.0), any::<u8>(), strategy::tensor(&[27], -1.0..1.0))
        .prop_map(|(x, axis, w)| on_axis(&x, axis, &w))
}

#[test]
fn softmax_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}
