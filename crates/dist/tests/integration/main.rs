//! wengert-dist's integration tests: data parallelism in one process (a world of threads), and under
//! `mpirun` with the feature `mpi`.

#[path = "../../src/bin/selftest/scenario.rs"]
#[allow(dead_code)]
mod scenario;

#[cfg(feature = "mpi")]
mod mpi;
mod threads;
