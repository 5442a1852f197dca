//! Optimizers, gradient clipping and learning-rate schedules.
//!
//! An optimizer is built from the model's parameters and a learning rate; each `step` reads every
//! parameter's gradient and updates the parameter in place, in one pass over its elements.
//!
//! ```
//! use wengert::nn::optim::{Adam, Clip, Optimizer};
//! use wengert::nn::{GradientsParam, Param, TapeParam};
//! use wengert::tape::Tape;
//! use wengert::tensor::Tensor;
//!
//! let w = Param::new("w", Tensor::<f64>::from_vec(vec![1.0, -2.0], &[2]).unwrap());
//! let mut opt = Adam::new(vec![w.clone()], 0.1).clip(Clip::Norm(1.0));
//! for _ in 0..100 {
//!     let tape = Tape::new();
//!     let x = tape.param(&w);
//!     let loss = (x * x).sum();
//!     opt.step(&loss.backward()).unwrap();
//! }
//! assert!(w.value().to_vec().iter().all(|v| v.abs() < 0.1));
//! ```

mod accumulate;
mod adagrad;
mod adam;
mod adam_rule;
mod adamw;
mod clip;
mod core;
mod rmsprop;
mod rule;
pub mod schedule;
mod sgd;

use serde::{Deserialize, Serialize};
use wengert_tape::Gradients;
use wengert_tensor::{Float, Tensor};

use crate::param::{GradientsParam, Param};

pub use accumulate::GradAccumulator;
pub use adagrad::{Adagrad, AdagradRule};
pub use adam::Adam;
pub use adam_rule::AdamRule;
pub use adamw::AdamW;
pub use clip::{Clip, ClippedGrads, clip_grad_norm, clip_grad_value, global_norm};
#[allow(deprecated)]
pub use rmsprop::RMSprop;
pub use rmsprop::{RmsProp, RmsPropRule};
pub use rule::{ParamGroup, Rule, RuleOptimizer};
#[allow(deprecated)]
pub use schedule::{CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, StepLR};
pub use schedule::{
    CosineAnnealingLr, ExponentialLr, LinearWarmup, PlateauMode, ReduceLrOnPlateau, Scheduler, StepLr,
    ThresholdMode,
};
pub use sgd::{Sgd, SgdRule};

/// A named tensor of optimizer state: the parameter it belongs to and the slot (`exp_avg`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct StateSlot<F: Float> {
    /// The parameter's full name.
    pub param: String,
    /// The slot's name, such as `momentum`, `exp_avg`, `exp_avg_sq`.
    pub slot: String,
    /// The value.
    pub value: Tensor<F>,
}

/// Everything an optimizer needs to resume: its kind, step count, learning rate, per-parameter slots
/// and scalar settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct OptimizerState<F: Float> {
    /// The optimizer's kind: `sgd`, `adam`, `adamw`, `rmsprop`, `adagrad`.
    pub kind: String,
    /// The number of steps taken.
    pub step: u64,
    /// The current learning rate.
    pub lr: f64,
    /// The per-parameter tensors.
    pub slots: Vec<StateSlot<F>>,
}

/// Everything a learning-rate scheduler needs to resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulerState {
    /// The scheduler's kind: `step`, `exponential`, `cosine`, `warmup`, `plateau`.
    pub kind: String,
    /// Epochs (or steps) counted so far.
    pub count: u64,
    /// Scalar state, by name (`best`, `bad_epochs`, ...).
    pub values: Vec<(String, f64)>,
}

/// An optimizer: updates its parameters in place from their gradients.
///
/// Every optimizer here keeps, for each parameter, a `step` slot (a 0-d tensor counting the updates
/// that parameter received, as PyTorch's `state["step"]`) and its moment buffers, named as PyTorch
/// names them. The trait is object safe: `Box<dyn Optimizer<F>>` is an optimizer too.
pub trait Optimizer<F: Float> {
    /// One update of every parameter from `grads`.
    ///
    /// # Errors
    ///
    /// [`OptimError::MissingGradients`] naming every parameter that received no gradient, unless the
    /// optimizer was built with `allow_missing(true)`: then those are skipped, listed in
    /// [`StepReport::skipped`] and named in a warning on stderr. [`OptimError::GradientShape`] when a
    /// gradient's shape differs from its parameter's. [`OptimError::NonFiniteGradients`] naming every
    /// parameter whose gradient holds NaN or ±∞, unless the optimizer was built with
    /// `check_finite(false)`. On an error no parameter and no state is updated, and the step does not
    /// count.
    fn step(&mut self, grads: &Gradients<F>) -> Result<StepReport, OptimError>;

    /// One update from any gradients readable by parameter: a [`GradAccumulator`]'s sums, or
    /// [`ClippedGrads`].
    ///
    /// # Errors
    ///
    /// As [`Optimizer::step`].
    fn step_with(&mut self, grads: &dyn GradientsParam<F>) -> Result<StepReport, OptimError>;

