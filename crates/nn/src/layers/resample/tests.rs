//! Tests of the resampling functions against PyTorch's documented values and finite differences.

use super::*;
use proptest::prelude::*;
use wengert_tape::Tape;
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck, strategy};

/// Pins a closure to the higher-ranked signature `gradcheck` takes.
fn hr<G: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>(g: G) -> G {
    g
}

fn arange(shape: &[usize]) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::arange(0.0, n as f64, 1.0).reshape(shape).unwrap()
}

fn assert_close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-12, "{a:?} vs {b:?}");
    }
}

#[test]
fn nearest_reads_the_floor_of_the_scaled_index_also_when_shrinking() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arange(&[1, 1, 2, 3]));
    // Rows 0, 0, 1, 1 (⌊i · 2 / 4⌋); columns 0, 1 (⌊j · 3 / 2⌋ = 0, 1).
    assert_eq!(upsample_nearest(x, (4, 2)).value().to_vec(), vec![0.0, 1.0, 0.0, 1.0, 3.0, 4.0, 3.0, 4.0]);
    // Columns ⌊j · 3 / 5⌋ = 0, 0, 1, 1, 2.
    assert_eq!(upsample_nearest(x, (1, 5)).value().to_vec(), vec![0.0, 0.0, 1.0, 1.0, 2.0]);
}

#[test]
fn bilinear_matches_pytorch_with_and_without_align_corners() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arange(&[1, 1, 2, 2]));
    // PyTorch: interpolate(arange(4.).view(1,1,2,2), size=(3,3), mode="bilinear", align_corners=True).
    let aligned = [0.0, 0.5, 1.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0];
    assert_close(&upsample_bilinear(x, (3, 3), true).value().to_vec(), &aligned);
    // align_corners=False to 4x4: coordinates -0.25 → 0, 0.25, 0.75, 1.25 → clamped to row 1.
    let rows = [0.0, 0.25, 0.75, 1.0];
    let want: Vec<f64> = rows.iter().flat_map(|r| rows.iter().map(move |c| 2.0 * r + c)).collect();
    assert_close(&upsample_bilinear(x, (4, 4), false).value().to_vec(), &want);
    // Same size is the identity either way; one output row takes row 0 aligned, the middle not.
    assert_close(&upsample_bilinear(x, (2, 2), false).value().to_vec(), &[0.0, 1.0, 2.0, 3.0]);
    assert_close(&upsample_bilinear(x, (1, 1), true).value().to_vec(), &[0.0]);
    assert_close(&upsample_bilinear(x, (1, 1), false).value().to_vec(), &[1.5]);
}

#[test]
fn pixel_shuffle_moves_channel_blocks_into_pixels() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arange(&[1, 8, 1, 2]));
    let y = pixel_shuffle(x, 2);
    assert_eq!(y.shape(), vec![1, 2, 2, 4]);
    // Channel c·4 + a·2 + b at (0, j) lands at (a, 2j + b) of output channel c.
    let want: Vec<f64> = (0..2)
        .flat_map(|c| {
            (0..2).flat_map(move |a| (0..4).map(move |jj| ((c * 4 + a * 2 + jj % 2) * 2 + jj / 2) as f64))
        })
        .collect();
    assert_eq!(y.value().to_vec(), want);
}

