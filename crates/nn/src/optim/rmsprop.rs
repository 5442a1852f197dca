//! RMSprop, as PyTorch's `torch.optim.RMSprop`: `g ← g + λp`, `s ← αs + (1 − α)g²`; centered:
//! `ḡ ← αḡ + (1 − α)g`, `d = √(s − ḡ²) + ε`, else `d = √s + ε`; with momentum μ: `b ← μb + g/d`,
//! `p ← p − ηb`, else `p ← p − η g/d`.

use wengert_tensor::{Float, fused_update};

use super::core::{SlotSpec, Update, check};
use super::rule::{Rule, RuleOptimizer, sealed};
use crate::param::Param;

/// RMSprop with smoothing α (default 0.99), ε (default 10⁻⁸), momentum μ (default 0), the centered
/// variant (default off) and L2 weight decay λ (default 0), as PyTorch's `RMSprop` (ε is added after
/// the square root; the momentum buffer starts at zero).
///
/// State: `square_avg`, plus `grad_avg` when centered and `momentum_buffer` when μ > 0. The clipping,
/// checks and [`Optimizer`](super::Optimizer) methods are [`RuleOptimizer`]'s.
///
/// ```
/// use wengert::nn::optim::{Optimizer, RmsProp};
/// use wengert::nn::{Param, TapeParam};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let w = Param::new("w", Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap());
/// let mut opt = RmsProp::new(vec![w.clone()], 0.01).alpha(0.75);
/// let tape = Tape::new();
/// let x = tape.param(&w);
/// opt.step(&(x * x).sum().backward()).unwrap(); // g = 2, s = 0.25 · 4, p − η g/(√s + ε)
/// assert!((w.value().item() - (1.0 - 0.01 * 2.0 / (1.0 + 1e-8))).abs() < 1e-15);
/// ```
pub type RmsProp<F = f32> = RuleOptimizer<RmsPropRule, F>;

/// The former name of [`RmsProp`].
#[deprecated(since = "0.1.0", note = "renamed to RmsProp")]
pub type RMSprop<F = f32> = RmsProp<F>;

/// The settings and update of [`RmsProp`].
#[derive(Debug, Clone, Copy)]
pub struct RmsPropRule {
    alpha: f64,
    eps: f64,
    momentum: f64,
    centered: bool,
    weight_decay: f64,
}

impl<F: Float> RmsProp<F> {
    /// RMSprop with learning rate `lr` (PyTorch's default is 0.01) and PyTorch's defaults otherwise.
    ///
    /// # Panics
    ///
    /// When `lr` is negative or not finite, or two parameters share a name.
    #[track_caller]
    pub fn new(params: Vec<Param<F>>, lr: f64) -> Self {
        let rule = RmsPropRule { alpha: 0.99, eps: 1e-8, momentum: 0.0, centered: false, weight_decay: 0.0 };
        RuleOptimizer::with_rule(params, lr, rule)
    }

    /// The smoothing constant α of the squared-gradient average (default 0.99).
    ///
    /// # Panics
    ///
    /// When `alpha` lies outside `[0, 1]`.
    #[track_caller]
    pub fn alpha(mut self, alpha: f64) -> Self {
        check((0.0..=1.0).contains(&alpha), "RmsProp", "alpha", alpha);
        self.rule_mut().alpha = alpha;
        self
    }

    /// The ε added to the root (default 10⁻⁸).
    ///
    /// # Panics
    ///
    /// When `eps` is negative or not finite.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Self {
        check(eps.is_finite() && eps >= 0.0, "RmsProp", "eps", eps);
        self.rule_mut().eps = eps;
        self
    }

    /// The momentum μ (default 0).
    ///
    /// # Panics
    ///
    /// When `momentum` is negative or not finite.
    #[track_caller]
    pub fn momentum(mut self, momentum: f64) -> Self {
        check(momentum.is_finite() && momentum >= 0.0, "RmsProp", "momentum", momentum);
        self.rule_mut().momentum = momentum;
        self
    }

    /// The centered variant (default off): normalises by an estimate of the gradient's variance.
    pub fn centered(mut self, on: bool) -> Self {
        self.rule_mut().centered = on;
        self
    }

    /// The L2 weight decay λ added to the gradient, `g + λp` (default 0).
    ///
    /// # Panics
    ///
    /// When `weight_decay` is negative or not finite.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        check(weight_decay.is_finite() && weight_decay >= 0.0, "RmsProp", "weight decay", weight_decay);
        self.rule_mut().weight_decay = weight_decay;
        self
    }
}

