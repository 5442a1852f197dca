//! Tests of the pools against direct loops over their definitions.

use proptest::prelude::*;

use super::*;

fn t(shape: &[usize], salt: f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| ((i as f64 + salt) * 0.73).sin()).collect(), shape).unwrap()
}

/// Max pooling from its definition: the first maximum in row-major window order.
fn naive_max(x: &Tensor<f64>, o: &Pool2dOptions) -> (Vec<f64>, Vec<usize>, Vec<usize>) {
    let [n, c, h, w]: [usize; 4] = x.shape().try_into().unwrap();
    let ho = (h + 2 * o.padding.0 - o.kernel.0) / o.stride.0 + 1;
    let wo = (w + 2 * o.padding.1 - o.kernel.1) / o.stride.1 + 1;
    let (mut values, mut index) = (Vec::new(), Vec::new());
    for p in 0..n * c {
        for i in 0..ho {
            for j in 0..wo {
                let mut best: Option<(f64, usize)> = None;
                for a in 0..o.kernel.0 {
                    for b in 0..o.kernel.1 {
                        let (r, q) = (
                            (i * o.stride.0 + a) as isize - o.padding.0 as isize,
                            (j * o.stride.1 + b) as isize - o.padding.1 as isize,
                        );
                        if r < 0 || q < 0 || r as usize >= h || q as usize >= w {
                            continue;
                        }
                        let v = x.get(&[p / c, p % c, r as usize, q as usize]).unwrap();
                        if best.is_none_or(|(m, _)| v > m) {
                            best = Some((v, r as usize * w + q as usize));
                        }
                    }
                }
                let (v, at) = best.unwrap();
                values.push(v);
                index.push(at);
            }
        }
    }
    (values, index, vec![n, c, ho, wo])
}

/// Average pooling from its definition (padding counts, divisor kh·kw).
fn naive_avg(x: &Tensor<f64>, o: &Pool2dOptions) -> Vec<f64> {
    let [n, c, h, w]: [usize; 4] = x.shape().try_into().unwrap();
    let ho = (h + 2 * o.padding.0 - o.kernel.0) / o.stride.0 + 1;
    let wo = (w + 2 * o.padding.1 - o.kernel.1) / o.stride.1 + 1;
    let mut out = Vec::new();
    for p in 0..n * c {
        for i in 0..ho {
            for j in 0..wo {
                let mut s = 0.0;
                for a in 0..o.kernel.0 {
                    for b in 0..o.kernel.1 {
                        let (r, q) = (
                            (i * o.stride.0 + a) as isize - o.padding.0 as isize,
                            (j * o.stride.1 + b) as isize - o.padding.1 as isize,
                        );
                        if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < w {
                            s += x.get(&[p / c, p % c, r as usize, q as usize]).unwrap();
                        }
                    }
                }
                out.push(s / (o.kernel.0 * o.kernel.1) as f64);
            }
        }
    }
    out
}

/// Adaptive average pooling with PyTorch's start and end index formula.
fn naive_adaptive(x: &Tensor<f64>, (oh, ow): (usize, usize)) -> Vec<f64> {
    let [n, c, h, w]: [usize; 4] = x.shape().try_into().unwrap();
    let mut out = Vec::new();
    for p in 0..n * c {
        for i in 0..oh {
            let (r0, r1) = ((i * h) / oh, ((i + 1) * h).div_ceil(oh));
            for j in 0..ow {
                let (q0, q1) = ((j * w) / ow, ((j + 1) * w).div_ceil(ow));
                let mut s = 0.0;
                for r in r0..r1 {
                    for q in q0..q1 {
                        s += x.get(&[p / c, p % c, r, q]).unwrap();
                    }
                }
                out.push(s / ((r1 - r0) * (q1 - q0)) as f64);
            }
        }
    }
    out
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() < 1e-12, "element {i}: {x} vs {y}");
    }
}

fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    a.to_vec().iter().zip(b.to_vec()).map(|(x, y)| x * y).sum()
}

fn options() -> Vec<Pool2dOptions> {
    vec![
        Pool2dOptions::new((2, 2)),
        Pool2dOptions::new((3, 2)).stride((1, 2)),
        Pool2dOptions::new((3, 3)).stride((2, 2)).padding((1, 1)),
        Pool2dOptions::new((2, 3)).stride((2, 1)).padding((1, 1)),
    ]
}

#[test]
fn max_pool2d_matches_direct_loops_with_every_option() {
    let x = t(&[2, 3, 7, 6], 0.0);
    for o in options() {
        let (y, index) = x.max_pool2d(&o);
        let (values, at, shape) = naive_max(&x, &o);
        assert_eq!((y.shape(), index.shape()), (&shape[..], &shape[..]));
        close(&y.to_vec(), &values);
        assert_eq!(index.iter().copied().collect::<Vec<_>>(), at);
    }
}

