//! Applying a checkpoint to a store and an optimizer: every name and shape checked against the
//! store's parameters, and the optimizer's state and the generator checked for values that cannot be
//! right, before any value changes; and a report of what was set.

use std::collections::HashMap;
use std::path::Path;

use wengert_tensor::{Float, Tensor};

use super::{Checkpoint, CheckpointError};
use crate::optim::{Optimizer, OptimizerState};
use crate::rng::SeedRng;
use crate::store::ParamStore;

/// Optimizer slots that hold running sums or averages of squares, which are never negative.
const SQUARE_SLOTS: [&str; 4] = ["exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum"];

/// What a load did: the parameters it set and, for partial loads, what it passed over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LoadReport {
    /// The names of the parameters set, in the store's order.
    pub loaded: Vec<String>,
    /// Parameters of the store the file lacks (left as they were; empty after a strict load).
    pub missing: Vec<String>,
    /// Entries of the file the store lacks (ignored; empty after a strict load).
    pub unexpected: Vec<String>,
    /// Parameters converted from another type (safetensors only: F16, BF16 and integers widen exactly,
    /// f64 to f32 rounds to nearest).
    pub converted: Vec<String>,
    /// Tensors of the file passed over, with the reason (safetensors only: an integer tensor the model
    /// has no place for, a dtype not read, a name a key map skips).
    pub skipped: Vec<(String, String)>,
    /// Buffers the file lacks that a load tolerates even when strict, left at their current value: the
    /// BatchNorm batch counters (`num_batches_tracked`) that files written before BatchNorm counted
    /// batches do not hold (PyTorch loads such files the same way; a fresh model's counter stays 0).
    pub defaulted: Vec<String>,
}

/// The last name segment of BatchNorm's batch counter, which older files lack.
const COUNTER: &str = "num_batches_tracked";

/// Whether `name` is a BatchNorm batch counter (`num_batches_tracked` or `<path>.num_batches_tracked`).
pub(crate) fn is_counter(name: &str) -> bool {
    name.rsplit('.').next() == Some(COUNTER)
}

