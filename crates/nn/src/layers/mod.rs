//! The layers, one file each.

pub(crate) mod activation;
pub(crate) mod dropout;
pub(crate) mod embedding;
pub(crate) mod flatten;
pub(crate) mod linear;
pub(crate) mod norm;
pub(crate) mod recurrent;

pub use activation::{GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use linear::Linear;
pub use norm::{BatchNorm1d, LayerNorm};
pub use recurrent::{CellWeights, GRU, GRUCell, LSTM, LSTMCell, LstmOutput, RNN, RNNCell, RecurrentOptions};
