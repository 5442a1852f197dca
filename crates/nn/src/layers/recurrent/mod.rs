//! Recurrent layers with PyTorch's equations, gate order, parameter layout and initialisation: the
//! cells `RnnCell`, `GruCell`, `LstmCell` (one time step) and the sequence layers `Rnn`, `Gru`, `Lstm`
//! over batch-first `[batch, time, features]` inputs, stacked and optionally bidirectional. Each is
//! the generic [`RecurrentCell`] or [`RecurrentLayer`] of one [`Recurrence`].
//!
//! With `x` the input, `h` the previous hidden state, W and b the weights of each gate (PyTorch's
//! `weight_ih` `[gates · hidden, input]`, `weight_hh` `[gates · hidden, hidden]`, `bias_ih`, `bias_hh`):
//!
//! - RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
//! - GRU (gates r, z, n): r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
//!   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 - z) ⊙ n + z ⊙ h
//! - LSTM (gates i, f, g, o): i, f, o = σ(W_i· x + b_i· + W_h· h + b_h·), g = tanh(…),
//!   c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c')
//!
//! Every weight and bias starts uniform on ±1/√hidden. The layers are built from Var ops (matmul,
//! sigmoid, tanh, narrow, stack, concat; a GRU's gate arithmetic is the one fused op `gru_cell`), so
//! gradients of every order flow through time.

mod cell;
mod recurrence;
mod sequence;

pub use cell::{GruCell, LstmCell, RecurrentCell, RnnCell};
pub use recurrence::{GruKind, LstmKind, Recurrence, RnnKind};
pub use sequence::{Gru, Lstm, LstmOutput, RecurrentLayer, RecurrentOptions, Rnn};

pub(crate) use recurrence::{Kind, split_state};

use wengert_tape::{Tape, Var};
use wengert_tensor::{Float, Tensor};

use crate::init::Init;
use crate::param::{Param, TapeParam};
use crate::store::Path;

impl Kind {
    /// The number of gates stacked in the weights: 1, 3 (r, z, n) or 4 (i, f, g, o).
    pub(crate) const fn gates(self) -> usize {
        match self {
            Kind::Rnn => 1,
            Kind::Gru => 3,
            Kind::Lstm => 4,
        }
    }

    /// The name in parameter paths and messages.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Kind::Rnn => "rnn",
            Kind::Gru => "gru",
            Kind::Lstm => "lstm",
        }
    }
}

/// The weights of one cell bound to a tape, as Vars: the functional form of a recurrent layer.
///
/// A layer's `weights(tape)` binds its parameters; a caller can also build one from any Vars of the
/// right shapes (to differentiate with respect to them, or to share weights), and pass it to
/// `step_with` or `forward_with`.
///
/// ```
/// use wengert::nn::{CellWeights, GruCell, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f64>::with_seed(0);
/// let cell = GruCell::new(&store.root().sub("gru"), 3, 4);
/// let tape = Tape::new();
/// let w: CellWeights<'_, f64> = cell.weights(&tape);
/// assert_eq!(w.weight_ih.shape(), vec![12, 3]); // 3 gates of 4
/// let h = cell.step_with(&w, tape.constant(Tensor::ones(&[2, 3])), None);
/// assert_eq!(h.shape(), vec![2, 4]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CellWeights<'t, F: Float = f32> {
    /// `[gates · hidden, input]`.
    pub weight_ih: Var<'t, F>,
    /// `[gates · hidden, hidden]`.
    pub weight_hh: Var<'t, F>,
    /// `[gates · hidden]`, if the layer has biases.
    pub bias_ih: Option<Var<'t, F>>,
    /// `[gates · hidden]`, if the layer has biases.
    pub bias_hh: Option<Var<'t, F>>,
}

/// The parameters of one cell, in PyTorch's layout.
#[derive(Debug)]
pub(crate) struct CellParams<F: Float> {
    pub(crate) kind: Kind,
    pub(crate) weight_ih: Param<F>,
    pub(crate) weight_hh: Param<F>,
    pub(crate) bias_ih: Option<Param<F>>,
    pub(crate) bias_hh: Option<Param<F>>,
}

impl<F: Float> CellParams<F> {
    /// Creates the parameters under `path` as `weight_ih{suffix}`, `weight_hh{suffix}`, ... (the suffix
    /// is PyTorch's `_l0`, `_l1_reverse`, ... in sequence layers, empty in cells).
    #[track_caller]
    pub(crate) fn new(
        path: &Path<F>,
        kind: Kind,
        input: usize,
        hidden: usize,
        bias: bool,
        suffix: &str,
    ) -> Self {
        assert!(hidden > 0, "{}: the hidden size must be positive", kind.name());
        let k = 1.0 / (hidden as f64).sqrt();
        let init = Init::Uniform { low: -k, high: k };
        let g = kind.gates() * hidden;
        let weight_ih = path.param(&format!("weight_ih{suffix}"), &[g, input], init);
        let weight_hh = path.param(&format!("weight_hh{suffix}"), &[g, hidden], init);
        let bias_ih = bias.then(|| path.param(&format!("bias_ih{suffix}"), &[g], init));
        let bias_hh = bias.then(|| path.param(&format!("bias_hh{suffix}"), &[g], init));
        CellParams { kind, weight_ih, weight_hh, bias_ih, bias_hh }
    }

    pub(crate) fn input(&self) -> usize {
        self.weight_ih.shape()[1]
    }

