//! Safetensors export and import of weights: the format of Hugging Face and PyTorch's `safetensors`
//! package, so weights move between Wengert and other frameworks. Names are the parameter names
//! (`layers.0.weight`), shapes as stored (a `Linear` weight is `[out, in]`, PyTorch's layout).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;

use safetensors::tensor::{Dtype, Metadata, SafeTensors, View};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use wengert_tensor::{Float, Tensor};

use super::format::{remove_stale_temporaries, write_atomic};
use super::{Checkpoint, CheckpointError, LoadReport, assign};
use crate::data::{Bounded, read_to_limit};
use crate::store::ParamStore;

/// The size of the little-endian header length that opens a safetensors file.
const LEN_BYTES: usize = 8;

/// One tensor's bytes, ready for the safetensors writer.
struct Raw {
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

/// The little-endian bytes of `t` in row-major order, as `F32` or `F64` by `F`.
fn to_raw<F: Float>(t: &Tensor<F>) -> Raw {
    let values = t.to_vec();
    let (dtype, data) = if F::DTYPE == "f32" {
        (Dtype::F32, values.iter().flat_map(|x| (Float::to_f64(*x) as f32).to_le_bytes()).collect())
    } else {
        (Dtype::F64, values.iter().flat_map(|x| Float::to_f64(*x).to_le_bytes()).collect())
    };
    Raw { dtype, shape: t.shape().to_vec(), data }
}

/// Saves the parameters of `store` as a safetensors file at `path`, atomically, in `F`'s dtype
/// (`F32` or `F64`).
///
/// ```
/// use wengert::nn::{Init, ParamStore};
/// use wengert::nn::checkpoint::{load_safetensors, save_safetensors};
/// let path = std::env::temp_dir().join(format!("wengert-doc-{}.safetensors", std::process::id()));
/// let a = ParamStore::<f32>::new(0);
/// a.root().sub("layers").sub(0).param("weight", &[4, 2], Init::GLOROT_UNIFORM);
/// save_safetensors(&a, &path)?;
/// let b = ParamStore::<f32>::new(1);
/// b.root().sub("layers").sub(0).param("weight", &[4, 2], Init::Zeros);
/// load_safetensors(&b, &path)?;
/// assert_eq!(b.get("layers.0.weight").unwrap().value(), a.get("layers.0.weight").unwrap().value());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`CheckpointError::Io`] when the file cannot be written; `path` is then left as it was.
pub fn save_safetensors<F: Float>(
    store: &ParamStore<F>,
    path: impl AsRef<Path>,
) -> Result<(), CheckpointError> {
    Checkpoint { rng: None, ..Checkpoint::from_store(store) }.write_safetensors(path)
}

/// Loads a safetensors file into the parameters of `store`, checking every name and shape first.
/// `F32` and `F64` tensors load into either float type (f64 to f32 rounds to nearest; the report's
/// `converted` lists them).
///
/// # Errors
///
/// [`CheckpointError::Io`] when the file cannot be read; [`Truncated`](CheckpointError::Truncated) or
/// [`Corrupt`](CheckpointError::Corrupt) when it is not a valid safetensors file;
/// [`UnsupportedDtype`](CheckpointError::UnsupportedDtype) for a tensor other than `F32`/`F64`;
/// [`Mismatch`](CheckpointError::Mismatch), naming the file, when names or shapes differ (the store is
/// then unchanged).
pub fn load_safetensors<F: Float>(
    store: &ParamStore<F>,
    path: impl AsRef<Path>,
) -> Result<LoadReport, CheckpointError> {
    let path = path.as_ref();
    let (checkpoint, converted) = read(path)?;
    let mut report = assign(store, &checkpoint.params, true, Some(path))?;
    report.converted = converted;
    Ok(report)
}

impl<F: Float> Checkpoint<F> {
    /// Writes the parameters as a safetensors file, atomically, with `meta` as its `__metadata__`. The
    /// optimizer, scheduler, generator and epoch have no place in the format and are not written.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Io`] when the file cannot be written; [`CheckpointError::Encode`] when two
    /// parameters share a name.
    pub fn write_safetensors(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        let path = path.as_ref();
        let raws: Vec<(String, Raw)> = self.params.iter().map(|(n, t)| (n.clone(), to_raw(t))).collect();
        if let Some(name) = super::format::first_repeat(raws.iter().map(|(n, _)| n.as_str())) {
            let reason = format!("parameter `{name}` appears more than once");
            return Err(CheckpointError::Encode { path: path.to_path_buf(), reason });
        }
        let info = (!self.meta.is_empty()).then(|| self.meta.iter().cloned().collect::<HashMap<_, _>>());
        let bytes = safetensors::serialize(raws.iter().map(|(n, r)| (n.as_str(), r)), info)
            .map_err(|e| CheckpointError::Encode { path: path.to_path_buf(), reason: e.to_string() })?;
        write_atomic(path, |file| io::Write::write_all(file, &bytes))
    }

