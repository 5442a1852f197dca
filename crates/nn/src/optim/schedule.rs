//! Learning-rate schedules, as PyTorch's `lr_scheduler`s, in closed form over the count `t` of steps
//! taken: StepLr `η₀γ^⌊t/s⌋`, ExponentialLr `η₀γᵗ`, CosineAnnealingLr `η_min + (η₀ − η_min)(1 + cos(πt/T))/2`,
//! LinearWarmup `η₀(f + (1 − f)·min(t, w)/w)`; and ReduceLrOnPlateau, `η ← max(η·factor, η_min)` once
//! the metric has not improved for more than `patience` steps.
//!
//! ```
//! use wengert::nn::optim::{Optimizer, Scheduler, Sgd, StepLr};
//! use wengert::nn::Param;
//! use wengert::tensor::Tensor;
//! let mut opt = Sgd::new(vec![Param::new("w", Tensor::<f32>::zeros(&[1]))], 0.1);
//! let mut sched = StepLr::new(0.1, 2, 0.5);
//! let lrs: Vec<f64> = (0..4).map(|_| { opt.set_lr(sched.step(None)); opt.lr() }).collect();
//! assert_eq!(lrs, vec![0.1, 0.05, 0.05, 0.025]);
//! ```

mod plateau;

use super::{OptimError, SchedulerState};

#[allow(deprecated)]
pub use plateau::ReduceLROnPlateau;
pub use plateau::{PlateauMode, ReduceLrOnPlateau, ThresholdMode};

/// The former name of [`StepLr`].
#[deprecated(since = "0.1.0", note = "renamed to StepLr")]
pub type StepLR = StepLr;

/// The former name of [`ExponentialLr`].
#[deprecated(since = "0.1.0", note = "renamed to ExponentialLr")]
pub type ExponentialLR = ExponentialLr;

/// The former name of [`CosineAnnealingLr`].
#[deprecated(since = "0.1.0", note = "renamed to CosineAnnealingLr")]
pub type CosineAnnealingLR = CosineAnnealingLr;

/// A learning-rate schedule: each `step` (an epoch, or a batch) returns the learning rate to set.
pub trait Scheduler {
    /// Counts one step and returns the new learning rate; `metric` is the monitored value for
    /// [`ReduceLrOnPlateau`] and ignored by the others.
    fn step(&mut self, metric: Option<f64>) -> f64;

    /// The current learning rate (before any step: the rate at step 0).
    fn lr(&self) -> f64;

    /// A copy of everything needed to resume.
    fn state(&self) -> SchedulerState;

    /// Restores a state saved by [`Scheduler::state`]; on an error nothing changes.
    ///
    /// # Errors
    ///
    /// [`OptimError::KindMismatch`] for another scheduler's state, [`OptimError::StateMismatch`] naming
    /// missing and unexpected values, [`OptimError::InvalidState`] for a negative or non-finite rate.
    fn load_state(&mut self, state: &SchedulerState) -> Result<(), OptimError>;
}

impl<S: Scheduler + ?Sized> Scheduler for Box<S> {
    fn step(&mut self, metric: Option<f64>) -> f64 {
        (**self).step(metric)
    }
    fn lr(&self) -> f64 {
        (**self).lr()
    }
    fn state(&self) -> SchedulerState {
        (**self).state()
    }
    fn load_state(&mut self, state: &SchedulerState) -> Result<(), OptimError> {
        (**self).load_state(state)
    }
}

