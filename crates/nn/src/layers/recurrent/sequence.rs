//! The sequence layers `Rnn`, `Gru` and `Lstm`, one generic [`RecurrentLayer`]: cells run over
//! batch-first `[batch, time, features]` inputs, stacked `num_layers` deep and optionally
//! bidirectional, as PyTorch's `nn.RNN`, `nn.GRU` and `nn.LSTM` with `batch_first=True`.
//!
//! Each layer and direction projects its whole input sequence with one matmul, then steps through
//! time with the recurrent matmul only. With `dropout`, the outputs of every layer but the last are
//! dropped out in training before the next layer reads them, as PyTorch's. A reverse direction reads the sequence from the end; the
//! outputs of both directions are concatenated on the feature axis (forward first), and the final
//! states are stacked `[num_layers · directions, batch, hidden]` in the order layer 0 forward, layer 0
//! reverse, layer 1 forward, ... Parameters are named as PyTorch names them: `weight_ih_l0`,
//! `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `weight_ih_l0_reverse`, ...

use std::marker::PhantomData;

use wengert_tape::{Tape, Var};
use wengert_tensor::{Float, s};

use super::{
    CellParams, CellWeights, GruKind, Kind, LstmKind, Prepared, Recurrence, RnnKind, expect_shape,
    split_state, zeros,
};
use crate::layers::Dropout;
use crate::module::Module;
use crate::param::Param;
use crate::store::Path;

/// Settings of [`Rnn`], [`Gru`] and [`Lstm`]; the default is PyTorch's: one layer, one direction,
/// with biases.
///
/// ```
/// use wengert::nn::RecurrentOptions;
/// let opts = RecurrentOptions::default().num_layers(2).bidirectional(true).dropout(0.25);
/// assert_eq!((opts.num_layers, opts.bidirectional, opts.bias, opts.dropout), (2, true, true, 0.25));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RecurrentOptions {
    /// Stacked layers, each reading the outputs of the one below (default 1).
    pub num_layers: usize,
    /// Also run every layer from the end of the sequence, concatenating both outputs (default false).
    pub bidirectional: bool,
    /// Give every cell `bias_ih` and `bias_hh` (default true).
    pub bias: bool,
    /// The probability with which, in training, each output of every layer but the last is zeroed
    /// before the next layer reads it (PyTorch's `dropout`; default 0, and no effect on one layer).
    pub dropout: f64,
}

impl Default for RecurrentOptions {
    fn default() -> Self {
        RecurrentOptions { num_layers: 1, bidirectional: false, bias: true, dropout: 0.0 }
    }
}

impl RecurrentOptions {
    /// Stacks `n` layers.
    pub fn num_layers(mut self, n: usize) -> Self {
        self.num_layers = n;
        self
    }

    /// Drops out the outputs of every layer but the last with probability `p` in training (see
    /// [`RecurrentOptions::dropout`]); the layer's constructor panics unless `p` lies in `[0, 1]`.
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// Runs both directions (`true`) or forward only.
    pub fn bidirectional(mut self, on: bool) -> Self {
        self.bidirectional = on;
        self
    }

    /// Gives the cells biases (`true`) or none.
    pub fn bias(mut self, on: bool) -> Self {
        self.bias = on;
        self
    }
}

/// The cells of a stacked, possibly bidirectional layer; cell `l · directions + d` is layer `l`,
/// direction `d` (0 forward, 1 reverse).
#[derive(Debug)]
struct Stack<F: Float> {
    kind: Kind,
    hidden: usize,
    layers: usize,
    dirs: usize,
    cells: Vec<CellParams<F>>,
    /// Between layers, in training.
    dropout: Dropout<F>,
}

/// What a run returns: the output sequence and the final `h` and (for an LSTM) `c`.
type Run<'t, F> = (Var<'t, F>, Var<'t, F>, Option<Var<'t, F>>);

impl<F: Float> Stack<F> {
    #[track_caller]
    fn new(path: &Path<F>, kind: Kind, input: usize, hidden: usize, opts: &RecurrentOptions) -> Self {
        assert!(opts.num_layers > 0, "{}: num_layers must be at least 1", kind.name());
        if !(0.0..=1.0).contains(&opts.dropout) {
            panic!("{}: dropout must lie in [0, 1], got {}", kind.name(), opts.dropout);
        }
        let dirs = if opts.bidirectional { 2 } else { 1 };
        let mut cells = Vec::with_capacity(opts.num_layers * dirs);
        for l in 0..opts.num_layers {
            let width = if l == 0 { input } else { dirs * hidden };
            for d in 0..dirs {
                let suffix = if d == 0 { format!("_l{l}") } else { format!("_l{l}_reverse") };
                cells.push(CellParams::new(path, kind, width, hidden, opts.bias, &suffix));
            }
        }
        let dropout = Dropout::new(path, opts.dropout);
        Stack { kind, hidden, layers: opts.num_layers, dirs, cells, dropout }
    }

