//! Fused row ops on Vars: layer and RMS normalisation over trailing dimensions (batch norm, over the
//! batch, is in `norm/batch.rs`), and the fused backward kernels of softmax and log-softmax recorded
//! as nodes of their own, so that higher orders work.
//!
//! norm: x̂ = (x - μ) r (layer) or x r (RMS), r = 1 / √(σ² + ε) or 1 / √(mean x² + ε), y = x̂ γ + β;
//! with a = g γ: gx = r (a - mean a - x̂ mean(a x̂)) (RMS: no `mean a`), gγ = Σ g x̂, gβ = Σ g.
//! softmax_grad(y, g) = y (g - Σ g y): its rule gives gy = h (g - Σ g y) - g Σ h y, gg = softmax_grad(y, h).
//! log_softmax_grad(x, g) = g - p Σ g, p = softmax x: gx = -softmax_grad(p, h) Σ g, gg = h - Σ h p.
//!
//! On tensors (first-order `backward`/`grad`) each rule runs one fused kernel; on Vars the
//! normalisations' rules are written out in Var ops (so `grad_graph` can differentiate them again),
//! agreeing with the kernel to rounding, while the softmax kernels record a node whose value is the
//! kernel's, so both paths give the same bits.

use wengert_tensor::{Float, Norm, NormGrads, Tensor};

use crate::op::{Ctx, Grads, Op};
use crate::ops::fused::Fused;
use crate::var::Var;

/// A fused row op and what its rule needs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NormOp {
    /// `norm` over the last `k` dims, inputs `[x]`, `[x, weight]` or `[x, weight, bias]`.
    Norm { norm: Norm, k: usize, eps: f64, weight: bool, bias: bool },
    /// Batch norm in training over `[N, C]` or `[N, C, L]`, inputs `[x]`, `[x, weight]` or
    /// `[x, weight, bias]` (see `norm/batch.rs`).
    BatchNorm { eps: f64, weight: bool, bias: bool },
    /// `softmax_grad(y, g)` along an axis, inputs `[y, g]`.
    SoftmaxGrad(usize),
    /// `log_softmax_grad(x, g)` along an axis, inputs `[x, g]`.
    LogSoftmaxGrad(usize),
}

impl<'t, F: Float> Var<'t, F> {
    /// Layer normalisation over the last `k` dimensions, `(x - μ) / √(σ² + eps) · weight + bias`
    /// with the biased variance σ², as one fused op (PyTorch's `layer_norm`): `weight` and `bias`, of
    /// the last `k` dimensions' shape, are optional.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 3.0], &[1, 2]).unwrap());
    /// let w = tape.var(Tensor::from_vec(vec![2.0, 2.0], &[2]).unwrap());
    /// let y = x.layer_norm(1, Some(w), None, 0.0);
    /// assert_eq!(y.value().to_vec(), vec![-2.0, 2.0]);
    /// assert_eq!(y.sum().backward()[w].to_vec(), vec![-1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `k` is 0 or exceeds the number of dimensions, or `weight` or `bias` is not of the last `k`
    /// dimensions' shape.
    #[track_caller]
    pub fn layer_norm(self, k: usize, weight: Option<Self>, bias: Option<Self>, eps: f64) -> Self {
        self.normalize(Norm::Layer, k, weight, bias, eps)
    }

    /// RMS normalisation over the last `k` dimensions, `x / √(mean x² + eps) · weight`, as one fused
    /// op (PyTorch's `rms_norm`); `weight`, of the last `k` dimensions' shape, is optional.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![3.0, 4.0], &[2]).unwrap());
    /// let y = x.rms_norm(1, None, 0.0).value().to_vec();
    /// assert!((y[1] - 4.0 / 12.5f64.sqrt()).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Var::layer_norm`].
    #[track_caller]
    pub fn rms_norm(self, k: usize, weight: Option<Self>, eps: f64) -> Self {
        self.normalize(Norm::Rms, k, weight, None, eps)
    }

    #[track_caller]
    fn normalize(self, norm: Norm, k: usize, weight: Option<Self>, bias: Option<Self>, eps: f64) -> Self {
        let mut ids = vec![self.id];
        ids.extend(weight.map(|w| w.id));
        ids.extend(bias.map(|b| b.id));
        let vars: Vec<Self> = ids.iter().map(|&id| Var::new(self.tape, id)).collect();
        self.tape.check_same(norm.name(), &vars);
        if bias.is_some() && weight.is_none() {
            // The inputs are positional: a bias alone is passed as a weight of ones.
            let shape = self.shape();
            let ones = self.constant(Tensor::ones(&shape[shape.len().saturating_sub(k)..]));
            return self.normalize(norm, k, Some(ones), bias, eps);
        }
        let y = {
            let nodes = self.tape.nodes.borrow();
            let value = |v: Option<Self>| v.map(|v| &nodes[v.id].value);
            nodes[self.id].value.normalize(norm, k, value(weight), value(bias), eps)
        };
        let op = NormOp::Norm { norm, k, eps, weight: weight.is_some(), bias: bias.is_some() };
        self.tape.push(Op::Fused(Fused::Norm(op)), &ids, y)
    }

