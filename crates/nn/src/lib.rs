//! Layers, losses, optimizers, checkpoints and Keras-like training on the Wengert tape.
//!
//! Parameters live in a [`ParamStore`]; layers create them under a [`Path`] and bind them to each
//! step's tape with [`TapeParam::param`]; a model is any [`Module`].
//!
//! ```
//! use wengert::nn::{Linear, Module, ParamStore, GradientsParam};
//! use wengert::tape::Tape;
//! use wengert::tensor::Tensor;
//!
//! let store = ParamStore::<f32>::new(42);
//! let fc = Linear::new(&store.root().sub("fc"), 2, 1);
//! let tape = Tape::new();
//! let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
//! let loss = fc.forward(x).square().mean();
//! let grads = loss.backward();
//! assert_eq!(grads.param(&fc.weight).unwrap().shape(), &[1, 2]);
//! ```

pub mod checkpoint;
pub mod data;
mod init;
mod layers;
pub mod loss;
pub mod metrics;
mod module;
pub mod optim;
mod param;
mod rng;
mod store;
#[cfg(test)]
mod sweep;
#[cfg(test)]
mod testing;
pub mod train;

pub use init::{FanMode, Init, fans};
pub use layers::*;
pub use module::{Module, Sequential};
pub use param::{GradientsParam, Param, TapeParam};
pub use rng::SeedRng;
pub use store::{ParamStore, Path, Summary};
