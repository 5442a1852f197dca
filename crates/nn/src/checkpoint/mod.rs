//! Checkpoints: a model's parameters with the optimizer's, the scheduler's and the generator's state,
//! saved atomically in a checked binary format; and safetensors export and import of weights, in
//! PyTorch's names and dtypes (F16, BF16, F32, F64, integer tensors), renamed by a [`KeyMap`] where
//! they differ, or as a plain dictionary of named tensors ([`load_safetensors_dict`]).
//!
//! ```
//! use wengert::nn::{Init, ParamStore};
//! use wengert::nn::checkpoint::Checkpoint;
//!
//! let store = ParamStore::<f32>::new(0);
//! store.root().sub("fc").param("weight", &[2, 3], Init::GLOROT_UNIFORM);
//! let path = std::env::temp_dir().join(format!("wengert-doc-module-{}.ckpt", std::process::id()));
//!
//! let mut checkpoint = Checkpoint::from_store(&store);
//! checkpoint.epoch = 3;
//! checkpoint.meta.push(("note".into(), "first run".into()));
//! checkpoint.save(&path)?;
//!
//! let other = ParamStore::<f32>::new(1);
//! other.root().sub("fc").param("weight", &[2, 3], Init::Zeros);
//! let back = Checkpoint::<f32>::load(&path)?;
//! back.apply_to_store(&other)?;
//! assert_eq!(back.epoch, 3);
//! assert_eq!(other.get("fc.weight").unwrap().value(), store.get("fc.weight").unwrap().value());
//! std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # File format
//!
//! A 32-byte header, then the payload (bincode 2 with `config::standard()` of [`Checkpoint`]):
//!
//! ```text
//! offset  size  field
//!      0     8  magic       b"WENGERT\0"
//!      8     4  version     u32 little-endian, FORMAT_VERSION (2; version 1 files still load)
//!     12     4  dtype       "f32" or "f64" in ASCII, zero-padded
//!     16     8  length      u64 little-endian, bytes of payload
//!     24     4  checksum    u32 little-endian, CRC-32 (IEEE) of the payload
//!     28     4  reserved    zero
//!     32     …  payload
//! ```
//!
//! Loading checks every header field, the length against the file's, and the checksum before it decodes.
//! The decoder counts every value and length it reads at its size in memory, and stops at 8 times the
//! payload's size rounded up to a power of two (at least 128 KiB): a saved payload never counts more than
//! 8 bytes per byte (a one-byte varint standing for an 8-byte length), so every saved file loads, while
//! a truncated, corrupted or hostile file is an error, never a panic or an allocation past that bound.
//!
//! Applying a checkpoint checks its names and shapes against the store, its optimizer state (every
//! moment finite, every second moment at least zero) and its generator (not all zeros) before anything
//! changes; the errors name the file it was loaded from. Saving and loading `path` also removes the
//! temporary files (`.name.tmp-<pid>-<n>`) that saves killed midway left beside it.

mod apply;
mod dict;
mod error;
mod format;
mod keymap;
mod safetensors_io;
mod st_codec;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wengert_tensor::{Float, Tensor};

use crate::optim::{OptimizerState, SchedulerState};
use crate::rng::SeedRng;
use crate::store::ParamStore;

pub use apply::LoadReport;
use apply::assign;
pub use dict::{IntDtype, IntTensor, SaveDtype, TensorDict, load_safetensors_dict, save_safetensors_dict};
pub use error::CheckpointError;
pub use format::{FORMAT_VERSION, HEADER_LEN, MAGIC, OLDEST_READABLE_VERSION};
pub use keymap::KeyMap;
pub use safetensors_io::{SafetensorsOptions, load_safetensors, save_safetensors};

/// Everything needed to resume training: the parameters by name, the optimizer's, the scheduler's and
/// the generator's state, the epoch and free-form metadata.
///
/// Build one with [`Checkpoint::from_store`] (or [`Checkpoint::new`]) and set the other fields:
///
/// ```
/// use wengert::nn::checkpoint::Checkpoint;
/// use wengert::nn::optim::OptimizerState;
/// use wengert::tensor::Tensor;
///
/// let mut c = Checkpoint::<f64>::new();
/// c.params.push(("w".into(), Tensor::zeros(&[2])));
/// c.optimizer = Some(OptimizerState { kind: "sgd".into(), step: 10, lr: 0.1, slots: vec![] });
/// c.epoch = 1;
/// assert_eq!(c.param("w").unwrap().shape(), &[2]);
/// ```
///
/// Two checkpoints are equal when their contents are, wherever they were loaded from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
#[non_exhaustive]
pub struct Checkpoint<F: Float = f32> {
    /// The parameters' full names and values, in the store's order.
    pub params: Vec<(String, Tensor<F>)>,
    /// The optimizer's state, if saved.
    pub optimizer: Option<OptimizerState<F>>,
    /// The learning-rate scheduler's state, if saved.
    pub scheduler: Option<SchedulerState>,
    /// The store's generator, if saved: restoring it makes dropout and shuffling resume exactly.
    pub rng: Option<SeedRng>,
    /// The number of epochs completed.
    pub epoch: u64,
    /// Free-form key-value metadata (a run name, a git hash, ...).
    pub meta: Vec<(String, String)>,
    /// The generator of the data source (a [`DataLoader`](crate::data::DataLoader)'s shuffling), if
    /// saved: restoring it makes the next epochs' batches come as an uninterrupted run's would.
    pub data_rng: Option<SeedRng>,
    /// The file this checkpoint was loaded from, named by the errors of applying it (not saved).
    #[serde(skip)]
    path: Option<PathBuf>,
}

