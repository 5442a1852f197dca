//! The recurrent cells: one time step of an RNN (tanh), a GRU or an LSTM, on `[batch, input]`; one
//! generic [`RecurrentCell`] and an alias for each [`Recurrence`].

use std::marker::PhantomData;

use wengert_tape::{Tape, Var};
use wengert_tensor::Float;

use super::{
    CellParams, CellWeights, GruKind, Kind, LstmKind, Prepared, Recurrence, RnnKind, expect_shape,
    split_state, zeros,
};
use crate::module::Module;
use crate::param::Param;
use crate::store::Path;

/// One time step of the recurrence `K` (PyTorch's `nn.RNNCell`, `nn.GRUCell`, `nn.LSTMCell`), with
/// parameters `weight_ih` `[gates · hidden, input]`, `weight_hh` `[gates · hidden, hidden]`, `bias_ih`
/// and `bias_hh` `[gates · hidden]`. Use it through [`RnnCell`], [`GruCell`] or [`LstmCell`].
///
/// ```
/// use wengert::nn::{GruKind, ParamStore, RecurrentCell};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let cell: RecurrentCell<GruKind> = RecurrentCell::new(&store.root(), 3, 4);
/// let tape = Tape::new();
/// assert_eq!(cell.step(tape.constant(Tensor::ones(&[2, 3])), None).shape(), vec![2, 4]);
/// ```
#[derive(Debug)]
pub struct RecurrentCell<K: Recurrence, F: Float = f32> {
    params: CellParams<F>,
    kind: PhantomData<K>,
}

/// An Elman RNN cell with tanh (PyTorch's `nn.RNNCell`): h' = tanh(W_ih x + b_ih + W_hh h + b_hh),
/// parameters `weight_ih` `[hidden, input]`, `weight_hh` `[hidden, hidden]`, `bias_ih`, `bias_hh`.
///
/// ```
/// use wengert::nn::{ParamStore, RnnCell};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let cell = RnnCell::new(&store.root().sub("rnn"), 3, 5);
/// let tape = Tape::new();
/// let h = cell.step(tape.constant(Tensor::ones(&[2, 3])), None); // from a zero state
/// let h = cell.step(tape.constant(Tensor::ones(&[2, 3])), Some(h));
/// assert_eq!(h.shape(), vec![2, 5]);
/// assert_eq!(store.parameters()[0].name(), "rnn.weight_ih");
/// ```
pub type RnnCell<F = f32> = RecurrentCell<RnnKind, F>;

/// A GRU cell (PyTorch's `nn.GRUCell`), gates r, z, n in that order in the weights `[3 · hidden, …]`:
/// r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 - z) ⊙ n + z ⊙ h.
///
/// ```
/// use wengert::nn::{GruCell, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let cell = GruCell::new(&store.root(), 3, 4);
/// let tape = Tape::new();
/// let h = cell.step(tape.constant(Tensor::ones(&[2, 3])), None);
/// assert_eq!(h.shape(), vec![2, 4]);
/// assert_eq!(cell.parameters()[0].shape(), vec![12, 3]); // gates r, z, n of 4
/// ```
pub type GruCell<F = f32> = RecurrentCell<GruKind, F>;

/// An LSTM cell (PyTorch's `nn.LSTMCell`), gates i, f, g, o in that order in the weights
/// `[4 · hidden, …]`: c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'), with σ for i, f, o and tanh for g.
///
/// ```
/// use wengert::nn::{LstmCell, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let cell = LstmCell::new(&store.root(), 3, 4);
/// let tape = Tape::new();
/// let (h, c) = cell.step(tape.constant(Tensor::ones(&[2, 3])), None);
/// let (h, _c) = cell.step(tape.constant(Tensor::ones(&[2, 3])), Some((h, c)));
/// assert_eq!(h.shape(), vec![2, 4]);
/// ```
pub type LstmCell<F = f32> = RecurrentCell<LstmKind, F>;

/// Checks `x` `[batch, input]` and the state `h` `[batch, hidden]`; returns the batch size.
#[track_caller]
fn check_step<F: Float>(p: &CellParams<F>, x: Var<'_, F>, h: Option<Var<'_, F>>, what: &str) -> usize {
    let (name, shape) = (p.kind.name(), x.shape());
    if shape.len() != 2 || shape[1] != p.input() {
        panic!("{name}_cell: input of shape {shape:?} where [batch, {}] was expected", p.input());
    }
    if let Some(h) = h {
        expect_shape(&format!("{name}_cell"), what, h, &[shape[0], p.hidden()]);
    }
    shape[0]
}