impl sealed::Sealed for RmsPropRule {}

impl<F: Float> Rule<F> for RmsPropRule {
    fn kind(&self) -> &'static str {
        "rmsprop"
    }

    fn who(&self) -> &'static str {
        "RmsProp"
    }

    fn slots(&self) -> Vec<SlotSpec> {
        const S: SlotSpec = ("square_avg", 0.0);
        const A: SlotSpec = ("grad_avg", 0.0);
        const B: SlotSpec = ("momentum_buffer", 0.0);
        match (self.centered, self.momentum > 0.0) {
            (false, false) => vec![S],
            (true, false) => vec![S, A],
            (false, true) => vec![S, B],
            (true, true) => vec![S, A, B],
        }
    }

    fn update(&self, lr: f64, u: Update<'_, F>) {
        let f = F::from_f64;
        let k = Consts {
            lr: f(lr),
            alpha: f(self.alpha),
            c: f(1.0 - self.alpha),
            eps: f(self.eps),
            mu: f(self.momentum),
            wd: f(self.weight_decay),
            centered: self.centered,
        };
        if self.weight_decay != 0.0 { update::<F, true>(u, k) } else { update::<F, false>(u, k) }
    }
}
/// The constants of the update, in `F`.
#[derive(Clone, Copy)]
struct Consts<F> {
    lr: F,
    alpha: F,
    /// 1 − α.
    c: F,
    eps: F,
    mu: F,
    wd: F,
    /// With two slots: `grad_avg` (centered) or `momentum_buffer`.
    centered: bool,
}

