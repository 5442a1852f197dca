//! Safetensors import and export of a store's weights: the format of Hugging Face and PyTorch's
//! `safetensors` package, so weights move between Wengert and other frameworks. Names are the
//! parameter names, which are PyTorch's `state_dict` names for Wengert's layers (`0.weight`,
//! `encoder.self_attn.in_proj_weight`, `bn.running_mean`), and shapes are PyTorch's (a `Linear` weight
//! is `[out, in]`); a [`KeyMap`] renames what differs.

use std::collections::HashSet;
use std::path::Path;

use safetensors::tensor::Dtype;
use wengert_tensor::{Float, Tensor};

use super::apply::is_counter;
use super::dict::{IntDtype, IntTensor, SaveDtype};
use super::keymap::KeyMap;
use super::st_codec::{self, Decoded, Raw};
use super::{Checkpoint, CheckpointError, LoadReport, assign};
use crate::store::ParamStore;

/// How [`SafetensorsOptions::load`] and [`SafetensorsOptions::save`] map names, which float type a
/// save writes, and whether a load must match the model exactly.
///
/// The default is what [`load_safetensors`] and [`save_safetensors`] do: names as they are, each
/// tensor in its own float type, a strict load.
///
/// ```
/// use wengert::nn::checkpoint::{KeyMap, SafetensorsOptions, SaveDtype};
/// use wengert::nn::{Linear, ParamStore};
/// let path = std::env::temp_dir().join(format!("wengert-doc-opts-{}.safetensors", std::process::id()));
/// let store = ParamStore::<f32>::new(0);
/// let _fc = Linear::new(&store.root().sub("fc"), 3, 2);
/// // Saved as a Hugging Face model's `model.fc.*` in bfloat16 ...
/// SafetensorsOptions::new().keys(KeyMap::new().add_prefix("model.")).dtype(SaveDtype::Bf16).save(&store, &path)?;
/// // ... and loaded back, widened exactly.
/// let other = ParamStore::<f32>::new(1);
/// let _fc2 = Linear::new(&other.root().sub("fc"), 3, 2);
/// let report = SafetensorsOptions::new().keys(KeyMap::new().strip_prefix("model.")).load(&other, &path)?;
/// assert_eq!(report.converted, ["fc.weight", "fc.bias"]);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SafetensorsOptions {
    keys: KeyMap,
    dtype: SaveDtype,
    strict: bool,
}

impl Default for SafetensorsOptions {
    fn default() -> Self {
        SafetensorsOptions { keys: KeyMap::new(), dtype: SaveDtype::Native, strict: true }
    }
}

impl SafetensorsOptions {
    /// The defaults: names as they are, floats in their own type, strict loads.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps names with `keys`: on load from the file's names to the model's, on save from the model's
    /// to the file's. A name the map skips is left out of a save and listed in a load's
    /// [`LoadReport::skipped`].
    pub fn keys(mut self, keys: KeyMap) -> Self {
        self.keys = keys;
        self
    }

    /// Saves float tensors in `dtype` (see [`SaveDtype`] for the rounding).
    pub fn dtype(mut self, dtype: SaveDtype) -> Self {
        self.dtype = dtype;
        self
    }

