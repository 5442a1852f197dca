//! The reverse sweep: `backward`, `grad` and `grad_graph`, and the `Gradients` they return.
//!
//! One sweep from the output down, visiting only nodes that lie between the wanted leaves and the
//! output; each rule's input gradients are reduced to the input's shape here, in one place, and
//! accumulated (`+=`) when a value was used more than once.

use std::ops::Index;

use smallvec::SmallVec;
use wengert_tensor::{Float, Tensor};

use crate::op::Ctx;
use crate::tape::Tape;
use crate::var::Var;

/// Gradients from a backward pass, looked up by the Var they belong to.
///
/// `grads[x]` panics when `x` got no gradient; `grads.get(x)` returns `None` then. A Var gets no
/// gradient when it does not reach the output or is a constant: never a silent zero.
pub struct Gradients<F: Float = f32> {
    grads: Vec<Option<Tensor<F>>>,
    tape: usize,
}

impl<F: Float> Gradients<F> {
    /// The gradient of `x`, or `None` when `x` did not reach the output.
    pub fn get(&self, x: Var<'_, F>) -> Option<&Tensor<F>> {
        self.check_tape(x);
        self.grads.get(x.id).and_then(Option::as_ref)
    }

    /// The gradient of the node with index `id`, or `None`.
    pub fn get_id(&self, id: usize) -> Option<&Tensor<F>> {
        self.grads.get(id).and_then(Option::as_ref)
    }

    /// Takes the gradient of `x` out, leaving `None`.
    pub fn take(&mut self, x: Var<'_, F>) -> Option<Tensor<F>> {
        self.check_tape(x);
        self.grads.get_mut(x.id).and_then(Option::take)
    }

    /// The number of Vars that received a gradient.
    pub fn len(&self) -> usize {
        self.grads.iter().filter(|g| g.is_some()).count()
    }

    /// True when no Var received a gradient.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[track_caller]
    fn check_tape(&self, x: Var<'_, F>) {
        assert!(
            std::ptr::from_ref(x.tape) as usize == self.tape,
            "gradients: Var #{} belongs to another tape than these gradients",
            x.id
        );
    }
}

impl<F: Float> Index<Var<'_, F>> for Gradients<F> {
    type Output = Tensor<F>;

    #[track_caller]
    fn index(&self, x: Var<'_, F>) -> &Tensor<F> {
        match self.get(x) {
            Some(g) => g,
            None => panic!(
                "gradients: Var #{} (shape {:?}) has no gradient: it does not reach the output or is a constant",
                x.id,
                x.shape()
            ),
        }
    }
}

impl<'t, F: Float> Var<'t, F> {
    /// Gradients of this one-element value with respect to every Var that reaches it.
    ///
    /// # Panics
    ///
    /// When the value holds other than one element; use [`Var::backward_with`] then.
    #[track_caller]
    pub fn backward(self) -> Gradients<F> {
        let shape = self.shape();
        if shape.iter().product::<usize>() != 1 {
            panic!(
                "backward: the output has shape {shape:?}, not one element; use backward_with(seed) for a vector-Jacobian product"
            );
        }
        self.backward_with(&Tensor::ones(&shape))
    }

    /// The vector-Jacobian product `seedᵀ J`: gradients of `Σ seed ⊙ self` with respect to every Var
    /// that reaches this one.
    ///
    /// # Panics
    ///
    /// When `seed`'s shape differs from the value's.
    #[track_caller]
    pub fn backward_with(self, seed: &Tensor<F>) -> Gradients<F> {
        let tape = self.tape;
        check_seed("backward_with", self, seed);
        let len = tape.len();
        let slots = sweep(tape, self, seed, None, false);
        let grads = slots.iter().map(|s| s.map(|id| tape.value(id))).collect();
        tape.truncate(len);
        Gradients { grads, tape: std::ptr::from_ref(tape) as usize }
    }
}

