//! The integration tests across crates, one module per area, in one binary: each test binary links
//! the whole library again, so one binary instead of ten builds and links much faster.

// The example programs are compiled into the tests that run them, and the determinism workloads
// include the linear-regression example as well: one file, two modules, on purpose.
#![allow(clippy::duplicate_mod)]

mod checkpoint;
mod classifier;
mod determinism;
mod digits;
mod fit_callbacks;
mod linear_regression;
mod mnist;
mod panic_location;
mod renamed_layers;
mod sequence;
mod xor;
