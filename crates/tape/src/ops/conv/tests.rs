//! Tests of `conv`: conv2d, conv_transpose2d, conv2d_weight_adjoint and conv1d with each option in
//! play (stride 2, padding, dilation 2, groups 2, output padding, non-square kernels), and conv2d
//! over random options, checked against finite differences to the second order, also of the square
//! of each (whose second derivative runs the rules of the rules with a gradient that depends on the
//! inputs).

use proptest::prelude::*;
use wengert_tensor::{Conv1dOptions, Conv2dOptions, ConvTranspose1dOptions, ConvTranspose2dOptions, Tensor};

use crate::check::strategy;
use crate::ops::cases::{Case, case, gradchecks, prop};
use crate::tape::Tape;
use crate::var::Var;

/// The case of `f` and the case of its square, named `op, what`.
fn and_square(
    op: &str,
    what: &str,
    inputs: &[Tensor<f64>],
    f: impl for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64> + Clone + 'static,
) -> [Case; 2] {
    let g = f.clone();
    [
        case(format!("{op}, {what}"), inputs, f),
        case(format!("{op}, {what}, squared"), inputs, move |v| g(v).square()),
    ]
}

/// `f` with a constant weight and with a constant input, so that the rule is asked for one
/// gradient only. Both cases take both tensors; the constant one does not reach the output.
fn one_sided(
    op: &str,
    what: &str,
    xw: &[Tensor<f64>],
    f: impl for<'t> Fn(Var<'t, f64>, Var<'t, f64>) -> Var<'t, f64> + Clone + 'static,
) -> [Case; 2] {
    let (x, w, g) = (xw[0].clone(), xw[1].clone(), f.clone());
    [
        case(format!("{op}, {what}, of a constant weight"), xw, move |v| f(v[0], v[0].constant(w.clone()))),
        case(format!("{op}, {what}, of a constant input"), xw, move |v| g(v[1].constant(x.clone()), v[1])),
    ]
}