impl<F: Float> Tape<F> {
    /// First-order gradients of the one-element `y` with respect to `xs`, like `torch.autograd.grad`.
    ///
    /// # Panics
    ///
    /// When `y` holds other than one element, or an `x` does not reach `y` (use [`Tape::grad_opt`]).
    #[track_caller]
    pub fn grad(&self, y: Var<'_, F>, xs: &[Var<'_, F>]) -> Vec<Tensor<F>> {
        unwrap_all("grad", self.grad_opt(y, xs))
    }

    /// Like [`Tape::grad`], with `None` for each `x` that does not reach `y`.
    ///
    /// # Panics
    ///
    /// When `y` holds other than one element.
    #[track_caller]
    pub fn grad_opt(&self, y: Var<'_, F>, xs: &[Var<'_, F>]) -> Vec<Option<Tensor<F>>> {
        let seed = scalar_seed("grad", y);
        let len = self.len();
        let wanted: Vec<usize> = xs.iter().map(|x| x.id).collect();
        let slots = sweep(self, y, &seed, Some(&wanted), false);
        let out = wanted.iter().map(|&x| slots.get(x).copied().flatten().map(|id| self.value(id))).collect();
        self.truncate(len);
        out
    }

    /// Gradients of the one-element `y` with respect to `xs`, recorded on this tape as Vars, so they
    /// can be differentiated again (second and higher order).
    ///
    /// ```
    /// use wengert_tape::Tape;
    /// use wengert_tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::scalar(2.0));
    /// let y = x * x * x;                           // y = x³
    /// let dy = tape.grad_graph(y, &[x])[0];        // 3x² = 12
    /// let d2y = tape.grad(dy, &[x])[0].item();     // 6x = 12
    /// assert_eq!((dy.item(), d2y), (12.0, 12.0));
    /// ```
    ///
    /// # Panics
    ///
    /// When `y` holds other than one element, or an `x` does not reach `y` (use
    /// [`Tape::grad_graph_opt`]).
    #[track_caller]
    pub fn grad_graph<'t>(&'t self, y: Var<'t, F>, xs: &[Var<'t, F>]) -> Vec<Var<'t, F>> {
        unwrap_all("grad_graph", self.grad_graph_opt(y, xs))
    }

    /// Like [`Tape::grad_graph`], with `None` for each `x` that does not reach `y`.
    ///
    /// # Panics
    ///
    /// When `y` holds other than one element.
    #[track_caller]
    pub fn grad_graph_opt<'t>(&'t self, y: Var<'t, F>, xs: &[Var<'t, F>]) -> Vec<Option<Var<'t, F>>> {
        let seed = scalar_seed("grad_graph", y);
        self.vjp_graph(y, &seed, xs)
    }

    /// The vector-Jacobian product `seedᵀ J` of any-shaped `y`, recorded as Vars (differentiable).
    ///
    /// # Panics
    ///
    /// When `seed`'s shape differs from `y`'s.
    #[track_caller]
    pub fn vjp_graph<'t>(
        &'t self,
        y: Var<'t, F>,
        seed: &Tensor<F>,
        xs: &[Var<'t, F>],
    ) -> Vec<Option<Var<'t, F>>> {
        check_seed("vjp_graph", y, seed);
        let wanted: Vec<usize> = xs.iter().map(|x| x.id).collect();
        let slots = sweep(self, y, seed, Some(&wanted), true);
        wanted.iter().map(|&x| slots.get(x).copied().flatten().map(|id| Var::new(self, id))).collect()
    }
}

#[track_caller]
fn scalar_seed<F: Float>(op: &str, y: Var<'_, F>) -> Tensor<F> {
    let shape = y.shape();
    if shape.iter().product::<usize>() != 1 {
        panic!("{op}: the output has shape {shape:?}, not one element");
    }
    Tensor::ones(&shape)
}

