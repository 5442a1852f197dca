//! Fixtures shared by the unit tests of the layers.

use wengert_tensor::Tensor;

/// Smooth, distinct values `sin(i · step)` of `shape`, in row-major order.
pub(crate) fn sines(shape: &[usize], step: f64) -> Tensor<f64> {
    let n = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| (i as f64 * step).sin()).collect(), shape).unwrap()
}

/// `1.5 · sin(0.73 i) + 0.05 i` of `shape`: values with a trend, so that statistics over any axis
/// differ (for the normalisation layers).
pub(crate) fn ramped_sines(shape: &[usize]) -> Tensor<f64> {
    let n = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| (i as f64 * 0.73).sin() * 1.5 + 0.05 * i as f64).collect(), shape)
        .unwrap()
}