#[test]
fn resampling_gradients_match_finite_differences_to_second_order() {
    let opts = GradcheckOptions::default();
    let x = arange(&[1, 2, 3, 2]).map(|v| (v * 0.7).sin());
    let probe = |s: &[usize]| arange(s).map(|v| (v * 0.3).cos());
    let (p1, p2, p3) = (probe(&[1, 2, 4, 5]), probe(&[1, 2, 2, 3]), probe(&[1, 1, 6, 4]));
    for align in [true, false] {
        let f = hr(|v| (upsample_bilinear(v[0], (4, 5), align) * &p1).sum().square());
        gradcheck(f, std::slice::from_ref(&x), &opts).unwrap();
        gradgradcheck(f, std::slice::from_ref(&x), &opts).unwrap();
    }
    let f = hr(|v| (upsample_nearest(v[0], (2, 3)) * &p2).sum().square());
    gradgradcheck(f, std::slice::from_ref(&x), &opts).unwrap();
    let x4 = arange(&[1, 4, 3, 2]).map(|v| (v * 0.7).sin());
    let f = hr(|v| (pixel_shuffle(v[0], 2) * &p3).sum().square());
    gradgradcheck(f, &[x4], &opts).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn resampling_gradients_match_finite_differences_over_random_inputs(
        (x, size) in (strategy::shape_in(4..=4, 1..=3), (1usize..=5, 1usize..=5))
            .prop_flat_map(|(s, size)| (strategy::tensor(&s, -2.0..2.0), Just(size)))
    ) {
        let opts = GradcheckOptions::default();
        let s = x.shape().to_vec();
        let probe = Tensor::from_vec((0..s[0] * s[1] * size.0 * size.1).map(|i| (i as f64).cos()).collect(), &[s[0], s[1], size.0, size.1]).unwrap();
        gradcheck(|v| (upsample_bilinear(v[0], size, true) * &probe).sum(), std::slice::from_ref(&x), &opts)?;
        gradcheck(|v| (upsample_bilinear(v[0], size, false) * &probe).sum(), std::slice::from_ref(&x), &opts)?;
        gradcheck(|v| (upsample_nearest(v[0], size) * &probe).sum(), std::slice::from_ref(&x), &opts)?;
    }
}

#[test]
#[should_panic(expected = "pixel_shuffle: 6 channels of input [1, 6, 2, 2] are not a multiple of 2²")]
fn pixel_shuffle_rejects_channels_not_divisible_by_the_factor_squared() {
    let tape = Tape::<f64>::new();
    pixel_shuffle(tape.var(Tensor::zeros(&[1, 6, 2, 2])), 2);
}

#[test]
#[should_panic(expected = "upsample_bilinear: output size (0, 2) must be positive")]
fn upsample_rejects_an_empty_output() {
    let tape = Tape::<f64>::new();
    upsample_bilinear(tape.var(Tensor::zeros(&[1, 1, 2, 2])), (0, 2), true);
}

#[test]
fn scale_factors_use_pytorchs_source_coordinates() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::from_vec(vec![0.0, 3.0], &[1, 1, 1, 2]).unwrap());
    // Width ⌊2 · 1.7⌋ = 3; column j at (j + ½) / 1.7 - ½ = -0.21 (clamped to 0), 0.38, 0.97, where
    // resizing to 3 columns would put them at 0, 0.5 and 1.17 (so 0, 1.5, 3).
    let y = upsample_bilinear_scale(x, (1.0, 1.7), false);
    assert_close(&y.value().to_vec(), &[0.0, (1.5 / 1.7 - 0.5) * 3.0, (2.5 / 1.7 - 0.5) * 3.0]);
    assert_close(&upsample_bilinear(x, (1, 3), false).value().to_vec(), &[0.0, 1.5, 3.0]);
    // With align_corners the factor only sets the size.
    let aligned = upsample_bilinear_scale(x, (2.0, 1.7), true).value();
    assert_eq!(aligned, upsample_bilinear(x, (2, 3), true).value());
    // Nearest reads ⌊i / s⌋: rows ⌊2 · 2.5⌋ = 5 of 2 read 0, 0, 0, 1, 1.
    let x = tape.var(arange(&[1, 1, 2, 1]));
    assert_eq!(upsample_nearest_scale(x, (2.5, 1.0)).value().to_vec(), vec![0.0, 0.0, 0.0, 1.0, 1.0]);
    // Whole factors agree with resizing to the scaled size.
    let x = tape.var(arange(&[1, 2, 3, 2]));
    assert_eq!(upsample_nearest_scale(x, (2.0, 3.0)).value(), upsample_nearest(x, (6, 6)).value());
    assert_eq!(
        upsample_bilinear_scale(x, (2.0, 3.0), false).value(),
        upsample_bilinear(x, (6, 6), false).value()
    );
    // A factor below 1 shrinks.
    assert_eq!(upsample_nearest_scale(x, (0.5, 0.5)).shape(), vec![1, 2, 1, 1]);
}