#[test]
fn max_pool2d_picks_the_first_maximum_on_ties_and_propagates_nan() {
    let x = Tensor::<f64>::from_vec(vec![3.0, 3.0, 1.0, 3.0, 2.0, 2.0, 2.0, 2.0], &[1, 2, 2, 2]).unwrap();
    let (y, index) = x.max_pool2d(&Pool2dOptions::new((2, 2)));
    assert_eq!(y.to_vec(), vec![3.0, 2.0]);
    assert_eq!(index.iter().copied().collect::<Vec<_>>(), vec![0, 0]);
    let x = Tensor::<f32>::from_vec(vec![1.0, f32::NAN, 5.0, 2.0], &[1, 1, 2, 2]).unwrap();
    let (y, index) = x.max_pool2d(&Pool2dOptions::new((2, 2)));
    assert!(y.item().is_nan());
    assert_eq!(index.iter().copied().collect::<Vec<_>>(), vec![1]);
}

#[test]
fn avg_pool2d_and_its_adjoint_match_direct_loops() {
    let x = t(&[2, 3, 7, 6], 0.0);
    for o in options() {
        let y = x.avg_pool2d(&o);
        close(&y.to_vec(), &naive_avg(&x, &o));
        let g = t(y.shape(), 1.0);
        let dx = g.avg_pool2d_adjoint((7, 6), &o);
        assert_eq!(dx.shape(), x.shape());
        assert!((dot(&y, &g) - dot(&x, &dx)).abs() < 1e-12);
    }
}

#[test]
fn adaptive_avg_pool2d_and_its_adjoint_match_pytorchs_windows() {
    let x = t(&[2, 2, 7, 5], 0.0);
    for out in [(1, 1), (3, 2), (7, 5), (4, 4), (10, 3)] {
        let y = x.adaptive_avg_pool2d(out);
        assert_eq!(y.shape(), &[2, 2, out.0, out.1]);
        close(&y.to_vec(), &naive_adaptive(&x, out));
        let g = t(y.shape(), 1.0);
        let dx = g.adaptive_avg_pool2d_adjoint((7, 5));
        assert!((dot(&y, &g) - dot(&x, &dx)).abs() < 1e-12);
    }
}

#[test]
fn pools_run_large_inputs_on_the_pool_with_the_same_result() {
    let x = t(&[4, 8, 32, 32], 0.0);
    let o = Pool2dOptions::new((3, 3)).stride((2, 2)).padding((1, 1));
    let (y, index) = x.max_pool2d(&o);
    let (values, at, _) = naive_max(&x, &o);
    close(&y.to_vec(), &values);
    assert_eq!(index.iter().copied().collect::<Vec<_>>(), at);
    close(&x.avg_pool2d(&o).to_vec(), &naive_avg(&x, &o));
}

#[test]
#[should_panic(
    expected = "max_pool2d: input [1, 1, 4, 4]: padding (2, 0) must be at most half the kernel (3, 3)"
)]
fn max_pool2d_rejects_padding_over_half_the_kernel() {
    t(&[1, 1, 4, 4], 0.0).max_pool2d(&Pool2dOptions::new((3, 3)).padding((2, 0)));
}

#[test]
#[should_panic(
    expected = "avg_pool2d: input [1, 1, 2, 2]: kernel (3, 3) is larger than the input padded by (0, 0)"
)]
fn avg_pool2d_rejects_a_kernel_larger_than_the_input() {
    t(&[1, 1, 2, 2], 0.0).avg_pool2d(&Pool2dOptions::new((3, 3)));
}

#[test]
#[should_panic(expected = "adaptive_avg_pool2d: input [2, 2] must be 4-D [N, C, H, W]")]
fn adaptive_avg_pool2d_rejects_a_2d_input() {
    t(&[2, 2], 0.0).adaptive_avg_pool2d((1, 1));
}