    /// Freezes every parameter whose name starts with `prefix` (`"encoder."`, or a full name): the
    /// steps leave it, its state and its step count alone and need no gradient for it. Returns how many
    /// parameters matched.
    ///
    /// ```
    /// use wengert::nn::optim::{Adam, Optimizer};
    /// use wengert::nn::{Param, TapeParam};
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let enc = Param::new("encoder.w", Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap());
    /// let head = Param::new("head.w", Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap());
    /// let mut opt = Adam::new(vec![enc.clone(), head.clone()], 0.1);
    /// assert_eq!(opt.freeze("encoder."), 1);
    /// let tape = Tape::new();
    /// opt.step(&(tape.param(&enc) * tape.param(&head)).sum().backward()).unwrap();
    /// assert_eq!(enc.value().item(), 1.0);
    /// assert!(head.value().item() < 1.0);
    /// ```
    fn freeze(&mut self, prefix: &str) -> usize;

    /// Undoes [`freeze`](Optimizer::freeze) for every parameter whose name starts with `prefix`;
    /// returns how many matched.
    fn unfreeze(&mut self, prefix: &str) -> usize;

    /// True when the parameter named `name` is frozen.
    fn is_frozen(&self, name: &str) -> bool;

    /// The current learning rate.
    fn lr(&self) -> f64;

    /// Sets the learning rate (a schedule calls this between steps).
    fn set_lr(&mut self, lr: f64);

    /// The parameters, in the order they were given.
    fn params(&self) -> &[Param<F>];

    /// A copy of everything needed to resume: kind, step count, learning rate and per-parameter slots.
    fn state(&self) -> OptimizerState<F>;

    /// Restores a state saved by [`Optimizer::state`]; on an error nothing changes.
    ///
    /// # Errors
    ///
    /// [`OptimError::KindMismatch`] for another optimizer's state, [`OptimError::StateMismatch`] naming
    /// missing, unexpected and mis-shaped slots, [`OptimError::InvalidState`] for a value that cannot
    /// be a step count or a learning rate.
    fn load_state(&mut self, state: &OptimizerState<F>) -> Result<(), OptimError>;
}

impl<F: Float, O: Optimizer<F> + ?Sized> Optimizer<F> for Box<O> {
    fn step(&mut self, grads: &Gradients<F>) -> Result<StepReport, OptimError> {
        (**self).step(grads)
    }
    fn step_with(&mut self, grads: &dyn GradientsParam<F>) -> Result<StepReport, OptimError> {
        (**self).step_with(grads)
    }
    fn freeze(&mut self, prefix: &str) -> usize {
        (**self).freeze(prefix)
    }
    fn unfreeze(&mut self, prefix: &str) -> usize {
        (**self).unfreeze(prefix)
    }
    fn is_frozen(&self, name: &str) -> bool {
        (**self).is_frozen(name)
    }
    fn lr(&self) -> f64 {
        (**self).lr()
    }
    fn set_lr(&mut self, lr: f64) {
        (**self).set_lr(lr)
    }
    fn params(&self) -> &[Param<F>] {
        (**self).params()
    }
    fn state(&self) -> OptimizerState<F> {
        (**self).state()
    }
    fn load_state(&mut self, state: &OptimizerState<F>) -> Result<(), OptimError> {
        (**self).load_state(state)
    }
}

/// What a step did besides updating: the parameters it skipped, and the gradient norm it clipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepReport {
    /// Parameters that received no gradient and were left as they were (only with `allow_missing`).
    pub skipped: Vec<String>,
    /// The global L2 norm of the gradients before clipping, when clipping by norm.
    pub grad_norm: Option<f64>,
}

/// A slot whose shape is not the one its parameter needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Misshaped {
    /// `param/slot`, such as `fc.weight/exp_avg`.
    pub slot: String,
    /// The shape the optimizer needs.
    pub expected: Vec<usize>,
    /// The shape found in the state.
    pub found: Vec<usize>,
}

/// Errors of optimizer steps and of loading optimizer and scheduler state.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptimError {
    /// These parameters received no gradient (unused in the loss, or cut off from it).
    #[error(
        "optimizer step: no gradient for {} (not used in the loss, or cut off from it); nothing was updated \
         (build the optimizer with allow_missing(true) to skip them)",
        backticked(.names)
    )]
    MissingGradients {
        /// Their names.
        names: Vec<String>,
    },
    /// A gradient's shape differs from its parameter's.
    #[error(
        "optimizer step: the gradient of `{name}` has shape {found:?} but the parameter has shape {expected:?}; \
         nothing was updated"
    )]
    GradientShape {
        /// The parameter's name.
        name: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The gradient's shape.
        found: Vec<usize>,
    },
    /// These parameters' gradients hold NaN or ±∞: the step was skipped (see `check_finite`).
    #[error(
        "optimizer step: the gradient of {} holds NaN or infinite values; the step was skipped and nothing \
         was updated (build the optimizer with check_finite(false) to step anyway)",
        backticked(.names)
    )]
    NonFiniteGradients {
        /// Their names.
        names: Vec<String>,
    },
    /// The state belongs to another kind of optimizer or scheduler.
    #[error("load_state: the state is of kind `{found}`, not `{expected}`")]
    KindMismatch {
        /// This one's kind.
        expected: String,
        /// The state's kind.
        found: String,
    },
    /// The state's entries do not fit this optimizer's parameters and settings (or this scheduler).
    #[error("load_state ({kind}): the state does not fit{}", mismatch_details(.missing, .unexpected, .misshaped))]
    StateMismatch {
        /// The optimizer's or scheduler's kind.
        kind: String,
        /// Entries this one needs that the state lacks (`param/slot`, or a scheduler value's name).
        missing: Vec<String>,
        /// Entries of the state this one does not know (or duplicates).
        unexpected: Vec<String>,
        /// Slots of the wrong shape.
        misshaped: Vec<Misshaped>,
    },
    /// A value of the state cannot be what it claims (a fractional step count, a negative lr, ...).
    #[error("load_state ({kind}): {reason}")]
    InvalidState {
        /// The optimizer's or scheduler's kind.
        kind: String,
        /// What is wrong.
        reason: String,
    },
}