    /// Reads a safetensors file: its tensors in file order as `params` (converted to `F` when stored as
    /// the other float type) and its `__metadata__` as `meta`, sorted by key.
    ///
    /// # Errors
    ///
    /// As [`load_safetensors`], less the name and shape checks.
    pub fn read_safetensors(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        read(path.as_ref()).map(|(c, _)| c)
    }
}

/// Reads a safetensors file; the names converted from the other float type.
fn read<F: Float>(path: &Path) -> Result<(Checkpoint<F>, Vec<String>), CheckpointError> {
    let p = || path.to_path_buf();
    let corrupt = |reason: String| CheckpointError::Corrupt { path: p(), reason };
    let bytes = read_bounded(path)?;
    let found = bytes.len() as u64;
    let Some(len_bytes) = bytes.get(..LEN_BYTES) else {
        return Err(CheckpointError::Truncated { path: p(), expected: LEN_BYTES as u64, found });
    };
    let n = u64::from_le_bytes(len_bytes.try_into().expect("eight bytes"));
    let rest = (bytes.len() - LEN_BYTES) as u64;
    if n > rest {
        return Err(CheckpointError::Truncated {
            path: p(),
            expected: (LEN_BYTES as u64).saturating_add(n),
            found,
        });
    }
    let header_end = LEN_BYTES + n as usize;
    // The format forbids a key twice; JSON readers keep one of them silently.
    serde_json::from_slice::<UniqueKeys>(&bytes[LEN_BYTES..header_end])
        .map_err(|e| corrupt(format!("safetensors header: {e}")))?;
    // The safetensors crate adds the header's offsets without overflow checks; check them here first.
    let metadata: Metadata = serde_json::from_slice(&bytes[LEN_BYTES..header_end])
        .map_err(|e| corrupt(format!("safetensors header: {e}")))?;
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
    let mut checkpoint = Checkpoint { path: Some(p()), ..Checkpoint::new() };
    let mut converted = Vec::new();
    for name in metadata.offset_keys() {
        let view = file.tensor(&name).map_err(|e| corrupt(format!("safetensors: {e}")))?;
        let values: Vec<F> = match view.dtype() {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|c| F::from_f64(f32::from_le_bytes(c.try_into().unwrap()).into()))
                .collect(),
            Dtype::F64 => view
                .data()
                .chunks_exact(8)
                .map(|c| F::from_f64(f64::from_le_bytes(c.try_into().unwrap())))
                .collect(),
            other => {
                return Err(CheckpointError::UnsupportedDtype {
                    path: p(),
                    name,
                    dtype: format!("{other:?}"),
                });
            }
        };
        let stored = if view.dtype() == Dtype::F32 { "f32" } else { "f64" };
        let tensor = Tensor::from_vec(values, view.shape())
            .map_err(|e| corrupt(format!("safetensors tensor `{name}`: {e}")))?;
        if stored != F::DTYPE {
            converted.push(name.clone());
        }
        checkpoint.params.push((name, tensor));
    }
    if let Some(meta) = metadata.metadata() {
        checkpoint.meta = meta.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        checkpoint.meta.sort();
    }
    Ok((checkpoint, converted))
}

