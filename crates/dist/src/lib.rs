//! Data-parallel training, as PyTorch's `DistributedDataParallel`: every worker holds the whole
//! model, trains on its own shard of every batch, and averages the gradients with the others before
//! each optimizer step, so all workers take the same steps.
//!
//! - [`sync_store`]: the models are checked to match (names, shapes) and rank 0's parameters,
//!   buffers and generator are sent to all, so every worker starts equal.
//! - [`Trainer::distributed`](wengert_nn::train::Trainer::distributed) turns a `fit` program into a
//!   distributed one: sharded epochs, gradients averaged in buckets, losses and metrics averaged over
//!   the workers for the `History`, progress and checkpoint files on rank 0 only.
//! - [`DataParallel`] does the averaging in a hand-written loop, with a sharded
//!   [`DataLoader`](wengert_nn::data::DataLoader::shard).
//! - [`World`] (feature `mpi`) is one process of an `mpirun` job; [`run`] wraps a program's main so
//!   that an error or panic on any rank ends the job with a message naming the rank (`MPI_Abort`).
//!   [`Threads`] is an in-process world of threads, for tests and for trying a program without MPI.
//!
//! **Bit-identical to one process.** Every rank gathers every rank's gradients and adds them itself in
//! rank order 0, 1, …, N−1, each weighted by its rows, then divides by the global batch's rows: the
//! arithmetic of [`GradAccumulator`](wengert_nn::optim::GradAccumulator) adding N micro-batches in one
//! process. An `MPI_Allreduce` would choose its own summation order by message size and topology, so
//! its bits would depend on the library and the world size; the all-gather fixes the order by the rank
//! numbers alone. So N ranks with batches of B rows end every step with the same weights, bit for bit,
//! as each other and as one process that runs `fit` with `batch_size: B` and
//! `accumulate_steps: N` over the same shuffle (when N·B divides the rows; the epoch's last, short
//! batch is split evenly over the ranks, see [`shard_order`](wengert_nn::data::shard_order)). Models
//! that draw random numbers in their forward pass (dropout) draw them per rank and are not bitwise
//! reproducible across world sizes.
//!
//! `fit` on every rank of `mpirun -np N` (the model and data are built the same way on every rank):
//!
//! ```no_run
//! use wengert::dist::{run, sync_store};
//! use wengert::nn::optim::Adam;
//! use wengert::nn::train::{FitOptions, Trainer};
//! use wengert::nn::{Linear, ParamStore, loss};
//! use wengert::tensor::Tensor;
//! run(|world| {
//!     let x = Tensor::<f32>::ones(&[64, 2]);
//!     let y = Tensor::<f32>::ones(&[64, 1]);
//!     let store = ParamStore::new(0);
//!     let model = Linear::new(&store.root(), 2, 1);
//!     sync_store(world, &store)?; // the two lines that make it distributed ...
//!     let mut trainer = Trainer::new(&model, &store, Adam::new(store.parameters(), 0.01), |p, t| loss::mse(p, t))
//!         .distributed(world); // ... and this one
//!     let history = trainer.fit(&x, &y, &FitOptions { epochs: 5, batch_size: 8, ..FitOptions::default() })?;
//!     println!("{:?}", history.last());
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! });
//! ```
//!
//! The same as an explicit loop, with a sharded loader:
//!
//! ```no_run
//! use wengert::dist::{run, sync_store, DataParallel};
//! use wengert::nn::data::{DataLoader, TensorDataset};
//! use wengert::nn::optim::{Adam, Optimizer};
//! use wengert::nn::train::Collective;
//! use wengert::nn::{Linear, Module, ParamStore, loss};
//! use wengert::tape::Tape;
//! use wengert::tensor::Tensor;
//! run(|world| {
//!     let data = TensorDataset::new(Tensor::<f32>::ones(&[64, 2]), Tensor::ones(&[64, 1]))?;
//!     let mut loader = DataLoader::new(data, 8).shuffle(7).shard(world.rank(), world.size());
//!     let store = ParamStore::new(0);
//!     let model = Linear::new(&store.root(), 2, 1);
//!     sync_store(world, &store)?;
//!     let mut opt = Adam::new(store.parameters(), 0.01);
//!     let mut dp = DataParallel::new(world, opt.params());
//!     for epoch in 1..=5 {
//!         for (x, y) in &mut loader {
//!             let tape = Tape::new();
//!             let l = loss::mse(model.forward(tape.constant(x.clone())), tape.constant(y));
//!             let global = dp.step(&mut opt, &l.backward(), x.shape()[0], l.value().item() as f64)?;
//!             if world.is_leader() {
//!                 println!("epoch {epoch}: loss {global:.4}");
//!             }
//!         }
//!     }
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! });
//! ```
//!
//! Launch with `mpirun -np 2 target/release/examples/NAME` (add `--allow-run-as-root` as root,
//! `--oversubscribe` for more ranks than cores, `--hostfile hosts` across machines), with each rank's
//! rayon pool sized to its share of the cores (`RAYON_NUM_THREADS`).

mod error;
mod step;
mod sync;
mod threads;
#[cfg(feature = "mpi")]
mod world;

pub use error::DistError;
pub use step::DataParallel;
pub use sync::{WORLD_SIZE_KEY, broadcast_store, check_models, sync_store, tag_checkpoint, world_change};
pub use threads::{ThreadWorld, Threads};
pub use wengert_nn::train::{Collective, CollectiveError, DEFAULT_BUCKET_BYTES, SingleProcess};
#[cfg(feature = "mpi")]
pub use world::{World, run};
