//! Tests of `gradcheck` and `gradgradcheck`.

use std::slice::from_ref as one;

use super::*;
use crate::check::Location;
use crate::{CustomCtx, CustomOp};

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

fn opts() -> GradcheckOptions {
    GradcheckOptions::default()
}

fn entry(element: &[usize], output_element: &[usize]) -> Location {
    Location::Entry { element: element.to_vec(), output: 0, output_element: output_element.to_vec() }
}

#[test]
#[should_panic(expected = "eps must be positive")]
fn gradcheck_rejects_zero_eps() {
    let _ = gradcheck(|xs| xs[0].sum(), &[t(&[1.0], &[1])], &opts().eps(0.0));
}

// --- gradcheck on the tape ---

#[test]
fn gradcheck_passes_on_square() {
    let x = t(&[0.5, -1.0, 2.0, 3.0], &[2, 2]);
    assert_eq!(gradcheck(|xs| (xs[0] * xs[0]).sum(), one(&x), &opts()), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0] * xs[0], one(&x), &opts()), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].square().mean(), &[x], &opts()), Ok(()));
}

#[test]
fn gradcheck_passes_on_elementwise_functions() {
    let x = t(&[0.3, -1.2, 2.0, 0.7, -0.1, 1.5], &[2, 3]);
    let p = t(&[0.3, 1.2, 2.0, 0.7, 0.1, 1.5], &[2, 3]);
    let o = opts();
    assert_eq!(gradcheck(|xs| xs[0].tanh(), one(&x), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].sigmoid().sum(), one(&x), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].exp() * xs[0].sin(), one(&x), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].cos().softplus(), one(&x), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].gelu(), one(&x), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].abs() + xs[0].relu(), one(&x), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].ln() + xs[0].sqrt(), one(&p), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].powf(2.5).recip(), one(&p), &o), Ok(()));
    assert_eq!(gradcheck(|xs| (xs[0] * 3.0 - 1.0) / 2.0, &[x], &o), Ok(()));
}

#[test]
fn gradcheck_passes_on_broadcast_binary_ops() {
    let a = t(&[0.3, -1.2, 2.0, 0.7, -0.1, 1.5], &[2, 3]);
    let b = t(&[1.1, 0.4, -0.9], &[3]);
    let c = t(&[0.5, 2.0], &[2, 1]);
    let o = opts();
    assert_eq!(gradcheck(|xs| xs[0] * xs[1], &[a.clone(), b.clone()], &o), Ok(()));
    assert_eq!(gradcheck(|xs| (xs[0] + xs[1]) / xs[2], &[a.clone(), b.clone(), c.clone()], &o), Ok(()));
    assert_eq!(gradcheck(|xs| (xs[0] - xs[1]).square().sum(), &[a.clone(), c.clone()], &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].pow(xs[1]), &[c.clone(), b.clone()], &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].maximum(xs[1]), &[a, b], &o), Ok(()));
}

#[test]
fn gradcheck_passes_on_reductions() {
    let a = t(&[0.3, -1.2, 2.0, 0.7, -0.1, 1.5], &[2, 3]);
    let o = opts();
    assert_eq!(gradcheck(|xs| xs[0].sum_axes(&[1], false), one(&a), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].mean_axes(&[0], true), one(&a), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].max_axes(&[1], false), one(&a), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].min(), one(&a), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].logsumexp_axes(&[1], false), one(&a), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].var_axes(&[1], 1, false), one(&a), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].std(1), one(&a), &o), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].norm_axes(&[0], false), &[a], &o), Ok(()));
}

#[test]
fn gradcheck_passes_on_scalar_input_and_output() {
    let x = t(&[0.7], &[]);
    assert_eq!(gradcheck(|xs| (xs[0] * xs[0] * xs[0]).tanh(), &[x], &opts()), Ok(()));
}

