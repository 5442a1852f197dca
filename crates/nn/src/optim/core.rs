//! What every optimizer shares: its parameters, learning rate and step counts, clipping, the
//! missing-gradient and non-finite-gradient checks, and the per-parameter state slots with their save
//! and load.

use std::collections::{HashMap, HashSet};

use wengert_tensor::{Float, Tensor};

use super::clip::{Clip, GradPrep, sum_sq};
use super::{Misshaped, OptimError, OptimizerState, StateSlot, StepReport};
use crate::param::{GradientsParam, Param};

/// A state slot: its name and the value a fresh buffer is filled with.
pub type SlotSpec = (&'static str, f64);

/// The name of the per-parameter step count slot.
const STEP: &str = "step";

/// The parameters, learning rate, counts, settings and buffers of one optimizer.
#[derive(Debug)]
pub(crate) struct Core<F: Float> {
    pub kind: &'static str,
    pub params: Vec<Param<F>>,
    pub lr: f64,
    pub step: u64,
    pub clip: Option<Clip>,
    pub allow_missing: bool,
    /// Refuse a step whose gradients hold NaN or ±∞ (on by default).
    pub check_finite: bool,
    /// The learning rate the optimizer was built with: a parameter group's rate follows `lr` in
    /// proportion to it.
    base_lr: f64,
    /// Each parameter's own learning rate (a parameter group's), or `None` for the optimizer's.
    group_lr: Vec<Option<f64>>,
    /// Parameters the steps leave alone.
    frozen: Vec<bool>,
    shapes: Vec<Vec<usize>>,
    /// Updates each parameter received (PyTorch's per-parameter `state["step"]`).
    counts: Vec<u64>,
    /// The slots `bufs` was allocated for; `bufs` is empty until the first step or load.
    spec: Vec<SlotSpec>,
    bufs: Vec<Vec<Tensor<F>>>,
}

/// One parameter's update: its value, gradient, buffers in the order of the slot spec, its step number
/// `t` (1 on its first update) and the clipping to apply to each gradient element.
pub struct Update<'a, F: Float> {
    pub p: &'a mut Tensor<F>,
    pub g: &'a Tensor<F>,
    pub bufs: &'a mut [Tensor<F>],
    pub t: u64,
    pub prep: GradPrep<F>,
    /// The learning rate for this parameter.
    pub lr: f64,
}

/// Panics with `who: what` unless `ok`.
#[track_caller]
pub(crate) fn check(ok: bool, who: &str, what: &str, value: f64) {
    assert!(ok, "{who}: invalid {what} {value}");
}

impl<F: Float> Core<F> {
    /// # Panics
    ///
    /// When `lr` is negative or not finite, or two parameters share a name.
    #[track_caller]
    pub fn new(kind: &'static str, who: &str, params: Vec<Param<F>>, lr: f64) -> Self {
        check(lr.is_finite() && lr >= 0.0, who, "learning rate", lr);
        let mut seen = HashSet::new();
        for p in &params {
            if !seen.insert(p.name()) {
                panic!("{who}: two parameters are named `{}`; names key the optimizer's state", p.name());
            }
        }
        let n = params.len();
        Core {
            kind,
            shapes: params.iter().map(Param::shape).collect(),
            params,
            lr,
            step: 0,
            clip: None,
            allow_missing: false,
            check_finite: true,
            base_lr: lr,
            group_lr: vec![None; n],
            frozen: vec![false; n],
            counts: vec![0; n],
            spec: Vec::new(),
            bufs: Vec::new(),
        }
    }

    /// # Panics
    ///
    /// When the clipping threshold is negative or NaN.
    #[track_caller]
    pub fn set_clip(&mut self, who: &str, clip: Clip) {
        let (what, v) = match clip {
            Clip::Norm(v) => ("max norm", v),
            Clip::Value(v) => ("clip value", v),
        };
        check(v >= 0.0, who, what, v);
        self.clip = Some(clip);
    }

    /// Adds parameters that step with their own learning rate `lr` (PyTorch's `add_param_group`).
    ///
    /// # Panics
    ///
    /// When `lr` is negative or not finite, or a name is already taken.
    #[track_caller]
    pub fn add_group(&mut self, who: &str, params: Vec<Param<F>>, lr: f64) {
        check(lr.is_finite() && lr >= 0.0, who, "learning rate", lr);
        for p in params {
            if self.params.iter().any(|q| q.name() == p.name()) {
                panic!("{who}: two parameters are named `{}`; names key the optimizer's state", p.name());
            }
            let shape = p.shape();
            if !self.bufs.is_empty() {
                self.bufs.push(self.spec.iter().map(|&(_, v)| fresh(&shape, v)).collect());
            }
            self.shapes.push(shape);
            self.params.push(p);
            self.group_lr.push(Some(lr));
            self.frozen.push(false);
            self.counts.push(0);
        }
    }

