//! Checkpoints of a training run and resuming from them: the weights, the optimizer's, the scheduler's,
//! the store's and the data source's generator state and the epoch, so that a resumed run continues
//! exactly as an uninterrupted one.

use wengert_tape::Var;
use wengert_tensor::Float;

use super::batches::{Batches, Model};
use super::{TrainError, Trainer};
use crate::checkpoint::Checkpoint;
use crate::optim::Optimizer;

impl<'m, F, M, O, L> Trainer<'m, F, M, O, L>
where
    F: Float,
    M: Model<F>,
    O: Optimizer<F>,
    L: for<'t> Fn(Var<'t, F>, Var<'t, F>) -> Var<'t, F>,
{
    /// A checkpoint of the run after `epoch` epochs: the parameters and buffers, the optimizer's and
    /// the scheduler's state and the store's generator (which shuffles [`fit`](Self::fit)'s rows and
    /// draws dropout masks). Save it with [`Checkpoint::save`]; continue with [`resume`](Self::resume).
    pub fn checkpoint(&self, epoch: usize) -> Checkpoint<F> {
        let mut c = Checkpoint::from_store(&self.store);
        c.optimizer = Some(self.optimizer.state());
        c.scheduler = self.scheduler.as_ref().map(|s| s.scheduler.state());
        c.epoch = epoch as u64;
        c
    }

    /// [`checkpoint`](Self::checkpoint), with the generator of the data source that
    /// [`fit_batches`](Self::fit_batches) reads (a shuffling [`DataLoader`](crate::data::DataLoader)).
    pub fn checkpoint_with<B: Batches<F> + ?Sized>(&self, epoch: usize, data: &B) -> Checkpoint<F> {
        let mut c = self.checkpoint(epoch);
        c.data_rng = data.rng_state();
        c
    }

    /// Restores a run from `checkpoint`: the parameters and the store's generator, the optimizer's
    /// state and, when both have one, the scheduler's. Returns the epochs it had completed: set
    /// [`FitOptions::initial_epoch`](super::FitOptions::initial_epoch) to it and keep `epochs`, and
    /// `fit` goes on as the uninterrupted run would have.
    ///
    /// ```
    /// use wengert::nn::optim::Adam;
    /// use wengert::nn::train::{FitOptions, Trainer, Verbosity};
    /// use wengert::nn::{Linear, ParamStore, loss};
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec((0..12).map(f64::from).collect(), &[6, 2]).unwrap();
    /// let y = Tensor::<f64>::from_vec((0..6).map(f64::from).collect(), &[6, 1]).unwrap();
    /// let opts = |initial_epoch| FitOptions { epochs: 4, initial_epoch, batch_size: 2, verbosity: Verbosity::Quiet, ..FitOptions::default() };
    /// // Straight through four epochs...
    /// let store = ParamStore::<f64>::with_seed(0);
    /// let model = Linear::new(&store.root(), 2, 1);
    /// let mut a = Trainer::new(&model, &store, Adam::new(store.parameters(), 0.01), |p, t| loss::mse(p, t));
    /// a.fit(&x, &y, &opts(0)).unwrap();
    /// // ...or two, a checkpoint, and two more in a fresh trainer.
    /// let s1 = ParamStore::<f64>::with_seed(0);
    /// let m1 = Linear::new(&s1.root(), 2, 1);
    /// let mut b = Trainer::new(&m1, &s1, Adam::new(s1.parameters(), 0.01), |p, t| loss::mse(p, t));
    /// b.fit(&x, &y, &FitOptions { epochs: 2, ..opts(0) }).unwrap();
    /// let saved = b.checkpoint(2);
    /// let s2 = ParamStore::<f64>::with_seed(9);
    /// let m2 = Linear::new(&s2.root(), 2, 1);
    /// let mut c = Trainer::new(&m2, &s2, Adam::new(s2.parameters(), 0.01), |p, t| loss::mse(p, t));
    /// let done = c.resume(&saved).unwrap();
    /// c.fit(&x, &y, &opts(done)).unwrap();
    /// assert_eq!(m2.weight.value(), model.weight.value());
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrainError::Resume`], naming the file, when the checkpoint's names or shapes differ from the
    /// store's, or its optimizer or scheduler state does not fit; the store is checked before anything
    /// changes.
    pub fn resume(&mut self, checkpoint: &Checkpoint<F>) -> Result<usize, TrainError> {
        let fail = |e: &dyn std::fmt::Display| TrainError::Resume(e.to_string());
        let epoch = usize::try_from(checkpoint.epoch)
            .map_err(|_| fail(&format!("epoch {} does not fit this machine", checkpoint.epoch)))?;
        checkpoint.apply_to_store(&self.store).map_err(|e| fail(&e))?;
        if checkpoint.optimizer.is_some() {
            checkpoint.apply_to_optimizer(&mut self.optimizer).map_err(|e| fail(&e))?;
        }
        if let (Some(state), Some(s)) = (&checkpoint.scheduler, &mut self.scheduler) {
            s.scheduler.load_state(state).map_err(|e| fail(&e))?;
        }
        Ok(epoch)
    }

    /// [`resume`](Self::resume), and the generator of the data source from
    /// [`Checkpoint::data_rng`] (when saved).
    ///
    /// # Errors
    ///
    /// As [`resume`](Self::resume), and [`TrainError::Resume`] for an all-zero data generator.
    pub fn resume_with<B: Batches<F> + ?Sized>(
        &mut self,
        checkpoint: &Checkpoint<F>,
        data: &mut B,
    ) -> Result<usize, TrainError> {
        let rng = checkpoint.checked_data_rng().map_err(|e| TrainError::Resume(e.to_string()))?;
        let epoch = self.resume(checkpoint)?;
        if let Some(rng) = rng {
            data.set_rng_state(rng);
        }
        Ok(epoch)
    }
}
