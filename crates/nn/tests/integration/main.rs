//! The nn crate's integration tests, one module per area, in one binary (each test binary links the
//! library again).

mod attention;
mod checkpoint_corruption;
mod gradcheck_recurrent;
mod pytorch_weights;
mod threads;