    /// The learning rate of parameter `i` now: the optimizer's, or its group's scaled as the
    /// optimizer's has been since it was built.
    fn lr_of(&self, i: usize) -> f64 {
        match self.group_lr[i] {
            None => self.lr,
            Some(g) if self.base_lr > 0.0 => g * self.lr / self.base_lr,
            Some(g) => g,
        }
    }

    /// Freezes (or thaws) every parameter whose name starts with `prefix`; returns how many matched.
    pub fn set_frozen(&mut self, prefix: &str, frozen: bool) -> usize {
        let mut n = 0;
        for (p, f) in self.params.iter().zip(&mut self.frozen) {
            if p.name().starts_with(prefix) {
                *f = frozen;
                n += 1;
            }
        }
        n
    }

    /// True when the parameter named `name` is frozen.
    pub fn is_frozen(&self, name: &str) -> bool {
        self.params.iter().zip(&self.frozen).any(|(p, &f)| f && p.name() == name)
    }

    fn allocated(&self, spec: &[SlotSpec]) -> bool {
        self.spec == spec && self.bufs.len() == self.params.len()
    }

    fn allocate(&mut self, spec: &[SlotSpec]) {
        if !self.allocated(spec) {
            self.bufs =
                self.shapes.iter().map(|s| spec.iter().map(|&(_, v)| fresh(s, v)).collect()).collect();
            self.spec = spec.to_vec();
        }
    }

