//! Keras-like training: `fit`, `evaluate` and `predict` over in-memory tensors, with batches, seeded
//! shuffling, validation data or a validation split, metrics, callbacks and a progress display.
//!
//! Beyond tensors, [`Trainer::fit_batches`] reads any [`Batches`] source (a
//! [`DataLoader`](crate::data::DataLoader), a `Vec`, [`from_fn`]) and models of several inputs
//! ([`FnModel`]). Callbacks run around every epoch and batch and reach the learning rate through a
//! [`FitContext`]; [`Trainer::with_scheduler`] steps a learning-rate schedule per epoch or per batch;
//! [`FitOptions::accumulate_steps`] sums micro-batches into one step; [`Trainer::freeze`] keeps
//! parameters fixed; [`Trainer::checkpoint`] and [`Trainer::resume`] with
//! [`FitOptions::initial_epoch`] continue a run exactly; the [`History`] serialises, writes CSV
//! ([`History::to_csv`]) and draws its curves ([`History::plot_svg`]).
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

mod batches;
mod callbacks;
mod collective;
mod error;
mod fit;
mod history;
mod inputs;
mod parallel;
mod plot;
mod progress;
mod resume;
#[cfg(test)]
mod tests;

pub use batches::{Batch, Batches, FnModel, FromFn, Model, from_fn};
pub use callbacks::{
    BestCheckpoint, Callback, Control, EarlyStopping, FitContext, Goal, LearningRateScheduler,
};
pub use collective::{
    Collective, CollectiveError, DEFAULT_BUCKET_BYTES, RankBatch, SingleProcess, all_gather,
    all_reduce_gradients, exchange_batch, gather_gradients, mean_loss,
};
pub use error::TrainError;
pub use history::{EpochLog, History};
use inputs::{
    Pair, batches_of, check_inputs, check_pair, fit_target, rows, scalar_loss, split, validation_batches,
};
pub use progress::{Verbosity, format_progress};

use wengert_tape::{Tape, Var};
use wengert_tensor::{Float, Tensor};

use crate::metrics;
use crate::module::Module;
use crate::optim::{Optimizer, Scheduler};
use crate::store::ParamStore;

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
    /// The last fraction of the training data (before shuffling), as Keras' `validation_split`; only
    /// for [`Trainer::fit`] on tensors.
    Split(f64),
    /// Separate inputs and targets.
    Data(Tensor<F>, Tensor<F>),
    /// Batches, for models with several inputs.
    Batches(Vec<Batch<F>>),
}

/// When a learning-rate [`Scheduler`] given to [`Trainer::with_scheduler`] steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    /// After every epoch, with the epoch's `val_loss` (its `loss` without validation) as the metric.
    Epoch,
    /// After every optimizer step, with the batch's loss as the metric.
    Batch,
}

/// Settings of [`Trainer::fit`]; the defaults are Keras': 1 epoch, batches of 32, shuffled.
#[derive(Debug, Clone)]
pub struct FitOptions<F: Float = f32> {
    /// The last epoch to run (Keras' `epochs`): `fit` runs the epochs `initial_epoch + 1 ..= epochs`.
    pub epochs: usize,
    /// The epochs already run, by an earlier `fit` or a run resumed from a checkpoint (Keras'
    /// `initial_epoch`; default 0).
    pub initial_epoch: usize,
    /// Rows per batch (the last batch may be smaller unless `drop_last`); [`Trainer::fit`] only.
    pub batch_size: usize,
    /// Shuffle the rows every epoch, with the store's seeded generator; [`Trainer::fit`] only.
    pub shuffle: bool,
    /// Drop a last batch smaller than `batch_size`; [`Trainer::fit`] only.
    pub drop_last: bool,
    /// Sum the gradients of this many batches (micro-batches) before one optimizer step (default 1).
    ///
    /// Micro-batch `i` of `nᵢ` rows adds its gradient weighted by `nᵢ / N`, where `N` is the rows of
    /// the micro-batches that make up the step. For a loss that is a mean over rows, `k` micro-batches
    /// of `B` rows thus step exactly as one batch of `k·B` rows would (up to rounding); for a summed
    /// loss, multiply the loss by `N` to get the summed gradient. An epoch's last step takes the
    /// micro-batches that are left, even fewer than `k`.
    pub accumulate_steps: usize,
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
/// the optimizer refuses with [`OptimError::NonFiniteGradients`](crate::optim::OptimError::NonFiniteGradients);
/// no weight has changed then).
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
            initial_epoch: 0,
            batch_size: 32,
            shuffle: true,
            drop_last: false,
            accumulate_steps: 1,
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

/// A learning-rate schedule stepped by `fit`.
struct Scheduled<'m> {
    scheduler: Box<dyn Scheduler + 'm>,
    every: Every,
}

