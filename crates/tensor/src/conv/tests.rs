//! Tests of the convolutions against direct loops over their definitions.

use proptest::prelude::*;

use super::*;

fn t(shape: &[usize], salt: f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| ((i as f64 + salt) * 0.73).sin()).collect(), shape).unwrap()
}

/// `x[n, c, iy, ix]` padded with zeros, for signed coordinates.
fn at(x: &Tensor<f64>, n: usize, c: usize, iy: isize, ix: isize) -> f64 {
    let s = x.shape();
    if iy < 0 || ix < 0 || iy as usize >= s[2] || ix as usize >= s[3] {
        0.0
    } else {
        x.get(&[n, c, iy as usize, ix as usize]).unwrap()
    }
}

/// The input coordinate of output `i`, tap `k` along one axis.
fn tap(i: usize, k: usize, s: usize, p: usize, d: usize) -> isize {
    (i * s + k * d) as isize - p as isize
}

/// conv2d from its definition.
fn naive_conv(x: &Tensor<f64>, w: &Tensor<f64>, o: &Conv2dOptions) -> Tensor<f64> {
    let ([n, c, h, wd], [oc, cg, kh, kw]) = (dims(x), dims(w));
    let ho = (h + 2 * o.padding.0 - o.dilation.0 * (kh - 1) - 1) / o.stride.0 + 1;
    let wo = (wd + 2 * o.padding.1 - o.dilation.1 * (kw - 1) - 1) / o.stride.1 + 1;
    let og = oc / o.groups;
    let mut out = Vec::new();
    for b in 0..n {
        for oc_i in 0..oc {
            let group = oc_i / og;
            for i in 0..ho {
                for j in 0..wo {
                    let mut s = 0.0;
                    for ci in 0..cg {
                        for p in 0..kh {
                            for q in 0..kw {
                                let iy = tap(i, p, o.stride.0, o.padding.0, o.dilation.0);
                                let ix = tap(j, q, o.stride.1, o.padding.1, o.dilation.1);
                                s += at(x, b, group * cg + ci, iy, ix) * w.get(&[oc_i, ci, p, q]).unwrap();
                            }
                        }
                    }
                    out.push(s);
                }
            }
        }
    }
    assert_eq!(c, cg * o.groups);
    Tensor::from_vec(out, &[n, oc, ho, wo]).unwrap()
}

/// conv_transpose2d from its definition: every input element scatters its kernel into the output.
fn naive_transpose(x: &Tensor<f64>, w: &Tensor<f64>, o: &ConvTranspose2dOptions) -> Tensor<f64> {
    let ([n, c, h, wd], [_, og, kh, kw]) = (dims(x), dims(w));
    let ho = (h - 1) * o.stride.0 + o.dilation.0 * (kh - 1) + o.output_padding.0 + 1 - 2 * o.padding.0;
    let wo = (wd - 1) * o.stride.1 + o.dilation.1 * (kw - 1) + o.output_padding.1 + 1 - 2 * o.padding.1;
    let cg = c / o.groups;
    let mut out = vec![0.0; n * og * o.groups * ho * wo];
    for b in 0..n {
        for ci in 0..c {
            for iy in 0..h {
                for ix in 0..wd {
                    for oc in 0..og {
                        for p in 0..kh {
                            for q in 0..kw {
                                let y = tap(iy, p, o.stride.0, o.padding.0, o.dilation.0);
                                let z = tap(ix, q, o.stride.1, o.padding.1, o.dilation.1);
                                if y < 0 || z < 0 || y as usize >= ho || z as usize >= wo {
                                    continue;
                                }
                                let channel = ci / cg * og + oc;
                                let idx = ((b * og * o.groups + channel) * ho + y as usize) * wo + z as usize;
                                out[idx] +=
                                    x.get(&[b, ci, iy, ix]).unwrap() * w.get(&[ci, oc, p, q]).unwrap();
                            }
                        }
                    }
                }
            }
        }
    }
    Tensor::from_vec(out, &[n, og * o.groups, ho, wo]).unwrap()
}

/// The weight gradient from its definition: dW[o, c, p, q] = Σ g[n, o, i, j] · x[n, gc + c, tap_i, tap_j].
fn naive_weight_grad(x: &Tensor<f64>, g: &Tensor<f64>, k: (usize, usize), o: &Conv2dOptions) -> Tensor<f64> {
    let ([n, c, ..], [_, oc, ho, wo]) = (dims(x), dims(g));
    let (cg, og) = (c / o.groups, oc / o.groups);
    let mut out = Vec::new();
    for oc_i in 0..oc {
        for ci in 0..cg {
            for p in 0..k.0 {
                for q in 0..k.1 {
                    let mut s = 0.0;
                    for b in 0..n {
                        for i in 0..ho {
                            for j in 0..wo {
                                let iy = tap(i, p, o.stride.0, o.padding.0, o.dilation.0);
                                let ix = tap(j, q, o.stride.1, o.padding.1, o.dilation.1);
                                s += g.get(&[b, oc_i, i, j]).unwrap() * at(x, b, oc_i / og * cg + ci, iy, ix);
                            }
                        }
                    }
                    out.push(s);
                }
            }
        }
    }
    Tensor::from_vec(out, &[oc, cg, k.0, k.1]).unwrap()
}