impl<K: Recurrence, F: Float> RecurrentCell<K, F> {
    /// A cell from `input` to `hidden` features, with biases, every parameter uniform on ±1/√hidden.
    ///
    /// ```
    /// use wengert::nn::{LstmCell, ParamStore};
    /// let store = ParamStore::<f32>::new(0);
    /// let cell = LstmCell::new(&store.root().sub("cell"), 3, 4);
    /// assert_eq!((cell.input_size(), cell.hidden_size()), (3, 4));
    /// ```
    ///
    /// # Panics
    ///
    /// When `hidden` is zero.
    #[track_caller]
    pub fn new(path: &Path<F>, input: usize, hidden: usize) -> Self {
        Self::with_bias(path, input, hidden, true)
    }

    /// A cell with (`bias`) or without `bias_ih` and `bias_hh`.
    ///
    /// ```
    /// use wengert::nn::{GruCell, ParamStore};
    /// let store = ParamStore::<f32>::new(0);
    /// assert_eq!(GruCell::with_bias(&store.root(), 3, 4, false).parameters().len(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// When `hidden` is zero.
    #[track_caller]
    pub fn with_bias(path: &Path<F>, input: usize, hidden: usize, bias: bool) -> Self {
        RecurrentCell { params: CellParams::new(path, K::KIND, input, hidden, bias, ""), kind: PhantomData }
    }

    /// The number of input features.
    pub fn input_size(&self) -> usize {
        self.params.input()
    }

    /// The number of hidden features.
    pub fn hidden_size(&self) -> usize {
        self.params.hidden()
    }

    /// Every parameter: `weight_ih` `[gates · hidden, input]`, `weight_hh` `[gates · hidden, hidden]`,
    /// then `bias_ih` and `bias_hh` if any ([`Recurrence::GATES`] gates).
    ///
    /// ```
    /// use wengert::nn::{LstmCell, ParamStore};
    /// let store = ParamStore::<f32>::new(0);
    /// let cell = LstmCell::new(&store.root(), 3, 4);
    /// assert_eq!(cell.parameters()[1].shape(), vec![16, 4]); // gates i, f, g, o of 4
    /// ```
    pub fn parameters(&self) -> Vec<Param<F>> {
        self.params.all()
    }

    /// The parameters bound to `tape`, for [`RecurrentCell::step_with`].
    ///
    /// ```
    /// use wengert::nn::{ParamStore, RnnCell};
    /// use wengert::tape::Tape;
    /// let store = ParamStore::<f32>::new(0);
    /// let cell = RnnCell::new(&store.root(), 3, 4);
    /// let tape = Tape::new();
    /// assert_eq!(cell.weights(&tape).weight_hh.shape(), vec![4, 4]);
    /// ```
    pub fn weights<'t>(&self, tape: &'t Tape<F>) -> CellWeights<'t, F> {
        self.params.bind(tape)
    }

    /// The next state from `x` `[batch, input]` and the state (zeros when `None`): `h` `[batch,
    /// hidden]` for an RNN or GRU, `(h, c)`, each `[batch, hidden]`, for an LSTM.
    ///
    /// ```
    /// use wengert::nn::{LstmCell, ParamStore};
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let store = ParamStore::<f32>::new(0);
    /// let cell = LstmCell::new(&store.root(), 3, 4);
    /// let tape = Tape::new();
    /// let (h, c) = cell.step(tape.constant(Tensor::ones(&[2, 3])), None);
    /// assert_eq!((h.shape(), c.shape()), (vec![2, 4], vec![2, 4]));
    /// ```
    ///
    /// # Panics
    ///
    /// When `x` or a state has the wrong shape.
    #[track_caller]
    pub fn step<'t>(&self, x: Var<'t, F>, state: Option<K::State<'t, F>>) -> K::State<'t, F> {
        self.step_with(&self.weights(x.tape()), x, state)
    }

    /// [`RecurrentCell::step`] with the weights `w` in place of the bound parameters.
    ///
    /// ```
    /// use wengert::nn::{GruCell, ParamStore};
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let store = ParamStore::<f64>::with_seed(0);
    /// let cell = GruCell::new(&store.root(), 3, 4);
    /// let tape = Tape::new();
    /// let x = tape.constant(Tensor::ones(&[2, 3]));
    /// let h = cell.step_with(&cell.weights(&tape), x, None);
    /// assert_eq!(h.value(), cell.step(x, None).value());
    /// ```
    ///
    /// # Panics
    ///
    /// When `x`, a state or a weight has the wrong shape.
    #[track_caller]
    pub fn step_with<'t>(
        &self,
        w: &CellWeights<'t, F>,
        x: Var<'t, F>,
        state: Option<K::State<'t, F>>,
    ) -> K::State<'t, F> {
        let p = &self.params;
        p.check(w);
        let (h, c) = split_state::<K, F>(state);
        let lstm = p.kind == Kind::Lstm;
        let batch = check_step(p, x, h, if lstm { "state h" } else { "state" });
        check_step(p, x, c, "state c");
        let h = h.unwrap_or_else(|| zeros(x.tape(), batch, p.hidden()));
        let c = c.or_else(|| lstm.then(|| zeros(x.tape(), batch, p.hidden())));
        let prep = Prepared::new(p.kind, w);
        let (h, c) = prep.step(prep.project(x), h, c);
        K::join(h, c)
    }
}

