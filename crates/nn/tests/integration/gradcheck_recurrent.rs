//! The recurrent layers: gradients through time against finite differences in f64 (every input,
//! state and weight), the equations against a scalar reference, and the layout of stacked and
//! bidirectional layers.

use wengert_nn::{
    CellWeights, GradientsParam, Gru, GruCell, Lstm, LstmCell, Module, ParamStore, RecurrentOptions, Rnn,
    RnnCell,
};
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck};
use wengert_tape::{Tape, Var};
use wengert_tensor::Tensor;

const B: usize = 2;
const T: usize = 3;
const I: usize = 3;
const H: usize = 4;

/// Deterministic values in about [-1, 1], different for each `k`.
fn seq(shape: &[usize], k: usize) -> Tensor<f64> {
    let n = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| ((i * 7 + k * 13) as f64 * 0.61).sin()).collect(), shape).unwrap()
}

/// The values of a layer's parameters, in order.
fn values(params: &[wengert_nn::Param<f64>]) -> Vec<Tensor<f64>> {
    params.iter().map(|p| p.value()).collect()
}

/// Cell weights from four consecutive Vars.
fn cell_weights<'t>(v: &[Var<'t, f64>]) -> CellWeights<'t, f64> {
    CellWeights { weight_ih: v[0], weight_hh: v[1], bias_ih: Some(v[2]), bias_hh: Some(v[3]) }
}

/// A weighted sum, so that every output element gets a different gradient.
fn project<'t>(y: Var<'t, f64>, k: usize) -> Var<'t, f64> {
    (y * &seq(&y.shape(), k)).sum()
}

#[test]
fn rnn_and_gru_cells_through_time_match_finite_differences() {
    let store = ParamStore::<f64>::with_seed(0);
    let rnn = RnnCell::new(&store.root().sub("rnn"), I, H);
    let gru = GruCell::new(&store.root().sub("gru"), I, H);
    let opts = GradcheckOptions::default();
    let xs: Vec<Tensor<f64>> = (0..T).map(|t| seq(&[B, I], t)).collect();
    for (cell, params) in [(0, rnn.parameters()), (1, gru.parameters())] {
        let mut inputs = vec![seq(&[B, H], 9)];
        inputs.extend(values(&params));
        inputs.extend(xs.iter().cloned());
        gradcheck(
            |v| {
                let w = cell_weights(&v[1..5]);
                let mut h = v[0];
                for &x in &v[5..] {
                    h = if cell == 0 { rnn.step_with(&w, x, Some(h)) } else { gru.step_with(&w, x, Some(h)) };
                }
                project(h, 1)
            },
            &inputs,
            &opts,
        )
        .unwrap_or_else(|e| panic!("cell {cell}: {e}"));
    }
}

#[test]
fn the_lstm_cell_through_time_matches_finite_differences() {
    let store = ParamStore::<f64>::with_seed(1);
    let lstm = LstmCell::new(&store.root(), I, H);
    let mut inputs = vec![seq(&[B, H], 3), seq(&[B, H], 4)];
    inputs.extend(values(&lstm.parameters()));
    inputs.extend((0..T).map(|t| seq(&[B, I], t)));
    gradcheck(
        |v| {
            let w = cell_weights(&v[2..6]);
            let mut state = (v[0], v[1]);
            for &x in &v[6..] {
                state = lstm.step_with(&w, x, Some(state));
            }
            project(state.0, 1) + project(state.1, 2)
        },
        &inputs,
        &GradcheckOptions::default(),
    )
    .unwrap();
}

#[test]
fn a_gru_cell_has_correct_second_derivatives() {
    let store = ParamStore::<f64>::with_seed(2);
    let gru = GruCell::new(&store.root(), I, H);
    let mut inputs = vec![seq(&[B, I], 0), seq(&[B, H], 1)];
    inputs.extend(values(&gru.parameters()));
    gradgradcheck(
        |v| project(gru.step_with(&cell_weights(&v[2..6]), v[0], Some(v[1])), 3),
        &inputs,
        &GradcheckOptions::default(),
    )
    .unwrap();
}

