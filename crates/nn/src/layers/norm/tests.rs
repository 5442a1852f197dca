//! Tests of `norm`: BatchNorm1d and LayerNorm.

use super::*;
use crate::param::GradientsParam;
use proptest::strategy::Strategy;
use wengert_tape::Tape;
use wengert_tape::check::{GradcheckOptions, gradcheck, strategy};

fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

use crate::testing::ramped_sines as seq;

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "element {i}: {x} vs {y}");
    }
}

/// Normalises each group of consecutive `len` values, then applies `w` and `b` (cycled).
fn by_hand(x: &[f64], len: usize, w: &[f64], b: &[f64], eps: f64) -> Vec<f64> {
    x.chunks(len)
        .flat_map(|row| {
            let mean = row.iter().sum::<f64>() / len as f64;
            let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / len as f64;
            row.iter()
                .enumerate()
                .map(move |(i, v)| (v - mean) / (var + eps).sqrt() * w[i] + b[i])
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn layer_norm_matches_a_hand_computation() {
    let store = ParamStore::<f64>::with_seed(0);
    let ln = LayerNorm::new(&store.root(), &[3]);
    let (w, b) = ([1.0, 2.0, 0.5], [0.0, 1.0, -1.0]);
    ln.weight.as_ref().unwrap().set(t(&w, &[3]));
    ln.bias.as_ref().unwrap().set(t(&b, &[3]));
    let x = [1.0, 2.0, 4.0, 0.0, 0.0, 3.0];
    let tape = Tape::new();
    let y = ln.forward(tape.constant(t(&x, &[2, 3])));
    assert_close(&y.value().to_vec(), &by_hand(&x, 3, &w, &b, 1e-5), 1e-12);
    let names: Vec<_> = store.parameters().iter().map(|p| p.name().to_string()).collect();
    assert_eq!(names, ["weight", "bias"]);
    assert_eq!((ln.normalized_shape(), ln.eps()), (&[3][..], 1e-5));
}

#[test]
fn layer_norm_normalises_several_trailing_dimensions_without_affine() {
    let store = ParamStore::<f64>::with_seed(0);
    let ln = LayerNorm::with_options(&store.root(), &[2, 2], 0.1, false);
    assert!(ln.weight.is_none() && ln.bias.is_none() && store.parameters().is_empty());
    let x = seq(&[3, 2, 2]);
    let tape = Tape::new();
    let y = ln.forward(tape.constant(x.clone()));
    assert_eq!(y.shape(), vec![3, 2, 2]);
    assert_close(&y.value().to_vec(), &by_hand(&x.to_vec(), 4, &[1.0; 4], &[0.0; 4], 0.1), 1e-12);
}

/// `(x - mean) / √(var + eps)` over `axes` with the biased variance, and the batch mean and variance
/// (as size-1 axes): the chain of primitive ops the layers were built of before the fused ops, kept
/// as the reference.
fn normalize_stats<'t>(
    x: Var<'t, f64>,
    axes: &[usize],
    eps: f64,
) -> (Var<'t, f64>, Var<'t, f64>, Var<'t, f64>) {
    let mean = x.mean_axes(axes, true);
    let xc = x - mean;
    let var = xc.square().mean_axes(axes, true);
    let y = xc * var.add_scalar(eps).sqrt().recip();
    (y, mean, var)
}

fn by_vars<'t>(v: &[Var<'t, f64>]) -> Var<'t, f64> {
    // The composite chain the fused op replaced, as the reference.
    ((normalize_stats(v[0], &[1], 1e-5).0 * v[1] + v[2]) * v[3]).sum()
}