/// The values `names` of `state`, in that order, once its kind and names are checked.
pub(super) fn read<const N: usize>(
    kind: &str,
    state: &SchedulerState,
    names: [&str; N],
) -> Result<[f64; N], OptimError> {
    if state.kind != kind {
        return Err(OptimError::KindMismatch { expected: kind.into(), found: state.kind.clone() });
    }
    let (mut out, mut unexpected) = ([None; N], Vec::new());
    for (name, v) in &state.values {
        match names.iter().position(|n| n == name) {
            Some(i) if out[i].is_none() => out[i] = Some(*v),
            Some(_) => unexpected.push(format!("{name} (a duplicate)")),
            None => unexpected.push(name.clone()),
        }
    }
    let missing: Vec<String> =
        names.iter().zip(&out).filter(|(_, v)| v.is_none()).map(|(n, _)| n.to_string()).collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        return Err(OptimError::StateMismatch {
            kind: kind.into(),
            missing,
            unexpected,
            misshaped: Vec::new(),
        });
    }
    let out = out.map(|v| v.expect("checked"));
    if let Some(lr) = out.iter().zip(names).find(|&(v, n)| n.ends_with("lr") && !(v.is_finite() && *v >= 0.0))
    {
        let reason = format!("`{}` is {}, not a learning rate", lr.1, lr.0);
        return Err(OptimError::InvalidState { kind: kind.into(), reason });
    }
    Ok(out)
}

#[track_caller]
pub(super) fn check_lr(who: &str, lr: f64) {
    assert!(lr.is_finite() && lr >= 0.0, "{who}: invalid learning rate {lr}");
}

/// The state of a closed-form schedule: its base rate and the steps counted.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Clock {
    base_lr: f64,
    count: u64,
}

impl Clock {
    #[track_caller]
    fn new(who: &str, base_lr: f64) -> Self {
        check_lr(who, base_lr);
        Clock { base_lr, count: 0 }
    }

    fn tick(&mut self) {
        self.count += 1;
    }

    fn state(&self, kind: &str) -> SchedulerState {
        SchedulerState {
            kind: kind.into(),
            count: self.count,
            values: vec![("base_lr".into(), self.base_lr)],
        }
    }

    fn load(&mut self, kind: &str, state: &SchedulerState) -> Result<(), OptimError> {
        let [base_lr] = read(kind, state, ["base_lr"])?;
        *self = Clock { base_lr, count: state.count };
        Ok(())
    }
}

/// Multiplies the rate by γ every `step_size` steps: `η₀ γ^⌊t/step_size⌋` (PyTorch's `StepLR`).
#[derive(Debug, Clone, PartialEq)]
pub struct StepLr {
    clock: Clock,
    step_size: u64,
    gamma: f64,
}

impl StepLr {
    /// From base rate `base_lr`, decaying by `gamma` every `step_size` steps.
    ///
    /// # Panics
    ///
    /// When `base_lr` is negative or not finite, or `step_size` is 0.
    #[track_caller]
    pub fn new(base_lr: f64, step_size: u64, gamma: f64) -> Self {
        assert!(step_size > 0, "StepLr: the step size must be positive");
        StepLr { clock: Clock::new("StepLr", base_lr), step_size, gamma }
    }
}

impl Scheduler for StepLr {
    fn step(&mut self, _metric: Option<f64>) -> f64 {
        self.clock.tick();
        self.lr()
    }
    fn lr(&self) -> f64 {
        self.clock.base_lr * self.gamma.powf((self.clock.count / self.step_size) as f64)
    }
    fn state(&self) -> SchedulerState {
        self.clock.state("step")
    }
    fn load_state(&mut self, state: &SchedulerState) -> Result<(), OptimError> {
        self.clock.load("step", state)
    }
}

/// Multiplies the rate by γ every step: `η₀ γᵗ` (PyTorch's `ExponentialLR`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialLr {
    clock: Clock,
    gamma: f64,
}

impl ExponentialLr {
    /// From base rate `base_lr`, decaying by `gamma` each step.
    ///
    /// # Panics
    ///
    /// When `base_lr` is negative or not finite.
    #[track_caller]
    pub fn new(base_lr: f64, gamma: f64) -> Self {
        ExponentialLr { clock: Clock::new("ExponentialLr", base_lr), gamma }
    }
}

impl Scheduler for ExponentialLr {
    fn step(&mut self, _metric: Option<f64>) -> f64 {
        self.clock.tick();
        self.lr()
    }
    fn lr(&self) -> f64 {
        self.clock.base_lr * self.gamma.powf(self.clock.count as f64)
    }
    fn state(&self) -> SchedulerState {
        self.clock.state("exponential")
    }
    fn load_state(&mut self, state: &SchedulerState) -> Result<(), OptimError> {
        self.clock.load("exponential", state)
    }
}

