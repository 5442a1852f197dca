//! What can stop `fit`: data that do not fit, a refused step, a non-finite loss or gradient, a callback.

use std::fmt;

use crate::optim::OptimError;

/// Errors from training.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TrainError {
    /// The optimizer refused a step (parameters without gradients, say).
    Optim(OptimError),
    /// Inputs and targets that do not fit together, or settings that make no sense.
    InvalidData(String),
    /// The loss became NaN or infinite.
    NonFiniteLoss {
        /// The epoch, from 1.
        epoch: usize,
    },
    /// Gradients held NaN or ±∞, so the optimizer refused the step (no weight changed).
    NonFiniteGradients {
        /// The epoch, from 1.
        epoch: usize,
        /// The batch within the epoch, from 1.
        batch: usize,
        /// The parameters whose gradients are not finite.
        names: Vec<String>,
    },
    /// A callback failed.
    Callback(String),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::Optim(e) => write!(f, "fit: {e}"),
            TrainError::InvalidData(m) => write!(f, "fit: {m}"),
            TrainError::NonFiniteLoss { epoch } => write!(f, "fit: the loss is not finite in epoch {epoch}"),
            TrainError::NonFiniteGradients { epoch, batch, names } => {
                let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
                write!(
                    f,
                    "fit: epoch {epoch}, batch {batch}: the gradient of {list} holds NaN or infinite values; \
                     the step was skipped and training stopped (FitOptions::on_nonfinite: \
                     NonFinite::SkipBatch skips such batches and goes on)"
                )
            }
            TrainError::Callback(m) => write!(f, "fit: callback: {m}"),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<OptimError> for TrainError {
    fn from(e: OptimError) -> Self {
        TrainError::Optim(e)
    }
}
