//! The update Adam and AdamW share, as PyTorch computes it: `p ← p(1 − ηλ_d)` (AdamW's decoupled
//! decay), `g ← g + λp` (Adam's L2), `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
//! `v̂max ← max(v̂max, v)` (AMSGrad), `p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)`; or, with Keras'
//! ε, `m += (g − m)(1 − β₁)`, `v += (g² − v)(1 − β₂)`, `p ← p − η√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)`.
//! Each parameter's update is one [`fused_update`] pass.

use wengert_tensor::{Float, fused_update};

use super::core::{SlotSpec, Update, check};
use super::rule::{Rule, RuleOptimizer, sealed};

/// The settings and update of [`Adam`](super::Adam) (`DECOUPLED` false: L2 weight decay added to the
/// gradient) and [`AdamW`](super::AdamW) (`DECOUPLED` true: decoupled weight decay).
#[derive(Debug, Clone, Copy)]
pub struct AdamRule<const DECOUPLED: bool> {
    beta1: f64,
    beta2: f64,
    eps: f64,
    amsgrad: bool,
    keras: bool,
    /// λ: added to the gradient as `λp` (Adam), or `p ← p(1 − ηλ)` (AdamW).
    weight_decay: f64,
}

impl<const DECOUPLED: bool> AdamRule<DECOUPLED> {
    /// PyTorch's defaults with weight decay λ.
    pub(crate) fn new(weight_decay: f64) -> Self {
        AdamRule { beta1: 0.9, beta2: 0.999, eps: 1e-8, amsgrad: false, keras: false, weight_decay }
    }

    /// The type's name in panic messages.
    const WHO: &'static str = if DECOUPLED { "AdamW" } else { "Adam" };

    #[track_caller]
    pub(crate) fn set_weight_decay(&mut self, weight_decay: f64) {
        check(weight_decay.is_finite() && weight_decay >= 0.0, Self::WHO, "weight decay", weight_decay);
        self.weight_decay = weight_decay;
    }
}

/// The settings Adam and AdamW share.
impl<F: Float, const DECOUPLED: bool> RuleOptimizer<AdamRule<DECOUPLED>, F> {
    /// The decay rates (β₁, β₂) of the first and second moments (default (0.9, 0.999)).
    ///
    /// # Panics
    ///
    /// When a beta lies outside `[0, 1)`.
    #[track_caller]
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        let who = AdamRule::<DECOUPLED>::WHO;
        check((0.0..1.0).contains(&beta1), who, "beta1", beta1);
        check((0.0..1.0).contains(&beta2), who, "beta2", beta2);
        let rule = self.rule_mut();
        (rule.beta1, rule.beta2) = (beta1, beta2);
        self
    }

    /// The ε of the denominator (default 10⁻⁸); see [`Adam`](super::Adam)'s ε conventions.
    ///
    /// # Panics
    ///
    /// When `eps` is negative or not finite.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Self {
        check(eps.is_finite() && eps >= 0.0, AdamRule::<DECOUPLED>::WHO, "eps", eps);
        self.rule_mut().eps = eps;
        self
    }

    /// AMSGrad (default off): the denominator uses the running maximum of v.
    pub fn amsgrad(mut self, on: bool) -> Self {
        self.rule_mut().amsgrad = on;
        self
    }

    /// Keras' ε convention, `p ← p − η√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)` (default off: PyTorch's);
    /// see [`Adam`](super::Adam).
    pub fn keras_epsilon(mut self, on: bool) -> Self {
        self.rule_mut().keras = on;
        self
    }
}

impl<const DECOUPLED: bool> sealed::Sealed for AdamRule<DECOUPLED> {}

impl<F: Float, const DECOUPLED: bool> Rule<F> for AdamRule<DECOUPLED> {
    fn kind(&self) -> &'static str {
        if DECOUPLED { "adamw" } else { "adam" }
    }

    fn who(&self) -> &'static str {
        Self::WHO
    }

    fn slots(&self) -> Vec<SlotSpec> {
        let mut slots = vec![("exp_avg", 0.0), ("exp_avg_sq", 0.0)];
        if self.amsgrad {
            slots.push(("max_exp_avg_sq", 0.0));
        }
        slots
    }

    /// One pass over (p, g, m, v[, v̂max]).
    fn update(&self, lr: f64, u: Update<'_, F>) {
        let f = F::from_f64;
        let (l2, decoupled) = if DECOUPLED { (0.0, self.weight_decay) } else { (self.weight_decay, 0.0) };
        let (b2, c1, c2, eps) = (f(self.beta2), f(1.0 - self.beta1), f(1.0 - self.beta2), f(self.eps));
        let (wd, shrink) = (f(l2), f(1.0 - lr * decoupled));
        let t = u.t as f64;
        let (bc1, bc2) = (1.0 - self.beta1.powf(t), 1.0 - self.beta2.powf(t));
        // PyTorch: step size η/(1 − β₁ᵗ) and √(1 − β₂ᵗ); Keras: ηₜ = η√(1 − β₂ᵗ)/(1 − β₁ᵗ).
        let (step_size, bc2_sqrt, alpha) = (f(lr / bc1), f(bc2.sqrt()), f(lr * bc2.sqrt() / bc1));
        let k = Consts { b2, c1, c2, eps, wd, shrink, step_size, bc2_sqrt, alpha };
        match (self.keras, l2 != 0.0) {
            (false, false) => update::<F, false, false>(u, k),
            (false, true) => update::<F, false, true>(u, k),
            (true, false) => update::<F, true, false>(u, k),
            (true, true) => update::<F, true, true>(u, k),
        }
    }
}

