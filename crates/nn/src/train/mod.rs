//! Keras-like training: `fit`, `evaluate` and `predict` over in-memory tensors, with batches, seeded
//! shuffling, validation data or a validation split, metrics, callbacks and a progress display.
//!
//! ```
//! use wengert::nn::optim::Adam;
//! use wengert::nn::train::{FitOptions, Trainer, Verbosity};
//! use wengert::nn::{Linear, ParamStore, loss};
//! use wengert::tensor::Tensor;
//!
//! let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0], &[4, 2]).unwrap();
//! let y = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4, 1]).unwrap();
//! let store = ParamStore::new(0);
//! let model = Linear::new(&store.root(), 2, 1);
//! let mut trainer = Trainer::new(&model, &store, Adam::new(store.parameters(), 0.05), |p, t| loss::mse(p, t));
//! let opts = FitOptions { epochs: 300, batch_size: 4, verbosity: Verbosity::Quiet, ..FitOptions::default() };
//! let history = trainer.fit(&x, &y, &opts).unwrap();
//! assert!(history.last().unwrap().loss < 0.01);
//! assert_eq!(trainer.predict(&x).shape(), &[4, 1]);
//! ```
//!
//! The same training as an explicit loop:
//!
//! ```
//! # use wengert::nn::optim::{Adam, Optimizer};
//! # use wengert::nn::{Linear, Module, ParamStore, loss};
//! # use wengert::tape::Tape;
//! # use wengert::tensor::Tensor;
//! # let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0], &[4, 2]).unwrap();
//! # let y = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4, 1]).unwrap();
//! let store = ParamStore::new(0);
//! let model = Linear::new(&store.root(), 2, 1);
//! let mut opt = Adam::new(store.parameters(), 0.05);
//! for _epoch in 0..300 {
//!     let tape = Tape::new();
//!     let pred = model.forward(tape.constant(x.clone()));
//!     let l = loss::mse(pred, tape.constant(y.clone()));
//!     opt.step(&l.backward()).unwrap();
//! }
//! ```

mod callbacks;
mod error;
mod history;
mod progress;

pub use callbacks::{BestCheckpoint, Callback, Control, EarlyStopping, Goal};
pub use error::TrainError;
pub use history::{EpochLog, History};
pub use progress::Verbosity;

use rand::seq::SliceRandom;
use wengert_tape::{Tape, Var};
use wengert_tensor::{Float, Tensor};

use crate::metrics;
use crate::module::Module;
use crate::optim::{OptimError, Optimizer};
use crate::store::ParamStore;
use progress::Progress;

/// A metric computed alongside the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Fraction of rows whose arg-max matches the integer target.
    Accuracy,
    /// Mean absolute error.
    Mae,
    /// Mean squared error.
    Mse,
    /// Root mean squared error.
    Rmse,
}

impl Metric {
    /// The metric's name in logs: `accuracy`, `mae`, `mse`, `rmse`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::Mae => "mae",
            Metric::Mse => "mse",
            Metric::Rmse => "rmse",
        }
    }

    fn compute<F: Float>(self, pred: &Tensor<F>, target: &Tensor<F>) -> f64 {
        match self {
            Metric::Accuracy => metrics::accuracy(pred, &class_indices(target)),
            Metric::Mae => metrics::mae(pred, target),
            Metric::Mse => metrics::mse(pred, target),
            Metric::Rmse => metrics::rmse(pred, target),
        }
    }
}

/// Integer class targets stored as floats (one per row) back to indices.
pub fn class_indices<F: Float>(target: &Tensor<F>) -> Vec<usize> {
    target.to_vec().into_iter().map(|v| Float::to_f64(v).round().max(0.0) as usize).collect()
}

/// Where validation figures come from.
#[derive(Debug, Clone, Default)]
pub enum Validation<F: Float> {
    /// No validation.
    #[default]
    None,
    /// The last fraction of the training data (before shuffling), as Keras' `validation_split`.
    Split(f64),
    /// Separate inputs and targets.
    Data(Tensor<F>, Tensor<F>),
}

