//! The integration tests across crates, one module per area, in one binary: each test binary links
//! the whole library again, so one binary instead of ten builds and links much faster.

mod checkpoint;
mod classifier;
mod determinism;
mod digits;
mod fit_callbacks;
mod linear_regression;
mod mnist;
mod renamed_layers;
mod sequence;
mod xor;