/// The names of a message, each in backticks, separated by commas.
pub(crate) fn backticked(list: &[String]) -> String {
    list.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// What a [`OptimError::StateMismatch`] message lists after "does not fit": the missing and unexpected
/// entries and the mis-shaped slots, each part after a colon (the first) or a semicolon; empty when none.
fn mismatch_details(missing: &[String], unexpected: &[String], misshaped: &[Misshaped]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", backticked(missing)));
    }
    if !unexpected.is_empty() {
        parts.push(format!("unexpected {}", backticked(unexpected)));
    }
    for m in misshaped {
        parts.push(format!("`{}` has shape {:?}, not {:?}", m.slot, m.found, m.expected));
    }
    if parts.is_empty() { String::new() } else { format!(": {}", parts.join("; ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_names_the_call_and_what_did_not_fit() {
        let list = || vec!["fc.weight".to_string(), "fc.bias".to_string()];
        let cases = [
            (
                OptimError::MissingGradients { names: list() },
                "optimizer step: no gradient for `fc.weight`, `fc.bias` (not used in the loss, or cut off from it); \
                 nothing was updated (build the optimizer with allow_missing(true) to skip them)",
            ),
            (
                OptimError::NonFiniteGradients { names: list() },
                "optimizer step: the gradient of `fc.weight`, `fc.bias` holds NaN or infinite values; the step was \
                 skipped and nothing was updated (build the optimizer with check_finite(false) to step anyway)",
            ),
            (
                OptimError::KindMismatch { expected: "adam".into(), found: "sgd".into() },
                "load_state: the state is of kind `sgd`, not `adam`",
            ),
            (
                OptimError::StateMismatch {
                    kind: "sgd".into(),
                    missing: vec![],
                    unexpected: vec![],
                    misshaped: vec![],
                },
                "load_state (sgd): the state does not fit",
            ),
            (
                OptimError::StateMismatch {
                    kind: "adam".into(),
                    missing: vec![],
                    unexpected: vec!["p/x".into()],
                    misshaped: vec![
                        Misshaped { slot: "p/m".into(), expected: vec![2], found: vec![3] },
                        Misshaped { slot: "q/m".into(), expected: vec![], found: vec![1, 1] },
                    ],
                },
                "load_state (adam): the state does not fit: unexpected `p/x`; `p/m` has shape [3], not [2]; `q/m` \
                 has shape [1, 1], not []",
            ),
            (
                OptimError::InvalidState {
                    kind: "adam".into(),
                    reason: "step 1.5 is not a whole number".into(),
                },
                "load_state (adam): step 1.5 is not a whole number",
            ),
        ];
        for (err, message) in cases {
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    #[allow(deprecated)]
    fn the_former_names_still_compile_and_are_the_new_types() {
        let p = Param::new("p", Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap());
        let opt: RMSprop<f64> = RMSprop::new(vec![p], 0.01);
        let renamed: &RmsProp<f64> = &opt;
        assert_eq!(renamed.state().kind, "rmsprop");
        let mut steps: Vec<Box<dyn Scheduler>> = vec![
            Box::new(StepLR::new(0.1, 1, 0.5)),
            Box::new(ExponentialLR::new(0.1, 0.5)),
            Box::new(CosineAnnealingLR::new(0.1, 2)),
            Box::new(ReduceLROnPlateau::new(0.1).patience(0).factor(0.5)),
        ];
        let lrs: Vec<f64> = steps.iter_mut().map(|s| s.step(Some(1.0))).collect();
        assert_eq!(lrs, [0.05, 0.05, 0.05, 0.1]);
        let _: StepLr = StepLR::new(0.1, 1, 0.5);
        let _: ExponentialLr = ExponentialLR::new(0.1, 0.5);
        let _: CosineAnnealingLr = CosineAnnealingLR::new(0.1, 2);
        let _: ReduceLrOnPlateau = ReduceLROnPlateau::new(0.1);
    }
}
