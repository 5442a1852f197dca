//! The safetensors codec: a file mapped into memory and checked field by field, its tensors decoded
//! from F16, BF16, F32, F64 and the integer types into Wengert's float tensors and [`IntTensor`]s; and
//! tensors encoded in the float type asked for, then written atomically.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::Path;

use half::{bf16, f16};
use memmap2::Mmap;
use safetensors::tensor::{Dtype, Metadata, SafeTensors, View};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use wengert_tensor::{Float, Tensor};

use super::CheckpointError;
use super::dict::{IntDtype, IntTensor, SaveDtype};
use super::format::{first_repeat, remove_stale_temporaries, write_atomic};

/// The size of the little-endian header length that opens a safetensors file.
const LEN_BYTES: usize = 8;

/// One tensor of a file, decoded.
pub(crate) enum Decoded<F: Float> {
    /// A float tensor, converted to `F`, with the dtype it was stored in.
    Float { tensor: Tensor<F>, stored: Dtype },
    /// An integer or boolean tensor, kept exact.
    Int(IntTensor),
    /// A U64 tensor with a value past `i64::MAX`, which an [`IntTensor`] cannot hold: as floats
    /// (rounded to nearest), and why it is no [`IntTensor`].
    Wide { tensor: Tensor<F>, reason: String },
    /// A tensor of a dtype Wengert does not read (`F8_E4M3`, `C64`, ...), as safetensors spells it.
    Unread(String),
}

/// A whole file, decoded: its tensors in file order, and its `__metadata__` sorted by key.
pub(crate) struct Contents<F: Float> {
    pub(crate) tensors: Vec<(String, Decoded<F>)>,
    pub(crate) meta: Vec<(String, String)>,
}

/// A file's bytes: mapped, or none for an empty file (which cannot be mapped).
enum Bytes {
    Empty,
    Mapped(Mmap),
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Empty => &[],
            Bytes::Mapped(m) => m,
        }
    }
}

/// Maps `file` into memory, read-only.
#[allow(unsafe_code)]
fn map_read_only(file: &File) -> io::Result<Mmap> {
    // SAFETY: the map is read-only (`Mmap`, never `MmapMut`) and of a regular file opened read-only by
    // `open`, which checked it is one. Rust's aliasing rules then hold as long as no other process
    // truncates or rewrites the file while it is mapped, which the loaders' docs require of the
    // caller; Wengert itself only replaces files by renaming a new one over them (`write_atomic`),
    // which leaves a mapped file's pages intact. The map lives only while one file is decoded.
    unsafe { Mmap::map(file) }
}

/// Opens `path` and maps it, after removing temporaries that interrupted saves left beside it.
fn open(path: &Path) -> Result<Bytes, CheckpointError> {
    remove_stale_temporaries(path);
    let io_err = |source| CheckpointError::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(CheckpointError::Corrupt {
            path: path.to_path_buf(),
            reason: "not a regular file (a device, a pipe or a directory): safetensors are read from files"
                .into(),
        });
    }
    if meta.len() == 0 {
        return Ok(Bytes::Empty);
    }
    map_read_only(&file).map(Bytes::Mapped).map_err(io_err)
}

/// Why a tensor of `dtype` (one [`Decoded::Unread`] names) was passed over.
pub(crate) fn unread_reason(dtype: &str) -> String {
    format!("dtype {dtype} is not read (F16, BF16, F32, F64 and the integer types are)")
}