#[test]
fn scaled_resampling_and_pixel_unshuffle_match_finite_differences_to_second_order() {
    let opts = GradcheckOptions::default();
    let x = arange(&[1, 2, 4, 2]).map(|v| (v * 0.7).sin());
    let probe = |s: &[usize]| arange(s).map(|v| (v * 0.3).cos());
    let (p1, p2, p3) = (probe(&[1, 2, 6, 3]), probe(&[1, 2, 2, 5]), probe(&[1, 8, 2, 1]));
    for align in [true, false] {
        let f = hr(|v| (upsample_bilinear_scale(v[0], (1.5, 1.7), align) * &p1).sum().square());
        gradcheck(f, std::slice::from_ref(&x), &opts).unwrap();
        gradgradcheck(f, std::slice::from_ref(&x), &opts).unwrap();
    }
    let f = hr(|v| (upsample_nearest_scale(v[0], (0.5, 2.5)) * &p2).sum().square());
    gradgradcheck(f, std::slice::from_ref(&x), &opts).unwrap();
    let f = hr(|v| (pixel_unshuffle(v[0], 2) * &p3).sum().square());
    gradcheck(f, std::slice::from_ref(&x), &opts).unwrap();
    gradgradcheck(f, std::slice::from_ref(&x), &opts).unwrap();
}

#[test]
fn pixel_unshuffle_on_vars_is_the_tensor_op_and_inverts_pixel_shuffle() {
    let tape = Tape::<f64>::new();
    let x = arange(&[2, 3, 4, 6]);
    let v = tape.var(x.clone());
    let y = pixel_unshuffle(v, 2);
    assert_eq!(y.value(), x.pixel_unshuffle(2));
    assert_eq!(pixel_shuffle(y, 2).value(), x);
    let s = tape.var(arange(&[1, 8, 2, 3]));
    assert_eq!(pixel_shuffle(s, 2).value(), s.value().pixel_shuffle(2));
    // A transposed input: its logical order is used.
    let t = tape.var(arange(&[1, 1, 6, 4]).swap_axes(2, 3));
    assert_eq!(pixel_unshuffle(t, 2).value(), t.value().to_contiguous().pixel_unshuffle(2));
}

#[test]
#[should_panic(
    expected = "pixel_unshuffle: input [1, 1, 3, 4]: height 3 and width 4 must be multiples of the factor 2"
)]
fn pixel_unshuffle_rejects_a_height_not_divisible_by_the_factor() {
    let tape = Tape::<f64>::new();
    pixel_unshuffle(tape.var(Tensor::zeros(&[1, 1, 3, 4])), 2);
}

#[test]
#[should_panic(
    expected = "upsample_nearest: scale factor (0.2, 1.0) of input [1, 1, 2, 2] gives the output size (0.0, 2.0)"
)]
fn upsample_by_a_scale_rejects_an_empty_output() {
    let tape = Tape::<f64>::new();
    upsample_nearest_scale(tape.var(Tensor::zeros(&[1, 1, 2, 2])), (0.2, 1.0));
}

#[test]
#[should_panic(expected = "upsample_bilinear: scale factor (NaN, 1.0) must be positive and finite")]
fn upsample_by_a_scale_rejects_a_nan_factor() {
    let tape = Tape::<f64>::new();
    upsample_bilinear_scale(tape.var(Tensor::zeros(&[1, 1, 2, 2])), (f64::NAN, 1.0), false);
}
