//! Adam, as PyTorch's `torch.optim.Adam`: `g ← g + λp`, `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
//! `v̂max ← max(v̂max, v)` (AMSGrad), `p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)`; or, with
//! `keras_epsilon`, Keras' `p ← p − η√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε)`. The update itself, shared
//! with [`AdamW`](super::AdamW), is in `adam_rule.rs`.

use wengert_tensor::Float;

use super::adam_rule::AdamRule;
use super::rule::RuleOptimizer;
use crate::param::Param;

/// Adam with bias correction, L2 weight decay λ (added to the gradient, default 0) and AMSGrad
/// (default off); betas default to (0.9, 0.999), ε to 10⁻⁸, as in PyTorch.
///
/// # The ε conventions
///
/// By default ε is added to the bias-corrected `√v̂` (PyTorch): `p ← p − η m̂ / (√v̂ + ε)` with
/// `m̂ = m/(1 − β₁ᵗ)`, `v̂ = v/(1 − β₂ᵗ)`. Keras adds ε to the uncorrected `√v` (the paper's "ε̂"):
/// `p ← p − ηₜ m / (√v + ε)` with `ηₜ = η√(1 − β₂ᵗ)/(1 − β₁ᵗ)`. The two differ only through ε: Keras'
/// ε acts like PyTorch's ε·√(1 − β₂ᵗ), larger early in training. [`keras_epsilon`](RuleOptimizer::keras_epsilon) selects
/// Keras' formula (also its arithmetic, `m += (g − m)(1 − β₁)`, `v += (g² − v)(1 − β₂)`);
/// [`Adam::keras`] also takes Keras' default ε = 10⁻⁷, so Keras' defaults reproduce Keras' training.
/// Weight decay stays the L2 term added to `g` in both (Keras' own `weight_decay` is decoupled: use
/// [`AdamW`](super::AdamW)).
///
/// State: `exp_avg` (m), `exp_avg_sq` (v), and `max_exp_avg_sq` with AMSGrad. The settings
/// [`betas`](RuleOptimizer::betas), [`eps`](RuleOptimizer::eps), [`amsgrad`](RuleOptimizer::amsgrad)
/// and [`keras_epsilon`](RuleOptimizer::keras_epsilon) are shared with [`AdamW`](super::AdamW); the
/// clipping, checks and [`Optimizer`](super::Optimizer) methods are [`RuleOptimizer`]'s.
///
/// ```
/// use wengert::nn::optim::{Adam, Optimizer};
/// use wengert::nn::{Param, TapeParam};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let w = Param::new("w", Tensor::<f64>::from_vec(vec![1.0, -1.0], &[2]).unwrap());
/// let mut opt = Adam::new(vec![w.clone()], 0.01).betas(0.9, 0.99);
/// let tape = Tape::new();
/// let x = tape.param(&w);
/// opt.step(&(x * x).sum().backward()).unwrap();
/// // The first step moves every weight by about lr, against its gradient's sign.
/// let v = w.value().to_vec();
/// assert!((v[0] - 0.99).abs() < 1e-8 && (v[1] + 0.99).abs() < 1e-8);
/// ```
pub type Adam<F = f32> = RuleOptimizer<AdamRule<false>, F>;

impl<F: Float> Adam<F> {
    /// Adam with learning rate `lr` and PyTorch's defaults: betas (0.9, 0.999), ε = 10⁻⁸, no weight decay.
    ///
    /// # Panics
    ///
    /// When `lr` is negative or not finite, or two parameters share a name.
    #[track_caller]
    pub fn new(params: Vec<Param<F>>, lr: f64) -> Self {
        RuleOptimizer::with_rule(params, lr, AdamRule::new(0.0))
    }

    /// Adam as Keras computes it: [`keras_epsilon`](RuleOptimizer::keras_epsilon) and Keras' ε = 10⁻⁷
    /// (Keras' default lr is 0.001).
    ///
    /// # Panics
    ///
    /// As [`Adam::new`].
    #[track_caller]
    pub fn keras(params: Vec<Param<F>>, lr: f64) -> Self {
        Adam::new(params, lr).keras_epsilon(true).eps(1e-7)
    }

    /// The L2 weight decay λ added to the gradient, `g + λp` (default 0).
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
    use crate::optim::Optimizer;
    use crate::optim::adam_rule::reference::{DEFAULT, Ref, adam};
    use crate::optim::core::testing::{assert_close, g, grads, param};

    const P0: [f64; 3] = [1.0, -2.0, 0.5];
    const CS: [&[f64]; 3] = [&[100.0, -80.0, 50.0], &[0.0, 0.0, 0.0], &[-1.0, 5.0, 0.0]];

    fn run(opt: impl FnOnce(Vec<Param<f64>>) -> Adam<f64>, cs: &[&[f64]]) -> Vec<f64> {
        let p = param("p", &P0);
        let mut opt = opt(vec![p.clone()]);
        for c in cs {
            opt.step(&grads(&[&p], &[c])).unwrap();
        }
        p.value().to_vec()
    }

    #[test]
    fn the_first_step_is_lr_times_g_over_abs_g_plus_eps() {
        let c = [0.5, -1.0, 0.25];
        let want: Vec<f64> =
            g(&P0, &c).iter().zip(P0).map(|(g, p)| p - 0.01 * g / (g.abs() + 1e-8)).collect();
        assert_close(&run(|ps| Adam::new(ps, 0.01), &[&c]), &want);
    }

