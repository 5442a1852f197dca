//! The optimizer built around an update rule: one implementation of clipping, missing and non-finite
//! gradients, `step_with` and the [`Optimizer`] trait for [`Sgd`](super::Sgd), [`Adam`](super::Adam),
//! [`AdamW`](super::AdamW), [`RmsProp`](super::RmsProp) and [`Adagrad`](super::Adagrad), which each
//! state only their settings, their state slots and their per-parameter update.

use wengert_tape::Gradients;
use wengert_tensor::Float;

use super::core::{Core, SlotSpec, Update};
use super::{Clip, OptimError, Optimizer, OptimizerState, StepReport};
use crate::param::{GradientsParam, Param};

/// What sets one optimizer apart: its settings, state slots and per-parameter update. The rules are
/// [`SgdRule`](super::SgdRule), [`AdamRule`](super::AdamRule), [`RmsPropRule`](super::RmsPropRule)
/// and [`AdagradRule`](super::AdagradRule); the trait is sealed.
pub trait Rule<F: Float>: sealed::Sealed {
    /// The kind in saved state (`sgd`, `adam`, ...).
    #[doc(hidden)]
    fn kind(&self) -> &'static str;

    /// The type's name in panic messages (`Sgd`, `Adam`, ...).
    #[doc(hidden)]
    fn who(&self) -> &'static str;

    /// The state slots the current settings need, in the order `update` receives them.
    #[doc(hidden)]
    fn slots(&self) -> Vec<SlotSpec>;

    /// Panics on settings that are invalid together (checked at each step, as PyTorch does).
    #[doc(hidden)]
    #[track_caller]
    fn validate(&self) {}

    /// One parameter's update with learning rate `lr`.
    #[doc(hidden)]
    fn update(&self, lr: f64, u: Update<'_, F>);
}

pub(crate) mod sealed {
    /// Only this crate's rules are rules.
    pub trait Sealed {}
}

/// An optimizer: an update [`Rule`] and what every optimizer shares: its parameters, learning rate,
/// step counts and state slots, clipping, and the checks that refuse a step on missing, misshaped
/// or non-finite gradients. Used through its names [`Sgd`](super::Sgd), [`Adam`](super::Adam),
/// [`AdamW`](super::AdamW), [`RmsProp`](super::RmsProp) and [`Adagrad`](super::Adagrad).
///
/// ```
/// use wengert::nn::optim::{Clip, Optimizer, Sgd};
/// use wengert::nn::{Param, TapeParam};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let w = Param::new("w", Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap());
/// let mut opt = Sgd::new(vec![w.clone()], 0.1).clip(Clip::Value(1.0));
/// let tape = Tape::new();
/// let x = tape.param(&w);
/// opt.step(&(x * x).sum().backward()).unwrap(); // g = 2, clipped to 1
/// assert_eq!(w.value().item(), 0.9);
/// ```
#[derive(Debug)]
pub struct RuleOptimizer<R, F: Float = f32> {
    core: Core<F>,
    rule: R,
}

impl<F: Float, R: Rule<F>> RuleOptimizer<R, F> {
    /// # Panics
    ///
    /// When `lr` is negative or not finite, or two parameters share a name.
    #[track_caller]
    pub(crate) fn with_rule(params: Vec<Param<F>>, lr: f64, rule: R) -> Self {
        RuleOptimizer { core: Core::new(rule.kind(), rule.who(), params, lr), rule }
    }

    /// The rule, to change a setting.
    pub(crate) fn rule_mut(&mut self) -> &mut R {
        &mut self.rule
    }

    /// Clips the gradients inside each step, before the update (and before weight decay).
    ///
    /// # Panics
    ///
    /// When the threshold is negative or NaN.
    #[track_caller]
    pub fn clip(mut self, clip: Clip) -> Self {
        self.core.set_clip(self.rule.who(), clip);
        self
    }

    /// With `true`, a step skips parameters without a gradient (reporting them) instead of failing.
    pub fn allow_missing(mut self, on: bool) -> Self {
        self.core.allow_missing = on;
        self
    }