/// A model, its parameters, an optimizer, a loss and metrics: what Keras' `compile` puts together.
///
/// The model is any [`Module`] (one input) or a [`Model`] such as [`FnModel`] (several inputs).
pub struct Trainer<'m, F, M, O, L>
where
    F: Float,
    M: Model<F>,
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
    scheduler: Option<Scheduled<'m>>,
    workers: Option<Box<dyn Collective + 'm>>,
}

impl<'m, F, M, O, L> Trainer<'m, F, M, O, L>
where
    F: Float,
    M: Model<F>,
    O: Optimizer<F>,
    L: for<'t> Fn(Var<'t, F>, Var<'t, F>) -> Var<'t, F>,
{
    /// Puts a model, its store, an optimizer and a loss `loss(prediction, target)` together.
    pub fn new(model: &'m M, store: &ParamStore<F>, optimizer: O, loss: L) -> Self {
        Trainer {
            model,
            store: store.clone(),
            optimizer,
            loss,
            metrics: Vec::new(),
            callbacks: Vec::new(),
            scheduler: None,
            workers: None,
        }
    }

    /// Adds metrics reported with the loss.
    pub fn metrics(mut self, metrics: &[Metric]) -> Self {
        self.metrics.extend_from_slice(metrics);
        self
    }

    /// Adds a callback, run around every epoch and batch.
    pub fn callback(mut self, cb: impl Callback<F> + 'm) -> Self {
        self.callbacks.push(Box::new(cb));
        self
    }

    /// Steps `scheduler` inside `fit`, after every epoch or every optimizer step, and sets the
    /// optimizer's learning rate to what it returns (PyTorch's `scheduler.step()` in the loop). `fit`
    /// starts from the scheduler's current rate; its state goes into [`Trainer::checkpoint`].
    ///
    /// ```
    /// use wengert::nn::optim::{Sgd, StepLr};
    /// use wengert::nn::train::{Every, FitOptions, Trainer, Verbosity};
    /// use wengert::nn::{Linear, ParamStore, loss};
    /// use wengert::tensor::Tensor;
    /// let (x, y) = (Tensor::<f32>::ones(&[4, 2]), Tensor::<f32>::ones(&[4, 1]));
    /// let store = ParamStore::new(0);
    /// let model = Linear::new(&store.root(), 2, 1);
    /// let mut trainer = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), |p, t| loss::mse(p, t))
    ///     .with_scheduler(StepLr::new(0.1, 2, 0.5), Every::Epoch);
    /// let opts = FitOptions { epochs: 4, verbosity: Verbosity::Quiet, ..FitOptions::default() };
    /// let history = trainer.fit(&x, &y, &opts).unwrap();
    /// assert_eq!(history.series("lr"), [0.1, 0.1, 0.05, 0.05]);
    /// ```
    pub fn with_scheduler(mut self, scheduler: impl Scheduler + 'm, every: Every) -> Self {
        self.scheduler = Some(Scheduled { scheduler: Box::new(scheduler), every });
        self
    }

    /// Freezes the parameters whose names start with `prefix` (`"encoder."`): the optimizer leaves
    /// them alone until [`unfreeze`](Self::unfreeze). Returns how many matched.
    pub fn freeze(&mut self, prefix: &str) -> usize {
        self.optimizer.freeze(prefix)
    }

    /// Undoes [`freeze`](Self::freeze) for the parameters whose names start with `prefix`.
    pub fn unfreeze(&mut self, prefix: &str) -> usize {
        self.optimizer.unfreeze(prefix)
    }

    /// Trains on inputs `x` and targets `y` (first axis: samples), in batches of
    /// [`FitOptions::batch_size`] shuffled by the store's generator.
    ///
    /// A target of shape `[N]` for a model whose output is `[N, 1]` is taken as `[N, 1]`, as Keras
    /// does (otherwise a loss such as `mse` would broadcast `[N, 1] − [N]` to `[N, N]`).
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
        let val = match val {
            Some(pair) => Some(batches_of(&pair, opts.batch_size)),
            None => validation_batches(&opts.validation)?,
        };
        let shard = self.workers().map(|c| (c.rank(), c.size()));
        let mut source = fit::InMemory::new(train, opts, self.store.clone(), shard);
        self.run(&mut source, val, opts)
    }

    /// Trains on batches from any [`Batches`] source: a [`DataLoader`](crate::data::DataLoader), a
    /// `Vec` of `(inputs, target)` pairs or of [`Batch`]es (several inputs), or [`from_fn`] over the
    /// epoch. `batch_size`, `shuffle`, `drop_last` and a validation split of [`FitOptions`] are the
    /// source's business and ignored.
    ///
    /// ```
    /// use wengert::nn::data::{DataLoader, TensorDataset};
    /// use wengert::nn::optim::Adam;
    /// use wengert::nn::train::{FitOptions, Trainer, Verbosity};
    /// use wengert::nn::{Linear, ParamStore, loss};
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec((0..16).map(|i| i as f32 / 8.0).collect(), &[8, 2]).unwrap();
    /// let y = Tensor::<f32>::from_vec((0..8).map(|i| i as f32 / 4.0).collect(), &[8]).unwrap();
    /// let mut loader = DataLoader::new(TensorDataset::new(x, y)?, 4).shuffle(7);
    /// let store = ParamStore::new(0);
    /// let model = Linear::new(&store.root(), 2, 1);
    /// let mut trainer = Trainer::new(&model, &store, Adam::new(store.parameters(), 0.05), |p, t| loss::mse(p, t));
    /// let opts = FitOptions { epochs: 200, verbosity: Verbosity::Quiet, ..FitOptions::default() };
    /// let history = trainer.fit_batches(&mut loader, &opts).unwrap(); // targets [8] taken as [8, 1]
    /// assert!(history.last().unwrap().loss < 0.01);
    /// # Ok::<(), wengert::nn::data::DataError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`fit`](Self::fit); [`TrainError::InvalidData`] for a validation split, or batches whose
    /// number of inputs the model does not take.
    pub fn fit_batches<B: Batches<F> + ?Sized>(
        &mut self,
        source: &mut B,
        opts: &FitOptions<F>,
    ) -> Result<History, TrainError> {
        let val = validation_batches(&opts.validation)?;
        self.run(source, val, opts)
    }

    /// The loss and metrics on `x`, `y` in evaluation mode, in batches of 32.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidData`] when `x` and `y` have different numbers of rows;
    /// [`TrainError::TargetShape`] when the model's output and the targets do not fit together.
    pub fn evaluate(&self, x: &Tensor<F>, y: &Tensor<F>) -> Result<Evaluation, TrainError> {
        check_pair("evaluation", x, y)?;
        self.evaluate_batches(&batches_of(&(x.clone(), y.clone()), 32))
    }

    /// The loss (averaged over rows) and metrics over `batches`, in evaluation mode.
    ///
    /// # Errors
    ///
    /// As [`evaluate`](Self::evaluate).
    pub fn evaluate_batches(&self, batches: &[Batch<F>]) -> Result<Evaluation, TrainError> {
        let was_training = self.store.is_training();
        self.store.eval();
        let result = self.evaluate_in_eval_mode(batches);
        if was_training {
            self.store.train();
        }
        result
    }

    fn evaluate_in_eval_mode(&self, batches: &[Batch<F>]) -> Result<Evaluation, TrainError> {
        let (mut loss_sum, mut rows, mut preds) = (0.0, 0usize, Vec::new());
        for b in batches {
            check_inputs(self.model, b)?;
            let tape = Tape::new();
            let (value, pred, target) = tape.no_grad(|| {
                let xs: Vec<Var<'_, F>> = b.inputs.iter().map(|x| tape.constant(x.clone())).collect();
                let pred = self.model.forward_inputs(&xs);
                let target = fit_target(&pred.value(), &b.target)?;
                let l = (self.loss)(pred, tape.constant(target.clone()));
                Ok::<_, TrainError>((scalar_loss(&l.value(), &pred.value(), &target)?, pred.value(), target))
            })?;
            loss_sum += value * b.rows() as f64;
            rows += b.rows();
            preds.push((pred, target));
        }
        Ok(Evaluation { loss: loss_sum / rows.max(1) as f64, metrics: self.batch_metrics(&preds) })
    }

    /// The model's outputs for `x`, in evaluation mode and without recording gradients.
    ///
    /// # Panics
    ///
    /// When the model does not take one input.
    pub fn predict(&self, x: &Tensor<F>) -> Tensor<F> {
        self.predict_inputs(std::slice::from_ref(x))
    }

    /// The model's outputs for several inputs, in evaluation mode and without recording gradients.
    pub fn predict_inputs(&self, inputs: &[Tensor<F>]) -> Tensor<F> {
        let was_training = self.store.is_training();
        self.store.eval();
        let tape = Tape::new();
        let out = tape.no_grad(|| {
            let xs: Vec<Var<'_, F>> = inputs.iter().map(|x| tape.constant(x.clone())).collect();
            self.model.forward_inputs(&xs).value()
        });
        if was_training {
            self.store.train();
        }
        out
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