/// Settings of [`Trainer::fit`]; the defaults are Keras': 1 epoch, batches of 32, shuffled.
#[derive(Debug, Clone)]
pub struct FitOptions<F: Float = f32> {
    /// Passes over the training data.
    pub epochs: usize,
    /// Rows per batch (the last batch may be smaller unless `drop_last`).
    pub batch_size: usize,
    /// Shuffle the rows every epoch, with the store's seeded generator.
    pub shuffle: bool,
    /// Drop a last batch smaller than `batch_size`.
    pub drop_last: bool,
    /// Validation data or split.
    pub validation: Validation<F>,
    /// How much to print.
    pub verbosity: Verbosity,
    /// With line output, print every this many epochs.
    pub log_every: usize,
    /// What a batch with a non-finite loss or gradient does: stop `fit` with an error (the default),
    /// or skip that batch's step and go on.
    pub on_nonfinite: NonFinite,
}

/// What [`Trainer::fit`] does with a batch whose loss is NaN or ±∞, or whose gradients are (which
/// the optimizer refuses with [`OptimError::NonFiniteGradients`]; no weight has changed then).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NonFinite {
    /// Stop with [`TrainError::NonFiniteLoss`] or [`TrainError::NonFiniteGradients`].
    #[default]
    Stop,
    /// Skip the batch's step (its finite loss still counts in the epoch's mean), list it in
    /// [`History::skipped_batches`] and go on, as PyTorch's `GradScaler` skips such steps.
    SkipBatch,
}

impl<F: Float> Default for FitOptions<F> {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            drop_last: false,
            validation: Validation::None,
            verbosity: Verbosity::Auto,
            log_every: 1,
            on_nonfinite: NonFinite::Stop,
        }
    }
}

/// Loss and metrics over a data set, as [`Trainer::evaluate`] returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The loss, averaged over batches weighted by their size.
    pub loss: f64,
    /// The metrics, by name.
    pub metrics: Vec<(String, f64)>,
}

impl Evaluation {
    /// A metric by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }
}

/// A model, its parameters, an optimizer, a loss and metrics: what Keras' `compile` puts together.
pub struct Trainer<'m, F, M, O, L>
where
    F: Float,
    M: Module<F>,
    O: Optimizer<F>,
    L: for<'t> Fn(Var<'t, F>, Var<'t, F>) -> Var<'t, F>,
{
    model: &'m M,
    store: ParamStore<F>,
    /// The optimizer (public so schedules can set its learning rate between fits).
    pub optimizer: O,
    loss: L,
    metrics: Vec<Metric>,
    callbacks: Vec<Box<dyn Callback<F> + 'm>>,
}

