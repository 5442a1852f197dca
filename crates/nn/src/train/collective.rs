//! The engine-neutral hook of data-parallel training: what workers exchange between backward and the
//! optimizer step ([`Collective`]), and the fixed-order gradient sum built on it
//! ([`all_reduce_gradients`]). An engine such as MPI (`wengert::dist`, facade feature `mpi`) implements
//! [`Collective`]; nothing here links one.
//!
//! **Order of the sum.** Every rank gathers every rank's gradients (an all-gather, in buckets) and adds
//! them itself in rank order 0, 1, …, N−1, each weighted by its rows, exactly as a
//! [`GradAccumulator`] adds N micro-batches in one process, then divides by the total rows. An
//! all-reduce of the engine (`MPI_Allreduce`) would pick its own association by message size and
//! topology, so the bits would depend on the library and the world size; with the gather the order is
//! fixed by the rank numbers alone, and every rank computes the same bits as a single process summing
//! the same micro-batches. The price is N times the traffic of a reduce-scatter, which is small next to
//! a step for the models this framework trains on CPUs.

use std::any::Any;
use std::fmt;

use wengert_tensor::{Float, Tensor};

use crate::optim::GradAccumulator;
use crate::param::{GradientsParam, Param};

/// PyTorch DDP's default bucket size: 25 MiB of gradients per exchange.
pub const DEFAULT_BUCKET_BYTES: usize = 25 << 20;

/// A failed exchange between workers, naming the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectiveError {
    /// The operation: `all_gather`, `broadcast`, `fit`, ...
    pub op: String,
    /// What went wrong.
    pub message: String,
}

impl CollectiveError {
    /// An error of `op`.
    pub fn new(op: impl Into<String>, message: impl Into<String>) -> Self {
        CollectiveError { op: op.into(), message: message.into() }
    }
}

impl fmt::Display for CollectiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.message)
    }
}

impl std::error::Error for CollectiveError {}

/// The workers of a data-parallel run, as `fit` and [`all_reduce_gradients`] see them: a rank, a world
/// size and two exchanges. Every rank must call the exchanges in the same order with the same lengths.
///
/// A single process is a world of one ([`SingleProcess`]); `wengert::dist::World` is one over MPI.
///
/// ```
/// use wengert::nn::train::{Collective, SingleProcess};
/// let world = SingleProcess;
/// assert_eq!((world.rank(), world.size(), world.is_leader()), (0, 1, true));
/// assert_eq!(world.all_gather_f64(&[1.5, 2.5])?, [1.5, 2.5]);
/// # Ok::<(), wengert::nn::train::CollectiveError>(())
/// ```
pub trait Collective {
    /// This worker's rank, from 0.
    fn rank(&self) -> usize;

    /// The number of workers.
    fn size(&self) -> usize;

    /// True on the worker that prints progress and writes files: rank 0.
    fn is_leader(&self) -> bool {
        self.rank() == 0
    }

    /// Bytes of gradients per exchange (default [`DEFAULT_BUCKET_BYTES`]).
    fn bucket_bytes(&self) -> usize {
        DEFAULT_BUCKET_BYTES
    }

    /// Every rank's `local` (the same length on every rank), concatenated in rank order, on every rank.
    ///
    /// # Errors
    ///
    /// When the engine fails.
    fn all_gather_f32(&self, local: &[f32]) -> Result<Vec<f32>, CollectiveError>;

    /// [`all_gather_f32`](Self::all_gather_f32) for `f64`.
    ///
    /// # Errors
    ///
    /// When the engine fails.
    fn all_gather_f64(&self, local: &[f64]) -> Result<Vec<f64>, CollectiveError>;

    /// Replaces `bytes` on every rank by rank 0's (whatever their lengths).
    ///
    /// # Errors
    ///
    /// When the engine fails.
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) -> Result<(), CollectiveError>;
}

impl<C: Collective + ?Sized> Collective for &C {
    fn rank(&self) -> usize {
        (**self).rank()
    }
    fn size(&self) -> usize {
        (**self).size()
    }
    fn is_leader(&self) -> bool {
        (**self).is_leader()
    }
    fn bucket_bytes(&self) -> usize {
        (**self).bucket_bytes()
    }
    fn all_gather_f32(&self, local: &[f32]) -> Result<Vec<f32>, CollectiveError> {
        (**self).all_gather_f32(local)
    }
    fn all_gather_f64(&self, local: &[f64]) -> Result<Vec<f64>, CollectiveError> {
        (**self).all_gather_f64(local)
    }
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) -> Result<(), CollectiveError> {
        (**self).broadcast_bytes(bytes)
    }
}

/// A world of one worker: every exchange returns the input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn all_gather_f32(&self, local: &[f32]) -> Result<Vec<f32>, CollectiveError> {
        Ok(local.to_vec())
    }
    fn all_gather_f64(&self, local: &[f64]) -> Result<Vec<f64>, CollectiveError> {
        Ok(local.to_vec())
    }
    fn broadcast_bytes(&self, _bytes: &mut Vec<u8>) -> Result<(), CollectiveError> {
        Ok(())
    }
}