    /// With `true` (the default), a step whose gradients hold NaN or ±∞ changes nothing and returns
    /// [`OptimError::NonFiniteGradients`] naming those parameters, as PyTorch's `GradScaler` skips
    /// such a step; with `false` the step goes ahead and spreads the NaN into the weights.
    ///
    /// ```
    /// use wengert::nn::optim::{OptimError, Optimizer, Sgd};
    /// use wengert::nn::{Param, TapeParam};
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let w = Param::new("w", Tensor::<f64>::from_vec(vec![0.0, 1.0], &[2]).unwrap());
    /// let grads = || {
    ///     let tape = Tape::new();
    ///     tape.param(&w).sqrt().sum().backward() // d√x/dx = ∞ at 0
    /// };
    /// let mut opt = Sgd::new(vec![w.clone()], 0.1);
    /// let err = opt.step(&grads()).unwrap_err();
    /// assert_eq!(err, OptimError::NonFiniteGradients { names: vec!["w".into()] });
    /// assert_eq!(w.value().to_vec(), vec![0.0, 1.0]);
    /// Sgd::new(vec![w.clone()], 0.1).check_finite(false).step(&grads()).unwrap();
    /// assert!(w.value().to_vec()[0].is_infinite());
    /// ```
    pub fn check_finite(mut self, on: bool) -> Self {
        self.core.check_finite = on;
        self
    }

    /// One step from any gradients readable by parameter, such as [`ClippedGrads`](super::ClippedGrads).
    ///
    /// # Errors
    ///
    /// As [`Optimizer::step`].
    ///
    /// # Panics
    ///
    /// On settings that are invalid together: Nesterov momentum without a momentum or with a
    /// dampening.
    #[track_caller]
    pub fn step_with(&mut self, grads: &dyn GradientsParam<F>) -> Result<StepReport, OptimError> {
        self.rule.validate();
        let rule = &self.rule;
        self.core.step(grads, &rule.slots(), |u| rule.update(u.lr, u))
    }