fn dims(x: &Tensor<f64>) -> [usize; 4] {
    x.shape().try_into().unwrap()
}

fn assert_close(a: &Tensor<f64>, b: &Tensor<f64>) {
    assert_eq!(a.shape(), b.shape());
    for (i, (x, y)) in a.to_vec().iter().zip(b.to_vec()).enumerate() {
        assert!((x - y).abs() < 1e-10, "element {i}: {x} vs {y}");
    }
}

/// Every option in play, one at a time and together, with non-square kernels.
fn cases() -> Vec<([usize; 4], [usize; 4], Conv2dOptions)> {
    let d = Conv2dOptions::default();
    vec![
        ([2, 3, 5, 6], [4, 3, 3, 2], d),
        ([2, 3, 7, 6], [2, 3, 3, 3], d.stride((2, 3))),
        ([1, 2, 4, 5], [3, 2, 3, 2], d.padding((1, 2))),
        ([2, 1, 7, 7], [2, 1, 2, 3], d.dilation((2, 3))),
        ([2, 4, 5, 5], [6, 2, 3, 3], d.groups(2)),
        ([3, 6, 9, 8], [6, 2, 3, 2], d.stride((2, 1)).padding((2, 1)).dilation((2, 2)).groups(3)),
        ([1, 2, 3, 3], [2, 1, 1, 1], d.groups(2).stride((3, 3))),
    ]
}

#[test]
fn conv2d_matches_direct_loops_with_every_option() {
    for (xs, ws, o) in cases() {
        let (x, w) = (t(&xs, 0.0), t(&ws, 1.0));
        assert_close(&x.conv2d(&w, &o), &naive_conv(&x, &w, &o));
    }
}

#[test]
fn conv2d_weight_adjoint_matches_direct_loops_with_every_option() {
    for (xs, ws, o) in cases() {
        let (x, w) = (t(&xs, 0.0), t(&ws, 1.0));
        let g = t(naive_conv(&x, &w, &o).shape(), 2.0);
        let k = (ws[2], ws[3]);
        assert_close(&x.conv2d_weight_adjoint(&g, k, &o), &naive_weight_grad(&x, &g, k, &o));
    }
}

#[test]
fn conv_transpose2d_matches_direct_loops_and_is_the_adjoint_of_conv2d() {
    for (xs, ws, o) in cases() {
        let (x, w) = (t(&xs, 0.0), t(&ws, 1.0));
        let y = x.conv2d(&w, &o);
        let g = t(y.shape(), 2.0);
        // ⟨conv2d(x, w), g⟩ = ⟨x, conv_transpose2d(g, w)⟩, the transpose padded back to x's size.
        let (h, wd) = (xs[2], xs[3]);
        let rest = |len: usize, out: usize, k: usize, s: usize, p: usize, d: usize| {
            len + 2 * p - d * (k - 1) - 1 - (out - 1) * s
        };
        let op = (
            rest(h, y.shape()[2], ws[2], o.stride.0, o.padding.0, o.dilation.0),
            rest(wd, y.shape()[3], ws[3], o.stride.1, o.padding.1, o.dilation.1),
        );
        let to = ConvTranspose2dOptions::from(o).output_padding(op);
        let gx = g.conv_transpose2d(&w, &to);
        assert_close(&gx, &naive_transpose(&g, &w, &to));
        assert_eq!(gx.shape(), x.shape());
        let lhs: f64 = y.to_vec().iter().zip(g.to_vec()).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.to_vec().iter().zip(gx.to_vec()).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-9, "{lhs} vs {rhs}");
    }
}

#[test]
fn conv1d_is_conv2d_on_one_row() {
    let (x, w) = (t(&[2, 4, 9], 0.0), t(&[6, 2, 3], 1.0));
    let o = Conv1dOptions { stride: 2, padding: 1, dilation: 2, groups: 2 };
    let y = x.conv1d(&w, &o);
    let y2 = naive_conv(&x.reshape(&[2, 4, 1, 9]).unwrap(), &w.reshape(&[6, 2, 1, 3]).unwrap(), &o.to_2d());
    assert_eq!(y.shape(), &[2, 6, 4]);
    assert_close(&y, &y2.reshape(&[2, 6, 4]).unwrap());
}