#[test]
#[should_panic(
    expected = "avg_pool2d_adjoint: grad [1, 1, 2, 2] is not the output [1, 1, 1, 1] of an input [1, 1, 2, 2]"
)]
fn avg_pool2d_adjoint_rejects_a_grad_of_the_wrong_size() {
    t(&[1, 1, 2, 2], 0.0).avg_pool2d_adjoint((2, 2), &Pool2dOptions::new((2, 2)));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(7),
        ..ProptestConfig::default()
    })]

    #[test]
    fn pools_match_direct_loops(kh in 1..4usize, kw in 1..4usize, s in 1..3usize, pad in 0..2usize, h in 0..4usize, w in 0..4usize) {
        let (ph, pw) = (pad.min(kh / 2), pad.min(kw / 2));
        let x = t(&[2, 2, kh + h, kw + w], 0.5);
        let o = Pool2dOptions::new((kh, kw)).stride((s, s)).padding((ph, pw));
        let (y, index) = x.max_pool2d(&o);
        let (values, at, _) = naive_max(&x, &o);
        close(&y.to_vec(), &values);
        prop_assert_eq!(index.iter().copied().collect::<Vec<_>>(), at);
        close(&x.avg_pool2d(&o).to_vec(), &naive_avg(&x, &o));
        close(&x.adaptive_avg_pool2d((h + 1, w + 2)).to_vec(), &naive_adaptive(&x, (h + 1, w + 2)));
    }
}

#[test]
#[should_panic(
    expected = "max_pool2d: input [1, 1, 4, 4]: padding (9223372036854775808, 0) must be at most half the kernel (3, 3)"
)]
fn max_pool2d_names_a_padding_whose_double_overflows() {
    t(&[1, 1, 4, 4], 0.0).max_pool2d(&Pool2dOptions::new((3, 3)).padding((1 << 63, 0)));
}

#[test]
fn pools_with_a_stride_or_kernel_at_the_limits_do_not_overflow() {
    let x = t(&[1, 1, 4, 4], 0.0);
    let o = Pool2dOptions::new((3, 3)).stride((usize::MAX, usize::MAX));
    assert_eq!(x.max_pool2d(&o).0, x.max_pool2d(&o.stride((4, 4))).0);
    assert_eq!(x.avg_pool2d(&o), x.avg_pool2d(&o.stride((4, 4))));
    // An empty batch whose rows and kernel are near usize::MAX: windows past usize::MAX clip to the input.
    let e = Tensor::<f64>::zeros(&[0, 1, 1 << 62, 1]);
    let o = Pool2dOptions::new((3 << 62, 1)).padding((3 << 61, 0)).stride((1 << 62, 1));
    assert_eq!(e.avg_pool2d(&o).shape(), &[0, 1, 2, 1]);
}

#[test]
#[should_panic(
    expected = "adaptive_avg_pool2d: shape [1, 1, 18446744073709551615, 2] has too many elements to index"
)]
fn adaptive_avg_pool2d_names_an_output_too_large_to_index() {
    t(&[1, 1, 2, 2], 0.0).adaptive_avg_pool2d((usize::MAX, 2));
}

#[test]
#[should_panic(expected = "adaptive_avg_pool2d: shape [1, 1, 8388608, 8388608] needs 562949953421312 bytes")]
fn adaptive_avg_pool2d_names_an_output_the_allocator_refuses() {
    t(&[1, 1, 2, 2], 0.0).adaptive_avg_pool2d((1 << 23, 1 << 23));
}

#[test]
#[should_panic(expected = "avg_pool2d_adjoint: shape [1, 1, 8388608, 8388608] needs 562949953421312 bytes")]
fn avg_pool2d_adjoint_names_an_input_the_allocator_refuses() {
    let o = Pool2dOptions::new((1, 1)).stride((1 << 23, 1 << 23));
    t(&[1, 1, 1, 1], 0.0).avg_pool2d_adjoint((1 << 23, 1 << 23), &o);
}

#[test]
fn adaptive_windows_of_a_long_axis_do_not_overflow() {
    // i·len overflows usize for len = 2^62 and i ≥ 4; the windows are computed in u128.
    let e = Tensor::<f64>::zeros(&[0, 1, 1 << 62, 1]);
    assert_eq!(e.adaptive_avg_pool2d((5, 1)).shape(), &[0, 1, 5, 1]);
    let x = t(&[1, 1, 5, 1], 0.0);
    assert_eq!(x.adaptive_avg_pool2d((5, 1)), x);
}

fn arange(shape: &[usize]) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::arange(0.0, n as f64, 1.0).reshape(shape).unwrap()
}

