//! The training loop behind `fit` and `fit_batches`: epochs of batches, callbacks and their context,
//! the scheduler, gradient accumulation, non-finite losses and gradients, and the progress display.

use rand::seq::SliceRandom;
use wengert_tape::{Gradients, Tape, Var};
use wengert_tensor::{Float, Tensor};

use super::batches::{Batch, Batches, Model};
use super::callbacks::{Callback, Control, FitContext};
use super::progress::Progress;
use super::{
    EpochLog, Every, FitOptions, History, NonFinite, Pair, TrainError, Trainer, check_inputs, fit_target,
    parallel, rows, scalar_loss,
};
use crate::optim::{GradAccumulator, OptimError, Optimizer, StepReport};
use crate::store::ParamStore;

/// In-memory tensors as a source of batches, shuffled each epoch by the store's generator.
pub(super) struct InMemory<F: Float> {
    pair: Pair<F>,
    batch_size: usize,
    shuffle: bool,
    drop_last: bool,
    store: ParamStore<F>,
    shard: Option<(usize, usize)>,
}

impl<F: Float> InMemory<F> {
    pub(super) fn new(
        pair: Pair<F>,
        opts: &FitOptions<F>,
        store: ParamStore<F>,
        shard: Option<(usize, usize)>,
    ) -> Self {
        InMemory {
            pair,
            batch_size: opts.batch_size,
            shuffle: opts.shuffle,
            drop_last: opts.drop_last,
            store,
            shard,
        }
    }

    fn rows(&self) -> usize {
        self.pair.0.shape()[0]
    }
}

impl<F: Float> Batches<F> for InMemory<F> {
    fn epoch(&mut self, _epoch: usize) -> Box<dyn Iterator<Item = Batch<F>> + '_> {
        let n = self.rows();
        // A fresh permutation of 0..n each epoch, so that the store's generator alone (saved in a
        // checkpoint) fixes the order of every later epoch.
        let mut order: Vec<usize> = (0..n).collect();
        if self.shuffle {
            self.store.with_rng(|rng| order.shuffle(rng));
        }
        let (size, drop_last) = (self.batch_size, self.drop_last);
        if let Some((rank, world)) = self.shard {
            order = crate::data::shard_order(&order, size, rank, world, drop_last);
        }
        let chunks: Vec<Vec<usize>> =
            order.chunks(size).filter(|c| !drop_last || c.len() == size).map(<[usize]>::to_vec).collect();
        Box::new(chunks.into_iter().map(move |idx| Batch::from(rows(&self.pair, &idx, n))))
    }

    fn len_hint(&self) -> Option<usize> {
        let n = self.rows();
        if let Some((_, world)) = self.shard {
            return Some(crate::data::shard_batches(n, self.batch_size, world, self.drop_last));
        }
        Some(if self.drop_last { n / self.batch_size } else { n.div_ceil(self.batch_size) })
    }
}

/// Where the loop is, for the callbacks' context.
#[derive(Clone, Copy)]
struct Pos {
    epoch: usize,
    epochs: usize,
    batch: usize,
    batches: Option<usize>,
    steps: u64,
    leader: bool,
}

