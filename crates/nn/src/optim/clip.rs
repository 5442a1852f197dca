//! Gradient clipping, as PyTorch's `clip_grad_norm_` and `clip_grad_value_`: by global L2 norm,
//! `g ← g · min(1, max_norm / (‖g‖₂ + 10⁻⁶))` with `‖g‖₂ = √(Σ over all parameters Σ g²)`, or by value,
//! `g ← clamp(g, −v, v)`.
//!
//! Gradients are immutable, so clipping happens either inside an optimizer's step (its `clip` setting,
//! fused with the update: no copy of any gradient) or here into a [`ClippedGrads`], which an optimizer's
//! `step_with` accepts.

#[cfg(doc)]
use wengert_tape::Gradients;
use wengert_tensor::{Float, Tensor};

use crate::param::{GradientsParam, Param};

/// How an optimizer clips gradients before its update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clip {
    /// Scale all gradients together so their global L2 norm is at most this (PyTorch's
    /// `clip_grad_norm_(params, max_norm)`).
    Norm(f64),
    /// Clamp every gradient element into `[−v, v]` (PyTorch's `clip_grad_value_(params, v)`).
    Value(f64),
}

/// The global L2 norm `√(Σₚ Σ gₚ²)` of the gradients of `params`, accumulated in f64; parameters
/// without a gradient count as zero.
///
/// ```
/// use wengert::nn::optim::global_norm;
/// use wengert::nn::{Param, TapeParam};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let p = Param::new("p", Tensor::<f64>::from_vec(vec![1.5, 2.0], &[2]).unwrap());
/// let tape = Tape::new();
/// let x = tape.param(&p);
/// let grads = (x * x).sum().backward(); // 2p = [3, 4]
/// assert_eq!(global_norm(&grads, &[p]), 5.0);
/// ```
pub fn global_norm<F: Float, G: GradientsParam<F> + ?Sized>(grads: &G, params: &[Param<F>]) -> f64 {
    params.iter().filter_map(|p| grads.param(p)).map(sum_sq).sum::<f64>().sqrt()
}

/// Clips the gradients of `params` to a global L2 norm of at most `max_norm`; returns the norm before
/// clipping and the clipped gradients (parameters without a gradient have none there either).
///
/// ```
/// use wengert::nn::optim::{Optimizer, Sgd, clip_grad_norm};
/// use wengert::nn::{GradientsParam, Param, TapeParam};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let p = Param::new("p", Tensor::<f64>::from_vec(vec![1.5, 2.0], &[2]).unwrap());
/// let tape = Tape::new();
/// let x = tape.param(&p);
/// let grads = (x * x).sum().backward(); // [3, 4], norm 5
/// let (norm, clipped) = clip_grad_norm(&grads, &[p.clone()], 1.0);
/// assert_eq!(norm, 5.0);
/// let g = clipped.param(&p).unwrap().to_vec();
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// let mut opt = Sgd::new(vec![p.clone()], 1.0);
/// opt.step_with(&clipped).unwrap();
/// ```
///
/// # Panics
///
/// When `max_norm` is negative or NaN.
#[track_caller]
pub fn clip_grad_norm<F: Float, G: GradientsParam<F> + ?Sized>(
    grads: &G,
    params: &[Param<F>],
    max_norm: f64,
) -> (f64, ClippedGrads<F>) {
    assert!(max_norm >= 0.0, "clip_grad_norm: invalid max norm {max_norm}");
    let norm = global_norm(grads, params);
    let scale = F::from_f64(norm_scale(norm, max_norm));
    (norm, ClippedGrads::map(grads, params, |g| g * scale))
}

/// Clamps every element of the gradients of `params` into `[−clip, clip]`.
///
/// # Panics
///
/// When `clip` is negative or NaN.
#[track_caller]
pub fn clip_grad_value<F: Float, G: GradientsParam<F> + ?Sized>(
    grads: &G,
    params: &[Param<F>],
    clip: f64,
) -> ClippedGrads<F> {
    assert!(clip >= 0.0, "clip_grad_value: invalid clip value {clip}");
    let prep = GradPrep { scale: F::one(), max: F::from_f64(clip) };
    ClippedGrads::map(grads, params, |g| prep.apply(g))
}

