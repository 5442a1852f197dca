//! The sweep of the functional layers (see the parent module): the norms, rotary embedding, causal
//! attention, the pools with every option, upsampling and the pixel shuffles.

use proptest::prelude::*;
use wengert_tape::Var;
use wengert_tape::check::strategy;
use wengert_tensor::{Pool1dOptions, Pool2dOptions, Tensor};

use super::{Case, Layout, case, layout, stored, stored_distinct, stored_shape, sweep, view};
use crate::layers::group_norm::{group_norm, rms_norm};
use crate::layers::{
    AttentionMask, InstanceNorm, LayerNorm, RotaryEmbedding, pixel_shuffle, pixel_unshuffle,
    scaled_dot_product_attention, upsample_bilinear, upsample_bilinear_scale, upsample_nearest,
    upsample_nearest_scale,
};
use crate::module::Module;
use crate::store::ParamStore;

/// A `[C]` Var as a `[C, 1]` column, to scale the channels of `[N, C, L]`.
fn column(v: Var<'_, f64>) -> Var<'_, f64> {
    v.reshape(&[v.len(), 1])
}

/// The first row of `[N, C, H, W]` images, `[N, C, W]`, for the 1-D pools.
fn row(v: Var<'_, f64>) -> Var<'_, f64> {
    let s = v.shape();
    v.narrow(2, 0, 1).reshape(&[s[0], s[1], s[3]])
}

/// A gap that `n` distinct values fit in -2..2 with.
fn gap(shape: &[usize], layout: Layout) -> f64 {
    (3.6 / stored_shape(shape, layout).iter().product::<usize>() as f64).min(0.15)
}

/// layer, RMS, group and instance norm of `[N, C, L]` inputs with distinct values (so that no
/// group's variance is near 0), each with a weight and a bias (RMS norm: a weight) as inputs.
fn norms() -> impl Strategy<Value = Vec<Case>> {
    (1usize..=2, 2usize..=4, 2usize..=3, layout(), any::<bool>())
        .prop_flat_map(|(n, c, l, lay, many)| {
            (
                stored_distinct(&[n, c, l], lay, gap(&[n, c, l], lay)),
                strategy::tensor(&[l], 0.5..1.5),
                strategy::tensor(&[l], -1.0..1.0),
                strategy::tensor(&[c], 0.5..1.5),
                strategy::tensor(&[c], -1.0..1.0),
                Just((c, lay, many)),
            )
        })
        .prop_map(|(x, wl, bl, wc, bc, (c, lay, many))| {
            let groups = if many && c % 2 == 0 { 2 } else { 1 };
            let l = wl.len();
            let (last, chans) = ([x.clone(), wl.clone(), bl], [x.clone(), wc, bc]);
            vec![
                case(format!("layer_norm, {lay:?}"), &last, move |v| {
                    let store = ParamStore::<f64>::with_seed(0);
                    let norm = LayerNorm::with_options(&store.root(), &[l], 1e-5, false);
                    norm.forward(view(v[0], lay)) * v[1] + v[2]
                }),
                case(format!("rms_norm, {lay:?}"), &[x, wl], move |v| {
                    rms_norm(view(v[0], lay), 1, 1e-6, Some(v[1]))
                }),
                case(format!("group_norm, {groups} groups, {lay:?}"), &chans, move |v| {
                    group_norm(view(v[0], lay), groups, 1e-5, Some(v[1]), Some(v[2]))
                }),
                case(format!("instance_norm, {lay:?}"), &chans, move |v| {
                    let store = ParamStore::<f64>::with_seed(0);
                    let norm = InstanceNorm::with_options(&store.root(), c, 1e-5, false);
                    norm.forward(view(v[0], lay)) * column(v[1]) + column(v[2])
                }),
            ]
        })
}

#[test]
fn norms_match_finite_differences_to_second_order() {
    sweep(norms());
}

/// Rotary embedding of `[B, S, D]` (D of 2 or 4) from a drawn start position, and causal scaled
/// dot-product attention of `[B, S, D]` queries, keys and values.
fn sequence() -> impl Strategy<Value = Vec<Case>> {
    (1usize..=2, 1usize..=3, 1usize..=2, 1usize..=3, 0usize..=3, layout())
        .prop_flat_map(|(b, s, half, d, start, lay)| {
            (
                stored(&[b, s, 2 * half], lay, -2.0..2.0),
                stored(&[b, s, d], lay, -1.0..1.0),
                strategy::tensor(&[b, s, d], -1.0..1.0),
                strategy::tensor(&[b, s, d], -1.0..1.0),
                Just((2 * half, start, lay)),
            )
        })
        .prop_map(|(x, q, k, values, (dim, start, lay))| {
            vec![
                case(format!("rotary_embedding, dim {dim}, start {start}, {lay:?}"), &[x], move |v| {
                    RotaryEmbedding::<f64>::new(dim).apply(view(v[0], lay), start)
                }),
                case(format!("causal attention, {lay:?}"), &[q, k, values], move |v| {
                    scaled_dot_product_attention(view(v[0], lay), v[1], v[2], &AttentionMask::new().causal())
                }),
            ]
        })
}

#[test]
fn rotary_embedding_and_causal_attention_match_finite_differences_to_second_order() {
    sweep(sequence());
}

/// Pool settings along one axis: kernel, stride, padding (at most half the kernel), dilation.
fn axis() -> impl Strategy<Value = (usize, usize, usize, usize)> {
    (1usize..=3, 1usize..=2, 1usize..=2).prop_flat_map(|(k, s, d)| (Just(k), Just(s), 0..=k / 2, Just(d)))
}

/// Whether a window of kernel `k` dilated by `d` fits `len` padded by `p`.
fn fits(len: usize, (k, _, p, d): (usize, usize, usize, usize)) -> bool {
    let extent = d * (k - 1) + 1;
    extent <= len + 2 * p
}

/// max_pool2d (with dilation), avg_pool2d (with count_include_pad) and their 1-D forms over distinct
/// values, each with ceil_mode drawn.
fn pools() -> impl Strategy<Value = Vec<Case>> {
    (1usize..=2, 2usize..=5, 2usize..=5, axis(), axis(), any::<bool>(), any::<bool>(), layout())
        .prop_filter("a window larger than the padded input", |(_, h, w, a, b, ..)| {
            fits(*h, *a) && fits(*w, *b)
        })
        .prop_flat_map(|(c, h, w, a, b, ceil, include, lay)| {
            (stored_distinct(&[1, c, h, w], lay, gap(&[1, c, h, w], lay)), Just((a, b, ceil, include, lay)))
        })
        .prop_map(|(x, ((k0, s0, p0, d0), (k1, s1, p1, d1), ceil, include, lay))| {
            let max2 = Pool2dOptions::new((k0, k1))
                .stride((s0, s1))
                .padding((p0, p1))
                .dilation((d0, d1))
                .ceil_mode(ceil);
            let avg2 = Pool2dOptions::new((k0, k1))
                .stride((s0, s1))
                .padding((p0, p1))
                .ceil_mode(ceil)
                .count_include_pad(include);
            let max1 = Pool1dOptions {
                kernel: k1,
                stride: s1,
                padding: p1,
                dilation: d1,
                ceil_mode: ceil,
                count_include_pad: true,
            };
            let avg1 = Pool1dOptions { dilation: 1, count_include_pad: include, ..max1 };
            // Average pooling's window is never dilated, so it fits wherever max pooling's does.
            vec![
                case(format!("max_pool2d, {max2:?}, {lay:?}"), std::slice::from_ref(&x), move |v| {
                    view(v[0], lay).max_pool2d(&max2)
                }),
                case(format!("max_pool1d, {max1:?}, {lay:?}"), std::slice::from_ref(&x), move |v| {
                    row(view(v[0], lay)).max_pool1d(&max1)
                }),
                case(format!("avg_pool2d, {avg2:?}, {lay:?}"), std::slice::from_ref(&x), move |v| {
                    view(v[0], lay).avg_pool2d(&avg2)
                }),
                case(format!("avg_pool1d, {avg1:?}, {lay:?}"), &[x], move |v| {
                    row(view(v[0], lay)).avg_pool1d(&avg1)
                }),
            ]
        })
}

#[test]
fn pools_match_finite_differences_to_second_order() {
    sweep(pools());
}

/// Nearest and bilinear upsampling (both corner conventions) to a drawn size and by a drawn scale
/// factor, and pixel_shuffle / pixel_unshuffle by 2.
fn resampling() -> impl Strategy<Value = Vec<Case>> {
    let scale = prop_oneof![Just(0.5), Just(1.0), Just(1.5), Just(2.0), Just(2.7)];
    (
        1usize..=2,
        1usize..=2,
        1usize..=3,
        1usize..=3,
        (1usize..=4, 1usize..=4),
        (scale.clone(), scale),
        layout(),
    )
        .prop_filter("a scale leaving no pixel", |(_, _, h, w, _, (a, b), _)| {
            (*h as f64 * a).floor() >= 1.0 && (*w as f64 * b).floor() >= 1.0
        })
        .prop_flat_map(|(n, c, h, w, size, scale, lay)| {
            (
                stored(&[n, c, h, w], lay, -2.0..2.0),
                stored(&[n, 4 * c, h, w], lay, -2.0..2.0),
                stored(&[n, c, 2 * h, 2 * w], lay, -2.0..2.0),
                Just((size, scale, lay)),
            )
        })
        .prop_map(|(x, wide, large, (size, scale, lay))| {
            let x1 = std::slice::from_ref(&x);
            let mut cases = vec![
                case(format!("upsample_nearest to {size:?}, {lay:?}"), x1, move |v| {
                    upsample_nearest(view(v[0], lay), size)
                }),
                case(format!("upsample_nearest by {scale:?}, {lay:?}"), x1, move |v| {
                    upsample_nearest_scale(view(v[0], lay), scale)
                }),
                case(format!("pixel_shuffle, {lay:?}"), &[wide], move |v| pixel_shuffle(view(v[0], lay), 2)),
                case(format!("pixel_unshuffle, {lay:?}"), &[large], move |v| {
                    pixel_unshuffle(view(v[0], lay), 2)
                }),
            ];
            for align in [false, true] {
                cases.push(case(
                    format!("upsample_bilinear to {size:?}, align_corners {align}, {lay:?}"),
                    x1,
                    move |v| upsample_bilinear(view(v[0], lay), size, align),
                ));
                cases.push(case(
                    format!("upsample_bilinear by {scale:?}, align_corners {align}, {lay:?}"),
                    x1,
                    move |v| upsample_bilinear_scale(view(v[0], lay), scale, align),
                ));
            }
            cases
        })
}

#[test]
fn resampling_matches_finite_differences_to_second_order() {
    sweep(resampling());
}

#[test]
fn the_layer_sweep_draws_non_contiguous_inputs() {
    // The layouts reach the functions as views that are not in row-major order.
    let x = Tensor::<f64>::arange(0.0, 12.0, 1.0)
        .reshape(&stored_shape(&[1, 2, 2, 3], Layout::Transposed))
        .unwrap();
    let tape = wengert_tape::Tape::<f64>::new();
    let v = view(tape.var(x), Layout::Transposed);
    assert!(v.value().as_slice().is_none());
}