impl<F: Float> Checkpoint<F> {
    /// Sets every parameter of `store` from the checkpoint, and the store's generator when the
    /// checkpoint holds one.
    ///
    /// Every name and shape, and the generator, is checked before anything changes. A BatchNorm batch
    /// counter (`num_batches_tracked`) the checkpoint lacks, as checkpoints saved before BatchNorm had
    /// one do, keeps its value and is listed in [`LoadReport::defaulted`] (see
    /// [`load_weights`](super::load_weights) for the report).
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Mismatch`], listing every missing, unexpected and misshaped entry, when the
    /// names or shapes differ from the store's, and [`CheckpointError::InvalidState`] for an all-zero
    /// generator (which would only ever draw zeros); both name the file the checkpoint was read from.
    /// The store is then unchanged.
    pub fn apply_to_store(&self, store: &ParamStore<F>) -> Result<(), CheckpointError> {
        self.apply(store, true).map(|_| ())
    }

    /// Like [`apply_to_store`](Self::apply_to_store), but parameters missing from the checkpoint keep
    /// their values and entries the store lacks are ignored (PyTorch's `strict=False`); the report lists
    /// both.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Mismatch`] listing every entry whose shape differs, and
    /// [`CheckpointError::InvalidState`] for an all-zero generator; the store is then unchanged.
    pub fn apply_to_store_partial(&self, store: &ParamStore<F>) -> Result<LoadReport, CheckpointError> {
        self.apply(store, false)
    }

    pub(super) fn apply(&self, store: &ParamStore<F>, strict: bool) -> Result<LoadReport, CheckpointError> {
        let invalid =
            |(field, reason)| CheckpointError::InvalidState { path: self.path.clone(), field, reason };
        if let Some(rng) = &self.rng {
            check_rng(rng).map_err(invalid)?;
        }
        let report = assign(store, &self.params, strict, self.path.as_deref())?;
        if let Some(rng) = &self.rng {
            store.set_rng_state(rng.clone());
        }
        Ok(report)
    }

    /// The data source's generator ([`Checkpoint::data_rng`]), after checking it.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::InvalidState`] naming the file for an all-zero generator.
    pub fn checked_data_rng(&self) -> Result<Option<SeedRng>, CheckpointError> {
        let Some(rng) = &self.data_rng else { return Ok(None) };
        check_rng(rng).map_err(|(_, reason)| CheckpointError::InvalidState {
            path: self.path.clone(),
            field: "data_rng".into(),
            reason,
        })?;
        Ok(Some(rng.clone()))
    }

    /// Restores the optimizer's state from the checkpoint, after checking it: every moment finite,
    /// every second moment (`exp_avg_sq`, `max_exp_avg_sq`, `square_avg`, Adagrad's `sum`) at least
    /// zero. Resume training with [`apply_to_store`](Self::apply_to_store) and this.
    ///
    /// ```
    /// use wengert::nn::checkpoint::Checkpoint;
    /// use wengert::nn::optim::{Adam, Optimizer};
    /// use wengert::nn::{Init, ParamStore};
    ///
    /// let store = ParamStore::<f32>::new(0);
    /// store.root().param("w", &[2], Init::Ones);
    /// let adam = Adam::new(store.parameters(), 0.01);
    /// let mut c = Checkpoint::from_store(&store);
    /// c.optimizer = Some(adam.state());
    /// let mut resumed = Adam::new(store.parameters(), 0.5);
    /// c.apply_to_optimizer(&mut resumed)?;
    /// assert_eq!(resumed.lr(), 0.01);
    /// # Ok::<(), wengert::nn::checkpoint::CheckpointError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CheckpointError::InvalidState`] naming the slot and the element of a value that cannot be
    /// right, or saying that the checkpoint holds no optimizer state; [`CheckpointError::Optimizer`]
    /// when the optimizer refuses the state (another kind, other parameters or shapes). Both name the
    /// file the checkpoint was read from; the optimizer is then unchanged.
    pub fn apply_to_optimizer<O: Optimizer<F> + ?Sized>(
        &self,
        optimizer: &mut O,
    ) -> Result<(), CheckpointError> {
        let invalid =
            |(field, reason)| CheckpointError::InvalidState { path: self.path.clone(), field, reason };
        let Some(state) = &self.optimizer else {
            return Err(invalid(("optimizer".into(), "absent: the checkpoint was saved without one".into())));
        };
        check_optimizer(state).map_err(invalid)?;
        optimizer
            .load_state(state)
            .map_err(|source| CheckpointError::Optimizer { path: self.path.clone(), source })
    }
}

/// An all-zero xoshiro state is the one the generator never leaves: every draw would be zero.
fn check_rng(rng: &SeedRng) -> Result<(), (String, String)> {
    if super::format::encodes_to_zeros(rng) {
        return Err(("rng".into(), "the generator's state is all zeros, which only ever draws zeros".into()));
    }
    Ok(())
}

/// Every slot finite, every second moment at least zero; else the field and the reason.
fn check_optimizer<F: Float>(state: &OptimizerState<F>) -> Result<(), (String, String)> {
    for s in &state.slots {
        let square = SQUARE_SLOTS.contains(&s.slot.as_str());
        let bad = s.value.to_vec().into_iter().enumerate().find_map(|(i, v)| {
            let v = v.to_f64();
            if !v.is_finite() {
                Some(format!("element {i} is {v}; a moment must be finite"))
            } else if square && v < 0.0 {
                Some(format!("element {i} is {v}; a second moment is never negative"))
            } else {
                None
            }
        });
        if let Some(reason) = bad {
            return Err((format!("optimizer slot `{}/{}`", s.param, s.slot), reason));
        }
    }
    Ok(())
}

