//! `fit` on the workers of a data-parallel run: the figures and gradients of every batch shared through
//! a [`Collective`] before the step, and the epoch's metrics averaged over the ranks.

use wengert_tensor::{Float, Tensor};

use wengert_tape::Var;

use super::batches::Model;
use super::collective::{self, Collective, KIND_EPOCH, RankBatch};
use super::{Metric, TrainError, Trainer};
use crate::optim::GradAccumulator;
use crate::optim::Optimizer;
use crate::param::{GradientsParam, Param};
use crate::store::ParamStore;

impl<'m, F, M, O, L> Trainer<'m, F, M, O, L>
where
    F: Float,
    M: Model<F>,
    O: Optimizer<F>,
    L: for<'t> Fn(Var<'t, F>, Var<'t, F>) -> Var<'t, F>,
{
    /// Trains as one worker of a data-parallel run (PyTorch's `DistributedDataParallel`): `fit` shards
    /// every epoch's shuffle over the workers, averages every step's gradients over them (in rank
    /// order, see [`all_reduce_gradients`](super::all_reduce_gradients)), reports the loss and metrics of all of them, and only the
    /// leader (rank 0) prints progress and lets callbacks write files. Start every worker from the same
    /// weights and generator (`wengert::dist::sync_store`). [`fit_batches`](Self::fit_batches)
    /// leaves sharding to its source ([`DataLoader::shard`](crate::data::DataLoader::shard)).
    ///
    /// ```
    /// use wengert::nn::optim::Sgd;
    /// use wengert::nn::train::{FitOptions, SingleProcess, Trainer, Verbosity};
    /// use wengert::nn::{Linear, ParamStore, loss};
    /// use wengert::tensor::Tensor;
    /// let (x, y) = (Tensor::<f32>::ones(&[4, 2]), Tensor::<f32>::ones(&[4, 1]));
    /// let store = ParamStore::new(0);
    /// let model = Linear::new(&store.root(), 2, 1);
    /// let mut trainer = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), |p, t| loss::mse(p, t))
    ///     .distributed(SingleProcess); // a `&wengert::dist::World` under mpirun
    /// let opts = FitOptions { epochs: 2, verbosity: Verbosity::Quiet, ..FitOptions::default() };
    /// assert_eq!(trainer.fit(&x, &y, &opts).unwrap().epochs.len(), 2);
    /// ```
    pub fn distributed(mut self, workers: impl Collective + 'm) -> Self {
        self.workers = Some(Box::new(workers));
        self
    }

    /// The workers of a distributed run of more than one.
    pub(super) fn workers(&self) -> Option<&(dyn Collective + 'm)> {
        self.workers.as_deref().filter(|c| c.size() > 1)
    }
}

/// Every rank's rows, loss and gradient flags of the current batch.
pub(super) struct Shared {
    batches: Vec<RankBatch>,
    present: Vec<Vec<bool>>,
}

impl Shared {
    /// The rows of the global batch.
    pub(super) fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.rows).sum()
    }

    /// The loss of the global batch: the rows-weighted mean of the ranks' losses.
    pub(super) fn loss(&self) -> f64 {
        collective::mean_loss(&self.batches)
    }
}

/// The length of every control message of a `fit`: the same for batches and epochs, so that ranks out
/// of step exchange messages of equal size and find out.
fn message_len<F: Float>(params: &[Param<F>], metrics: &[Metric]) -> usize {
    params.len().max(metrics.len())
}

/// Shares this rank's rows, loss and which parameters have gradients with every rank.
pub(super) fn share<F: Float>(
    c: &dyn Collective,
    params: &[Param<F>],
    metrics: &[Metric],
    grads: &dyn GradientsParam<F>,
    rows: usize,
    loss: f64,
) -> Result<Shared, TrainError> {
    let len = message_len(params, metrics);
    let (batches, present) =
        collective::exchange_batch_padded(c, params, grads, RankBatch { rows, loss }, len)?;
    Ok(Shared { batches, present })
}

/// Adds every rank's gradients to `acc` in rank order (see [`collective::gather_gradients`]).
pub(super) fn gather<F: Float>(
    c: &dyn Collective,
    shared: &Shared,
    params: &[Param<F>],
    grads: &dyn GradientsParam<F>,
    acc: &mut GradAccumulator<F>,
) -> Result<(), TrainError> {
    Ok(collective::gather_gradients(c, params, grads, &shared.batches, &shared.present, acc)?)
}

/// The epoch's metrics over all ranks: each rank's weighted by its rows (root mean squares by their
/// squares), summed in rank order.
pub(super) fn epoch_metrics<F: Float>(
    c: &dyn Collective,
    params: &[Param<F>],
    metrics: &[Metric],
    local: Vec<(String, f64)>,
    preds: &[(Tensor<F>, Tensor<F>)],
) -> Result<Vec<(String, f64)>, TrainError> {
    let rows: usize = preds.iter().map(|(p, _)| p.shape().first().copied().unwrap_or(1)).sum();
    let values: Vec<f64> = metrics
        .iter()
        .map(|m| {
            let v = local.iter().find(|(n, _)| n == m.name()).map_or(0.0, |&(_, v)| v);
            if *m == Metric::Rmse { v * v } else { v }
        })
        .collect();
    let msgs =
        collective::exchange(c, KIND_EPOCH, [rows as f64, 0.0], &values, message_len(params, metrics))?;
    let total: f64 = msgs.iter().map(|m| m[0]).sum();
    if total == 0.0 {
        return Ok(Vec::new());
    }
    Ok(metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mean = msgs.iter().fold(0.0, |s, msg| s + msg[2 + i] * msg[0]) / total;
            (m.name().to_string(), if *m == Metric::Rmse { mean.sqrt() } else { mean })
        })
        .collect())
}

/// Sends rank 0's buffers (batch-norm running statistics, which every rank updates from its own
/// shard) to all ranks, as PyTorch DDP's `broadcast_buffers`, so that evaluation and prediction give
/// the same answer everywhere.
pub(super) fn sync_buffers<F: Float>(c: &dyn Collective, store: &ParamStore<F>) -> Result<(), TrainError> {
    let buffers = store.buffers();
    if buffers.is_empty() {
        return Ok(());
    }
    let fail = |m: String| TrainError::Collective(collective::CollectiveError::new("broadcast buffers", m));
    let config = bincode::config::standard();
    let values: Vec<Tensor<F>> = buffers.iter().map(Param::value).collect();
    let mut bytes = if c.is_leader() {
        bincode::serde::encode_to_vec(&values, config).map_err(|e| fail(e.to_string()))?
    } else {
        Vec::new()
    };
    c.broadcast_bytes(&mut bytes)?;
    let (leader, _): (Vec<Tensor<F>>, usize) =
        bincode::serde::decode_from_slice(&bytes, config).map_err(|e| fail(e.to_string()))?;
    if leader.len() != buffers.len() {
        return Err(fail(format!(
            "rank 0 has {} buffers, rank {} has {}",
            leader.len(),
            c.rank(),
            buffers.len()
        )));
    }
    for (b, v) in buffers.iter().zip(leader) {
        if v.shape() != b.value().shape() {
            return Err(fail(format!(
                "`{}`: rank 0's shape {:?} differs from {:?}",
                b.name(),
                v.shape(),
                b.value().shape()
            )));
        }
        b.set(v);
    }
    Ok(())
}