impl<'m, F, M, O, L> Trainer<'m, F, M, O, L>
where
    F: Float,
    M: Module<F>,
    O: Optimizer<F>,
    L: for<'t> Fn(Var<'t, F>, Var<'t, F>) -> Var<'t, F>,
{
    /// Puts a model, its store, an optimizer and a loss `loss(prediction, target)` together.
    pub fn new(model: &'m M, store: &ParamStore<F>, optimizer: O, loss: L) -> Self {
        Trainer { model, store: store.clone(), optimizer, loss, metrics: Vec::new(), callbacks: Vec::new() }
    }

    /// Adds metrics reported with the loss.
    pub fn metrics(mut self, metrics: &[Metric]) -> Self {
        self.metrics.extend_from_slice(metrics);
        self
    }

    /// Adds a callback run after every epoch.
    pub fn callback(mut self, cb: impl Callback<F> + 'm) -> Self {
        self.callbacks.push(Box::new(cb));
        self
    }

    /// Trains on inputs `x` and targets `y` (first axis: samples).
    ///
    /// # Errors
    ///
    /// [`TrainError`] when the data do not fit together, the optimizer refuses a step, the loss or the
    /// gradients are not finite (unless [`FitOptions::on_nonfinite`] skips such batches) or a
    /// callback fails.
    pub fn fit(&mut self, x: &Tensor<F>, y: &Tensor<F>, opts: &FitOptions<F>) -> Result<History, TrainError> {
        check_pair("training", x, y)?;
        if opts.batch_size == 0 {
            return Err(TrainError::InvalidData("batch_size must be at least 1".into()));
        }
        let (train, val) = split(x, y, &opts.validation)?;
        let n = train.0.shape()[0];
        let progress = Progress::new(opts.verbosity, opts.epochs, opts.log_every);
        let mut history = History::default();
        let mut order: Vec<usize> = (0..n).collect();
        for epoch in 1..=opts.epochs {
            self.store.train();
            if opts.shuffle {
                self.store.with_rng(|rng| order.shuffle(rng));
            }
            let lr = self.optimizer.lr();
            let (mut loss_sum, mut seen) = (0.0, 0usize);
            let mut preds = Vec::new();
            for (index, batch) in order.chunks(opts.batch_size).enumerate() {
                let skip = opts.on_nonfinite == NonFinite::SkipBatch;
                if opts.drop_last && batch.len() < opts.batch_size {
                    break;
                }
                let (bx, by) = rows(&train, batch, n);
                // The tape is dropped before the step, so parameters are updated in place, not copied.
                let (value, grads, pred) = {
                    let tape = Tape::new();
                    let pred = self.model.forward(tape.constant(bx));
                    let l = (self.loss)(pred, tape.constant(by.clone()));
                    (l.item().to_f64(), l.backward(), (!self.metrics.is_empty()).then(|| pred.value()))
                };
                if !value.is_finite() && skip {
                    history.skipped_batches.push((epoch, index + 1));
                    continue;
                }
                if !value.is_finite() {
                    progress.finish();
                    return Err(TrainError::NonFiniteLoss { epoch });
                }
                match self.optimizer.step(&grads) {
                    Err(OptimError::NonFiniteGradients { .. }) if skip => {
                        history.skipped_batches.push((epoch, index + 1));
                    }
                    Err(OptimError::NonFiniteGradients { names }) => {
                        progress.finish();
                        return Err(TrainError::NonFiniteGradients { epoch, batch: index + 1, names });
                    }
                    Err(e) => return Err(e.into()),
                    Ok(_) => {}
                }
                drop(grads);
                loss_sum += value * batch.len() as f64;
                seen += batch.len();
                if let Some(pred) = pred {
                    preds.push((pred, by));
                }
            }
            let metrics = self.batch_metrics(&preds);
            let (val_loss, val_metrics) = match &val {
                Some((vx, vy)) => {
                    let e = self.evaluate_with(vx, vy, opts.batch_size);
                    (Some(e.loss), e.metrics)
                }
                None => (None, Vec::new()),
            };
            let log =
                EpochLog { epoch, loss: loss_sum / seen.max(1) as f64, metrics, val_loss, val_metrics, lr };
            progress.epoch(&log);
            let mut stop = false;
            for cb in &mut self.callbacks {
                if cb.on_epoch_end(&log, &self.store).map_err(TrainError::Callback)? == Control::Stop {
                    stop = true;
                }
            }
            history.epochs.push(log);
            if stop {
                history.stopped_early = true;
                break;
            }
        }
        progress.finish();
        for cb in &mut self.callbacks {
            cb.on_train_end(&self.store).map_err(TrainError::Callback)?;
        }
        self.store.eval();
        Ok(history)
    }

    /// The loss and metrics on `x`, `y` in evaluation mode, in batches of 32.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidData`] when `x` and `y` have different numbers of rows.
    pub fn evaluate(&self, x: &Tensor<F>, y: &Tensor<F>) -> Result<Evaluation, TrainError> {
        check_pair("evaluation", x, y)?;
        Ok(self.evaluate_with(x, y, 32))
    }

    /// The model's outputs for `x`, in evaluation mode and without recording gradients.
    pub fn predict(&self, x: &Tensor<F>) -> Tensor<F> {
        predict(self.model, &self.store, x)
    }

    fn evaluate_with(&self, x: &Tensor<F>, y: &Tensor<F>, batch: usize) -> Evaluation {
        let was_training = self.store.is_training();
        self.store.eval();
        let n = x.shape()[0];
        let all: Vec<usize> = (0..n).collect();
        let (mut loss_sum, mut preds) = (0.0, Vec::new());
        for b in all.chunks(batch.max(1)) {
            let (bx, by) = rows(&(x.clone(), y.clone()), b, n);
            let tape = Tape::new();
            tape.no_grad(|| {
                let pred = self.model.forward(tape.constant(bx));
                loss_sum += (self.loss)(pred, tape.constant(by.clone())).item().to_f64() * b.len() as f64;
                preds.push((pred.value(), by));
            });
        }
        if was_training {
            self.store.train();
        }
        Evaluation { loss: loss_sum / n.max(1) as f64, metrics: self.batch_metrics(&preds) }
    }

    fn batch_metrics(&self, preds: &[(Tensor<F>, Tensor<F>)]) -> Vec<(String, f64)> {
        if self.metrics.is_empty() || preds.is_empty() {
            return Vec::new();
        }
        let p: Vec<&Tensor<F>> = preds.iter().map(|(p, _)| p).collect();
        let t: Vec<&Tensor<F>> = preds.iter().map(|(_, t)| t).collect();
        let (p, t) = (Tensor::concat(&p, 0), Tensor::concat(&t, 0));
        self.metrics.iter().map(|m| (m.name().to_string(), m.compute(&p, &t))).collect()
    }
}