/// Calls `hook` on every callback with a context over `optimizer` and `store`; collects the results.
fn each<'m, F: Float, R>(
    callbacks: &mut [Box<dyn Callback<F> + 'm>],
    optimizer: &mut dyn Optimizer<F>,
    store: &ParamStore<F>,
    pos: Pos,
    mut hook: impl FnMut(&mut (dyn Callback<F> + 'm), &mut FitContext<'_, F>) -> Result<R, String>,
) -> Result<Vec<R>, TrainError> {
    let mut ctx = FitContext::new(optimizer, store, pos.epochs);
    (ctx.epoch, ctx.batch, ctx.batches, ctx.steps) = (pos.epoch, pos.batch, pos.batches, pos.steps);
    ctx.leader = pos.leader;
    callbacks.iter_mut().map(|cb| hook(&mut **cb, &mut ctx).map_err(TrainError::Callback)).collect()
}

/// One batch's loss, gradients and (for the metrics) prediction and target.
struct Pass<F: Float> {
    loss: f64,
    grads: Gradients<F>,
    pred: Tensor<F>,
    target: Tensor<F>,
}

impl<'m, F, M, O, L> Trainer<'m, F, M, O, L>
where
    F: Float,
    M: Model<F>,
    O: Optimizer<F>,
    L: for<'t> Fn(Var<'t, F>, Var<'t, F>) -> Var<'t, F>,
{
    /// The forward and backward pass of one batch on a fresh tape (dropped before the step, so the
    /// optimizer updates the parameters in place).
    fn pass(&self, b: &Batch<F>) -> Result<Pass<F>, TrainError> {
        check_inputs(self.model, b)?;
        let tape = Tape::new();
        let xs: Vec<Var<'_, F>> = b.inputs.iter().map(|x| tape.constant(x.clone())).collect();
        let pred = self.model.forward_inputs(&xs);
        let target = fit_target(&pred.value(), &b.target)?;
        let l = (self.loss)(pred, tape.constant(target.clone()));
        let loss = scalar_loss(&l.value(), &pred.value(), &target)?;
        Ok(Pass { loss, grads: l.backward(), pred: pred.value(), target })
    }

    pub(super) fn run<B: Batches<F> + ?Sized>(
        &mut self,
        source: &mut B,
        val: Option<Vec<Batch<F>>>,
        opts: &FitOptions<F>,
    ) -> Result<History, TrainError> {
        if opts.accumulate_steps == 0 {
            return Err(TrainError::InvalidData("accumulate_steps must be at least 1".into()));
        }
        let leader = self.workers().is_none_or(|c| c.is_leader());
        let verbosity = if leader { opts.verbosity } else { super::Verbosity::Quiet };
        let mut progress = Progress::new(verbosity, opts.epochs, opts.log_every);
        let result = self.epochs(source, val.as_deref(), opts, &mut progress);
        progress.finish();
        self.store.eval();
        result
    }

    fn epochs<B: Batches<F> + ?Sized>(
        &mut self,
        source: &mut B,
        val: Option<&[Batch<F>]>,
        opts: &FitOptions<F>,
        progress: &mut Progress,
    ) -> Result<History, TrainError> {
        let mut history = History::default();
        let leader = self.workers().is_none_or(|c| c.is_leader());
        let mut pos =
            Pos { epoch: opts.initial_epoch, epochs: opts.epochs, batch: 0, batches: None, steps: 0, leader };
        let world = self.workers().map_or(1, |c| c.size());
        if let Some(s) = &self.scheduler {
            self.optimizer.set_lr(s.scheduler.lr());
        }
        each(&mut self.callbacks, &mut self.optimizer, &self.store, pos, |cb, ctx| cb.on_train_begin(ctx))?;
        let skip = opts.on_nonfinite == NonFinite::SkipBatch;
        for epoch in opts.initial_epoch + 1..=opts.epochs {
            self.store.train();
            (pos.epoch, pos.batch, pos.batches) = (epoch, 0, source.len_hint());
            each(&mut self.callbacks, &mut self.optimizer, &self.store, pos, |cb, ctx| {
                cb.on_epoch_begin(ctx)
            })?;
            progress.epoch_begin(epoch, pos.batches);
            let (mut loss_sum, mut seen, mut stop) = (0.0, 0usize, false);
            let mut preds = Vec::new();
            let mut acc = GradAccumulator::new(self.optimizer.params().to_vec());
            let mut acc_rows = 0usize;
            let mut step_lr = None;
            let mut last_loss = f64::NAN;
            for (index, b) in source.epoch(epoch).enumerate() {
                pos.batch = index + 1;
                each(&mut self.callbacks, &mut self.optimizer, &self.store, pos, |cb, ctx| {
                    cb.on_batch_begin(ctx)
                })?;
                let mut pass = self.pass(&b)?;
                let mut rows = b.rows();
                let shared = match self.workers() {
                    Some(c) => Some(parallel::share(
                        c,
                        self.optimizer.params(),
                        &self.metrics,
                        &pass.grads,
                        rows,
                        pass.loss,
                    )?),
                    None => None,
                };
                if let Some(s) = &shared {
                    (rows, pass.loss) = (s.rows(), s.loss());
                }
                if !pass.loss.is_finite() {
                    if !skip {
                        return Err(TrainError::NonFiniteLoss { epoch });
                    }
                    history.skipped_batches.push((epoch, index + 1));
                    continue;
                }
                last_loss = pass.loss;
                let lr_now = self.optimizer.lr();
                let stepped = if opts.accumulate_steps == 1 && shared.is_none() {
                    Some(self.optimizer.step(&pass.grads))
                } else {
                    match (self.workers(), &shared) {
                        (Some(c), Some(s)) => {
                            parallel::gather(c, s, self.optimizer.params(), &pass.grads, &mut acc)?
                        }
                        _ => acc.add(&pass.grads, rows as f64),
                    }
                    acc_rows += rows;
                    (acc.micro_batches() == opts.accumulate_steps * world)
                        .then(|| self.step_accumulated(&mut acc, &mut acc_rows))
                };
                if let Some(r) = stepped {
                    step_lr = Some(lr_now);
                    self.after_step(r, &mut history, (epoch, index + 1), skip, pass.loss, &mut pos)?;
                }
                loss_sum += pass.loss * rows as f64;
                seen += rows;
                if !self.metrics.is_empty() {
                    preds.push((pass.pred, pass.target));
                }
                progress.batch(index + 1, loss_sum / seen.max(1) as f64);
                let controls =
                    each(&mut self.callbacks, &mut self.optimizer, &self.store, pos, |cb, ctx| {
                        cb.on_batch_end(ctx, pass.loss)
                    })?;
                if controls.contains(&Control::Stop) {
                    stop = true;
                    break;
                }
            }
            if !acc.is_empty() {
                // The micro-batches left at the epoch's end (or at a stop) make one last, smaller step.
                let lr_now = self.optimizer.lr();
                let r = self.step_accumulated(&mut acc, &mut acc_rows);
                step_lr = Some(lr_now);
                self.after_step(r, &mut history, (epoch, pos.batch), skip, last_loss, &mut pos)?;
            }
            let mut metrics = self.batch_metrics(&preds);
            if let Some(c) = self.workers() {
                metrics =
                    parallel::epoch_metrics(c, self.optimizer.params(), &self.metrics, metrics, &preds)?;
                parallel::sync_buffers(c, &self.store)?;
            }
            let (val_loss, val_metrics) = match val {
                Some(v) => {
                    let e = self.evaluate_batches(v)?;
                    (Some(e.loss), e.metrics)
                }
                None => (None, Vec::new()),
            };
            let lr = step_lr.unwrap_or_else(|| self.optimizer.lr());
            let log =
                EpochLog { epoch, loss: loss_sum / seen.max(1) as f64, metrics, val_loss, val_metrics, lr };
            progress.epoch(&log, pos.batch);
            if let Some(s) = self.scheduler.as_mut().filter(|s| s.every == Every::Epoch) {
                self.optimizer.set_lr(s.scheduler.step(Some(log.val_loss.unwrap_or(log.loss))));
            }
            pos.batch = 0;
            let controls = each(&mut self.callbacks, &mut self.optimizer, &self.store, pos, |cb, ctx| {
                cb.on_epoch_end_with(&log, ctx)
            })?;
            stop |= controls.contains(&Control::Stop);
            history.epochs.push(log);
            if stop {
                history.stopped_early = true;
                break;
            }
        }
        each(&mut self.callbacks, &mut self.optimizer, &self.store, pos, |cb, ctx| {
            cb.on_train_end(ctx.store())
        })?;
        Ok(history)
    }

    /// One step from the accumulated micro-batches: their sum weighted by rows over all their rows
    /// (see [`FitOptions::accumulate_steps`]); empties the accumulator.
    fn step_accumulated(
        &mut self,
        acc: &mut GradAccumulator<F>,
        rows: &mut usize,
    ) -> Result<StepReport, OptimError> {
        acc.scale(1.0 / (*rows).max(1) as f64);
        let r = self.optimizer.step_with(&*acc);
        acc.clear();
        *rows = 0;
        r
    }

    /// Handles a step's outcome: a refused non-finite step is skipped or ends training; a batch
    /// scheduler steps after a step that went ahead.
    fn after_step(
        &mut self,
        result: Result<StepReport, OptimError>,
        history: &mut History,
        (epoch, batch): (usize, usize),
        skip: bool,
        loss: f64,
        pos: &mut Pos,
    ) -> Result<(), TrainError> {
        match result {
            Err(OptimError::NonFiniteGradients { .. }) if skip => {
                history.skipped_batches.push((epoch, batch));
                return Ok(());
            }
            Err(OptimError::NonFiniteGradients { names }) => {
                return Err(TrainError::NonFiniteGradients { epoch, batch, names });
            }
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        pos.steps += 1;
        if let Some(s) = self.scheduler.as_mut().filter(|s| s.every == Every::Batch) {
            self.optimizer.set_lr(s.scheduler.step(Some(loss)));
        }
        Ok(())
    }
}
