//! Fused ops of training: a dense layer's affine map and softmax cross-entropy, each one kernel
//! forward, with rules written in Var ops (so every order of derivative works).
//!
//! linear: y = x Wᵀ + b, x `[n, in]`, W `[out, in]`, b `[out]`: gx = g W, gW = gᵀ x, gb = Σₙ g ·
//! softmax cross-entropy against class indices t: l = (1/N) Σₙ (logsumexp xₙ - xₙ[tₙ]),
//! gx = g (softmax x - onehot t) / N.

use std::rc::Rc;

use wengert_tensor::ndarray::{Array2, Axis, Ix2};
use wengert_tensor::{Float, Tensor};

use crate::op::{Ctx, Grads, Op, one};
use crate::var::Var;

/// A fused op and what it keeps for its rule.
#[derive(Clone, Debug)]
pub(crate) enum Fused {
    /// `x Wᵀ (+ b)`, inputs `[x, w]` or `[x, w, b]`.
    Linear,
    /// The mean softmax cross-entropy of `[N, C]` logits against these class indices.
    SoftmaxCrossEntropy(Rc<[usize]>),
    /// A normalisation or a softmax backward kernel (see `ops::norm`).
    Norm(crate::ops::norm::NormOp),
    /// A recurrent cell's gates (see `ops::recurrent`).
    Recurrent(crate::ops::recurrent::RecurrentOp),
}

impl<'t, F: Float> Var<'t, F> {
    /// A dense layer's affine map `self · wᵀ + b` in one product, for `self` `[n, in]`, `w` `[out, in]`
    /// and `b` `[out]`; the weight's gradient comes out in `w`'s own layout.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
    /// let w = tape.var(Tensor::from_vec(vec![1.0, -1.0], &[1, 2]).unwrap());
    /// let b = tape.var(Tensor::from_vec(vec![0.5], &[1]).unwrap());
    /// let y = x.linear(w, Some(b));
    /// assert_eq!(y.value().to_vec(), vec![-0.5, -0.5]);
    /// let grads = y.sum().backward();
    /// assert_eq!(grads[w].to_vec(), vec![4.0, 6.0]);
    /// assert_eq!(grads[b].to_vec(), vec![2.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::linear`]: when `self` or `w` is not 2-D, the widths differ or `b` is not `[out]`.
    #[track_caller]
    pub fn linear(self, w: Self, b: Option<Self>) -> Self {
        let mut ids = vec![self.id, w.id];
        ids.extend(b.map(|b| b.id));
        let vars: Vec<Self> = ids.iter().map(|&id| Var::new(self.tape, id)).collect();
        self.tape.check_same("linear", &vars);
        let y = {
            let nodes = self.tape.nodes.borrow();
            nodes[self.id].value.linear(&nodes[w.id].value, b.map(|b| &nodes[b.id].value))
        };
        self.tape.push(Op::Fused(Fused::Linear), &ids, y)
    }

    /// The mean softmax cross-entropy of logits `self` `[N, C]` against one class index per row,
    /// `(1/N) Σₙ (logsumexp xₙ - xₙ[tₙ])`, as one op: stable for any finite logits, with the rule
    /// `g (softmax x - onehot t) / N`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1000.0, -1000.0], &[1, 2]).unwrap());
    /// let l = x.softmax_cross_entropy(&[1]);
    /// assert_eq!(l.item(), 2000.0);
    /// assert_eq!(l.backward()[x].to_vec(), vec![1.0, -1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is not 2-D, `targets` does not hold one index per row, or a target is not below C.
    #[track_caller]
    pub fn softmax_cross_entropy(self, targets: &[usize]) -> Self {
        let shape = self.shape();
        if shape.len() != 2 || targets.len() != shape[0] {
            panic!("softmax_cross_entropy: {} targets for logits of shape {shape:?}", targets.len());
        }
        if let Some((at, t)) = targets.iter().enumerate().find(|&(_, &t)| t >= shape[1]) {
            panic!(
                "softmax_cross_entropy: target {t} at position {at} is out of range for {} classes",
                shape[1]
            );
        }
        let y = cross_entropy_value(&self.tape.node(self.id).value, targets);
        self.tape.push(Op::Fused(Fused::SoftmaxCrossEntropy(targets.into())), &[self.id], y)
    }
}

/// `(1/N) Σₙ (logsumexp xₙ - xₙ[tₙ])` as a 0-d tensor, each row's terms summed in f64.
fn cross_entropy_value<F: Float>(x: &Tensor<F>, targets: &[usize]) -> Tensor<F> {
    let x = x.view().into_dimensionality::<Ix2>().expect("checked 2-D");
    let total: f64 = x
        .axis_iter(Axis(0))
        .zip(targets)
        .map(|(row, &t)| {
            let max = row.iter().fold(F::neg_infinity(), |m, &v| if v > m { v } else { m });
            let sum: F = row.iter().map(|&v| (v - max).exp()).fold(F::zero(), |a, e| a + e);
            (max + sum.ln() - row[t]).to_f64()
        })
        .sum();
    Tensor::scalar(F::from_f64(total / targets.len() as f64))
}

/// The one-hot matrix `[N, C]` of `targets`.
fn one_hot<F: Float>(targets: &[usize], classes: usize) -> Tensor<F> {
    let mut m = Array2::<F>::zeros((targets.len(), classes));
    for (row, &t) in m.axis_iter_mut(Axis(0)).zip(targets) {
        row.into_slice().expect("a row of a fresh matrix")[t] = F::one();
    }
    Tensor::from_array(m.into_dyn())
}

impl Fused {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Fused::Linear => "linear",
            Fused::SoftmaxCrossEntropy(_) => "softmax_cross_entropy",
            Fused::Norm(op) => op.name(),
            Fused::Recurrent(op) => op.name(),
        }
    }

    /// The inputs' gradients, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(
        &self,
        ctx: &Ctx<'t, F>,
        g: V,
    ) -> Grads<V> {
        match self {
            Fused::Norm(op) => op.backward(ctx, g),
            Fused::Recurrent(op) => op.backward(ctx, g),
            Fused::Linear => {
                let mut out = Grads::new();
                out.push(ctx.when(0, || g.clone().matmul(ctx.x(1))));
                out.push(ctx.when(1, || g.clone().t().matmul(ctx.x(0))));
                if ctx.inputs.len() == 3 {
                    out.push(ctx.when(2, || g.sum_axes(&[0], false)));
                }
                out
            }
            Fused::SoftmaxCrossEntropy(targets) => {
                let x: V = ctx.x(0);
                let shape = ctx.shape(0);
                let onehot = x.constant(one_hot(targets, shape[1]));
                let scale = g * F::from_f64(1.0 / shape[0] as f64);
                one((x.softmax(1) - onehot) * scale)
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
