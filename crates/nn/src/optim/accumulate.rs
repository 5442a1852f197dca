//! `GradAccumulator`: gradients of several micro-batches summed by parameter, in the order they were
//! added, for one optimizer step over a batch too large to hold on one tape.
//!
//! For a loss that is a mean over rows, micro-batches of `n₁ … n_k` rows give the gradient of one batch
//! of `N = Σ nᵢ` rows as `Σ (nᵢ/N)·gᵢ`: add each micro-batch's gradients with weight `nᵢ`, then
//! [`scale`](GradAccumulator::scale) by `1/N` (or add with weight `nᵢ/N` directly).

use std::collections::HashMap;

use wengert_tensor::{Float, Tensor};

use crate::param::{GradientsParam, Param};

/// Sums of gradients by parameter, readable by an optimizer's
/// [`step_with`](super::Optimizer::step_with).
///
/// ```
/// use wengert::nn::optim::{GradAccumulator, Optimizer, Sgd};
/// use wengert::nn::{Param, TapeParam};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let w = Param::new("w", Tensor::<f64>::from_vec(vec![0.0], &[1]).unwrap());
/// let data = [[1.0, 2.0], [3.0, 4.0]]; // two micro-batches of two rows each
/// let mut acc = GradAccumulator::new(vec![w.clone()]);
/// for rows in data {
///     let tape = Tape::new();
///     let x = tape.constant(Tensor::from_vec(rows.to_vec(), &[2]).unwrap());
///     let loss = (tape.param(&w) - x).square().mean(); // a mean over the micro-batch's rows
///     acc.add(&loss.backward(), 2.0 / 4.0); // its rows over the whole batch's
/// }
/// let mut opt = Sgd::new(vec![w.clone()], 0.5);
/// opt.step_with(&acc).unwrap();
/// // The gradient of the mean over all four rows at w = 0 is -2·mean(x) = -5.
/// assert!((w.value().item() - 2.5).abs() < 1e-12);
/// ```
#[derive(Debug, Clone)]
pub struct GradAccumulator<F: Float = f32> {
    params: Vec<Param<F>>,
    sums: HashMap<u64, Tensor<F>>,
    added: usize,
}

impl<F: Float> GradAccumulator<F> {
    /// An empty accumulator for `params` (an optimizer's, or a store's parameters).
    pub fn new(params: Vec<Param<F>>) -> Self {
        GradAccumulator { params, sums: HashMap::new(), added: 0 }
    }

    /// Adds `weight · g` to the sum of every parameter that has a gradient `g` in `grads`.
    ///
    /// # Panics
    ///
    /// When a gradient's shape differs from the sum already held for its parameter.
    #[track_caller]
    pub fn add(&mut self, grads: &dyn GradientsParam<F>, weight: f64) {
        let w = F::from_f64(weight);
        for p in &self.params {
            let Some(g) = grads.param(p) else { continue };
            let scaled = if weight == 1.0 { g.clone() } else { g.map(|v| v * w) };
            let sum = match self.sums.remove(&p.id()) {
                None => scaled,
                Some(s) => {
                    assert_eq!(
                        s.shape(),
                        scaled.shape(),
                        "GradAccumulator: the gradient of `{}` changed its shape",
                        p.name()
                    );
                    &s + &scaled
                }
            };
            self.sums.insert(p.id(), sum);
        }
        self.added += 1;
    }

    /// Multiplies every sum by `factor` (`1/N` after adding micro-batches with weights `nᵢ`).
    pub fn scale(&mut self, factor: f64) {
        let f = F::from_f64(factor);
        for s in self.sums.values_mut() {
            *s = s.map(|v| v * f);
        }
    }

    /// The number of [`add`](Self::add) calls since the last [`clear`](Self::clear).
    pub fn micro_batches(&self) -> usize {
        self.added
    }

    /// True when nothing was added since the last [`clear`](Self::clear).
    pub fn is_empty(&self) -> bool {
        self.added == 0
    }

    /// Forgets the sums, for the next step.
    pub fn clear(&mut self) {
        self.sums.clear();
        self.added = 0;
    }
}

impl<F: Float> GradientsParam<F> for GradAccumulator<F> {
    fn param(&self, p: &Param<F>) -> Option<&Tensor<F>> {
        self.sums.get(&p.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::core::testing::{grads, param};

    #[test]
    fn sums_are_weighted_and_missing_gradients_stay_missing() {
        let (a, b) = (param("a", &[1.0, 2.0]), param("b", &[0.0]));
        let mut acc = GradAccumulator::new(vec![a.clone(), b.clone()]);
        assert!(acc.is_empty());
        acc.add(&grads(&[&a], &[&[1.0, 0.0]]), 1.0); // g = c + 2p = [3, 4]
        acc.add(&grads(&[&a], &[&[0.0, 1.0]]), 0.5); // g = [2, 5], halved
        assert_eq!(acc.param(&a).unwrap().to_vec(), vec![4.0, 6.5]);
        assert!(acc.param(&b).is_none());
        acc.scale(2.0);
        assert_eq!(acc.param(&a).unwrap().to_vec(), vec![8.0, 13.0]);
        assert_eq!(acc.micro_batches(), 2);
        acc.clear();
        assert!(acc.is_empty() && acc.param(&a).is_none());
    }
}
