//! The update Adam and AdamW share, as PyTorch computes it: `p ← p(1 − ηλ_d)` (AdamW's decoupled
//! decay), `g ← g + λp` (Adam's L2), `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
//! `v̂max ← max(v̂max, v)` (AMSGrad), `p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)`; or, with Keras'
//! ε, `m += (g − m)(1 − β₁)`, `v += (g² − v)(1 − β₂)`, `p ← p − η√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)`.

use rayon::prelude::*;
use wengert_tensor::ndarray::Zip;
use wengert_tensor::{Float, PAR_THRESHOLD};

use super::core::{Core, SlotSpec, Update, check};
use super::{OptimError, StepReport};
use crate::param::GradientsParam;

/// The settings of Adam and AdamW, and their update.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamRule {
    who: &'static str,
    beta1: f64,
    beta2: f64,
    eps: f64,
    amsgrad: bool,
    keras: bool,
    /// L2 weight decay, added to the gradient (Adam).
    l2: f64,
    /// Decoupled weight decay, `p ← p(1 − ηλ)` (AdamW).
    decoupled: f64,
}

impl AdamRule {
    /// PyTorch's defaults, without weight decay.
    pub fn new(who: &'static str) -> Self {
        AdamRule {
            who,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            amsgrad: false,
            keras: false,
            l2: 0.0,
            decoupled: 0.0,
        }
    }

    #[track_caller]
    pub fn set_betas(&mut self, beta1: f64, beta2: f64) {
        check((0.0..1.0).contains(&beta1), self.who, "beta1", beta1);
        check((0.0..1.0).contains(&beta2), self.who, "beta2", beta2);
        (self.beta1, self.beta2) = (beta1, beta2);
    }

    #[track_caller]
    pub fn set_eps(&mut self, eps: f64) {
        check(eps.is_finite() && eps >= 0.0, self.who, "eps", eps);
        self.eps = eps;
    }

    #[track_caller]
    pub fn set_weight_decay(&mut self, weight_decay: f64, decoupled: bool) {
        check(weight_decay.is_finite() && weight_decay >= 0.0, self.who, "weight decay", weight_decay);
        if decoupled { self.decoupled = weight_decay } else { self.l2 = weight_decay }
    }

    pub fn set_amsgrad(&mut self, on: bool) {
        self.amsgrad = on;
    }

    pub fn set_keras(&mut self, on: bool) {
        self.keras = on;
    }

    pub fn spec(&self) -> &'static [SlotSpec] {
        const PLAIN: &[SlotSpec] = &[("exp_avg", 0.0), ("exp_avg_sq", 0.0)];
        const AMSGRAD: &[SlotSpec] = &[("exp_avg", 0.0), ("exp_avg_sq", 0.0), ("max_exp_avg_sq", 0.0)];
        if self.amsgrad { AMSGRAD } else { PLAIN }
    }

    /// One step: every element of a parameter in one pass over (p, g, m, v[, v̂max]).
    pub fn step<F: Float>(
        &self,
        core: &mut Core<F>,
        grads: &dyn GradientsParam<F>,
    ) -> Result<StepReport, OptimError> {
        let f = F::from_f64;
        let lr = core.lr;
        let (b2, c1, c2, eps) = (f(self.beta2), f(1.0 - self.beta1), f(1.0 - self.beta2), f(self.eps));
        let (wd, shrink) = (f(self.l2), f(1.0 - lr * self.decoupled));
        let (beta1, beta2, keras, l2) = (self.beta1, self.beta2, self.keras, self.l2 != 0.0);
        core.step(grads, self.spec(), |u| {
            let t = u.t as f64;
            let (bc1, bc2) = (1.0 - beta1.powf(t), 1.0 - beta2.powf(t));
            // PyTorch: step size η/(1 − β₁ᵗ) and √(1 − β₂ᵗ); Keras: ηₜ = η√(1 − β₂ᵗ)/(1 − β₁ᵗ).
            let (step_size, bc2_sqrt, alpha) = (f(lr / bc1), f(bc2.sqrt()), f(lr * bc2.sqrt() / bc1));
            let k = Consts { b2, c1, c2, eps, wd, shrink, step_size, bc2_sqrt, alpha };
            match (keras, l2) {
                (false, false) => update::<F, false, false>(u, k),
                (false, true) => update::<F, false, true>(u, k),
                (true, false) => update::<F, true, false>(u, k),
                (true, true) => update::<F, true, true>(u, k),
            }
        })
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

/// Matching chunks of (p, g, m, v), as rayon's zipped chunk iterators hand them out.
type Chunks<'a, F> = (((&'a mut [F], &'a [F]), &'a mut [F]), &'a mut [F]);