    /// Checks every gradient first (present, of the parameter's shape, finite), then calls `update`
    /// for each parameter that has one.
    pub fn step(
        &mut self,
        grads: &dyn GradientsParam<F>,
        spec: &[SlotSpec],
        mut update: impl FnMut(Update<'_, F>),
    ) -> Result<StepReport, OptimError> {
        let mut gs = Vec::with_capacity(self.params.len());
        let mut missing = Vec::new();
        for ((p, shape), &frozen) in self.params.iter().zip(&self.shapes).zip(&self.frozen) {
            if frozen {
                gs.push(None);
                continue;
            }
            let g = grads.param(p);
            match g {
                None => missing.push(p.name().to_string()),
                Some(g) if g.shape() != shape.as_slice() => {
                    let (expected, found) = (shape.clone(), g.shape().to_vec());
                    return Err(OptimError::GradientShape { name: p.name().to_string(), expected, found });
                }
                Some(_) => {}
            }
            gs.push(g);
        }
        if !missing.is_empty() && !self.allow_missing {
            return Err(OptimError::MissingGradients { names: missing });
        }
        if !missing.is_empty() {
            let list = missing.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
            eprintln!("warning: {} step {}: no gradient for {list}; skipped them", self.kind, self.step + 1);
        }
        // Clipping by norm reads every gradient anyway: a finite sum of squares proves its gradient
        // finite, so only a non-finite sum (or no clipping by norm) costs a pass of its own.
        let sums: Option<Vec<f64>> = matches!(self.clip, Some(Clip::Norm(_)))
            .then(|| gs.iter().map(|g| g.map_or(0.0, sum_sq)).collect());
        if self.check_finite {
            let names: Vec<String> = (0..gs.len())
                .filter(|&i| {
                    let proven = sums.as_ref().is_some_and(|s| s[i].is_finite());
                    gs[i].is_some_and(|g| !proven && !g.all_finite())
                })
                .map(|i| self.params[i].name().to_string())
                .collect();
            if !names.is_empty() {
                return Err(OptimError::NonFiniteGradients { names });
            }
        }
        let (prep, grad_norm) = GradPrep::new(self.clip, sums.as_deref());
        self.allocate(spec);
        for (i, g) in gs.into_iter().enumerate() {
            let Some(g) = g else { continue };
            let lr = self.lr_of(i);
            let (shape, t, bufs) = (&self.shapes[i], self.counts[i] + 1, &mut self.bufs[i][..]);
            self.params[i].update(|p| {
                assert_eq!(p.shape(), shape.as_slice(), "optimizer: a parameter changed its shape");
                update(Update { p, g, bufs, t, prep, lr });
            });
            self.counts[i] = t;
        }
        self.step += 1;
        Ok(StepReport { skipped: missing, grad_norm })
    }

    pub fn state(&self, spec: &[SlotSpec]) -> OptimizerState<F> {
        let allocated = self.allocated(spec);
        let mut slots = Vec::with_capacity(self.params.len() * (spec.len() + 1));
        for (i, p) in self.params.iter().enumerate() {
            let slot =
                |slot: &str, value| StateSlot { param: p.name().to_string(), slot: slot.into(), value };
            slots.push(slot(STEP, Tensor::scalar(F::from_f64(self.counts[i] as f64))));
            for (k, &(name, init)) in spec.iter().enumerate() {
                let buf = if allocated { self.bufs[i][k].clone() } else { fresh(&self.shapes[i], init) };
                slots.push(slot(name, buf));
            }
        }
        OptimizerState { kind: self.kind.to_string(), step: self.step, lr: self.lr, slots }
    }

    pub fn load_state(&mut self, spec: &[SlotSpec], state: &OptimizerState<F>) -> Result<(), OptimError> {
        let kind = self.kind.to_string();
        if state.kind != self.kind {
            return Err(OptimError::KindMismatch { expected: kind, found: state.kind.clone() });
        }
        let invalid = |reason: String| OptimError::InvalidState { kind: kind.clone(), reason };
        if !(state.lr.is_finite() && state.lr >= 0.0) {
            return Err(invalid(format!("the learning rate {} is negative or not finite", state.lr)));
        }
        let index: HashMap<&str, usize> =
            self.params.iter().enumerate().map(|(i, p)| (p.name(), i)).collect();
        let mut found: Vec<Vec<Option<&Tensor<F>>>> = vec![vec![None; spec.len() + 1]; self.params.len()];
        let (mut unexpected, mut misshaped) = (Vec::new(), Vec::new());
        for s in &state.slots {
            let name = format!("{}/{}", s.param, s.slot);
            let k = if s.slot == STEP {
                Some(0)
            } else {
                spec.iter().position(|(n, _)| *n == s.slot).map(|k| k + 1)
            };
            let (Some(&i), Some(k)) = (index.get(s.param.as_str()), k) else {
                unexpected.push(name);
                continue;
            };
            if found[i][k].is_some() {
                unexpected.push(format!("{name} (a duplicate)"));
                continue;
            }
            let expected: &[usize] = if k == 0 { &[] } else { &self.shapes[i] };
            if s.value.shape() != expected {
                misshaped.push(Misshaped {
                    slot: name,
                    expected: expected.to_vec(),
                    found: s.value.shape().to_vec(),
                });
            }
            found[i][k] = Some(&s.value);
        }
        let mut missing = Vec::new();
        for (p, slots) in self.params.iter().zip(&found) {
            let names = std::iter::once(STEP).chain(spec.iter().map(|(n, _)| *n));
            missing.extend(
                names.zip(slots).filter(|(_, s)| s.is_none()).map(|(n, _)| format!("{}/{n}", p.name())),
            );
        }
        if !(missing.is_empty() && unexpected.is_empty() && misshaped.is_empty()) {
            return Err(OptimError::StateMismatch { kind, missing, unexpected, misshaped });
        }
        let mut counts = Vec::with_capacity(self.params.len());
        for (p, slots) in self.params.iter().zip(&found) {
            let t = slots[0].expect("checked").item().to_f64();
            if !(t >= 0.0 && t.fract() == 0.0 && t < 2f64.powi(63)) {
                return Err(invalid(format!("slot `{}/{STEP}` holds {t}, not a step count", p.name())));
            }
            counts.push(t as u64);
        }
        // O(1) copies: the first update copies a buffer still shared with the state (copy on write).
        self.bufs =
            found.iter().map(|s| s[1..].iter().map(|t| (*t.expect("checked")).clone()).collect()).collect();
        self.spec = spec.to_vec();
        self.counts = counts;
        self.step = state.step;
        self.lr = state.lr;
        Ok(())
    }
}

fn fresh<F: Float>(shape: &[usize], value: f64) -> Tensor<F> {
    Tensor::full(shape, F::from_f64(value))
}

/// Helpers for the optimizers' tests: parameters, gradients from a real tape, tolerant comparison.
#[cfg(test)]
pub(crate) mod testing {
    use wengert_tape::{Gradients, Tape};
    use wengert_tensor::Tensor;

    use crate::param::{Param, TapeParam};

    /// A 1-d f64 parameter.
    pub fn param(name: &str, v: &[f64]) -> Param<f64> {
        Param::new(name, Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap())
    }

    /// Gradients of `Σᵢ cᵢ·pᵢ + pᵢ²` over the given parameters: `gᵢ = cᵢ + 2pᵢ`, computed by the tape.
    pub fn grads(params: &[&Param<f64>], cs: &[&[f64]]) -> Gradients<f64> {
        let tape = Tape::new();
        let mut loss = tape.scalar(0.0);
        for (p, c) in params.iter().zip(cs) {
            let x = tape.param(p);
            let c = tape.constant(Tensor::from_vec(c.to_vec(), &[c.len()]).unwrap());
            loss = loss + (x * c).sum() + (x * x).sum();
        }
        loss.backward()
    }

    /// `c + 2p`, the gradient [`grads`] computes.
    pub fn g(p: &[f64], c: &[f64]) -> Vec<f64> {
        p.iter().zip(c).map(|(p, c)| c + 2.0 * p).collect()
    }

    /// Equal within a relative (or, near zero, absolute) 1e-12.
    #[track_caller]
    pub fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "lengths differ: {got:?} vs {want:?}");
        for (a, b) in got.iter().zip(want) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "got {got:?}, want {want:?}");
        }
    }
}
