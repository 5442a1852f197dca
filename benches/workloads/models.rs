//! The model workloads, shared by `benches/models.rs`, `benches/transformer.rs`, `benches/compare.rs`
//! and `tests/determinism.rs`, each in f32 from fixed seeds and defined as `benches/pytorch/compare.py`
//! defines its PyTorch twin:
//!
//! - **transformer**: one training step of a pre-norm transformer encoder layer (d_model 128, 4 heads,
//!   feed-forward 512, exact GELU, dropout 0.1) on a batch of 16 sequences of 64, MSE against a random
//!   target, Adam (lr 1e-3);
//! - **cnn**: one epoch of `examples/digits.rs`'s CNN (conv 3x3 1→16, batch norm, ReLU, 2x2 max pool,
//!   conv 3x3 16→32, batch norm, ReLU, 2x2 max pool, linear 128→10) over the 1437 training images of
//!   `data/digits.csv.gz` in batches of 32 (the last one 29), softmax cross-entropy, Adam (lr 0.01);
//!   the batches are cut once, in a fixed order, so an epoch times the training alone;
//! - **gru**: one training step of a GRU from 64 to 128 features over a batch of 32 sequences of 50,
//!   MSE between the last hidden state and a random target, Adam (lr 1e-3).
//!
//! Every step is timed in three phases: forward (through the loss and reading its value), backward
//! (the gradients) and the optimizer's update.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use wengert::nn::optim::{Adam, Optimizer};
use wengert::nn::{Gru, Module, ParamStore, Sequential, TransformerEncoderLayer, loss};
use wengert::prelude::*;

// The digits example's data split and model.
#[path = "../../examples/digits.rs"]
mod digits;

/// The time of one step (or the sum over an epoch's steps) in its three phases.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    /// The forward pass through the loss, and reading the loss's value.
    pub forward: Duration,
    /// `backward`: every parameter's gradient.
    pub backward: Duration,
    /// The optimizer's update of the parameters.
    pub optimizer: Duration,
}

impl Phases {
    /// The three phases together.
    pub fn total(&self) -> Duration {
        self.forward + self.backward + self.optimizer
    }

    fn add(&mut self, other: Phases) {
        self.forward += other.forward;
        self.backward += other.backward;
        self.optimizer += other.optimizer;
    }
}

/// One training step on a fresh tape: `forward` builds the loss, then backward and `opt`'s update;
/// returns the loss and the time of each phase. Dropping the tape counts as backward.
fn timed_step(
    opt: &mut Adam<f32>,
    forward: impl for<'t> FnOnce(&'t Tape<f32>) -> Var<'t, f32>,
) -> (f32, Phases) {
    let start = Instant::now();
    let tape = Tape::new();
    let l = forward(&tape);
    let value = l.item();
    let forwarded = Instant::now();
    let grads = l.backward();
    drop(tape);
    let backwarded = Instant::now();
    opt.step(&grads).expect("every parameter gets a finite gradient");
    drop(grads);
    let updated = Instant::now();
    let phases = Phases {
        forward: forwarded - start,
        backward: backwarded - forwarded,
        optimizer: updated - backwarded,
    };
    (value, phases)
}

/// Every parameter's values as bits, in the store's order (for comparing runs bit for bit).
pub fn weight_bits(store: &ParamStore<f32>) -> Vec<Vec<u32>> {
    store.parameters().iter().map(|p| p.value().to_vec().iter().map(|v| v.to_bits()).collect()).collect()
}

/// The transformer workload's sizes: d_model, heads, sequence length, batch.
pub const TRANSFORMER: (usize, usize, usize, usize) = (128, 4, 64, 16);

/// The transformer workload: the layer, its Adam and one fixed batch and target.
#[derive(Debug)]
pub struct TransformerStep {
    /// The layer's parameters (seed 0).
    pub store: ParamStore<f32>,
    layer: TransformerEncoderLayer<f32>,
    opt: Adam<f32>,
    x: Tensor<f32>,
    target: Tensor<f32>,
}

impl TransformerStep {
    /// The layer from seed 0 with the default options (pre-norm, feed-forward 4 · d_model, exact
    /// GELU, dropout 0.1), input and target from seed 1.
    pub fn new() -> Self {
        let (d_model, heads, seq, batch) = TRANSFORMER;
        let store = ParamStore::<f32>::new(0);
        let layer = TransformerEncoderLayer::new(&store.root(), d_model, heads);
        let opt = Adam::new(store.parameters(), 1e-3);
        let mut rng = StdRng::seed_from_u64(1);
        let x = Tensor::randn(&[batch, seq, d_model], &mut rng);
        let target = Tensor::randn(&[batch, seq, d_model], &mut rng);
        TransformerStep { store, layer, opt, x, target }
    }

