//! Convolutions and pools, gradient-checked in f64 against finite differences, first order
//! (gradcheck) and second order (gradgradcheck), on small shapes with each option in play: stride 2,
//! padding, dilation 2, groups 2, output padding, non-square kernels.
#![cfg(feature = "proptest")]

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck};
use wengert_tape::{Tape, Var};
use wengert_tensor::{Conv1dOptions, Conv2dOptions, ConvTranspose2dOptions, Pool2dOptions, Tensor};

/// Smooth, distinct values of `shape`.
fn t(shape: &[usize], salt: f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| ((i as f64 + salt) * 0.83).sin()).collect(), shape).unwrap()
}

/// Values of `shape` at least 0.1 apart (a permutation of a grid): no ties for a max to flip between.
fn spaced(shape: &[usize]) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    let p = (0..).map(|k| 7919 + k).find(|k| gcd(*k, n) == 1).unwrap();
    Tensor::from_vec((0..n).map(|i| ((i * p) % n) as f64 * 0.1 - 1.0).collect(), shape).unwrap()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// gradcheck of `f`, and gradgradcheck of `f` and of `f` squared (whose second derivative runs
/// the rules of the rules with a gradient that depends on the inputs).
fn both<Fun>(what: &str, f: Fun, inputs: &[Tensor<f64>])
where
    Fun: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
{
    let opts = GradcheckOptions::default();
    gradcheck(&f, inputs, &opts).unwrap_or_else(|e| panic!("{what}: first order: {e}"));
    gradgradcheck(&f, inputs, &opts).unwrap_or_else(|e| panic!("{what}: second order: {e}"));
    gradgradcheck(|v| f(v).square(), inputs, &opts)
        .unwrap_or_else(|e| panic!("{what}: second order of the square: {e}"));
}

fn conv_cases() -> Vec<(&'static str, [usize; 4], [usize; 4], Conv2dOptions)> {
    let d = Conv2dOptions::default();
    vec![
        ("plain, non-square kernel", [2, 3, 4, 4], [2, 3, 3, 2], d),
        ("stride 2 and padding", [1, 2, 5, 6], [2, 2, 3, 3], d.stride((2, 2)).padding((1, 1))),
        ("dilation 2", [1, 2, 6, 5], [2, 2, 2, 3], d.dilation((2, 2))),
        ("groups 2", [2, 4, 4, 3], [4, 2, 2, 2], d.groups(2)),
        (
            "all at once",
            [1, 4, 6, 5],
            [2, 2, 3, 2],
            d.stride((2, 1)).padding((1, 2)).dilation((2, 1)).groups(2),
        ),
    ]
}

#[test]
fn conv2d_grads_match_finite_differences() {
    for (what, xs, ws, o) in conv_cases() {
        both(what, |v| v[0].conv2d(v[1], &o), &[t(&xs, 0.0), t(&ws, 1.0)]);
    }
}

#[test]
fn conv2d_weight_adjoint_grads_match_finite_differences() {
    for (what, xs, ws, o) in conv_cases() {
        let x = t(&xs, 0.0);
        let gy = t(x.conv2d(&t(&ws, 1.0), &o).shape(), 2.0);
        both(what, |v| v[0].conv2d_weight_adjoint(v[1], (ws[2], ws[3]), &o), &[x.clone(), gy]);
    }
}

#[test]
fn conv_transpose2d_grads_match_finite_differences() {
    let d = ConvTranspose2dOptions::default();
    let cases = [
        ("plain, non-square kernel", [1, 2, 3, 3], [2, 3, 2, 3], d),
        (
            "stride 2, padding, output padding",
            [2, 2, 3, 2],
            [2, 2, 3, 3],
            ConvTranspose2dOptions { stride: (2, 2), padding: (1, 1), output_padding: (1, 0), ..d },
        ),
        (
            "dilation 2, groups 2",
            [1, 4, 3, 3],
            [4, 1, 2, 3],
            ConvTranspose2dOptions { dilation: (2, 2), groups: 2, ..d },
        ),
    ];
    for (what, xs, ws, o) in cases {
        both(what, |v| v[0].conv_transpose2d(v[1], &o), &[t(&xs, 0.0), t(&ws, 1.0)]);
    }
}

#[test]
fn conv1d_grads_match_finite_differences() {
    let o = Conv1dOptions { stride: 2, padding: 1, dilation: 2, groups: 2 };
    both("conv1d", |v| v[0].conv1d(v[1], &o), &[t(&[2, 4, 7], 0.0), t(&[4, 2, 3], 1.0)]);
    both(
        "conv1d plain",
        |v| v[0].conv1d(v[1], &Conv1dOptions::default()),
        &[t(&[1, 2, 5], 0.0), t(&[3, 2, 2], 1.0)],
    );
}

