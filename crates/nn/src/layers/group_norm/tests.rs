//! Tests of RmsNorm, GroupNorm and InstanceNorm against hand computations and finite differences.

use super::*;
use crate::param::GradientsParam;
use crate::store::ParamStore;
use proptest::prelude::*;
use wengert_tape::Tape;
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck, strategy};
use wengert_tensor::Tensor;

use crate::testing::ramped_sines as seq;

/// Pins a closure to the higher-ranked signature `gradcheck` takes.
fn hr<G: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>(g: G) -> G {
    g
}

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "element {i}: {x} vs {y}");
    }
}

/// Normalises each block of `len` consecutive values by its mean and biased variance.
fn standardise(x: &[f64], len: usize, eps: f64) -> Vec<f64> {
    x.chunks(len)
        .flat_map(|row| {
            let mean = row.iter().sum::<f64>() / len as f64;
            let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / len as f64;
            row.iter().map(move |v| (v - mean) / (var + eps).sqrt()).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn rms_norm_matches_a_hand_computation_with_and_without_weight() {
    let store = ParamStore::<f64>::with_seed(0);
    let norm = RmsNorm::new(&store.root(), &[3]);
    assert_eq!((norm.eps(), norm.normalized_shape()), (f64::EPSILON, &[3][..]));
    let w = [1.0, 2.0, 0.5];
    norm.weight.as_ref().unwrap().set(t(&w, &[3]));
    let x = [1.0, 2.0, 4.0, 0.0, -3.0, 3.0];
    let by_hand: Vec<f64> = x
        .chunks(3)
        .flat_map(|r| {
            let rms = (r.iter().map(|v| v * v).sum::<f64>() / 3.0 + f64::EPSILON).sqrt();
            r.iter().zip(&w).map(move |(v, w)| v / rms * w).collect::<Vec<_>>()
        })
        .collect();
    let tape = Tape::new();
    assert_close(&norm.forward(tape.constant(t(&x, &[2, 3]))).value().to_vec(), &by_hand, 1e-12);
    let plain = RmsNorm::<f64>::with_options(&store.root().sub("plain"), &[2, 3], 0.5, false);
    assert!(plain.weight.is_none());
    let ms = x.iter().map(|v| v * v).sum::<f64>() / 6.0;
    let want: Vec<f64> = x.iter().map(|v| v / (ms + 0.5).sqrt()).collect();
    assert_close(&plain.forward(tape.constant(t(&x, &[1, 2, 3]))).value().to_vec(), &want, 1e-12);
    // A zero row stays zero, with a finite gradient.
    let z = tape.var(Tensor::zeros(&[1, 3]));
    let g = norm.forward(z).sum().backward();
    assert!(g[z].to_vec().iter().all(|v| v.is_finite()));
}

#[test]
fn group_norm_normalises_each_group_of_channels_then_applies_per_channel_affine() {
    let store = ParamStore::<f64>::with_seed(0);
    let gn = GroupNorm::new(&store.root(), 2, 4);
    assert_eq!((gn.groups(), gn.eps()), (2, 1e-5));
    let (w, b) = ([1.0, 2.0, 0.5, -1.0], [0.0, 1.0, -1.0, 2.0]);
    gn.weight.as_ref().unwrap().set(t(&w, &[4]));
    gn.bias.as_ref().unwrap().set(t(&b, &[4]));
    let x = seq(&[2, 4, 3]).to_vec();
    // Each group holds 2 channels × 3 positions, consecutive in memory.
    let want: Vec<f64> = standardise(&x, 6, 1e-5)
        .iter()
        .enumerate()
        .map(|(i, v)| v * w[(i / 3) % 4] + b[(i / 3) % 4])
        .collect();
    let tape = Tape::new();
    assert_close(&gn.forward(tape.constant(t(&x, &[2, 4, 3]))).value().to_vec(), &want, 1e-12);
    // One group is LayerNorm over all but the batch axis; C groups is InstanceNorm.
    let one = GroupNorm::<f64>::with_options(&store.root().sub("one"), 1, 4, 1e-3, false);
    assert!(one.weight.is_none() && one.bias.is_none());
    assert_close(
        &one.forward(tape.constant(t(&x, &[2, 4, 3]))).value().to_vec(),
        &standardise(&x, 12, 1e-3),
        1e-12,
    );
    let names: Vec<_> = store.parameters().iter().map(|p| p.name().to_string()).collect();
    assert_eq!(names, ["weight", "bias"]);
}

#[test]
fn instance_norm_normalises_each_channel_over_its_spatial_axes() {
    let store = ParamStore::<f64>::with_seed(0);
    let x = seq(&[2, 3, 2, 2]).to_vec();
    let tape = Tape::new();
    let plain = InstanceNorm::new(&store.root(), 3);
    assert!(plain.weight.is_none() && store.parameters().is_empty() && plain.eps() == 1e-5);
    assert_close(
        &plain.forward(tape.constant(t(&x, &[2, 3, 2, 2]))).value().to_vec(),
        &standardise(&x, 4, 1e-5),
        1e-12,
    );
    let affine = InstanceNorm::with_options(&store.root().sub("in"), 3, 0.1, true);
    let (w, b) = ([2.0, 1.0, -1.0], [0.5, 0.0, 1.0]);
    affine.weight.as_ref().unwrap().set(t(&w, &[3]));
    affine.bias.as_ref().unwrap().set(t(&b, &[3]));
    let want: Vec<f64> = standardise(&x, 4, 0.1)
        .iter()
        .enumerate()
        .map(|(i, v)| v * w[(i / 4) % 3] + b[(i / 4) % 3])
        .collect();
    assert_close(&affine.forward(tape.constant(t(&x, &[2, 3, 2, 2]))).value().to_vec(), &want, 1e-12);
    // 1-D inputs, [N, C, L].
    let x1 = seq(&[2, 3, 5]).to_vec();
    assert_close(
        &plain.forward(tape.constant(t(&x1, &[2, 3, 5]))).value().to_vec(),
        &standardise(&x1, 5, 1e-5),
        1e-12,
    );
}

#[test]
fn norm_gradients_in_input_weight_and_bias_match_finite_differences_to_second_order() {
    let opts = GradcheckOptions::default();
    let x = seq(&[2, 4, 3]);
    let probe = seq(&[2, 4, 3]).cos();
    let (w, b) = (t(&[1.0, 2.0, 0.5, -1.0], &[4]), t(&[0.0, 1.0, -1.0, 2.0], &[4]));
    let ins = [x.clone(), w.clone(), b, probe.clone()];
    for groups in [1, 2, 4] {
        let f = hr(|v| (group_norm(v[0], groups, 1e-5, Some(v[1]), Some(v[2])) * v[3]).sum());
        gradcheck(f, &ins, &opts).unwrap();
        gradgradcheck(f, &ins, &opts).unwrap();
    }
    let wt = t(&[1.0, 2.0, 0.5], &[3]);
    let f = hr(|v| (rms_norm(v[0], 1, 1e-6, Some(v[1])) * v[2]).sum());
    gradcheck(f, &[x.clone(), wt.clone(), probe.clone()], &opts).unwrap();
    gradgradcheck(f, &[x.clone(), wt, probe.clone()], &opts).unwrap();
    let f2 = hr(|v| (rms_norm(v[0], 2, 1e-6, None) * v[1]).sum());
    gradgradcheck(f2, &[x, probe], &opts).unwrap();
}

#[test]
fn norm_layers_give_their_parameters_gradients() {
    let store = ParamStore::<f64>::with_seed(0);
    let (gn, rms) =
        (GroupNorm::new(&store.root().sub("gn"), 2, 4), RmsNorm::new(&store.root().sub("rms"), &[3]));
    let inorm = InstanceNorm::with_options(&store.root().sub("in"), 4, 1e-5, true);
    let x = seq(&[2, 4, 3]);
    let probe = x.cos();
    let tape = Tape::new();
    let xv = tape.constant(x);
    let loss = (gn.forward(xv) * &probe).sum()
        + (rms.forward(xv) * &probe).sum()
        + (inorm.forward(xv) * &probe).sum();
    let g = loss.backward();
    for p in [&gn.weight, &gn.bias, &rms.weight, &inorm.weight, &inorm.bias] {
        let p = p.as_ref().unwrap();
        let grad = g.param(p).unwrap().to_vec();
        assert_eq!(grad.len(), p.len());
        assert!(grad.iter().any(|v| *v != 0.0), "{} has no gradient", p.name());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn norm_gradients_match_finite_differences_over_random_inputs(
        x in strategy::shape_in(0..=2, 1..=3).prop_flat_map(|s| {
            let mut shape = vec![2, 4];
            shape.extend(s);
            strategy::tensor(&shape, -3.0..3.0)
        })
    ) {
        let opts = GradcheckOptions::default();
        let probe = x.cos();
        gradcheck(|v| (group_norm(v[0], 2, 1e-3, None, None) * &probe).sum(), std::slice::from_ref(&x), &opts)?;
        gradcheck(|v| (rms_norm(v[0], 1, 1e-3, None) * &probe).sum(), &[x], &opts)?;
    }
}

#[test]
#[should_panic(expected = "group_norm: 6 channels do not split into 4 groups")]
fn group_norm_rejects_groups_that_do_not_divide_the_channels() {
    let store = ParamStore::<f32>::new(0);
    GroupNorm::new(&store.root(), 4, 6);
}

#[test]
#[should_panic(expected = "instance_norm: input of shape [2, 3] is not [N, 3, L, ...]")]
fn instance_norm_rejects_an_input_without_spatial_axes() {
    let store = ParamStore::<f32>::new(0);
    let tape = Tape::new();
    InstanceNorm::new(&store.root(), 3).forward(tape.constant(Tensor::zeros(&[2, 3])));
}

#[test]
#[should_panic(expected = "rms_norm: input of shape [2, 3] does not end in [4]")]
fn rms_norm_rejects_a_wrong_trailing_shape() {
    let store = ParamStore::<f32>::new(0);
    let tape = Tape::new();
    RmsNorm::new(&store.root(), &[4]).forward(tape.constant(Tensor::zeros(&[2, 3])));
}
