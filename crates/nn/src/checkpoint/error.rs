//! `CheckpointError`: everything that can go wrong saving or loading a checkpoint or a safetensors file.

use std::io;
use std::path::PathBuf;

use crate::optim::OptimError;

/// Errors from saving, loading and applying checkpoints and safetensors files.
///
/// Every variant read from a file names the file; `Display` says which field was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Opening, reading, writing or renaming the file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file does not start with the checkpoint magic bytes.
    #[error(
        "{}: not a Wengert checkpoint (magic: the file starts with {}, not `WENGERT\\0`)",
        .path.display(),
        hex(.found)
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The first bytes of the file (at most eight).
        found: Vec<u8>,
    },
    /// The file was written in a format version this build does not read.
    #[error(
        "{}: format version {found} is not supported (this build reads versions 1 to {supported})",
        .path.display()
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the header.
        found: u32,
        /// The newest version this build reads, the one it writes.
        supported: u32,
    },
    /// The file holds tensors of another element type than the one asked for.
    #[error("{}: dtype: the file holds `{found}` tensors, but `{expected}` were asked for", .path.display())]
    DtypeMismatch {
        /// The file.
        path: PathBuf,
        /// The element type asked for (`F::DTYPE`).
        expected: &'static str,
        /// The element type in the file, as written there (escaped when not text).
        found: String,
    },
    /// The file is shorter than its header says.
    #[error("{}: truncated: the file has {found} bytes, its header needs {expected}", .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The number of bytes the header promises (or the header's own size).
        expected: u64,
        /// The number of bytes in the file.
        found: u64,
    },
    /// The payload's checksum differs from the one in the header.
    #[error(
        "{}: checksum: the header says CRC-32 {expected:#010x} but the payload's is {found:#010x} \
         (the file is corrupted)",
        .path.display()
    )]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// The CRC-32 in the header.
        expected: u32,
        /// The CRC-32 of the payload as read.
        found: u32,
    },
    /// The file is damaged or hostile in some other way; `reason` names the field.
    #[error("{}: corrupt: {reason}", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong, naming the field.
        reason: String,
    },
    /// A safetensors tensor that the model has a place for has an element type Wengert does not read
    /// (`F8_E4M3`, `C64`, ...; F16, BF16, F32, F64 and the integer types load).
    #[error(
        "{}: tensor `{name}` has dtype {dtype}, which does not load (F16, BF16, F32, F64 and the integer \
         types do)",
        .path.display()
    )]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// Its element type, as safetensors spells it (`F8_E4M3`, `C64`, ...).
        dtype: String,
    },
    /// The checkpoint could not be encoded (never expected for the types a checkpoint holds).
    #[error("{}: cannot encode the checkpoint: {reason}", .path.display())]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// The encoder's message.
        reason: String,
    },
    /// The names or shapes in a checkpoint do not match the parameters of a store. Nothing was changed.
    #[error(
        "{}checkpoint does not match the model:{}",
        from(.path),
        mismatch(.missing, .unexpected, .misshaped)
    )]
    Mismatch {
        /// The file the checkpoint was read from, when it was read from one.
        path: Option<PathBuf>,
        /// Parameters of the store that the checkpoint lacks.
        missing: Vec<String>,
        /// Entries of the checkpoint that the store lacks (a repeated name counts as unexpected).
        unexpected: Vec<String>,
        /// `(name, the store's shape, the checkpoint's shape)` for every entry whose shape differs.
        misshaped: Vec<(String, Vec<usize>, Vec<usize>)>,
    },
    /// A value of the saved training state cannot be right: a NaN or infinite optimizer moment, a
    /// negative second moment, an all-zero generator, absent optimizer state. Nothing was changed.
    #[error("{}: invalid state: {field}: {reason}", file_or_checkpoint(.path))]
    InvalidState {
        /// The file the checkpoint was read from, when it was read from one.
        path: Option<PathBuf>,
        /// The field: `optimizer slot `w/exp_avg_sq``, `rng`, ...
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The optimizer refused the checkpoint's optimizer state (another kind, other parameters or
    /// shapes). Nothing was changed.
    #[error("{}{source}", from(.path))]
    Optimizer {
        /// The file the checkpoint was read from, when it was read from one.
        path: Option<PathBuf>,
        /// The optimizer's error.
        source: OptimError,
    },
}

/// `path: ` when there is a path, to open a message.
fn from(path: &Option<PathBuf>) -> String {
    path.as_ref().map_or_else(String::new, |p| format!("{}: ", p.display()))
}

/// The file's name, or `checkpoint` for one built in memory.
fn file_or_checkpoint(path: &Option<PathBuf>) -> String {
    path.as_ref().map_or_else(|| "checkpoint".into(), |p| p.display().to_string())
}

