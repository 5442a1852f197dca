//! What can go wrong between the workers: the engine, models that differ, a checkpoint.

use std::fmt;

use wengert_nn::train::{CollectiveError, TrainError};

/// Errors of a data-parallel run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DistError {
    /// The engine could not start (MPI initialised twice, no threading support, ...).
    Init(String),
    /// An exchange between the workers failed.
    Collective(CollectiveError),
    /// The workers' models differ: the message names the first difference and the ranks.
    ModelMismatch(String),
    /// Rank 0's weights could not be applied on this rank.
    Broadcast(String),
    /// Training failed.
    Train(TrainError),
}

impl fmt::Display for DistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DistError::Init(m) => write!(f, "dist: init: {m}"),
            DistError::Collective(e) => write!(f, "dist: {e}"),
            DistError::ModelMismatch(m) => write!(f, "dist: the models differ between ranks: {m}"),
            DistError::Broadcast(m) => write!(f, "dist: broadcast: {m}"),
            DistError::Train(e) => write!(f, "dist: {e}"),
        }
    }
}

impl std::error::Error for DistError {}

impl From<CollectiveError> for DistError {
    fn from(e: CollectiveError) -> Self {
        DistError::Collective(e)
    }
}

impl From<TrainError> for DistError {
    fn from(e: TrainError) -> Self {
        DistError::Train(e)
    }
}
