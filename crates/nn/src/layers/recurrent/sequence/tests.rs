//! Tests of the stacked layers: dropout between layers, and the GRU's fused gates.

use wengert_tape::{Tape, Var};
use wengert_tensor::{Tensor, s};

use crate::layers::recurrent::{Gru, Lstm, RecurrentOptions, Rnn};
use crate::store::ParamStore;

fn input(seed: f64) -> Tensor<f64> {
    Tensor::from_vec((0..2 * 4 * 3).map(|i| (i as f64 * 0.37 + seed).sin()).collect(), &[2, 4, 3]).unwrap()
}

/// The outputs of a 2-layer GRU with dropout `p`, in training or evaluation.
fn gru_outputs(p: f64, training: bool, x: &Tensor<f64>) -> Vec<f64> {
    let store = ParamStore::<f64>::with_seed(7);
    let gru = Gru::with_options(&store.root(), 3, 5, &RecurrentOptions::default().num_layers(2).dropout(p));
    if !training {
        store.eval();
    }
    let tape = Tape::new();
    gru.forward_seq(tape.constant(x.clone()), None).0.value().to_vec()
}

#[test]
fn dropout_between_layers_acts_in_training_only() {
    let x = input(0.0);
    let plain = gru_outputs(0.0, true, &x);
    assert_eq!(gru_outputs(0.5, false, &x), plain);
    assert_ne!(gru_outputs(0.5, true, &x), plain);
}

#[test]
fn dropping_everything_cuts_the_upper_layer_off_its_input() {
    // With p = 1 the second layer reads zeros, so its outputs no longer depend on the input.
    assert_eq!(gru_outputs(1.0, true, &input(0.0)), gru_outputs(1.0, true, &input(1.0)));
    assert_ne!(gru_outputs(0.0, true, &input(0.0)), gru_outputs(0.0, true, &input(1.0)));
}

#[test]
fn one_layer_has_nothing_to_drop() {
    let x = input(0.0);
    let run = |p: f64| {
        let store = ParamStore::<f64>::with_seed(3);
        let rnn = Rnn::with_options(&store.root(), 3, 4, &RecurrentOptions::default().dropout(p));
        let tape = Tape::new();
        rnn.forward_seq(tape.constant(x.clone()), None).0.value().to_vec()
    };
    assert_eq!(run(0.9), run(0.0));
}

#[test]
fn gradients_flow_through_the_kept_outputs() {
    let store = ParamStore::<f64>::with_seed(1);
    let opts = RecurrentOptions::default().num_layers(3).bidirectional(true).dropout(0.3);
    let lstm = Lstm::with_options(&store.root(), 3, 4, &opts);
    let tape = Tape::new();
    let x = tape.var(input(0.5));
    let (y, _) = lstm.forward_seq(x, None);
    let g = y.square().sum().backward();
    assert!(g[x].to_vec().iter().all(|v| v.is_finite()));
    assert!(g[x].to_vec().iter().any(|&v| v != 0.0));
}

#[test]
#[should_panic(expected = "lstm: dropout must lie in [0, 1], got 1.5")]
fn a_dropout_outside_the_unit_interval_is_refused() {
    let store = ParamStore::<f32>::new(0);
    Lstm::with_options(&store.root(), 3, 4, &RecurrentOptions::default().dropout(1.5));
}

/// The final state's and outputs' bits, and the gradients' of the input and every parameter, of a
/// GRU over `[2, 6, 3]`: through the layer (its fused gates), or with its gates written out in Var
/// ops as the layer recorded them before the fused op.
fn gru_bits(fused: bool) -> Vec<Vec<u32>> {
    let store = ParamStore::<f32>::new(5);
    let gru = Gru::new(&store.root(), 3, 4);
    let tape = Tape::new();
    let x =
        tape.var(Tensor::from_vec((0..36).map(|i| (i as f32 * 0.61).sin()).collect(), &[2, 6, 3]).unwrap());
    let w = gru.weights(&tape);
    let (y, h_n) = if fused {
        gru.forward_with(&w, x, None)
    } else {
        let w = w[0];
        let (w_ih_t, w_hh_t, n) = (w.weight_ih.t(), w.weight_hh.t(), 4);
        let xp = x.permute(&[1, 0, 2]).matmul(w_ih_t) + w.bias_ih.unwrap();
        let mut h = tape.constant(Tensor::zeros(&[2, n]));
        let mut hs = Vec::new();
        for t in 0..6 {
            let xp = xp.slice(s![t, .., ..]);
            let hp = h.matmul(w_hh_t) + w.bias_hh.unwrap();
            let rz = (xp.narrow(1, 0, 2 * n) + hp.narrow(1, 0, 2 * n)).sigmoid();
            let (r, z) = (rz.narrow(1, 0, n), rz.narrow(1, n, n));
            let cand = (xp.narrow(1, 2 * n, n) + r * hp.narrow(1, 2 * n, n)).tanh();
            h = cand + z * (h - cand);
            hs.push(h);
        }
        (Var::stack(&hs, 0).permute(&[1, 0, 2]), Var::stack(&[h], 0))
    };
    let loss = (y.square() * 0.5).sum() + (h_n * 3.0).sum();
    let w = w[0];
    let wrt = [x, w.weight_ih, w.weight_hh, w.bias_ih.unwrap(), w.bias_hh.unwrap()];
    let bits = |t: &Tensor<f32>| t.to_vec().into_iter().map(f32::to_bits).collect::<Vec<u32>>();
    let mut out = vec![bits(&y.value()), bits(&h_n.value())];
    out.extend(tape.grad(loss, &wrt).iter().map(bits));
    out
}

#[test]
fn a_gru_gives_the_bits_of_its_gates_written_out_in_var_ops() {
    assert_eq!(gru_bits(true), gru_bits(false));
}
