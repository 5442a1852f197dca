//! Negative log-likelihood losses of a Poisson and of a Gaussian target, as PyTorch defines them.
//!
//! poisson_nll: e^x - t · x from log-rates x (`log_input`), or λ - t · ln(λ + eps) from rates λ;
//! `full` adds Stirling's t ln t - t + ½ ln(2π t) where t > 1 · gaussian_nll:
//! ½ (ln v + (x - t)² / v) with the variance v clamped to ≥ eps (the clamp passes the gradient
//! through unchanged, as PyTorch's in-place clamp under `no_grad` does); `full` adds ½ ln 2π.

use wengert_tape::Var;
use wengert_tensor::{Float, Tensor};

use super::{Reduction, check_same_shape, reduce};

/// Options of [`poisson_nll_with`]; the default is PyTorch's: log-rate input, no Stirling term,
/// eps 1e-8, mean.
///
/// ```
/// use wengert::nn::loss::PoissonNllOptions;
/// let opts = PoissonNllOptions::default();
/// assert!(opts.log_input && !opts.full && opts.eps == 1e-8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoissonNllOptions {
    /// The input holds log-rates x (loss e^x - t · x); otherwise rates λ (loss λ - t · ln(λ + eps)).
    pub log_input: bool,
    /// Add Stirling's approximation of ln t!, t ln t - t + ½ ln(2π t), where t > 1.
    pub full: bool,
    /// Keeps ln(λ + eps) finite at λ = 0 when the input holds rates.
    pub eps: f64,
    /// How the pointwise losses are combined.
    pub reduction: Reduction,
}

impl Default for PoissonNllOptions {
    fn default() -> Self {
        PoissonNllOptions { log_input: true, full: false, eps: 1e-8, reduction: Reduction::Mean }
    }
}

/// Mean Poisson negative log-likelihood of log-rates `input` for counts `target`, `e^x - t · x`
/// (PyTorch's `poisson_nll_loss` defaults).
///
/// # Panics
///
/// When the shapes differ.
#[track_caller]
pub fn poisson_nll<'t, F: Float>(input: Var<'t, F>, target: Var<'t, F>) -> Var<'t, F> {
    poisson_nll_with(input, target, &PoissonNllOptions::default())
}

/// Poisson negative log-likelihood (PyTorch's `poisson_nll_loss`): `e^x - t · x` for log-rates,
/// `λ - t · ln(λ + eps)` for rates, plus with `full` Stirling's `t ln t - t + ½ ln(2π t)` where
/// `t > 1` (0 elsewhere); reduced as `opts` says.
///
/// ```
/// use wengert::nn::loss::{PoissonNllOptions, Reduction, poisson_nll_with};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let rate = tape.var(Tensor::from_vec(vec![2.0], &[1]).unwrap());
/// let count = tape.constant(Tensor::from_vec(vec![3.0], &[1]).unwrap());
/// let opts = PoissonNllOptions { log_input: false, eps: 0.0, ..PoissonNllOptions::default() };
/// assert!((poisson_nll_with(rate, count, &opts).item() - (2.0 - 3.0 * 2f64.ln())).abs() < 1e-12);
/// ```
///
/// # Panics
///
/// When the shapes differ or `eps` is negative.
#[track_caller]
pub fn poisson_nll_with<'t, F: Float>(
    input: Var<'t, F>,
    target: Var<'t, F>,
    opts: &PoissonNllOptions,
) -> Var<'t, F> {
    check_same_shape("poisson_nll", input, target);
    assert!(opts.eps >= 0.0, "poisson_nll: eps must not be negative, got {}", opts.eps);
    let mut each = if opts.log_input {
        input.exp() - target * input
    } else {
        input - target * input.add_scalar(F::from_f64(opts.eps)).ln()
    };
    if opts.full {
        let above_one = target.value().gt_mask(&Tensor::scalar(F::one()));
        let safe = Var::where_cond(&above_one, target, target.constant(Tensor::scalar(F::one())));
        let two_pi = F::from_f64(2.0 * std::f64::consts::PI);
        let stirling = safe * safe.ln() - safe + safe.mul_scalar(two_pi).ln().mul_scalar(F::from_f64(0.5));
        each = each + Var::where_cond(&above_one, stirling, target.constant(Tensor::scalar(F::zero())));
    }
    reduce(each, opts.reduction)
}

