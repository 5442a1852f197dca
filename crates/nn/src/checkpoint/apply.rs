//! Applying a checkpoint to a store: every name and shape checked against the store's parameters
//! before any value changes, and a report of what was set.

use std::collections::HashMap;

use wengert_tensor::{Float, Tensor};

use super::{Checkpoint, CheckpointError};
use crate::store::ParamStore;

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
    /// Parameters converted from the other float type (safetensors only; f64 to f32 rounds).
    pub converted: Vec<String>,
}

impl<F: Float> Checkpoint<F> {
    /// Sets every parameter of `store` from the checkpoint, and the store's generator when the
    /// checkpoint holds one.
    ///
    /// Every name and shape is checked before anything changes.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Mismatch`], listing every missing, unexpected and misshaped entry, when the
    /// names or shapes differ from the store's; the store is then unchanged.
    pub fn apply_to_store(&self, store: &ParamStore<F>) -> Result<(), CheckpointError> {
        self.apply(store, true).map(|_| ())
    }

    /// Like [`apply_to_store`](Self::apply_to_store), but parameters missing from the checkpoint keep
    /// their values and entries the store lacks are ignored (PyTorch's `strict=False`); the report lists
    /// both.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Mismatch`] listing every entry whose shape differs; the store is then unchanged.
    pub fn apply_to_store_partial(&self, store: &ParamStore<F>) -> Result<LoadReport, CheckpointError> {
        self.apply(store, false)
    }

    pub(super) fn apply(&self, store: &ParamStore<F>, strict: bool) -> Result<LoadReport, CheckpointError> {
        let report = assign(store, &self.params, strict)?;
        if let Some(rng) = &self.rng {
            store.set_rng_state(rng.clone());
        }
        Ok(report)
    }
}

/// Checks `entries` against the parameters of `store` and, when they match, sets them. Strict: every
/// parameter present, nothing unexpected. Either way, every shape must match. Nothing changes on error.
pub(crate) fn assign<F: Float>(
    store: &ParamStore<F>,
    entries: &[(String, Tensor<F>)],
    strict: bool,
) -> Result<LoadReport, CheckpointError> {
    let params = store.state_dict();
    let mut by_name: HashMap<&str, &Tensor<F>> = HashMap::with_capacity(entries.len());
    let mut unexpected = Vec::new();
    for (name, value) in entries {
        let known = params.iter().any(|p| p.name() == name);
        if !known || by_name.insert(name.as_str(), value).is_some() {
            unexpected.push(name.clone());
        }
    }
    let (mut missing, mut misshaped, mut plan) = (Vec::new(), Vec::new(), Vec::new());
    for p in &params {
        match by_name.get(p.name()) {
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
        return Err(CheckpointError::Mismatch { missing, unexpected, misshaped });
    }
    let loaded = plan.iter().map(|(p, _)| p.name().to_string()).collect();
    for (p, v) in plan {
        p.set(v.clone());
    }
    Ok(LoadReport { loaded, missing, unexpected, converted: Vec::new() })
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
            CheckpointError::Mismatch { missing, unexpected, misshaped } => {
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
}
