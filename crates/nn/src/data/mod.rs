//! Data: in-memory datasets of tensors, a seeded shuffling batch loader, train/test splits, and
//! readers for CSV files of numbers, for the iris and digits data sets and for IDX files (MNIST), plain
//! or gzipped.
//!
//! ```
//! use wengert::nn::data::{DataLoader, TensorDataset, train_test_split};
//! use wengert::tensor::Tensor;
//!
//! let x = Tensor::<f32>::arange(0.0, 20.0, 1.0).reshape(&[10, 2]).unwrap();
//! let y = Tensor::<f32>::arange(0.0, 10.0, 1.0).reshape(&[10, 1]).unwrap();
//! let data = TensorDataset::new(x, y)?;
//! let (train, test) = train_test_split(&data, 0.2, 7);
//! assert_eq!((train.len(), test.len()), (8, 2));
//!
//! let mut loader = DataLoader::new(train, 3).shuffle(42).drop_last(true);
//! for _epoch in 0..2 {
//!     for (xb, yb) in &mut loader {
//!         assert_eq!((xb.shape(), yb.shape()), (&[3, 2][..], &[3, 1][..]));
//!     }
//! }
//! assert_eq!(loader.len(), 2);
//! # Ok::<(), wengert::nn::data::DataError>(())
//! ```

mod bounded;
mod csv;
mod dataset;
mod digits;
mod error;
mod idx;
mod loader;
mod mnist;
mod shard;

pub use bounded::DEFAULT_MAX_BYTES;
pub(crate) use bounded::read_up_to;
pub use csv::{CsvOptions, load_iris, load_iris_with, read_csv};
pub use dataset::{TensorDataset, train_test_split};
pub use digits::{load_digits, load_digits_with};
pub use error::DataError;
pub use idx::{
    IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, read_idx, read_idx_images, read_idx_labels, read_idx_with,
};
pub use loader::{Batches, DataLoader};
pub use mnist::{MNIST_FILES, load_mnist, load_mnist_with};
pub use shard::{shard_batches, shard_order};