/// Checks `entries` against the parameters of `store` and, when they match, sets them. Strict: every
/// parameter present, nothing unexpected. Either way, every shape must match, and a missing batch
/// counter buffer is no mismatch: it keeps its value and is reported as defaulted. Nothing changes on
/// error. `path` is the file the entries were read from, for the error.
pub(crate) fn assign<F: Float>(
    store: &ParamStore<F>,
    entries: &[(String, Tensor<F>)],
    strict: bool,
    path: Option<&Path>,
) -> Result<LoadReport, CheckpointError> {
    let params = store.state_dict();
    let counters: Vec<String> =
        store.buffers().iter().map(|b| b.name().to_string()).filter(|n| is_counter(n)).collect();
    let mut by_name: HashMap<&str, &Tensor<F>> = HashMap::with_capacity(entries.len());
    let mut unexpected = Vec::new();
    for (name, value) in entries {
        let known = params.iter().any(|p| p.name() == name);
        if !known || by_name.insert(name.as_str(), value).is_some() {
            unexpected.push(name.clone());
        }
    }
    let (mut missing, mut misshaped, mut plan, mut defaulted) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in &params {
        match by_name.get(p.name()) {
            None if counters.iter().any(|c| c == p.name()) => defaulted.push(p.name().to_string()),
            None => missing.push(p.name().to_string()),
            Some(v) if v.shape() != p.shape() => {
                misshaped.push((p.name().to_string(), p.shape(), v.shape().to_vec()));
            }
            Some(v) => plan.push((p, *v)),
        }
    }
    let refused = !misshaped.is_empty() || (strict && (!missing.is_empty() || !unexpected.is_empty()));
    if refused {
        if !strict {
            (missing, unexpected) = (Vec::new(), Vec::new());
        }
        return Err(CheckpointError::Mismatch {
            path: path.map(Path::to_path_buf),
            missing,
            unexpected,
            misshaped,
        });
    }
    let loaded = plan.iter().map(|(p, _)| p.name().to_string()).collect();
    for (p, v) in plan {
        p.set(v.clone());
    }
    Ok(LoadReport { loaded, missing, unexpected, defaulted, ..LoadReport::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Init;
    use crate::rng::SeedRng;

    fn store(seed: u64) -> ParamStore<f32> {
        let s = ParamStore::new(seed);
        s.root().sub("layers").sub(0).param("weight", &[3, 2], Init::GLOROT_UNIFORM);
        s.root().sub("layers").sub(0).param("bias", &[3], Init::Ones);
        s
    }

    #[test]
    fn apply_to_store_restores_values_and_the_generator() {
        let (a, b) = (store(1), store(2));
        let c = Checkpoint::from_store(&a);
        c.apply_to_store(&b).unwrap();
        for (p, q) in a.parameters().iter().zip(b.parameters()) {
            assert_eq!(p.value(), q.value());
        }
        assert_eq!(a.rng_state(), b.rng_state());
    }

    #[test]
    fn apply_to_store_lists_every_mismatch_and_changes_nothing() {
        let target = ParamStore::<f32>::new(0);
        target.root().param("a", &[2], Init::Zeros);
        target.root().param("b", &[2], Init::Zeros);
        target.root().param("c", &[2, 2], Init::Zeros);
        target.root().param("d", &[1], Init::Zeros);
        let rng_before = target.rng_state();
        let mut c = Checkpoint::new();
        c.rng = Some(SeedRng::new(99));
        c.params = vec![
            ("a".into(), Tensor::ones(&[2])),
            ("c".into(), Tensor::ones(&[4])),
            ("d".into(), Tensor::ones(&[2])),
            ("x".into(), Tensor::ones(&[1])),
            ("a".into(), Tensor::ones(&[2])),
        ];
        let err = c.apply_to_store(&target).unwrap_err();
        match &err {
            CheckpointError::Mismatch { path: None, missing, unexpected, misshaped } => {
                assert_eq!(missing, &["b"]);
                assert_eq!(unexpected, &["x", "a"]);
                assert_eq!(misshaped, &[("c".into(), vec![2, 2], vec![4]), ("d".into(), vec![1], vec![2])]);
            }
            e => panic!("{e:?}"),
        }
        assert!(target.parameters().iter().all(|p| p.value().to_vec().iter().all(|&v| v == 0.0)));
        assert_eq!(target.rng_state(), rng_before);
    }

    #[test]
    fn a_partial_apply_skips_missing_and_unexpected_entries() {
        let target = ParamStore::<f32>::new(0);
        target.root().param("a", &[2], Init::Zeros);
        target.root().param("b", &[2], Init::Zeros);
        let mut c = Checkpoint::new();
        c.params = vec![("a".into(), Tensor::ones(&[2])), ("z".into(), Tensor::ones(&[1]))];
        let report = c.apply_to_store_partial(&target).unwrap();
        assert_eq!(report.loaded, ["a"]);
        assert_eq!(report.missing, ["b"]);
        assert_eq!(report.unexpected, ["z"]);
        assert_eq!(target.get("a").unwrap().value().to_vec(), vec![1.0, 1.0]);
        assert_eq!(target.get("b").unwrap().value().to_vec(), vec![0.0, 0.0]);
        c.params.push(("b".into(), Tensor::ones(&[3])));
        let err = c.apply_to_store_partial(&target).unwrap_err();
        assert_eq!(
            err.to_string(),
            "checkpoint does not match the model: misshaped `b` (model [2], checkpoint [3])"
        );
    }

    fn adam_checkpoint() -> (ParamStore<f32>, crate::optim::Adam<f32>, Checkpoint<f32>) {
        use crate::optim::Adam;
        let s = store(3);
        let adam = Adam::new(s.parameters(), 0.01);
        let mut c = Checkpoint::from_store(&s);
        c.optimizer = Some(adam.state());
        (s, adam, c)
    }

    #[test]
    fn bad_optimizer_moments_are_refused_by_slot_and_element() {
        let (_, mut adam, c) = adam_checkpoint();
        c.apply_to_optimizer(&mut adam).unwrap();
        let slot = |c: &Checkpoint<f32>, name: &str| {
            c.optimizer
                .as_ref()
                .unwrap()
                .slots
                .iter()
                .position(|s| s.param == "layers.0.bias" && s.slot == name)
        };
        let cases = [
            ("exp_avg_sq", -0.5, "element 1 is -0.5; a second moment is never negative"),
            ("exp_avg_sq", f32::INFINITY, "element 1 is inf; a moment must be finite"),
            ("exp_avg", f32::NAN, "element 1 is NaN; a moment must be finite"),
        ];
        for (name, value, want) in cases {
            let mut bad = c.clone();
            bad.path = Some("run/m.ckpt".into());
            let i = slot(&bad, name).unwrap();
            let state = bad.optimizer.as_mut().unwrap();
            state.slots[i].value = Tensor::from_vec(vec![0.0, value, 0.0], &[3]).unwrap();
            let before = adam.state();
            let err = bad.apply_to_optimizer(&mut adam).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("run/m.ckpt: invalid state: optimizer slot `layers.0.bias/{name}`: {want}")
            );
            assert_eq!(adam.state(), before);
        }
        // A negative first moment is fine.
        let mut ok = c.clone();
        let i = slot(&ok, "exp_avg").unwrap();
        ok.optimizer.as_mut().unwrap().slots[i].value = Tensor::full(&[3], -1.0);
        ok.apply_to_optimizer(&mut adam).unwrap();
    }

    #[test]
    fn the_optimizer_refusing_a_state_or_no_state_is_an_error_naming_the_file() {
        let (_, mut adam, mut c) = adam_checkpoint();
        c.path = Some("run/m.ckpt".into());
        c.optimizer.as_mut().unwrap().kind = "sgd".into();
        let err = c.apply_to_optimizer(&mut adam).unwrap_err();
        assert_eq!(err.to_string(), "run/m.ckpt: load_state: the state is of kind `sgd`, not `adam`");
        c.optimizer = None;
        let err = c.apply_to_optimizer(&mut adam).unwrap_err();
        assert_eq!(
            err.to_string(),
            "run/m.ckpt: invalid state: optimizer: absent: the checkpoint was saved without one"
        );
    }

    #[test]
    fn an_all_zero_generator_is_refused_and_nothing_changes() {
        let (a, b) = (store(1), store(2));
        let mut c = Checkpoint::from_store(&a);
        c.rng = Some(super::super::format::zero_rng());
        let before = b.get("layers.0.weight").unwrap().value();
        let err = c.apply_to_store(&b).unwrap_err();
        assert!(matches!(&err, CheckpointError::InvalidState { field, .. } if field == "rng"), "{err}");
        assert_eq!(b.get("layers.0.weight").unwrap().value(), before);
        assert!(c.apply_to_store_partial(&b).is_err());
    }

    #[test]
    fn a_mismatch_names_the_file_the_checkpoint_came_from() {
        let mut c = Checkpoint::<f32>::new();
        c.path = Some("run/m.ckpt".into());
        c.params = vec![("z".into(), Tensor::ones(&[1]))];
        let err = c.apply_to_store(&store(0)).unwrap_err();
        assert!(
            err.to_string().starts_with("run/m.ckpt: checkpoint does not match the model: missing"),
            "{err}"
        );
    }
}