/// Cosine annealing from η₀ to η_min over `t_max` steps, PyTorch's closed form
/// `η_min + (η₀ − η_min)(1 + cos(πt/t_max))/2` (which rises again past `t_max`, as PyTorch's does).
#[derive(Debug, Clone, PartialEq)]
pub struct CosineAnnealingLr {
    clock: Clock,
    t_max: u64,
    eta_min: f64,
}

impl CosineAnnealingLr {
    /// From base rate `base_lr` down to 0 over `t_max` steps.
    ///
    /// # Panics
    ///
    /// When `base_lr` is negative or not finite, or `t_max` is 0.
    #[track_caller]
    pub fn new(base_lr: f64, t_max: u64) -> Self {
        assert!(t_max > 0, "CosineAnnealingLr: t_max must be positive");
        CosineAnnealingLr { clock: Clock::new("CosineAnnealingLr", base_lr), t_max, eta_min: 0.0 }
    }

    /// The rate reached at `t_max` (default 0).
    ///
    /// # Panics
    ///
    /// When `eta_min` is negative or not finite.
    #[track_caller]
    pub fn eta_min(mut self, eta_min: f64) -> Self {
        check_lr("CosineAnnealingLr", eta_min);
        self.eta_min = eta_min;
        self
    }
}

impl Scheduler for CosineAnnealingLr {
    fn step(&mut self, _metric: Option<f64>) -> f64 {
        self.clock.tick();
        self.lr()
    }
    fn lr(&self) -> f64 {
        let c = (std::f64::consts::PI * self.clock.count as f64 / self.t_max as f64).cos();
        self.eta_min + (self.clock.base_lr - self.eta_min) * (1.0 + c) / 2.0
    }
    fn state(&self) -> SchedulerState {
        self.clock.state("cosine")
    }
    fn load_state(&mut self, state: &SchedulerState) -> Result<(), OptimError> {
        self.clock.load("cosine", state)
    }
}

/// Linear warm-up from `start_factor · η₀` to η₀ over `warmup_steps` steps, then constant:
/// `η₀(f + (1 − f)·min(t, w)/w)` (PyTorch's `LinearLR` with `end_factor` 1).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearWarmup {
    clock: Clock,
    warmup_steps: u64,
    start_factor: f64,
}

impl LinearWarmup {
    /// From `start_factor · base_lr` at step 0 to `base_lr` at step `warmup_steps` and after.
    ///
    /// # Panics
    ///
    /// When `base_lr` is negative or not finite, or `start_factor` lies outside `[0, 1]`.
    #[track_caller]
    pub fn new(base_lr: f64, warmup_steps: u64, start_factor: f64) -> Self {
        assert!((0.0..=1.0).contains(&start_factor), "LinearWarmup: invalid start factor {start_factor}");
        LinearWarmup { clock: Clock::new("LinearWarmup", base_lr), warmup_steps, start_factor }
    }
}

impl Scheduler for LinearWarmup {
    fn step(&mut self, _metric: Option<f64>) -> f64 {
        self.clock.tick();
        self.lr()
    }
    fn lr(&self) -> f64 {
        let (t, w, f) = (self.clock.count, self.warmup_steps, self.start_factor);
        if t >= w { self.clock.base_lr } else { self.clock.base_lr * (f + (1.0 - f) * t as f64 / w as f64) }
    }
    fn state(&self) -> SchedulerState {
        self.clock.state("warmup")
    }
    fn load_state(&mut self, state: &SchedulerState) -> Result<(), OptimError> {
        self.clock.load("warmup", state)
    }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;

    use super::*;

    fn run(s: &mut impl Scheduler, n: usize) -> Vec<f64> {
        (0..n).map(|_| s.step(None)).collect()
    }