    /// A strict load (the default) needs every parameter and buffer of the store in the file and every
    /// float tensor of the file in the store; a partial one (`false`) sets what both have and lists the
    /// rest in [`LoadReport::missing`] and [`LoadReport::unexpected`]. Shapes must match either way.
    /// Either way a BatchNorm batch counter (`num_batches_tracked`) the file lacks, as files saved
    /// before PyTorch's BatchNorm had one do, keeps its value and is listed in
    /// [`LoadReport::defaulted`], as PyTorch's `load_state_dict` does.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Loads a safetensors file into the parameters and buffers of `store`, checking every name and
    /// shape before anything changes.
    ///
    /// - F16 and BF16 tensors widen to `f32` or `f64` exactly; F32 and F64 load into either (f64 to f32
    ///   rounds to nearest). [`LoadReport::converted`] lists, in the store's order, every tensor stored
    ///   in another type.
    /// - An integer or boolean tensor (PyTorch's `num_batches_tracked`, index and mask buffers) loads,
    ///   as floats, into a parameter or buffer of its name, exactly up to 2²⁴ in `f32`; when the store has
    ///   none it is passed over and listed in [`LoadReport::skipped`] with the reason, so it never fails
    ///   a load. So is a tensor of a dtype not read (`F8_E4M3`, `C64`, ...), unless the store wants it.
    ///   (A U64 tensor with a value past `i64::MAX` loads the same way, rounded to nearest.)
    ///
    /// The file is mapped into memory rather than read into a buffer: it must not be truncated or
    /// rewritten in place while it loads (replacing it by a rename, as every Wengert save does, is safe).
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Io`] when the file cannot be opened or mapped;
    /// [`Truncated`](CheckpointError::Truncated) or [`Corrupt`](CheckpointError::Corrupt), naming the
    /// file and the field, when it is not a valid safetensors file;
    /// [`UnsupportedDtype`](CheckpointError::UnsupportedDtype) when a tensor the store wants has a dtype
    /// that is not read; [`Mismatch`](CheckpointError::Mismatch), naming the file, when names (strict
    /// loads) or shapes differ. The store is then unchanged.
    pub fn load<F: Float>(
        &self,
        store: &ParamStore<F>,
        path: impl AsRef<Path>,
    ) -> Result<LoadReport, CheckpointError> {
        let path = path.as_ref();
        let contents = st_codec::read::<F>(path)?;
        let wanted: HashSet<String> = store.state_dict().iter().map(|p| p.name().to_string()).collect();
        let (mut entries, mut converted, mut skipped) = (Vec::new(), HashSet::new(), Vec::new());
        for (stored_name, decoded) in contents.tensors {
            let Some(name) = self.keys.apply(&stored_name) else {
                skipped.push((stored_name, "skipped by the key map".to_string()));
                continue;
            };
            match decoded {
                Decoded::Float { tensor, stored } => {
                    if !is_native::<F>(stored) {
                        converted.insert(name.clone());
                    }
                    entries.push((name, tensor));
                }
                Decoded::Int(t) if wanted.contains(&name) => {
                    converted.insert(name.clone());
                    entries.push((name, t.to_tensor()));
                }
                Decoded::Int(t) => {
                    let reason =
                        format!("{:?} tensor: the model has no parameter or buffer `{name}`", t.dtype());
                    skipped.push((stored_name, reason));
                }
                Decoded::Wide { tensor, .. } if wanted.contains(&name) => {
                    converted.insert(name.clone());
                    entries.push((name, tensor));
                }
                Decoded::Wide { reason, .. } => skipped.push((stored_name, reason)),
                Decoded::Unread(dtype) if wanted.contains(&name) => {
                    return Err(CheckpointError::UnsupportedDtype {
                        path: path.to_path_buf(),
                        name: stored_name,
                        dtype,
                    });
                }
                Decoded::Unread(dtype) => skipped.push((stored_name, st_codec::unread_reason(&dtype))),
            }
        }
        let mut report = assign(store, &entries, self.strict, Some(path))?;
        report.converted = report.loaded.iter().filter(|n| converted.contains(*n)).cloned().collect();
        report.skipped = skipped;
        Ok(report)
    }

    /// Saves the parameters and buffers of `store` as a safetensors file at `path`, atomically: floats
    /// in the chosen [`SaveDtype`], and BatchNorm's `num_batches_tracked` counters as I64, as PyTorch
    /// stores them, so that `model.load_state_dict(safetensors.torch.load_file(path))` takes the file.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Io`] when the file cannot be written (`path` is then left as it was);
    /// [`CheckpointError::Encode`] when the key map gives two tensors one name.
    pub fn save<F: Float>(
        &self,
        store: &ParamStore<F>,
        path: impl AsRef<Path>,
    ) -> Result<(), CheckpointError> {
        let mut raws = Vec::new();
        for p in store.state_dict() {
            if let Some(name) = self.keys.apply(p.name()) {
                raws.push((name, self.encode(p.name(), &p.value())));
            }
        }
        st_codec::write(path.as_ref(), &raws, &[])
    }

    /// The bytes of the tensor `name`: a counter as I64, any other in the chosen float type.
    fn encode<F: Float>(&self, name: &str, t: &Tensor<F>) -> Raw {
        // BatchNorm's batch counter: a float buffer in Wengert, an I64 tensor in PyTorch.
        if is_counter(name) {
            let counts = t.to_vec().iter().map(|&v| Float::to_f64(v).round() as i64).collect();
            st_codec::encode_int(&IntTensor::new(IntDtype::I64, t.shape(), counts))
        } else {
            st_codec::encode_float(t, self.dtype)
        }
    }
}