#[test]
fn gradcheck_passes_on_identity_and_unused_inputs() {
    let a = t(&[1.0, 2.0], &[2]);
    let b = t(&[3.0], &[1]);
    assert_eq!(gradcheck(|xs| xs[0], one(&a), &opts()), Ok(()));
    // Input 1 is never used: no gradient, and a zero numeric derivative.
    assert_eq!(gradcheck(|xs| xs[0].exp(), &[a, b], &opts()), Ok(()));
}

#[test]
fn gradcheck_passes_on_empty_tensors() {
    let e = t(&[], &[2, 0]);
    let x = t(&[0.5], &[1]);
    assert_eq!(gradcheck(|xs| xs[0].exp(), one(&e), &opts()), Ok(()));
    assert_eq!(gradcheck(|xs| xs[0].sum() + xs[1].square(), &[e.clone(), x.clone()], &opts()), Ok(()));
    assert_eq!(gradgradcheck(|xs| xs[0].sum() + xs[1].square(), &[e, x], &opts().fast(2)), Ok(()));
}

#[test]
fn gradcheck_with_no_inputs_passes() {
    assert_eq!(gradcheck(|xs| xs[0], &[], &opts()), Ok(()));
}

#[test]
fn detached_input_is_a_missing_gradient() {
    let x = t(&[1.0, -2.0, 3.0, 0.5], &[4]);
    let err = gradcheck(|xs| (xs[0].detach() * 2.0).sum(), one(&x), &opts()).unwrap_err();
    assert_eq!(err.input(), 0);
    assert!(matches!(err, GradcheckError::MissingGradient { input: 0, .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("gradcheck: input 0 gets no gradient but its numeric derivative at element [0]")
    );
    // The second input detached, the first fine: the error names input 1.
    let err =
        gradcheck(|xs| xs[0].sum() + xs[1].detach().square().sum(), &[x.clone(), x], &opts()).unwrap_err();
    assert!(matches!(err, GradcheckError::MissingGradient { input: 1, .. }), "{err}");
}

#[test]
fn partly_detached_function_is_a_mismatch() {
    // d/dx (detach(x) · x) on the tape is x; the true derivative is 2x.
    let x = t(&[1.0, -2.0, 3.0], &[3]);
    let err = gradcheck(|xs| xs[0].detach() * xs[0], &[x], &opts().full()).unwrap_err();
    let GradcheckError::Mismatch { input: 0, at, analytic, numeric, .. } = &err else { panic!("{err}") };
    assert_eq!(at, &entry(&[0], &[0]));
    assert_eq!(*analytic, 1.0);
    assert!((numeric - 2.0).abs() < 1e-6);
    assert!(
        err.to_string()
            .starts_with("gradcheck: input 0, element [0] (output element [0]): analytic 1 != numeric 2")
    );
}

#[test]
fn nan_output_is_not_finite() {
    // ln(-2) is NaN: every difference of output element [1] is NaN, the first at input element [0].
    let x = t(&[1.0, -2.0], &[2]);
    let err = gradcheck(|xs| xs[0].ln(), &[x], &opts()).unwrap_err();
    assert!(matches!(err, GradcheckError::NotFinite { input: 0, .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("gradcheck: input 0, element [0] (output element [1]): analytic 0, numeric NaN"),
        "{err}"
    );
}

#[test]
fn fast_and_full_modes_agree() {
    type F = for<'t> fn(&[Var<'t, f64>]) -> Var<'t, f64>;
    let cases: [(F, bool); 6] = [
        (|xs| (xs[0] * xs[1]).tanh(), true),
        (|xs| (xs[0].exp() / (xs[1] * xs[1] + 1.0)).sum(), true),
        (|xs| xs[0].sigmoid() - xs[1].sin(), true),
        (|xs| xs[0].detach() * xs[1], false),
        (|xs| (xs[0] * xs[1].detach() * xs[1]).sum(), false),
        (|xs| xs[0] + xs[1].detach().exp(), false),
    ];
    let a = t(&[0.3, -1.2, 2.0, 0.7, -0.1, 1.5], &[2, 3]);
    let b = t(&[1.1, 0.4, -0.9], &[3]);
    for (k, (f, ok)) in cases.into_iter().enumerate() {
        let inputs = [a.clone(), b.clone()];
        let full = gradcheck(f, &inputs, &opts().full());
        let fast = gradcheck(f, &inputs, &opts().fast(3));
        assert_eq!(full.is_ok(), ok, "case {k}, full: {full:?}");
        assert_eq!(fast.is_ok(), ok, "case {k}, fast: {fast:?}");
        if let (Err(full), Err(fast)) = (&full, &fast) {
            assert_eq!(full.input(), fast.input(), "case {k}");
            assert!(matches!(fast.location(), Some(Location::Direction { .. })), "case {k}");
        }
    }
}

#[test]
fn fast_mode_is_deterministic_for_a_seed() {
    let a = t(&[0.3, -1.2, 2.0], &[3]);
    fn f<'t>(xs: &[Var<'t, f64>]) -> Var<'t, f64> {
        xs[0].detach() * xs[0]
    }
    let e1 = gradcheck(f, one(&a), &opts().fast(2).seed(5));
    let e2 = gradcheck(f, &[a], &opts().fast(2).seed(5));
    assert_eq!(e1, e2);
}