/// The constants of one parameter's update, in `F`.
#[derive(Clone, Copy)]
struct Consts<F> {
    b2: F,
    c1: F,
    c2: F,
    eps: F,
    wd: F,
    /// `1 − ηλ` for decoupled decay, else exactly 1.
    shrink: F,
    step_size: F,
    bc2_sqrt: F,
    alpha: F,
}

/// One fused pass over (p, g, m, v[, v̂max]); the variant is a type parameter so that each inner loop
/// is branch-free and vectorises.
#[inline(always)]
fn update<F: Float, const KERAS: bool, const L2: bool>(u: Update<'_, F>, k: Consts<F>) {
    let prep = u.prep;
    let moments = move |x: F, g: F, m: &mut F, v: &mut F| {
        let g = if L2 { prep.apply(g) + k.wd * x } else { prep.apply(g) };
        *m = *m + k.c1 * (g - *m);
        *v = if KERAS { *v + (g * g - *v) * k.c2 } else { *v * k.b2 + k.c2 * g * g };
    };
    let step = move |x: F, m: F, v: F| {
        if KERAS {
            x - (m * k.alpha) / (v.sqrt() + k.eps)
        } else {
            x - k.step_size * (m / (v.sqrt() / k.bc2_sqrt + k.eps))
        }
    };
    match u.bufs {
        [m, v] => fused_update([u.p, m, v], [u.g], |[p, m, v], [g]| {
            let x = *p * k.shrink;
            moments(x, g, m, v);
            *p = step(x, *m, *v);
        }),
        [m, v, vmax] => fused_update([u.p, m, v, vmax], [u.g], |[p, m, v, vmax], [g]| {
            let x = *p * k.shrink;
            moments(x, g, m, v);
            // max(v̂max, v), NaN-propagating as torch.maximum; stored unconditionally, to vectorise.
            *vmax = if *vmax < *v || v.is_nan() { *v } else { *vmax };
            *p = step(x, *m, *vmax);
        }),
        _ => unreachable!("adam has two or three slots"),
    }
}

/// Reference formulas on scalars, shared by the Adam and AdamW tests.
#[cfg(test)]
pub(crate) mod reference {
    use crate::optim::core::testing::g;

    /// The settings of one reference run.
    #[derive(Clone, Copy)]
    pub struct Ref {
        pub lr: f64,
        pub b1: f64,
        pub b2: f64,
        pub eps: f64,
        pub l2: f64,
        pub decoupled: f64,
        pub amsgrad: bool,
        pub keras: bool,
    }

    pub const DEFAULT: Ref = Ref {
        lr: 0.01,
        b1: 0.9,
        b2: 0.999,
        eps: 1e-8,
        l2: 0.0,
        decoupled: 0.0,
        amsgrad: false,
        keras: false,
    };

    /// `p` after one step per `c` in `cs`, the gradient being `c + 2p` (see `testing::grads`).
    pub fn adam(r: Ref, p0: &[f64], cs: &[&[f64]]) -> Vec<f64> {
        let n = p0.len();
        let (mut p, mut m, mut v, mut vmax) =
            (p0.to_vec(), vec![0.0f64; n], vec![0.0f64; n], vec![0.0f64; n]);
        for (k, c) in cs.iter().enumerate() {
            let t = (k + 1) as i32;
            let gs = g(&p, c);
            for i in 0..n {
                p[i] *= 1.0 - r.lr * r.decoupled;
                let gi = gs[i] + r.l2 * p[i];
                m[i] = r.b1 * m[i] + (1.0 - r.b1) * gi;
                v[i] = r.b2 * v[i] + (1.0 - r.b2) * gi * gi;
                vmax[i] = vmax[i].max(v[i]);
                let vi = if r.amsgrad { vmax[i] } else { v[i] };
                let (bc1, bc2) = (1.0 - r.b1.powi(t), 1.0 - r.b2.powi(t));
                p[i] -= if r.keras {
                    r.lr * bc2.sqrt() / bc1 * m[i] / (vi.sqrt() + r.eps)
                } else {
                    r.lr * (m[i] / bc1) / ((vi / bc2).sqrt() + r.eps)
                };
            }
        }
        p
    }
}
