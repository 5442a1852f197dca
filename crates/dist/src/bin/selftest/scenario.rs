//! The training runs the MPI tests compare: the same code runs under `mpirun` (in the self-test
//! binary) and in one process (in the tests, as the reference).

use std::cell::RefCell;
use std::rc::Rc;

use wengert_nn::checkpoint::Checkpoint;
use wengert_nn::optim::Adam;
use wengert_nn::train::{
    Callback, Collective, Control, EpochLog, FitContext, FitOptions, Metric, Trainer, Verbosity,
};
use wengert_nn::{Linear, ParamStore, Sequential, Tanh, loss};
use wengert_tensor::Tensor;

/// Rows of the data set: divisible by 8 · 1, 8 · 2 and 8 · 4.
pub const ROWS: usize = 96;

/// A regression data set of `ROWS` rows, 6 features, 3 targets, the same in every process.
pub fn data() -> (Tensor<f32>, Tensor<f32>) {
    let x: Vec<f32> = (0..ROWS * 6).map(|i| ((i * 7919 % 113) as f32 / 56.5 - 1.0) * 0.9).collect();
    let y: Vec<f32> =
        x.chunks(6).flat_map(|r| [r[0] * r[1] - r[2], (r[3] + r[4]).sin(), r[5] * 0.5]).collect();
    (Tensor::from_vec(x, &[ROWS, 6]).unwrap(), Tensor::from_vec(y, &[ROWS, 3]).unwrap())
}

/// A 6-`hidden`-3 MLP in `store`.
pub fn model(store: &ParamStore<f32>, hidden: usize) -> Sequential<f32> {
    Sequential::new(&store.root())
        .add(|p| Linear::new(p, 6, hidden))
        .add(|_| Tanh)
        .add(|p| Linear::new(p, hidden, 3))
}

/// A 64-bit fingerprint of every parameter's bits, in the store's order.
pub fn fingerprint(store: &ParamStore<f32>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in store.state_dict() {
        for v in p.value().to_vec() {
            for b in v.to_bits().to_le_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
        }
    }
    h
}

/// Records the fingerprint after every optimizer step.
struct Steps {
    seen: Rc<RefCell<Vec<u64>>>,
}

impl Callback<f32> for Steps {
    fn on_epoch_end(&mut self, _log: &EpochLog, _store: &ParamStore<f32>) -> Result<Control, String> {
        Ok(Control::Continue)
    }

    fn on_batch_end(&mut self, ctx: &mut FitContext<'_, f32>, _loss: f64) -> Result<Control, String> {
        let mut seen = self.seen.borrow_mut();
        if ctx.steps as usize > seen.len() {
            seen.push(fingerprint(ctx.store()));
        }
        Ok(Control::Continue)
    }
}

/// What a run reports: the fingerprint after every step, the final one, and the last epoch's loss.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The fingerprints after every step.
    pub steps: Vec<u64>,
    /// The last epoch's mean loss and mean absolute error.
    pub loss: f64,
    /// The last epoch's mean absolute error.
    pub mae: f64,
}

/// Trains the model with `fit` from epoch `from` to `to`, batches of `batch` rows: on the workers of
/// `world` (sharded), or in one process summing `accumulate` micro-batches per step. Starts from
/// `resume` when given; returns the outcome and the checkpoint after training (tagged with the world
/// size).
pub fn train(
    world: Option<&dyn Collective>,
    accumulate: usize,
    batch: usize,
    (from, to): (usize, usize),
    resume: Option<&Checkpoint<f32>>,
) -> Result<(Outcome, Checkpoint<f32>), Box<dyn std::error::Error>> {
    let seed = world.map_or(0, |w| w.rank() as u64 * 1000);
    let store = ParamStore::new(seed);
    let model = model(&store, 16);
    if let Some(w) = world {
        wengert_dist::sync_store(w, &store)?;
    }
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut trainer =
        Trainer::new(&model, &store, Adam::new(store.parameters(), 0.01), |p, t| loss::mse(p, t))
            .metrics(&[Metric::Mae])
            .callback(Steps { seen: seen.clone() });
    if let Some(w) = world {
        trainer = trainer.distributed(w);
    }
    if let Some(c) = resume {
        trainer.resume(c)?;
    }
    let (x, y) = data();
    let opts = FitOptions {
        epochs: to,
        initial_epoch: from,
        batch_size: batch,
        accumulate_steps: accumulate,
        verbosity: Verbosity::Quiet,
        ..FitOptions::default()
    };
    let history = trainer.fit(&x, &y, &opts)?;
    let last = history.last().ok_or("no epoch ran")?;
    let mut checkpoint = trainer.checkpoint(to);
    if let Some(w) = world {
        wengert_dist::tag_checkpoint(&mut checkpoint, w);
    }
    let steps = seen.borrow().clone();
    Ok((Outcome { steps, loss: last.loss, mae: last.get("mae").unwrap_or(f64::NAN) }, checkpoint))
}

/// One line of output: `name` and the outcome, parsed back by [`parse`].
pub fn line(rank: usize, o: &Outcome) -> String {
    let steps: Vec<String> = o.steps.iter().map(|s| format!("{s:016x}")).collect();
    format!("rank {rank} loss {} mae {} steps {}", o.loss.to_bits(), o.mae.to_bits(), steps.join(","))
}

/// The outcome of a [`line`], and its rank.
pub fn parse(line: &str) -> Option<(usize, Outcome)> {
    let w: Vec<&str> = line.split_whitespace().collect();
    if w.len() != 8 || w[0] != "rank" || w[2] != "loss" || w[4] != "mae" || w[6] != "steps" {
        return None;
    }
    let steps = w[7].split(',').map(|s| u64::from_str_radix(s, 16).ok()).collect::<Option<Vec<u64>>>()?;
    let outcome =
        Outcome { steps, loss: f64::from_bits(w[3].parse().ok()?), mae: f64::from_bits(w[5].parse().ok()?) };
    Some((w[1].parse().ok()?, outcome))
}
