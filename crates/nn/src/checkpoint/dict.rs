//! A plain dictionary of named tensors and a safetensors file, both ways: PyTorch's
//! `safetensors.torch.load_file` / `save_file` for Wengert. Float tensors are Wengert tensors;
//! integer and boolean tensors (indices, masks, counters) are [`IntTensor`]s, kept exact.

use std::collections::BTreeMap;
use std::path::Path;

use wengert_tensor::{Float, Tensor};

use super::CheckpointError;
use super::st_codec::{self, Decoded};

/// The float type a safetensors file is written in.
///
/// Narrowing rounds to nearest, ties to even: f64 → F32, and either float to F16 or BF16 (values past
/// F16's range become infinite; BF16 has F32's range with 8 bits of precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SaveDtype {
    /// The tensors' own type: F32 for `f32` tensors, F64 for `f64`.
    #[default]
    Native,
    /// IEEE half precision (`torch.float16`).
    F16,
    /// bfloat16 (`torch.bfloat16`).
    Bf16,
    /// IEEE single precision (`torch.float32`).
    F32,
    /// IEEE double precision (`torch.float64`).
    F64,
}

/// The element type of an [`IntTensor`], as safetensors spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IntDtype {
    /// `BOOL` (`torch.bool`): 0 or 1.
    Bool,
    /// `U8` (`torch.uint8`).
    U8,
    /// `I8` (`torch.int8`).
    I8,
    /// `I16` (`torch.int16`).
    I16,
    /// `U16` (`torch.uint16`).
    U16,
    /// `I32` (`torch.int32`).
    I32,
    /// `U32` (`torch.uint32`).
    U32,
    /// `I64` (`torch.int64`, `torch.long`).
    I64,
    /// `U64` (`torch.uint64`), up to 2⁶³ − 1 (`i64::MAX`), the largest value an [`IntTensor`] holds: a
    /// file's U64 tensor with a larger value loads into a parameter or buffer of its name as floats
    /// (rounded to nearest) and is otherwise skipped with the reason.
    U64,
}

impl IntDtype {
    /// The smallest and largest value of the type (for `U64`, the largest an [`IntTensor`] holds).
    pub fn range(self) -> (i64, i64) {
        match self {
            IntDtype::Bool => (0, 1),
            IntDtype::U8 => (0, u8::MAX.into()),
            IntDtype::I8 => (i8::MIN.into(), i8::MAX.into()),
            IntDtype::I16 => (i16::MIN.into(), i16::MAX.into()),
            IntDtype::U16 => (0, u16::MAX.into()),
            IntDtype::I32 => (i32::MIN.into(), i32::MAX.into()),
            IntDtype::U32 => (0, u32::MAX.into()),
            IntDtype::I64 => (i64::MIN, i64::MAX),
            IntDtype::U64 => (0, i64::MAX),
        }
    }
}

/// An integer or boolean tensor of a safetensors file: its dtype, its shape and its values, widened
/// to `i64` exactly.
///
/// ```
/// use wengert::nn::checkpoint::{IntDtype, IntTensor};
/// let ids = IntTensor::new(IntDtype::I64, &[2, 2], vec![0, 1, 2, 3]);
/// assert_eq!(ids.shape(), &[2, 2]);
/// assert_eq!(ids.to_tensor::<f32>().to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntTensor {
    dtype: IntDtype,
    shape: Vec<usize>,
    values: Vec<i64>,
}

impl IntTensor {
    /// A tensor of `shape` holding `values` (row-major) of type `dtype`.
    ///
    /// # Panics
    ///
    /// When `values` cannot fill `shape`, or a value lies outside `dtype`'s range.
    #[track_caller]
    pub fn new(dtype: IntDtype, shape: &[usize], values: Vec<i64>) -> Self {
        match Self::checked(dtype, shape.to_vec(), values) {
            Ok(t) => t,
            Err(reason) => panic!("IntTensor::new: {reason}"),
        }
    }

    /// As [`IntTensor::new`], the reason as an error.
    pub(crate) fn checked(dtype: IntDtype, shape: Vec<usize>, values: Vec<i64>) -> Result<Self, String> {
        let len = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if len != Some(values.len()) {
            return Err(format!("{} values cannot fill shape {shape:?}", values.len()));
        }
        let (lo, hi) = dtype.range();
        if let Some((i, v)) = values.iter().enumerate().find(|&(_, v)| !(lo..=hi).contains(v)) {
            return Err(format!("element {i} is {v}, outside {dtype:?}'s range {lo}..={hi}"));
        }
        Ok(IntTensor { dtype, shape, values })
    }

