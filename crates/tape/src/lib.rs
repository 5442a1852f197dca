//! The reverse-mode tape of Wengert: record tensor operations on [`Var`]s, then get gradients of any
//! order.
//!
//! ```
//! use wengert::tape::Tape;
//! use wengert::tensor::Tensor;
//!
//! let tape = Tape::<f64>::new();
//! let x = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
//! let k = tape.constant(Tensor::ones(&[2, 2]));
//! let y = (x * x + k).tanh().sum();
//! let grads = y.backward();
//! let dx = &grads[x];                            // d/dx Σ tanh(x² + 1) = 2x (1 - tanh²(x² + 1))
//! assert_eq!(dx.shape(), &[2, 2]);
//! let gx = tape.grad_graph(y, &[x])[0];          // the same gradient, as a Var: differentiate again
//! let h = tape.grad(gx.sum(), &[x])[0].clone();
//! assert_eq!(h.shape(), &[2, 2]);
//! ```
//!
//! How it works: a [`Tape`] is a Wengert list of nodes, each holding its value, its op and its
//! inputs. Backward is one reverse sweep that asks each op's rule for its inputs' gradients. Each rule
//! is written once, generic over the value it computes with: under [`Var::backward`] and
//! [`Tape::grad`] it runs on tensors, recording nothing; under [`Tape::grad_graph`] it runs on Vars,
//! recorded like the forward, so it can be differentiated again.

mod anomaly;
mod backward;
pub mod check;
mod custom;
mod debug;
pub mod functional;
mod gradients;
#[doc(hidden)]
pub mod instances;
mod op;
mod ops;
mod storage;
mod sweep;
mod tape;
mod value;
mod var;

pub use custom::{CustomCtx, CustomOp};
pub use debug::{NodeSummary, OpTotal, TapeSummary};
pub use gradients::Gradients;
pub use tape::Tape;
pub use var::Var;