#[test]
fn layer_norm_gradients_match_finite_differences() {
    let store = ParamStore::<f64>::with_seed(0);
    let ln = LayerNorm::new(&store.root(), &[4]);
    let (w, b) = (seq(&[4]).add_scalar(2.0), seq(&[4]));
    ln.weight.as_ref().unwrap().set(w.clone());
    ln.bias.as_ref().unwrap().set(b.clone());
    let opts = GradcheckOptions::default();
    let x = seq(&[3, 4]);
    let weights = seq(&[3, 4]).cos();
    gradcheck(|v| (ln.forward(v[0]) * v[1]).sum(), &[x.clone(), weights.clone()], &opts).unwrap();
    // The parameters' gradients: the same expression with weight and bias as inputs.
    gradcheck(by_vars, &[x.clone(), w.clone(), b.clone(), weights.clone()], &opts).unwrap();
    let tape = Tape::new();
    let grads = (ln.forward(tape.constant(x.clone())) * &weights).sum().backward();
    let tape2 = Tape::new();
    let vars: Vec<_> = [x, w, b, weights].into_iter().map(|v| tape2.var(v)).collect();
    let g2 = by_vars(&vars).backward();
    assert_close(&grads.param(ln.weight.as_ref().unwrap()).unwrap().to_vec(), &g2[vars[1]].to_vec(), 1e-12);
    assert_close(&grads.param(ln.bias.as_ref().unwrap()).unwrap().to_vec(), &g2[vars[2]].to_vec(), 1e-12);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
    #[test]
    fn layer_norm_gradients_match_finite_differences_over_random_inputs(
        x in strategy::shape_in(0..=2, 1..=3).prop_flat_map(|mut s| { s.push(5); strategy::tensor(&s, -3.0..3.0) })
    ) {
        let store = ParamStore::<f64>::with_seed(0);
        let ln = LayerNorm::new(&store.root(), &[5]);
        let weights = x.cos();
        gradcheck(|v| (ln.forward(v[0]) * v[1]).sum(), &[x, weights], &GradcheckOptions::default())?;
    }
}

#[test]
#[should_panic(expected = "layer_norm: input of shape [2, 3] does not end in [4]")]
fn layer_norm_rejects_a_wrong_trailing_shape() {
    let store = ParamStore::<f32>::new(0);
    let tape = Tape::new();
    LayerNorm::new(&store.root(), &[4]).forward(tape.constant(Tensor::zeros(&[2, 3])));
}

#[test]
fn batch_norm_trains_on_batch_statistics_and_updates_running_ones() {
    let store = ParamStore::<f64>::with_seed(0);
    let bn = BatchNorm1d::new(&store.root().sub("bn"), 2);
    bn.weight.as_ref().unwrap().set(t(&[2.0, 0.5], &[2]));
    bn.bias.as_ref().unwrap().set(t(&[1.0, -1.0], &[2]));
    // Channel 0 holds 1, 2, 6; channel 1 holds 0, 4, 2.
    let x = [1.0, 0.0, 2.0, 4.0, 6.0, 2.0];
    let tape = Tape::new();
    let y = bn.forward(tape.constant(t(&x, &[3, 2]))).value().to_vec();
    let (c0, c1) = ([1.0, 2.0, 6.0], [0.0, 4.0, 2.0]);
    let (y0, y1) =
        (by_hand(&c0, 3, &[2.0; 3], &[1.0; 3], 1e-5), by_hand(&c1, 3, &[0.5; 3], &[-1.0; 3], 1e-5));
    assert_close(&y, &[y0[0], y1[0], y0[1], y1[1], y0[2], y1[2]], 1e-12);
    // Means 3 and 2; unbiased variances 7 and 4.
    assert_close(&bn.running_mean.value().to_vec(), &[0.3, 0.2], 1e-12);
    assert_close(&bn.running_var.value().to_vec(), &[0.9 + 0.7, 0.9 + 0.4], 1e-12);
    bn.forward(tape.constant(t(&x, &[3, 2])));
    assert_close(&bn.running_mean.value().to_vec(), &[0.9 * 0.3 + 0.3, 0.9 * 0.2 + 0.2], 1e-12);
    assert_close(&bn.running_var.value().to_vec(), &[0.9 * 1.6 + 0.7, 0.9 * 1.3 + 0.4], 1e-12);
}

