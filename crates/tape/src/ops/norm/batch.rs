//! Batch normalisation in training as one fused op on Vars, `[N, C]` or `[N, C, L]` per channel.
//!
//! x̂ = (x - μ) r over the M = N·L values of each channel, r = 1 / √(σ² + ε) (σ² biased),
//! y = x̂ γ + β; with a = g γ: gx = r (a - mean a - x̂ mean(a x̂)), gγ = Σ g x̂, gβ = Σ g. On
//! tensors (first-order `backward`/`grad`) the rule is one fused kernel; on Vars the same formulas
//! are written in Var ops, so that `grad_graph` can differentiate them again.

use wengert_tensor::{Float, Tensor};

use super::{NormOp, kernel_grads};
use crate::op::{Ctx, Grads, Op};
use crate::ops::fused::Fused;
use crate::var::Var;

impl<'t, F: Float> Var<'t, F> {
    /// Batch normalisation in training (PyTorch's `batch_norm` with `training=True`) as one fused
    /// op: each channel of `self`, `[N, C]` or `[N, C, L]`, normalised by the mean and biased variance
    /// σ² of its `N · L` values, `(x - μ) / √(σ² + eps) · weight + bias`, with `weight` and `bias`
    /// (`[C]`) optional. Also returns the batch mean and biased variance (`[C]`, plain values off the
    /// graph), from which a layer updates its running statistics.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], &[2, 2]).unwrap());
    /// let w = tape.var(Tensor::from_vec(vec![2.0, 1.0], &[2]).unwrap());
    /// let (y, mean, var) = x.batch_norm(Some(w), None, 0.0);
    /// assert_eq!(y.value().to_vec(), vec![-2.0, -1.0, 2.0, 1.0]);
    /// assert_eq!((mean.to_vec(), var.to_vec()), (vec![2.0, 20.0], vec![1.0, 100.0]));
    /// assert_eq!((y * y).sum().backward()[w].to_vec(), vec![8.0, 4.0]); // Σ 2 y x̂
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is not 2-D or 3-D, has no values per channel (`N · L = 0`), or `weight` or `bias`
    /// is not `[C]`.
    #[track_caller]
    pub fn batch_norm(
        self,
        weight: Option<Self>,
        bias: Option<Self>,
        eps: f64,
    ) -> (Self, Tensor<F>, Tensor<F>) {
        let mut ids = vec![self.id];
        ids.extend(weight.map(|w| w.id));
        ids.extend(bias.map(|b| b.id));
        let vars: Vec<Self> = ids.iter().map(|&id| Var::new(self.tape, id)).collect();
        self.tape.check_same("batch_norm", &vars);
        if bias.is_some() && weight.is_none() {
            // The inputs are positional: a bias alone is passed as a weight of ones.
            let channels = self.shape().get(1).copied().unwrap_or(0);
            let ones = self.constant(Tensor::ones(&[channels]));
            return self.batch_norm(Some(ones), bias, eps);
        }
        let out = {
            let nodes = self.tape.nodes.borrow();
            let value = |v: Option<Self>| v.map(|v| &nodes[v.id].value);
            nodes[self.id].value.batch_norm(value(weight), value(bias), eps)
        };
        let op = NormOp::BatchNorm { eps, weight: weight.is_some(), bias: bias.is_some() };
        (self.tape.push(Op::Fused(Fused::Norm(op)), &ids, out.y), out.mean, out.var)
    }
}

/// The rule of batch norm: the fused kernel on tensors, the same formulas in Var ops on Vars.
pub(super) fn batch_norm_backward<'t, F: Float, V: crate::value::Value<'t, F>>(
    ctx: &Ctx<'t, F>,
    g: V,
    eps: f64,
    weight: bool,
    bias: bool,
) -> Grads<V> {
    let mut out = Grads::new();
    if !V::RECORDED {
        let grads = {
            let nodes = ctx.tape.nodes.borrow();
            let w = weight.then(|| &nodes[ctx.inputs[1]].value);
            nodes[ctx.inputs[0]].value.batch_norm_backward(&g.tensor(), w, eps)
        };
        return kernel_grads(ctx, &g, grads, weight, bias);
    }
    let x: V = ctx.x(0);
    let shape = x.dims();
    // The statistics run over the batch (and length); `[C]` broadcasts against `[N, C, L]` as `[C, 1]`.
    let (axes, column): (&[usize], Vec<usize>) =
        if shape.len() == 2 { (&[0], vec![shape[1]]) } else { (&[0, 2], vec![shape[1], 1]) };
    let inv_m = F::from_f64(1.0 / axes.iter().map(|&a| shape[a]).product::<usize>() as f64);
    let mean = |v: V| v.sum_axes(axes, true) * inv_m;
    let centred = x.clone() - mean(x);
    let r = (mean(centred.clone().square()) + F::from_f64(eps)).powf(F::from_f64(-0.5));
    let hat = centred * r.clone();
    let a = if weight { g.clone() * ctx.x::<V>(1).reshape(&column) } else { g.clone() };
    out.push(ctx.when(0, || {
        let ax = mean(a.clone() * hat.clone());
        r.clone() * (a.clone() - mean(a.clone()) - hat.clone() * ax)
    }));
    if weight {
        out.push(ctx.when(1, || (g.clone() * hat.clone()).sum_axes(axes, false)));
    }
    if bias {
        out.push(ctx.when(2, || g.clone().sum_axes(axes, false)));
    }
    out
}

#[cfg(test)]
mod tests;
