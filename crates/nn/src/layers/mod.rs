//! The layers, one file each.

pub(crate) mod activation;
pub(crate) mod attention;
pub(crate) mod batch_norm2d;
pub(crate) mod conv;
pub(crate) mod decoder;
pub(crate) mod dropout;
pub(crate) mod embedding;
pub(crate) mod flatten;
pub(crate) mod group_norm;
pub(crate) mod linear;
pub(crate) mod multihead;
pub(crate) mod norm;
pub(crate) mod pool;
pub(crate) mod positional;
pub(crate) mod recurrent;
mod renamed;
pub(crate) mod resample;
pub(crate) mod rotary;
pub(crate) mod transformer;

pub use activation::{Gelu, LeakyRelu, Relu, Sigmoid, Softmax, Tanh};
pub use attention::{AttentionMask, attention_weights, masked_softmax, scaled_dot_product_attention};
pub use batch_norm2d::BatchNorm2d;
pub use conv::{Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d};
pub use decoder::TransformerDecoderLayer;
pub use dropout::{Dropout, Dropout2d};
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use group_norm::{GroupNorm, InstanceNorm, RmsNorm};
pub use linear::Linear;
pub use multihead::{MultiHeadAttention, Projections};
pub use norm::{BatchNorm1d, LayerNorm};
pub use pool::{AdaptiveAvgPool2d, AvgPool2d, MaxPool2d};
pub use positional::{LearnedPositionalEmbedding, SinusoidalPositionalEncoding};
pub use recurrent::{
    CellWeights, Gru, GruCell, GruKind, Lstm, LstmCell, LstmKind, LstmOutput, Recurrence, RecurrentCell,
    RecurrentLayer, RecurrentOptions, Rnn, RnnCell, RnnKind,
};
#[allow(deprecated)]
pub use renamed::{GELU, GRU, GRUCell, LSTM, LSTMCell, LeakyReLU, RNN, RNNCell, ReLU};
pub use resample::{
    PixelShuffle, PixelUnshuffle, Upsample, UpsampleMode, UpsampleTarget, pixel_shuffle, pixel_unshuffle,
    upsample_bilinear, upsample_bilinear_scale, upsample_nearest, upsample_nearest_scale,
};
pub use rotary::RotaryEmbedding;
pub use transformer::{TransformerEncoderLayer, TransformerOptions};