    #[test]
    fn three_steps_follow_the_bias_corrected_formula() {
        assert_close(&run(|ps| Adam::new(ps, 0.01), &CS), &adam(DEFAULT, &P0, &CS));
        let r = Ref { lr: 0.1, b1: 0.5, b2: 0.9, eps: 1e-3, ..DEFAULT };
        assert_close(&run(|ps| Adam::new(ps, 0.1).betas(0.5, 0.9).eps(1e-3), &CS), &adam(r, &P0, &CS));
    }

    #[test]
    fn weight_decay_is_l2_added_to_the_gradient() {
        let r = Ref { l2: 0.1, ..DEFAULT };
        assert_close(&run(|ps| Adam::new(ps, 0.01).weight_decay(0.1), &CS), &adam(r, &P0, &CS));
    }

    #[test]
    fn amsgrad_divides_by_the_running_maximum_of_v() {
        let r = Ref { amsgrad: true, ..DEFAULT };
        let got = run(|ps| Adam::new(ps, 0.01).amsgrad(true), &CS);
        assert_close(&got, &adam(r, &P0, &CS));
        assert_ne!(got, run(|ps| Adam::new(ps, 0.01), &CS));
        let r = Ref { amsgrad: true, l2: 0.2, ..DEFAULT };
        assert_close(&run(|ps| Adam::new(ps, 0.01).amsgrad(true).weight_decay(0.2), &CS), &adam(r, &P0, &CS));
    }

    #[test]
    fn keras_epsilon_follows_keras_formula() {
        let r = Ref { lr: 0.001, eps: 1e-7, keras: true, ..DEFAULT };
        assert_close(&run(|ps| Adam::keras(ps, 0.001), &CS), &adam(r, &P0, &CS));
        let r = Ref { eps: 0.5, keras: true, amsgrad: true, ..DEFAULT };
        let got = run(|ps| Adam::new(ps, 0.01).eps(0.5).keras_epsilon(true).amsgrad(true), &CS);
        assert_close(&got, &adam(r, &P0, &CS));
        assert_ne!(got, run(|ps| Adam::new(ps, 0.01).eps(0.5).amsgrad(true), &CS));
    }

    #[test]
    fn adam_updates_parameters_in_place() {
        let p = param("p", &P0);
        let mut opt = Adam::new(vec![p.clone()], 0.01);
        let ptr = |p: &Param<f64>| p.value().as_slice().unwrap().as_ptr();
        let before = ptr(&p);
        for _ in 0..3 {
            opt.step(&grads(&[&p], &[&[1.0, 2.0, 3.0]])).unwrap(); // the tape is gone: p is unshared
        }
        assert_eq!(ptr(&p), before);
    }

    #[test]
    fn adam_trains_in_f32() {
        use crate::param::TapeParam;
        use wengert_tape::Tape;
        use wengert_tensor::Tensor;
        let w = Param::new("w", Tensor::<f32>::from_vec(vec![1.0, -2.0], &[2]).unwrap());
        let mut opt = Adam::new(vec![w.clone()], 0.05);
        for _ in 0..300 {
            let tape = Tape::new();
            let x = tape.param(&w);
            opt.step(&(x * x).sum().backward()).unwrap(); // the tape shares p: copy on write
        }
        assert!(w.value().to_vec().iter().all(|v| v.abs() < 1e-2), "{:?}", w.value().to_vec());
    }

    #[test]
    fn state_round_trip_resumes_identically() {
        let (p, q) = (param("p", &P0), param("p", &P0));
        let mut a = Adam::new(vec![p.clone()], 0.01).amsgrad(true);
        for c in &CS[..2] {
            a.step(&grads(&[&p], &[c])).unwrap();
        }
        q.set(p.value());
        let mut b = Adam::new(vec![q.clone()], 0.01).amsgrad(true);
        b.load_state(&a.state()).unwrap();
        a.step(&grads(&[&p], &[CS[2]])).unwrap();
        b.step(&grads(&[&q], &[CS[2]])).unwrap();
        assert_eq!(p.value().to_vec(), q.value().to_vec());
        assert_eq!(a.state(), b.state());
    }

    #[test]
    fn load_state_names_wrong_kinds_and_slots() {
        use wengert_tensor::Tensor;
        let p = param("p", &P0);
        let mut opt = Adam::new(vec![p.clone()], 0.01);
        let sgd = crate::optim::Sgd::new(vec![p.clone()], 0.1).state();
        assert_eq!(
            opt.load_state(&sgd).unwrap_err().to_string(),
            "load_state: the state is of kind `sgd`, not `adam`"
        );

        let ams = Adam::new(vec![p.clone()], 0.01).amsgrad(true).state();
        let err = opt.load_state(&ams).unwrap_err();
        assert_eq!(
            err.to_string(),
            "load_state (adam): the state does not fit: unexpected `p/max_exp_avg_sq`"
        );

        let mut bad = opt.state();
        bad.slots[1].value = Tensor::zeros(&[2]);
        bad.slots.remove(2);
        let err = opt.load_state(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "load_state (adam): the state does not fit: missing `p/exp_avg_sq`; `p/exp_avg` has shape [2], not [3]"
        );

        let mut bad = opt.state();
        bad.slots[0].value = Tensor::scalar(1.5);
        let err = opt.load_state(&bad).unwrap_err();
        assert_eq!(err.to_string(), "load_state (adam): slot `p/step` holds 1.5, not a step count");
        assert_eq!(opt.state(), Adam::new(vec![p], 0.01).state()); // nothing changed
    }
}
