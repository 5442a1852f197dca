//! The reverse sweep: `backward`, `grad` and `grad_graph`, and the `Gradients` they return.
//!
//! One sweep from the output down, visiting only nodes that lie between the wanted leaves and the
//! output; each rule's input gradients are reduced to the input's shape here, in one place, and
//! accumulated (`+=`) when a value was used more than once.

use std::ops::Index;

use smallvec::SmallVec;
use wengert_tensor::{Float, Tensor};

use crate::op::{Ctx, ValueCtx};
use crate::tape::{Node, Tape};
use crate::var::Var;

/// Gradients from a backward pass, looked up by the Var they belong to.
///
/// They hold the gradients of the leaves made by [`Tape::var`] (and parameters bound with
/// [`Tape::bind`]), as PyTorch keeps `.grad` of leaves only; for an intermediate Var use
/// [`Tape::grad`]. `grads[x]` panics when `x` got no gradient; `grads.get(x)` returns `None` then. A
/// Var gets no gradient when it does not reach the output, is a constant or is not a leaf: never a
/// silent zero.
pub struct Gradients<F: Float = f32> {
    /// The kept gradients by node index, sorted by index.
    grads: Vec<(usize, Tensor<F>)>,
    /// The keys bound with [`Tape::bind`] and their nodes, as they were at the backward pass.
    bound: Vec<(u64, usize)>,
    tape: usize,
}

impl<F: Float> Gradients<F> {
    /// The gradient of `x`, or `None` when `x` did not reach the output.
    pub fn get(&self, x: Var<'_, F>) -> Option<&Tensor<F>> {
        self.check_tape(x);
        self.get_id(x.id)
    }

    /// The gradient of the node with index `id`, or `None`.
    pub fn get_id(&self, id: usize) -> Option<&Tensor<F>> {
        self.grads.binary_search_by_key(&id, |&(i, _)| i).ok().map(|k| &self.grads[k].1)
    }

    /// The gradient of the leaf bound to `key` by [`Tape::bind`] (a parameter, say), or `None`.
    pub fn bound(&self, key: u64) -> Option<&Tensor<F>> {
        self.bound.iter().find(|(k, _)| *k == key).and_then(|&(_, id)| self.get_id(id))
    }

    /// Takes the gradient of `x` out, leaving `None`.
    pub fn take(&mut self, x: Var<'_, F>) -> Option<Tensor<F>> {
        self.check_tape(x);
        let k = self.grads.binary_search_by_key(&x.id, |&(i, _)| i).ok()?;
        Some(self.grads.remove(k).1)
    }

