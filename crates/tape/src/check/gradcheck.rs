//! `gradcheck` and `gradgradcheck`: the tape's first and second derivatives of a function of tensors
//! against central differences `(f(x + εe) - f(x - εe)) / 2ε`.

use rand::SeedableRng;
use rand::rngs::StdRng;
use wengert_tensor::Tensor;

use super::GradcheckOptions;
use super::error::{Check, GradcheckError};
use super::jacobian::{Outputs, leaves, run};
use crate::tape::Tape;
use crate::var::Var;

/// Checks the tape's first derivatives of `f` at `inputs` against central finite differences.
///
/// `f` maps the inputs, as Vars on a fresh tape, to an output of any shape. Every entry of its
/// Jacobian is compared (or, for large problems, `uᵀ J v` along random directions: see [`Mode`](super::Mode));
/// an analytic `a` matches a numeric `n` when `|a - n| <= atol + rtol |n|`. An input that gets no
/// gradient from the tape passes only when its numeric derivative is zero everywhere (an unused
/// input); any NaN or infinity fails. `f` is called many times: it must be deterministic. With no
/// inputs there is nothing to check and the result is `Ok`.
///
/// ```
/// use wengert::tape::check::{GradcheckOptions, gradcheck};
/// use wengert::tensor::Tensor;
/// let x = Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.0], &[2, 2]).unwrap();
/// let w = Tensor::from_vec(vec![1.0, -2.0], &[2]).unwrap();
/// // A [2, 2] output: the Jacobian has 4 rows.
/// gradcheck(|xs| (xs[0] * xs[1]).tanh(), &[x, w], &GradcheckOptions::default()).unwrap();
/// ```
///
/// # Errors
///
/// A [`GradcheckError`] for the first entry that differs, lacks a gradient or is not finite,
/// scanning inputs in order, then input elements, then output elements.
///
/// # Panics
///
/// When the options are invalid (`eps` not positive, a negative tolerance, fast mode with no
/// direction), or when the shape of the output changes with the values of the inputs.
#[track_caller]
pub fn gradcheck<Fun>(f: Fun, inputs: &[Tensor<f64>], opts: &GradcheckOptions) -> Result<(), GradcheckError>
where
    Fun: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
{
    opts.validate();
    if inputs.is_empty() {
        return Ok(());
    }
    let out_shape = output_shape(&f, inputs);
    let g = outputs_of(|xs| vec![Some(f(xs))]);
    run(Check::Grad, &g, inputs, &[out_shape], opts)
}

/// Checks the tape's second derivatives of `f` at `inputs` against finite differences of its first
/// derivatives.
///
/// With a fixed random `u` of the output's shape (seeded by `opts.seed`), the checked function is
/// `x ↦ ∇ₓ ⟨u, f(x)⟩`, the gradients of every input as recorded on the tape by
/// [`Tape::vjp_graph`]; its output `k` is the gradient of input `k`, and [`gradcheck`]'s comparison
/// runs on it. A gradient the tape does not produce counts as zero: a linear `f` passes (its second
/// derivative is zero), but a second derivative the tape misses while the numeric one is not zero is
/// a [`GradcheckError::MissingGradient`]. First derivatives are not checked here: run [`gradcheck`]
/// for them.
///
/// ```
/// use wengert::tape::check::{GradcheckOptions, gradgradcheck};
/// use wengert::tensor::Tensor;
/// let x = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]).unwrap();
/// gradgradcheck(|xs| (xs[0] * xs[0] * xs[0]).sum(), &[x], &GradcheckOptions::default()).unwrap();
/// ```
///
/// # Errors
///
/// A [`GradcheckError`] with [`Check::GradGrad`], as for [`gradcheck`].
///
/// # Panics
///
/// As [`gradcheck`].
#[track_caller]
pub fn gradgradcheck<Fun>(
    f: Fun,
    inputs: &[Tensor<f64>],
    opts: &GradcheckOptions,
) -> Result<(), GradcheckError>
where
    Fun: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
{
    opts.validate();
    if inputs.is_empty() {
        return Ok(());
    }
    let out_shape = output_shape(&f, inputs);
    // Another stream than the one of the fast-mode directions.
    let mut rng = StdRng::seed_from_u64(opts.seed ^ 0x9e37_79b9_7f4a_7c15);
    let u = Tensor::<f64>::randn(&out_shape, &mut rng);
    let g = outputs_of(|xs| {
        let y = f(xs);
        xs[0].tape().vjp_graph(y, &u, xs)
    });
    let shapes: Vec<Vec<usize>> = inputs.iter().map(|x| x.shape().to_vec()).collect();
    run(Check::GradGrad, &g, inputs, &shapes, opts)
}

/// Fixes a closure's signature to the higher-ranked one the checks call.
fn outputs_of<G>(g: G) -> G
where
    G: for<'t> Fn(&[Var<'t, f64>]) -> Outputs<'t>,
{
    g
}

fn output_shape<Fun>(f: &Fun, inputs: &[Tensor<f64>]) -> Vec<usize>
where
    Fun: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
{
    let tape = Tape::<f64>::new();
    f(&leaves(&tape, inputs)).shape()
}

#[cfg(test)]
mod tests;