/// The whole file, no more than its size says: a device or a pipe (whose size is 0) that yields bytes,
/// or a file that grows while read, is an error, so an endless stream cannot make it read forever.
fn read_bounded(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    remove_stale_temporaries(path);
    let io_err = |source| CheckpointError::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    read_to_limit(file, len, len).map_err(|e| match e {
        Bounded::Io(source) => io_err(source),
        Bounded::TooLarge(_) => CheckpointError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("more bytes than the {len} its size says (a stream, or a file growing)"),
        },
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Init;
    use crate::checkpoint::tests::TempDir;
    use std::fs;

    fn store<F: Float>(seed: u64) -> ParamStore<F> {
        let s = ParamStore::new(seed);
        s.root().sub("layers").sub(0).param("weight", &[3, 2], Init::GLOROT_UNIFORM);
        s.root().sub("layers").sub(0).param("bias", &[3], Init::GLOROT_UNIFORM);
        s
    }

    /// A safetensors file built by hand: the header's length, its JSON, then the bytes.
    fn by_hand(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend(header.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn weights_round_trip_in_both_float_types() {
        let dir = TempDir::new("st");
        let (a, b) = (store::<f32>(1), store::<f32>(2));
        save_safetensors(&a, dir.join("m.safetensors")).unwrap();
        let report = load_safetensors(&b, dir.join("m.safetensors")).unwrap();
        assert_eq!(report.loaded, ["layers.0.weight", "layers.0.bias"]);
        assert!(report.converted.is_empty());
        for (p, q) in a.parameters().iter().zip(b.parameters()) {
            assert_eq!(p.value(), q.value());
        }
        let (a, b) = (store::<f64>(1), store::<f64>(2));
        save_safetensors(&a, dir.join("d.safetensors")).unwrap();
        load_safetensors(&b, dir.join("d.safetensors")).unwrap();
        assert_eq!(a.get("layers.0.bias").unwrap().value(), b.get("layers.0.bias").unwrap().value());
        assert_eq!(dir.names(), ["d.safetensors", "m.safetensors"]);
    }

    #[test]
    fn a_hand_written_file_loads() {
        let dir = TempDir::new("st");
        let path = dir.join("hand.safetensors");
        // PyTorch's layout: a Linear(2 -> 2) weight is [out, in]; F64 bias stored after the F32 weight.
        let header = r#"{"__metadata__":{"format":"pt"},"fc.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"fc.bias":{"dtype":"F64","shape":[2],"data_offsets":[16,32]}}"#;
        let mut data = Vec::new();
        for v in [1.0f32, 2.0, 3.0, 4.0] {
            data.extend(v.to_le_bytes());
        }
        for v in [0.5f64, -0.25] {
            data.extend(v.to_le_bytes());
        }
        fs::write(&path, by_hand(header, &data)).unwrap();
        let s = ParamStore::<f32>::new(0);
        s.root().sub("fc").param("weight", &[2, 2], Init::Zeros);
        s.root().sub("fc").param("bias", &[2], Init::Zeros);
        let report = load_safetensors(&s, &path).unwrap();
        assert_eq!(report.converted, ["fc.bias"]);
        assert_eq!(s.get("fc.weight").unwrap().value().to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.get("fc.bias").unwrap().value().to_vec(), vec![0.5, -0.25]);
        let c = Checkpoint::<f64>::read_safetensors(&path).unwrap();
        assert_eq!(c.params.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["fc.weight", "fc.bias"]);
        assert_eq!(c.meta, [("format".to_string(), "pt".to_string())]);
    }

    #[test]
    fn metadata_round_trips() {
        let dir = TempDir::new("st");
        let mut c = Checkpoint::<f32>::new();
        c.params.push(("w".into(), Tensor::ones(&[2])));
        c.meta = vec![("a".into(), "1".into()), ("b".into(), "two".into())];
        c.write_safetensors(dir.join("m.safetensors")).unwrap();
        let back = Checkpoint::<f32>::read_safetensors(dir.join("m.safetensors")).unwrap();
        assert_eq!((back.params, back.meta), (c.params, c.meta));
    }

    #[test]
    fn other_dtypes_are_refused_by_name() {
        let dir = TempDir::new("st");
        let path = dir.join("i.safetensors");
        let header = r#"{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#;
        fs::write(&path, by_hand(header, &[0; 8])).unwrap();
        let err = Checkpoint::<f32>::read_safetensors(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: tensor `ids` has dtype I64; only F32 and F64 tensors load", path.display())
        );
    }

    #[test]
    fn names_and_shapes_are_checked_before_loading() {
        let dir = TempDir::new("st");
        let path = dir.join("m.safetensors");
        save_safetensors(&store::<f32>(1), &path).unwrap();
        let s = ParamStore::<f32>::new(0);
        s.root().sub("layers").sub(0).param("weight", &[2, 3], Init::Zeros);
        s.root().param("extra", &[1], Init::Zeros);
        let err = load_safetensors(&s, &path).unwrap_err();
        let want = "checkpoint does not match the model: missing `extra`; unexpected `layers.0.bias`; \
                    misshaped `layers.0.weight` (model [2, 3], checkpoint [3, 2])";
        assert_eq!(err.to_string(), format!("{}: {want}", path.display()));
        assert!(s.get("layers.0.weight").unwrap().value().to_vec().iter().all(|&v| v == 0.0));
    }

    #[test]
    fn damaged_files_are_errors() {
        let dir = TempDir::new("st");
        let path = dir.join("m.safetensors");
        save_safetensors(&store::<f32>(1), &path).unwrap();
        let good = fs::read(&path).unwrap();
        for cut in 0..good.len() {
            let _ = fs::remove_file(&path); // a new file: ext4 flushes one truncated and rewritten in place
            fs::write(&path, &good[..cut]).unwrap();
            assert!(Checkpoint::<f32>::read_safetensors(&path).is_err(), "prefix {cut}");
        }
        let hostile = [
            // Offsets whose sum with the header overflows: the crate alone panics in a debug build.
            {
                let m = usize::MAX / 8;
                let entries: Vec<String> = (0..8)
                    .map(|i| {
                        format!(
                            r#""t{i}":{{"dtype":"U8","shape":[{m}],"data_offsets":[{},{}]}}"#,
                            i * m,
                            (i + 1) * m
                        )
                    })
                    .collect();
                by_hand(&format!("{{{}}}", entries.join(",")), &[])
            },
            by_hand("{not json", &[]),
            by_hand(r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, &[0; 9]),
            by_hand(r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, &[0; 8]),
            {
                let mut b = by_hand("{}", &[]);
                b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
                b
            },
        ];
        for bytes in hostile {
            fs::write(&path, &bytes).unwrap();
            let err = Checkpoint::<f32>::read_safetensors(&path).unwrap_err();
            assert!(err.to_string().starts_with(&path.display().to_string()), "{err}");
        }
    }

    #[test]
    fn a_key_twice_in_the_header_is_refused_by_name() {
        let dir = TempDir::new("st");
        let path = dir.join("dup.safetensors");
        let tensor = r#"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;
        let cases = [
            (format!(r#"{{"w":{tensor},"w":{tensor}}}"#), "w"),
            (format!(r#"{{"__metadata__":{{"a":"1","a":"2"}},"w":{tensor}}}"#), "a"),
        ];
        for (header, key) in cases {
            fs::write(&path, by_hand(&header, &[0; 4])).unwrap();
            let err = Checkpoint::<f32>::read_safetensors(&path).unwrap_err();
            let want = format!(
                "{}: corrupt: safetensors header: the key `{key}` appears more than once",
                path.display()
            );
            assert!(err.to_string().starts_with(&want), "{err}");
        }
    }

    #[test]
    fn an_endless_stream_is_an_error() {
        if Path::new("/dev/zero").exists() {
            assert!(Checkpoint::<f32>::read_safetensors("/dev/zero").is_err());
            assert!(Checkpoint::<f32>::load("/dev/zero").is_err());
        }
    }
}
