//! Wengert: automatic differentiation in Rust.
//!
//! This facade re-exports the three crates: [`tensor`] (n-dimensional tensors), [`tape`] (the
//! reverse-mode tape) and [`nn`] (layers, losses, optimizers). Most programs start with
//! `use wengert::prelude::*;`.
#![doc = include_str!("../README.md")]

pub use wengert_nn as nn;
pub use wengert_tape as tape;
pub use wengert_tensor as tensor;

/// The names most programs need: tensors, the tape and its Vars, and (as they land) the nn types.
pub mod prelude {
    pub use wengert_tape::{CustomCtx, CustomOp, Gradients, Tape, Var};
    pub use wengert_tensor::{Float, Shape, Tensor, TensorError, s};
}
