//! The fused gate arithmetic of a GRU step on Vars, one op where the composite records a dozen.
//!
//! gru_cell(xp, hp, h, b): with hp + b split into gates r, z, n as xp is, r = σ(xp_r + hp_r),
//! z = σ(xp_z + hp_z), n = tanh(xp_n + r hp_n), h' = n + z (h - n). Its rule, with g the gradient of
//! h': gh = g z, ga = (g - g z)(1 - n²), gz = g (h - n), and for the gates r, z the sigmoids'
//! gradients of ga hp_n and gz, for n: ga (to xp) and ga r (to hp and, summed over the batch, b).
//!
//! On tensors (first-order `backward`/`grad`) the rule is one fused kernel that forms every partial
//! sum as the composite's sweep does, so that the fused step gives the composite's bits, forward and
//! backward; on Vars it is written out in Var ops (so `grad_graph` can differentiate it again) that
//! compute the same numbers.

use wengert_tensor::Float;

use crate::op::{Ctx, Grads, Op};
use crate::ops::fused::Fused;
use crate::ops::unary::{Unary, UnaryGrad};
use crate::var::Var;

/// A fused recurrent op.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RecurrentOp {
    /// A GRU step's gates, inputs `[xp, hp, h]` or `[xp, hp, h, bias]`.
    GruCell,
}

impl<'t, F: Float> Var<'t, F> {
    /// The gate arithmetic of one GRU step as one op (what `nn::Gru` records per time step), with
    /// `self` the projected input `xp = x W_ihᵀ + b_ih` `[batch, 3 · hidden]` (gates r, z, n in
    /// PyTorch's order), `hp` the projected state `h W_hhᵀ` `[batch, 3 · hidden]`, `bias` the optional
    /// `b_hh` `[3 · hidden]` added to it and `h` the state `[batch, hidden]`: r = σ(xp_r + hp_r),
    /// z = σ(xp_z + hp_z), n = tanh(xp_n + r hp_n), h' = n + z (h - n). The value and the first-order
    /// gradients are those of the same formula in Var ops, bit for bit; every order differentiates.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let xp = tape.var(Tensor::zeros(&[1, 3]));
    /// let hp = tape.var(Tensor::zeros(&[1, 3]));
    /// let h = tape.var(Tensor::from_vec(vec![2.0], &[1, 1]).unwrap());
    /// let y = xp.gru_cell(hp, h, None);
    /// assert_eq!(y.value().to_vec(), vec![1.0]); // r = z = 1/2, n = 0: h' = 2 / 2
    /// let grads = y.sum().backward();
    /// assert_eq!(grads[h].to_vec(), vec![0.5]);
    /// assert_eq!(grads[xp].to_vec(), vec![0.0, 0.5, 0.5]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `h` is not `[batch, hidden ≥ 1]`, `self` or `hp` is not `[batch, 3 · hidden]`, `bias` is not
    /// `[3 · hidden]`, or a Var belongs to another tape.
    #[track_caller]
    pub fn gru_cell(self, hp: Self, h: Self, bias: Option<Self>) -> Self {
        let mut ids = vec![self.id, hp.id, h.id];
        ids.extend(bias.map(|b| b.id));
        let vars: Vec<Self> = [hp, h].into_iter().chain(bias).collect();
        self.tape.check_same("gru_cell", &vars);
        let y = {
            let nodes = self.tape.nodes.borrow();
            let bias = bias.map(|b| &nodes[b.id].value);
            nodes[self.id].value.gru_cell(&nodes[hp.id].value, &nodes[h.id].value, bias)
        };
        self.tape.push(Op::Fused(Fused::Recurrent(RecurrentOp::GruCell)), &ids, y)
    }
}

impl RecurrentOp {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            RecurrentOp::GruCell => "gru_cell",
        }
    }

    /// The inputs' gradients, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(
        &self,
        ctx: &Ctx<'t, F>,
        g: V,
    ) -> Grads<V> {
        match self {
            RecurrentOp::GruCell => gru_cell_backward(ctx, g),
        }
    }
}

/// The rule of a GRU step: the fused kernel on tensors, the same formulas in Var ops on Vars. The
/// bias gets the projected state's gradient, which the sweep sums over the batch as it sums any
/// broadcast input's.
fn gru_cell_backward<'t, F: Float, V: crate::value::Value<'t, F>>(ctx: &Ctx<'t, F>, g: V) -> Grads<V> {
    let bias = ctx.inputs.len() == 4;
    let mut out = Grads::new();
    if !V::RECORDED {
        let grads = {
            let nodes = ctx.tape.nodes.borrow();
            let value = |k: usize| &nodes[ctx.inputs[k]].value;
            value(0).gru_cell_backward(value(1), value(2), bias.then(|| value(3)), &g.tensor())
        };
        let ghp = g.constant(grads.hp);
        out.push(ctx.when(0, || g.constant(grads.xp)));
        out.push(ctx.when(1, || ghp.clone()));
        out.push(ctx.when(2, || g.constant(grads.h)));
        if bias {
            out.push(ctx.when(3, || ghp));
        }
        return out;
    }
    let n = ctx.shape(2)[1];
    let (xp, hp, h): (V, V, V) = (ctx.x(0), ctx.x(1), ctx.x(2));
    let hp = if bias { hp + ctx.x::<V>(3) } else { hp };
    let rz = (xp.clone().narrow(1, 0, 2 * n) + hp.clone().narrow(1, 0, 2 * n)).sigmoid();
    let (r, z) = (rz.clone().narrow(1, 0, n), rz.narrow(1, n, n));
    let hn = hp.narrow(1, 2 * n, n);
    let c = (xp.narrow(1, 2 * n, n) + r.clone() * hn.clone()).unary_op(Unary::Tanh);
    let ga = (g.clone() - g.clone() * z.clone()).unary_grad(UnaryGrad::Tanh, &c);
    let gsr = (ga.clone() * hn).unary_grad(UnaryGrad::Sigmoid, &r);
    let gsz = (g.clone() * (h - c)).unary_grad(UnaryGrad::Sigmoid, &z);
    // The gates' pieces placed side by side along the last axis.
    let place = |v: V, at: usize| v.pad(&[(0, 0), (at * n, (2 - at) * n)], F::zero());
    let gs = place(gsr, 0) + place(gsz, 1);
    out.push(ctx.when(0, || gs.clone() + place(ga.clone(), 2)));
    let ghp = (ctx.needs[1] || bias && ctx.needs[3]).then(|| gs + place(ga * r, 2));
    out.push(ctx.when(1, || ghp.clone().expect("made when needed")));
    out.push(ctx.when(2, || g.clone() * z));
    if bias {
        out.push(ctx.when(3, || ghp.expect("made when needed")));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
