//! Data-parallel step time of the W2 MLP (784-512-512-10, batches of 128 rows per rank, Adam) over
//! MPI: milliseconds per step, milliseconds of gradient exchange per step, and rows per second. Run it
//! at -np 1 and -np 2; the scaling efficiency is throughput(np 2) / (2 × throughput(np 1)).
//!
//! ```text
//! cargo build --release --features mpi --example dist_w2
//! mpirun --allow-run-as-root -np 2 --mca pml ob1 --mca btl self,vader -x RAYON_NUM_THREADS=1 \
//!     target/release/examples/dist_w2 [STEPS]
//! ```

use std::time::Instant;

use wengert::dist::{DataParallel, World, run, sync_store};
use wengert::nn::optim::{Adam, Optimizer};
use wengert::nn::train::Collective;
use wengert::nn::{Linear, ParamStore, Relu, SeedRng, Sequential, loss};
use wengert::prelude::*;

fn bench(world: &World, steps: usize) -> Result<(), Box<dyn std::error::Error>> {
    let (batch, warmup) = (128, 5);
    let store = ParamStore::new(0);
    let model = Sequential::new(&store.root())
        .add(|p| Linear::new(p, 784, 512))
        .add(|_| Relu)
        .add(|p| Linear::new(p, 512, 512))
        .add(|_| Relu)
        .add(|p| Linear::new(p, 512, 10));
    sync_store(world, &store)?;
    let mut rng = SeedRng::new(1 + world.rank() as u64);
    let x = Tensor::<f32>::randn(&[batch, 784], &mut rng);
    let labels: Vec<usize> = (0..batch).map(|i| (i * 7 + world.rank()) % 10).collect();
    let mut opt = Adam::new(store.parameters(), 1e-3);
    let mut dp = DataParallel::new(world, opt.params());
    let mut start = Instant::now();
    let mut comm_start = world.communication_time();
    for step in 0..warmup + steps {
        if step == warmup {
            start = Instant::now();
            comm_start = world.communication_time();
        }
        let tape = Tape::new();
        let l = loss::cross_entropy(model.forward(tape.constant(x.clone())), &labels);
        dp.step(&mut opt, &l.backward(), batch, l.value().item() as f64)?;
    }
    let ms = start.elapsed().as_secs_f64() * 1e3 / steps as f64;
    let comm = (world.communication_time() - comm_start).as_secs_f64() * 1e3 / steps as f64;
    let rows_per_s = (batch * world.size()) as f64 / (ms / 1e3);
    if world.is_leader() {
        println!(
            "w2 np {}: {ms:.2} ms/step, {comm:.2} ms communication/step, {rows_per_s:.0} rows/s ({} parameters, {})",
            world.size(),
            store.num_parameters(),
            world.library_version().lines().next().unwrap_or("")
        );
    }
    Ok(())
}

fn main() {
    let steps = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(50);
    run(|world| bench(world, steps));
}
