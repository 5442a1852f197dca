//! Gradients at edge points, where a rule's formula gives 0 · ∞ or loses digits: PyTorch's answers,
//! exact, in f64 and f32, first order and through `grad_graph`.

use wengert_tensor::{Float, Tensor};

use crate::tape::Tape;
use crate::var::Var;

fn t<F: Float>(v: &[f64]) -> Tensor<F> {
    Tensor::from_vec(v.iter().map(|&x| F::from_f64(x)).collect(), &[v.len()]).unwrap()
}

/// The gradients of `f` at `xs` by `grad` and by `grad_graph`, which must agree, as f64.
fn grads<F: Float>(xs: &[&[f64]], f: impl for<'t> Fn(&[Var<'t, F>]) -> Var<'t, F>) -> Vec<Vec<f64>> {
    let tape = Tape::<F>::new();
    let vars: Vec<Var<'_, F>> = xs.iter().map(|x| tape.var(t(x))).collect();
    let y = f(&vars);
    let first: Vec<Vec<F>> = tape.grad(y, &vars).iter().map(Tensor::to_vec).collect();
    let graph: Vec<Vec<F>> = tape.grad_graph(y, &vars).iter().map(|g| g.value().to_vec()).collect();
    assert_eq!(first, graph, "grad and grad_graph differ");
    first.into_iter().map(|g| g.into_iter().map(|v| Float::to_f64(v)).collect()).collect()
}

#[test]
fn powf_zero_has_gradient_zero_even_at_zero() {
    fn check<F: Float>() {
        assert_eq!(grads::<F>(&[&[0.0, 2.0]], |v| v[0].powf(F::zero()).sum()), vec![vec![0.0, 0.0]]);
        // x^0.5 at 0 is +inf, as the mathematics says.
        assert_eq!(grads::<F>(&[&[0.0]], |v| v[0].powf(F::from_f64(0.5)).sum())[0][0], f64::INFINITY);
    }
    check::<f64>();
    check::<f32>();
}

#[test]
fn pow_at_a_zero_base_masks_as_pytorch_does() {
    fn check<F: Float>() {
        // a = 0: the gradient in b is 0 for b ≥ 0; in a it is b·0^(b-1): 0 for b = 2, 0 for b = 0.
        let g = grads::<F>(&[&[0.0, 0.0, 2.0], &[2.0, 0.0, 0.0]], |v| v[0].pow(v[1]).sum());
        assert_eq!(g[0], vec![0.0, 0.0, 0.0]);
        assert_eq!(g[1], vec![0.0, 0.0, Float::to_f64(F::from_f64(2f64.ln()))]);
        // A negative exponent at 0 stays infinite in a.
        let g = grads::<F>(&[&[0.0], &[-1.0]], |v| v[0].pow(v[1]).sum());
        assert_eq!(g[0], vec![f64::NEG_INFINITY]);
    }
    check::<f64>();
    check::<f32>();
}

#[test]
fn std_of_constant_values_has_gradient_zero() {
    fn check<F: Float>() {
        assert_eq!(grads::<F>(&[&[1.5, 1.5, 1.5]], |v| v[0].std(1)), vec![vec![0.0; 3]]);
        let g =
            grads::<F>(&[&[2.0, 2.0, 0.0, 4.0]], |v| v[0].reshape(&[2, 2]).std_axes(&[1], 0, false).sum());
        assert_eq!(g[0][..2], [0.0, 0.0]);
        assert_eq!(g[0][2..], [-0.5, 0.5]);
    }
    check::<f64>();
    check::<f32>();
}

