//! The old names of renamed layers, kept for one release: type names now spell acronyms as words
//! (`Relu`, `Gru`, `LstmCell`), as Rust's API guidelines ask.

use super::activation::{Gelu, LeakyRelu, Relu};
use super::recurrent::{Gru, GruCell, Lstm, LstmCell, Rnn, RnnCell};

/// The old name of [`Relu`].
#[deprecated(since = "0.1.0", note = "renamed to `Relu`")]
pub type ReLU = Relu;

/// The old name of the value [`Relu`].
#[deprecated(since = "0.1.0", note = "renamed to `Relu`")]
#[allow(non_upper_case_globals)]
pub const ReLU: Relu = Relu;

/// The old name of [`Gelu`](struct@Gelu).
#[deprecated(since = "0.1.0", note = "renamed to `Gelu`")]
pub type GELU = Gelu;

/// The old name of the value [`Gelu`](const@Gelu).
#[deprecated(since = "0.1.0", note = "renamed to `Gelu`")]
pub const GELU: Gelu = Gelu;

/// The old name of [`LeakyRelu`].
#[deprecated(since = "0.1.0", note = "renamed to `LeakyRelu`")]
pub type LeakyReLU = LeakyRelu;

/// The old name of [`Rnn`].
#[deprecated(since = "0.1.0", note = "renamed to `Rnn`")]
pub type RNN<F = f32> = Rnn<F>;

/// The old name of [`RnnCell`].
#[deprecated(since = "0.1.0", note = "renamed to `RnnCell`")]
pub type RNNCell<F = f32> = RnnCell<F>;

/// The old name of [`Gru`].
#[deprecated(since = "0.1.0", note = "renamed to `Gru`")]
pub type GRU<F = f32> = Gru<F>;

/// The old name of [`GruCell`].
#[deprecated(since = "0.1.0", note = "renamed to `GruCell`")]
pub type GRUCell<F = f32> = GruCell<F>;

/// The old name of [`Lstm`].
#[deprecated(since = "0.1.0", note = "renamed to `Lstm`")]
pub type LSTM<F = f32> = Lstm<F>;

/// The old name of [`LstmCell`].
#[deprecated(since = "0.1.0", note = "renamed to `LstmCell`")]
pub type LSTMCell<F = f32> = LstmCell<F>;