    /// One training step; returns the loss and the phases' times.
    pub fn step(&mut self) -> (f32, Phases) {
        let (layer, x, target) = (&self.layer, &self.x, &self.target);
        timed_step(&mut self.opt, |tape| {
            let y = layer.forward(tape.constant(x.clone()));
            loss::mse(y, tape.constant(target.clone()))
        })
    }
}

impl Default for TransformerStep {
    fn default() -> Self {
        TransformerStep::new()
    }
}

/// The GRU workload's sizes: input features, hidden features, sequence length, batch.
pub const GRU: (usize, usize, usize, usize) = (64, 128, 50, 32);

/// The GRU workload: the layer, its Adam and one fixed batch and target for the last hidden state.
#[derive(Debug)]
pub struct GruStep {
    /// The layer's parameters (seed 0).
    pub store: ParamStore<f32>,
    gru: Gru<f32>,
    opt: Adam<f32>,
    x: Tensor<f32>,
    target: Tensor<f32>,
}

impl GruStep {
    /// The GRU from seed 0 (PyTorch's uniform initialisation), input and target from seed 1.
    pub fn new() -> Self {
        let (input, hidden, seq, batch) = GRU;
        let store = ParamStore::<f32>::new(0);
        let gru = Gru::new(&store.root(), input, hidden);
        let opt = Adam::new(store.parameters(), 1e-3);
        let mut rng = StdRng::seed_from_u64(1);
        let x = Tensor::randn(&[batch, seq, input], &mut rng);
        let target = Tensor::randn(&[1, batch, hidden], &mut rng);
        GruStep { store, gru, opt, x, target }
    }

    /// One training step (MSE of the last hidden state `[1, batch, hidden]`); returns the loss and
    /// the phases' times.
    pub fn step(&mut self) -> (f32, Phases) {
        let (gru, x, target) = (&self.gru, &self.x, &self.target);
        timed_step(&mut self.opt, |tape| {
            let (_, h_n) = gru.forward_seq(tape.constant(x.clone()), None);
            loss::mse(h_n, tape.constant(target.clone()))
        })
    }
}

impl Default for GruStep {
    fn default() -> Self {
        GruStep::new()
    }
}

/// The digits data the repository ships, found from this package's manifest (the workspace root's
/// `data/`, whether this file is compiled into the root package or into `benches/`).
pub fn digits_path() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let here = dir.join("data/digits.csv.gz");
    if here.exists() { here } else { dir.join("../data/digits.csv.gz") }
}

/// The batch size of the digits CNN's epoch (as `examples/digits.rs` trains it).
pub const CNN_BATCH: usize = 32;

/// The digits CNN workload: `examples/digits.rs`'s model, its Adam and the training split cut into
/// batches.
#[derive(Debug)]
pub struct CnnEpoch {
    /// The model's parameters (seed 0).
    pub store: ParamStore<f32>,
    model: Sequential<f32>,
    opt: Adam<f32>,
    batches: Vec<(Tensor<f32>, Tensor<f32>)>,
}

impl CnnEpoch {
    /// The model from seed 0 and the 80% training split of the digits at `path` (seed 0, as the
    /// example splits it), in batches of [`CNN_BATCH`].
    ///
    /// # Errors
    ///
    /// When the digits file is absent or malformed.
    pub fn new(path: &Path) -> Result<Self, Box<dyn Error>> {
        let (train, _) = digits::split(path, 0)?;
        let batches = (0..train.len())
            .step_by(CNN_BATCH)
            .map(|start| {
                let len = CNN_BATCH.min(train.len() - start);
                (train.inputs().narrow(0, start, len), train.targets().narrow(0, start, len))
            })
            .collect();
        let store = ParamStore::new(0);
        let model = digits::model(&store);
        let opt = Adam::new(store.parameters(), 0.01);
        Ok(CnnEpoch { store, model, opt, batches })
    }

    /// The training images of an epoch.
    pub fn images(&self) -> usize {
        self.batches.iter().map(|(x, _)| x.shape()[0]).sum()
    }

    /// One epoch: a training step per batch, in order; returns the mean of the batches' losses and
    /// the phases' times summed over the epoch.
    pub fn epoch(&mut self) -> (f32, Phases) {
        let mut total = Phases::default();
        let mut loss_sum = 0.0;
        for (x, y) in &self.batches {
            let model = &self.model;
            let (value, phases) = timed_step(&mut self.opt, |tape| {
                loss::sparse_cross_entropy(model.forward(tape.constant(x.clone())), tape.constant(y.clone()))
            });
            loss_sum += value;
            total.add(phases);
        }
        (loss_sum / self.batches.len() as f32, total)
    }
}