/// The bytes as `89 50 ...`, or `nothing`.
fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing".into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// The missing, unexpected and misshaped entries, each list that is not empty after a space or `; `.
fn mismatch(
    missing: &[String],
    unexpected: &[String],
    misshaped: &[(String, Vec<usize>, Vec<usize>)],
) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", quoted(missing)));
    }
    if !unexpected.is_empty() {
        parts.push(format!("unexpected {}", quoted(unexpected)));
    }
    if !misshaped.is_empty() {
        let each = misshaped
            .iter()
            .map(|(name, model, file)| format!("`{name}` (model {model:?}, checkpoint {file:?})"));
        parts.push(format!("misshaped {}", each.collect::<Vec<_>>().join(", ")));
    }
    if parts.is_empty() { String::new() } else { format!(" {}", parts.join("; ")) }
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("run/model.ckpt")
    }

    #[test]
    fn every_message_names_the_file_and_the_field() {
        let cases = [
            (
                CheckpointError::Io { path: p(), source: io::Error::new(io::ErrorKind::NotFound, "gone") },
                "run/model.ckpt: gone",
            ),
            (
                CheckpointError::BadMagic { path: p(), found: vec![0x89, b'P'] },
                "run/model.ckpt: not a Wengert checkpoint (magic: the file starts with 89 50, not `WENGERT\\0`)",
            ),
            (
                CheckpointError::BadMagic { path: p(), found: vec![] },
                "run/model.ckpt: not a Wengert checkpoint (magic: the file starts with nothing, not `WENGERT\\0`)",
            ),
            (
                CheckpointError::UnsupportedVersion { path: p(), found: 9, supported: 2 },
                "run/model.ckpt: format version 9 is not supported (this build reads versions 1 to 2)",
            ),
            (
                CheckpointError::DtypeMismatch { path: p(), expected: "f32", found: "f64".into() },
                "run/model.ckpt: dtype: the file holds `f64` tensors, but `f32` were asked for",
            ),
            (
                CheckpointError::Truncated { path: p(), expected: 100, found: 40 },
                "run/model.ckpt: truncated: the file has 40 bytes, its header needs 100",
            ),
            (
                CheckpointError::ChecksumMismatch { path: p(), expected: 0xdead_beef, found: 1 },
                "run/model.ckpt: checksum: the header says CRC-32 0xdeadbeef but the payload's is 0x00000001 \
                 (the file is corrupted)",
            ),
            (
                CheckpointError::Corrupt { path: p(), reason: "payload: bad".into() },
                "run/model.ckpt: corrupt: payload: bad",
            ),
            (
                CheckpointError::UnsupportedDtype { path: p(), name: "w".into(), dtype: "F8_E4M3".into() },
                "run/model.ckpt: tensor `w` has dtype F8_E4M3, which does not load (F16, BF16, F32, F64 and \
                 the integer types do)",
            ),
            (
                CheckpointError::Encode { path: p(), reason: "no".into() },
                "run/model.ckpt: cannot encode the checkpoint: no",
            ),
            (
                CheckpointError::Mismatch {
                    path: None,
                    missing: vec!["a".into(), "b".into()],
                    unexpected: vec!["c".into()],
                    misshaped: vec![("d".into(), vec![2, 3], vec![3, 2]), ("e".into(), vec![1], vec![])],
                },
                "checkpoint does not match the model: missing `a`, `b`; unexpected `c`; \
                 misshaped `d` (model [2, 3], checkpoint [3, 2]), `e` (model [1], checkpoint [])",
            ),
            (
                CheckpointError::Mismatch {
                    path: None,
                    missing: vec![],
                    unexpected: vec!["c".into()],
                    misshaped: vec![],
                },
                "checkpoint does not match the model: unexpected `c`",
            ),
            (
                CheckpointError::Mismatch {
                    path: Some(p()),
                    missing: vec![],
                    unexpected: vec!["c".into()],
                    misshaped: vec![],
                },
                "run/model.ckpt: checkpoint does not match the model: unexpected `c`",
            ),
            (
                CheckpointError::InvalidState { path: Some(p()), field: "rng".into(), reason: "zero".into() },
                "run/model.ckpt: invalid state: rng: zero",
            ),
            (
                CheckpointError::InvalidState { path: None, field: "rng".into(), reason: "zero".into() },
                "checkpoint: invalid state: rng: zero",
            ),
            (
                CheckpointError::Optimizer {
                    path: Some(p()),
                    source: OptimError::KindMismatch { expected: "adam".into(), found: "sgd".into() },
                },
                "run/model.ckpt: load_state: the state is of kind `sgd`, not `adam`",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn io_errors_keep_their_source() {
        use std::error::Error;
        let err = CheckpointError::Io { path: p(), source: io::Error::other("disk") };
        assert_eq!(err.source().unwrap().to_string(), "disk");
        assert!(CheckpointError::Corrupt { path: p(), reason: String::new() }.source().is_none());
    }

    #[test]
    fn optimizer_errors_keep_their_source() {
        use std::error::Error;
        let source = OptimError::KindMismatch { expected: "adam".into(), found: "sgd".into() };
        let err = CheckpointError::Optimizer { path: None, source };
        assert_eq!(err.source().unwrap().to_string(), "load_state: the state is of kind `sgd`, not `adam`");
        assert_eq!(err.to_string(), "load_state: the state is of kind `sgd`, not `adam`");
    }
}