/// Reads and decodes the safetensors file at `path`.
///
/// The header's length, its JSON (no key twice), every tensor's offsets, shape and dtype size are
/// checked against the file's length before a tensor is decoded, so a truncated or lying file is an
/// error naming the file and the field, never a panic.
pub(crate) fn read<F: Float>(path: &Path) -> Result<Contents<F>, CheckpointError> {
    let p = || path.to_path_buf();
    let corrupt = |reason: String| CheckpointError::Corrupt { path: p(), reason };
    let bytes = open(path)?;
    let found = bytes.len() as u64;
    let Some(len_bytes) = bytes.first_chunk::<LEN_BYTES>() else {
        return Err(CheckpointError::Truncated { path: p(), expected: LEN_BYTES as u64, found });
    };
    let n = u64::from_le_bytes(*len_bytes);
    let rest = (bytes.len() - LEN_BYTES) as u64;
    if n > rest {
        return Err(CheckpointError::Truncated {
            path: p(),
            expected: (LEN_BYTES as u64).saturating_add(n),
            found,
        });
    }
    let header_end = LEN_BYTES + n as usize;
    let header = &bytes[LEN_BYTES..header_end];
    // The format forbids a key twice; JSON readers keep one of them silently.
    serde_json::from_slice::<UniqueKeys>(header).map_err(|e| corrupt(format!("safetensors header: {e}")))?;
    // The safetensors crate adds the header's offsets without overflow checks; check them here first.
    let metadata: Metadata =
        serde_json::from_slice(header).map_err(|e| corrupt(format!("safetensors header: {e}")))?;
    let data_len = bytes.len() - header_end;
    if metadata.data_len() > data_len {
        let expected = (header_end as u64).saturating_add(metadata.data_len() as u64);
        return Err(CheckpointError::Truncated { path: p(), expected, found });
    }
    if metadata.data_len() < data_len {
        return Err(corrupt(format!(
            "safetensors data: {} bytes follow the last tensor",
            data_len - metadata.data_len()
        )));
    }
    let file = SafeTensors::deserialize(&bytes).map_err(|e| corrupt(format!("safetensors: {e}")))?;
    let mut tensors = Vec::new();
    for name in metadata.offset_keys() {
        let view = file.tensor(&name).map_err(|e| corrupt(format!("safetensors: {e}")))?;
        let decoded = decode(view.dtype(), view.shape(), view.data())
            .map_err(|reason| corrupt(format!("safetensors tensor `{name}`: {reason}")))?;
        tensors.push((name, decoded));
    }
    let mut meta: Vec<(String, String)> =
        metadata.metadata().iter().flat_map(|m| m.iter()).map(|(k, v)| (k.clone(), v.clone())).collect();
    meta.sort();
    Ok(Contents { tensors, meta })
}

/// One tensor's bytes (already checked to be `shape`'s elements of `dtype`) decoded; the error names
/// the field that is wrong.
fn decode<F: Float>(dtype: Dtype, shape: &[usize], data: &[u8]) -> Result<Decoded<F>, String> {
    let float = |values: Vec<F>| -> Result<Decoded<F>, String> {
        let tensor = Tensor::from_vec(values, shape).map_err(|e| e.to_string())?;
        Ok(Decoded::Float { tensor, stored: dtype })
    };
    let int = |dtype: IntDtype, values: Vec<i64>| -> Result<Decoded<F>, String> {
        IntTensor::checked(dtype, shape.to_vec(), values).map(Decoded::Int)
    };
    match dtype {
        Dtype::F16 => float(floats(data, |b| f16::from_le_bytes(b).to_f64())),
        Dtype::BF16 => float(floats(data, |b| bf16::from_le_bytes(b).to_f64())),
        Dtype::F32 => float(floats(data, |b| f32::from_le_bytes(b).into())),
        Dtype::F64 => float(floats(data, f64::from_le_bytes)),
        Dtype::BOOL => int(IntDtype::Bool, ints(data, |[b]| b.into())),
        Dtype::U8 => int(IntDtype::U8, ints(data, |[b]| b.into())),
        Dtype::I8 => int(IntDtype::I8, ints(data, |b| i8::from_le_bytes(b).into())),
        Dtype::I16 => int(IntDtype::I16, ints(data, |b| i16::from_le_bytes(b).into())),
        Dtype::U16 => int(IntDtype::U16, ints(data, |b| u16::from_le_bytes(b).into())),
        Dtype::I32 => int(IntDtype::I32, ints(data, |b| i32::from_le_bytes(b).into())),
        Dtype::U32 => int(IntDtype::U32, ints(data, |b| u32::from_le_bytes(b).into())),
        Dtype::I64 => int(IntDtype::I64, ints(data, i64::from_le_bytes)),
        Dtype::U64 => {
            let values: Vec<u64> = data.as_chunks::<8>().0.iter().map(|b| u64::from_le_bytes(*b)).collect();
            let Some((i, v)) = values.iter().enumerate().find(|&(_, &v)| i64::try_from(v).is_err()) else {
                // Every value fits, so every `as` is exact.
                return int(IntDtype::U64, values.iter().map(|&v| v as i64).collect());
            };
            let reason = format!(
                "U64 tensor: element {i} is {v}, past 2^63 - 1, the largest integer tensor value Wengert holds"
            );
            let floats = values.iter().map(|&v| F::from_f64(v as f64)).collect();
            let tensor = Tensor::from_vec(floats, shape).map_err(|e| e.to_string())?;
            Ok(Decoded::Wide { tensor, reason })
        }
        other => Ok(Decoded::Unread(format!("{other:?}"))),
    }
}