#[test]
fn auto_mode_switches_to_random_directions_when_large() {
    // 5000 input elements × 5000 output elements: far over the full-Jacobian limit.
    let x = Tensor::<f64>::rand_uniform(&[50, 100], -1.0, 1.0, &mut StdRng::seed_from_u64(1));
    assert_eq!(gradcheck(|xs| xs[0].tanh(), one(&x), &opts()), Ok(()));
    let err = gradcheck(|xs| xs[0].detach() * xs[0], one(&x), &opts()).unwrap_err();
    assert!(matches!(err.location(), Some(Location::Direction { .. })), "{err}");
    // Small problems get the full Jacobian and name the element.
    let small = t(&[1.0, 2.0], &[2]);
    let err = gradcheck(|xs| xs[0].detach() * xs[0], &[small], &opts()).unwrap_err();
    assert!(matches!(err.location(), Some(Location::Entry { .. })), "{err}");
}

#[test]
fn gradcheck_accepts_transposed_inputs() {
    let a = t(&[0.3, -1.2, 2.0, 0.7, -0.1, 1.5], &[2, 3]).t();
    let b = t(&[1.1, -0.9], &[2, 1]);
    assert_eq!(gradcheck(|xs| xs[0].matmul(xs[1]).tanh(), &[a.clone(), b.clone()], &opts()), Ok(()));
    assert_eq!(gradgradcheck(|xs| xs[0].matmul(xs[1]).tanh(), &[a, b], &opts()), Ok(()));
}

// --- custom ops: hand-written rules, right and wrong ---

/// `x²` with the rule `k·g·x`: right for `k = 2`; with `detach`, right at first order only.
struct Square {
    k: f64,
    detach: bool,
}

impl CustomOp<f64> for Square {
    fn name(&self) -> String {
        "square".into()
    }
    fn forward(&self, inputs: &[Tensor<f64>]) -> Tensor<f64> {
        inputs[0].powf(2.0)
    }
    fn backward<'t>(&self, ctx: &CustomCtx<'_, 't, f64>) -> Vec<Option<Var<'t, f64>>> {
        let x = ctx.inputs()[0];
        let x = if self.detach { x.detach() } else { x };
        vec![Some(ctx.grad() * x * self.k)]
    }
}

/// `a·b` whose rule forgets `b`.
struct MulForgetsB;

impl CustomOp<f64> for MulForgetsB {
    fn name(&self) -> String {
        "mul_forgets_b".into()
    }
    fn forward(&self, inputs: &[Tensor<f64>]) -> Tensor<f64> {
        &inputs[0] * &inputs[1]
    }
    fn backward<'t>(&self, ctx: &CustomCtx<'_, 't, f64>) -> Vec<Option<Var<'t, f64>>> {
        vec![Some(ctx.grad() * ctx.inputs()[1]), None]
    }
}

/// `x²` with a first-order rule written with tensors.
struct SquareTensors;

