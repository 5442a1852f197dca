//! ReduceLrOnPlateau, as PyTorch's: after more than `patience` steps without an improvement of the
//! metric (`a < best·(1 − threshold)` for a loss, relative mode), `η ← max(η·factor, η_min)`, then
//! `cooldown` steps before bad steps count again.

use super::{Scheduler, check_lr, read};
use crate::optim::{OptimError, SchedulerState};

/// Whether [`ReduceLrOnPlateau`]'s metric improves downwards (a loss) or upwards (an accuracy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlateauMode {
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// How [`ReduceLrOnPlateau`]'s threshold measures an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Relative: better than `best·(1 ∓ threshold)`.
    Rel,
    /// Absolute: better than `best ∓ threshold`.
    Abs,
}

/// Multiplies the rate by `factor` (not below `min_lr`) when the metric has not improved for more
/// than `patience` steps, then waits `cooldown` steps before counting again (PyTorch's
/// `ReduceLrOnPlateau`; defaults mode min, factor 0.1, patience 10, relative threshold 10⁻⁴,
/// cooldown 0, min_lr 0, eps 10⁻⁸: a reduction smaller than eps is skipped).
///
/// ```
/// use wengert::nn::optim::{ReduceLrOnPlateau, Scheduler};
/// let mut s = ReduceLrOnPlateau::new(0.1).factor(0.5).patience(1);
/// let lrs: Vec<f64> = [1.0, 1.0, 1.0, 0.5].iter().map(|&loss| s.step(Some(loss))).collect();
/// assert_eq!(lrs, vec![0.1, 0.1, 0.05, 0.05]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceLrOnPlateau {
    lr: f64,
    mode: PlateauMode,
    factor: f64,
    patience: u64,
    threshold: f64,
    threshold_mode: ThresholdMode,
    cooldown: u64,
    min_lr: f64,
    eps: f64,
    count: u64,
    best: f64,
    bad_epochs: u64,
    cooldown_counter: u64,
}

/// The former name of [`ReduceLrOnPlateau`].
#[deprecated(since = "0.1.0", note = "renamed to ReduceLrOnPlateau")]
pub type ReduceLROnPlateau = ReduceLrOnPlateau;

impl ReduceLrOnPlateau {
    /// From rate `lr`, with PyTorch's defaults.
    ///
    /// # Panics
    ///
    /// When `lr` is negative or not finite.
    #[track_caller]
    pub fn new(lr: f64) -> Self {
        check_lr("ReduceLrOnPlateau", lr);
        ReduceLrOnPlateau {
            lr,
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
            count: 0,
            best: f64::INFINITY,
            bad_epochs: 0,
            cooldown_counter: 0,
        }
    }

    /// Whether lower or higher is better (default [`PlateauMode::Min`]).
    pub fn mode(mut self, mode: PlateauMode) -> Self {
        self.mode = mode;
        self.best = match mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        };
        self
    }

    /// The factor applied to the rate on a plateau (default 0.1).
    ///
    /// # Panics
    ///
    /// When `factor` does not lie in `[0, 1)`.
    #[track_caller]
    pub fn factor(mut self, factor: f64) -> Self {
        assert!((0.0..1.0).contains(&factor), "ReduceLrOnPlateau: invalid factor {factor}");
        self.factor = factor;
        self
    }

    /// How many steps without improvement are tolerated (default 10).
    pub fn patience(mut self, patience: u64) -> Self {
        self.patience = patience;
        self
    }

    /// The least improvement that counts, and how it is measured (default 10⁻⁴, relative).
    pub fn threshold(mut self, threshold: f64, mode: ThresholdMode) -> Self {
        (self.threshold, self.threshold_mode) = (threshold, mode);
        self
    }

    /// How many steps after a reduction pass before bad steps count again (default 0).
    pub fn cooldown(mut self, cooldown: u64) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The rate is never reduced below this (default 0).
    ///
    /// # Panics
    ///
    /// When `min_lr` is negative or not finite.
    #[track_caller]
    pub fn min_lr(mut self, min_lr: f64) -> Self {
        check_lr("ReduceLrOnPlateau", min_lr);
        self.min_lr = min_lr;
        self
    }

    /// Reductions smaller than this are skipped (default 10⁻⁸).
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    fn is_better(&self, a: f64) -> bool {
        let (best, th) = (self.best, self.threshold);
        match (self.mode, self.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - th),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - th,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (th + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + th,
        }
    }
}

