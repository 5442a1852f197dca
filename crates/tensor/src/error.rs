//! Errors from runtime data: building tensors from vectors, reshaping, decoding.

use crate::shape::checked_numel;

/// Errors from building or reshaping tensors out of runtime data.
///
/// Programmer mistakes (shapes that do not broadcast, an axis out of range) panic instead,
/// with a message naming the op and the shapes; see the `# Panics` section of each op.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TensorError {
    /// `len` elements cannot fill `shape`.
    #[error("{op}: {len} elements cannot fill shape {shape:?} ({})", elements(.shape))]
    LengthMismatch {
        /// The op that was building the tensor.
        op: &'static str,
        /// The number of elements given.
        len: usize,
        /// The shape asked for.
        shape: Vec<usize>,
    },
    /// A reshape to a shape with a different number of elements.
    #[error("reshape: {from:?} ({}) cannot become {to:?} ({})", elements(.from), elements(.to))]
    ReshapeMismatch {
        /// The shape of the tensor.
        from: Vec<usize>,
        /// The shape asked for.
        to: Vec<usize>,
    },
    /// Two shapes that do not broadcast against each other.
    #[error("{op}: shapes {a:?} and {b:?} do not broadcast")]
    Broadcast {
        /// The op that was broadcasting.
        op: &'static str,
        /// The left shape.
        a: Vec<usize>,
        /// The right shape.
        b: Vec<usize>,
    },
    /// A value outside what the op accepts (a NaN bound, a zero count, ...).
    #[error("{op}: {reason}")]
    InvalidArgument {
        /// The op that rejected the argument.
        op: &'static str,
        /// What was wrong, in words.
        reason: String,
    },
}

/// The number of elements of `shape` in words: `6 elements`, or `too many elements` past `usize`.
fn elements(shape: &[usize]) -> String {
    checked_numel(shape).map_or_else(|| "too many elements".to_string(), |n| format!("{n} elements"))
}

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
