//! Anomaly mode: every gradient a rule produces is checked for NaN and infinity, and the first one
//! found panics naming the op, its node and its shapes.

use wengert_tensor::{Float, Tensor};

use crate::tape::Tape;

/// Panics when the gradient `g` that node `i`'s rule produced for its input `k` holds a NaN or an
/// infinity.
#[track_caller]
pub(crate) fn check_gradient<F: Float>(tape: &Tape<F>, i: usize, k: usize, g: &Tensor<F>) {
    let Some(v) = g.to_vec().into_iter().find(|v| !v.is_finite()) else { return };
    let nodes = tape.nodes.borrow();
    let node = &nodes[i];
    let shapes: Vec<Vec<usize>> = node.inputs.iter().map(|&j| nodes[j].value.shape().to_vec()).collect();
    panic!(
        "anomaly: the backward of `{}` (node #{i}, inputs of shapes {shapes:?}, output of shape {:?}) produced {v} in the gradient of input {k}",
        node.op.name(),
        node.value.shape()
    );
}
