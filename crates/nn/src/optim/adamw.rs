//! AdamW, as PyTorch's `torch.optim.AdamW`: weight decay decoupled from the gradient,
//! `p ← p(1 − ηλ)`, then Adam's `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
//! `p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)`.

use wengert_tensor::Float;

use super::adam_rule::AdamRule;
use super::rule::RuleOptimizer;
use crate::param::Param;

/// Adam with decoupled weight decay λ (default 0.01), betas (0.9, 0.999), ε = 10⁻⁸ and optional
/// AMSGrad, as PyTorch's `AdamW`. [`keras_epsilon`](RuleOptimizer::keras_epsilon) gives Keras' ε convention as for
/// [`Adam`](super::Adam) (Keras' `AdamW` decays the same way, `p ← p − ηλp`, before its update).
///
/// State: `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` with AMSGrad. It is [`Adam`](super::Adam)'s
/// rule with the decay decoupled: the settings [`betas`](RuleOptimizer::betas),
/// [`eps`](RuleOptimizer::eps), [`amsgrad`](RuleOptimizer::amsgrad) and
/// [`keras_epsilon`](RuleOptimizer::keras_epsilon) are Adam's; the state's kind is `adamw`.
///
/// ```
/// use wengert::nn::optim::{AdamW, Optimizer};
/// use wengert::nn::{Param, TapeParam};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let w = Param::new("w", Tensor::<f64>::from_vec(vec![2.0], &[1]).unwrap());
/// let mut opt = AdamW::new(vec![w.clone()], 0.1).weight_decay(0.5);
/// let tape = Tape::new();
/// let x = tape.param(&w);
/// opt.step(&(x * x).sum().backward()).unwrap();
/// // p(1 − ηλ) = 1.9, then the Adam step of about η.
/// assert!((w.value().item() - 1.8).abs() < 1e-8);
/// ```
pub type AdamW<F = f32> = RuleOptimizer<AdamRule<true>, F>;

impl<F: Float> AdamW<F> {
    /// AdamW with learning rate `lr` and PyTorch's defaults: weight decay 0.01, betas (0.9, 0.999),
    /// ε = 10⁻⁸.
    ///
    /// # Panics
    ///
    /// When `lr` is negative or not finite, or two parameters share a name.
    #[track_caller]
    pub fn new(params: Vec<Param<F>>, lr: f64) -> Self {
        RuleOptimizer::with_rule(params, lr, AdamRule::new(0.01))
    }

    /// The decoupled weight decay λ: `p ← p(1 − ηλ)` each step (default 0.01).
    ///
    /// # Panics
    ///
    /// When `weight_decay` is negative or not finite.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.rule_mut().set_weight_decay(weight_decay);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::adam_rule::reference::{DEFAULT, Ref, adam};
    use crate::optim::core::testing::{assert_close, g, grads, param};
    use crate::optim::{OptimError, Optimizer};

    const P0: [f64; 3] = [1.0, -2.0, 0.5];
    const CS: [&[f64]; 3] = [&[1.0, -3.0, 0.5], &[0.0, 0.0, 0.0], &[-1.0, 5.0, 0.0]];

    fn run(opt: impl FnOnce(Vec<Param<f64>>) -> AdamW<f64>, cs: &[&[f64]]) -> Vec<f64> {
        let p = param("p", &P0);
        let mut opt = opt(vec![p.clone()]);
        for c in cs {
            opt.step(&grads(&[&p], &[c])).unwrap();
        }
        p.value().to_vec()
    }

    #[test]
    fn the_first_step_decays_then_takes_the_adam_step() {
        let want: Vec<f64> = g(&P0, CS[0])
            .iter()
            .zip(P0)
            .map(|(g, p)| p * (1.0 - 0.01 * 0.01) - 0.01 * g / (g.abs() + 1e-8))
            .collect();
        assert_close(&run(|ps| AdamW::new(ps, 0.01), &CS[..1]), &want);
    }

    #[test]
    fn decoupled_weight_decay_follows_pytorch_over_three_steps() {
        assert_close(
            &run(|ps| AdamW::new(ps, 0.01), &CS),
            &adam(Ref { decoupled: 0.01, ..DEFAULT }, &P0, &CS),
        );
        let r = Ref { lr: 0.05, decoupled: 0.3, amsgrad: true, ..DEFAULT };
        assert_close(
            &run(|ps| AdamW::new(ps, 0.05).weight_decay(0.3).amsgrad(true), &CS),
            &adam(r, &P0, &CS),
        );
        let r = Ref { decoupled: 0.1, keras: true, eps: 1e-7, ..DEFAULT };
        let got = run(|ps| AdamW::new(ps, 0.01).weight_decay(0.1).keras_epsilon(true).eps(1e-7), &CS);
        assert_close(&got, &adam(r, &P0, &CS));
    }

    #[test]
    fn adamw_without_decay_is_adam() {
        let plain = run(|ps| AdamW::new(ps, 0.01).weight_decay(0.0), &CS);
        assert_close(&plain, &adam(DEFAULT, &P0, &CS));
        assert_ne!(plain, run(|ps| AdamW::new(ps, 0.01), &CS));
    }

    #[test]
    fn state_round_trip_resumes_identically_and_kinds_stay_apart() {
        let (p, q) = (param("p", &P0), param("p", &P0));
        let mut a = AdamW::new(vec![p.clone()], 0.01);
        a.step(&grads(&[&p], &[CS[0]])).unwrap();
        q.set(p.value());
        let mut b = AdamW::new(vec![q.clone()], 0.01);
        b.load_state(&a.state()).unwrap();
        a.step(&grads(&[&p], &[CS[1]])).unwrap();
        b.step(&grads(&[&q], &[CS[1]])).unwrap();
        assert_eq!(p.value().to_vec(), q.value().to_vec());
        let err = crate::optim::Adam::new(vec![q], 0.01).load_state(&a.state()).unwrap_err();
        assert_eq!(err, OptimError::KindMismatch { expected: "adam".into(), found: "adamw".into() });
    }
}
