//! The explicit training loop's piece of data parallelism: one optimizer step from every rank's
//! gradients, averaged in rank order.

use wengert_nn::optim::{GradAccumulator, Optimizer};
#[cfg(doc)]
use wengert_nn::train::Trainer;
use wengert_nn::train::{Collective, RankBatch, TrainError, exchange_batch, gather_gradients, mean_loss};
use wengert_nn::{GradientsParam, Param};
use wengert_tensor::Float;

use crate::DistError;

/// Averages gradients over the workers and steps an optimizer with them, for a hand-written loop
/// (`fit` does this itself with [`Trainer::distributed`]).
///
/// ```
/// use wengert::dist::{DataParallel, Threads, sync_store};
/// use wengert::nn::optim::{Optimizer, Sgd};
/// use wengert::nn::train::Collective;
/// use wengert::nn::{Linear, Module, ParamStore, loss};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let weights = Threads::run(2, |world| {
///     let store = ParamStore::new(0);
///     let model = Linear::new(&store.root(), 2, 1);
///     sync_store(&world, &store).unwrap();
///     let mut opt = Sgd::new(store.parameters(), 0.1);
///     let mut dp = DataParallel::new(&world, opt.params());
///     // Each rank its own rows of the global batch.
///     let x = Tensor::<f32>::full(&[4, 2], 1.0 + world.rank() as f32);
///     for _step in 0..5 {
///         let tape = Tape::new();
///         let l = loss::mse(model.forward(tape.constant(x.clone())), tape.constant(Tensor::zeros(&[4, 1])));
///         let global_loss = dp.step(&mut opt, &l.backward(), 4, l.value().item() as f64).unwrap();
///         assert!(global_loss.is_finite());
///     }
///     model.weight.value().to_vec()
/// });
/// assert_eq!(weights[0], weights[1]);
/// ```
pub struct DataParallel<'c, F: Float = f32> {
    workers: &'c dyn Collective,
    params: Vec<Param<F>>,
    acc: GradAccumulator<F>,
}

impl<F: Float> std::fmt::Debug for DataParallel<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataParallel")
            .field("rank", &self.workers.rank())
            .field("size", &self.workers.size())
            .field("params", &self.params.len())
            .finish()
    }
}

impl<'c, F: Float> DataParallel<'c, F> {
    /// Averages the gradients of `params` (an optimizer's [`params`](Optimizer::params)) over `workers`.
    pub fn new(workers: &'c dyn Collective, params: &[Param<F>]) -> Self {
        DataParallel { workers, params: params.to_vec(), acc: GradAccumulator::new(params.to_vec()) }
    }

    /// Gathers every rank's gradients `grads` of a batch of `rows` rows with mean loss `loss`, adds
    /// them in rank order weighted by rows, divides by the global batch's rows and steps `optimizer`.
    /// Returns the global batch's loss. On one worker it steps with `grads` as they are, so a world of
    /// one is the single-process loop bit for bit.
    ///
    /// # Errors
    ///
    /// [`DistError::Collective`] when the exchange fails; [`DistError::Train`] when the optimizer
    /// refuses the step (non-finite gradients: then on every rank alike).
    pub fn step<O: Optimizer<F> + ?Sized>(
        &mut self,
        optimizer: &mut O,
        grads: &dyn GradientsParam<F>,
        rows: usize,
        loss: f64,
    ) -> Result<f64, DistError> {
        if self.workers.size() == 1 {
            optimizer.step_with(grads).map_err(TrainError::from)?;
            return Ok(loss);
        }
        let (batches, present) = exchange_batch(self.workers, &self.params, grads, RankBatch { rows, loss })?;
        let total: usize = batches.iter().map(|b| b.rows).sum();
        gather_gradients(self.workers, &self.params, grads, &batches, &present, &mut self.acc)?;
        self.acc.scale(1.0 / total.max(1) as f64);
        let stepped = optimizer.step_with(&self.acc);
        self.acc.clear();
        stepped.map_err(TrainError::from)?;
        Ok(mean_loss(&batches))
    }
}