#[test]
fn logsumexp_and_log_softmax_gradients_are_exact_at_large_logits() {
    fn check<F: Float>() {
        assert_eq!(grads::<F>(&[&[1000.0, 1000.0]], |v| v[0].logsumexp()), vec![vec![0.5, 0.5]]);
        let g = grads::<F>(&[&[1000.0, 1000.0]], |v| v[0].log_softmax(0).index_select(0, &[0]).sum());
        assert_eq!(g, vec![vec![0.5, -0.5]]);
        let g = grads::<F>(&[&[1000.0, 1000.0, -1000.0, -1000.0]], |v| {
            v[0].reshape(&[2, 2]).logsumexp_axes(&[1], false).sum()
        });
        assert_eq!(g, vec![vec![0.5; 4]]);
    }
    check::<f64>();
    check::<f32>();
}

#[test]
fn variance_past_the_count_is_infinite_or_nan_never_negative() {
    fn check<F: Float>() {
        let tape = Tape::<F>::new();
        let x = tape.var(t(&[1.0, 2.0, 3.0]));
        assert_eq!(Float::to_f64(x.var(5).item()), f64::INFINITY);
        assert_eq!(Float::to_f64(x.var(3).item()), f64::INFINITY);
        assert_eq!(Float::to_f64(x.var(2).item()), 2.0);
        assert!(tape.var(t(&[1.0, 1.0])).var(2).item().is_nan());
    }
    check::<f64>();
    check::<f32>();
}

#[test]
fn xlogy_gradients_at_a_zero_x_are_zero_in_both_inputs() {
    fn check<F: Float>() {
        let g = grads::<F>(&[&[0.0, 0.0, 0.0], &[0.0, -2.0, 2.0]], |v| v[0].xlogy(v[1]).sum());
        assert_eq!(g[0], vec![0.0, 0.0, Float::to_f64(F::from_f64(2f64.ln()))]);
        assert_eq!(g[1], vec![0.0, 0.0, 0.0]);
    }
    check::<f64>();
    check::<f32>();
}

#[test]
fn kinked_activations_take_pytorchs_gradients_on_their_kinks() {
    fn check<F: Float>() {
        let (lo, hi) = (F::from_f64(-1.0), F::from_f64(1.0));
        assert_eq!(grads::<F>(&[&[-1.0, 1.0]], |v| v[0].hardtanh(lo, hi).sum()), vec![vec![0.0, 0.0]]);
        assert_eq!(grads::<F>(&[&[0.0]], |v| v[0].elu(F::from_f64(0.5)).sum()), vec![vec![0.5]]);
        assert_eq!(grads::<F>(&[&[-3.0, 3.0]], |v| v[0].hardsigmoid().sum()), vec![vec![0.0, 0.0]]);
        assert_eq!(grads::<F>(&[&[-3.5, 3.5]], |v| v[0].hardswish().sum()), vec![vec![0.0, 1.0]]);
        assert_eq!(grads::<F>(&[&[0.0]], |v| v[0].softsign().sum()), vec![vec![1.0]]);
        let t = F::from_f64(20.0);
        assert_eq!(
            grads::<F>(&[&[25.0, 0.0]], |v| v[0].softplus_with(F::one(), t).sum()),
            vec![vec![1.0, 0.5]]
        );
    }
    check::<f64>();
    check::<f32>();
}

#[test]
fn special_functions_at_their_poles_give_infinite_gradients_not_nan() {
    fn check<F: Float>() {
        // lgamma at 0: its gradient is digamma(+0) = -inf, as PyTorch's.
        assert_eq!(grads::<F>(&[&[0.0]], |v| v[0].lgamma().sum()), vec![vec![f64::NEG_INFINITY]]);
        // digamma at 0: polygamma(1, 0) = +inf.
        assert_eq!(grads::<F>(&[&[0.0]], |v| v[0].digamma().sum()), vec![vec![f64::INFINITY]]);
        // erf far out: e^(-x²) underflows to 0, never NaN.
        assert_eq!(grads::<F>(&[&[40.0, -40.0]], |v| v[0].erf().sum()), vec![vec![0.0, 0.0]]);
    }
    check::<f64>();
    check::<f32>();
}