    fn bind<'t>(&self, tape: &'t Tape<F>) -> Vec<CellWeights<'t, F>> {
        self.cells.iter().map(|c| c.bind(tape)).collect()
    }

    fn parameters(&self) -> Vec<Param<F>> {
        self.cells.iter().flat_map(CellParams::all).collect()
    }

    /// The initial state of cell `k` from the stacked `[layers · dirs, batch, hidden]`, or zeros.
    fn initial<'t>(&self, x: Var<'t, F>, stacked: Option<Var<'t, F>>, k: usize, batch: usize) -> Var<'t, F> {
        stacked.map_or_else(|| zeros(x.tape(), batch, self.hidden), |s| s.slice(s![k, .., ..]))
    }

    #[track_caller]
    fn run<'t>(
        &self,
        w: &[CellWeights<'t, F>],
        x: Var<'t, F>,
        h0: Option<Var<'t, F>>,
        c0: Option<Var<'t, F>>,
    ) -> Run<'t, F> {
        let name = self.kind.name();
        if w.len() != self.cells.len() {
            panic!("{name}: {} cell weights given where the layer has {} cells", w.len(), self.cells.len());
        }
        for (cell, w) in self.cells.iter().zip(w) {
            cell.check(w);
        }
        let shape = x.shape();
        let input = self.cells[0].input();
        if shape.len() != 3 || shape[2] != input || shape[1] == 0 {
            panic!("{name}: input of shape {shape:?} where [batch, time ≥ 1, {input}] was expected");
        }
        let (batch, time) = (shape[0], shape[1]);
        let state = [self.layers * self.dirs, batch, self.hidden];
        if let Some(h0) = h0 {
            expect_shape(name, "initial state h", h0, &state);
        }
        if let Some(c0) = c0 {
            expect_shape(name, "initial state c", c0, &state);
        }
        let lstm = self.kind == Kind::Lstm;
        let mut seq = x.permute(&[1, 0, 2]); // time-major: every step reads a contiguous [batch, ·]
        let (mut hn, mut cn) = (Vec::with_capacity(state[0]), Vec::with_capacity(state[0]));
        for l in 0..self.layers {
            let mut outs = Vec::with_capacity(self.dirs);
            for d in 0..self.dirs {
                let k = l * self.dirs + d;
                let prep = Prepared::new(self.kind, &w[k]);
                let xp = prep.project(seq); // [time, batch, gates · hidden], one matmul
                let mut h = self.initial(x, h0, k, batch);
                let mut c = lstm.then(|| self.initial(x, c0, k, batch));
                let mut hs = Vec::with_capacity(time);
                for i in 0..time {
                    let t = if d == 0 { i } else { time - 1 - i };
                    (h, c) = prep.step(xp.slice(s![t, .., ..]), h, c);
                    hs.push(h);
                }
                if d == 1 {
                    hs.reverse();
                }
                hn.push(h);
                cn.extend(c);
                outs.push(Var::stack(&hs, 0));
            }
            seq = Var::concat(&outs, 2);
            if l + 1 < self.layers {
                seq = self.dropout.forward(seq);
            }
        }
        let c = lstm.then(|| Var::stack(&cn, 0));
        (seq.permute(&[1, 0, 2]), Var::stack(&hn, 0), c)
    }
}

/// A stack of cells of the recurrence `K` run over batch-first `[batch, time, input]` inputs,
/// `num_layers` deep and optionally bidirectional (PyTorch's `nn.RNN`, `nn.GRU`, `nn.LSTM` with
/// `batch_first=True`). Use it through [`Rnn`], [`Gru`] or [`Lstm`].
///
/// ```
/// use wengert::nn::{LstmKind, ParamStore, RecurrentLayer};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let lstm: RecurrentLayer<LstmKind> = RecurrentLayer::new(&store.root(), 3, 4);
/// let tape = Tape::new();
/// let (y, (h_n, c_n)) = lstm.forward_seq(tape.constant(Tensor::ones(&[5, 7, 3])), None);
/// assert_eq!((y.shape(), h_n.shape(), c_n.shape()), (vec![5, 7, 4], vec![1, 5, 4], vec![1, 5, 4]));
/// ```
#[derive(Debug)]
pub struct RecurrentLayer<K: Recurrence, F: Float = f32> {
    stack: Stack<F>,
    kind: PhantomData<K>,
}

