//! Tests of `unary`: every elementwise op and the fused activation rules (`UnaryGrad`), checked
//! against finite differences to the second order (the third, for `UnaryGrad`).

use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::check::strategy;
use crate::ops::cases::{Case, any_t, away, case, gradchecks, positive, prop};
use crate::var::Var;

/// Ops that are smooth everywhere, at any values in -2..2.
fn smooth(x: &Tensor<f64>) -> Vec<Case> {
    let xs = std::slice::from_ref(x);
    vec![
        case("neg", xs, |v| v[0].neg().sum()),
        case("exp", xs, |v| (v[0].exp() * 0.5).sum()),
        case("expm1", xs, |v| v[0].expm1().sum()),
        case("square", xs, |v| v[0].square().sum()),
        case("sin", xs, |v| v[0].sin().sum()),
        case("cos", xs, |v| v[0].cos().sum()),
        case("tanh", xs, |v| v[0].tanh().sum()),
        case("sigmoid", xs, |v| v[0].sigmoid().sum()),
        case("gelu", xs, |v| v[0].gelu().sum()),
        case("softplus", xs, |v| v[0].softplus().sum()),
        case("scalar add, mul and sub", xs, |v| ((v[0] + 0.5) * 3.0 - 1.0).sum()),
        case("scalar rsub and div", xs, |v| (2.0 - v[0] / 4.0).sum()),
    ]
}

/// Ops defined (or smooth) for positive inputs only.
fn on_a_domain(x: &Tensor<f64>) -> Vec<Case> {
    let xs = std::slice::from_ref(x);
    vec![
        case("ln", xs, |v| v[0].ln().sum()),
        case("log1p", xs, |v| v[0].log1p().sum()),
        case("sqrt", xs, |v| v[0].sqrt().sum()),
        case("recip", xs, |v| v[0].recip().sum()),
        case("powf(2.5)", xs, |v| v[0].powf(2.5).sum()),
        case("powf(-1.5)", xs, |v| v[0].powf(-1.5).sum()),
        case("scalar rdiv", xs, |v| (3.0 / v[0]).sum()),
    ]
}

/// Ops with kinks, at values away from them (`near0` from 0, `near1` from ±1). Each is multiplied
/// by its input, so that its second derivative is not zero.
fn with_kinks(near0: &Tensor<f64>, near1: &Tensor<f64>) -> Vec<Case> {
    let xs = std::slice::from_ref(near0);
    vec![
        case("relu", xs, |v| (v[0].relu() * v[0]).sum()),
        case("abs", xs, |v| (v[0].abs() * v[0]).sum()),
        case("leaky_relu", xs, |v| (v[0].leaky_relu(0.1) * v[0]).sum()),
        case("clamp", std::slice::from_ref(near1), |v| (v[0].clamp(-1.0, 1.0) * v[0]).sum()),
    ]
}

/// The gradient of `Σ w ⊙ act(x)` with respect to `x`, recorded: the fused `UnaryGrad` kernel of
/// `act`, as a function of both `x` and `w`.
fn grad_of<'t>(v: &[Var<'t, f64>], act: fn(Var<'t, f64>) -> Var<'t, f64>) -> Var<'t, f64> {
    let g = v[0].tape.grad_graph((act(v[0]) * v[1]).sum(), &[v[0]])[0];
    (g * v[1]).sum()
}

/// The fused backward kernels of tanh, sigmoid, relu, gelu, silu and gelu_tanh, as ops of their own.
fn unary_grads(x: &Tensor<f64>, near0: &Tensor<f64>, w: &Tensor<f64>, w0: &Tensor<f64>) -> Vec<Case> {
    let (xw, x0w) = ([x.clone(), w.clone()], [near0.clone(), w0.clone()]);
    vec![
        case("tanh_backward", &xw, |v| grad_of(v, Var::tanh)),
        case("sigmoid_backward", &xw, |v| grad_of(v, Var::sigmoid)),
        case("gelu_backward", &xw, |v| grad_of(v, Var::gelu)),
        case("silu_backward", &xw, |v| grad_of(v, Var::silu)),
        case("gelu_tanh_backward", &xw, |v| grad_of(v, Var::gelu_tanh)),
        case("relu_backward", &x0w, |v| grad_of(v, Var::relu) * v[0].sum()),
    ]
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    let like = |x: Tensor<f64>| {
        let shape = x.shape().to_vec();
        (Just(x), strategy::tensor(&shape, -1.5..1.5))
    };
    (
        any_t(-2.0..2.0),
        positive(0.2, 3.0),
        away(&[0.0]),
        away(&[-1.0, 1.0]),
        any_t(-2.0..2.0).prop_flat_map(like),
        away(&[0.0]).prop_flat_map(like),
    )
        .prop_map(|(x, p, near0, near1, (xg, w), (x0g, w0))| {
            let mut all = smooth(&x);
            all.extend(on_a_domain(&p));
            all.extend(with_kinks(&near0, &near1));
            all.extend(unary_grads(&xg, &x0g, &w, &w0));
            all
        })
}

#[test]
fn unary_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

#[test]
fn silu_and_gelu_tanh_backward_kernels_match_their_formulas_as_tensor_ops_bit_for_bit() {
    use super::UnaryGrad;
    let x =
        Tensor::<f32>::from_vec((0..200).map(|i| (i as f32 - 100.0) * 0.061).collect(), &[8, 25]).unwrap();
    let g =
        Tensor::<f32>::from_vec((0..200).map(|i| ((i * 37 % 101) as f32) * 0.02 - 1.0).collect(), &[8, 25])
            .unwrap();
    let s = x.sigmoid();
    let silu = &(&g * &s) * &(&(&x * &(1.0 - &s)) + 1.0);
    assert_eq!(UnaryGrad::Silu.kernel(g.clone(), &x).to_vec(), silu.to_vec());

    let (c, k) = ((2.0 / std::f64::consts::PI).sqrt() as f32, 0.044715f32);
    let x2 = x.square();
    let t = (&(&(&x2 * k + 1.0) * &x) * c).tanh();
    let inner = &(&x * &(1.0 - &t.square())) * &(&x2 * (k * 3.0) + 1.0);
    let gelu_tanh = &g * &(&((&t + 1.0) * 0.5) + &(&inner * (0.5 * c)));
    assert_eq!(UnaryGrad::GeluTanh.kernel(g, &x).to_vec(), gelu_tanh.to_vec());
}