#[test]
fn batch_norm_evaluates_with_running_statistics_and_leaves_them_alone() {
    let store = ParamStore::<f64>::with_seed(0);
    let bn = BatchNorm1d::new(&store.root(), 2);
    bn.running_mean.set(t(&[1.0, -2.0], &[2]));
    bn.running_var.set(t(&[4.0, 0.25], &[2]));
    bn.weight.as_ref().unwrap().set(t(&[3.0, 1.0], &[2]));
    bn.bias.as_ref().unwrap().set(t(&[0.0, 0.5], &[2]));
    store.eval();
    let x = seq(&[2, 2, 3]);
    let tape = Tape::new();
    let y = bn.forward(tape.constant(x.clone())).value().to_vec();
    let xv = x.to_vec();
    let expected: Vec<f64> = (0..12)
        .map(|i| {
            let c = (i / 3) % 2;
            let (m, v, w, b) = [(1.0, 4.0, 3.0, 0.0), (-2.0, 0.25, 1.0, 0.5)][c];
            (xv[i] - m) / (v + 1e-5f64).sqrt() * w + b
        })
        .collect();
    assert_close(&y, &expected, 1e-12);
    assert_eq!(bn.running_mean.value().to_vec(), vec![1.0, -2.0]);
    assert_eq!(bn.running_var.value().to_vec(), vec![4.0, 0.25]);
    store.train();
    let y_train = bn.forward(tape.constant(x)).value().to_vec();
    assert!(y_train.iter().zip(&expected).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn batch_norm_normalises_over_batch_and_length_of_3d_inputs() {
    let store = ParamStore::<f64>::with_seed(0);
    let bn = BatchNorm1d::with_options(&store.root(), 2, 1e-3, 0.5, false);
    assert!(store.parameters().is_empty());
    let x = seq(&[2, 2, 3]);
    let tape = Tape::new();
    let y = bn.forward(tape.constant(x.clone())).value().to_vec();
    let xv = x.to_vec();
    let channel = |c: usize| -> Vec<f64> {
        [0, 1].iter().flat_map(|n| xv[n * 6 + c * 3..n * 6 + c * 3 + 3].to_vec()).collect()
    };
    for c in 0..2 {
        let expected = by_hand(&channel(c), 6, &[1.0; 6], &[0.0; 6], 1e-3);
        let got: Vec<f64> =
            [0, 1].iter().flat_map(|n| y[n * 6 + c * 3..n * 6 + c * 3 + 3].to_vec()).collect();
        assert_close(&got, &expected, 1e-12);
        let v = channel(c);
        let mean = v.iter().sum::<f64>() / 6.0;
        let unbiased = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 5.0;
        assert!((bn.running_mean.value().to_vec()[c] - 0.5 * mean).abs() < 1e-12);
        assert!((bn.running_var.value().to_vec()[c] - (0.5 + 0.5 * unbiased)).abs() < 1e-12);
    }
}

#[test]
fn batch_norm_gradients_match_finite_differences_in_train_and_eval() {
    let store = ParamStore::<f64>::with_seed(0);
    let bn = BatchNorm1d::new(&store.root(), 3);
    bn.weight.as_ref().unwrap().set(t(&[1.5, -0.5, 2.0], &[3]));
    bn.bias.as_ref().unwrap().set(t(&[0.1, 0.2, 0.3], &[3]));
    bn.running_var.set(t(&[0.5, 2.0, 1.0], &[3]));
    let opts = GradcheckOptions::default();
    for shape in [&[4, 3][..], &[2, 3, 2][..]] {
        let weights = seq(shape).cos();
        for training in [true, false] {
            if training {
                store.train()
            } else {
                store.eval()
            }
            gradcheck(|v| (bn.forward(v[0]) * v[1]).sum(), &[seq(shape), weights.clone()], &opts).unwrap();
        }
    }
    // Weight and bias get gradients; the buffers are not in the store.
    store.train();
    let tape = Tape::new();
    let grads = (bn.forward(tape.constant(seq(&[4, 3]))) * &seq(&[4, 3]).cos()).sum().backward();
    assert!(grads.param(bn.weight.as_ref().unwrap()).is_some());
    assert!(grads.param(bn.bias.as_ref().unwrap()).is_some());
    assert_eq!(store.parameters().len(), 2);
}

#[test]
fn batch_norm_buffers_are_named_under_the_path_and_registered_as_buffers() {
    let store = ParamStore::<f32>::new(0);
    let bn = BatchNorm1d::new(&store.root().sub("layers").sub(1), 4);
    let names: Vec<_> = bn.buffers().iter().map(|p| p.name().to_string()).collect();
    assert_eq!(names, ["layers.1.running_mean", "layers.1.running_var", "layers.1.num_batches_tracked"]);
    assert!(store.get("layers.1.running_mean").is_none(), "not a trainable parameter");
    assert!(store.buffers().iter().zip(bn.buffers()).all(|(a, b)| a.same(&b)));
    assert_eq!(store.state_dict().len(), 5);
    assert_eq!(store.num_parameters(), 8);
    assert_eq!((bn.channels(), bn.eps(), bn.momentum()), (4, 1e-5, 0.1));
    assert_eq!(bn.running_var.value().to_vec(), vec![1.0; 4]);
}

#[test]
#[should_panic(expected = "batch_norm: expected more than 1 value per channel when training")]
fn batch_norm_rejects_a_single_value_per_channel_in_training() {
    let store = ParamStore::<f32>::new(0);
    let tape = Tape::new();
    BatchNorm1d::new(&store.root(), 2).forward(tape.constant(Tensor::zeros(&[1, 2])));
}

#[test]
#[should_panic(expected = "batch_norm: input of shape [4, 3] is not [N, 2] or [N, 2, L]")]
fn batch_norm_rejects_a_wrong_channel_count() {
    let store = ParamStore::<f32>::new(0);
    let tape = Tape::new();
    BatchNorm1d::new(&store.root(), 2).forward(tape.constant(Tensor::zeros(&[4, 3])));
}

#[test]
fn batch_norm_counts_training_batches_only() {
    let store = ParamStore::<f64>::with_seed(0);
    let bn = BatchNorm1d::new(&store.root().sub("bn"), 3);
    assert_eq!((bn.num_batches_tracked.shape(), bn.num_batches_tracked.value().item()), (vec![], 0.0));
    store.train();
    for _ in 0..3 {
        bn.forward(Tape::new().constant(seq(&[4, 3])));
    }
    store.eval();
    bn.forward(Tape::new().constant(seq(&[4, 3])));
    assert_eq!(bn.num_batches_tracked.value().item(), 3.0);
    assert!(store.get("bn.num_batches_tracked").is_none(), "a buffer, not a parameter");
}

#[test]
fn batch_norm_in_training_matches_the_old_chain_of_ops_within_1e_12() {
    for shape in [&[6, 3][..], &[4, 3, 5]] {
        let store = ParamStore::<f64>::with_seed(0);
        let bn = BatchNorm1d::new(&store.root(), 3);
        let (w, b) = (t(&[1.5, -0.5, 2.0], &[3]), t(&[0.1, 0.2, 0.3], &[3]));
        bn.weight.as_ref().unwrap().set(w.clone());
        bn.bias.as_ref().unwrap().set(b.clone());
        let (x, out) = (seq(shape), seq(shape).cos());
        let tape = Tape::new();
        let xv = tape.var(x.clone());
        let y = bn.forward(xv);
        let grads = (y * &out).sum().backward();
        // The old chain, with the parameters as plain inputs.
        let old = Tape::new();
        let (ox, ow, ob) = (old.var(x), old.var(w), old.var(b));
        let (axes, column): (&[usize], &[usize]) =
            if shape.len() == 2 { (&[0], &[3]) } else { (&[0, 2], &[3, 1]) };
        let (hat, mean, var) = normalize_stats(ox, axes, 1e-5);
        let oy = hat * ow.reshape(column) + ob.reshape(column);
        let og = (oy * &out).sum().backward();
        assert_close(&y.value().to_vec(), &oy.value().to_vec(), 1e-12);
        assert_close(&grads[xv].to_vec(), &og[ox].to_vec(), 1e-12);
        assert_close(&grads.param(bn.weight.as_ref().unwrap()).unwrap().to_vec(), &og[ow].to_vec(), 1e-12);
        assert_close(&grads.param(bn.bias.as_ref().unwrap()).unwrap().to_vec(), &og[ob].to_vec(), 1e-12);
        // The running statistics: PyTorch's update, with the unbiased variance.
        let n = (shape[0] * shape.get(2).copied().unwrap_or(1)) as f64;
        let running_mean: Vec<f64> = mean.value().to_vec().iter().map(|m| 0.1 * m).collect();
        let running_var: Vec<f64> =
            var.value().to_vec().iter().map(|v| 0.9 + 0.1 * v * n / (n - 1.0)).collect();
        assert_close(&bn.running_mean.value().to_vec(), &running_mean, 1e-12);
        assert_close(&bn.running_var.value().to_vec(), &running_var, 1e-12);
    }
}