/// Clipped copies of parameters' gradients, read like [`Gradients`] with
/// [`GradientsParam::param`].
#[derive(Debug, Clone)]
pub struct ClippedGrads<F: Float = f32> {
    grads: Vec<(u64, Tensor<F>)>,
}

impl<F: Float> ClippedGrads<F> {
    fn map<G: GradientsParam<F> + ?Sized>(grads: &G, params: &[Param<F>], f: impl Fn(F) -> F) -> Self {
        let grads = params
            .iter()
            .filter_map(|p| grads.param(p).map(|g| (p.id(), Tensor::from_array(g.view().mapv(&f)))))
            .collect();
        ClippedGrads { grads }
    }

    /// The number of parameters with a gradient.
    pub fn len(&self) -> usize {
        self.grads.len()
    }

    /// True when no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }
}

impl<F: Float> GradientsParam<F> for ClippedGrads<F> {
    fn param(&self, p: &Param<F>) -> Option<&Tensor<F>> {
        self.grads.iter().find(|(id, _)| *id == p.id()).map(|(_, g)| g)
    }
}

/// PyTorch's clip coefficient `max_norm / (norm + 1e-6)`, clamped at 1 (a NaN norm stays NaN).
fn norm_scale(norm: f64, max_norm: f64) -> f64 {
    let c = max_norm / (norm + 1e-6);
    if c >= 1.0 { 1.0 } else { c }
}

/// `Σ g²` in f64, in eight partial sums; NaN or ∞ when an element is (or, for f64, when the squares
/// overflow).
pub fn sum_sq<F: Float>(g: &Tensor<F>) -> f64 {
    let sq = |x: F| x.to_f64() * x.to_f64();
    match g.as_slice() {
        Some(s) => {
            // Eight partial sums, so the loop vectorises.
            let mut acc = [0.0f64; 8];
            let chunks = s.chunks_exact(8);
            let rest: f64 = chunks.remainder().iter().map(|&x| sq(x)).sum();
            for c in chunks {
                for (a, &x) in acc.iter_mut().zip(c) {
                    *a += sq(x);
                }
            }
            acc.iter().sum::<f64>() + rest
        }
        None => g.view().iter().map(|&x| sq(x)).sum(),
    }
}

/// The clipping applied to each gradient element inside a step: multiply by `scale`, clamp to `±max`
/// (both the identity when not clipping; NaN stays NaN, as with `torch.clamp`).
#[derive(Debug, Clone, Copy)]
pub struct GradPrep<F: Float> {
    scale: F,
    max: F,
}

impl<F: Float> GradPrep<F> {
    /// The clipping, and the global norm when clipping by norm, from the gradients' sums of squares
    /// ([`sum_sq`], 0 for a parameter without a gradient; needed only when clipping by norm).
    ///
    /// # Panics
    ///
    /// When clipping by norm without the sums.
    pub fn new(clip: Option<Clip>, sums: Option<&[f64]>) -> (Self, Option<f64>) {
        let none = GradPrep { scale: F::one(), max: F::infinity() };
        match clip {
            None => (none, None),
            Some(Clip::Value(v)) => (GradPrep { max: F::from_f64(v), ..none }, None),
            Some(Clip::Norm(max_norm)) => {
                let norm = sums.expect("clipping by norm needs the sums").iter().sum::<f64>().sqrt();
                (GradPrep { scale: F::from_f64(norm_scale(norm, max_norm)), ..none }, Some(norm))
            }
        }
    }