impl<F: Float> PartialEq for Checkpoint<F> {
    fn eq(&self, other: &Self) -> bool {
        self.params == other.params
            && self.optimizer == other.optimizer
            && self.scheduler == other.scheduler
            && self.rng == other.rng
            && self.epoch == other.epoch
            && self.meta == other.meta
            && self.data_rng == other.data_rng
    }
}

impl<F: Float> Default for Checkpoint<F> {
    fn default() -> Self {
        Checkpoint {
            params: Vec::new(),
            optimizer: None,
            scheduler: None,
            rng: None,
            epoch: 0,
            meta: Vec::new(),
            data_rng: None,
            path: None,
        }
    }
}

impl<F: Float> Checkpoint<F> {
    /// An empty checkpoint: no parameters, no state, epoch 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The parameters and buffers of `store` (values shared, not copied) and its generator's state.
    pub fn from_store(store: &ParamStore<F>) -> Self {
        let params = store.state_dict().iter().map(|p| (p.name().to_string(), p.value())).collect();
        Checkpoint { params, rng: Some(store.rng_state()), ..Self::default() }
    }

    /// The file this checkpoint was loaded from ([`Checkpoint::load`],
    /// [`Checkpoint::read_safetensors`]); `None` for one built in memory.
    ///
    /// ```
    /// use wengert::nn::checkpoint::Checkpoint;
    /// let path = std::env::temp_dir().join(format!("wengert-doc-path-{}.ckpt", std::process::id()));
    /// Checkpoint::<f32>::new().save(&path)?;
    /// assert_eq!(Checkpoint::<f32>::load(&path)?.path(), Some(path.as_path()));
    /// assert_eq!(Checkpoint::<f32>::new().path(), None);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The saved value of the parameter `name`, if any.
    pub fn param(&self, name: &str) -> Option<&Tensor<F>> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Writes the checkpoint to `path` atomically: into a temporary file in the same directory, synced,
    /// then renamed over `path`, so an interrupted save never leaves a partial file under that name.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Io`] when the file cannot be written (a missing directory, a full disk, ...);
    /// `path` is then left as it was.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        format::save(self, path.as_ref())
    }

    /// Reads a checkpoint written by [`Checkpoint::save`] with the same element type `F`.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Io`] when the file cannot be read; [`BadMagic`](CheckpointError::BadMagic),
    /// [`UnsupportedVersion`](CheckpointError::UnsupportedVersion),
    /// [`DtypeMismatch`](CheckpointError::DtypeMismatch), [`Truncated`](CheckpointError::Truncated),
    /// [`ChecksumMismatch`](CheckpointError::ChecksumMismatch) or [`Corrupt`](CheckpointError::Corrupt)
    /// when it is not an intact checkpoint of `F` tensors. It never panics on a bad file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        format::load(path.as_ref())
    }
}

/// Saves the parameters of `store` (the weights alone: no generator, no optimizer) to `path`, atomically.
///
/// ```
/// use wengert::nn::{Init, ParamStore};
/// use wengert::nn::checkpoint::{load_weights, save_weights};
/// let path = std::env::temp_dir().join(format!("wengert-doc-weights-{}.ckpt", std::process::id()));
/// let a = ParamStore::<f64>::with_seed(0);
/// a.root().param("w", &[3], Init::GLOROT_UNIFORM);
/// save_weights(&a, &path)?;
/// let b = ParamStore::<f64>::with_seed(1);
/// b.root().param("w", &[3], Init::Zeros);
/// let report = load_weights(&b, &path)?;
/// assert_eq!(report.loaded, ["w"]);
/// assert_eq!(b.get("w").unwrap().value(), a.get("w").unwrap().value());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`Checkpoint::save`].
pub fn save_weights<F: Float>(store: &ParamStore<F>, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
    Checkpoint { rng: None, ..Checkpoint::from_store(store) }.save(path)
}

/// Loads a checkpoint from `path` into the parameters of `store`, checking every name and shape first
/// (and restoring the generator when the file holds one).
///
/// # Errors
///
/// As [`Checkpoint::load`], and [`CheckpointError::Mismatch`] when the names or shapes differ from the
/// store's (the store is then unchanged).
pub fn load_weights<F: Float>(
    store: &ParamStore<F>,
    path: impl AsRef<Path>,
) -> Result<LoadReport, CheckpointError> {
    Checkpoint::<F>::load(path)?.apply(store, true)
}

#[cfg(test)]
pub(crate) mod tests;