impl CustomOp<f64> for SquareTensors {
    fn name(&self) -> String {
        "square_tensors".into()
    }
    fn forward(&self, inputs: &[Tensor<f64>]) -> Tensor<f64> {
        inputs[0].powf(2.0)
    }
    fn backward<'t>(&self, ctx: &CustomCtx<'_, 't, f64>) -> Vec<Option<Var<'t, f64>>> {
        ctx.from_tensors(|x, _y, g| vec![Some(&(g * &x[0]) * 2.0)])
    }
}

#[test]
fn custom_op_with_right_rule_passes() {
    let x = t(&[1.0, -2.0, 3.0], &[3]);
    assert_eq!(
        gradcheck(|xs| xs[0].tape().custom(Square { k: 2.0, detach: false }, xs), one(&x), &opts()),
        Ok(())
    );
    assert_eq!(
        gradgradcheck(|xs| xs[0].tape().custom(Square { k: 2.0, detach: false }, xs), one(&x), &opts()),
        Ok(())
    );
    assert_eq!(gradcheck(|xs| xs[0].tape().custom(SquareTensors, xs).sum(), &[x], &opts()), Ok(()));
}

#[test]
fn custom_op_with_wrong_rule_fails_naming_the_entry() {
    let x = t(&[1.0, -2.0, 3.0], &[3]);
    for o in [opts().full(), opts().fast(2)] {
        let err = gradcheck(|xs| xs[0].tape().custom(Square { k: 1.0, detach: false }, xs), one(&x), &o)
            .unwrap_err();
        assert!(matches!(err, GradcheckError::Mismatch { check: Check::Grad, input: 0, .. }), "{err}");
    }
    let err = gradcheck(|xs| xs[0].tape().custom(Square { k: 1.0, detach: false }, xs), one(&x), &opts())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("gradcheck: input 0, element [0] (output element [0]): analytic 1 != numeric 2"),
        "{err}"
    );
    // Right at first order, wrong at second: the rule's x is detached, so the tape's derivative of
    // the gradient 2gx is missing while the numeric one is 2g.
    assert_eq!(
        gradcheck(|xs| xs[0].tape().custom(Square { k: 2.0, detach: true }, xs), one(&x), &opts()),
        Ok(())
    );
    let err = gradgradcheck(|xs| xs[0].tape().custom(Square { k: 2.0, detach: true }, xs), &[x], &opts())
        .unwrap_err();
    assert!(matches!(err, GradcheckError::MissingGradient { check: Check::GradGrad, input: 0, .. }), "{err}");
    assert!(
        err.to_string().starts_with(
            "gradgradcheck: input 0 gets no gradient but its numeric derivative at element [0] (element [0] of the gradient of input 0)"
        ),
        "{err}"
    );
}

#[test]
fn custom_op_that_drops_a_gradient_is_a_missing_gradient() {
    let a = t(&[1.0, -2.0], &[2]);
    let b = t(&[0.5, 3.0], &[2]);
    let err = gradcheck(|xs| xs[0].tape().custom(MulForgetsB, xs).sum(), &[a, b], &opts()).unwrap_err();
    assert!(matches!(err, GradcheckError::MissingGradient { input: 1, .. }), "{err}");
    assert!(
        err.to_string().starts_with("gradcheck: input 1 gets no gradient but its numeric derivative at element [0] (output element []) is 1.0000"),
        "{err}"
    );
}

#[test]
#[should_panic(expected = "first-order only")]
fn gradgradcheck_through_a_tensor_rule_panics_as_the_custom_op_says() {
    let x = t(&[1.0, -2.0], &[2]);
    let _ = gradgradcheck(|xs| xs[0].tape().custom(SquareTensors, xs).sum(), &[x], &opts());
}

// --- gradgradcheck ---

#[test]
fn gradgradcheck_passes_on_cube() {
    let x = t(&[0.5, -1.0, 2.0], &[3]);
    assert_eq!(gradgradcheck(|xs| (xs[0] * xs[0] * xs[0]).sum(), one(&x), &opts()), Ok(()));
    assert_eq!(gradgradcheck(|xs| xs[0].powf(3.0), &[x], &opts()), Ok(()));
}