/// Options of [`gaussian_nll_with`]; the default is PyTorch's: no constant, eps 1e-6, mean.
///
/// ```
/// use wengert::nn::loss::GaussianNllOptions;
/// assert_eq!(GaussianNllOptions::default().eps, 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaussianNllOptions {
    /// Add the constant ½ ln 2π.
    pub full: bool,
    /// The variance is clamped to at least `eps` (its gradient passes through the clamp).
    pub eps: f64,
    /// How the pointwise losses are combined.
    pub reduction: Reduction,
}

impl Default for GaussianNllOptions {
    fn default() -> Self {
        GaussianNllOptions { full: false, eps: 1e-6, reduction: Reduction::Mean }
    }
}

/// Mean Gaussian negative log-likelihood of means `input` and variances `var` for `target`
/// (PyTorch's `gaussian_nll_loss` defaults).
///
/// # Panics
///
/// As [`gaussian_nll_with`].
#[track_caller]
pub fn gaussian_nll<'t, F: Float>(input: Var<'t, F>, target: Var<'t, F>, var: Var<'t, F>) -> Var<'t, F> {
    gaussian_nll_with(input, target, var, &GaussianNllOptions::default())
}

/// Gaussian negative log-likelihood (PyTorch's `gaussian_nll_loss`): `½ (ln v + (x - t)² / v)`
/// per element, plus `½ ln 2π` with `full`, where v is `var` clamped to ≥ `eps` (the clamp passes
/// the gradient through, as PyTorch's does). `var` has the input's shape, or that shape with the
/// last dimension 1 or dropped (one variance shared by the last dimension, homoscedastic).
///
/// ```
/// use wengert::nn::loss::{GaussianNllOptions, Reduction, gaussian_nll_with};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let mean = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap());
/// let target = tape.constant(Tensor::from_vec(vec![3.0, 2.0], &[1, 2]).unwrap());
/// let var = tape.var(Tensor::from_vec(vec![2.0], &[1]).unwrap()); // the last dimension dropped
/// let opts = GaussianNllOptions { reduction: Reduction::None, ..GaussianNllOptions::default() };
/// let l = gaussian_nll_with(mean, target, var, &opts).value().to_vec();
/// assert!((l[0] - 0.5 * (2f64.ln() + 2.0)).abs() < 1e-12 && (l[1] - 0.5 * 2f64.ln()).abs() < 1e-12);
/// ```
///
/// # Panics
///
/// When the input and target shapes differ, `var`'s shape is none of those above, a variance is
/// negative, or `eps` is negative.
#[track_caller]
pub fn gaussian_nll_with<'t, F: Float>(
    input: Var<'t, F>,
    target: Var<'t, F>,
    var: Var<'t, F>,
    opts: &GaussianNllOptions,
) -> Var<'t, F> {
    check_same_shape("gaussian_nll", input, target);
    assert!(opts.eps >= 0.0, "gaussian_nll: eps must not be negative, got {}", opts.eps);
    let (shape, vs) = (input.shape(), var.shape());
    let var = if vs == shape {
        var
    } else if !shape.is_empty() && vs.len() + 1 == shape.len() && vs[..] == shape[..shape.len() - 1] {
        var.unsqueeze(vs.len())
    } else if !shape.is_empty()
        && vs.len() == shape.len()
        && vs[..vs.len() - 1] == shape[..shape.len() - 1]
        && vs[vs.len() - 1] == 1
    {
        var
    } else {
        panic!(
            "gaussian_nll: var of shape {vs:?} fits neither the input's shape {shape:?} nor it without its last dimension"
        );
    };
    if var.value().to_vec().iter().any(|&v| v < F::zero()) {
        panic!("gaussian_nll: var has a negative entry");
    }
    // max(v, eps) in value, the identity in gradient (PyTorch clamps in place under no_grad).
    let eps = F::from_f64(opts.eps);
    let lift = var.value().map(|v| if v < eps { eps - v } else { F::zero() });
    let v = var + &lift;
    let mut each = (v.ln() + (input - target).square() / v).mul_scalar(F::from_f64(0.5));
    if opts.full {
        each = each.add_scalar(F::from_f64(0.5 * (2.0 * std::f64::consts::PI).ln()));
    }
    reduce(each, opts.reduction)
}

#[cfg(test)]
mod tests;