    /// The fused softmax backward `y (g - Σ g y)` along `axis`, for `self` the output's gradient `g`.
    pub(crate) fn softmax_grad(self, y: Self, axis: usize) -> Self {
        let value = {
            let nodes = self.tape.nodes.borrow();
            nodes[y.id].value.softmax_backward(&nodes[self.id].value, axis)
        };
        self.tape.push(Op::Fused(Fused::Norm(NormOp::SoftmaxGrad(axis))), &[y.id, self.id], value)
    }

    /// The fused log-softmax backward `g - softmax(x) Σ g` along `axis`, for `self` the gradient `g`.
    pub(crate) fn log_softmax_grad(self, x: Self, axis: usize) -> Self {
        let value = {
            let nodes = self.tape.nodes.borrow();
            nodes[x.id].value.log_softmax_backward(&nodes[self.id].value, axis)
        };
        self.tape.push(Op::Fused(Fused::Norm(NormOp::LogSoftmaxGrad(axis))), &[x.id, self.id], value)
    }
}

impl NormOp {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            NormOp::Norm { norm, .. } => norm.name(),
            NormOp::BatchNorm { .. } => "batch_norm",
            NormOp::SoftmaxGrad(_) => "softmax_grad",
            NormOp::LogSoftmaxGrad(_) => "log_softmax_grad",
        }
    }

    /// The inputs' gradients, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(
        &self,
        ctx: &Ctx<'t, F>,
        g: V,
    ) -> Grads<V> {
        match *self {
            NormOp::Norm { norm, k, eps, weight, bias } => {
                norm_backward(ctx, g, (norm, k, eps), weight, bias)
            }
            NormOp::BatchNorm { eps, weight, bias } => batch::batch_norm_backward(ctx, g, eps, weight, bias),
            NormOp::SoftmaxGrad(axis) => {
                let (y, gy): (V, V) = (ctx.x(0), ctx.x(1));
                ctx.pair(
                    g,
                    |h| {
                        let s = (gy.clone() * y.clone()).sum_axes(&[axis], true);
                        let t = (h.clone() * y.clone()).sum_axes(&[axis], true);
                        h * (gy.clone() - s) - gy.clone() * t
                    },
                    |h| h.softmax_grad(&y, axis),
                )
            }
            NormOp::LogSoftmaxGrad(axis) => {
                let (x, gx): (V, V) = (ctx.x(0), ctx.x(1));
                let p = x.softmax(axis);
                ctx.pair(
                    g,
                    |h| h.softmax_grad(&p, axis) * (-gx.clone().sum_axes(&[axis], true)),
                    |h| h.clone() - (h * p.clone()).sum_axes(&[axis], true),
                )
            }
        }
    }
}

/// The gradients a fused backward kernel computed (`x`'s, then the weight's and the bias's where the op
/// has them) as constants for the sweep: the first-order path of the normalisations' rules.
fn kernel_grads<'t, F: Float, V: crate::value::Value<'t, F>>(
    ctx: &Ctx<'t, F>,
    g: &V,
    grads: NormGrads<F>,
    weight: bool,
    bias: bool,
) -> Grads<V> {
    let mut out = Grads::new();
    out.push(ctx.when(0, || g.constant(grads.x)));
    if weight {
        out.push(ctx.when(1, || g.constant(grads.weight)));
    }
    if bias {
        out.push(ctx.when(2, || g.constant(grads.bias)));
    }
    out
}

/// The rule of a normalisation: the fused kernel on tensors, the same formulas in Var ops on Vars.
fn norm_backward<'t, F: Float, V: crate::value::Value<'t, F>>(
    ctx: &Ctx<'t, F>,
    g: V,
    (norm, k, eps): (Norm, usize, f64),
    weight: bool,
    bias: bool,
) -> Grads<V> {
    let mut out = Grads::new();
    if !V::RECORDED {
        let grads = {
            let nodes = ctx.tape.nodes.borrow();
            let w = weight.then(|| &nodes[ctx.inputs[1]].value);
            nodes[ctx.inputs[0]].value.normalize_backward(&g.tensor(), norm, k, w, eps)
        };
        return kernel_grads(ctx, &g, grads, weight, bias);
    }
    let x: V = ctx.x(0);
    let shape = x.dims();
    let axes: Vec<usize> = (shape.len() - k..shape.len()).collect();
    let trailing = &shape[shape.len() - k..];
    let inv_d = F::from_f64(1.0 / trailing.iter().product::<usize>() as f64);
    let mean = |v: V| v.sum_axes(&axes, true) * inv_d;
    let centred = match norm {
        Norm::Layer => x.clone() - mean(x),
        Norm::Rms => x,
    };
    let r = (mean(centred.clone().square()) + F::from_f64(eps)).powf(F::from_f64(-0.5));
    let hat = centred * r.clone();
    let a = if weight { g.clone() * ctx.x::<V>(1) } else { g.clone() };
    out.push(ctx.when(0, || {
        let ax = mean(a.clone() * hat.clone());
        let a = if norm == Norm::Layer { a.clone() - mean(a.clone()) } else { a.clone() };
        r.clone() * (a - hat.clone() * ax)
    }));
    if weight {
        out.push(ctx.when(1, || (g.clone() * hat.clone()).sum_to_shape(trailing)));
    }
    if bias {
        out.push(ctx.when(2, || g.clone().sum_to_shape(trailing)));
    }
    out
}

mod batch;

#[cfg(test)]
pub(crate) mod tests;