    /// Adds parameters that step with their own learning rate, as PyTorch's `add_param_group`:
    /// fine-tune a pretrained encoder slowly and a new head fast. A group's rate follows the
    /// optimizer's: when a schedule sets the optimizer's rate from `η₀` (the rate it was built with)
    /// to `η`, a group built with `η_g` steps with `η_g·η/η₀`, as PyTorch's schedulers scale every
    /// group by the same factor.
    ///
    /// ```
    /// use wengert::nn::optim::{Optimizer, ParamGroup, Sgd};
    /// use wengert::nn::{Param, TapeParam};
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let head = Param::new("head.w", Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap());
    /// let body = Param::new("body.w", Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap());
    /// let mut opt = Sgd::new(vec![head.clone()], 0.1).add_param_group(ParamGroup::new(vec![body.clone()], 0.01));
    /// let tape = Tape::new();
    /// let loss = (tape.param(&head) + tape.param(&body)).sum(); // both gradients are 1
    /// opt.step(&loss.backward()).unwrap();
    /// assert!((head.value().item() - 0.9).abs() < 1e-12);
    /// assert!((body.value().item() - 0.99).abs() < 1e-12);
    /// ```
    ///
    /// # Panics
    ///
    /// When the group's rate is negative or not finite, or one of its names is already taken.
    #[track_caller]
    pub fn add_param_group(mut self, group: ParamGroup<F>) -> Self {
        self.core.add_group(self.rule.who(), group.params, group.lr);
        self
    }
}

/// Parameters with their own learning rate (PyTorch's `param_groups` entry); see
/// [`RuleOptimizer::add_param_group`].
#[derive(Debug, Clone)]
pub struct ParamGroup<F: Float = f32> {
    /// The parameters.
    pub params: Vec<Param<F>>,
    /// Their learning rate.
    pub lr: f64,
}

impl<F: Float> ParamGroup<F> {
    /// A group of `params` stepping with `lr`.
    pub fn new(params: Vec<Param<F>>, lr: f64) -> Self {
        ParamGroup { params, lr }
    }
}

impl<F: Float, R: Rule<F>> Optimizer<F> for RuleOptimizer<R, F> {
    #[track_caller]
    fn step(&mut self, grads: &Gradients<F>) -> Result<StepReport, OptimError> {
        RuleOptimizer::step_with(self, grads)
    }
    #[track_caller]
    fn step_with(&mut self, grads: &dyn GradientsParam<F>) -> Result<StepReport, OptimError> {
        RuleOptimizer::step_with(self, grads)
    }
    fn freeze(&mut self, prefix: &str) -> usize {
        self.core.set_frozen(prefix, true)
    }
    fn unfreeze(&mut self, prefix: &str) -> usize {
        self.core.set_frozen(prefix, false)
    }
    fn is_frozen(&self, name: &str) -> bool {
        self.core.is_frozen(name)
    }
    fn lr(&self) -> f64 {
        self.core.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.core.lr = lr;
    }
    fn params(&self) -> &[Param<F>] {
        &self.core.params
    }
    fn state(&self) -> OptimizerState<F> {
        self.core.state(&self.rule.slots())
    }
    fn load_state(&mut self, state: &OptimizerState<F>) -> Result<(), OptimError> {
        self.core.load_state(&self.rule.slots(), state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::core::testing::{grads, param};
    use crate::optim::{Adagrad, Adam, AdamW, RmsProp, Sgd};

    type Make = fn(Vec<Param<f64>>) -> Box<dyn Optimizer<f64>>;

    /// Every optimizer, its momentum and Nesterov variants, and clipping by norm and by value.
    const MAKERS: [(&str, Make); 13] = [
        ("sgd", |ps| Box::new(Sgd::new(ps, 0.1))),
        ("sgd momentum", |ps| Box::new(Sgd::new(ps, 0.1).momentum(0.9).weight_decay(0.1))),
        ("sgd nesterov", |ps| Box::new(Sgd::new(ps, 0.1).momentum(0.9).nesterov(true))),
        ("sgd clip norm", |ps| Box::new(Sgd::new(ps, 0.1).momentum(0.9).clip(Clip::Norm(1.0)))),
        ("sgd clip value", |ps| Box::new(Sgd::new(ps, 0.1).clip(Clip::Value(0.5)))),
        ("adam", |ps| Box::new(Adam::new(ps, 0.1))),
        ("adam amsgrad clip norm", |ps| Box::new(Adam::new(ps, 0.1).amsgrad(true).clip(Clip::Norm(1.0)))),
        ("adam keras clip value", |ps| Box::new(Adam::keras(ps, 0.1).clip(Clip::Value(0.5)))),
        ("adamw", |ps| Box::new(AdamW::new(ps, 0.1))),
        ("adamw clip norm", |ps| Box::new(AdamW::new(ps, 0.1).clip(Clip::Norm(1.0)))),
        ("rmsprop", |ps| Box::new(RmsProp::new(ps, 0.1))),
        ("rmsprop centered momentum", |ps| Box::new(RmsProp::new(ps, 0.1).centered(true).momentum(0.9))),
        ("adagrad clip norm", |ps| Box::new(Adagrad::new(ps, 0.1).clip(Clip::Norm(1.0)))),
    ];

    #[test]
    fn a_nan_or_infinite_gradient_skips_the_step_and_names_the_parameter() {
        for (name, make) in MAKERS {
            for bad in [f64::NAN, f64::INFINITY] {
                let (a, b) = (param("fc.weight", &[1.0, -2.0]), param("fc.bias", &[0.5, 3.0]));
                let mut opt = make(vec![a.clone(), b.clone()]);
                opt.step(&grads(&[&a, &b], &[&[1.0, 2.0], &[1.0, -1.0]])).unwrap();
                let before = (a.value().to_vec(), b.value().to_vec(), opt.state());
                let err = opt.step(&grads(&[&a, &b], &[&[1.0, 2.0], &[bad, -1.0]])).unwrap_err();
                assert_eq!(err, OptimError::NonFiniteGradients { names: vec!["fc.bias".into()] }, "{name}");
                assert!(err.to_string().contains("gradient of `fc.bias` holds NaN or infinite"), "{err}");
                assert_eq!((a.value().to_vec(), b.value().to_vec(), opt.state()), before, "{name} {bad}");
                assert_eq!(opt.state().step, 1, "{name}");
                // The next finite step goes ahead.
                opt.step(&grads(&[&a, &b], &[&[1.0, 2.0], &[1.0, -1.0]])).unwrap();
                assert_ne!(a.value().to_vec(), before.0, "{name}");
                assert!(
                    a.value().to_vec().iter().chain(&b.value().to_vec()).all(|v| v.is_finite()),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn every_parameter_with_a_non_finite_gradient_is_named() {
        let (a, b, c) = (param("a", &[1.0]), param("b", &[2.0]), param("c", &[3.0]));
        let mut opt = Adam::new(vec![a.clone(), b.clone(), c.clone()], 0.1).clip(Clip::Value(1.0));
        let err = opt.step(&grads(&[&a, &b, &c], &[&[f64::NEG_INFINITY], &[0.0], &[f64::NAN]])).unwrap_err();
        assert_eq!(err, OptimError::NonFiniteGradients { names: vec!["a".into(), "c".into()] });
    }

    #[test]
    fn check_finite_false_steps_with_the_nan() {
        let a = param("a", &[1.0, 2.0]);
        let mut opt = Sgd::new(vec![a.clone()], 0.1).clip(Clip::Norm(1.0)).check_finite(false);
        opt.step(&grads(&[&a], &[&[f64::NAN, 0.0]])).unwrap();
        // Norm clipping spreads the one NaN to every element: what the check prevents.
        assert!(a.value().to_vec().iter().all(|v| v.is_nan()));
    }

    #[test]
    fn huge_finite_gradients_whose_squares_overflow_are_not_refused() {
        let a = param("a", &[1.0, 2.0]);
        let mut opt = Sgd::new(vec![a.clone()], 0.1).clip(Clip::Norm(1.0));
        let report = opt.step(&grads(&[&a], &[&[1e200, -1e200]])).unwrap();
        assert_eq!(report.grad_norm, Some(f64::INFINITY));
        assert!(a.value().to_vec().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn a_frozen_parameter_needs_no_gradient_and_keeps_its_value_and_state() {
        for (name, make) in MAKERS {
            let (enc, head) = (param("encoder.w", &[1.0, -2.0]), param("head.w", &[0.5]));
            let mut opt = make(vec![enc.clone(), head.clone()]);
            assert_eq!(opt.freeze("encoder."), 1, "{name}");
            assert!(opt.is_frozen("encoder.w") && !opt.is_frozen("head.w"));
            // Only the head has a gradient: no MissingGradients for the frozen encoder.
            opt.step(&grads(&[&head], &[&[1.0]])).unwrap();
            assert_eq!(enc.value().to_vec(), vec![1.0, -2.0], "{name}");
            assert_ne!(head.value().to_vec(), vec![0.5], "{name}");
            let step_of = |opt: &dyn Optimizer<f64>| {
                opt.state()
                    .slots
                    .iter()
                    .find(|s| s.param == "encoder.w" && s.slot == "step")
                    .unwrap()
                    .value
                    .item()
            };
            assert_eq!(step_of(&*opt), 0.0, "{name}");
            assert_eq!(opt.unfreeze(""), 2);
            opt.step(&grads(&[&enc, &head], &[&[1.0, 1.0], &[1.0]])).unwrap();
            assert_ne!(enc.value().to_vec(), vec![1.0, -2.0], "{name}");
            assert_eq!(step_of(&*opt), 1.0, "{name}");
        }
    }

    #[test]
    fn a_param_group_steps_with_its_own_rate_and_follows_the_schedule() {
        let (a, b) = (param("a", &[0.0]), param("b", &[0.0]));
        let mut opt = Sgd::new(vec![a.clone()], 0.1).add_param_group(ParamGroup::new(vec![b.clone()], 0.01));
        // Gradient of p·c + p² at p = 0 is c = 1 for both.
        opt.step(&grads(&[&a, &b], &[&[1.0], &[1.0]])).unwrap();
        assert_eq!((a.value().item(), b.value().item()), (-0.1, -0.01));
        opt.set_lr(0.05); // halves the base rate, so halves the group's too
        let (pa, pb) = (a.value().item(), b.value().item());
        opt.step(&grads(&[&a, &b], &[&[1.0], &[1.0]])).unwrap();
        let ga = 1.0 + 2.0 * pa;
        let gb = 1.0 + 2.0 * pb;
        assert!((a.value().item() - (pa - 0.05 * ga)).abs() < 1e-15);
        assert!((b.value().item() - (pb - 0.005 * gb)).abs() < 1e-15);
    }

    #[test]
    fn a_group_added_after_steps_keeps_the_earlier_state() {
        let (a, b) = (param("a", &[1.0]), param("b", &[1.0]));
        let mut opt = Adam::new(vec![a.clone()], 0.1);
        opt.step(&grads(&[&a], &[&[1.0]])).unwrap();
        let before = opt.state().slots;
        let mut opt = opt.add_param_group(ParamGroup::new(vec![b.clone()], 0.1));
        assert_eq!(opt.state().slots[..before.len()], before[..]);
        opt.step(&grads(&[&a, &b], &[&[1.0], &[1.0]])).unwrap();
        assert_eq!(opt.state().slots.iter().filter(|s| s.slot == "step").count(), 2);
    }

    #[test]
    #[should_panic(expected = "Sgd: two parameters are named `a`")]
    fn a_group_may_not_repeat_a_name() {
        let a = param("a", &[1.0]);
        let _ = Sgd::new(vec![a.clone()], 0.1).add_param_group(ParamGroup::new(vec![a], 0.1));
    }
}
