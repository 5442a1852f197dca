//! Tests of `cumulative`: cumsum, cumprod (with zeros), logcumsumexp, vector norms of every order
//! and max/min with indices, along any axis of contiguous and permuted (non-contiguous) inputs,
//! checked against finite differences to the second order; and their PyTorch conventions.

use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::check::strategy;
use crate::ops::cases::{Case, case, gradchecks, prop};
use crate::tape::Tape;

/// `x` with the elements whose position's bit is set in `mask` (position mod 16) set to 0.
pub(crate) fn with_zeros(x: &Tensor<f64>, mask: u16) -> Tensor<f64> {
    let v =
        x.to_vec().into_iter().enumerate().map(|(i, v)| if mask & (1 << (i % 16)) != 0 { 0.0 } else { v });
    Tensor::from_vec(v.collect(), x.shape()).expect("same shape")
}

/// `x` with its axes reversed: a non-contiguous leaf when it has two or more, and the axis that
/// was `axis` of `x`.
fn reversed(x: &Tensor<f64>, axis: usize) -> (Tensor<f64>, usize) {
    let order: Vec<usize> = (0..x.ndim()).rev().collect();
    (x.permute(&order), x.ndim() - 1 - axis)
}

/// A tensor of 1 to 3 dims from `values`, an axis of it, and whether to permute it first.
fn along(
    values: impl Fn(&[usize]) -> BoxedStrategy<Tensor<f64>> + 'static,
) -> impl Strategy<Value = (Tensor<f64>, usize)> {
    strategy::shape_in(1..=3, 1..=3)
        .prop_flat_map(move |s| (values(&s), 0..s.len(), any::<bool>()))
        .prop_map(|(x, axis, permute)| if permute { reversed(&x, axis) } else { (x, axis) })
}

fn scans((x, axis): (Tensor<f64>, usize), zeros: u16) -> Vec<Case> {
    let xs = std::slice::from_ref(&x);
    let z = [with_zeros(&x, zeros)];
    vec![
        case("cumsum", xs, move |v| v[0].cumsum(axis).square()),
        case("cumprod", xs, move |v| v[0].cumprod(axis)),
        case("cumprod with zeros", &z, move |v| v[0].cumprod(axis)),
        case("logcumsumexp", xs, move |v| v[0].logcumsumexp(axis)),
        case("prod_axes with zeros", &z, move |v| v[0].prod_axes(&[axis], false)),
        case("prod with zeros", &z, |v| v[0].prod()),
    ]
}

/// Norms of orders 1, 0.5, 3 and 2.5 over `axis` of values away from 0, and of every axis.
fn norms((x, axis): (Tensor<f64>, usize), keep: bool) -> Vec<Case> {
    let xs = std::slice::from_ref(&x);
    let mut all: Vec<Case> = [1.0, 0.5, 3.0, 2.5]
        .into_iter()
        .map(|p| case(format!("vector_norm({p})"), xs, move |v| v[0].vector_norm(p, &[axis], keep)))
        .collect();
    let every: Vec<usize> = (0..x.ndim()).collect();
    all.push(case("vector_norm(3) of all", xs, move |v| v[0].vector_norm(3.0, &every, false)));
    all
}

/// ±∞ norms, max and min with indices, of values whose magnitudes are distinct.
fn extremes((x, axis): (Tensor<f64>, usize), keep: bool) -> Vec<Case> {
    let xs = std::slice::from_ref(&x);
    vec![
        case("vector_norm(inf)", xs, move |v| v[0].vector_norm(f64::INFINITY, &[axis], keep)),
        case("vector_norm(-inf)", xs, move |v| v[0].vector_norm(f64::NEG_INFINITY, &[axis], keep).square()),
        case("max_axis_with_indices", xs, move |v| v[0].max_axis_with_indices(axis, keep).0.square()),
        case("min_axis_with_indices", xs, move |v| v[0].min_axis_with_indices(axis, keep).0 * 3.0),
    ]
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    let smooth = along(|s| strategy::tensor(s, -2.0..2.0).boxed());
    let away = along(|s| strategy::away_from_kinks(s, -2.0..2.0, &[0.0], 0.05).boxed());
    let distinct = along(|s| strategy::distinct(s, 0.2..2.0, 0.05).boxed());
    (smooth, any::<u16>(), away, distinct, any::<bool>()).prop_map(|(a, zeros, n, d, keep)| {
        let mut all = scans(a, zeros);
        all.extend(norms(n, keep));
        all.extend(extremes(d, keep));
        all
    })
}

