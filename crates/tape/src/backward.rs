//! The reverse sweep behind `backward`, `grad` and `grad_graph`.
//!
//! One sweep from the output down, visiting only nodes that lie between the wanted leaves and the
//! output. It runs each node's rule on tensors (first order, nothing recorded) or on Vars (recorded, so
//! differentiable again); each rule's input gradients are reduced to the input's shape here, in one
//! place, and accumulated (`+=`) when a value was used more than once.

use smallvec::SmallVec;
use wengert_tensor::{Float, Tensor};

use crate::gradients::Gradients;
use crate::op::Ctx;
use crate::tape::Tape;
use crate::value::Value;
use crate::var::Var;

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
        let needed = needed_nodes(tape, self.id + 1, None);
        let leaf: Vec<bool> = {
            let nodes = tape.nodes.borrow();
            (0..=self.id).map(|i| nodes[i].requires_grad && nodes[i].inputs.is_empty()).collect()
        };
        let grads = sweep(tape, self.id, seed.clone(), &needed, |i| leaf[i]);
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
        let needed = needed_nodes(self, y.id + 1, Some(&wanted));
        let grads = sweep(self, y.id, seed, &needed, |i| wanted.contains(&i));
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
        let needed = needed_nodes(self, y.id + 1, Some(&wanted));
        let grads = sweep(self, y.id, self.constant(seed.clone()), &needed, |i| wanted.contains(&i));
        wanted.iter().map(|&x| grads.binary_search_by_key(&x, |&(i, _)| i).ok().map(|k| grads[k].1)).collect()
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

/// The reverse sweep from node `y` with gradient `seed` over the nodes in `needed`, running each rule
/// on values of type `V`: tensors for first order (nothing recorded, gradients accumulated in place
/// where their buffer is unshared), Vars for `grad_graph` (every rule recorded). Returns the gradients
/// of the nodes `keep` selects, sorted by node index.
fn sweep<'t, F: Float, V: Value<'t, F>>(
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
    for i in (0..=y).rev() {
        let Some(g) = slots[i].take() else { continue };
        if keep(i) {
            kept.push((i, g.clone()));
        }
        run_rule(tape, i, g, needed, &mut slots);
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
) {
    let (op, ctx) = {
        let node = tape.node(i);
        let needs: SmallVec<[bool; 2]> = node.inputs.iter().map(|&j| needed[j]).collect();
        if !needs.contains(&true) {
            return;
        }
        (node.op.clone(), Ctx { tape, inputs: node.inputs.clone(), out: i, needs })
    };
    for (k, gk) in op.backward(&ctx, g).into_iter().enumerate() {
        let (Some(gk), j) = (gk, ctx.inputs[k]) else { continue };
        if !needed[j] {
            continue;
        }
        let gk = gk.sum_to_node(tape, j);
        if tape.anomaly.get() {
            check_finite(tape, i, k, &gk.tensor());
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

#[track_caller]
fn check_finite<F: Float>(tape: &Tape<F>, i: usize, k: usize, g: &Tensor<F>) {
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
