//! The MPI world: initialised once with funneled threading (MPI called from the main thread only,
//! rayon free inside each rank), the exchanges of [`Collective`] over `MPI_Allgather` and `MPI_Bcast`,
//! and a failing or panicking rank ending the whole job with `MPI_Abort`.

use std::cell::Cell;
use std::fmt::Display;
use std::time::{Duration, Instant};

use mpi::environment::{Threading, Universe};
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use wengert_nn::train::{Collective, CollectiveError, DEFAULT_BUCKET_BYTES};

use crate::DistError;

/// This process's place among the MPI processes of a job (`mpirun -np N`): its rank, the world size
/// and the exchanges `fit` needs. Create it once per process with [`World::init`] (or let [`run`] do
/// it); MPI is finalised when it drops.
///
/// ```no_run
/// use wengert::dist::World;
/// use wengert::nn::train::Collective;
/// let world = World::init()?;
/// println!("rank {} of {}", world.rank(), world.size());
/// # Ok::<(), wengert::dist::DistError>(())
/// ```
pub struct World {
    comm: SimpleCommunicator,
    bucket_bytes: usize,
    busy: Cell<Duration>,
    // Declared last, so dropped last: finalises MPI.
    _universe: Universe,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World").field("rank", &self.rank()).field("size", &self.size()).finish()
    }
}

impl World {
    /// Initialises MPI with funneled threading.
    ///
    /// # Errors
    ///
    /// [`DistError::Init`] when MPI was initialised before in this process, or the library does not
    /// offer funneled threading.
    pub fn init() -> Result<World, DistError> {
        let (universe, threading) = mpi::initialize_with_threading(Threading::Funneled).ok_or_else(|| {
            DistError::Init("MPI is already initialised in this process: call World::init once".into())
        })?;
        if threading == Threading::Single {
            return Err(DistError::Init(format!(
                "the MPI library offers {threading:?} threading; rayon threads inside a rank need Funneled"
            )));
        }
        let comm = universe.world();
        Ok(World {
            comm,
            bucket_bytes: DEFAULT_BUCKET_BYTES,
            busy: Cell::new(Duration::ZERO),
            _universe: universe,
        })
    }

    /// Exchanges gradients in buckets of `bytes` (default 25 MiB, as PyTorch DDP).
    pub fn with_bucket_bytes(mut self, bytes: usize) -> Self {
        self.bucket_bytes = bytes.max(1);
        self
    }

    /// The time spent in exchanges so far (waiting for the slowest rank included).
    pub fn communication_time(&self) -> Duration {
        self.busy.get()
    }

    /// The MPI library's version string.
    pub fn library_version(&self) -> String {
        mpi::environment::library_version().unwrap_or_else(|_| "unknown".into())
    }

    /// Ends every process of the job with `code` (`MPI_Abort`), after printing `message` with this
    /// rank on stderr.
    pub fn abort(&self, message: &dyn Display, code: i32) -> ! {
        eprintln!("wengert-dist: rank {} of {}: {message}; aborting the job", self.rank(), self.size());
        self.comm.abort(code)
    }

    /// Makes a panic anywhere in this process end the whole job (`MPI_Abort`) with a message naming
    /// this rank and the panic, instead of leaving the other ranks waiting for it forever.
    pub fn abort_on_panic(&self) {
        let (rank, size) = (self.rank(), self.size());
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            eprintln!("wengert-dist: rank {rank} of {size} panicked: {info}; aborting the job");
            previous(info);
            // SAFETY-free: the world communicator is valid while MPI is initialised, as it is here.
            mpi::topology::SimpleCommunicator::world().abort(101);
        }));
    }

    fn timed<R>(&self, f: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let r = f();
        self.busy.set(self.busy.get() + start.elapsed());
        r
    }

    fn gather<T: mpi::datatype::Equivalence + Default + Clone>(&self, local: &[T]) -> Vec<T> {
        let mut out = vec![T::default(); local.len() * self.size()];
        self.timed(|| self.comm.all_gather_into(local, &mut out[..]));
        out
    }
}

impl Collective for World {
    fn rank(&self) -> usize {
        usize::try_from(self.comm.rank()).unwrap_or(0)
    }
    fn size(&self) -> usize {
        usize::try_from(self.comm.size()).unwrap_or(1)
    }
    fn bucket_bytes(&self) -> usize {
        self.bucket_bytes
    }
    fn all_gather_f32(&self, local: &[f32]) -> Result<Vec<f32>, CollectiveError> {
        Ok(self.gather(local))
    }
    fn all_gather_f64(&self, local: &[f64]) -> Result<Vec<f64>, CollectiveError> {
        Ok(self.gather(local))
    }
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) -> Result<(), CollectiveError> {
        let root = self.comm.process_at_rank(0);
        let mut len = bytes.len() as u64;
        self.timed(|| root.broadcast_into(&mut len));
        let len = usize::try_from(len)
            .map_err(|_| CollectiveError::new("broadcast", format!("{len} bytes do not fit this machine")))?;
        bytes.resize(len, 0);
        self.timed(|| root.broadcast_into(&mut bytes[..]));
        Ok(())
    }
}

/// Runs `main` as one rank of an MPI job: initialises the [`World`], makes a panic abort the job
/// ([`World::abort_on_panic`]), and when `main` returns an error, prints it with the rank and ends
/// every rank with `MPI_Abort`, so that no rank waits forever for one that failed.
///
/// ```no_run
/// use wengert::dist::{run, sync_store};
/// use wengert::nn::ParamStore;
/// use wengert::nn::train::Collective;
/// run(|world| {
///     let store = ParamStore::new(0);
///     sync_store(world, &store)?;
///     if world.is_leader() {
///         println!("{} workers", world.size());
///     }
///     Ok::<(), wengert::dist::DistError>(())
/// });
/// ```
pub fn run<E: Display>(main: impl FnOnce(&World) -> Result<(), E>) {
    let world = match World::init() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("wengert-dist: {e}");
            std::process::exit(1);
        }
    };
    world.abort_on_panic();
    if let Err(e) = main(&world) {
        world.abort(&format_args!("error: {e}"), 1);
    }
    drop(world);
}