#[test]
fn conv2d_reads_strided_views_and_runs_large_batches_in_parallel() {
    // A transposed view (copied once), and a batch large enough for the rayon path.
    let x = t(&[6, 3, 10, 12], 0.0).permute(&[0, 1, 3, 2]);
    let w = t(&[16, 3, 3, 3], 1.0);
    let o = Conv2dOptions::default().padding((1, 1));
    assert_close(&x.conv2d(&w, &o), &naive_conv(&x.to_contiguous(), &w, &o));
    let big = t(&[9, 8, 16, 16], 0.5);
    let wb = t(&[32, 8, 3, 3], 1.5);
    let y = big.conv2d(&wb, &o);
    assert_close(&y, &naive_conv(&big, &wb, &o));
    let g = t(y.shape(), 2.5);
    assert_close(&big.conv2d_weight_adjoint(&g, (3, 3), &o), &naive_weight_grad(&big, &g, (3, 3), &o));
    let gx = g.conv_transpose2d(&wb, &o.into());
    assert_close(&gx, &naive_transpose(&g, &wb, &o.into()));
    let (dx, dw) = big.conv2d_adjoints(&wb, &g, &o);
    assert_eq!((dx.to_vec(), dw.to_vec()), (gx.to_vec(), big.conv2d_weight_adjoint(&g, (3, 3), &o).to_vec()));
}

#[test]
fn conv_results_do_not_depend_on_the_pool() {
    // Samples are shared out between the caller and the pool by timing; every result must be
    // bit-identical whichever thread took which sample. (Large enough for the parallel path.)
    let (x, w) = (t(&[18, 8, 16, 16], 0.5), t(&[32, 8, 3, 3], 1.5));
    let o = Conv2dOptions::default().padding((1, 1)).stride((1, 2));
    let g = t(x.conv2d(&w, &o).shape(), 2.5);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let (dx, dw) = x.conv2d_adjoints(&w, &g, &o);
            [x.conv2d(&w, &o), dx, dw, x.conv2d_weight_adjoint(&g, (3, 3), &o)].map(|r| r.to_vec())
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

#[test]
#[should_panic(
    expected = "conv2d_adjoints: input [1, 2, 5, 5], weight [3, 2, 3, 3], out [1, 3, 4, 4]: the output is [1, 3, 3, 3]"
)]
fn conv2d_adjoints_rejects_an_out_of_the_wrong_size() {
    t(&[1, 2, 5, 5], 0.0).conv2d_adjoints(
        &t(&[3, 2, 3, 3], 1.0),
        &t(&[1, 3, 4, 4], 2.0),
        &Conv2dOptions::default(),
    );
}

#[test]
fn conv2d_in_f32_agrees_with_f64() {
    let (x, w) = (t(&[2, 3, 6, 6], 0.0), t(&[4, 3, 3, 3], 1.0));
    let o = Conv2dOptions::default().stride((2, 2)).padding((1, 1));
    let y32 = x.cast::<f32>().conv2d(&w.cast::<f32>(), &o).cast::<f64>();
    let y64 = x.conv2d(&w, &o);
    assert!(y32.to_vec().iter().zip(y64.to_vec()).all(|(a, b)| (a - b).abs() < 1e-4));
}

#[test]
#[should_panic(
    expected = "conv2d: input [1, 3, 8, 8], weight [4, 1, 3, 3]: input channels 3 are not divisible by groups 2"
)]
fn conv2d_rejects_channels_not_divisible_by_groups() {
    t(&[1, 3, 8, 8], 0.0).conv2d(&t(&[4, 1, 3, 3], 0.0), &Conv2dOptions::default().groups(2));
}

#[test]
#[should_panic(
    expected = "conv2d: input [1, 2, 4, 4], weight [4, 1, 3, 3]: the weight takes 1 channels per group, the input has 2"
)]
fn conv2d_rejects_a_weight_for_other_channels() {
    t(&[1, 2, 4, 4], 0.0).conv2d(&t(&[4, 1, 3, 3], 0.0), &Conv2dOptions::default());
}

#[test]
#[should_panic(
    expected = "conv2d: input [1, 1, 4, 4], weight [1, 1, 3, 3]: the kernel (3, 3) dilated by (2, 2) is larger than the input (4, 4) padded by (0, 0)"
)]
fn conv2d_rejects_a_kernel_larger_than_the_padded_input() {
    t(&[1, 1, 4, 4], 0.0).conv2d(&t(&[1, 1, 3, 3], 0.0), &Conv2dOptions::default().dilation((2, 2)));
}

#[test]
#[should_panic(expected = "conv2d: input [1, 4, 4], weight [1, 1, 3, 3]: the input must be 4-D, not 3-D")]
fn conv2d_rejects_a_3d_input() {
    t(&[1, 4, 4], 0.0).conv2d(&t(&[1, 1, 3, 3], 0.0), &Conv2dOptions::default());
}