    /// The element type.
    pub fn dtype(&self) -> IntDtype {
        self.dtype
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The values, row-major.
    pub fn values(&self) -> &[i64] {
        &self.values
    }

    /// The values as a float tensor: exact for magnitudes up to 2²⁴ in `f32` and 2⁵³ in `f64`, rounded
    /// to nearest beyond.
    pub fn to_tensor<F: Float>(&self) -> Tensor<F> {
        let values = self.values.iter().map(|&v| F::from_f64(v as f64)).collect();
        Tensor::from_vec(values, &self.shape).expect("an IntTensor's values fill its shape")
    }
}

/// The contents of a safetensors file as dictionaries by name: what
/// [`load_safetensors_dict`] reads and [`TensorDict::save`] writes.
///
/// ```
/// use std::collections::BTreeMap;
/// use wengert::nn::checkpoint::{IntDtype, IntTensor, SaveDtype, TensorDict, load_safetensors_dict};
/// use wengert::tensor::Tensor;
/// let path = std::env::temp_dir().join(format!("wengert-doc-dict-{}.safetensors", std::process::id()));
/// let mut dict = TensorDict::<f32>::default();
/// dict.tensors.insert("w".into(), Tensor::from_vec(vec![0.5, -1.0], &[2])?);
/// dict.ints.insert("ids".into(), IntTensor::new(IntDtype::I64, &[3], vec![4, 0, 7]));
/// dict.meta.insert("format".into(), "pt".into());
/// dict.save(&path, SaveDtype::Bf16)?;
/// let back = load_safetensors_dict::<f32>(&path)?;
/// assert_eq!(back, dict); // 0.5 and -1.0 are exact in bfloat16
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct TensorDict<F: Float = f32> {
    /// The float tensors (F16, BF16, F32 or F64 in the file), converted to `F`.
    pub tensors: BTreeMap<String, Tensor<F>>,
    /// The integer and boolean tensors.
    pub ints: BTreeMap<String, IntTensor>,
    /// The file's `__metadata__`.
    pub meta: BTreeMap<String, String>,
    /// The tensors of dtypes Wengert does not read (`F8_E4M3`, `C64`, ...) and U64 tensors with a value
    /// past `i64::MAX`, with the reason; never written.
    pub skipped: Vec<(String, String)>,
}

impl<F: Float> TensorDict<F> {
    /// Writes the float tensors in `dtype`, the integer tensors in their own, and the metadata, as a
    /// safetensors file at `path`, atomically.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Io`] when the file cannot be written (`path` is then left as it was);
    /// [`CheckpointError::Encode`] when a float and an integer tensor share a name.
    pub fn save(&self, path: impl AsRef<Path>, dtype: SaveDtype) -> Result<(), CheckpointError> {
        let floats = self.tensors.iter().map(|(n, t)| (n.clone(), st_codec::encode_float(t, dtype)));
        let ints = self.ints.iter().map(|(n, t)| (n.clone(), st_codec::encode_int(t)));
        let raws: Vec<_> = floats.chain(ints).collect();
        let meta: Vec<_> = self.meta.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        st_codec::write(path.as_ref(), &raws, &meta)
    }
}

/// Reads every tensor of a safetensors file by name, as PyTorch's `safetensors.torch.load_file`:
/// F16 and BF16 widen to `F` exactly, F32 and F64 convert (f64 to `f32` rounds to nearest), integer
/// and boolean tensors stay exact in [`TensorDict::ints`], and tensors of other dtypes are listed in
/// [`TensorDict::skipped`].
///
/// The file is mapped into memory rather than read into a buffer, so a large file costs no copy
/// beyond the converted tensors; it must not be truncated or rewritten in place while it loads.
///
/// # Errors
///
/// [`CheckpointError::Io`] when the file cannot be opened or mapped;
/// [`Truncated`](CheckpointError::Truncated) or [`Corrupt`](CheckpointError::Corrupt), naming the file
/// and the field, when it is not a valid safetensors file.
pub fn load_safetensors_dict<F: Float>(path: impl AsRef<Path>) -> Result<TensorDict<F>, CheckpointError> {
    let contents = st_codec::read::<F>(path.as_ref())?;
    let mut dict = TensorDict { meta: contents.meta.into_iter().collect(), ..TensorDict::default() };
    for (name, decoded) in contents.tensors {
        match decoded {
            Decoded::Float { tensor, .. } => {
                dict.tensors.insert(name, tensor);
            }
            Decoded::Int(t) => {
                dict.ints.insert(name, t);
            }
            Decoded::Unread(dtype) => dict.skipped.push((name, st_codec::unread_reason(&dtype))),
            Decoded::Wide { reason, .. } => dict.skipped.push((name, reason)),
        }
    }
    Ok(dict)
}

/// Writes `tensors` as a safetensors file at `path` in `dtype`, atomically: PyTorch's
/// `safetensors.torch.save_file` for a dictionary of float tensors.
///
/// ```
/// use std::collections::BTreeMap;
/// use wengert::nn::checkpoint::{SaveDtype, load_safetensors_dict, save_safetensors_dict};
/// use wengert::tensor::Tensor;
/// let path = std::env::temp_dir().join(format!("wengert-doc-save-dict-{}.safetensors", std::process::id()));
/// let map = BTreeMap::from([("x".to_string(), Tensor::<f64>::from_vec(vec![0.1, 3.0], &[2])?)]);
/// save_safetensors_dict(&path, &map, SaveDtype::F16)?;
/// let back = load_safetensors_dict::<f64>(&path)?;
/// assert_eq!(back.tensors["x"].to_vec(), vec![0.0999755859375, 3.0]); // 0.1 rounded to f16
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`CheckpointError::Io`] when the file cannot be written; `path` is then left as it was.
pub fn save_safetensors_dict<F: Float>(
    path: impl AsRef<Path>,
    tensors: &BTreeMap<String, Tensor<F>>,
    dtype: SaveDtype,
) -> Result<(), CheckpointError> {
    let raws: Vec<_> = tensors.iter().map(|(n, t)| (n.clone(), st_codec::encode_float(t, dtype))).collect();
    st_codec::write(path.as_ref(), &raws, &[])
}
