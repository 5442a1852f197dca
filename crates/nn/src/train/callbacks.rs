//! Callbacks run by `fit` around every epoch and batch: the [`Callback`] trait and its [`FitContext`],
//! early stopping, a checkpoint of the best weights, and Keras' `LearningRateScheduler`.

use std::path::PathBuf;

use wengert_tensor::{Float, Tensor};

use super::history::EpochLog;
use crate::checkpoint;
use crate::optim::Optimizer;
use crate::store::ParamStore;

/// What a callback sees of the training in progress: the epoch and batch, the parameters, and the
/// optimizer's learning rate, which it may set.
pub struct FitContext<'a, F: Float> {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The last epoch `fit` will run.
    pub epochs: usize,
    /// The batch within the epoch, from 1 (0 outside a batch).
    pub batch: usize,
    /// The number of batches per epoch, when the source knows it.
    pub batches: Option<usize>,
    /// The optimizer steps taken by this `fit` so far.
    pub steps: u64,
    optimizer: &'a mut dyn Optimizer<F>,
    store: &'a ParamStore<F>,
    pub(crate) leader: bool,
}

impl<'a, F: Float> FitContext<'a, F> {
    pub(crate) fn new(optimizer: &'a mut dyn Optimizer<F>, store: &'a ParamStore<F>, epochs: usize) -> Self {
        FitContext { epoch: 0, epochs, batch: 0, batches: None, steps: 0, optimizer, store, leader: true }
    }

    /// False on the workers of a distributed run other than rank 0: only the leader writes files.
    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// The optimizer's learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.optimizer.lr()
    }

    /// Sets the optimizer's learning rate for the next steps.
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.optimizer.set_lr(lr);
    }

    /// The optimizer (to freeze parameters, read its state, ...).
    pub fn optimizer(&mut self) -> &mut dyn Optimizer<F> {
        self.optimizer
    }

    /// The model's parameters, mode and generator.
    pub fn store(&self) -> &ParamStore<F> {
        self.store
    }
}

/// What a callback tells `fit` after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on training.
    Continue,
    /// Stop after this epoch.
    Stop,
}

/// Code run by `fit` around every epoch and batch, as Keras' callbacks. Every hook but
/// [`on_epoch_end`](Callback::on_epoch_end) does nothing unless implemented; an `Err` stops training
/// and `fit` returns it as [`TrainError::Callback`](super::TrainError::Callback).
///
/// ```
/// use wengert::nn::train::{Callback, Control, EpochLog, FitContext};
/// use wengert::nn::ParamStore;
///
/// /// Halves the learning rate when an epoch's loss goes up.
/// struct HalveOnRise(Option<f64>);
///
/// impl Callback<f32> for HalveOnRise {
///     fn on_epoch_end(&mut self, _log: &EpochLog, _store: &ParamStore<f32>) -> Result<Control, String> {
///         Ok(Control::Continue)
///     }
///     fn on_epoch_end_with(&mut self, log: &EpochLog, ctx: &mut FitContext<'_, f32>) -> Result<Control, String> {
///         if self.0.is_some_and(|last| log.loss > last) {
///             let lr = ctx.learning_rate();
///             ctx.set_learning_rate(lr / 2.0);
///         }
///         self.0 = Some(log.loss);
///         self.on_epoch_end(log, ctx.store())
///     }
/// }
/// ```
pub trait Callback<F: Float> {
    /// Called with the epoch's figures and the model's parameters.
    ///
    /// # Errors
    ///
    /// A message that stops training and is returned by `fit`.
    fn on_epoch_end(&mut self, log: &EpochLog, store: &ParamStore<F>) -> Result<Control, String>;

    /// What `fit` calls at the end of an epoch: [`on_epoch_end`](Callback::on_epoch_end) unless
    /// implemented; implement it to reach the optimizer through the context.
    ///
    /// # Errors
    ///
    /// A message that stops training and is returned by `fit`.
    fn on_epoch_end_with(&mut self, log: &EpochLog, ctx: &mut FitContext<'_, F>) -> Result<Control, String> {
        self.on_epoch_end(log, ctx.store())
    }

