//! The tape: a Wengert list of nodes, each holding its value, the op that made it and its inputs.

use std::cell::{Cell, Ref, RefCell};

use smallvec::SmallVec;
use wengert_tensor::{Float, Tensor};

use crate::op::Op;
use crate::var::Var;

/// The indices of a node's inputs; almost every op has one or two.
pub(crate) type Inputs = SmallVec<[usize; 2]>;

/// One recorded value.
pub(crate) struct Node<F: Float> {
    pub(crate) value: Tensor<F>,
    pub(crate) op: Op<F>,
    pub(crate) inputs: Inputs,
    /// True when a gradient can flow to this node from a leaf made by [`Tape::var`].
    pub(crate) requires_grad: bool,
}

/// A reverse-mode tape: records tensor operations on [`Var`]s so that gradients can be computed.
///
/// Make a fresh tape for each step (forward, backward, update): dropping it frees the whole graph.
///
/// ```
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2]).unwrap());
/// let y = (x * x).sum();
/// let grads = y.backward();
/// assert_eq!(grads[x].to_vec(), vec![2.0, 4.0]);
/// ```
pub struct Tape<F: Float = f32> {
    pub(crate) nodes: RefCell<Vec<Node<F>>>,
    /// False inside `no_grad` and while a first-order backward runs: new nodes record no op.
    pub(crate) recording: Cell<bool>,
    /// True while `grad_graph` runs its backward sweep.
    pub(crate) building_graph: Cell<bool>,
    /// `Some` in anomaly mode: the user's line that recorded each node since it was turned on.
    pub(crate) anomaly: RefCell<Option<Vec<(usize, &'static std::panic::Location<'static>)>>>,
    /// Keys of bound parameters (see [`Tape::bind`]) and the nodes they are bound to.
    pub(crate) bound: RefCell<Vec<(u64, usize)>>,
}

impl<F: Float> Default for Tape<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float> Tape<F> {
    /// An empty tape.
    pub fn new() -> Self {
        Tape {
            nodes: RefCell::new(crate::storage::node_storage()),
            recording: Cell::new(true),
            building_graph: Cell::new(false),
            anomaly: RefCell::new(None),
            bound: RefCell::new(Vec::new()),
        }
    }

    /// A leaf to differentiate with respect to.
    pub fn var(&self, value: Tensor<F>) -> Var<'_, F> {
        self.leaf(value, true)
    }

    /// A recorded value that is never differentiated (inputs, targets, masks).
    pub fn constant(&self, value: Tensor<F>) -> Var<'_, F> {
        self.leaf(value, false)
    }

    /// A scalar constant.
    pub fn scalar(&self, value: F) -> Var<'_, F> {
        self.constant(Tensor::scalar(value))
    }

    /// The leaf bound to `key`, creating it from `make` the first time: the mechanism behind binding a
    /// parameter once per tape. The key is the caller's stable id (a parameter's id, say).
    pub fn bind(&self, key: u64, make: impl FnOnce() -> Tensor<F>) -> Var<'_, F> {
        if let Some(&(_, id)) = self.bound.borrow().iter().find(|(k, _)| *k == key) {
            return Var::new(self, id);
        }
        let v = self.var(make());
        self.bound.borrow_mut().push((key, v.id));
        v
    }

    /// The node a key was bound to by [`Tape::bind`], if any.
    pub fn bound(&self, key: u64) -> Option<Var<'_, F>> {
        self.bound.borrow().iter().find(|(k, _)| *k == key).map(|&(_, id)| Var::new(self, id))
    }

    /// The number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` without recording gradients: every Var made inside is a constant.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(Tensor::ones(&[2]));
    /// let y = tape.no_grad(|| x * 2.0);
    /// assert!(!y.requires_grad());
    /// ```
    pub fn no_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        let was = self.recording.replace(false);
        let out = f();
        self.recording.set(was);
        out
    }

    /// Turns anomaly detection on or off. When on, every op recorded checks its output for NaN and
    /// infinity born from finite inputs, and every backward step the gradients it produces; either
    /// panics naming the op, its shapes and the line of the user's code that recorded it.
    pub fn set_anomaly_detection(&self, on: bool) {
        *self.anomaly.borrow_mut() = on.then(Vec::new);
    }

    /// True while gradients are being recorded (outside `no_grad` and first-order backward sweeps).
    pub fn is_recording(&self) -> bool {
        self.recording.get()
    }

    fn leaf(&self, value: Tensor<F>, requires_grad: bool) -> Var<'_, F> {
        let requires_grad = requires_grad && self.recording.get();
        self.push_node(Node { value, op: Op::Leaf, inputs: Inputs::new(), requires_grad })
    }

    /// Records `value` as the result of `op` on `inputs`. When no input needs a gradient, or the tape
    /// is not recording, the node is a constant and keeps neither op nor inputs.
    #[track_caller]
    pub(crate) fn push(&self, op: Op<F>, inputs: &[usize], value: Tensor<F>) -> Var<'_, F> {
        if self.recording.get() && !self.building_graph.get() && self.anomaly.borrow().is_some() {
            crate::anomaly::check_forward(self, &op, inputs, &value);
        }
        let mut nodes = self.nodes.borrow_mut();
        let requires_grad = self.recording.get() && inputs.iter().any(|&i| nodes[i].requires_grad);
        let node = if requires_grad {
            Node { value, op, inputs: Inputs::from_slice(inputs), requires_grad }
        } else {
            Node { value, op: Op::Leaf, inputs: Inputs::new(), requires_grad }
        };
        nodes.push(node);
        Var::new(self, nodes.len() - 1)
    }

    fn push_node(&self, node: Node<F>) -> Var<'_, F> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(node);
        Var::new(self, nodes.len() - 1)
    }

    /// Panics unless every Var in `vars` lives on this tape (mixing tapes is a programmer error).
    #[track_caller]
    pub(crate) fn check_same(&self, op: &str, vars: &[Var<'_, F>]) {
        if let Some(v) = vars.iter().find(|v| !std::ptr::eq(v.tape, self)) {
            panic!("{op}: Var #{} belongs to another tape", v.id);
        }
    }

    pub(crate) fn node(&self, id: usize) -> Ref<'_, Node<F>> {
        Ref::map(self.nodes.borrow(), |n| &n[id])
    }

    pub(crate) fn value(&self, id: usize) -> Tensor<F> {
        self.nodes.borrow()[id].value.clone()
    }

    /// Drops every node from `len` on (the temporaries of a first-order backward sweep).
    pub(crate) fn truncate(&self, len: usize) {
        self.nodes.borrow_mut().truncate(len);
        if let Some(lines) = self.anomaly.borrow_mut().as_mut() {
            lines.retain(|&(id, _)| id < len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_stay_small() {
        // Every recorded op moves a node into the tape; keep rare ops' payloads boxed.
        let size = std::mem::size_of::<Node<f32>>();
        assert!(size <= 200, "Node<f32> is {size} bytes");
    }
}