#[track_caller]
fn check_seed<F: Float>(op: &str, y: Var<'_, F>, seed: &Tensor<F>) {
    let shape = y.shape();
    if seed.shape() != shape.as_slice() {
        panic!("{op}: the seed has shape {:?} but the output has shape {shape:?}", seed.shape());
    }
}

#[track_caller]
fn unwrap_all<T>(op: &str, gs: Vec<Option<T>>) -> Vec<T> {
    gs.into_iter()
        .enumerate()
        .map(|(i, g)| {
            g.unwrap_or_else(|| {
                panic!("{op}: input {i} does not reach the output (use {op}_opt to allow unreached inputs)")
            })
        })
        .collect()
}

/// The reverse sweep from `y` with gradient `seed`. Returns, for each node up to `y`, the node holding
/// its gradient. With `graph`, the rules are recorded (differentiable); otherwise they run without
/// recording, and the caller truncates the tape afterwards.
fn sweep<F: Float>(
    tape: &Tape<F>,
    y: Var<'_, F>,
    seed: &Tensor<F>,
    wanted: Option<&[usize]>,
    graph: bool,
) -> Vec<Option<usize>> {
    let n = y.id + 1;
    let needed = needed_nodes(tape, n, wanted);
    let mut slots: Vec<Option<usize>> = vec![None; n];
    if !needed[y.id] {
        return slots;
    }
    let _modes = ModeGuard::set(tape, graph && tape.recording.get(), graph);
    slots[y.id] = Some(tape.constant(seed.clone()).id);
    for i in (0..n).rev() {
        let Some(g) = slots[i] else { continue };
        let (op, inputs) = {
            let node = tape.node(i);
            if node.inputs.is_empty() {
                continue;
            }
            (node.op.clone(), node.inputs.clone())
        };
        let needs: SmallVec<[bool; 2]> = inputs.iter().map(|&j| needed[j]).collect();
        if !needs.iter().any(|&b| b) {
            continue;
        }
        let ctx = Ctx {
            tape,
            inputs: inputs.iter().map(|&j| Var::new(tape, j)).collect(),
            y: Var::new(tape, i),
            g: Var::new(tape, g),
            needs,
        };
        let grads = op.backward(&ctx);
        for (k, gk) in grads.into_iter().enumerate() {
            let (Some(gk), j) = (gk, inputs[k]) else { continue };
            if !needed[j] {
                continue;
            }
            let gk = reduce_to_input(gk, Var::new(tape, j));
            if tape.anomaly.get() {
                check_finite(tape, i, k, gk);
            }
            slots[j] = Some(match slots[j] {
                None => gk.id,
                Some(prev) => (Var::new(tape, prev) + gk).id,
            });
        }
    }
    slots
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

/// Nodes on a path from a wanted leaf (or any differentiable leaf) to the output.
fn needed_nodes<F: Float>(tape: &Tape<F>, n: usize, wanted: Option<&[usize]>) -> Vec<bool> {
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

/// Undoes broadcasting: sums a gradient down to the shape of the input it belongs to.
fn reduce_to_input<'t, F: Float>(g: Var<'t, F>, x: Var<'t, F>) -> Var<'t, F> {
    let same = {
        let nodes = g.tape.nodes.borrow();
        nodes[g.id].value.shape() == nodes[x.id].value.shape()
    };
    if same { g } else { g.sum_to_shape(&x.shape()) }
}

#[track_caller]
fn check_finite<F: Float>(tape: &Tape<F>, i: usize, k: usize, g: Var<'_, F>) {
    let bad = g.value().to_vec().into_iter().find(|v| !v.is_finite());
    if let Some(v) = bad {
        let node = tape.node(i);
        let shapes: Vec<Vec<usize>> =
            node.inputs.iter().map(|&j| tape.node(j).value.shape().to_vec()).collect();
        panic!(
            "anomaly: the backward of `{}` (node #{i}, inputs of shapes {shapes:?}, output of shape {:?}) produced {v} in the gradient of input {k}",
            node.op.name(),
            node.value.shape()
        );
    }
}
