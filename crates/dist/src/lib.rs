//! Data-parallel training, as PyTorch's `DistributedDataParallel`: every worker holds the whole
//! model, trains on its own shard of every batch, and averages the gradients with the others before
//! each optimizer step, so all workers take the same steps.
//!
//! - [`sync_store`]: the models are checked to match (names, shapes) and rank 0's parameters,
//!   buffers and generator are sent to all, so every worker starts equal.
//! - [`Trainer::distributed`] turns a `fit` program into a
//!   distributed one: sharded epochs, gradients averaged in buckets, losses and metrics averaged over
//!   the workers for the `History`, progress and checkpoint files on rank 0 only.
//! - [`DataParallel`] does the averaging in a hand-written loop, with a sharded
//!   [`DataLoader`](DataLoader::shard).
//! - [`World`] (feature `mpi`) is one process of an `mpirun` job; [`run`] wraps a program's main so
//!   that an error or panic on any rank ends the job with a message naming the rank (`MPI_Abort`).
//!   [`Threads`] is an in-process world of threads, for tests and for trying a program without MPI.
//!
//! **Bit-identical to one process.** Every rank gathers every rank's gradients and adds them itself in
//! rank order 0, 1, …, N−1, each weighted by its rows, then divides by the global batch's rows: the
//! arithmetic of [`GradAccumulator`] adding N micro-batches in one
//! process. An `MPI_Allreduce` would choose its own summation order by message size and topology, so
//! its bits would depend on the library and the world size; the all-gather fixes the order by the rank
//! numbers alone. So N ranks with batches of B rows end every step with the same weights, bit for bit,
//! as each other and as one process that runs `fit` with `batch_size: B` and
//! `accumulate_steps: N` over the same shuffle (when N·B divides the rows; the epoch's last, short
//! batch is split evenly over the ranks, see [`shard_order`]). Models
//! that draw random numbers in their forward pass (dropout) draw them per rank and are not bitwise
//! reproducible across world sizes.
//!
//! `fit` on every rank of `mpirun -np N` (the model and data are built the same way on every rank).
//! Under MPI the closure runs in `wengert::dist::run(|world| ...)`, once per process (feature `mpi`);
//! here a world of two threads runs it, which needs no MPI library:
//!
//! ```
//! use wengert::dist::{Threads, sync_store};
//! use wengert::nn::optim::Adam;
//! use wengert::nn::train::{FitOptions, Trainer, Verbosity};
//! use wengert::nn::{Linear, ParamStore, loss};
//! use wengert::tensor::Tensor;
//! let losses = Threads::run(2, |world| {
//!     let x = Tensor::<f32>::from_vec((0..64).map(|i| i as f32 / 32.0).collect(), &[32, 2]).unwrap();
//!     let y = Tensor::<f32>::from_vec((0..32).map(|i| i as f32 / 16.0).collect(), &[32, 1]).unwrap();
//!     let store = ParamStore::new(0);
//!     let model = Linear::new(&store.root(), 2, 1);
//!     sync_store(&world, &store).unwrap(); // the two lines that make it distributed ...
//!     let mut trainer = Trainer::new(&model, &store, Adam::new(store.parameters(), 0.05), |p, t| loss::mse(p, t))
//!         .distributed(&world); // ... and this one
//!     let opts = FitOptions { epochs: 50, batch_size: 4, verbosity: Verbosity::Quiet, ..FitOptions::default() };
//!     trainer.fit(&x, &y, &opts).unwrap().last().unwrap().loss
//! });
//! assert_eq!(losses[0], losses[1]); // the loss of all ranks' rows, the same on every rank
//! assert!(losses[0] < 0.05, "{losses:?}");
//! ```
//!
//! The same as an explicit loop, with a sharded loader:
//!
//! ```
//! use wengert::dist::{DataParallel, Threads, sync_store};
//! use wengert::nn::data::{DataLoader, TensorDataset};
//! use wengert::nn::optim::{Adam, Optimizer};
//! use wengert::nn::train::Collective;
//! use wengert::nn::{Linear, Module, ParamStore, loss};
//! use wengert::tape::Tape;
//! use wengert::tensor::Tensor;
//! let weights = Threads::run(2, |world| {
//!     let data = TensorDataset::new(Tensor::<f32>::ones(&[64, 2]), Tensor::ones(&[64, 1])).unwrap();
//!     let mut loader = DataLoader::new(data, 8).shuffle(7).shard(world.rank(), world.size());
//!     let store = ParamStore::new(0);
//!     let model = Linear::new(&store.root(), 2, 1);
//!     sync_store(&world, &store).unwrap();
//!     let mut opt = Adam::new(store.parameters(), 0.01);
//!     let mut dp = DataParallel::new(&world, opt.params());
//!     for epoch in 1..=3 {
//!         for (x, y) in &mut loader {
//!             let tape = Tape::new();
//!             let l = loss::mse(model.forward(tape.constant(x.clone())), tape.constant(y));
//!             let global = dp.step(&mut opt, &l.backward(), x.shape()[0], l.value().item() as f64).unwrap();
//!             if world.is_leader() {
//!                 println!("epoch {epoch}: loss {global:.4}");
//!             }
//!         }
//!     }
//!     model.weight.value().to_vec()
//! });
//! assert_eq!(weights[0], weights[1]);
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

#[cfg(doc)]
use wengert_nn::{data::DataLoader, data::shard_order, optim::GradAccumulator, train::Trainer};

pub use error::DistError;
pub use step::DataParallel;
pub use sync::{WORLD_SIZE_KEY, broadcast_store, check_models, sync_store, tag_checkpoint, world_change};
pub use threads::{ThreadWorld, Threads};
pub use wengert_nn::train::{Collective, CollectiveError, DEFAULT_BUCKET_BYTES, SingleProcess};
#[cfg(feature = "mpi")]
pub use world::{World, run};