fn pool_cases() -> Vec<(&'static str, Pool2dOptions)> {
    vec![
        ("2x2", Pool2dOptions::new((2, 2))),
        ("3x3, stride 2, padding 1", Pool2dOptions::new((3, 3)).stride((2, 2)).padding((1, 1))),
        ("non-square, overlapping", Pool2dOptions::new((2, 3)).stride((1, 2)).padding((1, 1))),
    ]
}

#[test]
fn max_pool2d_grads_match_finite_differences() {
    for (what, o) in pool_cases() {
        both(what, |v| v[0].max_pool2d(&o), &[spaced(&[2, 2, 5, 6])]);
    }
}

#[test]
fn avg_pool2d_grads_match_finite_differences() {
    for (what, o) in pool_cases() {
        both(what, |v| v[0].avg_pool2d(&o), &[t(&[2, 2, 5, 6], 0.0)]);
    }
}

#[test]
fn adaptive_avg_pool2d_grads_match_finite_differences() {
    for out in [(1, 1), (3, 2), (2, 4)] {
        both("adaptive", |v| v[0].adaptive_avg_pool2d(out), &[t(&[2, 2, 5, 4], 0.0)]);
    }
}

#[test]
fn max_pool2d_sends_the_gradient_to_the_first_maximum_on_ties() {
    let tape = Tape::<f64>::new();
    let x =
        tape.var(Tensor::from_vec(vec![2.0, 7.0, 7.0, 1.0, 7.0, 7.0, 3.0, 3.0, 3.0], &[1, 1, 3, 3]).unwrap());
    let y = x.max_pool2d(&Pool2dOptions::new((2, 2)).stride((1, 1)));
    assert_eq!(y.value().to_vec(), vec![7.0, 7.0, 7.0, 7.0]);
    let g = tape.constant(Tensor::from_vec(vec![1.0, 10.0, 100.0, 1000.0], &[1, 1, 2, 2]).unwrap());
    let grads = (y * g).sum().backward();
    // Windows (0, 0) and (0, 1) take the 7 at index 1, the first in row-major order; windows (1, 0)
    // and (1, 1) take the 7 at index 4.
    assert_eq!(grads[x].to_vec(), vec![0.0, 11.0, 0.0, 0.0, 1100.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn conv_and_pool_ops_record_their_names() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1, 1, 4, 4], 0.0));
    let w = tape.var(t(&[1, 1, 2, 2], 1.0));
    let y = x.conv2d(w, &Conv2dOptions::default()).max_pool2d(&Pool2dOptions::new((3, 3)));
    let summary = tape.summary().to_string();
    assert!(summary.contains("conv2d") && summary.contains("max_pool2d"), "{summary}");
    assert_eq!(y.shape(), vec![1, 1, 1, 1]);
}

/// A conv2d of random sizes and options.
fn any_conv() -> impl Strategy<Value = ([usize; 4], [usize; 4], Conv2dOptions)> {
    (1..3usize, 1..3usize, 1..4usize, 1..4usize, 1..3usize, 1..3usize, 0..2usize, 0..3usize, 0..3usize)
        .prop_map(|(g, og, kh, kw, s, d, p, eh, ew)| {
            let (h, w) = (
                (d * (kh - 1) + 1).saturating_sub(2 * p).max(1) + eh,
                (d * (kw - 1) + 1).saturating_sub(2 * p).max(1) + ew,
            );
            let o = Conv2dOptions::default().stride((s, s)).padding((p, p)).dilation((d, d)).groups(g);
            ([1, g, h, w], [g * og, 1, kh, kw], o)
        })
}

#[test]
fn conv2d_grads_match_finite_differences_over_random_options() {
    let config = Config { cases: 16, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&any_conv(), |(xs, ws, o)| {
        let inputs = [t(&xs, 0.5), t(&ws, 1.5)];
        let opts = GradcheckOptions::default();
        gradcheck(|v| v[0].conv2d(v[1], &o).square(), &inputs, &opts)
            .map_err(|e| TestCaseError::fail(format!("first order: {e}")))?;
        gradgradcheck(|v| v[0].conv2d(v[1], &o).square(), &inputs, &opts)
            .map_err(|e| TestCaseError::fail(format!("second order: {e}")))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
