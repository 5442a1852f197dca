//! `Gradients`: what `backward` returns, the gradients of the leaves looked up by their Var.

use std::ops::Index;

use wengert_tensor::{Float, Tensor};

use crate::var::Var;

/// Gradients from a backward pass, looked up by the Var they belong to.
///
/// They hold the gradients of the leaves made by [`Tape::var`](crate::Tape::var) (and parameters bound with
/// [`Tape::bind`](crate::Tape::bind)), as PyTorch keeps `.grad` of leaves only; for an intermediate Var use
/// [`Tape::grad`](crate::Tape::grad). `grads[x]` panics when `x` got no gradient; `grads.get(x)` returns `None` then. A
/// Var gets no gradient when it does not reach the output, is a constant or is not a leaf: never a
/// silent zero.
#[derive(Debug)]
pub struct Gradients<F: Float = f32> {
    /// The kept gradients by node index, sorted by index.
    pub(crate) grads: Vec<(usize, Tensor<F>)>,
    /// The keys bound with [`Tape::bind`](crate::Tape::bind) and their nodes, as they were at the backward pass.
    pub(crate) bound: Vec<(u64, usize)>,
    pub(crate) tape: usize,
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

    /// The gradient of the leaf bound to `key` by [`Tape::bind`](crate::Tape::bind) (a parameter, say), or `None`.
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
