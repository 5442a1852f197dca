//! What can stop `fit`: data that do not fit, a refused step, a non-finite loss or gradient, a callback,
//! a checkpoint that cannot be resumed.

use std::fmt;

use super::collective::CollectiveError;
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
    /// The model's output and the target do not fit together: a different number of rows, or a loss
    /// of them that is not a single value. Found on the first batch, before any step.
    TargetShape {
        /// The shape of the model's output.
        prediction: Vec<usize>,
        /// The shape of the target.
        target: Vec<usize>,
        /// What is wrong.
        reason: String,
    },
    /// A callback failed.
    Callback(String),
    /// A checkpoint could not be applied to resume training (the message names the file).
    Resume(String),
    /// The workers of a data-parallel run failed to exchange gradients or figures, or are out of step.
    Collective(CollectiveError),
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
            TrainError::TargetShape { prediction, target, reason } => write!(
                f,
                "fit: the model's output of shape {prediction:?} and the target of shape {target:?} do not fit \
                 together: {reason}"
            ),
            TrainError::Callback(m) => write!(f, "fit: callback: {m}"),
            TrainError::Resume(m) => write!(f, "fit: resume: {m}"),
            TrainError::Collective(e) => write!(f, "fit: workers: {e}"),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<CollectiveError> for TrainError {
    fn from(e: CollectiveError) -> Self {
        TrainError::Collective(e)
    }
}

impl From<OptimError> for TrainError {
    fn from(e: OptimError) -> Self {
        TrainError::Optim(e)
    }
}