/// Input and weight shapes of conv2d with each option.
fn conv_options() -> Vec<(&'static str, [usize; 4], [usize; 4], Conv2dOptions)> {
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

/// Input and weight shapes of conv_transpose2d with each option.
fn transpose_options() -> Vec<(&'static str, [usize; 4], [usize; 4], ConvTranspose2dOptions)> {
    let d = ConvTranspose2dOptions::default();
    vec![
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
    ]
}

/// Input and weight shapes of conv_transpose1d with each option.
fn transpose1d_options() -> Vec<(&'static str, [usize; 3], [usize; 3], ConvTranspose1dOptions)> {
    let d = ConvTranspose1dOptions::default();
    vec![
        ("plain", [2, 2, 3], [2, 3, 2], d),
        ("stride 2", [1, 2, 3], [2, 1, 3], ConvTranspose1dOptions { stride: 2, ..d }),
        ("padding 1", [1, 1, 4], [1, 2, 3], ConvTranspose1dOptions { padding: 1, ..d }),
        (
            "stride 3, output padding 2",
            [1, 2, 2],
            [2, 1, 2],
            ConvTranspose1dOptions { stride: 3, output_padding: 2, ..d },
        ),
        ("dilation 2", [1, 1, 3], [1, 2, 2], ConvTranspose1dOptions { dilation: 2, ..d }),
        ("groups 2", [1, 4, 3], [4, 1, 2], ConvTranspose1dOptions { groups: 2, ..d }),
        (
            "all at once",
            [2, 4, 3],
            [4, 2, 3],
            ConvTranspose1dOptions { stride: 2, padding: 1, output_padding: 1, dilation: 2, groups: 2 },
        ),
    ]
}

/// A conv2d of random sizes and options: input and weight shapes.
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

/// Values of `shapes` in -1..1, one tensor a shape.
fn values<const N: usize>(shapes: [&[usize]; N]) -> impl Strategy<Value = Vec<Tensor<f64>>> + use<N> {
    shapes.into_iter().map(|s| strategy::tensor(s, -1.0..1.0)).collect::<Vec<_>>()
}

/// The cases of each fixed option set, with random values.
pub(crate) fn fixed() -> impl Strategy<Value = Vec<Case>> {
    let conv = conv_options().into_iter().map(|(what, xs, ws, o)| {
        let gy = Tensor::<f64>::zeros(&xs).conv2d(&Tensor::zeros(&ws), &o).shape().to_vec();
        (Just((what, ws, o)), values([&xs, &ws]), strategy::tensor(&gy, -1.0..1.0))
    });
    let transposed = transpose_options()
        .into_iter()
        .map(|(what, xs, ws, o)| (Just((what, o)), values([&xs, &ws])))
        .collect::<Vec<_>>();
    let conv1d = (values([&[2, 4, 7], &[4, 2, 3]]), values([&[1, 2, 5], &[3, 2, 2]]));
    let transposed1d = transpose1d_options()
        .into_iter()
        .map(|(what, xs, ws, o)| (Just((what, o)), values([&xs, &ws])))
        .collect::<Vec<_>>();
    let fixed = (conv.collect::<Vec<_>>(), transposed, conv1d, transposed1d);
    fixed.prop_map(|(conv, transposed, (c1, c1plain), transposed1d)| {
        let mut all = Vec::new();
        for ((what, ws, o), xw, gy) in conv {
            all.extend(and_square("conv2d", what, &xw, move |v| v[0].conv2d(v[1], &o)));
            all.extend(one_sided("conv2d", what, &xw, move |x, w| x.conv2d(w, &o)));
            let adjoint = [xw[0].clone(), gy];
            let kernel = (ws[2], ws[3]);
            all.extend(and_square("conv2d_weight_adjoint", what, &adjoint, move |v| {
                v[0].conv2d_weight_adjoint(v[1], kernel, &o)
            }));
        }
        for ((what, o), xw) in transposed {
            all.extend(and_square("conv_transpose2d", what, &xw, move |v| v[0].conv_transpose2d(v[1], &o)));
            all.extend(one_sided("conv_transpose2d", what, &xw, move |x, w| x.conv_transpose2d(w, &o)));
        }
        let o = Conv1dOptions { stride: 2, padding: 1, dilation: 2, groups: 2 };
        all.extend(and_square("conv1d", "stride 2, padding, dilation 2, groups 2", &c1, move |v| {
            v[0].conv1d(v[1], &o)
        }));
        let plain = Conv1dOptions::default();
        all.extend(and_square("conv1d", "plain", &c1plain, move |v| v[0].conv1d(v[1], &plain)));
        for ((what, o), xw) in transposed1d {
            all.extend(and_square("conv_transpose1d", what, &xw, move |v| v[0].conv_transpose1d(v[1], &o)));
            all.extend(one_sided("conv_transpose1d", what, &xw, move |x, w| x.conv_transpose1d(w, &o)));
        }
        all
    })
}

/// conv2d over random sizes and options, squared.
pub(crate) fn random() -> impl Strategy<Value = Vec<Case>> {
    any_conv().prop_flat_map(|(xs, ws, o)| (Just(o), values([&xs, &ws]))).prop_map(|(o, xw)| {
        vec![case("conv2d of random options, squared", &xw, move |v| v[0].conv2d(v[1], &o).square())]
    })
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    (fixed(), random()).prop_map(|(mut all, more)| {
        all.extend(more);
        all
    })
}

#[test]
fn conv_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

#[test]
fn conv_and_pool_ops_record_their_names() {
    let tape = Tape::<f64>::new();
    let t = |shape: &[usize]| {
        Tensor::from_vec((0..shape.iter().product()).map(|i| (i as f64).sin()).collect(), shape).unwrap()
    };
    let x = tape.var(t(&[1, 1, 4, 4]));
    let w = tape.var(t(&[1, 1, 2, 2]));
    let y = x.conv2d(w, &Conv2dOptions::default()).max_pool2d(&wengert_tensor::Pool2dOptions::new((3, 3)));
    let summary = tape.summary().to_string();
    assert!(summary.contains("conv2d") && summary.contains("max_pool2d"), "{summary}");
    assert_eq!(y.shape(), vec![1, 1, 1, 1]);
}

#[test]
#[should_panic(expected = "conv1d: input [1, 3, 5], weight [2, 2, 3]")]
fn conv1d_on_vars_speaks_of_its_own_3d_shapes() {
    let tape = crate::Tape::<f64>::new();
    let x = tape.var(wengert_tensor::Tensor::ones(&[1, 3, 5]));
    let w = tape.var(wengert_tensor::Tensor::ones(&[2, 2, 3]));
    x.conv1d(w, &wengert_tensor::Conv1dOptions::default());
}

/// conv_transpose1d of `x` `[N, C, L]` by `w` `[C, O / groups, k]` by its definition: each input
/// element scatters `x[n, c, i] · w[c, o, t]` to output position `i·s - p + t·d` of the group's channel.
fn naive_transpose1d(x: &Tensor<f64>, w: &Tensor<f64>, o: &ConvTranspose1dOptions) -> Tensor<f64> {
    let (&[n, c, l], &[_, og, k]) = (x.shape(), w.shape()) else { unreachable!("3-D by construction") };
    let lo = (l - 1) * o.stride + o.dilation * (k - 1) + o.output_padding + 1 - 2 * o.padding;
    let (x, w, cg) = (x.to_vec(), w.to_vec(), c / o.groups);
    let mut y = vec![0.0; n * og * o.groups * lo];
    for (b, ci, i, oo, t) in positions(n, c, l, og, k) {
        let Some(j) = (i * o.stride + t * o.dilation).checked_sub(o.padding).filter(|&j| j < lo) else {
            continue;
        };
        let out = (ci / cg) * og + oo;
        y[(b * og * o.groups + out) * lo + j] += x[(b * c + ci) * l + i] * w[(ci * og + oo) * k + t];
    }
    Tensor::from_vec(y, &[n, og * o.groups, lo]).unwrap()
}

/// Every `(sample, input channel, position, output channel in the group, tap)`.
fn positions(
    n: usize,
    c: usize,
    l: usize,
    og: usize,
    k: usize,
) -> impl Iterator<Item = (usize, usize, usize, usize, usize)> {
    (0..n).flat_map(move |b| {
        (0..c).flat_map(move |ci| {
            (0..l).flat_map(move |i| (0..og).flat_map(move |oo| (0..k).map(move |t| (b, ci, i, oo, t))))
        })
    })
}

#[test]
fn conv_transpose1d_matches_its_definition_with_each_option_on_tensors_and_vars() {
    let sines = |shape: &[usize], f: f64| {
        Tensor::from_vec((0..shape.iter().product()).map(|i| (i as f64 * f).sin()).collect(), shape).unwrap()
    };
    for (what, xs, ws, o) in transpose1d_options() {
        let (x, w) = (sines(&xs, 0.7), sines(&ws, 1.3));
        let want = naive_transpose1d(&x, &w, &o);
        let got = x.conv_transpose1d(&w, &o);
        assert_eq!(got.shape(), want.shape(), "{what}");
        for (a, b) in got.to_vec().iter().zip(want.to_vec()) {
            assert!((a - b).abs() < 1e-12, "{what}: {got:?} vs {want:?}");
        }
        let tape = Tape::<f64>::new();
        let y = tape.var(x).conv_transpose1d(tape.var(w), &o);
        assert_eq!(y.value(), got, "{what}");
    }
}

#[test]
fn conv_transpose1d_has_pytorchs_output_length() {
    // PyTorch: (L - 1)·stride - 2·padding + dilation·(k - 1) + output_padding + 1.
    let o = ConvTranspose1dOptions { stride: 3, padding: 2, output_padding: 1, dilation: 2, groups: 1 };
    let y = Tensor::<f64>::ones(&[2, 3, 5]).conv_transpose1d(&Tensor::ones(&[3, 4, 4]), &o);
    assert_eq!(y.shape(), &[2, 4, 4 * 3 - 4 + 2 * 3 + 1 + 1]);
}

#[test]
#[should_panic(
    expected = "conv_transpose1d: input [1, 1, 3], weight [1, 1, 2]: output padding 2 must be below the stride 2"
)]
fn conv_transpose1d_speaks_of_its_own_output_padding() {
    let o = ConvTranspose1dOptions { stride: 2, output_padding: 2, ..Default::default() };
    Tensor::<f64>::ones(&[1, 1, 3]).conv_transpose1d(&Tensor::ones(&[1, 1, 2]), &o);
}