    pub(crate) fn hidden(&self) -> usize {
        self.weight_hh.shape()[1]
    }

    /// The parameters bound to `tape`.
    pub(crate) fn bind<'t>(&self, tape: &'t Tape<F>) -> CellWeights<'t, F> {
        CellWeights {
            weight_ih: tape.param(&self.weight_ih),
            weight_hh: tape.param(&self.weight_hh),
            bias_ih: self.bias_ih.as_ref().map(|b| tape.param(b)),
            bias_hh: self.bias_hh.as_ref().map(|b| tape.param(b)),
        }
    }

    /// Every parameter, in PyTorch's order.
    pub(crate) fn all(&self) -> Vec<Param<F>> {
        let mut out = vec![self.weight_ih.clone(), self.weight_hh.clone()];
        out.extend(self.bias_ih.iter().cloned());
        out.extend(self.bias_hh.iter().cloned());
        out
    }

    /// Panics unless `w` has this cell's shapes.
    #[track_caller]
    pub(crate) fn check(&self, w: &CellWeights<'_, F>) {
        let name = self.kind.name();
        let same = |v: Var<'_, F>, p: &Param<F>, what: &str| {
            if v.shape() != p.shape() {
                panic!("{name}: {what} of shape {:?} where {:?} was expected", v.shape(), p.shape());
            }
        };
        same(w.weight_ih, &self.weight_ih, "weight_ih");
        same(w.weight_hh, &self.weight_hh, "weight_hh");
        for (v, p, what) in [(w.bias_ih, &self.bias_ih, "bias_ih"), (w.bias_hh, &self.bias_hh, "bias_hh")] {
            match (v, p) {
                (Some(v), Some(p)) => same(v, p, what),
                (None, None) => {}
                (Some(_), None) => panic!("{name}: {what} given for a layer without biases"),
                (None, Some(_)) => panic!("{name}: {what} missing for a layer with biases"),
            }
        }
    }
}

/// A cell's weights prepared for a run of steps: transposed once, with the biases that only add up
/// folded into the input projection.
#[derive(Debug)]
pub(crate) struct Prepared<'t, F: Float> {
    kind: Kind,
    hidden: usize,
    w_ih_t: Var<'t, F>,
    w_hh_t: Var<'t, F>,
    /// Added to the input projection: b_ih, plus b_hh for RNN and LSTM.
    bias_x: Option<Var<'t, F>>,
    /// Added to the hidden projection at every step: b_hh of a GRU (its n gate multiplies it by r).
    bias_h: Option<Var<'t, F>>,
}

impl<'t, F: Float> Prepared<'t, F> {
    pub(crate) fn new(kind: Kind, w: &CellWeights<'t, F>) -> Self {
        let hidden = w.weight_hh.shape()[1];
        let (bias_x, bias_h) = match kind {
            Kind::Gru => (w.bias_ih, w.bias_hh),
            Kind::Rnn | Kind::Lstm => match (w.bias_ih, w.bias_hh) {
                (Some(a), Some(b)) => (Some(a + b), None),
                (a, b) => (a.or(b), None),
            },
        };
        Prepared { kind, hidden, w_ih_t: w.weight_ih.t(), w_hh_t: w.weight_hh.t(), bias_x, bias_h }
    }

    /// `x W_ihᵀ + b`, for `x` of shape `[..., input]`: one matmul for every time step at once.
    pub(crate) fn project(&self, x: Var<'t, F>) -> Var<'t, F> {
        let xp = x.matmul(self.w_ih_t);
        self.bias_x.map_or(xp, |b| xp + b)
    }

    /// One step from the projected input `xp` `[batch, gates · hidden]` and the state `(h, c)`; `c`
    /// only for an LSTM. Returns the new state.
    pub(crate) fn step(
        &self,
        xp: Var<'t, F>,
        h: Var<'t, F>,
        c: Option<Var<'t, F>>,
    ) -> (Var<'t, F>, Option<Var<'t, F>>) {
        let n = self.hidden;
        let hp = h.matmul(self.w_hh_t);
        match self.kind {
            Kind::Rnn => ((xp + hp).tanh(), None),
            // The gates in one fused op, with the composite's bits: r, z = σ(xp + hp + b_hh),
            // n = tanh(xp_n + r (hp_n + b_hn)), h' = n + z (h - n).
            Kind::Gru => (xp.gru_cell(hp, h, self.bias_h), None),
            Kind::Lstm => {
                let gates = xp + hp;
                let s = gates.sigmoid();
                let (i, f, o) = (s.narrow(1, 0, n), s.narrow(1, n, n), s.narrow(1, 3 * n, n));
                let g = gates.narrow(1, 2 * n, n).tanh();
                let c = c.expect("an LSTM step has a cell state");
                let c = f * c + i * g;
                (o * c.tanh(), Some(c))
            }
        }
    }
}

/// Zeros of `[batch, hidden]` on `tape`: the default initial state.
pub(crate) fn zeros<'t, F: Float>(tape: &'t Tape<F>, batch: usize, hidden: usize) -> Var<'t, F> {
    tape.constant(Tensor::zeros(&[batch, hidden]))
}

/// Panics unless `v` has `shape`, naming the layer and what `v` is.
#[track_caller]
pub(crate) fn expect_shape<F: Float>(layer: &str, what: &str, v: Var<'_, F>, shape: &[usize]) {
    if v.shape() != shape {
        panic!("{layer}: {what} of shape {:?} where {shape:?} was expected", v.shape());
    }
}
