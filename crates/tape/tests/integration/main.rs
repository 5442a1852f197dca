//! The tape's integration tests, one module per area, in one binary (each test binary links the
//! library again).

mod backward;
mod conventions;
mod memory;
