//! `DataError`: a data file that is absent, unreadable or malformed, or tensors that do not pair up.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Errors from reading data files and building datasets.
///
/// `Display` names the file, and the line and column where they apply (`data.csv:3:2: ...`).
#[derive(Debug)]
#[non_exhaustive]
pub enum DataError {
    /// The file does not exist.
    NotFound {
        /// The file.
        path: PathBuf,
        /// Where the file can be had, when known.
        hint: Option<String>,
    },
    /// Reading the file failed for another reason.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A field is not a number.
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
    Format {
        /// The file.
        path: PathBuf,
        /// The line, counted from 1.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// Inputs and targets do not hold the same number of samples on axis 0.
    LengthMismatch {
        /// The inputs' shape.
        inputs: Vec<usize>,
        /// The targets' shape.
        targets: Vec<usize>,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::NotFound { path, hint } => {
                write!(f, "{}: no such file", path.display())?;
                match hint {
                    Some(hint) => write!(f, "; {hint}"),
                    None => Ok(()),
                }
            }
            DataError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            DataError::NotANumber { path, line, column, field } if field.is_empty() => {
                write!(f, "{}:{line}:{column}: empty field where a number was expected", path.display())
            }
            DataError::NotANumber { path, line, column, field } => {
                write!(f, "{}:{line}:{column}: `{field}` is not a number", path.display())
            }
            DataError::Ragged { path, line, found, expected } => write!(
                f,
                "{}:{line}: {found} fields where {expected} were expected (ragged row)",
                path.display()
            ),
            DataError::Format { path, line, reason } => write!(f, "{}:{line}: {reason}", path.display()),
            DataError::LengthMismatch { inputs, targets } => write!(
                f,
                "dataset: inputs of shape {inputs:?} and targets of shape {targets:?} need the same number \
                 of samples on axis 0"
            ),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Io { source, .. } => Some(source),
            _ => None,
        }
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
