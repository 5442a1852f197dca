//! Tests of `activation`: every activation and its options, checked against finite differences to
//! the second order; kinked ones at values away from their kinks, each times its input so that its
//! second derivative is not zero.

use proptest::prelude::*;
use wengert_tensor::{SELU_ALPHA, SELU_SCALE, Tensor};

use crate::check::strategy;
use crate::ops::cases::{Case, any_t, away, case, gradchecks, prop};
use crate::tape::Tape;

/// A tensor of a random shape with values in -4.5..4.5 at least 0.05 from each kink.
fn wide(kinks: &'static [f64]) -> impl Strategy<Value = Tensor<f64>> {
    strategy::shape(3, 3).prop_flat_map(move |s| strategy::away_from_kinks(&s, -4.5..4.5, kinks, 0.05))
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    (any_t(-2.0..2.0), away(&[0.0]), away(&[-1.0, 1.0]), wide(&[-0.5, 1.5]), wide(&[-3.0, 3.0]), wide(&[1.0]))
        .prop_map(|(x, near0, near1, bounds, near3, thr)| {
            let (xs, x0, x1) = ([x], [near0], [near1]);
            let (xb, x3, xt) = ([bounds], [near3], [thr]);
            vec![
                case("gelu_tanh", &xs, |v| v[0].gelu_tanh().sum()),
                case("silu", &xs, |v| v[0].silu().sum()),
                case("mish", &xs, |v| v[0].mish().sum()),
                case("softplus(beta=2, threshold=20)", &xs, |v| v[0].softplus_with(2.0, 20.0).sum()),
                case("softplus(beta=-1, threshold=20)", &xs, |v| v[0].softplus_with(-1.0, 20.0).sum()),
                case("elu(1)", &x0, |v| (v[0].elu(1.0) * v[0]).sum()),
                case("elu(0.3)", &x0, |v| (v[0].elu(0.3) * v[0]).sum()),
                case("selu", &x0, |v| (v[0].selu() * v[0]).sum()),
                case("softsign", &x0, |v| v[0].softsign().sum()),
                case("hardtanh(-1, 1)", &x1, |v| (v[0].hardtanh(-1.0, 1.0) * v[0]).sum()),
                case("hardtanh(-0.5, 1.5)", &xb, |v| (v[0].hardtanh(-0.5, 1.5) * v[0]).sum()),
                case("hardsigmoid", &x3, |v| (v[0].hardsigmoid() * v[0]).sum()),
                case("hardswish", &x3, |v| (v[0].hardswish() * v[0]).sum()),
                case("softplus(beta=1, threshold=1)", &xt, |v| (v[0].softplus_with(1.0, 1.0) * v[0]).sum()),
                case("softplus(beta=0.5, threshold=0.5)", &xt, |v| {
                    (v[0].softplus_with(0.5, 0.5) * v[0]).sum()
                }),
            ]
        })
}

#[test]
fn activation_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

/// The first derivative of `f` at each of `xs`, by `grad` and (checked equal) `grad_graph`.
fn slope(xs: &[f64], f: impl for<'t> Fn(crate::var::Var<'t, f64>) -> crate::var::Var<'t, f64>) -> Vec<f64> {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(xs.to_vec(), &[xs.len()]).unwrap());
    let y = f(x).sum();
    let g = tape.grad(y, &[x])[0].to_vec();
    assert_eq!(g, tape.grad_graph(y, &[x])[0].value().to_vec());
    g
}

#[test]
fn elu_and_selu_options_set_the_negative_side_and_its_gradient() {
    // PyTorch: d/dx elu = 1 above 0, alpha·e^x at and below 0 (alpha at 0).
    assert_eq!(slope(&[-1.0, 0.0, 1.0], |x| x.elu(0.5)), vec![0.5 * (-1f64).exp(), 0.5, 1.0]);
    let g = slope(&[-1.0, 0.0, 1.0], |x| x.selu());
    let want = [SELU_SCALE * SELU_ALPHA * (-1f64).exp(), SELU_SCALE * SELU_ALPHA, SELU_SCALE];
    for (a, b) in g.iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{g:?} vs {want:?}");
    }
}

#[test]
fn hardtanh_bounds_are_options_with_gradient_zero_on_them() {
    assert_eq!(slope(&[-0.5, 0.0, 1.5, 2.0], |x| x.hardtanh(-0.5, 1.5)), vec![0.0, 1.0, 0.0, 0.0]);
    // clamp's gradient is 1 on its bounds; hardtanh's is 0, as PyTorch's.
    assert_eq!(slope(&[-1.0, 1.0], |x| x.clamp(-1.0, 1.0)), vec![1.0, 1.0]);
    assert_eq!(slope(&[-1.0, 1.0], |x| x.hardtanh(-1.0, 1.0)), vec![0.0, 0.0]);
}

#[test]
#[should_panic(expected = "hardtanh: min 1 must not be above max -1")]
fn hardtanh_on_a_var_rejects_min_above_max() {
    let tape = Tape::<f64>::new();
    tape.var(Tensor::from_vec(vec![0.0], &[1]).unwrap()).hardtanh(1.0, -1.0);
}

#[test]
fn softplus_beta_and_threshold_follow_pytorch() {
    // Above the threshold (beta·x > threshold) softplus is x and its gradient 1; at it, σ(beta·x).
    let g = slope(&[10.0, 10.5, 0.0], |x| x.softplus_with(2.0, 20.0));
    assert_eq!(g, vec![1.0 / (1.0 + (-20f64).exp()), 1.0, 0.5]);
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(vec![10.5, 1.0], &[2]).unwrap());
    let y = x.softplus_with(2.0, 20.0).value().to_vec();
    assert_eq!(y, vec![10.5, (1.0 + 2f64.exp()).ln() / 2.0]);
}

#[test]
fn hard_activations_take_pytorchs_gradients_at_their_kinks() {
    assert_eq!(slope(&[-3.0, 0.0, 3.0], |x| x.hardsigmoid()), vec![0.0, 1.0 / 6.0, 0.0]);
    let g = slope(&[-3.0, 3.0, 3.5, -3.5], |x| x.hardswish());
    for (a, b) in g.iter().zip([-0.5, 1.5, 1.0, 0.0]) {
        assert!((a - b).abs() < 1e-15, "{g:?}");
    }
}

#[test]
fn gelu_tanh_is_the_tanh_approximation_not_the_exact_gelu() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(vec![1.0], &[1]).unwrap());
    let (exact, approx) = (x.gelu().item(), x.gelu_tanh().item());
    assert!((approx - 0.8411919906082767).abs() < 1e-15 && (exact - 0.8413447460685429).abs() < 1e-15);
    // d/dx at 1, PyTorch's gelu_backward(approximate='tanh'), evaluated to 30 digits.
    assert!((slope(&[1.0], |x| x.gelu_tanh())[0] - 1.0829640838457826).abs() < 1e-14);
}