impl<K: Recurrence, F: Float> Module<F> for RecurrentCell<K, F> {
    /// One step from a zero state: `x` `[batch, input]` to `h` `[batch, hidden]` (an LSTM's cell state
    /// is dropped; use [`RecurrentCell::step`] to keep it).
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        K::split(self.step(x, None)).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParamStore;
    use wengert_tensor::Tensor;

    #[test]
    fn cells_name_and_initialise_their_parameters_as_pytorch() {
        let store = ParamStore::<f64>::with_seed(0);
        let cell = LstmCell::new(&store.root().sub("cell"), 3, 4);
        let names: Vec<String> = store.parameters().iter().map(|p| p.name().to_string()).collect();
        assert_eq!(names, ["cell.weight_ih", "cell.weight_hh", "cell.bias_ih", "cell.bias_hh"]);
        assert_eq!((cell.input_size(), cell.hidden_size()), (3, 4));
        assert_eq!((cell.parameters()[0].shape(), cell.parameters()[1].shape()), (vec![16, 3], vec![16, 4]));
        for p in cell.parameters() {
            assert!(p.value().to_vec().iter().all(|v| v.abs() <= 0.5), "{} outside ±1/√4", p.name());
        }
        let nb = GruCell::<f64>::with_bias(&store.root().sub("nb"), 3, 4, false);
        assert_eq!(nb.parameters().len(), 2);
        assert_eq!(RnnCell::<f64>::new(&store.root().sub("r"), 2, 5).parameters()[1].shape(), vec![5, 5]);
    }

    #[test]
    fn a_cell_forward_is_a_step_from_zeros() {
        let store = ParamStore::<f64>::with_seed(1);
        let cell = GruCell::new(&store.root(), 3, 4);
        let tape = Tape::new();
        let x = tape.constant(Tensor::from_vec((0..6).map(|i| i as f64 * 0.3).collect(), &[2, 3]).unwrap());
        let h0 = tape.constant(Tensor::zeros(&[2, 4]));
        assert_eq!(cell.forward(x).value(), cell.step(x, Some(h0)).value());
    }

    #[test]
    fn an_lstm_cell_forward_is_the_hidden_state_of_a_step_from_zeros() {
        let store = ParamStore::<f64>::with_seed(2);
        let cell = LstmCell::new(&store.root(), 3, 4);
        let tape = Tape::new();
        let x =
            tape.constant(Tensor::from_vec((0..6).map(|i| i as f64 * 0.3 - 0.8).collect(), &[2, 3]).unwrap());
        let z = tape.constant(Tensor::zeros(&[2, 4]));
        let (h, c) = cell.step(x, Some((z, z)));
        assert_eq!(cell.forward(x).value(), h.value());
        assert_ne!(h.value(), c.value());
    }

    #[test]
    #[should_panic(expected = "gru_cell: input of shape [2, 5] where [batch, 3] was expected")]
    fn a_cell_rejects_a_wrong_input_width() {
        let store = ParamStore::<f32>::new(0);
        let tape = Tape::new();
        GruCell::new(&store.root(), 3, 4).step(tape.constant(wengert_tensor::Tensor::zeros(&[2, 5])), None);
    }

    #[test]
    #[should_panic(expected = "lstm_cell: state c of shape [2, 3] where [2, 4] was expected")]
    fn an_lstm_cell_rejects_a_wrong_cell_state() {
        let store = ParamStore::<f32>::new(0);
        let tape = Tape::new();
        let z = |s: &[usize]| tape.constant(wengert_tensor::Tensor::zeros(s));
        LstmCell::new(&store.root(), 3, 4).step(z(&[2, 3]), Some((z(&[2, 4]), z(&[2, 3]))));
    }
}
