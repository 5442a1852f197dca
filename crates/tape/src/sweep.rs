//! The reverse sweep: from the output down, visiting only nodes that lie between the wanted nodes and
//! the output, it runs each node's rule on tensors (first order, nothing recorded) or on Vars
//! (recorded, so differentiable again). Each rule's input gradients are reduced to the input's shape
//! here, in one place, and accumulated (`+=`) when a value was used more than once; a slice's gradient
//! is added straight into the region of its input's (on tensors, in place).

use smallvec::SmallVec;
use wengert_tensor::Float;

use crate::op::{Ctx, Op};
use crate::ops::shape::ShapeOp;
use crate::tape::Tape;
use crate::value::Value;

/// The reverse sweep from node `y` with gradient `seed` over the nodes in `needed`, running each rule
/// on values of type `V`: tensors for first order (nothing recorded, gradients accumulated in place
/// where their buffer is unshared), Vars for `grad_graph` (every rule recorded). Returns the gradients
/// of the nodes `keep` selects, sorted by node index.
pub(crate) fn sweep<'t, F: Float, V: Value<'t, F>>(
    tape: &'t Tape<F>,
    y: usize,
    seed: V,
    needed: &[bool],
    keep: impl Fn(usize) -> bool,
) -> Vec<(usize, V)> {
    let mut kept = Vec::new();
    if !needed[y] {
        return kept;
    }
    let _modes = ModeGuard::set(tape, V::RECORDED && tape.recording.get(), V::RECORDED);
    let mut slots: Vec<Option<V>> = vec![None; y + 1];
    slots[y] = Some(seed);
    let anomaly = tape.anomaly.borrow().is_some();
    for i in (0..=y).rev() {
        let Some(g) = slots[i].take() else { continue };
        if keep(i) {
            kept.push((i, g.clone()));
        }
        run_rule(tape, i, g, needed, &mut slots, anomaly);
    }
    kept.reverse();
    kept
}

/// Runs node `i`'s rule with output gradient `g` and adds the gradients of its needed inputs into
/// `slots`, each summed down to its input's shape (the one place broadcasting is undone) and, in
/// anomaly mode, checked to be finite.
fn run_rule<'t, F: Float, V: Value<'t, F>>(
    tape: &'t Tape<F>,
    i: usize,
    g: V,
    needed: &[bool],
    slots: &mut [Option<V>],
    anomaly: bool,
) {
    let node = tape.node(i);
    let mut needs = SmallVec::<[bool; 2]>::with_capacity(node.inputs.len());
    for &j in &node.inputs {
        needs.push(needed[j]);
    }
    if !needs.contains(&true) {
        return;
    }
    if !anomaly && let Op::Shape(ShapeOp::Slice(info)) = &node.op {
        // A slice's gradient goes straight into its input's slot, at the region (on tensors, in place).
        let (info, j) = (info.clone(), node.inputs[0]);
        drop(node);
        let shape = tape.node(j).value.shape().to_vec();
        slots[j] = Some(g.add_slice_adjoint(slots[j].take(), &info, &shape));
        return;
    }
    let ctx = Ctx { tape, inputs: SmallVec::from_slice(&node.inputs), out: i, needs };
    // A rule on tensors only reads the tape, so it runs on the op where it lies; a recorded rule (and
    // a custom op's, written with Vars) pushes nodes, so it runs on a copy of the op.
    let mut grads = if V::RECORDED || matches!(node.op, Op::Custom(_)) {
        let op = node.op.clone();
        drop(node);
        op.backward(&ctx, g)
    } else {
        let grads = node.op.backward(&ctx, g);
        drop(node);
        grads
    };
    // Taken out where they lie: moving the whole set of gradients costs more than a small rule.
    for (k, gk) in grads.iter_mut().enumerate() {
        let (Some(gk), j) = (gk.take(), ctx.inputs[k]) else { continue };
        if !needed[j] {
            continue;
        }
        let gk = gk.sum_to_node(tape, j);
        if anomaly {
            crate::anomaly::check_gradient(tape, i, k, &gk.tensor());
        }
        slots[j] = Some(match slots[j].take() {
            None => gk,
            Some(prev) => prev + gk,
        });
    }
}

/// Sets the tape's recording modes for a sweep and restores them when dropped, also on a panic.
struct ModeGuard<'t, F: Float> {
    tape: &'t Tape<F>,
    recording: bool,
    building: bool,
}

impl<'t, F: Float> ModeGuard<'t, F> {
    fn set(tape: &'t Tape<F>, recording: bool, building: bool) -> Self {
        let (recording, building) =
            (tape.recording.replace(recording), tape.building_graph.replace(building));
        ModeGuard { tape, recording, building }
    }
}

impl<F: Float> Drop for ModeGuard<'_, F> {
    fn drop(&mut self) {
        self.tape.recording.set(self.recording);
        self.tape.building_graph.set(self.building);
    }
}

/// Nodes on a path from a wanted node (or any differentiable leaf) to the output.
pub(crate) fn needed_nodes<F: Float>(tape: &Tape<F>, n: usize, wanted: Option<&[usize]>) -> Vec<bool> {
    let nodes = tape.nodes.borrow();
    let mut needed = vec![false; n];
    for i in 0..n {
        let node = &nodes[i];
        needed[i] = match wanted {
            Some(w) => w.contains(&i) || (node.requires_grad && node.inputs.iter().any(|&j| needed[j])),
            None => node.requires_grad,
        };
    }
    needed
}