#[test]
#[should_panic(expected = "conv2d: input [1, 1, 4, 4], weight [1, 1, 3, 3]: stride (0, 1) must be positive")]
fn conv2d_rejects_a_zero_stride() {
    t(&[1, 1, 4, 4], 0.0).conv2d(&t(&[1, 1, 3, 3], 0.0), &Conv2dOptions::default().stride((0, 1)));
}

#[test]
#[should_panic(
    expected = "conv_transpose2d: input [1, 2, 3, 3], weight [2, 1, 3, 3]: output padding (2, 0) must be below the stride (2, 2)"
)]
fn conv_transpose2d_rejects_output_padding_at_the_stride() {
    let o = ConvTranspose2dOptions::from(Conv2dOptions::default().stride((2, 2))).output_padding((2, 0));
    t(&[1, 2, 3, 3], 0.0).conv_transpose2d(&t(&[2, 1, 3, 3], 0.0), &o);
}

#[test]
#[should_panic(
    expected = "conv_transpose2d: input [1, 3, 3, 3], weight [2, 1, 3, 3]: the weight is for 2 input channels, the input has 3"
)]
fn conv_transpose2d_rejects_a_weight_for_other_channels() {
    t(&[1, 3, 3, 3], 0.0).conv_transpose2d(&t(&[2, 1, 3, 3], 0.0), &ConvTranspose2dOptions::default());
}

#[test]
#[should_panic(
    expected = "conv2d_weight_adjoint: input [1, 1, 4, 4], out [1, 2, 3, 3], kernel (3, 3): the output is [1, 2, 2, 2]"
)]
fn conv2d_weight_adjoint_rejects_an_out_of_the_wrong_size() {
    t(&[1, 1, 4, 4], 0.0).conv2d_weight_adjoint(&t(&[1, 2, 3, 3], 0.0), (3, 3), &Conv2dOptions::default());
}

/// A convolution of random sizes and options, with its input and weight shapes.
fn any_conv() -> impl Strategy<Value = ([usize; 4], [usize; 4], Conv2dOptions, (usize, usize))> {
    (
        1..3usize,
        1..3usize,
        1..3usize,
        1..4usize,
        1..4usize,
        1..3usize,
        1..3usize,
        0..2usize,
        1..3usize,
        0..2usize,
    )
        .prop_flat_map(|(n, g, cg, kh, kw, s, d, p, og, op)| {
            let (kh_eff, kw_eff) = (d * (kh - 1) + 1, d * (kw - 1) + 1);
            let lo = |k: usize| (k.saturating_sub(2 * p)).max(1);
            (lo(kh_eff)..lo(kh_eff) + 4, lo(kw_eff)..lo(kw_eff) + 4).prop_map(move |(h, w)| {
                let o = Conv2dOptions::default().stride((s, s)).padding((p, p)).dilation((d, d)).groups(g);
                ([n, g * cg, h, w], [g * og, cg, kh, kw], o, (op.min(s - 1), 0))
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(7),
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_kernel_matches_direct_loops((xs, ws, o, op) in any_conv()) {
        let (x, w) = (t(&xs, 0.25), t(&ws, 1.25));
        let y = x.conv2d(&w, &o);
        assert_close(&y, &naive_conv(&x, &w, &o));
        let g = t(y.shape(), 3.0);
        let dw = x.conv2d_weight_adjoint(&g, (ws[2], ws[3]), &o);
        assert_close(&dw, &naive_weight_grad(&x, &g, (ws[2], ws[3]), &o));
        // Both gradients in one pass: the weight's bit for bit, the input's the transposed convolution
        // that restores x's size.
        let (dx, dw_both) = x.conv2d_adjoints(&w, &g, &o);
        prop_assert_eq!(dw_both.to_vec(), dw.to_vec());
        let rest = |len: usize, k: usize| (len + 2 * o.padding.0 - o.dilation.0 * (k - 1) - 1) % o.stride.0;
        let back = ConvTranspose2dOptions::from(o).output_padding((rest(xs[2], ws[2]), rest(xs[3], ws[3])));
        assert_close(&dx, &naive_transpose(&g, &w, &back));
        let to = ConvTranspose2dOptions::from(o).output_padding(op);
        // A transposed convolution of g may pad away its whole output; PyTorch rejects those too.
        let size = |len: usize, k: usize, extra: usize| (len - 1) * o.stride.0 + o.dilation.0 * (k - 1) + 1 + extra;
        prop_assume!(size(g.shape()[2], ws[2], op.0) > 2 * o.padding.0);
        prop_assume!(size(g.shape()[3], ws[3], op.1) > 2 * o.padding.1);
        let tw = t(&[ws[0], ws[1], ws[2], ws[3]], 4.0);
        assert_close(&g.conv_transpose2d(&tw, &to), &naive_transpose(&g, &tw, &to));
    }
}