/// One pass over (p, g, s[, ḡ][, b]), the slots present choosing the variant; `L2` is a type
/// parameter so that each inner loop is branch-free.
#[inline(always)]
fn update<F: Float, const L2: bool>(u: Update<'_, F>, k: Consts<F>) {
    let prep = u.prep;
    let rule = |p: &mut F, g: F, s: &mut F, avg: Option<&mut F>, b: Option<&mut F>| {
        let g = if L2 { prep.apply(g) + k.wd * *p } else { prep.apply(g) };
        *s = *s * k.alpha + k.c * g * g;
        let d = match avg {
            Some(avg) => {
                *avg = *avg + k.c * (g - *avg);
                (*s - *avg * *avg).sqrt() + k.eps
            }
            None => s.sqrt() + k.eps,
        };
        match b {
            Some(b) => {
                *b = *b * k.mu + g / d;
                *p -= k.lr * *b;
            }
            None => *p -= k.lr * (g / d),
        }
    };
    let (p, g) = (u.p, [u.g]);
    match u.bufs {
        [s] => fused_update([p, s], g, |[p, s], [g]| rule(p, g, s, None, None)),
        [s, avg] if k.centered => {
            fused_update([p, s, avg], g, |[p, s, avg], [g]| rule(p, g, s, Some(avg), None))
        }
        [s, b] => fused_update([p, s, b], g, |[p, s, b], [g]| rule(p, g, s, None, Some(b))),
        [s, avg, b] => {
            fused_update([p, s, avg, b], g, |[p, s, avg, b], [g]| rule(p, g, s, Some(avg), Some(b)))
        }
        _ => unreachable!("the buffers follow the spec"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;
    use crate::optim::core::testing::{assert_close, g, grads, param};

    const P0: [f64; 3] = [1.0, -2.0, 0.5];
    const CS: [&[f64]; 3] = [&[1.0, -3.0, 0.5], &[0.0, 0.0, 0.0], &[-1.0, 5.0, 0.0]];

    fn run(opt: impl FnOnce(Vec<Param<f64>>) -> RmsProp<f64>, cs: &[&[f64]]) -> Vec<f64> {
        let p = param("p", &P0);
        let mut opt = opt(vec![p.clone()]);
        for c in cs {
            opt.step(&grads(&[&p], &[c])).unwrap();
        }
        p.value().to_vec()
    }

    /// PyTorch's RMSprop on scalars: (lr, alpha, eps, momentum, centered, weight decay).
    fn reference(lr: f64, alpha: f64, eps: f64, mu: f64, centered: bool, wd: f64) -> Vec<f64> {
        let (mut p, mut s, mut avg, mut b) = (P0.to_vec(), [0.0; 3], [0.0; 3], [0.0; 3]);
        for c in CS {
            let gs = g(&p, c);
            for i in 0..3 {
                let gi = gs[i] + wd * p[i];
                s[i] = alpha * s[i] + (1.0 - alpha) * gi * gi;
                avg[i] = alpha * avg[i] + (1.0 - alpha) * gi;
                let d = if centered { (s[i] - avg[i] * avg[i]).sqrt() } else { s[i].sqrt() } + eps;
                b[i] = mu * b[i] + gi / d;
                p[i] -= lr * if mu > 0.0 { b[i] } else { gi / d };
            }
        }
        p
    }

    #[test]
    fn the_first_step_divides_by_the_root_of_one_minus_alpha_g_squared() {
        let want: Vec<f64> = g(&P0, CS[0])
            .iter()
            .zip(P0)
            .map(|(g, p)| p - 0.01 * g / ((0.01 * g * g).sqrt() + 1e-8))
            .collect();
        assert_close(&run(|ps| RmsProp::new(ps, 0.01), &CS[..1]), &want);
    }

    #[test]
    fn plain_rmsprop_follows_pytorch_over_three_steps() {
        assert_close(&run(|ps| RmsProp::new(ps, 0.01), &CS), &reference(0.01, 0.99, 1e-8, 0.0, false, 0.0));
        let got = run(|ps| RmsProp::new(ps, 0.05).alpha(0.9).eps(1e-3).weight_decay(0.2), &CS);
        assert_close(&got, &reference(0.05, 0.9, 1e-3, 0.0, false, 0.2));
    }

    #[test]
    fn centered_rmsprop_subtracts_the_squared_mean_gradient() {
        assert_close(
            &run(|ps| RmsProp::new(ps, 0.01).centered(true), &CS),
            &reference(0.01, 0.99, 1e-8, 0.0, true, 0.0),
        );
    }

    #[test]
    fn momentum_accumulates_the_normalised_gradient() {
        let got = run(|ps| RmsProp::new(ps, 0.01).momentum(0.9), &CS);
        assert_close(&got, &reference(0.01, 0.99, 1e-8, 0.9, false, 0.0));
        let got = run(|ps| RmsProp::new(ps, 0.01).momentum(0.9).centered(true).weight_decay(0.1), &CS);
        assert_close(&got, &reference(0.01, 0.99, 1e-8, 0.9, true, 0.1));
    }

    #[test]
    fn state_round_trip_resumes_identically() {
        let (p, q) = (param("p", &P0), param("p", &P0));
        let make = |p: &Param<f64>| RmsProp::new(vec![p.clone()], 0.01).momentum(0.9).centered(true);
        let mut a = make(&p);
        a.step(&grads(&[&p], &[CS[0]])).unwrap();
        q.set(p.value());
        let mut b = make(&q);
        b.load_state(&a.state()).unwrap();
        for c in &CS[1..] {
            a.step(&grads(&[&p], &[c])).unwrap();
            b.step(&grads(&[&q], &[c])).unwrap();
        }
        assert_eq!(p.value().to_vec(), q.value().to_vec());
        let state = a.state();
        let slots: Vec<&str> = state.slots.iter().map(|s| s.slot.as_str()).collect();
        assert_eq!(slots, ["step", "square_avg", "grad_avg", "momentum_buffer"]);
        let err = RmsProp::new(vec![q], 0.01).load_state(&a.state()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "load_state (rmsprop): the state does not fit: unexpected `p/grad_avg`, `p/momentum_buffer`"
        );
    }
}
