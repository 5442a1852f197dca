//! Tests of `index`, and the finite-difference helpers `check` and `check2` that `shape` shares.

use proptest::prelude::*;
use wengert_tensor::Tensor;
use wengert_tensor::ndarray::{ArrayD, IxDyn, arr1, arr2, arr3};

use crate::ops::cases::{Case, case, cube, gradchecks, prop};
use crate::tape::Tape;
use crate::var::Var;

/// Distinct, non-trivial values of `shape`.
pub(crate) fn seq(shape: &[usize]) -> Tensor<f64> {
    let n = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| (i as f64 * 0.37).cos() * 1.5 + 0.1 * i as f64).collect(), shape).unwrap()
}

fn weighted<'t>(y: Var<'t, f64>, salt: f64) -> Var<'t, f64> {
    let n = y.len();
    let w: Vec<f64> = (0..n).map(|i| ((i as f64 + 1.0) * 0.754 + salt).sin() + 0.25).collect();
    (y * y.constant(Tensor::from_vec(w, &y.shape()).unwrap())).sum()
}

fn zeros_for_none(gs: Vec<Option<Tensor<f64>>>, xs: &[Tensor<f64>]) -> Vec<Tensor<f64>> {
    gs.into_iter().zip(xs).map(|(g, x)| g.unwrap_or_else(|| Tensor::zeros(x.shape()))).collect()
}

/// `Σ_k Σ w_k ⊙ ∂y/∂x_k` as computed by first-order `grad`: the function the second order checks.
fn first_order_sum<Fun: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>(f: &Fun, xs: &[Tensor<f64>]) -> f64 {
    let tape = Tape::new();
    let vars: Vec<_> = xs.iter().map(|x| tape.var(x.clone())).collect();
    let gs = zeros_for_none(tape.grad_opt(weighted(f(&vars), 0.0), &vars), xs);
    gs.iter().enumerate().map(|(k, g)| weighted(tape.constant(g.clone()), 1.0 + k as f64).item()).sum()
}

fn compare(what: &str, k: usize, analytic: &Tensor<f64>, x: &Tensor<f64>, numeric: impl Fn(usize) -> f64) {
    assert_eq!(analytic.shape(), x.shape(), "{what}: gradient of input {k} has the wrong shape");
    for (i, a) in analytic.to_vec().into_iter().enumerate() {
        let n = numeric(i);
        assert!(
            (a - n).abs() <= 1e-5 + 1e-3 * n.abs(),
            "{what}: input {k}, element {i}: analytic {a}, numeric {n}"
        );
    }
}

/// Central difference of `f` in element `i` of input `k`.
fn central(f: impl Fn(&[Tensor<f64>]) -> f64, xs: &[Tensor<f64>], k: usize, i: usize) -> f64 {
    let eps = 1e-6;
    let at = |d: f64| {
        let mut v = xs[k].to_vec();
        v[i] += d;
        let mut ys = xs.to_vec();
        ys[k] = Tensor::from_vec(v, xs[k].shape()).unwrap();
        f(&ys)
    };
    (at(eps) - at(-eps)) / (2.0 * eps)
}

/// Checks `grad` (and that `grad_graph` agrees) of `Σ w ⊙ f(xs)` against finite differences.
pub(crate) fn check<Fun: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>(xs: &[Tensor<f64>], f: Fun) {
    let tape = Tape::new();
    let vars: Vec<_> = xs.iter().map(|x| tape.var(x.clone())).collect();
    let y = weighted(f(&vars), 0.0);
    let gs = zeros_for_none(tape.grad_opt(y, &vars), xs);
    let graph = tape.grad_graph_opt(y, &vars);
    let value = |xs: &[Tensor<f64>]| {
        let tape = Tape::new();
        let vars: Vec<_> = xs.iter().map(|x| tape.var(x.clone())).collect();
        weighted(f(&vars), 0.0).item()
    };
    for (k, x) in xs.iter().enumerate() {
        compare("first order", k, &gs[k], x, |i| central(value, xs, k, i));
        if let Some(g) = graph[k] {
            assert_eq!(g.value().to_vec(), gs[k].to_vec(), "grad_graph and grad differ for input {k}");
        }
    }
}

/// Checks the gradient of `grad_graph`'s first-order gradients against finite differences of the
/// first-order gradients.
pub(crate) fn check2<Fun: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>(xs: &[Tensor<f64>], f: Fun) {
    let tape = Tape::new();
    let vars: Vec<_> = xs.iter().map(|x| tape.var(x.clone())).collect();
    let gs = tape.grad_graph_opt(weighted(f(&vars), 0.0), &vars);
    let z = gs
        .iter()
        .enumerate()
        .filter_map(|(k, g)| g.map(|g| weighted(g, 1.0 + k as f64)))
        .reduce(|a, b| a + b);
    let hs = match z {
        Some(z) => zeros_for_none(tape.grad_opt(z, &vars), xs),
        None => xs.iter().map(|x| Tensor::zeros(x.shape())).collect(),
    };
    for (k, x) in xs.iter().enumerate() {
        compare("second order", k, &hs[k], x, |i| central(|xs| first_order_sum(&f, xs), xs, k, i));
    }
}

