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
        let (rule, lr) = (&self.rule, self.core.lr);
        self.core.step(grads, &rule.slots(), |u| rule.update(lr, u))
    }
}

impl<F: Float, R: Rule<F>> Optimizer<F> for RuleOptimizer<R, F> {
    #[track_caller]
    fn step(&mut self, grads: &Gradients<F>) -> Result<StepReport, OptimError> {
        self.step_with(grads)
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
}