#[test]
fn cumulative_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

fn t(v: &[f64]) -> Tensor<f64> {
    Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
}

/// The gradient of `Σ f` at `x`, and the gradient of the sum of that gradient (second order).
fn grads(
    x: Tensor<f64>,
    f: impl for<'t> Fn(crate::var::Var<'t, f64>) -> crate::var::Var<'t, f64>,
) -> (Vec<f64>, Vec<f64>) {
    let tape = Tape::<f64>::new();
    let v = tape.var(x);
    let g = tape.grad_graph(f(v).sum(), &[v])[0];
    let gg = tape.grad_opt(g.sum(), &[v]).remove(0);
    // A gradient that does not depend on `x` has no second order: 0.
    (g.value().to_vec(), gg.map_or_else(|| vec![0.0; g.len()], |gg| gg.to_vec()))
}

#[test]
fn prod_grads_with_zeros_follow_pytorch() {
    // One zero: its gradient is the product of the others, the rest get 0.
    let (g, gg) = grads(t(&[0.0, 2.0, 3.0]), |x| x.prod());
    assert_eq!(g, vec![6.0, 0.0, 0.0]);
    // d/dx of (x1 x2, x0 x2, x0 x1) summed: (x1 + x2, x0 + x2, x0 + x1).
    assert_eq!(gg, vec![5.0, 3.0, 2.0]);
    // Two zeros: every gradient is 0; the second order is not.
    let (g, gg) = grads(t(&[0.0, 0.0, 3.0]), |x| x.prod());
    assert_eq!(g, vec![0.0, 0.0, 0.0]);
    assert_eq!(gg, vec![3.0, 3.0, 0.0]);
    let (g, _) =
        grads(Tensor::from_vec(vec![0.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap(), |x| x.prod_axes(&[0], true));
    assert_eq!(g, vec![3.0, 4.0, 0.0, 2.0]);
}

#[test]
fn cumprod_grads_with_zeros_are_exact() {
    // y = (x0, x0 x1, x0 x1 x2, x0 x1 x2 x3) at (2, 0, 3, 0).
    let (g, gg) = grads(t(&[2.0, 0.0, 3.0, 0.0]), |x| x.cumprod(0));
    assert_eq!(g, vec![1.0, 2.0 + 6.0, 0.0, 0.0]);
    assert!(gg.iter().all(|v| v.is_finite()), "{gg:?}");
}

#[test]
fn logcumsumexp_is_stable_for_large_and_infinite_inputs() {
    let (g, gg) = grads(t(&[1000.0, 1000.0, -1000.0]), |x| x.logcumsumexp(0));
    // y2's softmax weights are (1/2, 1/2, ~0): gradients 1 + 1/2 + 1/2, 1/2 + 1/2, ~0.
    assert!((g[0] - 2.0).abs() < 1e-12 && (g[1] - 1.0).abs() < 1e-12 && g[2].abs() < 1e-12, "{g:?}");
    assert!(gg.iter().all(|v| v.is_finite()), "{gg:?}");
    let tape = Tape::<f64>::new();
    let y = tape.var(t(&[f64::NEG_INFINITY, 0.0])).logcumsumexp(0);
    assert_eq!(y.value().to_vec(), vec![f64::NEG_INFINITY, 0.0]);
}

#[test]
fn vector_norm_grads_are_zero_at_zero_for_every_order() {
    for p in [1.0, 2.0, 0.5, 3.0, f64::INFINITY, f64::NEG_INFINITY] {
        let (g, gg) = grads(Tensor::zeros(&[2, 2]), move |x| x.vector_norm(p, &[1], false));
        assert_eq!(g, vec![0.0; 4], "ord {p}");
        assert!(gg.iter().all(|v| v.is_finite()), "ord {p}: {gg:?}");
        // An element at 0 in a non-zero norm gets 0 too (sign(0) = 0), as PyTorch.
        let (g, _) = grads(t(&[0.0, 3.0]), move |x| x.vector_norm(p, &[0], false));
        assert!(g[0] == 0.0 && g[1].is_finite(), "ord {p}: {g:?}");
    }
}

#[test]
fn vector_norm_orders_keepdim_and_ties_follow_pytorch() {
    let x = t(&[3.0, -3.0, 1.0]);
    let (g, _) = grads(x.clone(), |x| x.vector_norm(f64::INFINITY, &[0], false));
    assert_eq!(g, vec![0.5, -0.5, 0.0]); // ties share, as torch.linalg.vector_norm
    let (g, _) = grads(x.clone(), |x| x.vector_norm(f64::NEG_INFINITY, &[0], false));
    assert_eq!(g, vec![0.0, 0.0, 1.0]);
    let tape = Tape::<f64>::new();
    let v = tape.var(Tensor::from_vec(vec![3.0, 4.0, 0.0, 1.0], &[2, 2]).unwrap());
    assert_eq!(v.vector_norm(2.0, &[1], true).value().shape(), &[2, 1]);
    let y = v.vector_norm(3.0, &[0, 1], false).value();
    assert!((y.item() - 92f64.cbrt()).abs() < 1e-12 && y.shape().is_empty());
    assert_eq!(v.vector_norm(1.0, &[], false).value().to_vec(), vec![3.0, 4.0, 0.0, 1.0]);
}

#[test]
#[should_panic(expected = "vector_norm: ord 0 is not supported")]
fn vector_norm_rejects_order_zero() {
    let tape = Tape::<f64>::new();
    tape.var(t(&[1.0])).vector_norm(0.0, &[0], false);
}

#[test]
#[should_panic(expected = "cumprod")]
fn cumprod_rejects_an_axis_out_of_range() {
    let tape = Tape::<f64>::new();
    tape.var(t(&[1.0])).cumprod(1);
}

#[test]
fn max_and_min_with_indices_send_the_gradient_to_the_first_tie() {
    let (g, _) = grads(t(&[2.0, 5.0, 5.0]), |x| x.max_axis_with_indices(0, false).0);
    assert_eq!(g, vec![0.0, 1.0, 0.0]);
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(vec![1.0, 1.0, 0.0, 4.0], &[2, 2]).unwrap());
    let (v, i) = x.min_axis_with_indices(1, true);
    assert_eq!((v.value().shape().to_vec(), i.shape().to_vec()), (vec![2, 1], vec![2, 1]));
    assert_eq!(i.into_raw_vec_and_offset().0, vec![0, 0]);
    assert_eq!(v.sum().backward()[x].to_vec(), vec![1.0, 0.0, 1.0, 0.0]);
}

#[test]
fn cumulative_values_match_the_tensor_kernels() {
    let x = Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.0, 1.5, -0.5], &[2, 3]).unwrap().t();
    let tape = Tape::<f64>::new();
    let v = tape.var(x.clone());
    for axis in 0..2 {
        let close = |a: Tensor<f64>, b: Tensor<f64>| {
            a.to_vec().iter().zip(b.to_vec()).all(|(a, b)| (a - b).abs() < 1e-12 || a == &b)
        };
        assert!(close(v.cumsum(axis).value(), x.cumsum(axis)));
        assert!(close(v.cumprod(axis).value(), x.cumprod(axis)));
        assert!(close(v.logcumsumexp(axis).value(), x.logcumsumexp(axis)));
    }
}
