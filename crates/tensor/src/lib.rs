//! N-dimensional tensors for Wengert: NumPy broadcasting, reductions, shape and index ops,
//! and a matmul through a real GEMM kernel. This crate knows nothing of gradients.
//!
//! ```
//! use wengert::tensor::Tensor;
//! let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
//! let w = Tensor::<f32>::ones(&[3, 1]);
//! let y = x.matmul(&w) + 1.0;            // [2, 1]
//! assert_eq!(y.to_vec(), vec![7.0, 16.0]);
//! assert_eq!(x.sum_axes(&[0], false).to_vec(), vec![5.0, 7.0, 9.0]);
//! assert_eq!(x.softmax(1).shape(), &[2, 3]);
//! ```

mod activation;
mod alloc;
mod binary;
mod binary_math;
mod broadcast;
mod conv;
mod create;
mod cumulative;
mod display;
mod einsum;
mod elementwise;
mod error;
mod float;
mod index;
mod join;
mod kernel;
mod math;
mod matmul;
pub mod memory;
mod norm;
mod pixel;
mod pool;
mod rearrange;
mod recurrent;
mod recycle;
mod reduce;
mod serialize;
mod shape;
mod shape_ops;
mod share;
mod softmax;
mod sort;
mod special;
mod tensor;
mod update;

pub use activation::{GeluApproximate, SELU_ALPHA, SELU_SCALE};
pub use conv::{Conv1dOptions, Conv2dOptions, Conv3dOptions, ConvTranspose1dOptions, ConvTranspose2dOptions};
pub use einsum::{EinsumPlan, EinsumStep};
pub use elementwise::{erf, normal_cdf, normal_pdf};
pub use error::TensorError;
pub use float::Float;
pub use kernel::PAR_THRESHOLD;
pub use matmul::{matmul_into, matmul_shape};
pub use ndarray;
pub use ndarray::s;
pub use norm::{BatchNormOutput, Norm, NormGrads};
pub use pool::{Pool1dOptions, Pool2dOptions};
pub use rearrange::index_put_layout;
pub use recurrent::GruCellGrads;
pub use shape::{Shape, broadcast_shapes};
pub use tensor::Tensor;
pub use update::fused_update;
