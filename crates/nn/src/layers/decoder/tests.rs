//! Tests of TransformerDecoderLayer (and the encoder's post-norm option): structure, causality,
//! masks and finite differences.

use super::*;
use crate::store::ParamStore;
use crate::{Module, TransformerEncoderLayer};
use wengert_tape::Tape;
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck};
use wengert_tensor::Tensor;

use crate::testing::ramped_sines as seq;

/// Pins a closure to the higher-ranked signature `gradcheck` takes.
fn hr<G: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>(g: G) -> G {
    g
}

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "element {i}: {x} vs {y}");
    }
}

fn layer(store: &ParamStore<f64>, norm_first: bool) -> TransformerDecoderLayer<f64> {
    let opts = TransformerOptions::default().ff_dim(8).dropout(0.0).norm_first(norm_first);
    TransformerDecoderLayer::with_options(&store.root().sub("dec"), 4, 2, &opts)
}

#[test]
fn decoder_parameters_are_named_as_pytorchs() {
    let store = ParamStore::<f64>::with_seed(0);
    let dec = layer(&store, true);
    assert!(dec.norm_first());
    let names: Vec<String> = store.parameters().iter().map(|p| p.name().to_string()).collect();
    for prefix in [
        "dec.self_attn.",
        "dec.multihead_attn.",
        "dec.norm1.",
        "dec.norm2.",
        "dec.norm3.",
        "dec.linear1.",
        "dec.linear2.",
    ] {
        assert!(names.iter().any(|n| n.starts_with(prefix)), "no parameter under {prefix}: {names:?}");
    }
}

#[test]
fn decoder_layers_compose_their_sublayers_pre_and_post_norm() {
    for norm_first in [true, false] {
        let store = ParamStore::<f64>::with_seed(3);
        let dec = layer(&store, norm_first);
        let tape = Tape::new();
        let x = tape.constant(seq(&[2, 3, 4]));
        let m = tape.constant(seq(&[2, 5, 4]).cos());
        let causal = AttentionMask::new().causal();
        let sa = |x| dec.self_attn.self_attention(x, &causal);
        let ca = |x| dec.cross_attn.attend(x, m, m, &AttentionMask::new());
        let ff = |x| dec.linear2.forward(dec.linear1.forward(x).gelu());
        let want = if norm_first {
            let x = x + sa(dec.norm1.forward(x));
            let x = x + ca(dec.norm2.forward(x));
            x + ff(dec.norm3.forward(x))
        } else {
            let x = dec.norm1.forward(x + sa(x));
            let x = dec.norm2.forward(x + ca(x));
            dec.norm3.forward(x + ff(x))
        };
        assert_close(&dec.decode(x, m).value().to_vec(), &want.value().to_vec(), 1e-12);
    }
}

#[test]
fn encoder_post_norm_normalises_after_each_residual_sum() {
    let store = ParamStore::<f64>::with_seed(1);
    let opts = TransformerOptions::default().ff_dim(8).dropout(0.0).norm_first(false);
    let enc = TransformerEncoderLayer::with_options(&store.root(), 4, 2, &opts);
    assert!(!enc.norm_first());
    let tape = Tape::new();
    let x = tape.constant(seq(&[2, 3, 4]));
    let none = AttentionMask::new();
    let h = enc.norm1.forward(x + enc.attn.self_attention(x, &none));
    let want = enc.norm2.forward(h + enc.linear2.forward(enc.linear1.forward(h).gelu()));
    assert_close(&enc.forward(x).value().to_vec(), &want.value().to_vec(), 1e-12);
    // The output of a post-norm layer has mean 0 and variance 1 over each row (weight 1, bias 0).
    let row = enc.forward(x).value().to_vec();
    let mean = row[..4].iter().sum::<f64>() / 4.0;
    assert!(mean.abs() < 1e-9);
}

#[test]
fn decoder_outputs_do_not_depend_on_later_targets_or_masked_memory() {
    let store = ParamStore::<f64>::with_seed(5);
    let dec = layer(&store, true);
    let tape = Tape::new();
    let m = tape.constant(seq(&[1, 3, 4]).cos());
    let x = seq(&[1, 4, 4]).to_vec();
    let mut later = x.clone();
    later[12..].iter_mut().for_each(|v| *v += 3.0); // change only the last position
    let y = dec.decode(tape.constant(Tensor::from_vec(x.clone(), &[1, 4, 4]).unwrap()), m).value().to_vec();
    let y2 = dec.decode(tape.constant(Tensor::from_vec(later, &[1, 4, 4]).unwrap()), m).value().to_vec();
    assert_close(&y[..12], &y2[..12], 1e-12);
    assert!(y[12..].iter().zip(&y2[12..]).any(|(a, b)| (a - b).abs() > 1e-6));
    // A padded memory position has no influence; an unpadded one has.
    let xv = tape.constant(Tensor::from_vec(x, &[1, 4, 4]).unwrap());
    let pad = AttentionMask::new().key_padding(&[vec![false, false, true]]);
    let causal = AttentionMask::new().causal();
    let mut m2 = m.value().to_vec();
    m2[8..].iter_mut().for_each(|v| *v -= 2.0);
    let m2 = tape.constant(Tensor::from_vec(m2, &[1, 3, 4]).unwrap());
    let a = dec.decode_masked(xv, m, &causal, &pad).value().to_vec();
    assert_close(&a, &dec.decode_masked(xv, m2, &causal, &pad).value().to_vec(), 1e-12);
    let b = dec.decode(xv, m2).value().to_vec();
    assert!(a.iter().zip(&b).any(|(a, b)| (a - b).abs() > 1e-6));
}

#[test]
fn decoder_gradients_match_finite_differences_to_second_order() {
    let opts = GradcheckOptions::default();
    for norm_first in [true, false] {
        let store = ParamStore::<f64>::with_seed(7);
        let dec = layer(&store, norm_first);
        let probe = seq(&[1, 3, 4]).cos();
        let f = hr(|v| (dec.decode(v[0], v[1]) * &probe).sum());
        let ins = [seq(&[1, 3, 4]), seq(&[1, 2, 4]).sin()];
        gradcheck(f, &ins, &opts).unwrap();
        gradgradcheck(f, &ins, &opts).unwrap();
    }
}

#[test]
fn attention_dropout_drops_attention_weights_in_training_only() {
    // Three stores of the same seed: the same weights.
    let stores: Vec<ParamStore<f64>> = (0..3).map(|_| ParamStore::with_seed(2)).collect();
    let plain = MultiHeadAttention::new(&stores[0].root(), 4, 2);
    let all = MultiHeadAttention::new(&stores[1].root(), 4, 2).with_attention_dropout(1.0);
    let half = MultiHeadAttention::new(&stores[2].root(), 4, 2).with_attention_dropout(0.5);
    assert_eq!((plain.attention_dropout(), half.attention_dropout()), (0.0, 0.5));
    let tape = Tape::new();
    let x = tape.constant(seq(&[2, 3, 4]));
    // Every weight dropped: the heads give zeros and the output is the out projection's bias.
    let bias = plain.out_proj.forward(tape.constant(Tensor::zeros(&[2, 3, 4])));
    assert_close(&all.forward(x).value().to_vec(), &bias.value().to_vec(), 0.0);
    assert!(half.forward(x).value().to_vec() != plain.forward(x).value().to_vec());
    stores.iter().for_each(ParamStore::eval);
    assert_close(&all.forward(x).value().to_vec(), &plain.forward(x).value().to_vec(), 0.0);
    assert_close(&half.forward(x).value().to_vec(), &plain.forward(x).value().to_vec(), 0.0);
}