/// What [`Lstm::forward_seq`](RecurrentLayer::forward_seq) returns: the outputs and the final
/// `(h_n, c_n)`.
pub type LstmOutput<'t, F> = (Var<'t, F>, (Var<'t, F>, Var<'t, F>));

/// A stacked Elman RNN with tanh over `[batch, time, input]` (PyTorch's `nn.RNN` with
/// `batch_first=True`).
///
/// ```
/// use wengert::nn::{ParamStore, RecurrentOptions, Rnn};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let rnn = Rnn::with_options(&store.root(), 3, 4, &RecurrentOptions::default().num_layers(2));
/// let tape = Tape::new();
/// let (y, h_n) = rnn.forward_seq(tape.constant(Tensor::ones(&[5, 7, 3])), None);
/// assert_eq!((y.shape(), h_n.shape()), (vec![5, 7, 4], vec![2, 5, 4]));
/// ```
pub type Rnn<F = f32> = RecurrentLayer<RnnKind, F>;

/// A stacked, optionally bidirectional GRU over `[batch, time, input]` (PyTorch's `nn.GRU` with
/// `batch_first=True`).
///
/// ```
/// use wengert::nn::{Gru, Module, ParamStore, RecurrentOptions};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let opts = RecurrentOptions::default().num_layers(2).bidirectional(true);
/// let gru = Gru::with_options(&store.root().sub("gru"), 3, 4, &opts);
/// let tape = Tape::new();
/// let (y, h_n) = gru.forward_seq(tape.constant(Tensor::ones(&[5, 7, 3])), None);
/// assert_eq!((y.shape(), h_n.shape()), (vec![5, 7, 8], vec![4, 5, 4]));
/// assert_eq!(store.parameters()[4].name(), "gru.weight_ih_l0_reverse");
/// assert_eq!(gru.forward(tape.constant(Tensor::ones(&[1, 2, 3]))).shape(), vec![1, 2, 8]);
/// ```
pub type Gru<F = f32> = RecurrentLayer<GruKind, F>;

/// A stacked, optionally bidirectional LSTM over `[batch, time, input]` (PyTorch's `nn.LSTM` with
/// `batch_first=True`).
///
/// ```
/// use wengert::nn::{Lstm, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let lstm = Lstm::new(&store.root(), 3, 4);
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::ones(&[5, 7, 3]));
/// let (y, (h_n, c_n)) = lstm.forward_seq(x, None);
/// let (_, (h2, _)) = lstm.forward_seq(x, Some((h_n, c_n)));   // carry the state on
/// assert_eq!((y.shape(), h2.shape()), (vec![5, 7, 4], vec![1, 5, 4]));
/// ```
pub type Lstm<F = f32> = RecurrentLayer<LstmKind, F>;

impl<K: Recurrence, F: Float> RecurrentLayer<K, F> {
    /// One layer, one direction, with biases, from `input` to `hidden` features.
    ///
    /// ```
    /// use wengert::nn::{Gru, ParamStore};
    /// let store = ParamStore::<f32>::new(0);
    /// let gru = Gru::new(&store.root(), 3, 4);
    /// assert_eq!((gru.input_size(), gru.hidden_size(), gru.num_layers(), gru.is_bidirectional()), (3, 4, 1, false));
    /// ```
    ///
    /// # Panics
    ///
    /// When `hidden` is zero.
    #[track_caller]
    pub fn new(path: &Path<F>, input: usize, hidden: usize) -> Self {
        Self::with_options(path, input, hidden, &RecurrentOptions::default())
    }

    /// A layer with chosen depth, directions and biases.
    ///
    /// ```
    /// use wengert::nn::{Lstm, ParamStore, RecurrentOptions};
    /// let store = ParamStore::<f32>::new(0);
    /// let opts = RecurrentOptions::default().num_layers(3).bias(false);
    /// let lstm = Lstm::with_options(&store.root(), 3, 4, &opts);
    /// assert_eq!((lstm.num_layers(), lstm.parameters().len()), (3, 6));
    /// ```
    ///
    /// # Panics
    ///
    /// When `hidden` or `opts.num_layers` is zero.
    #[track_caller]
    pub fn with_options(path: &Path<F>, input: usize, hidden: usize, opts: &RecurrentOptions) -> Self {
        RecurrentLayer { stack: Stack::new(path, K::KIND, input, hidden, opts), kind: PhantomData }
    }

    /// The number of input features.
    pub fn input_size(&self) -> usize {
        self.stack.cells[0].input()
    }

    /// The number of hidden features of each direction.
    pub fn hidden_size(&self) -> usize {
        self.stack.hidden
    }

    /// The number of stacked layers.
    pub fn num_layers(&self) -> usize {
        self.stack.layers
    }