#[test]
fn gradgradcheck_passes_on_tanh() {
    let x = t(&[0.5, -1.0, 2.0, 0.1], &[2, 2]);
    assert_eq!(gradgradcheck(|xs| xs[0].tanh(), one(&x), &opts()), Ok(()));
    assert_eq!(gradgradcheck(|xs| xs[0].sigmoid().sum(), one(&x), &opts()), Ok(()));
    assert_eq!(gradgradcheck(|xs| xs[0].gelu(), one(&x), &opts()), Ok(()));
    assert_eq!(gradgradcheck(|xs| xs[0].logsumexp(), &[x], &opts()), Ok(()));
}

#[test]
fn gradgradcheck_passes_on_product() {
    let x = t(&[0.5, -1.0, 2.0], &[3]);
    let y = t(&[1.5, 0.3], &[2, 1]);
    assert_eq!(gradgradcheck(|xs| xs[0] * xs[1], &[x.clone(), y.clone()], &opts()), Ok(()));
    assert_eq!(gradgradcheck(|xs| (xs[0] / xs[1]).exp().sum(), &[x, y], &opts()), Ok(()));
}

#[test]
fn gradgradcheck_passes_on_linear_function() {
    let x = t(&[0.5, -1.0, 2.0], &[3]);
    let y = t(&[1.5], &[1]);
    assert_eq!(gradgradcheck(|xs| xs[0] * 3.0 + 1.0, one(&x), &opts()), Ok(()));
    assert_eq!(gradgradcheck(|xs| (xs[0] - xs[1]).sum(), &[x.clone(), y], &opts()), Ok(()));
    assert_eq!(gradgradcheck(|xs| xs[0], &[x], &opts()), Ok(()));
}

#[test]
fn gradgradcheck_fails_on_wrong_second_derivative() {
    // Tape gradient of detach(x)·x² is 2·detach(x)·x: its tape derivative 2x, its numeric one 4x.
    let x = t(&[0.5, -1.0, 2.0], &[3]);
    let err = gradgradcheck(|xs| (xs[0].detach() * xs[0] * xs[0]).sum(), one(&x), &opts()).unwrap_err();
    assert!(matches!(err, GradcheckError::Mismatch { check: Check::GradGrad, input: 0, .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("gradgradcheck: input 0, element [0] (element [0] of the gradient of input 0)")
    );
    // Tape gradient of x·detach(x) is detach(x), constant on the tape; numerically it is x.
    let err = gradgradcheck(|xs| (xs[0] * xs[0].detach()).sum(), &[x], &opts()).unwrap_err();
    assert!(matches!(err, GradcheckError::MissingGradient { check: Check::GradGrad, input: 0, .. }), "{err}");
}

#[test]
fn gradgradcheck_passes_with_an_unused_input() {
    // The gradient of input 1 is None (an identically zero output of the checked function).
    let x = t(&[0.5, -1.0], &[2]);
    let y = t(&[1.5], &[1]);
    assert_eq!(gradgradcheck(|xs| xs[0].exp().sum(), &[x.clone(), y.clone()], &opts()), Ok(()));
    assert_eq!(gradgradcheck(|xs| xs[0].exp().sum(), &[x, y], &opts().fast(2)), Ok(()));
}

#[test]
fn gradgradcheck_fast_mode_agrees() {
    let x = t(&[0.5, -1.0, 2.0], &[3]);
    let y = t(&[1.5, 0.3], &[2, 1]);
    assert_eq!(gradgradcheck(|xs| (xs[0] * xs[1]).tanh(), &[x.clone(), y.clone()], &opts().fast(3)), Ok(()));
    let err =
        gradgradcheck(|xs| (xs[0].detach() * xs[0] * xs[1]).sum(), &[x, y], &opts().fast(3)).unwrap_err();
    assert_eq!(err.input(), 0);
}