/// Whether `stored` is `F`'s own type, so that loading it converts nothing.
fn is_native<F: Float>(stored: Dtype) -> bool {
    matches!((stored, F::DTYPE), (Dtype::F32, "f32") | (Dtype::F64, "f64"))
}

/// Saves the parameters and buffers of `store` as a safetensors file at `path`, atomically, in `F`'s
/// dtype (`F32` or `F64`; BatchNorm's counters as I64). [`SafetensorsOptions::save`] also renames and
/// writes F16 or BF16.
///
/// ```
/// use wengert::nn::{Init, ParamStore};
/// use wengert::nn::checkpoint::{load_safetensors, save_safetensors};
/// let path = std::env::temp_dir().join(format!("wengert-doc-{}.safetensors", std::process::id()));
/// let a = ParamStore::<f32>::new(0);
/// a.root().sub("fc").param("weight", &[4, 2], Init::GLOROT_UNIFORM);
/// save_safetensors(&a, &path)?;
/// let b = ParamStore::<f32>::new(1);
/// b.root().sub("fc").param("weight", &[4, 2], Init::Zeros);
/// load_safetensors(&b, &path)?;
/// assert_eq!(b.get("fc.weight").unwrap().value(), a.get("fc.weight").unwrap().value());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`SafetensorsOptions::save`].
pub fn save_safetensors<F: Float>(
    store: &ParamStore<F>,
    path: impl AsRef<Path>,
) -> Result<(), CheckpointError> {
    SafetensorsOptions::new().save(store, path)
}

/// Loads a safetensors file into the parameters and buffers of `store`, strictly, names as they are:
/// a file PyTorch saved from the same model, or [`save_safetensors`] wrote. F16, BF16, F32 and F64
/// tensors load into either float type, integer tensors into the parameters or buffers of their name
/// (or are skipped); see [`SafetensorsOptions::load`], which also renames and loads partially.
///
/// ```
/// use wengert::nn::checkpoint::load_safetensors;
/// use wengert::nn::{Linear, ParamStore, Relu, Sequential};
/// // A file of PyTorch's `nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))`, in Wengert.
/// let store = ParamStore::<f32>::new(0);
/// let model = Sequential::new(&store.root())
///     .add(|p| Linear::new(p, 4, 8))
///     .add(|_| Relu)
///     .add(|p| Linear::new(p, 8, 3));
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mlp.safetensors");
/// let report = load_safetensors(&store, path)?;
/// assert_eq!(report.loaded, ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`SafetensorsOptions::load`].
pub fn load_safetensors<F: Float>(
    store: &ParamStore<F>,
    path: impl AsRef<Path>,
) -> Result<LoadReport, CheckpointError> {
    SafetensorsOptions::new().load(store, path)
}

impl<F: Float> Checkpoint<F> {
    /// Writes the parameters as a safetensors file, atomically, in `F`'s dtype, with `meta` as its
    /// `__metadata__`. The optimizer, scheduler, generator and epoch have no place in the format and are
    /// not written.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Io`] when the file cannot be written; [`CheckpointError::Encode`] when two
    /// parameters share a name.
    pub fn write_safetensors(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        let raws: Vec<(String, Raw)> = self
            .params
            .iter()
            .map(|(n, t)| (n.clone(), st_codec::encode_float(t, SaveDtype::Native)))
            .collect();
        st_codec::write(path.as_ref(), &raws, &self.meta)
    }

    /// Reads a safetensors file: its tensors in file order as `params`, converted to `F` (F16, BF16 and
    /// integer tensors widen exactly, f64 to f32 rounds to nearest; tensors of dtypes not read, such as
    /// `F8_E4M3`, are left out), and its `__metadata__` as `meta`, sorted by key.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Io`], [`Truncated`](CheckpointError::Truncated) or
    /// [`Corrupt`](CheckpointError::Corrupt) as [`SafetensorsOptions::load`].
    pub fn read_safetensors(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        let path = path.as_ref();
        let contents = st_codec::read::<F>(path)?;
        let params = contents
            .tensors
            .into_iter()
            .filter_map(|(name, decoded)| match decoded {
                Decoded::Float { tensor, .. } => Some((name, tensor)),
                Decoded::Int(t) => Some((name, t.to_tensor())),
                Decoded::Wide { tensor, .. } => Some((name, tensor)),
                Decoded::Unread(_) => None,
            })
            .collect();
        Ok(Checkpoint { params, meta: contents.meta, path: Some(path.to_path_buf()), ..Checkpoint::new() })
    }
}

#[cfg(test)]
mod tests;
