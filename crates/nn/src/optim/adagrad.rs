//! Adagrad, as PyTorch's `torch.optim.Adagrad`: `g ← g + λp`, `ηₜ = η / (1 + (t − 1)·δ)`,
//! `s ← s + g²`, `p ← p − ηₜ g / (√s + ε)`.

use wengert_tensor::{Float, fused_update};

use super::core::{SlotSpec, Update, check};
use super::rule::{Rule, RuleOptimizer, sealed};
use crate::param::Param;

/// Adagrad with learning-rate decay δ (default 0), initial accumulator value (default 0), ε (default
/// 10⁻¹⁰) and L2 weight decay λ (default 0), as PyTorch's `Adagrad`. The decay counts each
/// parameter's own steps `t`.
///
/// State: `sum`. The clipping, checks and [`Optimizer`](super::Optimizer) methods are
/// [`RuleOptimizer`]'s.
///
/// ```
/// use wengert::nn::optim::{Adagrad, Optimizer};
/// use wengert::nn::{Param, TapeParam};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let w = Param::new("w", Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap());
/// let mut opt = Adagrad::new(vec![w.clone()], 0.1);
/// let tape = Tape::new();
/// let x = tape.param(&w);
/// opt.step(&(x * x).sum().backward()).unwrap(); // g = 2, s = 4
/// assert!((w.value().item() - (1.0 - 0.1 * 2.0 / (2.0 + 1e-10))).abs() < 1e-15);
/// ```
pub type Adagrad<F = f32> = RuleOptimizer<AdagradRule, F>;

/// The settings and update of [`Adagrad`].
#[derive(Debug, Clone, Copy)]
pub struct AdagradRule {
    lr_decay: f64,
    initial: f64,
    eps: f64,
    weight_decay: f64,
}

impl<F: Float> Adagrad<F> {
    /// Adagrad with learning rate `lr` (PyTorch's default is 0.01) and PyTorch's defaults otherwise.
    ///
    /// # Panics
    ///
    /// When `lr` is negative or not finite, or two parameters share a name.
    #[track_caller]
    pub fn new(params: Vec<Param<F>>, lr: f64) -> Self {
        let rule = AdagradRule { lr_decay: 0.0, initial: 0.0, eps: 1e-10, weight_decay: 0.0 };
        RuleOptimizer::with_rule(params, lr, rule)
    }

    /// The learning-rate decay δ: step `t` uses `η / (1 + (t − 1)δ)` (default 0).
    ///
    /// # Panics
    ///
    /// When `lr_decay` is negative or not finite.
    #[track_caller]
    pub fn lr_decay(mut self, lr_decay: f64) -> Self {
        check(lr_decay.is_finite() && lr_decay >= 0.0, "Adagrad", "lr decay", lr_decay);
        self.rule_mut().lr_decay = lr_decay;
        self
    }

    /// The value the accumulator `sum` starts from (default 0).
    ///
    /// # Panics
    ///
    /// When `value` is negative or not finite.
    #[track_caller]
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        check(value.is_finite() && value >= 0.0, "Adagrad", "initial accumulator value", value);
        self.rule_mut().initial = value;
        self
    }

    /// The ε added to the root (default 10⁻¹⁰).
    ///
    /// # Panics
    ///
    /// When `eps` is negative or not finite.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Self {
        check(eps.is_finite() && eps >= 0.0, "Adagrad", "eps", eps);
        self.rule_mut().eps = eps;
        self
    }

    /// The L2 weight decay λ added to the gradient, `g + λp` (default 0).
    ///
    /// # Panics
    ///
    /// When `weight_decay` is negative or not finite.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        check(weight_decay.is_finite() && weight_decay >= 0.0, "Adagrad", "weight decay", weight_decay);
        self.rule_mut().weight_decay = weight_decay;
        self
    }
}

impl sealed::Sealed for AdagradRule {}

impl<F: Float> Rule<F> for AdagradRule {
    fn kind(&self) -> &'static str {
        "adagrad"
    }

    fn who(&self) -> &'static str {
        "Adagrad"
    }

    fn slots(&self) -> Vec<SlotSpec> {
        vec![("sum", self.initial)]
    }

    fn update(&self, lr: f64, u: Update<'_, F>) {
        let (eps, wd) = (F::from_f64(self.eps), F::from_f64(self.weight_decay));
        let clr = F::from_f64(lr / (1.0 + (u.t - 1) as f64 * self.lr_decay));
        if self.weight_decay != 0.0 {
            update::<F, true>(u, clr, eps, wd)
        } else {
            update::<F, false>(u, clr, eps, wd)
        }
    }
}

