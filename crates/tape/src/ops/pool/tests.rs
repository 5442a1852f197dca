//! Tests of `pool`: max, average and adaptive average pooling with each option in play (stride,
//! padding, non-square and overlapping windows, dilation, ceil_mode, count_include_pad), checked
//! against finite differences to the second order, also of the square of each; and where max
//! pooling sends the gradient on ties.

use proptest::prelude::*;
use wengert_tensor::{Pool1dOptions, Pool2dOptions, Tensor};

use crate::check::strategy;
use crate::ops::cases::{Case, case, gradchecks, prop};
use crate::tape::Tape;
use crate::var::Var;

/// The case of `f` and the case of its square, named `op, what`.
fn and_square(
    op: &str,
    what: &str,
    x: &Tensor<f64>,
    f: impl for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64> + Clone + 'static,
) -> [Case; 2] {
    let g = f.clone();
    let xs = std::slice::from_ref(x);
    [case(format!("{op}, {what}"), xs, f), case(format!("{op}, {what}, squared"), xs, move |v| g(v).square())]
}

/// Window options of each kind.
fn pool_options() -> Vec<(&'static str, Pool2dOptions)> {
    vec![
        ("2x2", Pool2dOptions::new((2, 2))),
        ("3x3, stride 2, padding 1", Pool2dOptions::new((3, 3)).stride((2, 2)).padding((1, 1))),
        ("non-square, overlapping", Pool2dOptions::new((2, 3)).stride((1, 2)).padding((1, 1))),
    ]
}

/// Every pool on `distinct` values (no ties for a max to flip between), `x` and `a` any values.
fn pools(distinct: &Tensor<f64>, x: &Tensor<f64>, a: &Tensor<f64>) -> Vec<Case> {
    let mut all = Vec::new();
    for (what, o) in pool_options() {
        all.extend(and_square("max_pool2d", what, distinct, move |v| v[0].max_pool2d(&o)));
        all.extend(and_square("avg_pool2d", what, x, move |v| v[0].avg_pool2d(&o)));
    }
    let ceil = Pool2dOptions::new((3, 3)).stride((2, 2)).padding((1, 1)).ceil_mode(true);
    let max_only = [
        ("dilated, padding 1", Pool2dOptions::new((3, 2)).stride((1, 1)).padding((1, 1)).dilation((2, 2))),
        ("2x2, ceil", Pool2dOptions::new((2, 2)).ceil_mode(true)),
        ("3x3, stride 2, padding 1, ceil", ceil),
    ];
    for (what, o) in max_only {
        all.extend(and_square("max_pool2d", what, distinct, move |v| v[0].max_pool2d(&o)));
    }
    let avg_only = [
        ("2x2, ceil", Pool2dOptions::new((2, 2)).ceil_mode(true)),
        ("3x3, stride 2, padding 1, ceil", ceil),
        ("3x3, stride 2, padding 1, count_include_pad false", ceil.ceil_mode(false).count_include_pad(false)),
        ("3x3, stride 2, padding 1, ceil, count_include_pad false", ceil.count_include_pad(false)),
    ];
    for (what, o) in avg_only {
        all.extend(and_square("avg_pool2d", what, x, move |v| v[0].avg_pool2d(&o)));
    }
    // The 1-D pools over [N, C · H, W], a reshape of the same inputs.
    let rows = |t: &Tensor<f64>| {
        let s = t.shape();
        t.reshape(&[s[0], s[1] * s[2], s[3]]).unwrap()
    };
    let one_d = [
        ("3, stride 2, padding 1, ceil", Pool1dOptions::new(3).stride(2).padding(1).ceil_mode(true)),
        (
            "3, stride 1, padding 1, count_include_pad false",
            Pool1dOptions::new(3).stride(1).padding(1).count_include_pad(false),
        ),
    ];
    for (what, o) in one_d {
        all.extend(and_square("max_pool1d", what, &rows(distinct), move |v| v[0].max_pool1d(&o)));
        all.extend(and_square("avg_pool1d", what, &rows(x), move |v| v[0].avg_pool1d(&o)));
    }
    let dilated = Pool1dOptions::new(2).stride(1).padding(1).dilation(3);
    all.extend(and_square("max_pool1d", "dilated", &rows(distinct), move |v| v[0].max_pool1d(&dilated)));
    for (what, out) in [("1x1", (1, 1)), ("3x2", (3, 2)), ("2x4", (2, 4))] {
        all.extend(and_square("adaptive_avg_pool2d", what, a, move |v| v[0].adaptive_avg_pool2d(out)));
    }
    all
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    (
        strategy::distinct(&[2, 2, 5, 6], -2.0..2.0, 0.01),
        strategy::tensor(&[2, 2, 5, 6], -1.0..1.0),
        strategy::tensor(&[2, 2, 5, 4], -1.0..1.0),
    )
        .prop_map(|(distinct, x, a)| pools(&distinct, &x, &a))
}

#[test]
fn pool_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

#[test]
fn max_pool2d_sends_the_gradient_to_the_first_maximum_on_ties() {
    let tape = Tape::<f64>::new();
    let x = Tensor::from_vec(vec![2.0, 7.0, 7.0, 1.0, 7.0, 7.0, 3.0, 3.0, 3.0], &[1, 1, 3, 3]).unwrap();
    let x = tape.var(x);
    let y = x.max_pool2d(&Pool2dOptions::new((2, 2)).stride((1, 1)));
    assert_eq!(y.value().to_vec(), vec![7.0, 7.0, 7.0, 7.0]);
    let g = tape.constant(Tensor::from_vec(vec![1.0, 10.0, 100.0, 1000.0], &[1, 1, 2, 2]).unwrap());
    let grads = (y * g).sum().backward();
    // Windows (0, 0) and (0, 1) take the 7 at index 1, the first in row-major order; windows (1, 0)
    // and (1, 1) take the 7 at index 4.
    assert_eq!(grads[x].to_vec(), vec![0.0, 11.0, 0.0, 0.0, 1100.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn one_d_pools_are_the_two_d_pools_on_one_row() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(vec![1.0, 4.0, 2.0, 3.0, 0.0, 5.0], &[1, 2, 3]).unwrap());
    let o = Pool1dOptions::new(2).stride(1).padding(1).count_include_pad(false);
    assert_eq!(x.avg_pool1d(&o).value().to_vec(), vec![1.0, 2.5, 3.0, 2.0, 3.0, 1.5, 2.5, 5.0]);
    let y = x.max_pool1d(&Pool1dOptions::new(2).ceil_mode(true));
    assert_eq!(y.value().to_vec(), vec![4.0, 2.0, 3.0, 5.0]);
    assert_eq!(y.shape(), vec![1, 2, 2]);
    assert_eq!(y.sum().backward()[x].to_vec(), vec![0.0, 1.0, 1.0, 1.0, 0.0, 1.0]);
}

#[test]
#[should_panic(expected = "max_pool1d: input [2, 3] must be 3-D [N, C, L]")]
fn max_pool1d_rejects_a_2d_input() {
    let tape = Tape::<f64>::new();
    tape.var(Tensor::zeros(&[2, 3])).max_pool1d(&Pool1dOptions::new(2));
}
