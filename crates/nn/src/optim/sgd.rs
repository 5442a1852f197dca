//! Stochastic gradient descent, as PyTorch's `torch.optim.SGD`: `g ← g + λp`; `b ← g` on a
//! parameter's first step, else `b ← μb + (1 − τ)g`; `d ← g + μb` (Nesterov), `d ← b` (momentum) or
//! `d ← g` (μ = 0); `p ← p − η d`.

use wengert_tensor::{Float, fused_update};

use super::core::{SlotSpec, Update, check};
use super::rule::{Rule, RuleOptimizer, sealed};
use crate::param::Param;

/// Stochastic gradient descent with momentum μ, dampening τ, Nesterov momentum and L2 weight decay λ
/// (PyTorch's `SGD`; all off by default). State: `momentum_buffer` when μ ≠ 0. The clipping, checks
/// and [`Optimizer`](super::Optimizer) methods are [`RuleOptimizer`]'s.
///
/// ```
/// use wengert::nn::optim::{Optimizer, Sgd};
/// use wengert::nn::{Param, TapeParam};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let w = Param::new("w", Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap());
/// let mut opt = Sgd::new(vec![w.clone()], 0.1).momentum(0.9).nesterov(true);
/// let tape = Tape::new();
/// let x = tape.param(&w);
/// opt.step(&(x * x).sum().backward()).unwrap(); // g = 2, b = 2, d = 2 + 0.9 · 2
/// assert!((w.value().item() - (1.0 - 0.1 * 3.8)).abs() < 1e-15);
/// ```
pub type Sgd<F = f32> = RuleOptimizer<SgdRule, F>;

/// The settings and update of [`Sgd`].
#[derive(Debug, Clone, Copy)]
pub struct SgdRule {
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
}

impl<F: Float> Sgd<F> {
    /// Plain SGD with learning rate `lr` over `params`.
    ///
    /// # Panics
    ///
    /// When `lr` is negative or not finite, or two parameters share a name.
    #[track_caller]
    pub fn new(params: Vec<Param<F>>, lr: f64) -> Self {
        let rule = SgdRule { momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 };
        RuleOptimizer::with_rule(params, lr, rule)
    }

    /// The momentum factor μ (default 0).
    ///
    /// # Panics
    ///
    /// When `momentum` is negative or not finite.
    #[track_caller]
    pub fn momentum(mut self, momentum: f64) -> Self {
        check(momentum.is_finite() && momentum >= 0.0, "Sgd", "momentum", momentum);
        self.rule_mut().momentum = momentum;
        self
    }

    /// The dampening τ of the gradient added to the momentum buffer (default 0).
    ///
    /// # Panics
    ///
    /// When `dampening` is not finite.
    #[track_caller]
    pub fn dampening(mut self, dampening: f64) -> Self {
        check(dampening.is_finite(), "Sgd", "dampening", dampening);
        self.rule_mut().dampening = dampening;
        self
    }

    /// Nesterov momentum (default off): steps along `g + μb` instead of `b`.
    ///
    /// # Panics
    ///
    /// `step` panics when Nesterov is on without a momentum or with a dampening (as PyTorch refuses).
    pub fn nesterov(mut self, on: bool) -> Self {
        self.rule_mut().nesterov = on;
        self
    }

    /// The L2 weight decay λ added to the gradient, `g + λp` (default 0).
    ///
    /// # Panics
    ///
    /// When `weight_decay` is negative or not finite.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        check(weight_decay.is_finite() && weight_decay >= 0.0, "Sgd", "weight decay", weight_decay);
        self.rule_mut().weight_decay = weight_decay;
        self
    }
}

impl sealed::Sealed for SgdRule {}

