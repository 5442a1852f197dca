//! Callbacks run at the end of each epoch of `fit`: early stopping, and a checkpoint of the best weights.

use std::path::PathBuf;

use wengert_tensor::{Float, Tensor};

use super::history::EpochLog;
use crate::checkpoint;
use crate::store::ParamStore;

/// What a callback tells `fit` after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on training.
    Continue,
    /// Stop after this epoch.
    Stop,
}

/// Code run by `fit` after every epoch.
pub trait Callback<F: Float> {
    /// Called with the epoch's figures and the model's parameters.
    ///
    /// # Errors
    ///
    /// A message that stops training and is returned by `fit`.
    fn on_epoch_end(&mut self, log: &EpochLog, store: &ParamStore<F>) -> Result<Control, String>;

    /// Called once when training ends, however it ends.
    ///
    /// # Errors
    ///
    /// A message returned by `fit`.
    fn on_train_end(&mut self, _store: &ParamStore<F>) -> Result<(), String> {
        Ok(())
    }
}

/// Whether a monitored quantity should go down (a loss) or up (an accuracy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Smaller is better.
    Min,
    /// Larger is better.
    Max,
}

impl Goal {
    /// The goal of a quantity by its name: `Max` for accuracies, `Min` otherwise.
    pub fn of(name: &str) -> Goal {
        if name.contains("acc") { Goal::Max } else { Goal::Min }
    }

    fn better(self, value: f64, best: f64, min_delta: f64) -> bool {
        match self {
            Goal::Min => value < best - min_delta,
            Goal::Max => value > best + min_delta,
        }
    }
}

/// Stops training when `monitor` has not improved by `min_delta` for `patience` epochs; with
/// `restore_best`, puts back the best epoch's weights at the end (Keras' `restore_best_weights`).
pub struct EarlyStopping<F: Float> {
    monitor: String,
    patience: usize,
    min_delta: f64,
    restore_best: bool,
    goal: Goal,
    best: Option<f64>,
    bad: usize,
    best_weights: Vec<Tensor<F>>,
}

impl<F: Float> EarlyStopping<F> {
    /// Early stopping on `monitor` (`val_loss`, `loss`, `val_accuracy`, ...) with a patience.
    pub fn new(monitor: &str, patience: usize) -> Self {
        EarlyStopping {
            monitor: monitor.to_string(),
            patience,
            min_delta: 0.0,
            restore_best: false,
            goal: Goal::of(monitor),
            best: None,
            bad: 0,
            best_weights: Vec::new(),
        }
    }

    /// The smallest change that counts as an improvement.
    pub fn min_delta(mut self, delta: f64) -> Self {
        self.min_delta = delta;
        self
    }

    /// Restore the best epoch's weights when training ends.
    pub fn restore_best(mut self, on: bool) -> Self {
        self.restore_best = on;
        self
    }
}

impl<F: Float> Callback<F> for EarlyStopping<F> {
    fn on_epoch_end(&mut self, log: &EpochLog, store: &ParamStore<F>) -> Result<Control, String> {
        let value = log
            .get(&self.monitor)
            .ok_or_else(|| format!("early stopping: `{}` is not among the epoch's figures", self.monitor))?;
        if self.best.is_none_or(|b| self.goal.better(value, b, self.min_delta)) {
            self.best = Some(value);
            self.bad = 0;
            if self.restore_best {
                self.best_weights = store.parameters().iter().map(|p| p.value()).collect();
            }
            return Ok(Control::Continue);
        }
        self.bad += 1;
        Ok(if self.bad >= self.patience { Control::Stop } else { Control::Continue })
    }

    fn on_train_end(&mut self, store: &ParamStore<F>) -> Result<(), String> {
        if self.restore_best && !self.best_weights.is_empty() {
            for (p, w) in store.parameters().iter().zip(self.best_weights.drain(..)) {
                p.set(w);
            }
        }
        Ok(())
    }
}

/// Saves the weights to `path` whenever `monitor` improves (Keras' `ModelCheckpoint` with
/// `save_best_only`). The save is atomic: an interrupted save leaves the previous best in place.
pub struct BestCheckpoint {
    path: PathBuf,
    monitor: String,
    goal: Goal,
    best: Option<f64>,
    /// The epoch of the last save.
    pub saved_epoch: Option<usize>,
}

impl BestCheckpoint {
    /// Keeps the best weights by `monitor` at `path`.
    pub fn new(path: impl Into<PathBuf>, monitor: &str) -> Self {
        BestCheckpoint {
            path: path.into(),
            monitor: monitor.to_string(),
            goal: Goal::of(monitor),
            best: None,
            saved_epoch: None,
        }
    }
}

impl<F: Float> Callback<F> for BestCheckpoint {
    fn on_epoch_end(&mut self, log: &EpochLog, store: &ParamStore<F>) -> Result<Control, String> {
        let value = log
            .get(&self.monitor)
            .ok_or_else(|| format!("best checkpoint: `{}` is not among the epoch's figures", self.monitor))?;
        if self.best.is_none_or(|b| self.goal.better(value, b, 0.0)) {
            self.best = Some(value);
            checkpoint::save_weights(store, &self.path).map_err(|e| e.to_string())?;
            self.saved_epoch = Some(log.epoch);
        }
        Ok(Control::Continue)
    }
}
