//! The digits CNN of `examples/digits.rs`, trained data-parallel over MPI: every rank builds the same
//! model and split, `sync_store` makes them start equal, and `fit` with `Trainer::distributed` gives
//! each rank its shard of every epoch and averages the gradients. The global batch stays 32 rows
//! (32 / N per rank), so N ranks train as one process with batches of 32 would.
//!
//! Run (features `mpi`, Open MPI installed):
//!
//! ```text
//! cargo build --release --features mpi --example dist_digits
//! mpirun -np 2 -x RAYON_NUM_THREADS=1 target/release/examples/dist_digits [PATH]
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use wengert::dist::{World, run, sync_store};
use wengert::nn::optim::Adam;
use wengert::nn::train::{Collective, FitOptions, Metric, Trainer, Verbosity};
use wengert::nn::{ParamStore, loss};

// The digits example's data split and model (its `run` and `main` are not used here).
#[allow(dead_code)]
#[path = "digits.rs"]
mod digits;

fn train(world: &World, path: &Path, epochs: usize) -> Result<(), Box<dyn Error>> {
    let (train, test) = digits::split(path, 0)?;
    let store = ParamStore::new(0);
    let model = digits::model(&store);
    sync_store(world, &store)?;
    if world.is_leader() {
        println!("digits on {} ranks: {} training and {} test images", world.size(), train.len(), test.len());
    }
    let mut trainer =
        Trainer::new(&model, &store, Adam::new(store.parameters(), 0.01), loss::sparse_cross_entropy)
            .metrics(&[Metric::Accuracy])
            .distributed(world);
    let batch_size = (32 / world.size()).max(1);
    let opts = FitOptions { epochs, batch_size, verbosity: Verbosity::Lines, ..FitOptions::default() };
    let start = Instant::now();
    trainer.fit(train.inputs(), train.targets(), &opts)?;
    // Every rank evaluates the whole test set with the same weights and buffers: the same answer.
    let eval = trainer.evaluate(test.inputs(), test.targets())?;
    let acc = eval.get("accuracy").ok_or("accuracy is a metric")?;
    println!(
        "rank {}: held-out accuracy {:.2}% (loss {:.4}) after {epochs} epochs in {:.1} s, {:.1} s communicating",
        world.rank(),
        100.0 * acc,
        eval.loss,
        start.elapsed().as_secs_f64(),
        world.communication_time().as_secs_f64()
    );
    Ok(())
}

fn main() {
    let path = std::env::args().nth(1).map_or_else(digits::default_path, PathBuf::from);
    run(|world| train(world, &path, 15));
}
