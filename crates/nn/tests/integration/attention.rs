//! Attention: masks give exactly zero weight, a fully masked query gives zeros with finite gradients,
//! causal attention ignores the future; scaled dot-product attention, multi-head attention and the
//! transformer encoder layer match finite differences in f64 (attention to second order).

use wengert_nn::{
    AttentionMask, GradientsParam, Module, MultiHeadAttention, ParamStore, Projections,
    TransformerEncoderLayer, TransformerOptions, attention_weights, masked_softmax,
    scaled_dot_product_attention,
};
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck};
use wengert_tape::{Tape, Var};
use wengert_tensor::Tensor;

/// Deterministic values in about [-1.5, 1.5], different for each `k`.
fn seq(shape: &[usize], k: usize) -> Tensor<f64> {
    let n = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| ((i * 5 + k * 11) as f64 * 0.73).sin() * 1.5).collect(), shape).unwrap()
}

/// A weighted sum, so that every output element gets a different gradient.
fn project<'t>(y: Var<'t, f64>, k: usize) -> Var<'t, f64> {
    (y * &seq(&y.shape(), k)).sum()
}

/// Padding that leaves batch element 0 three keys and masks every key of batch element 1.
fn half_padded() -> AttentionMask<f64> {
    AttentionMask::new().key_padding(&[vec![false, false, false, true], vec![true; 4]])
}