    /// The number of Vars that received a gradient.
    pub fn len(&self) -> usize {
        self.grads.len()
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
    /// Gradients of this one-element value with respect to every leaf that reaches it.
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

    /// The vector-Jacobian product `seedᵀ J`: gradients of `Σ seed ⊙ self` with respect to every leaf
    /// that reaches this one.
    ///
    /// # Panics
    ///
    /// When `seed`'s shape differs from the value's.
    #[track_caller]
    pub fn backward_with(self, seed: &Tensor<F>) -> Gradients<F> {
        let tape = self.tape;
        check_seed("backward_with", self, seed);
        let grads = sweep_values(tape, self, seed, None);
        Gradients { grads, bound: tape.bound.borrow().clone(), tape: std::ptr::from_ref(tape) as usize }
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
        let wanted: Vec<usize> = xs.iter().map(|x| x.id).collect();
        let grads = sweep_values(self, y, &seed, Some(&wanted));
        wanted
            .iter()
            .map(|&x| grads.binary_search_by_key(&x, |&(i, _)| i).ok().map(|k| grads[k].1.clone()))
            .collect()
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
        let slots = sweep_graph(self, y, seed, &wanted);
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

/// The first-order reverse sweep from `y` with gradient `seed`: rules run without recording, each
/// node's temporaries are cut from the tape as soon as its rule has run, and gradients accumulate as
/// tensors (in place when their buffer is not shared). Returns the gradients that are kept, sorted by
/// node index: the wanted nodes', or (with `wanted` `None`) every differentiable leaf's.
fn sweep_values<F: Float>(
    tape: &Tape<F>,
    y: Var<'_, F>,
    seed: &Tensor<F>,
    wanted: Option<&[usize]>,
) -> Vec<(usize, Tensor<F>)> {
    let n = y.id + 1;
    let needed = needed_nodes(tape, n, wanted);
    let keep: Vec<bool> = {
        let nodes = tape.nodes.borrow();
        (0..n)
            .map(|i| match wanted {
                Some(w) => w.contains(&i),
                None => nodes[i].requires_grad && nodes[i].inputs.is_empty(),
            })
            .collect()
    };
    let mut slots: Vec<Option<Tensor<F>>> = vec![None; n];
    let mut kept = Vec::new();
    if !needed[y.id] {
        return kept;
    }
    let _modes = ModeGuard::set(tape, false, false);
    slots[y.id] = Some(seed.clone());
    for i in (0..n).rev() {
        let Some(g) = slots[i].take() else { continue };
        if keep[i] {
            kept.push((i, g.clone()));
        }
        let Some(g) = run_rule_values(tape, i, g, &needed, &mut slots) else { continue };
        let base = tape.len();
        let gv = tape.constant(g);
        for (j, gj) in run_rule(tape, i, gv, &needed) {
            accumulate(&mut slots[j], gj.value());
        }
        tape.truncate(base);
    }
    kept.reverse();
    kept
}

/// Adds `g` into a gradient slot, in place when the slot's buffer is not shared.
fn accumulate<F: Float>(slot: &mut Option<Tensor<F>>, g: Tensor<F>) {
    *slot = Some(match slot.take() {
        None => g,
        Some(prev) => prev.zip_into(&g, "accumulate", |a, b| a + b),
    });
}

/// Runs node `i`'s rule on tensors when its op has one (see `Op::backward_values`), accumulating the
/// needed input gradients, summed to the inputs' shapes, into `slots`. Returns `g` back when the op has
/// no rule on tensors, for the Var rule to run.
fn run_rule_values<F: Float>(
    tape: &Tape<F>,
    i: usize,
    g: Tensor<F>,
    needed: &[bool],
    slots: &mut [Option<Tensor<F>>],
) -> Option<Tensor<F>> {
    let nodes = tape.nodes.borrow();
    let node = &nodes[i];
    let needs: SmallVec<[bool; 2]> = node.inputs.iter().map(|&j| needed[j]).collect();
    if !needs.iter().any(|&b| b) {
        return None;
    }
    let ctx =
        ValueCtx { inputs: node.inputs.iter().map(|&j| &nodes[j].value).collect(), y: &node.value, needs };
    let mut grads = match node.op.backward_values(&ctx, g) {
        Ok(grads) => grads,
        Err(g) => return Some(g),
    };
    // Taken out one by one where they lie: moving the whole set of tensors costs more than the rule.
    for (k, gk) in grads.iter_mut().enumerate() {
        let (Some(gk), j) = (gk.take(), node.inputs[k]) else { continue };
        if !needed[j] {
            continue;
        }
        let shape = nodes[j].value.shape();
        let gk = if gk.has_shape(shape) { gk } else { gk.sum_to_shape(shape) };
        if tape.anomaly.get() {
            check_finite(&nodes, i, k, &gk);
        }
        accumulate(&mut slots[j], gk);
    }
    None
}

/// The reverse sweep recorded on the tape (for `grad_graph`): every rule's ops become nodes, so the
/// gradients it returns are differentiable Vars. Returns the node holding each node's gradient.
fn sweep_graph<F: Float>(
    tape: &Tape<F>,
    y: Var<'_, F>,
    seed: &Tensor<F>,
    wanted: &[usize],
) -> Vec<Option<usize>> {
    let n = y.id + 1;
    let needed = needed_nodes(tape, n, Some(wanted));
    let mut slots: Vec<Option<usize>> = vec![None; n];
    if !needed[y.id] {
        return slots;
    }
    let _modes = ModeGuard::set(tape, tape.recording.get(), true);
    slots[y.id] = Some(tape.constant(seed.clone()).id);
    for i in (0..n).rev() {
        let Some(g) = slots[i] else { continue };
        for (j, gj) in run_rule(tape, i, Var::new(tape, g), &needed) {
            slots[j] = Some(match slots[j] {
                None => gj.id,
                Some(prev) => (Var::new(tape, prev) + gj).id,
            });
        }
    }
    slots
}

/// Runs node `i`'s rule with output gradient `g` and returns the gradients of its inputs that are
/// needed, each summed down to its input's shape (the one place broadcasting is undone) and, in
/// anomaly mode, checked to be finite.
fn run_rule<'t, F: Float>(
    tape: &'t Tape<F>,
    i: usize,
    g: Var<'t, F>,
    needed: &[bool],
) -> SmallVec<[(usize, Var<'t, F>); 2]> {
    let mut out = SmallVec::new();
    let (op, inputs) = {
        let node = tape.node(i);
        if node.inputs.is_empty() {
            return out;
        }
        (node.op.clone(), node.inputs.clone())
    };
    let needs: SmallVec<[bool; 2]> = inputs.iter().map(|&j| needed[j]).collect();
    if !needs.iter().any(|&b| b) {
        return out;
    }
    let ctx = Ctx {
        tape,
        inputs: inputs.iter().map(|&j| Var::new(tape, j)).collect(),
        y: Var::new(tape, i),
        g,
        needs,
    };
    for (k, gk) in op.backward(&ctx).into_iter().enumerate() {
        let (Some(gk), j) = (gk, inputs[k]) else { continue };
        if !needed[j] {
            continue;
        }
        let gk = reduce_to_input(gk, Var::new(tape, j));
        if tape.anomaly.get() {
            check_finite(&tape.nodes.borrow(), i, k, &gk.value());
        }
        out.push((j, gk));
    }
    out
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
fn check_finite<F: Float>(nodes: &[Node<F>], i: usize, k: usize, g: &Tensor<F>) {
    let bad = g.to_vec().into_iter().find(|v| !v.is_finite());
    if let Some(v) = bad {
        let node = &nodes[i];
        let shapes: Vec<Vec<usize>> = node.inputs.iter().map(|&j| nodes[j].value.shape().to_vec()).collect();
        panic!(
            "anomaly: the backward of `{}` (node #{i}, inputs of shapes {shapes:?}, output of shape {:?}) produced {v} in the gradient of input {k}",
            node.op.name(),
            node.value.shape()
        );
    }
}
