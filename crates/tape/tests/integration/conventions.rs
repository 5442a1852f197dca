//! Exact gradients at non-differentiable points, and stability at extreme inputs.

use wengert_tape::Tape;
use wengert_tensor::Tensor;

fn t(v: &[f64]) -> Tensor<f64> {
    Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
}

#[test]
fn relu_and_abs_have_zero_gradient_at_zero() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[-1.0, 0.0, 2.0]));
    assert_eq!(tape.grad(x.relu().sum(), &[x])[0].to_vec(), vec![0.0, 0.0, 1.0]);
    assert_eq!(tape.grad(x.abs().sum(), &[x])[0].to_vec(), vec![-1.0, 0.0, 1.0]);
}

#[test]
fn sqrt_has_infinite_gradient_at_zero() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[0.0, 4.0]));
    assert_eq!(tape.grad(x.sqrt().sum(), &[x])[0].to_vec(), vec![f64::INFINITY, 0.25]);
}

#[test]
fn clamp_passes_gradient_one_at_its_bounds() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[-2.0, -1.0, 0.0, 1.0, 2.0]));
    assert_eq!(tape.grad(x.clamp(-1.0, 1.0).sum(), &[x])[0].to_vec(), vec![0.0, 1.0, 1.0, 1.0, 0.0]);
}

#[test]
fn max_and_min_reductions_split_ties_equally() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[3.0, 1.0, 3.0, 1.0]));
    assert_eq!(tape.grad(x.max(), &[x])[0].to_vec(), vec![0.5, 0.0, 0.5, 0.0]);
    assert_eq!(tape.grad(x.min(), &[x])[0].to_vec(), vec![0.0, 0.5, 0.0, 0.5]);
    let m = tape.var(Tensor::from_vec(vec![1.0, 1.0, 1.0, 0.0, 2.0, 2.0], &[2, 3]).unwrap());
    let g = tape.grad(m.max_axes(&[1], false).sum(), &[m]).remove(0);
    let third = 1.0 / 3.0;
    assert_eq!(g.to_vec(), vec![third, third, third, 0.0, 0.5, 0.5]);
}

#[test]
fn maximum_and_minimum_split_ties_equally() {
    let tape = Tape::<f64>::new();
    let a = tape.var(t(&[1.0, 2.0, 3.0]));
    let b = tape.var(t(&[2.0, 2.0, 2.0]));
    let g = tape.grad(a.maximum(b).sum(), &[a, b]);
    assert_eq!(g[0].to_vec(), vec![0.0, 0.5, 1.0]);
    assert_eq!(g[1].to_vec(), vec![1.0, 0.5, 0.0]);
    let g = tape.grad(a.minimum(b).sum(), &[a, b]);
    assert_eq!(g[0].to_vec(), vec![1.0, 0.5, 0.0]);
    assert_eq!(g[1].to_vec(), vec![0.0, 0.5, 1.0]);
}

#[test]
fn norm_has_zero_gradient_at_zero() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[0.0, 0.0]));
    assert_eq!(tape.grad(x.norm(), &[x])[0].to_vec(), vec![0.0, 0.0]);
}

#[test]
fn log_softmax_and_logsumexp_of_huge_logits_are_finite_and_right() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1000.0, -1000.0, 1000.0]));
    let lse = x.logsumexp();
    assert_eq!(lse.item(), 1000.0 + 2f64.ln());
    // e^(x - lse) loses the last digits to the rounding of 1000 + ln 2, as in PyTorch.
    let g = tape.grad(lse, &[x]).remove(0).to_vec();
    assert!(g.iter().zip([0.5, 0.0, 0.5]).all(|(a, b)| (a - b).abs() < 1e-12), "{g:?}");
    let ls = x.log_softmax(0);
    assert_eq!(ls.value().to_vec(), vec![-(2f64.ln()), -2000.0 - 2f64.ln(), -(2f64.ln())]);
    let g = tape.grad(ls.narrow(0, 1, 1).sum(), &[x]).remove(0);
    assert!(g.to_vec().iter().all(|v| v.is_finite()));
    assert!(g.to_vec().iter().zip([-0.5, 1.0, -0.5]).all(|(a, b)| (a - b).abs() < 1e-12), "{g:?}");
}

#[test]
fn activation_gradients_are_finite_at_plus_minus_100_in_f32() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::from_vec(vec![-100.0f32, 100.0], &[2]).unwrap());
    for (name, y) in [("sigmoid", x.sigmoid()), ("softplus", x.softplus()), ("tanh", x.tanh())] {
        let g = tape.grad(y.sum(), &[x]).remove(0).to_vec();
        assert!(g.iter().all(|v| v.is_finite()), "{name}: {g:?}");
    }
    let g = tape.grad(x.softplus().sum(), &[x]).remove(0).to_vec();
    assert!(g[0] >= 0.0 && g[0] < 1e-40 && g[1] == 1.0, "{g:?}"); // sigmoid(-100) = 3.7e-44
}