/// One chunk's slice loop. pulp's dispatch runs it inside a function compiled for the widest SIMD the
/// CPU has (AVX-512 or AVX2 where present), so the loop vectorises with those lanes instead of the
/// baseline SSE2; each element's arithmetic is the same, so are the results.
struct Chunk<'a, F, R> {
    p: &'a mut [F],
    g: &'a [F],
    m: &'a mut [F],
    v: &'a mut [F],
    rule: &'a R,
}

impl<F: Float, R: Fn(&mut F, F, &mut F, &mut F, Option<&mut F>)> pulp::WithSimd for Chunk<'_, F, R> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        for (((p, &g), m), v) in self.p.iter_mut().zip(self.g).zip(self.m.iter_mut()).zip(self.v.iter_mut()) {
            (self.rule)(p, g, m, v, None);
        }
    }
}

/// Elements per rayon task of a parallel update (32 KiB of each of p, g, m, v in f32).
const CHUNK: usize = 8192;

/// One pass over (p, g, m, v[, v̂max]), on the rayon pool for large parameters; the variant is a type parameter so that each inner loop is
/// branch-free and vectorises.
#[inline(always)]
fn update<F: Float, const KERAS: bool, const L2: bool>(u: Update<'_, F>, k: Consts<F>) {
    let prep = u.prep;
    let rule = |p: &mut F, g: F, m: &mut F, v: &mut F, vmax: Option<&mut F>| {
        let x = *p * k.shrink;
        let g = if L2 { prep.apply(g) + k.wd * x } else { prep.apply(g) };
        *m = *m + k.c1 * (g - *m);
        *v = if KERAS { *v + (g * g - *v) * k.c2 } else { *v * k.b2 + k.c2 * g * g };
        let v = match vmax {
            Some(vmax) => {
                // max(v̂max, v), NaN-propagating as torch.maximum; stored unconditionally, to vectorise.
                *vmax = if *vmax < *v || v.is_nan() { *v } else { *vmax };
                *vmax
            }
            None => *v,
        };
        *p = if KERAS {
            x - (*m * k.alpha) / (v.sqrt() + k.eps)
        } else {
            x - k.step_size * (*m / (v.sqrt() / k.bc2_sqrt + k.eps))
        };
    };
    // Large parameters are split across the rayon pool: every element's update is independent, so
    // the result does not depend on the number of threads.
    let par = u.g.len() >= PAR_THRESHOLD;
    match u.bufs {
        [m, v] => {
            let slices = (u.p.as_slice_mut(), u.g.as_slice(), m.as_slice_mut(), v.as_slice_mut());
            if let (Some(p), Some(g), Some(m), Some(v)) = slices {
                // All four row-major: plain slice loops, which vectorise, in chunks across the pool.
                let run = |(((p, g), m), v): Chunks<'_, F>| {
                    pulp::Arch::new().dispatch(Chunk { p, g, m, v, rule: &rule });
                };
                if par {
                    p.par_chunks_mut(CHUNK)
                        .zip(g.par_chunks(CHUNK))
                        .zip(m.par_chunks_mut(CHUNK))
                        .zip(v.par_chunks_mut(CHUNK))
                        .for_each(run);
                } else {
                    run((((p, g), m), v));
                }
                return;
            }
            let zip = Zip::from(u.p).and(&u.g).and(m).and(v);
            if par {
                zip.par_for_each(|p, &g, m, v| rule(p, g, m, v, None))
            } else {
                zip.for_each(|p, &g, m, v| rule(p, g, m, v, None))
            }
        }
        [m, v, vmax] => {
            let zip = Zip::from(u.p).and(&u.g).and(m).and(v).and(vmax);
            if par {
                zip.par_for_each(|p, &g, m, v, w| rule(p, g, m, v, Some(w)))
            } else {
                zip.for_each(|p, &g, m, v, w| rule(p, g, m, v, Some(w)))
            }
        }
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