/// The outputs of `model` for `x` in evaluation mode, without recording gradients.
pub fn predict<F: Float, M: Module<F> + ?Sized>(
    model: &M,
    store: &ParamStore<F>,
    x: &Tensor<F>,
) -> Tensor<F> {
    let was_training = store.is_training();
    store.eval();
    let tape = Tape::new();
    let out = tape.no_grad(|| model.forward(tape.constant(x.clone())).value());
    if was_training {
        store.train();
    }
    out
}

fn check_pair<F: Float>(what: &str, x: &Tensor<F>, y: &Tensor<F>) -> Result<(), TrainError> {
    if x.ndim() == 0 || y.ndim() == 0 || x.shape()[0] != y.shape()[0] {
        return Err(TrainError::InvalidData(format!(
            "{what} inputs of shape {:?} and targets of shape {:?} do not have the same number of rows",
            x.shape(),
            y.shape()
        )));
    }
    Ok(())
}

type Pair<F> = (Tensor<F>, Tensor<F>);

/// The training pair and the validation pair, if any.
fn split<F: Float>(
    x: &Tensor<F>,
    y: &Tensor<F>,
    v: &Validation<F>,
) -> Result<(Pair<F>, Option<Pair<F>>), TrainError> {
    match v {
        Validation::None => Ok(((x.clone(), y.clone()), None)),
        Validation::Data(vx, vy) => {
            check_pair("validation", vx, vy)?;
            Ok(((x.clone(), y.clone()), Some((vx.clone(), vy.clone()))))
        }
        Validation::Split(frac) => {
            let n = x.shape()[0];
            let n_val = (n as f64 * frac).round() as usize;
            if !(0.0..1.0).contains(frac) || n_val == 0 || n_val >= n {
                return Err(TrainError::InvalidData(format!(
                    "validation split {frac} of {n} rows leaves no training or no validation rows"
                )));
            }
            let cut = n - n_val;
            Ok((
                (x.narrow(0, 0, cut), y.narrow(0, 0, cut)),
                Some((x.narrow(0, cut, n_val), y.narrow(0, cut, n_val))),
            ))
        }
    }
}

/// The rows `idx` of a pair; the whole pair (no copy) when `idx` is every row in order.
fn rows<F: Float>(pair: &Pair<F>, idx: &[usize], n: usize) -> Pair<F> {
    if idx.len() == n && idx.iter().enumerate().all(|(i, &j)| i == j) {
        return pair.clone();
    }
    (take_rows(&pair.0, idx), take_rows(&pair.1, idx))
}

/// `t.index_select(0, idx)`, copying whole rows at a time when `t` is row-major (a batch of a few
/// rows is built once per step, so this is on the hot path of small models).
fn take_rows<F: Float>(t: &Tensor<F>, idx: &[usize]) -> Tensor<F> {
    let (Some(all), Some(&rows)) = (t.as_slice(), t.shape().first()) else {
        return t.index_select(0, idx);
    };
    let width = all.len().checked_div(rows).unwrap_or(0);
    let mut out = Vec::with_capacity(idx.len() * width);
    for &i in idx {
        out.extend_from_slice(&all[i * width..(i + 1) * width]);
    }
    let mut shape = t.shape().to_vec();
    shape[0] = idx.len();
    Tensor::from_vec(out, &shape).expect("whole rows fill the batch's shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_rows_matches_index_select_for_every_layout() {
        let x = Tensor::<f32>::from_vec((0..24).map(|i| i as f32).collect(), &[4, 3, 2]).unwrap();
        let idx = [3, 0, 2, 0];
        assert_eq!(take_rows(&x, &idx), x.index_select(0, &idx));
        let strided = x.swap_axes(1, 2);
        assert_eq!(take_rows(&strided, &idx), strided.index_select(0, &idx));
        let empty = Tensor::<f32>::zeros(&[0, 3]);
        assert_eq!(take_rows(&empty, &[]).shape(), &[0, 3]);
    }
}