#[test]
fn masked_keys_get_exactly_zero_weight() {
    let tape = Tape::new();
    let (q, k) = (tape.var(seq(&[2, 3, 4], 0)), tape.var(seq(&[2, 4, 4], 1)));
    let mask = AttentionMask::new().key_lengths(&[2, 3], 4);
    let w = attention_weights(q, k, &mask).value();
    assert_eq!(w.shape(), &[2, 3, 4]);
    let v = w.to_vec();
    for b in 0..2 {
        for i in 0..3 {
            let row = &v[(b * 3 + i) * 4..][..4];
            let valid = [2, 3][b];
            assert!(row[valid..].iter().all(|&x| x == 0.0), "batch {b} query {i}: {row:?}");
            assert!(row[..valid].iter().all(|&x| x > 0.0));
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}

#[test]
fn a_fully_masked_query_gives_zeros_and_finite_gradients() {
    let tape = Tape::new();
    let (q, k, v) =
        (tape.var(seq(&[2, 3, 4], 0)), tape.var(seq(&[2, 4, 4], 1)), tape.var(seq(&[2, 4, 5], 2)));
    let y = scaled_dot_product_attention(q, k, v, &half_padded());
    let out = y.value().to_vec();
    assert!(out[15..].iter().all(|&x| x == 0.0), "batch 1 is fully masked: {:?}", &out[15..]);
    assert!(out[..15].iter().all(|x| x.is_finite() && *x != 0.0));
    let grads = project(y, 3).backward();
    for (name, x) in [("q", q), ("k", k), ("v", v)] {
        let g = grads[x].to_vec();
        assert!(g.iter().all(|x| x.is_finite()), "{name}: {g:?}");
        assert!(g[g.len() / 2..].iter().all(|&x| x == 0.0), "{name} of the masked batch gets no gradient");
    }
    // Huge scores under the mask change nothing: they never reach the exponential.
    let scores = tape.var(Tensor::from_vec(vec![1.0, 1e300, -2.0, f64::INFINITY], &[1, 4]).unwrap());
    let keep = Tensor::from_vec(vec![1.0, 0.0, 1.0, 0.0], &[1, 4]).unwrap();
    let p = masked_softmax(scores, &keep);
    let e = (1.0f64.exp(), (-2.0f64).exp());
    let got = p.value().to_vec();
    assert_eq!((got[1], got[3]), (0.0, 0.0));
    assert!((got[0] - e.0 / (e.0 + e.1)).abs() < 1e-15 && (got[2] - e.1 / (e.0 + e.1)).abs() < 1e-15);
    assert!(project(p, 0).backward()[scores].to_vec().iter().all(|g| g.is_finite()));
}

#[test]
fn causal_attention_ignores_later_positions() {
    let tape = Tape::new();
    let (q, k, v) = (seq(&[1, 2, 5, 4], 0), seq(&[1, 2, 5, 4], 1), seq(&[1, 2, 5, 3], 2));
    let mask = AttentionMask::new().causal();
    let w = attention_weights(tape.constant(q.clone()), tape.constant(k.clone()), &mask).value().to_vec();
    for (at, &x) in w.iter().enumerate() {
        let (i, j) = ((at / 5) % 5, at % 5);
        assert_eq!(x == 0.0, j > i, "query {i}, key {j}: {x}");
    }
    let y = |k: &Tensor<f64>, v: &Tensor<f64>| {
        let (q, k, v) = (tape.constant(q.clone()), tape.constant(k.clone()), tape.constant(v.clone()));
        scaled_dot_product_attention(q, k, v, &mask).value()
    };
    // Changing the last key and value changes only the last query's output.
    let (mut kv, mut vv) = (k.to_vec(), v.to_vec());
    for h in 0..2 {
        kv[h * 20 + 16..h * 20 + 20].iter_mut().for_each(|x| *x += 3.0);
        vv[h * 15 + 12..h * 15 + 15].iter_mut().for_each(|x| *x -= 2.0);
    }
    let (a, b) = (
        y(&k, &v),
        y(&Tensor::from_vec(kv, &[1, 2, 5, 4]).unwrap(), &Tensor::from_vec(vv, &[1, 2, 5, 3]).unwrap()),
    );
    let (a, b) = (a.to_vec(), b.to_vec());
    for h in 0..2 {
        assert_eq!(
            a[h * 15..h * 15 + 12],
            b[h * 15..h * 15 + 12],
            "head {h}: earlier queries saw the future"
        );
        assert_ne!(a[h * 15 + 12..h * 15 + 15], b[h * 15 + 12..h * 15 + 15]);
    }
}

#[test]
fn padded_keys_act_as_if_they_were_absent() {
    let tape = Tape::new();
    let (q, k, v) = (seq(&[1, 3, 4], 0), seq(&[1, 5, 4], 1), seq(&[1, 5, 2], 2));
    let c = |t: &Tensor<f64>| tape.constant(t.clone());
    let padded =
        scaled_dot_product_attention(c(&q), c(&k), c(&v), &AttentionMask::new().key_lengths(&[3], 5));
    let cut = scaled_dot_product_attention(
        c(&q),
        c(&k.narrow(1, 0, 3)),
        c(&v.narrow(1, 0, 3)),
        &AttentionMask::new(),
    );
    for (a, b) in padded.value().to_vec().iter().zip(cut.value().to_vec()) {
        assert!((a - b).abs() < 1e-14, "{a} vs {b}");
    }
    let unmasked = masked_softmax(c(&q), &Tensor::ones(&[1]));
    assert_eq!(unmasked.value(), q.softmax(2));
}

#[test]
fn scaled_dot_product_attention_matches_finite_differences_to_second_order() {
    let inputs = [seq(&[2, 3, 4], 0), seq(&[2, 4, 4], 1), seq(&[2, 4, 3], 2)];
    let opts = GradcheckOptions::default();
    for mask in [AttentionMask::new(), AttentionMask::new().causal(), half_padded().causal()] {
        gradcheck(|x| project(scaled_dot_product_attention(x[0], x[1], x[2], &mask), 5), &inputs, &opts)
            .unwrap();
        gradgradcheck(|x| project(scaled_dot_product_attention(x[0], x[1], x[2], &mask), 5), &inputs, &opts)
            .unwrap();
    }
}

/// Central differences of `loss` in every element of every parameter of `store`, against the
/// gradients of one backward pass.
fn check_parameters(store: &ParamStore<f64>, loss: impl for<'t> Fn(&'t Tape<f64>) -> Var<'t, f64>) {
    let tape = Tape::new();
    let grads = loss(&tape).backward();
    let eps = 1e-6;
    for p in store.parameters() {
        let analytic = grads.param(&p).map_or_else(|| vec![0.0; p.len()], |g| g.to_vec());
        let orig = p.value();
        for i in 0..p.len() {
            let at = |d: f64| {
                let mut v = orig.to_vec();
                v[i] += d;
                p.set(Tensor::from_vec(v, orig.shape()).unwrap());
                loss(&Tape::new()).item()
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            p.set(orig.clone());
            let a = analytic[i];
            assert!(
                (a - numeric).abs() <= 1e-5 + 1e-3 * numeric.abs(),
                "{}[{i}]: analytic {a}, numeric {numeric}",
                p.name()
            );
        }
    }
}

#[test]
fn multi_head_attention_matches_finite_differences_in_inputs_and_parameters() {
    for projections in [Projections::Fused, Projections::Separate] {
        let store = ParamStore::<f64>::with_seed(1);
        let mha = MultiHeadAttention::with_options(&store.root(), 4, 2, projections, true);
        let opts = GradcheckOptions::default();
        let mask = AttentionMask::new().causal().key_lengths(&[3, 2], 3);
        gradcheck(|x| project(mha.self_attention(x[0], &mask), 1), &[seq(&[2, 3, 4], 0)], &opts).unwrap();
        let (q, kv) = (seq(&[2, 2, 4], 2), seq(&[2, 3, 4], 3));
        gradcheck(
            |x| project(mha.attend(x[0], x[1], x[1], &half_padded3()), 4),
            &[q.clone(), kv.clone()],
            &opts,
        )
        .unwrap();
        check_parameters(&store, |tape| {
            project(
                mha.attend(
                    tape.constant(q.clone()),
                    tape.constant(kv.clone()),
                    tape.constant(kv.clone()),
                    &mask,
                ),
                5,
            )
        });
    }
}

/// Padding of 3 keys: batch 0 keeps two, batch 1 none.
fn half_padded3() -> AttentionMask<f64> {
    AttentionMask::new().key_padding(&[vec![false, false, true], vec![true; 3]])
}

#[test]
fn the_encoder_layer_matches_finite_differences_in_inputs_and_parameters() {
    let store = ParamStore::<f64>::with_seed(2);
    let opts = TransformerOptions::default().ff_dim(6).dropout(0.0);
    let layer = TransformerEncoderLayer::with_options(&store.root().sub("enc"), 4, 2, &opts);
    let x = seq(&[2, 3, 4], 0);
    let mask = AttentionMask::new().causal();
    let check = GradcheckOptions::default();
    gradcheck(|v| project(layer.forward_masked(v[0], &mask), 1), std::slice::from_ref(&x), &check).unwrap();
    gradcheck(|v| project(layer.forward(v[0]), 2), std::slice::from_ref(&x), &check).unwrap();
    check_parameters(&store, |tape| project(layer.forward_masked(tape.constant(x.clone()), &mask), 3));
}

#[test]
fn encoder_layer_dropout_acts_in_training_only() {
    let store = ParamStore::<f32>::new(3);
    let layer = TransformerEncoderLayer::new(&store.root(), 8, 2);
    let names: Vec<String> = store.parameters().iter().map(|p| p.name().to_string()).collect();
    assert_eq!(names[0], "norm1.weight");
    assert!(names.contains(&"self_attn.in_proj_weight".to_string()));
    assert_eq!(layer.linear1.outputs(), 32);
    let tape = Tape::new();
    let x = tape
        .constant(Tensor::from_vec((0..48).map(|i| (i as f32 * 0.3).cos()).collect(), &[2, 3, 8]).unwrap());
    let (a, b) = (layer.forward(x).value(), layer.forward(x).value());
    assert_ne!(a, b, "training mode draws fresh dropout masks");
    store.eval();
    assert_eq!(layer.forward(x).value(), layer.forward(x).value());
}

#[test]
#[should_panic(expected = "attention mask: key padding [2, 4] for scores [2, 3, 5]")]
fn a_padding_mask_of_the_wrong_length_is_rejected() {
    let tape = Tape::new();
    let mask = AttentionMask::<f64>::new().key_lengths(&[1, 2], 4);
    attention_weights(tape.constant(seq(&[2, 3, 4], 0)), tape.constant(seq(&[2, 5, 4], 1)), &mask);
}