/// Every rank's `local` of element type `F`, concatenated in rank order.
///
/// # Errors
///
/// When the engine fails.
pub fn all_gather<F: Float>(c: &dyn Collective, local: Vec<F>) -> Result<Vec<F>, CollectiveError> {
    let boxed: Box<dyn Any> = Box::new(local);
    let gathered: Box<dyn Any> = match boxed.downcast::<Vec<f32>>() {
        Ok(v) => Box::new(c.all_gather_f32(&v)?),
        Err(other) => match other.downcast::<Vec<f64>>() {
            Ok(v) => Box::new(c.all_gather_f64(&v)?),
            Err(_) => {
                return Err(CollectiveError::new("all_gather", "the element type is neither f32 nor f64"));
            }
        },
    };
    gathered
        .downcast::<Vec<F>>()
        .map(|v| *v)
        .map_err(|_| CollectiveError::new("all_gather", "the engine returned another element type"))
}

/// One rank's figures of a batch, as every rank learns them before the gradients travel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankBatch {
    /// The rows of its batch.
    pub rows: usize,
    /// Its loss (a mean over its rows).
    pub loss: f64,
}

/// What a message between ranks announces, so that ranks out of step fail instead of mixing data.
const KIND_BATCH: f64 = 1.0;
/// The message at an epoch's end in `fit`.
pub(crate) const KIND_EPOCH: f64 = 2.0;

/// Exchanges a fixed-length control message `[kind, a, b, payload…]` (payload padded to `len`) and
/// checks that every rank sent the same kind. Returns the messages by rank, without the kind.
pub(crate) fn exchange(
    c: &dyn Collective,
    kind: f64,
    head: [f64; 2],
    payload: &[f64],
    len: usize,
) -> Result<Vec<Vec<f64>>, CollectiveError> {
    let mut msg = vec![0.0; 3 + len];
    (msg[0], msg[1], msg[2]) = (kind, head[0], head[1]);
    msg[3..3 + payload.len()].copy_from_slice(payload);
    let all = c.all_gather_f64(&msg)?;
    let per_rank: Vec<&[f64]> = all.chunks(3 + len).collect();
    if let Some(r) = per_rank.iter().position(|m| m[0] != kind) {
        let what = |k: f64| if k == KIND_BATCH { "a batch" } else { "the end of an epoch" };
        return Err(CollectiveError::new(
            "fit",
            format!(
                "rank {} reached {} while rank {} reached {}: every rank must see the same number of \
                 batches per epoch (shard the data with DataLoader::shard or fit's own sharding)",
                c.rank(),
                what(kind),
                r,
                what(per_rank[r][0]),
            ),
        ));
    }
    Ok(per_rank.into_iter().map(|m| m[1..].to_vec()).collect())
}

/// Every rank's rows and loss for this batch, in rank order (the first of two exchanges of a step;
/// [`gather_gradients`] is the second).
///
/// # Errors
///
/// When the engine fails or the ranks are out of step.
pub fn exchange_batch<F: Float>(
    c: &dyn Collective,
    params: &[Param<F>],
    grads: &dyn GradientsParam<F>,
    batch: RankBatch,
) -> Result<(Vec<RankBatch>, Vec<Vec<bool>>), CollectiveError> {
    exchange_batch_padded(c, params, grads, batch, params.len())
}

/// [`exchange_batch`] with a message of `len ≥ params.len()` figures, as long as `fit`'s other messages.
pub(crate) fn exchange_batch_padded<F: Float>(
    c: &dyn Collective,
    params: &[Param<F>],
    grads: &dyn GradientsParam<F>,
    batch: RankBatch,
    len: usize,
) -> Result<(Vec<RankBatch>, Vec<Vec<bool>>), CollectiveError> {
    let present: Vec<f64> = params.iter().map(|p| f64::from(u8::from(grads.param(p).is_some()))).collect();
    let msgs = exchange(c, KIND_BATCH, [batch.rows as f64, batch.loss], &present, len.max(params.len()))?;
    let batches = msgs.iter().map(|m| RankBatch { rows: m[0] as usize, loss: m[1] }).collect();
    let flags = msgs.iter().map(|m| m[2..2 + params.len()].iter().map(|&f| f == 1.0).collect()).collect();
    Ok((batches, flags))
}