/// The little-endian values of `N` bytes each in `data`, widened to f64 by `f` and converted to `F`.
fn floats<F: Float, const N: usize>(data: &[u8], f: impl Fn([u8; N]) -> f64) -> Vec<F> {
    data.as_chunks::<N>().0.iter().map(|b| F::from_f64(f(*b))).collect()
}

/// The little-endian values of `N` bytes each in `data`, widened to i64 by `f`.
fn ints<const N: usize>(data: &[u8], f: impl Fn([u8; N]) -> i64) -> Vec<i64> {
    data.as_chunks::<N>().0.iter().map(|b| f(*b)).collect()
}

/// One tensor's bytes, ready for the safetensors writer.
pub(crate) struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// The little-endian bytes of `t` in row-major order, in `dtype` (`Native`: `F`'s own). Narrowing
/// rounds to nearest, ties to even.
pub(crate) fn encode_float<F: Float>(t: &Tensor<F>, dtype: SaveDtype) -> Raw {
    let values = t.to_vec().into_iter().map(Float::to_f64);
    let dtype = match dtype {
        SaveDtype::Native if F::DTYPE == "f32" => SaveDtype::F32,
        SaveDtype::Native => SaveDtype::F64,
        other => other,
    };
    let (dtype, data) = match dtype {
        SaveDtype::F16 => (Dtype::F16, values.flat_map(|x| f16::from_f64(x).to_le_bytes()).collect()),
        SaveDtype::Bf16 => (Dtype::BF16, values.flat_map(|x| bf16::from_f64(x).to_le_bytes()).collect()),
        SaveDtype::F32 => (Dtype::F32, values.flat_map(|x| (x as f32).to_le_bytes()).collect()),
        SaveDtype::Native | SaveDtype::F64 => (Dtype::F64, values.flat_map(f64::to_le_bytes).collect()),
    };
    Raw { dtype, shape: t.shape().to_vec(), data }
}

/// The little-endian bytes of `t` in its own dtype.
pub(crate) fn encode_int(t: &IntTensor) -> Raw {
    let values = t.values().iter().copied();
    // `IntTensor` holds only values its dtype can represent, so every `as` below is exact.
    let (dtype, data): (Dtype, Vec<u8>) = match t.dtype() {
        IntDtype::Bool => (Dtype::BOOL, values.map(|v| v as u8).collect()),
        IntDtype::U8 => (Dtype::U8, values.map(|v| v as u8).collect()),
        IntDtype::I8 => (Dtype::I8, values.flat_map(|v| (v as i8).to_le_bytes()).collect()),
        IntDtype::I16 => (Dtype::I16, values.flat_map(|v| (v as i16).to_le_bytes()).collect()),
        IntDtype::U16 => (Dtype::U16, values.flat_map(|v| (v as u16).to_le_bytes()).collect()),
        IntDtype::I32 => (Dtype::I32, values.flat_map(|v| (v as i32).to_le_bytes()).collect()),
        IntDtype::U32 => (Dtype::U32, values.flat_map(|v| (v as u32).to_le_bytes()).collect()),
        IntDtype::I64 => (Dtype::I64, values.flat_map(i64::to_le_bytes).collect()),
        IntDtype::U64 => (Dtype::U64, values.flat_map(|v| (v as u64).to_le_bytes()).collect()),
    };
    Raw { dtype, shape: t.shape().to_vec(), data }
}

/// Writes `tensors` and `meta` (as `__metadata__`, when not empty) as a safetensors file, atomically.
pub(crate) fn write(
    path: &Path,
    tensors: &[(String, Raw)],
    meta: &[(String, String)],
) -> Result<(), CheckpointError> {
    if let Some(name) = first_repeat(tensors.iter().map(|(n, _)| n.as_str())) {
        let reason = format!("tensor `{name}` appears more than once");
        return Err(CheckpointError::Encode { path: path.to_path_buf(), reason });
    }
    let info = (!meta.is_empty()).then(|| meta.iter().cloned().collect::<HashMap<_, _>>());
    let bytes = safetensors::serialize(tensors.iter().map(|(n, r)| (n.as_str(), r)), info)
        .map_err(|e| CheckpointError::Encode { path: path.to_path_buf(), reason: e.to_string() })?;
    write_atomic(path, |file| io::Write::write_all(file, &bytes))
}

/// A JSON value read only to find a key that appears twice in one object, anywhere in it.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeys)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<UniqueKeys>()?;
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("the key `{key}` appears more than once")));
            }
        }
        Ok(UniqueKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
}