    /// True when every layer also runs from the end of the sequence.
    pub fn is_bidirectional(&self) -> bool {
        self.stack.dirs == 2
    }

    /// Every parameter, cell by cell (layer 0 forward, layer 0 reverse, layer 1 ...), each cell's in
    /// PyTorch's order: `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`.
    ///
    /// ```
    /// use wengert::nn::{ParamStore, RecurrentOptions, Rnn};
    /// let store = ParamStore::<f32>::new(0);
    /// let rnn = Rnn::with_options(&store.root(), 3, 4, &RecurrentOptions::default().bidirectional(true));
    /// let names: Vec<String> = rnn.parameters().iter().map(|p| p.name().to_string()).collect();
    /// assert_eq!(names[..2], ["weight_ih_l0", "weight_hh_l0"]);
    /// assert_eq!(names[4], "weight_ih_l0_reverse");
    /// ```
    pub fn parameters(&self) -> Vec<Param<F>> {
        self.stack.parameters()
    }

    /// The parameters bound to `tape`, one [`CellWeights`] per cell in the order of
    /// [`RecurrentLayer::parameters`], for [`RecurrentLayer::forward_with`].
    ///
    /// ```
    /// use wengert::nn::{Gru, ParamStore, RecurrentOptions};
    /// use wengert::tape::Tape;
    /// let store = ParamStore::<f32>::new(0);
    /// let gru = Gru::with_options(&store.root(), 3, 4, &RecurrentOptions::default().num_layers(2));
    /// let tape = Tape::new();
    /// let w = gru.weights(&tape);
    /// assert_eq!((w.len(), w[1].weight_ih.shape()), (2, vec![12, 4]));
    /// ```
    pub fn weights<'t>(&self, tape: &'t Tape<F>) -> Vec<CellWeights<'t, F>> {
        self.stack.bind(tape)
    }

    /// The outputs `[batch, time, directions · hidden]` and the final state from `x` `[batch, time,
    /// input]` and an initial state (zeros when `None`): `h` for an RNN or GRU, `(h, c)` for an LSTM,
    /// each `[num_layers · directions, batch, hidden]`.
    ///
    /// ```
    /// use wengert::nn::{Gru, ParamStore};
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let store = ParamStore::<f32>::new(0);
    /// let gru = Gru::new(&store.root(), 3, 4);
    /// let tape = Tape::new();
    /// let x = tape.constant(Tensor::ones(&[5, 7, 3]));
    /// let (y, h_n) = gru.forward_seq(x, None);
    /// let (_, h2) = gru.forward_seq(x, Some(h_n)); // carry the state on
    /// assert_eq!((y.shape(), h2.shape()), (vec![5, 7, 4], vec![1, 5, 4]));
    /// ```
    ///
    /// # Panics
    ///
    /// When `x` is not `[batch, time ≥ 1, input]` or a state has the wrong shape.
    #[track_caller]
    pub fn forward_seq<'t>(
        &self,
        x: Var<'t, F>,
        state: Option<K::State<'t, F>>,
    ) -> (Var<'t, F>, K::State<'t, F>) {
        self.forward_with(&self.weights(x.tape()), x, state)
    }

    /// [`RecurrentLayer::forward_seq`] with the cell weights `w` in place of the bound parameters.
    ///
    /// ```
    /// use wengert::nn::{Lstm, ParamStore};
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let store = ParamStore::<f64>::with_seed(0);
    /// let lstm = Lstm::new(&store.root(), 3, 4);
    /// let tape = Tape::new();
    /// let x = tape.constant(Tensor::ones(&[2, 5, 3]));
    /// let (y, _) = lstm.forward_with(&lstm.weights(&tape), x, None);
    /// assert_eq!(y.value(), lstm.forward_seq(x, None).0.value());
    /// ```
    ///
    /// # Panics
    ///
    /// As [`RecurrentLayer::forward_seq`], and when `w` does not match the layer's cells.
    #[track_caller]
    pub fn forward_with<'t>(
        &self,
        w: &[CellWeights<'t, F>],
        x: Var<'t, F>,
        state: Option<K::State<'t, F>>,
    ) -> (Var<'t, F>, K::State<'t, F>) {
        let (h0, c0) = split_state::<K, F>(state);
        let (y, h, c) = self.stack.run(w, x, h0, c0);
        (y, K::join(h, c))
    }
}

impl<K: Recurrence, F: Float> Module<F> for RecurrentLayer<K, F> {
    /// The output sequence `[batch, time, directions · hidden]` from zero initial states.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        self.forward_seq(x, None).0
    }
}

#[cfg(test)]
mod tests;