/// One pass over (p, g, s) with step size `clr`; `L2` is a type parameter so the loop is branch-free.
#[inline(always)]
fn update<F: Float, const L2: bool>(u: Update<'_, F>, clr: F, eps: F, wd: F) {
    let prep = u.prep;
    let [s] = u.bufs else { unreachable!("adagrad has one slot") };
    fused_update([u.p, s], [u.g], |[p, s], [g]| {
        let g = if L2 { prep.apply(g) + wd * *p } else { prep.apply(g) };
        *s += g * g;
        *p -= clr * (g / (s.sqrt() + eps));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;
    use crate::optim::core::testing::{assert_close, g, grads, param};

    const P0: [f64; 3] = [1.0, -2.0, 0.5];
    const CS: [&[f64]; 3] = [&[1.0, -3.0, 0.5], &[0.0, 0.0, 0.0], &[-1.0, 5.0, 0.0]];

    fn run(opt: impl FnOnce(Vec<Param<f64>>) -> Adagrad<f64>, cs: &[&[f64]]) -> Vec<f64> {
        let p = param("p", &P0);
        let mut opt = opt(vec![p.clone()]);
        for c in cs {
            opt.step(&grads(&[&p], &[c])).unwrap();
        }
        p.value().to_vec()
    }

    /// PyTorch's Adagrad on scalars: (lr, lr decay, initial accumulator, eps, weight decay).
    fn reference(lr: f64, decay: f64, init: f64, eps: f64, wd: f64) -> Vec<f64> {
        let (mut p, mut s) = (P0.to_vec(), [init; 3]);
        for (k, c) in CS.iter().enumerate() {
            let clr = lr / (1.0 + k as f64 * decay);
            let gs = g(&p, c);
            for i in 0..3 {
                let gi = gs[i] + wd * p[i];
                s[i] += gi * gi;
                p[i] -= clr * gi / (s[i].sqrt() + eps);
            }
        }
        p
    }

    #[test]
    fn the_first_step_is_lr_times_g_over_abs_g() {
        let want: Vec<f64> =
            g(&P0, CS[0]).iter().zip(P0).map(|(g, p)| p - 0.1 * g / (g.abs() + 1e-10)).collect();
        assert_close(&run(|ps| Adagrad::new(ps, 0.1), &CS[..1]), &want);
    }

    #[test]
    fn lr_decay_divides_by_one_plus_steps_times_decay() {
        assert_close(&run(|ps| Adagrad::new(ps, 0.1), &CS), &reference(0.1, 0.0, 0.0, 1e-10, 0.0));
        assert_close(
            &run(|ps| Adagrad::new(ps, 0.1).lr_decay(0.5), &CS),
            &reference(0.1, 0.5, 0.0, 1e-10, 0.0),
        );
    }

    #[test]
    fn the_accumulator_starts_from_its_initial_value_and_weight_decay_is_l2() {
        let got =
            run(|ps| Adagrad::new(ps, 0.1).initial_accumulator_value(0.3).eps(1e-4).weight_decay(0.2), &CS);
        assert_close(&got, &reference(0.1, 0.0, 0.3, 1e-4, 0.2));
        let fresh = Adagrad::new(vec![param("p", &P0)], 0.1).initial_accumulator_value(0.3).state();
        assert_eq!(fresh.slots[1].value.to_vec(), vec![0.3; 3]);
    }

    #[test]
    fn state_round_trip_resumes_identically() {
        let (p, q) = (param("p", &P0), param("p", &P0));
        let mut a = Adagrad::new(vec![p.clone()], 0.1).lr_decay(0.5);
        a.step(&grads(&[&p], &[CS[0]])).unwrap();
        q.set(p.value());
        let mut b = Adagrad::new(vec![q.clone()], 0.1).lr_decay(0.5);
        b.load_state(&a.state()).unwrap();
        for c in &CS[1..] {
            a.step(&grads(&[&p], &[c])).unwrap();
            b.step(&grads(&[&q], &[c])).unwrap();
        }
        assert_eq!(p.value().to_vec(), q.value().to_vec());
    }
}