    /// Called once before the first epoch.
    ///
    /// # Errors
    ///
    /// A message that stops training and is returned by `fit`.
    fn on_train_begin(&mut self, _ctx: &mut FitContext<'_, F>) -> Result<(), String> {
        Ok(())
    }

    /// Called before every epoch's first batch.
    ///
    /// # Errors
    ///
    /// A message that stops training and is returned by `fit`.
    fn on_epoch_begin(&mut self, _ctx: &mut FitContext<'_, F>) -> Result<(), String> {
        Ok(())
    }

    /// Called before every batch's forward pass.
    ///
    /// # Errors
    ///
    /// A message that stops training and is returned by `fit`.
    fn on_batch_begin(&mut self, _ctx: &mut FitContext<'_, F>) -> Result<(), String> {
        Ok(())
    }

    /// Called after every batch with its loss (after the optimizer's step, or after its gradients
    /// were added when accumulating).
    ///
    /// # Errors
    ///
    /// A message that stops training and is returned by `fit`.
    fn on_batch_end(&mut self, _ctx: &mut FitContext<'_, F>, _loss: f64) -> Result<Control, String> {
        Ok(Control::Continue)
    }

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

impl BestCheckpoint {
    /// Tracks the best value on every worker; writes the file when `write` (on the leader).
    fn update<F: Float>(
        &mut self,
        log: &EpochLog,
        store: &ParamStore<F>,
        write: bool,
    ) -> Result<Control, String> {
        let value = log
            .get(&self.monitor)
            .ok_or_else(|| format!("best checkpoint: `{}` is not among the epoch's figures", self.monitor))?;
        if self.best.is_none_or(|b| self.goal.better(value, b, 0.0)) {
            self.best = Some(value);
            if write {
                checkpoint::save_weights(store, &self.path).map_err(|e| e.to_string())?;
            }
            self.saved_epoch = Some(log.epoch);
        }
        Ok(Control::Continue)
    }
}

impl<F: Float> Callback<F> for BestCheckpoint {
    fn on_epoch_end(&mut self, log: &EpochLog, store: &ParamStore<F>) -> Result<Control, String> {
        self.update(log, store, true)
    }

    fn on_epoch_end_with(&mut self, log: &EpochLog, ctx: &mut FitContext<'_, F>) -> Result<Control, String> {
        let leader = ctx.is_leader();
        self.update(log, ctx.store(), leader)
    }
}

/// Sets the learning rate at the beginning of every epoch to `schedule(epoch, lr)` (epoch from 1, `lr`
/// the current rate), as Keras' `LearningRateScheduler`. For PyTorch's schedulers, use
/// [`Trainer::with_scheduler`](super::Trainer::with_scheduler).
///
/// ```
/// use wengert::nn::train::LearningRateScheduler;
/// // Keep the rate for 10 epochs, then decay it by 10% an epoch.
/// let cb = LearningRateScheduler::new(|epoch, lr| if epoch <= 10 { lr } else { lr * 0.9 });
/// # let _: LearningRateScheduler<_> = cb;
/// ```
pub struct LearningRateScheduler<S> {
    schedule: S,
}

impl<S: FnMut(usize, f64) -> f64> LearningRateScheduler<S> {
    /// A callback setting the rate to `schedule(epoch, lr)` before every epoch.
    pub fn new(schedule: S) -> Self {
        LearningRateScheduler { schedule }
    }
}

impl<F: Float, S: FnMut(usize, f64) -> f64> Callback<F> for LearningRateScheduler<S> {
    fn on_epoch_end(&mut self, _log: &EpochLog, _store: &ParamStore<F>) -> Result<Control, String> {
        Ok(Control::Continue)
    }

    fn on_epoch_begin(&mut self, ctx: &mut FitContext<'_, F>) -> Result<(), String> {
        let lr = (self.schedule)(ctx.epoch, ctx.learning_rate());
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(format!("learning rate scheduler: epoch {} got the rate {lr}", ctx.epoch));
        }
        ctx.set_learning_rate(lr);
        Ok(())
    }
}