#[test]
fn ceil_mode_keeps_the_last_partial_window_as_pytorch_does() {
    let x = arange(&[1, 1, 5, 5]);
    let o = Pool2dOptions::new((2, 2)).ceil_mode(true);
    let (y, index) = x.max_pool2d(&o);
    assert_eq!(y.shape(), &[1, 1, 3, 3]);
    assert_eq!(y.to_vec(), vec![6.0, 8.0, 9.0, 16.0, 18.0, 19.0, 21.0, 23.0, 24.0]);
    assert_eq!(index.iter().copied().collect::<Vec<_>>(), vec![6, 8, 9, 16, 18, 19, 21, 23, 24]);
    // Partial windows divide by their size inside the padded input (here the input itself).
    assert_eq!(x.avg_pool2d(&o).to_vec(), vec![3.0, 5.0, 6.5, 13.0, 15.0, 16.5, 20.5, 22.5, 24.0]);
    assert_eq!(x.max_pool2d(&Pool2dOptions::new((2, 2))).0.shape(), &[1, 1, 2, 2]);
    // A last window that would start in the right padding is dropped: 4 + 2 - 3 = 3 over stride 2
    // rounds up to 2, plus 1 = 3 windows, the last starting at padded 4 < 4 + 1.
    let x = arange(&[1, 1, 4, 4]);
    let o = Pool2dOptions::new((3, 3)).stride((2, 2)).padding((1, 1)).ceil_mode(true);
    let y = x.avg_pool2d(&o);
    assert_eq!(y.shape(), &[1, 1, 3, 3]);
    // PyTorch: the corner window covers padded rows 4..6 of 0..6, so divides by 2 · 2; it holds 15.
    assert_eq!(y.to_vec()[8], 15.0 / 4.0);
    assert_eq!(x.avg_pool2d(&o.count_include_pad(false)).to_vec()[8], 15.0);
    let o = Pool2dOptions::new((2, 2)).stride((2, 2)).ceil_mode(true);
    assert_eq!(arange(&[1, 1, 4, 4]).max_pool2d(&o).0.shape(), &[1, 1, 2, 2]);
}

#[test]
fn count_include_pad_false_divides_by_the_input_elements_covered() {
    let x = arange(&[1, 1, 3, 3]);
    let o = Pool2dOptions::new((2, 2)).padding((1, 1));
    // Windows of padded rows/columns {-1, 0} and {1, 2}.
    assert_eq!(x.avg_pool2d(&o).to_vec(), vec![0.0, 0.75, 2.25, 6.0]);
    let exclude = o.count_include_pad(false);
    assert_eq!(x.avg_pool2d(&exclude).to_vec(), vec![0.0, 1.5, 4.5, 6.0]);
    // The adjoint spreads with the same divisors: <avg(x), g> = <x, adjoint(g)>.
    let g = t(&[1, 1, 2, 2], 0.3);
    let lhs: f64 = x.avg_pool2d(&exclude).to_vec().iter().zip(g.to_vec()).map(|(a, b)| a * b).sum();
    let rhs: f64 =
        x.to_vec().iter().zip(g.avg_pool2d_adjoint((3, 3), &exclude).to_vec()).map(|(a, b)| a * b).sum();
    assert!((lhs - rhs).abs() < 1e-12);
}

#[test]
fn dilated_max_pooling_takes_every_d_th_element() {
    let x = arange(&[1, 1, 4, 4]);
    let (y, index) = x.max_pool2d(&Pool2dOptions::new((2, 2)).stride((1, 1)).dilation((2, 2)));
    assert_eq!(y.to_vec(), vec![10.0, 11.0, 14.0, 15.0]);
    assert_eq!(index.iter().copied().collect::<Vec<_>>(), vec![10, 11, 14, 15]);
    // Taps at -1, 1, 3 with padding 1: the minimum of -x is at the first tap inside the input.
    let o = Pool2dOptions::new((3, 1)).stride((1, 1)).padding((1, 0)).dilation((2, 1));
    let (y, index) = (-&x).max_pool2d(&o);
    assert_eq!(y.shape(), &[1, 1, 2, 4]);
    assert_eq!(y.to_vec()[..4], [-4.0, -5.0, -6.0, -7.0]); // rows 1 and 3 of window 0
    assert_eq!(index.iter().copied().collect::<Vec<_>>()[..4], [4, 5, 6, 7]);
}

#[test]
#[should_panic(expected = "avg_pool2d: input [1, 1, 4, 4]: dilation (2, 2) is for max pooling only")]
fn avg_pool2d_rejects_a_dilation() {
    arange(&[1, 1, 4, 4]).avg_pool2d(&Pool2dOptions::new((2, 2)).dilation((2, 2)));
}

#[test]
#[should_panic(
    expected = "max_pool2d: input [1, 1, 4, 4]: kernel (3, 3) dilated by (2, 2) is larger than the input padded by (0, 0)"
)]
fn max_pool2d_rejects_a_dilated_kernel_larger_than_the_input() {
    arange(&[1, 1, 4, 4]).max_pool2d(&Pool2dOptions::new((3, 3)).dilation((2, 2)));
}
