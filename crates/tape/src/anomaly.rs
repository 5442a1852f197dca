//! Anomaly mode: each op's output is checked for NaN and infinity as it is recorded (with the user's
//! line that called it), and every gradient a rule produces as the backward sweep runs; the first
//! non-finite value born from finite ones panics naming the op, its node, its shapes and its line.

use std::panic::Location;

use wengert_tensor::{Float, Tensor};

use crate::op::Op;
use crate::tape::Tape;

/// Called as node `id` is recorded in anomaly mode: keeps the caller's line for later messages, and
/// panics when `value` holds a NaN or an infinity that none of `inputs` holds.
#[track_caller]
pub(crate) fn check_forward<F: Float>(tape: &Tape<F>, op: &Op<F>, inputs: &[usize], value: &Tensor<F>) {
    let at = Location::caller();
    if let Some(lines) = tape.anomaly.borrow_mut().as_mut() {
        lines.push((tape.len(), at));
    }
    let Some(v) = first_bad(value) else { return };
    let nodes = tape.nodes.borrow();
    if inputs.iter().any(|&j| first_bad(&nodes[j].value).is_some()) {
        return;
    }
    let shapes: Vec<&[usize]> = inputs.iter().map(|&j| nodes[j].value.shape()).collect();
    panic!(
        "anomaly: `{}` (node #{}, inputs of shapes {shapes:?}) produced {v} from finite inputs, at {at}",
        op.name(),
        nodes.len()
    );
}

/// Panics when the gradient `g` that node `i`'s rule produced for its input `k` holds a NaN or an
/// infinity, naming the forward op and, when anomaly mode was on as it was recorded, the user's line.
#[track_caller]
pub(crate) fn check_gradient<F: Float>(tape: &Tape<F>, i: usize, k: usize, g: &Tensor<F>) {
    let Some(v) = first_bad(g) else { return };
    let nodes = tape.nodes.borrow();
    let node = &nodes[i];
    let shapes: Vec<&[usize]> = node.inputs.iter().map(|&j| nodes[j].value.shape()).collect();
    let lines = tape.anomaly.borrow();
    let at = match lines.iter().flatten().find(|(id, _)| *id == i) {
        Some((_, at)) => format!(", recorded at {at}"),
        None => String::new(),
    };
    panic!(
        "anomaly: the backward of `{}` (node #{i}, inputs of shapes {shapes:?}, output of shape {:?}{at}) produced {v} in the gradient of input {k}",
        node.op.name(),
        node.value.shape()
    );
}

/// The first NaN or infinity of `t`, if any.
fn first_bad<F: Float>(t: &Tensor<F>) -> Option<F> {
    t.to_vec().into_iter().find(|v| !v.is_finite())
}

#[cfg(test)]
mod tests {
    use wengert_tensor::Tensor;

    use crate::tape::Tape;

    fn t(v: &[f64]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
    }

    #[test]
    fn a_nan_born_in_the_forward_names_the_op_and_the_line() {
        let tape = Tape::<f64>::new();
        tape.set_anomaly_detection(true);
        let x = tape.var(t(&[-1.0, 4.0]));
        let line = line!() + 1;
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| x.sqrt()));
        let msg = *err.unwrap_err().downcast::<String>().unwrap();
        assert!(msg.starts_with("anomaly: `sqrt` (node #1, inputs of shapes [[2]]) produced NaN"), "{msg}");
        assert!(msg.contains(&format!("from finite inputs, at {}:{line}:", file!())), "{msg}");
    }

    #[test]
    fn a_forward_nan_is_reported_even_without_a_backward_and_not_again_downstream() {
        let tape = Tape::<f64>::new();
        let x = tape.var(t(&[-1.0]));
        let y = x.ln(); // recorded before anomaly mode: not checked
        tape.set_anomaly_detection(true);
        let z = (y * 2.0).exp(); // NaN in, NaN out: not the op that made it
        assert!(z.value().to_vec()[0].is_nan());
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (x * 0.0).ln()));
        let msg = *err.unwrap_err().downcast::<String>().unwrap();
        assert!(msg.starts_with("anomaly: `ln` (node #"), "{msg}");
        assert!(msg.contains("produced -inf from finite inputs"), "{msg}");
    }

    #[test]
    fn a_backward_anomaly_names_the_line_that_recorded_the_op() {
        let tape = Tape::<f64>::new();
        tape.set_anomaly_detection(true);
        let x = tape.var(t(&[0.0, 1.0]));
        let y = x.sqrt().sum();
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| y.backward()));
        let msg = *err.unwrap_err().downcast::<String>().unwrap();
        assert!(msg.starts_with("anomaly: the backward of `sqrt` (node #1"), "{msg}");
        assert!(msg.contains(&format!("recorded at {}:", file!())), "{msg}");
        assert!(msg.ends_with("produced inf in the gradient of input 0"), "{msg}");
    }
}
