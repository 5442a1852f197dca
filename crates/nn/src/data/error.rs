//! `DataError`: a data file that is absent, unreadable or malformed, or tensors that do not pair up.

use std::io;
use std::path::PathBuf;

/// Errors from reading data files and building datasets.
///
/// `Display` names the file, and the line and column where they apply (`data.csv:3:2: ...`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file does not exist.
    #[error("{path}: no such file{}", hint_suffix(.hint))]
    NotFound {
        /// The file.
        path: PathBuf,
        /// Where the file can be had, when known.
        hint: Option<String>,
    },
    /// Reading the file failed for another reason.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A field is not a number.
    #[error("{path}:{line}:{column}: {}", not_a_number(.field))]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// The line, counted from 1.
        line: usize,
        /// The column (field), counted from 1.
        column: usize,
        /// The field as written.
        field: String,
    },
    /// A row has another number of fields than the rows before it.
    #[error("{path}:{line}: {found} fields where {expected} were expected (ragged row)")]
    Ragged {
        /// The file.
        path: PathBuf,
        /// The line, counted from 1.
        line: usize,
        /// Its number of fields.
        found: usize,
        /// The number of fields expected.
        expected: usize,
    },
    /// The file's content is not what the reader expects (a header, a class index, a count).
    #[error("{path}:{line}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The line, counted from 1.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// A binary file whose bytes are not what the reader expects (an IDX header, a gzip stream).
    #[error("{path}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A file's magic number names another kind of file (IDX labels where images were expected, say).
    #[error("{path}: wrong magic number 0x{found:08x}, expected 0x{expected:08x}")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number found.
        found: u32,
        /// The magic number expected.
        expected: u32,
    },
    /// A file ends before the data its header announces.
    #[error("{path}: truncated: {found} bytes where the header announces {needed}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The bytes the header announces, itself included (after decompression).
        needed: u64,
        /// The bytes there are.
        found: u64,
    },
    /// A file, its decompressed content, or the values read from it would take more bytes than the
    /// reader's limit ([`DEFAULT_MAX_BYTES`](super::DEFAULT_MAX_BYTES) unless raised).
    #[error("{path}: {}", too_large(*.size, *.limit))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The bytes it would take, when known (a regular file's size, what a header announces); `None`
        /// for a stream that went on past the limit.
        size: Option<u64>,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Two files that belong together hold different numbers of samples (images and labels).
    #[error("{inputs} holds {input_count} samples but {targets} holds {target_count}")]
    CountMismatch {
        /// The file of inputs.
        inputs: PathBuf,
        /// Its number of samples.
        input_count: usize,
        /// The file of targets.
        targets: PathBuf,
        /// Its number of samples.
        target_count: usize,
    },
    /// Files a data set needs are absent from its folder.
    #[error("{dir}: missing {}; the folder needs {}, each plain or gzipped (.gz)", .missing.join(", "), .expected.join(", "))]
    MissingFiles {
        /// The folder.
        dir: PathBuf,
        /// The names not found (neither plain nor with `.gz`).
        missing: Vec<String>,
        /// Every name the data set needs.
        expected: Vec<String>,
    },
    /// Inputs and targets do not hold the same number of samples on axis 0.
    #[error(
        "dataset: inputs of shape {inputs:?} and targets of shape {targets:?} need the same number of samples on axis 0"
    )]
    LengthMismatch {
        /// The inputs' shape.
        inputs: Vec<usize>,
        /// The targets' shape.
        targets: Vec<usize>,
    },
}

/// `; hint` after the message of [`DataError::NotFound`], when there is a hint.
fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_ref().map_or_else(String::new, |h| format!("; {h}"))
}

/// What is wrong with a field of [`DataError::NotANumber`].
fn not_a_number(field: &str) -> String {
    if field.is_empty() {
        "empty field where a number was expected".to_string()
    } else {
        format!("`{field}` is not a number")
    }
}

/// The size and the limit of [`DataError::TooLarge`] in words.
fn too_large(size: Option<u64>, limit: u64) -> String {
    match size {
        Some(size) => format!("{size} bytes exceed the limit of {limit} bytes (a reader's `max_bytes`)"),
        None => format!("more than {limit} bytes, the limit (a reader's `max_bytes`)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_names_the_file_line_and_column() {
        let p = || PathBuf::from("d/x.csv");
        let cases = [
            (DataError::NotFound { path: p(), hint: None }, "d/x.csv: no such file"),
            (
                DataError::NotFound { path: p(), hint: Some("get it from there".into()) },
                "d/x.csv: no such file; get it from there",
            ),
            (DataError::Io { path: p(), source: io::Error::other("denied") }, "d/x.csv: denied"),
            (
                DataError::NotANumber { path: p(), line: 3, column: 2, field: "abc".into() },
                "d/x.csv:3:2: `abc` is not a number",
            ),
            (
                DataError::NotANumber { path: p(), line: 3, column: 2, field: String::new() },
                "d/x.csv:3:2: empty field where a number was expected",
            ),
            (
                DataError::Ragged { path: p(), line: 4, found: 2, expected: 3 },
                "d/x.csv:4: 2 fields where 3 were expected (ragged row)",
            ),
            (DataError::Format { path: p(), line: 1, reason: "bad header".into() }, "d/x.csv:1: bad header"),
            (DataError::Malformed { path: p(), reason: "bad header".into() }, "d/x.csv: bad header"),
            (
                DataError::BadMagic { path: p(), found: 0x801, expected: 0x803 },
                "d/x.csv: wrong magic number 0x00000801, expected 0x00000803",
            ),
            (
                DataError::Truncated { path: p(), needed: 20, found: 12 },
                "d/x.csv: truncated: 12 bytes where the header announces 20",
            ),
            (
                DataError::TooLarge { path: p(), size: Some(9), limit: 8 },
                "d/x.csv: 9 bytes exceed the limit of 8 bytes (a reader's `max_bytes`)",
            ),
            (
                DataError::TooLarge { path: p(), size: None, limit: 8 },
                "d/x.csv: more than 8 bytes, the limit (a reader's `max_bytes`)",
            ),
            (
                DataError::CountMismatch {
                    inputs: p(),
                    input_count: 3,
                    targets: "y".into(),
                    target_count: 2,
                },
                "d/x.csv holds 3 samples but y holds 2",
            ),
            (
                DataError::MissingFiles {
                    dir: "d".into(),
                    missing: vec!["a".into()],
                    expected: vec!["a".into(), "b".into()],
                },
                "d: missing a; the folder needs a, b, each plain or gzipped (.gz)",
            ),
            (
                DataError::LengthMismatch { inputs: vec![3, 2], targets: vec![4] },
                "dataset: inputs of shape [3, 2] and targets of shape [4] need the same number of samples on axis 0",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
        use std::error::Error;
        assert!(DataError::Io { path: p(), source: io::Error::other("x") }.source().is_some());
    }
}