impl<F: Float> Rule<F> for SgdRule {
    fn kind(&self) -> &'static str {
        "sgd"
    }

    fn who(&self) -> &'static str {
        "Sgd"
    }

    fn slots(&self) -> Vec<SlotSpec> {
        if self.momentum != 0.0 { vec![("momentum_buffer", 0.0)] } else { Vec::new() }
    }

    #[track_caller]
    fn validate(&self) {
        assert!(
            !self.nesterov || (self.momentum > 0.0 && self.dampening == 0.0),
            "Sgd: Nesterov momentum needs a momentum and zero dampening"
        );
    }

    fn update(&self, lr: f64, u: Update<'_, F>) {
        let f = F::from_f64;
        let (lr, wd, mu, keep) = (f(lr), f(self.weight_decay), f(self.momentum), f(1.0 - self.dampening));
        // On a parameter's first step the buffer, still zero, becomes g: 0·b + 1·g.
        let (carry, keep) = if u.t == 1 { (F::zero(), F::one()) } else { (mu, keep) };
        let k = Consts { lr, wd, mu, carry, keep };
        match (self.nesterov, self.weight_decay != 0.0) {
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
    lr: F,
    wd: F,
    mu: F,
    /// What the buffer is multiplied by: μ, or 0 on the parameter's first step.
    carry: F,
    /// What the gradient is multiplied by: 1 − τ, or 1 on the parameter's first step.
    keep: F,
}

/// One pass over (p, g[, b]); the variant is a type parameter so that each inner loop is branch-free.
#[inline(always)]
fn update<F: Float, const NESTEROV: bool, const L2: bool>(u: Update<'_, F>, k: Consts<F>) {
    let prep = u.prep;
    let grad = move |g: F, p: F| if L2 { prep.apply(g) + k.wd * p } else { prep.apply(g) };
    match u.bufs {
        [] => fused_update([u.p], [u.g], |[p], [g]| *p -= k.lr * grad(g, *p)),
        [b] => fused_update([u.p, b], [u.g], |[p, b], [g]| {
            let g = grad(g, *p);
            *b = *b * k.carry + k.keep * g;
            let d = if NESTEROV { g + k.mu * *b } else { *b };
            *p -= k.lr * d;
        }),
        _ => unreachable!("sgd has at most one slot"),
    }
}

#[cfg(test)]
mod tests {
    use wengert_tensor::Tensor;

    use super::*;
    use crate::optim::core::testing::{assert_close, g, grads, param};
    use crate::optim::{OptimError, Optimizer};
    use crate::param::GradientsParam;

    const C: [f64; 3] = [0.5, -1.0, 0.25];
    const P0: [f64; 3] = [1.0, -2.0, 0.5];

    /// Runs `steps` steps of `opt` on the quadratic loss of `testing::grads`; returns the parameter.
    fn run(opt: impl FnOnce(Vec<Param<f64>>) -> Sgd<f64>, steps: usize) -> Vec<f64> {
        let p = param("p", &P0);
        let mut opt = opt(vec![p.clone()]);
        for _ in 0..steps {
            opt.step(&grads(&[&p], &[&C])).unwrap();
        }
        p.value().to_vec()
    }

    /// The reference: PyTorch's SGD formulas on scalars.
    fn reference(lr: f64, mu: f64, tau: f64, nesterov: bool, wd: f64, steps: usize) -> Vec<f64> {
        let (mut p, mut b) = (P0.to_vec(), vec![0.0; 3]);
        for t in 1..=steps {
            let gs = g(&p, &C);
            for i in 0..3 {
                let gi = gs[i] + wd * p[i];
                let d = if mu == 0.0 {
                    gi
                } else {
                    b[i] = if t == 1 { gi } else { mu * b[i] + (1.0 - tau) * gi };
                    if nesterov { gi + mu * b[i] } else { b[i] }
                };
                p[i] -= lr * d;
            }
        }
        p
    }

    #[test]
    fn plain_sgd_steps_against_the_gradient() {
        let want: Vec<f64> = P0.iter().zip(C).map(|(p, c)| p - 0.1 * (c + 2.0 * p)).collect();
        assert_eq!(run(|ps| Sgd::new(ps, 0.1), 1), want);
        assert_close(&run(|ps| Sgd::new(ps, 0.1), 3), &reference(0.1, 0.0, 0.0, false, 0.0, 3));
    }

    #[test]
    fn momentum_buffer_starts_as_the_gradient_then_accumulates() {
        let one = run(|ps| Sgd::new(ps, 0.1).momentum(0.9), 1);
        assert_eq!(one, run(|ps| Sgd::new(ps, 0.1), 1));
        assert_close(&run(|ps| Sgd::new(ps, 0.1).momentum(0.9), 3), &reference(0.1, 0.9, 0.0, false, 0.0, 3));
    }

    #[test]
    fn dampening_scales_the_gradients_after_the_first() {
        let got = run(|ps| Sgd::new(ps, 0.1).momentum(0.9).dampening(0.5), 3);
        assert_close(&got, &reference(0.1, 0.9, 0.5, false, 0.0, 3));
    }

    #[test]
    fn nesterov_steps_along_gradient_plus_momentum_times_buffer() {
        let got = run(|ps| Sgd::new(ps, 0.05).momentum(0.8).nesterov(true), 3);
        assert_close(&got, &reference(0.05, 0.8, 0.0, true, 0.0, 3));
    }

    #[test]
    fn weight_decay_adds_lambda_p_to_the_gradient() {
        assert_close(
            &run(|ps| Sgd::new(ps, 0.1).weight_decay(0.3), 2),
            &reference(0.1, 0.0, 0.0, false, 0.3, 2),
        );
        let got = run(|ps| Sgd::new(ps, 0.1).weight_decay(0.3).momentum(0.5), 3);
        assert_close(&got, &reference(0.1, 0.5, 0.0, false, 0.3, 3));
    }

    #[test]
    #[should_panic(expected = "Sgd: Nesterov momentum needs a momentum and zero dampening")]
    fn nesterov_without_momentum_is_refused() {
        run(|ps| Sgd::new(ps, 0.1).nesterov(true), 1);
    }

    #[test]
    fn a_missing_gradient_is_named_and_nothing_is_updated() {
        let (a, u) = (param("fc.weight", &[1.0]), param("unused", &[2.0]));
        let mut opt = Sgd::new(vec![a.clone(), u.clone()], 0.1).momentum(0.9);
        let err = opt.step(&grads(&[&a], &[&[1.0]])).unwrap_err();
        assert_eq!(err, OptimError::MissingGradients { names: vec!["unused".into()] });
        assert!(err.to_string().contains("no gradient for `unused`"), "{err}");
        assert_eq!((a.value().to_vec(), u.value().to_vec()), (vec![1.0], vec![2.0]));
        assert_eq!(opt.state().step, 0);
    }

    #[test]
    fn allow_missing_skips_and_reports_the_parameter() {
        let (a, u) = (param("a", &[1.0]), param("unused", &[2.0]));
        let mut opt = Sgd::new(vec![a.clone(), u.clone()], 0.1).momentum(0.9).allow_missing(true);
        let report = opt.step(&grads(&[&a], &[&[1.0]])).unwrap();
        assert_eq!(report.skipped, vec!["unused".to_string()]);
        assert_eq!((a.value().to_vec(), u.value().to_vec()), (vec![1.0 - 0.1 * 3.0], vec![2.0]));
        let steps: Vec<f64> =
            opt.state().slots.iter().filter(|s| s.slot == "step").map(|s| s.value.item()).collect();
        assert_eq!(steps, vec![1.0, 0.0]);
        // Its first gradient later starts its buffer as that gradient, as PyTorch's lazy state does.
        opt.step(&grads(&[&a, &u], &[&[1.0], &[0.0]])).unwrap();
        assert_eq!(u.value().to_vec(), vec![2.0 - 0.1 * 4.0]);
    }

    #[test]
    fn a_boxed_optimizer_steps_like_the_optimizer() {
        let p = param("p", &P0);
        let mut opt: Box<dyn Optimizer<f64>> = Box::new(Sgd::new(vec![p.clone()], 0.1));
        opt.set_lr(0.2);
        opt.step(&grads(&[&p], &[&C])).unwrap();
        assert_eq!((opt.lr(), opt.params().len(), opt.state().step), (0.2, 1, 1));
        assert_close(&p.value().to_vec(), &reference(0.2, 0.0, 0.0, false, 0.0, 1));
    }

    #[test]
    fn a_misshaped_gradient_is_an_error() {
        struct Wrong(Tensor<f64>);
        impl GradientsParam<f64> for Wrong {
            fn param(&self, _: &Param<f64>) -> Option<&Tensor<f64>> {
                Some(&self.0)
            }
        }
        let a = param("a", &[1.0, 2.0]);
        let mut opt = Sgd::new(vec![a.clone()], 0.1);
        let err = opt.step_with(&Wrong(Tensor::zeros(&[3]))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "optimizer step: the gradient of `a` has shape [3] but the parameter has shape [2]; nothing was updated"
        );
    }

    #[test]
    fn state_round_trip_resumes_identically() {
        let (p, q) = (param("p", &P0), param("p", &P0));
        let mut a = Sgd::new(vec![p.clone()], 0.1).momentum(0.9);
        for _ in 0..2 {
            a.step(&grads(&[&p], &[&C])).unwrap();
        }
        q.set(p.value());
        let mut b = Sgd::new(vec![q.clone()], 0.5).momentum(0.9);
        b.load_state(&a.state()).unwrap();
        assert_eq!((b.lr(), b.state()), (0.1, a.state()));
        a.step(&grads(&[&p], &[&C])).unwrap();
        b.step(&grads(&[&q], &[&C])).unwrap();
        assert_eq!(p.value().to_vec(), q.value().to_vec());
    }

    #[test]
    fn load_state_rejects_a_state_of_other_settings() {
        let p = param("p", &P0);
        let plain = Sgd::new(vec![p.clone()], 0.1).state();
        let err = Sgd::new(vec![p], 0.1).momentum(0.9).load_state(&plain).unwrap_err();
        assert_eq!(err.to_string(), "load_state (sgd): the state does not fit: missing `p/momentum_buffer`");
    }
}
