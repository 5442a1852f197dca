//! What users call to differentiate: `backward`, `grad`, `grad_graph` and `vjp_graph`. Each checks
//! its seed and runs the reverse sweep (`sweep.rs`) on tensors (first order) or on Vars (recorded).

use wengert_tensor::{Float, Tensor};

use crate::gradients::Gradients;
use crate::sweep::{needed_nodes, sweep};
use crate::tape::Tape;
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
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
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