    #[track_caller]
    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(want) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-3), "got {got:?}, want {want:?}");
        }
    }

    /// Steps `a` `k` times, loads its state into `b`, then checks both give the same next `n` rates.
    fn resumes(mut a: impl Scheduler, mut b: impl Scheduler, metrics: &[Option<f64>], k: usize) {
        for &m in &metrics[..k] {
            a.step(m);
        }
        b.load_state(&a.state()).unwrap();
        assert_eq!(a.lr(), b.lr());
        for &m in &metrics[k..] {
            assert_eq!(a.step(m), b.step(m));
        }
        assert_eq!(a.state(), b.state());
    }

    #[test]
    fn step_lr_decays_every_step_size_steps() {
        let mut s = StepLr::new(0.1, 3, 0.5);
        assert_eq!(s.lr(), 0.1);
        let want: Vec<f64> = (1..=8).map(|t| 0.1 * 0.5f64.powi(t / 3)).collect();
        assert_close(&run(&mut s, 8), &want);
    }

    #[test]
    fn exponential_lr_decays_every_step() {
        let want: Vec<f64> = (1..=6).map(|t| 0.2 * 0.9f64.powi(t)).collect();
        assert_close(&run(&mut ExponentialLr::new(0.2, 0.9), 6), &want);
    }

    #[test]
    fn cosine_annealing_follows_the_closed_form() {
        let mut s = CosineAnnealingLr::new(0.1, 4).eta_min(0.01);
        let want: Vec<f64> =
            (1..=8).map(|t| 0.01 + 0.09 * (1.0 + (PI * t as f64 / 4.0).cos()) / 2.0).collect();
        assert_close(&run(&mut s, 8), &want);
        assert_close(&[want[3], want[7]], &[0.01, 0.1]);
    }

    #[test]
    fn linear_warmup_rises_to_the_base_rate_then_stays() {
        let mut s = LinearWarmup::new(0.1, 4, 0.2);
        assert_close(&[s.lr()], &[0.02]);
        let want: Vec<f64> = (1..=6).map(|t: u32| 0.1 * (0.2 + 0.8 * t.min(4) as f64 / 4.0)).collect();
        assert_close(&run(&mut s, 6), &want);
        assert_eq!(run(&mut LinearWarmup::new(0.1, 0, 0.0), 2), vec![0.1, 0.1]);
    }

    #[test]
    fn every_scheduler_resumes_from_its_state() {
        let none = [None; 6];
        resumes(StepLr::new(0.1, 2, 0.5), StepLr::new(0.1, 2, 0.5), &none, 3);
        resumes(ExponentialLr::new(0.1, 0.9), ExponentialLr::new(0.1, 0.9), &none, 3);
        resumes(CosineAnnealingLr::new(0.1, 5), CosineAnnealingLr::new(0.1, 5), &none, 2);
        resumes(LinearWarmup::new(0.1, 4, 0.1), LinearWarmup::new(0.1, 4, 0.1), &none, 2);
        let make = || ReduceLrOnPlateau::new(0.1).patience(1).cooldown(1);
        let metrics = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5].map(Some);
        resumes(make(), make(), &metrics, 3);
    }

    #[test]
    fn load_state_names_wrong_kinds_and_values() {
        let mut s = StepLr::new(0.1, 2, 0.5);
        let err = s.load_state(&ExponentialLr::new(0.1, 0.9).state()).unwrap_err();
        assert_eq!(err.to_string(), "load_state: the state is of kind `exponential`, not `step`");
        let mut state = ReduceLrOnPlateau::new(0.1).state();
        state.values.remove(1);
        state.values.push(("oops".into(), 1.0));
        let err = ReduceLrOnPlateau::new(0.1).load_state(&state).unwrap_err();
        assert_eq!(
            err.to_string(),
            "load_state (plateau): the state does not fit: missing `best`; unexpected `oops`"
        );
        let mut state = s.state();
        state.values[0].1 = -1.0;
        assert_eq!(
            s.load_state(&state).unwrap_err().to_string(),
            "load_state (step): `base_lr` is -1, not a learning rate"
        );
        assert_eq!(s, StepLr::new(0.1, 2, 0.5));
    }
}