#[test]
#[should_panic(
    expected = "conv_transpose1d: input [1, 2, 3], weight [3, 1, 2]: the weight is for 3 input channels, the input has 2"
)]
fn conv_transpose1d_on_vars_speaks_of_its_own_3d_shapes() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::ones(&[1, 2, 3]));
    x.conv_transpose1d(tape.var(Tensor::ones(&[3, 1, 2])), &ConvTranspose1dOptions::default());
}

#[test]
#[should_panic(expected = "conv_transpose1d: input [1, 2, 3], weight [2, 1, 2, 2]: both must be 3-D")]
fn conv_transpose1d_rejects_a_4d_weight() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::ones(&[1, 2, 3]));
    x.conv_transpose1d(tape.var(Tensor::ones(&[2, 1, 2, 2])), &ConvTranspose1dOptions::default());
}

#[test]
#[should_panic(expected = "conv_transpose1d: input [1, 1, 2], weight [1, 1, 2]: padding 2 leaves no output")]
fn conv_transpose1d_speaks_of_its_own_padding() {
    let o = ConvTranspose1dOptions { padding: 2, ..Default::default() };
    Tensor::<f64>::ones(&[1, 1, 2]).conv_transpose1d(&Tensor::ones(&[1, 1, 2]), &o);
}