/// Checks a 2-layer bidirectional sequence layer's gradients in every input, state and weight.
fn check_stacked_bidirectional(kind: &str) {
    let store = ParamStore::<f64>::with_seed(3);
    let opts = RecurrentOptions::default().num_layers(2).bidirectional(true);
    let (gru, lstm, rnn) = (
        Gru::with_options(&store.root().sub("gru"), I, H, &opts),
        Lstm::with_options(&store.root().sub("lstm"), I, H, &opts),
        Rnn::with_options(&store.root().sub("rnn"), I, H, &opts),
    );
    let params = match kind {
        "gru" => gru.parameters(),
        "lstm" => lstm.parameters(),
        _ => rnn.parameters(),
    };
    assert_eq!(params.len(), 16);
    let mut inputs = vec![seq(&[B, T, I], 0), seq(&[4, B, H], 1), seq(&[4, B, H], 2)];
    inputs.extend(values(&params));
    gradcheck(
        |v| {
            let w: Vec<CellWeights<'_, f64>> = v[3..].chunks(4).map(cell_weights).collect();
            match kind {
                "gru" => {
                    let (y, h) = gru.forward_with(&w, v[0], Some(v[1]));
                    project(y, 3) + project(h, 4)
                }
                "lstm" => {
                    let (y, (h, c)) = lstm.forward_with(&w, v[0], Some((v[1], v[2])));
                    project(y, 3) + project(h, 4) + project(c, 5)
                }
                _ => {
                    let (y, h) = rnn.forward_with(&w, v[0], Some(v[1]));
                    project(y, 3) + project(h, 4)
                }
            }
        },
        &inputs,
        &GradcheckOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{kind}: {e}"));
}

#[test]
fn a_two_layer_bidirectional_gru_matches_finite_differences() {
    check_stacked_bidirectional("gru");
}

#[test]
fn a_two_layer_bidirectional_lstm_matches_finite_differences() {
    check_stacked_bidirectional("lstm");
}

#[test]
fn a_two_layer_bidirectional_rnn_matches_finite_differences() {
    check_stacked_bidirectional("rnn");
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// Row `r` of `w` `[rows, cols]` dotted with `x`.
fn dot_row(w: &[f64], cols: usize, r: usize, x: &[f64]) -> f64 {
    (0..cols).map(|c| w[r * cols + c] * x[c]).sum()
}

#[test]
fn cells_follow_pytorchs_equations_and_gate_order() {
    let store = ParamStore::<f64>::with_seed(4);
    let gru = GruCell::new(&store.root().sub("gru"), I, H);
    let lstm = LstmCell::new(&store.root().sub("lstm"), I, H);
    let rnn = RnnCell::new(&store.root().sub("rnn"), I, H);
    let (x, h, c) = (seq(&[B, I], 0), seq(&[B, H], 1), seq(&[B, H], 2));
    let tape = Tape::new();
    let (xv, hv, cv) = (tape.constant(x.clone()), tape.constant(h.clone()), tape.constant(c.clone()));
    let got_gru = gru.step(xv, Some(hv)).value().to_vec();
    let (got_h, got_c) = lstm.step(xv, Some((hv, cv)));
    let (got_h, got_c) = (got_h.value().to_vec(), got_c.value().to_vec());
    let got_rnn = rnn.step(xv, Some(hv)).value().to_vec();
    let p = |ps: Vec<wengert_nn::Param<f64>>| ps.iter().map(|p| p.value().to_vec()).collect::<Vec<_>>();
    let (g, l, r) = (p(gru.parameters()), p(lstm.parameters()), p(rnn.parameters()));
    let (x, h, c) = (x.to_vec(), h.to_vec(), c.to_vec());
    for b in 0..B {
        let (xb, hb, cb) = (&x[b * I..][..I], &h[b * H..][..H], &c[b * H..][..H]);
        // Pre-activations of gate row `r`: input part and hidden part, each with its bias.
        let pre = |w: &[Vec<f64>], r: usize| {
            (dot_row(&w[0], I, r, xb) + w[2][r], dot_row(&w[1], H, r, hb) + w[3][r])
        };
        for j in 0..H {
            let at = b * H + j;
            let ((xr, hr), (xz, hz), (xn, hn)) = (pre(&g, j), pre(&g, H + j), pre(&g, 2 * H + j));
            let (rg, zg) = (sigmoid(xr + hr), sigmoid(xz + hz));
            let n = (xn + rg * hn).tanh();
            let want = (1.0 - zg) * n + zg * hb[j];
            assert!((got_gru[at] - want).abs() < 1e-12, "gru {at}: {} vs {want}", got_gru[at]);
            let gate = |k: usize| {
                let (a, b) = pre(&l, k * H + j);
                a + b
            };
            let (i, f, gg, o) = (sigmoid(gate(0)), sigmoid(gate(1)), gate(2).tanh(), sigmoid(gate(3)));
            let c_new = f * cb[j] + i * gg;
            assert!((got_c[at] - c_new).abs() < 1e-12, "lstm c {at}");
            assert!((got_h[at] - o * c_new.tanh()).abs() < 1e-12, "lstm h {at}");
            let (a, bb) = pre(&r, j);
            assert!((got_rnn[at] - (a + bb).tanh()).abs() < 1e-12, "rnn {at}");
        }
    }
}

#[test]
fn bidirectional_layers_read_the_sequence_both_ways_and_stack_final_states() {
    let store = ParamStore::<f64>::with_seed(5);
    let opts = RecurrentOptions::default().bidirectional(true);
    let gru = Gru::with_options(&store.root().sub("gru"), I, H, &opts);
    let names: Vec<String> = store.parameters().iter().map(|p| p.name().to_string()).collect();
    assert_eq!(names[..4], ["gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0", "gru.bias_hh_l0"]);
    assert_eq!(names[4], "gru.weight_ih_l0_reverse");
    // The same cells run by hand: forward over t = 0, 1, 2 and reverse over t = 2, 1, 0.
    let fwd = GruCell::new(&store.root().sub("f"), I, H);
    let rev = GruCell::new(&store.root().sub("r"), I, H);
    for (cell, ps) in [(&fwd, &gru.parameters()[..4]), (&rev, &gru.parameters()[4..])] {
        for (p, q) in cell.parameters().iter().zip(ps) {
            p.set(q.value());
        }
    }
    let tape = Tape::new();
    let x = seq(&[B, T, I], 0);
    let (y, h_n) = gru.forward_seq(tape.constant(x.clone()), None);
    assert_eq!((y.shape(), h_n.shape()), (vec![B, T, 2 * H], vec![2, B, H]));
    let step = |t: usize| tape.constant(x.narrow(1, t, 1).reshape(&[B, I]).unwrap());
    let mut hf = vec![];
    let mut h = None;
    for t in 0..T {
        h = Some(fwd.step(step(t), h));
        hf.push(h.unwrap().value());
    }
    let mut hr = vec![Tensor::zeros(&[B, H]); T];
    let mut h = None;
    for t in (0..T).rev() {
        h = Some(rev.step(step(t), h));
        hr[t] = h.unwrap().value();
    }
    let yv = y.value();
    for t in 0..T {
        let at = yv.narrow(1, t, 1).reshape(&[B, 2 * H]).unwrap();
        assert_eq!(at.narrow(1, 0, H).to_vec(), hf[t].to_vec(), "forward output at {t}");
        assert_eq!(at.narrow(1, H, H).to_vec(), hr[t].to_vec(), "reverse output at {t}");
    }
    let hn = h_n.value();
    assert_eq!(hn.narrow(0, 0, 1).to_vec(), hf[T - 1].to_vec());
    assert_eq!(hn.narrow(0, 1, 1).to_vec(), hr[0].to_vec());
}

#[test]
fn sequence_layers_train_every_parameter_and_forward_their_outputs() {
    let store = ParamStore::<f64>::with_seed(6);
    let opts = RecurrentOptions::default().num_layers(2);
    let lstm = Lstm::with_options(&store.root().sub("lstm"), I, H, &opts);
    assert_eq!(
        (lstm.input_size(), lstm.hidden_size(), lstm.num_layers(), lstm.is_bidirectional()),
        (I, H, 2, false)
    );
    assert_eq!(lstm.parameters()[4].shape(), vec![4 * H, H]); // layer 1 reads layer 0's H features
    let tape = Tape::new();
    let x = tape.constant(seq(&[B, T, I], 0));
    let (y, (h, c)) = lstm.forward_seq(x, None);
    assert_eq!((h.shape(), c.shape()), (vec![2, B, H], vec![2, B, H]));
    assert_eq!(lstm.forward(x).value(), y.value());
    let grads = (y.sum() + c.sum()).backward();
    for p in lstm.parameters() {
        let g = grads.param(&p).unwrap_or_else(|| panic!("{} has no gradient", p.name()));
        assert!(g.to_vec().iter().any(|v| *v != 0.0), "{} has a zero gradient", p.name());
    }
    let nb =
        Rnn::<f64>::with_options(&store.root().sub("nb"), I, H, &RecurrentOptions::default().bias(false));
    assert_eq!(nb.parameters().len(), 2);
    assert_eq!(nb.forward(x).shape(), vec![B, T, H]);
}

#[test]
#[should_panic(expected = "gru: initial state h of shape [1, 2, 4] where [2, 2, 4] was expected")]
fn a_sequence_layer_rejects_a_wrong_initial_state() {
    let store = ParamStore::<f32>::new(0);
    let gru = Gru::with_options(&store.root(), I, H, &RecurrentOptions::default().num_layers(2));
    let tape = Tape::new();
    gru.forward_seq(tape.constant(Tensor::zeros(&[B, T, I])), Some(tape.constant(Tensor::zeros(&[1, B, H]))));
}

#[test]
#[should_panic(expected = "lstm: input of shape [2, 3] where [batch, time ≥ 1, 3] was expected")]
fn a_sequence_layer_rejects_an_input_without_time() {
    let store = ParamStore::<f32>::new(0);
    let tape = Tape::new();
    Lstm::new(&store.root(), I, H).forward_seq(tape.constant(Tensor::zeros(&[B, I])), None);
}

#[test]
#[should_panic(expected = "gru: bias_ih missing for a layer with biases")]
fn a_layer_rejects_weights_without_its_biases() {
    let store = ParamStore::<f32>::new(0);
    let gru = Gru::new(&store.root().sub("a"), I, H);
    let other = Gru::with_options(&store.root().sub("b"), I, H, &RecurrentOptions::default().bias(false));
    let tape = Tape::new();
    gru.forward_with(&other.weights(&tape), tape.constant(Tensor::zeros(&[B, T, I])), None);
}

#[test]
#[should_panic(expected = "gru: weight_ih of shape [12, 5] where [12, 3] was expected")]
fn a_cell_rejects_weights_of_another_shape() {
    let store = ParamStore::<f32>::new(0);
    let cell = GruCell::new(&store.root().sub("a"), I, H);
    let other = GruCell::new(&store.root().sub("b"), 5, H);
    let tape = Tape::new();
    cell.step_with(&other.weights(&tape), tape.constant(Tensor::zeros(&[B, I])), None);
}