#[test]
fn index_select_grads_match_finite_differences() {
    check(&[seq(&[3, 2])], |v| v[0].index_select(0, &[2, 0, 2]));
    check(&[seq(&[2, 3])], |v| v[0].t().index_select(1, &[1, 1]));
    check(&[seq(&[1, 4])], |v| v[0].index_select(0, &[0, 0]).index_select(1, &[3, 0]));
    check(&[seq(&[2, 3])], |v| v[0].index_select(1, &[]).sum() + v[0].index_select(0, &[1]));
}

#[test]
fn gather_grads_match_finite_differences() {
    let index = arr2(&[[1, 1, 0], [0, 2, 2]]).into_dyn();
    check(&[seq(&[2, 3])], |v| v[0].gather(1, &index));
    check(&[seq(&[3, 2])], |v| v[0].t().gather(1, &index));
    // An index smaller than x off the axis, and a size-1 dim.
    let small = arr3(&[[[0], [0]]]).into_dyn();
    check(&[seq(&[1, 3, 2])], |v| v[0].gather(2, &small));
    check(&[seq(&[3])], |v| v[0].gather(0, &arr1(&[2, 2, 0, 1]).into_dyn()));
}

#[test]
fn scatter_add_grads_match_finite_differences() {
    let index = arr2(&[[2, 0], [2, 1]]).into_dyn();
    check(&[seq(&[3, 2]), seq(&[2, 2])], |v| v[0].scatter_add(0, &index, v[1]));
    // src larger than the index, x transposed.
    let small = arr2(&[[1], [0]]).into_dyn();
    check(&[seq(&[3, 2]), seq(&[2, 3])], |v| v[0].t().scatter_add(1, &small, v[1]));
    // Only src differentiated.
    let zeros = Tensor::zeros(&[3]);
    check(&[seq(&[3])], |v| v[0].constant(zeros.clone()).scatter_add(0, &arr1(&[1, 1, 0]).into_dyn(), v[0]));
}

#[test]
fn index_second_order_grads_match_finite_differences() {
    check2(&[seq(&[3, 2])], |v| v[0].index_select(0, &[2, 0, 2]).square());
    check2(&[seq(&[3, 2])], |v| v[0].t().index_select(1, &[1, 1]).square());
    let index = arr2(&[[1, 1, 0], [0, 2, 2]]).into_dyn();
    check2(&[seq(&[2, 3])], |v| v[0].gather(1, &index).square());
    let small = arr2(&[[1], [0]]).into_dyn();
    check2(&[seq(&[2, 3]), seq(&[2, 2])], |v| (v[0].scatter_add(1, &small, v[1]) * v[0]).exp());
}

#[test]
fn index_ops_are_named() {
    let tape = Tape::<f64>::new();
    let x = tape.var(seq(&[3]));
    let y = x.index_select(0, &[1]).gather(0, &arr1(&[0]).into_dyn());
    assert_eq!(tape.node(y.id).op.name(), "gather");
}

/// index_select, gather and scatter_add of a `cube()` along its middle axis, with indices from `seed`
/// (repeated and missing ones included).
fn along_the_middle(x: &Tensor<f64>, seed: u64) -> Vec<Case> {
    let sh = x.shape().to_vec();
    let xs = std::slice::from_ref(x);
    let pick: Vec<usize> = (0..4).map(|i| ((seed >> (i * 4)) as usize) % sh[1]).collect();
    let index = ArrayD::from_shape_fn(IxDyn(&[sh[0], 2, sh[2]]), |ix| {
        ((seed as usize).wrapping_mul(31).wrapping_add(ix[0] * 7 + ix[1] * 3 + ix[2])) % sh[1]
    });
    let src =
        Tensor::from_vec((0..index.len()).map(|i| i as f64 * 0.1 - 0.3).collect(), index.shape()).unwrap();
    let i2 = index.clone();
    vec![
        case("index_select", xs, move |v| v[0].index_select(1, &pick).square().sum()),
        case("gather", xs, move |v| v[0].gather(1, &index).square().sum()),
        case("scatter_add", &[x.clone(), src], move |v| v[0].scatter_add(1, &i2, v[1]).square().sum()),
    ]
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    (cube(), any::<u64>()).prop_map(|((x, _), seed)| along_the_middle(&x, seed))
}

#[test]
fn index_grads_match_finite_differences_over_random_shapes() {
    prop(cases(), gradchecks);
}