const PLATEAU: [&str; 4] = ["lr", "best", "bad_epochs", "cooldown_counter"];

impl Scheduler for ReduceLrOnPlateau {
    /// Counts one step with the monitored `metric` (a NaN counts as no improvement).
    ///
    /// # Panics
    ///
    /// When `metric` is `None`: a plateau needs the monitored value.
    #[track_caller]
    fn step(&mut self, metric: Option<f64>) -> f64 {
        let Some(a) = metric else { panic!("ReduceLrOnPlateau: step needs the monitored metric, got None") };
        self.count += 1;
        if self.is_better(a) {
            (self.best, self.bad_epochs) = (a, 0);
        } else {
            self.bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.bad_epochs = 0;
        }
        if self.bad_epochs > self.patience {
            let new = (self.lr * self.factor).max(self.min_lr);
            if self.lr - new > self.eps {
                self.lr = new;
            }
            (self.cooldown_counter, self.bad_epochs) = (self.cooldown, 0);
        }
        self.lr
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn state(&self) -> SchedulerState {
        let v = [self.lr, self.best, self.bad_epochs as f64, self.cooldown_counter as f64];
        let values = PLATEAU.iter().zip(v).map(|(n, v)| (n.to_string(), v)).collect();
        SchedulerState { kind: "plateau".into(), count: self.count, values }
    }

    fn load_state(&mut self, state: &SchedulerState) -> Result<(), OptimError> {
        let [lr, best, bad, cool] = read("plateau", state, PLATEAU)?;
        for (name, v) in [("bad_epochs", bad), ("cooldown_counter", cool)] {
            if !(v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(63)) {
                let reason = format!("`{name}` is {v}, not a count");
                return Err(OptimError::InvalidState { kind: "plateau".into(), reason });
            }
        }
        (self.lr, self.best, self.bad_epochs, self.cooldown_counter) = (lr, best, bad as u64, cool as u64);
        self.count = state.count;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(want) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-3), "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn plateau_reduces_after_patience_then_cools_down_and_stops_at_min_lr() {
        let mut s = ReduceLrOnPlateau::new(0.1).factor(0.5).patience(2).cooldown(1).min_lr(0.02);
        let metrics: Vec<f64> = [1.0, 0.9].into_iter().chain([0.95; 15]).collect();
        let got: Vec<f64> = metrics.iter().map(|&m| s.step(Some(m))).collect();
        // Bad steps from the third; more than 2 of them reduce; the step after a reduction cools down.
        let want: Vec<f64> =
            [(0.1, 4), (0.05, 4), (0.025, 4), (0.02, 5)].iter().flat_map(|&(lr, n)| vec![lr; n]).collect();
        assert_close(&got, &want);
    }

    #[test]
    fn plateau_in_max_mode_needs_an_improvement_beyond_the_threshold() {
        let mut s =
            ReduceLrOnPlateau::new(1.0).mode(PlateauMode::Max).patience(0).threshold(0.1, ThresholdMode::Rel);
        let got: Vec<f64> = [1.0, 1.05, 1.2, 1.2].iter().map(|&m| s.step(Some(m))).collect();
        assert_close(&got, &[1.0, 0.1, 0.1, 0.01]);
        let mut s = ReduceLrOnPlateau::new(1.0).patience(0).threshold(0.5, ThresholdMode::Abs);
        let got: Vec<f64> = [1.0, 0.6, 0.4, f64::NAN].iter().map(|&m| s.step(Some(m))).collect();
        assert_close(&got, &[1.0, 0.1, 0.1, 0.01]);
    }

    #[test]
    #[should_panic(expected = "ReduceLrOnPlateau: step needs the monitored metric")]
    fn plateau_without_a_metric_panics() {
        ReduceLrOnPlateau::new(0.1).step(None);
    }
}
