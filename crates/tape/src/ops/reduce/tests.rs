//! Tests of `reduce`: every reduction over any subset of the axes, kept or not, checked against
//! finite differences to the second order (max and min without ties, norm away from zero).

use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::check::strategy;
use crate::ops::cases::{Case, any_t, away, case, gradchecks, prop};

/// A tensor, a subset of its axes, and whether to keep them.
fn with_axes(
    values: impl Strategy<Value = Tensor<f64>> + 'static,
) -> impl Strategy<Value = (Tensor<f64>, Vec<usize>, bool)> {
    (values, any::<u8>(), any::<bool>()).prop_map(|(x, mask, keep)| {
        let axes: Vec<usize> = (0..x.ndim()).filter(|i| mask & (1 << i) != 0).collect();
        (x, axes, keep)
    })
}

/// sum, mean, logsumexp and prod over `axes`, and over everything.
fn smooth((x, axes, keep): (Tensor<f64>, Vec<usize>, bool)) -> Vec<Case> {
    let xs = std::slice::from_ref(&x);
    let (a1, a2, a3, a4) = (axes.clone(), axes.clone(), axes.clone(), axes);
    vec![
        case("sum_axes", xs, move |v| v[0].sum_axes(&a1, keep).square().sum()),
        case("mean_axes", xs, move |v| v[0].mean_axes(&a2, keep).square().sum()),
        case("logsumexp_axes", xs, move |v| v[0].logsumexp_axes(&a3, keep).sum()),
        case("sum and mean", xs, |v| (v[0].sum() * v[0].mean()).sum()),
        case("logsumexp", xs, |v| v[0].logsumexp()),
        case("prod_axes", xs, move |v| v[0].prod_axes(&a4, keep)),
        case("prod", xs, |v| v[0].prod()),
    ]
}

/// norm over `axes` and over everything, of values away from 0.
fn norms((x, axes, keep): (Tensor<f64>, Vec<usize>, bool)) -> Vec<Case> {
    let xs = std::slice::from_ref(&x);
    vec![case("norm_axes", xs, move |v| v[0].norm_axes(&axes, keep).sum()), case("norm", xs, |v| v[0].norm())]
}

/// max and min over `axes` and over everything, of distinct values.
fn extremes((x, axes, keep): (Tensor<f64>, Vec<usize>, bool)) -> Vec<Case> {
    let xs = std::slice::from_ref(&x);
    let (a1, a2) = (axes.clone(), axes);
    vec![
        case("max_axes", xs, move |v| (v[0].max_axes(&a1, keep) * 2.0).sum()),
        case("min_axes", xs, move |v| v[0].min_axes(&a2, keep).square().sum()),
        case("max and min", xs, |v| v[0].max() + v[0].min()),
    ]
}

/// var and std over axis 0 of a matrix of distinct values, with either correction.
fn spreads((x, correction, keep): (Tensor<f64>, usize, bool)) -> Vec<Case> {
    let xs = std::slice::from_ref(&x);
    vec![
        case("var_axes", xs, move |v| v[0].var_axes(&[0], correction, keep).sum()),
        case("std_axes", xs, move |v| v[0].std_axes(&[0], correction, keep).sum()),
        case("var and std", xs, move |v| v[0].var(correction) + v[0].std(correction)),
    ]
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    let distinct = strategy::shape(3, 3).prop_flat_map(|s| strategy::distinct(&s, -2.0..2.0, 0.01));
    let matrix = (2usize..4, 1usize..4).prop_flat_map(|(m, n)| strategy::distinct(&[m, n], -2.0..2.0, 0.05));
    (
        with_axes(any_t(-2.0..2.0)),
        with_axes(away(&[0.0])),
        with_axes(distinct),
        (matrix, 0usize..2, any::<bool>()),
    )
        .prop_map(|(s, n, e, v)| {
            let mut all = smooth(s);
            all.extend(norms(n));
            all.extend(extremes(e));
            all.extend(spreads(v));
            all
        })
}

#[test]
fn reduce_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}
