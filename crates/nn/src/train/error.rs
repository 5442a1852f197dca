//! What can stop `fit`: data that do not fit, a refused step, a non-finite loss or gradient, a callback,
//! a checkpoint that cannot be resumed.

use super::collective::CollectiveError;
use crate::optim::{OptimError, backticked};

/// Errors from training.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// The optimizer refused a step (parameters without gradients, say).
    #[error("fit: {0}")]
    Optim(#[from] OptimError),
    /// Inputs and targets that do not fit together, or settings that make no sense.
    #[error("fit: {0}")]
    InvalidData(String),
    /// The loss became NaN or infinite.
    #[error("fit: the loss is not finite in epoch {epoch}")]
    NonFiniteLoss {
        /// The epoch, from 1.
        epoch: usize,
    },
    /// Gradients held NaN or ±∞, so the optimizer refused the step (no weight changed).
    #[error(
        "fit: epoch {epoch}, batch {batch}: the gradient of {} holds NaN or infinite values; the step was \
         skipped and training stopped (FitOptions::on_nonfinite: NonFinite::SkipBatch skips such batches \
         and goes on)",
        backticked(.names)
    )]
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
    #[error(
        "fit: the model's output of shape {prediction:?} and the target of shape {target:?} do not fit \
         together: {reason}"
    )]
    TargetShape {
        /// The shape of the model's output.
        prediction: Vec<usize>,
        /// The shape of the target.
        target: Vec<usize>,
        /// What is wrong.
        reason: String,
    },
    /// A callback failed.
    #[error("fit: callback: {0}")]
    Callback(String),
    /// A checkpoint could not be applied to resume training (the message names the file).
    #[error("fit: resume: {0}")]
    Resume(String),
    /// The workers of a data-parallel run failed to exchange gradients or figures, or are out of step.
    #[error("fit: workers: {0}")]
    Collective(#[from] CollectiveError),
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn every_message_starts_with_fit_and_names_what_went_wrong() {
        let optim = OptimError::KindMismatch { expected: "adam".into(), found: "sgd".into() };
        let cases = [
            (TrainError::from(optim), "fit: load_state: the state is of kind `sgd`, not `adam`"),
            (TrainError::InvalidData("x has 3 rows, y has 4".into()), "fit: x has 3 rows, y has 4"),
            (TrainError::NonFiniteLoss { epoch: 2 }, "fit: the loss is not finite in epoch 2"),
            (
                TrainError::NonFiniteGradients {
                    epoch: 1,
                    batch: 3,
                    names: vec!["fc.weight".into(), "fc.bias".into()],
                },
                "fit: epoch 1, batch 3: the gradient of `fc.weight`, `fc.bias` holds NaN or infinite values; the \
                 step was skipped and training stopped (FitOptions::on_nonfinite: NonFinite::SkipBatch skips such \
                 batches and goes on)",
            ),
            (
                TrainError::TargetShape {
                    prediction: vec![4, 2],
                    target: vec![3],
                    reason: "4 rows against 3".into(),
                },
                "fit: the model's output of shape [4, 2] and the target of shape [3] do not fit together: 4 rows \
                 against 3",
            ),
            (TrainError::Callback("early stop failed".into()), "fit: callback: early stop failed"),
            (TrainError::Resume("run.ckpt: corrupt".into()), "fit: resume: run.ckpt: corrupt"),
            (
                TrainError::from(CollectiveError::new("all_gather", "rank 1 sent 3 values, rank 0 4")),
                "fit: workers: all_gather: rank 1 sent 3 values, rank 0 4",
            ),
        ];
        for (err, message) in cases {
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn an_optimizer_error_stays_reachable_as_the_source() {
        let optim = OptimError::NonFiniteGradients { names: vec!["w".into()] };
        let err = TrainError::from(optim.clone());
        assert_eq!(err.source().unwrap().to_string(), optim.to_string());
        assert!(TrainError::NonFiniteLoss { epoch: 1 }.source().is_none());
    }
}