/// Every rank's gradients of `params` gathered (in buckets of [`Collective::bucket_bytes`]) and added
/// to `acc` in rank order, rank `r`'s weighted by `batches[r].rows`: exactly what
/// `acc.add(&g_r, rows_r)` for r = 0, 1, … does in one process. `present` are the flags of
/// [`exchange_batch`].
///
/// # Errors
///
/// When the engine fails.
///
/// # Panics
///
/// When a gradient's shape differs from its parameter's.
pub fn gather_gradients<F: Float>(
    c: &dyn Collective,
    params: &[Param<F>],
    grads: &dyn GradientsParam<F>,
    batches: &[RankBatch],
    present: &[Vec<bool>],
    acc: &mut GradAccumulator<F>,
) -> Result<(), CollectiveError> {
    let shapes: Vec<Vec<usize>> = params.iter().map(|p| p.value().shape().to_vec()).collect();
    let sizes: Vec<usize> = shapes.iter().map(|s| s.iter().product()).collect();
    let total: usize = sizes.iter().sum();
    let mut flat = Vec::with_capacity(total);
    for (p, &n) in params.iter().zip(&sizes) {
        match grads.param(p) {
            Some(g) => {
                assert_eq!(
                    g.len(),
                    n,
                    "all_reduce_gradients: the gradient of `{}` has the wrong size",
                    p.name()
                );
                flat.extend(g.to_vec());
            }
            None => flat.extend(std::iter::repeat_n(F::zero(), n)),
        }
    }
    let bucket = (c.bucket_bytes() / std::mem::size_of::<F>()).max(1);
    let world = batches.len();
    let mut by_rank: Vec<Vec<F>> = vec![Vec::with_capacity(total); world];
    for chunk in flat.chunks(bucket) {
        let all = all_gather(c, chunk.to_vec())?;
        for (r, part) in all.chunks(chunk.len()).enumerate() {
            by_rank[r].extend_from_slice(part);
        }
    }
    for (r, values) in by_rank.into_iter().enumerate() {
        let mut tensors = Vec::new();
        let mut at = 0;
        for ((p, shape), &n) in params.iter().zip(&shapes).zip(&sizes) {
            if present[r][tensors.len()] {
                let t = Tensor::from_vec(values[at..at + n].to_vec(), shape).expect("the sizes match");
                tensors.push((p.id(), Some(t)));
            } else {
                tensors.push((p.id(), None));
            }
            at += n;
        }
        acc.add(&RankGradients(tensors), batches[r].rows as f64);
    }
    Ok(())
}

/// One rank's gathered gradients, by parameter id.
struct RankGradients<F: Float>(Vec<(u64, Option<Tensor<F>>)>);

impl<F: Float> GradientsParam<F> for RankGradients<F> {
    fn param(&self, p: &Param<F>) -> Option<&Tensor<F>> {
        self.0.iter().find(|(id, _)| *id == p.id()).and_then(|(_, t)| t.as_ref())
    }
}

/// Averages the gradients of a data-parallel step over all ranks, for an explicit training loop.
///
/// Adds every rank's gradients to `acc` in rank order, each weighted by its batch's rows (see
/// [`gather_gradients`]), and returns the total rows; divide with `acc.scale(1.0 / total as f64)` after
/// the last micro-batch and step with [`Optimizer::step_with`](crate::optim::Optimizer::step_with).
/// The result has the bits a single process gets by adding the same micro-batches to a
/// [`GradAccumulator`] in rank order.
///
/// ```
/// use wengert::nn::optim::{GradAccumulator, Optimizer, Sgd};
/// use wengert::nn::train::{SingleProcess, all_reduce_gradients};
/// use wengert::nn::{Param, TapeParam};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let w = Param::new("w", Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap());
/// let mut opt = Sgd::new(vec![w.clone()], 0.5);
/// let mut acc = GradAccumulator::new(vec![w.clone()]);
/// let tape = Tape::new();
/// let loss = (tape.param(&w) * 3.0).sum();
/// let rows = all_reduce_gradients(&SingleProcess, opt.params(), &loss.backward(), 4, loss.value().item(), &mut acc)?;
/// acc.scale(1.0 / rows as f64);
/// opt.step_with(&acc).unwrap();
/// assert_eq!(w.value().item(), 1.0 - 0.5 * 3.0);
/// # Ok::<(), wengert::nn::train::CollectiveError>(())
/// ```
///
/// # Errors
///
/// When the engine fails, or another rank is at a different point of its loop.
///
/// # Panics
///
/// When a gradient's shape differs from its parameter's.
pub fn all_reduce_gradients<F: Float>(
    c: &dyn Collective,
    params: &[Param<F>],
    grads: &dyn GradientsParam<F>,
    rows: usize,
    loss: f64,
    acc: &mut GradAccumulator<F>,
) -> Result<usize, CollectiveError> {
    let (batches, present) = exchange_batch(c, params, grads, RankBatch { rows, loss })?;
    gather_gradients(c, params, grads, &batches, &present, acc)?;
    Ok(batches.iter().map(|b| b.rows).sum())
}

/// The rows-weighted mean of the ranks' losses, summed in rank order.
pub fn mean_loss(batches: &[RankBatch]) -> f64 {
    let rows: usize = batches.iter().map(|b| b.rows).sum();
    let sum = batches.iter().fold(0.0, |s, b| s + b.loss * b.rows as f64);
    sum / rows.max(1) as f64
}

#[cfg(test)]
mod tests;