    /// The clipped gradient element.
    #[inline(always)]
    pub fn apply(self, g: F) -> F {
        let g = g * self.scale;
        if g > self.max {
            self.max
        } else if g < -self.max {
            -self.max
        } else {
            g
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::core::testing::{assert_close, g, grads, param};
    use crate::optim::{Optimizer, Sgd};

    #[test]
    fn global_norm_spans_all_parameters() {
        let (a, b) = (param("a", &[1.0, 0.0]), param("b", &[0.5]));
        let gr = grads(&[&a, &b], &[&[1.0, 2.0], &[1.0]]); // [3, 2], [2]
        assert_eq!(global_norm(&gr, &[a.clone(), b.clone()]), 17f64.sqrt());
        assert_eq!(global_norm(&gr, &[a]), 13f64.sqrt());
    }

    #[test]
    fn clip_grad_norm_scales_by_max_over_norm_plus_1e_6() {
        let (a, b) = (param("a", &[1.0, 0.0]), param("b", &[0.5]));
        let ps = [a.clone(), b.clone()];
        let gr = grads(&[&a, &b], &[&[1.0, 2.0], &[1.0]]);
        let (norm, c) = clip_grad_norm(&gr, &ps, 2.0);
        let s = 2.0 / (17f64.sqrt() + 1e-6);
        assert_eq!(norm, 17f64.sqrt());
        assert_close(&c.param(&a).unwrap().to_vec(), &[3.0 * s, 2.0 * s]);
        assert_close(&c.param(&b).unwrap().to_vec(), &[2.0 * s]);
        let (_, same) = clip_grad_norm(&gr, &ps, 10.0);
        assert_eq!(same.param(&a).unwrap().to_vec(), vec![3.0, 2.0]);
        assert_eq!(same.len(), 2);
    }

    #[test]
    fn clip_grad_value_clamps_each_element() {
        let a = param("a", &[1.0, -3.0, 0.0]);
        let gr = grads(&[&a], &[&[1.0, 2.0, 0.5]]); // [3, -4, 0.5]
        let c = clip_grad_value(&gr, std::slice::from_ref(&a), 1.0);
        assert_eq!(c.param(&a).unwrap().to_vec(), vec![1.0, -1.0, 0.5]);
    }

    #[test]
    fn clipping_inside_a_step_equals_stepping_clipped_gradients() {
        for clip in [Clip::Norm(0.5), Clip::Value(1.0)] {
            let (a, b) = (param("a", &[1.0, -3.0]), param("b", &[0.5]));
            let (a2, b2) = (param("a", &[1.0, -3.0]), param("b", &[0.5]));
            let mut fused = Sgd::new(vec![a.clone(), b.clone()], 0.1).momentum(0.9).clip(clip);
            let mut plain = Sgd::new(vec![a2.clone(), b2.clone()], 0.1).momentum(0.9);
            for _ in 0..3 {
                let gr = grads(&[&a, &b], &[&[1.0, 2.0], &[1.0]]);
                let report = fused.step(&gr).unwrap();
                let gr2 = grads(&[&a2, &b2], &[&[1.0, 2.0], &[1.0]]);
                let ps = [a2.clone(), b2.clone()];
                let clipped = match clip {
                    Clip::Norm(m) => {
                        let (norm, c) = clip_grad_norm(&gr2, &ps, m);
                        assert_eq!(report.grad_norm, Some(norm));
                        c
                    }
                    Clip::Value(v) => clip_grad_value(&gr2, &ps, v),
                };
                plain.step_with(&clipped).unwrap();
                assert_eq!(a.value().to_vec(), a2.value().to_vec());
                assert_eq!(b.value().to_vec(), b2.value().to_vec());
            }
        }
    }

    #[test]
    fn clip_by_norm_in_sgd_matches_the_formula() {
        let a = param("a", &[1.0, -3.0]);
        let gr = grads(&[&a], &[&[1.0, 2.0]]);
        let gv = g(&[1.0, -3.0], &[1.0, 2.0]); // [3, -4]
        let mut opt = Sgd::new(vec![a.clone()], 0.1).clip(Clip::Norm(1.0));
        let report = opt.step(&gr).unwrap();
        let s = 1.0 / (5.0 + 1e-6);
        assert_eq!(report.grad_norm, Some(5.0));
        assert_close(&a.value().to_vec(), &[1.0 - 0.1 * gv[0] * s, -3.0 - 0.1 * gv[1] * s]);
    }

    #[test]
    #[should_panic(expected = "Sgd: invalid max norm -1")]
    fn a_negative_max_norm_is_rejected() {
        let _ = Sgd::new(vec![param("a", &[1.0])], 0.1).clip(Clip::Norm(-1.0));
    }
}
