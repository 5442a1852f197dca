//! Errors from runtime data: building tensors from vectors, reshaping, decoding.

use std::fmt;

use crate::shape::checked_numel;

/// Errors from building or reshaping tensors out of runtime data.
///
/// Programmer mistakes (shapes that do not broadcast, an axis out of range) panic instead,
/// with a message naming the op and the shapes; see the `# Panics` section of each op.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TensorError {
    /// `len` elements cannot fill `shape`.
    LengthMismatch {
        /// The op that was building the tensor.
        op: &'static str,
        /// The number of elements given.
        len: usize,
        /// The shape asked for.
        shape: Vec<usize>,
    },
    /// A reshape to a shape with a different number of elements.
    ReshapeMismatch {
        /// The shape of the tensor.
        from: Vec<usize>,
        /// The shape asked for.
        to: Vec<usize>,
    },
    /// Two shapes that do not broadcast against each other.
    Broadcast {
        /// The op that was broadcasting.
        op: &'static str,
        /// The left shape.
        a: Vec<usize>,
        /// The right shape.
        b: Vec<usize>,
    },
    /// A value outside what the op accepts (a NaN bound, a zero count, ...).
    InvalidArgument {
        /// The op that rejected the argument.
        op: &'static str,
        /// What was wrong, in words.
        reason: String,
    },
}

impl fmt::Display for TensorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorError::LengthMismatch { op, len, shape } => match checked_numel(shape) {
                Some(need) => write!(f, "{op}: {len} elements cannot fill shape {shape:?} ({need} elements)"),
                None => write!(f, "{op}: {len} elements cannot fill shape {shape:?} (too many elements)"),
            },
            TensorError::ReshapeMismatch { from, to } => {
                let count = |s: &[usize]| checked_numel(s).map_or("too many".to_string(), |n| n.to_string());
                write!(
                    f,
                    "reshape: {from:?} ({} elements) cannot become {to:?} ({} elements)",
                    count(from),
                    count(to)
                )
            }
            TensorError::Broadcast { op, a, b } => {
                write!(f, "{op}: shapes {a:?} and {b:?} do not broadcast")
            }
            TensorError::InvalidArgument { op, reason } => write!(f, "{op}: {reason}"),
        }
    }
}

impl std::error::Error for TensorError {}

/// `unwrap` for shape checks inside `#[track_caller]` ops: panics with the error's message at the
/// user's line (a closure passed to `unwrap_or_else` cannot be `#[track_caller]`).
pub(crate) trait OrPanic<T> {
    /// The value, or a panic with the error's message.
    fn or_panic(self) -> T;
}

impl<T> OrPanic<T> for Result<T, TensorError> {
    #[track_caller]
    fn or_panic(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => fail(e),
        }
    }
}

/// Panics with `err`'s message; the caller is `#[track_caller]`, so the message points at the user.
#[track_caller]
pub(crate) fn fail(err: TensorError) -> ! {
    panic!("{err}")
}
