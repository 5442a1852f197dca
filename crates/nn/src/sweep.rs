//! The generated gradient sweep of nn's losses and functional layers, through the public
//! `wengert::tape::check` API as a user's own tests would run it: each family draws a `Vec<Case>` of
//! f64 inputs (random sizes, size-1 axes, every reduction and option, and primary inputs stored
//! transposed or inside a larger tensor, so that the function sees a non-contiguous view) on
//! [`CASES`] deterministic draws (ChaCha, no failure persistence), and checks each case against
//! finite differences, to the second order where the function is smooth there.
//!
//! Inputs are drawn at least 0.05 away from each function's kinks (the points where PyTorch's
//! one-sided gradient is a convention, not a derivative), by construction or by a filter.

mod layers;
mod losses;
mod single;

use std::fmt;
use std::ops::Range;
use std::rc::Rc;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use wengert_tape::Var;
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck, strategy};
use wengert_tensor::Tensor;

use crate::loss::Reduction;

/// The function of a case, as the checks take it.
type CaseFn = Rc<dyn for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>;

/// One function of some f64 inputs, to differentiate.
#[derive(Clone)]
struct Case {
    /// What the case checks, for failure messages.
    name: String,
    /// The values of the inputs.
    inputs: Vec<Tensor<f64>>,
    /// The function; its output may have any shape (gradcheck checks every element).
    f: CaseFn,
    /// Whether to check the second derivative too.
    second_order: bool,
}

impl fmt::Debug for Case {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.debug_struct("Case")
            .field("name", &self.name)
            .field("inputs", &self.inputs)
            .finish_non_exhaustive()
    }
}

/// A case named `name` of `f` at `inputs`, checked to the second order.
fn case(
    name: impl Into<String>,
    inputs: &[Tensor<f64>],
    f: impl for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64> + 'static,
) -> Case {
    Case { name: name.into(), inputs: inputs.to_vec(), f: Rc::new(f), second_order: true }
}

/// A case checked to the first order only.
fn first_order(
    name: impl Into<String>,
    inputs: &[Tensor<f64>],
    f: impl for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64> + 'static,
) -> Case {
    Case { second_order: false, ..case(name, inputs, f) }
}

/// The number of draws of each family's strategy.
const CASES: u32 = 64;

/// Runs `body` on [`CASES`] deterministic draws of `strategy` (ChaCha, no failure persistence),
/// panicking with the shrunk failure.
#[track_caller]
fn prop<S: Strategy>(strategy: S, body: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let config = Config { cases: CASES, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    if let Err(e) = runner.run(&strategy, body) {
        panic!("{e}");
    }
}

/// gradcheck, and gradgradcheck where asked, of every case, with the default (PyTorch's) tolerances.
fn gradchecks(cases: Vec<Case>) -> Result<(), TestCaseError> {
    let opts = GradcheckOptions::default();
    for c in &cases {
        gradcheck(&*c.f, &c.inputs, &opts)
            .map_err(|e| TestCaseError::fail(format!("{}: first order: {e}", c.name)))?;
        if c.second_order {
            gradgradcheck(&*c.f, &c.inputs, &opts)
                .map_err(|e| TestCaseError::fail(format!("{}: second order: {e}", c.name)))?;
        }
    }
    Ok(())
}

/// Checks every draw of `cases` (see [`prop`] and [`gradchecks`]).
#[track_caller]
fn sweep(cases: impl Strategy<Value = Vec<Case>>) {
    prop(cases, gradchecks);
}

/// How a primary input is stored: as it is, transposed in its last two axes, or as the middle of a
/// tensor two longer in its last axis. The function takes the view back ([`view`]), so it sees the
/// same logical values, non-contiguous in the last two cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Plain,
    Transposed,
    Sliced,
}

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![Just(Layout::Plain), Just(Layout::Transposed), Just(Layout::Sliced)]
}

fn reduction() -> impl Strategy<Value = Reduction> {
    prop_oneof![Just(Reduction::Mean), Just(Reduction::Sum), Just(Reduction::None)]
}

/// The shape in which an input of logical shape `shape` is stored in `layout` (a 1-D or 0-D input is
/// never transposed).
fn stored_shape(shape: &[usize], layout: Layout) -> Vec<usize> {
    let mut s = shape.to_vec();
    let n = s.len();
    match layout {
        Layout::Transposed if n >= 2 => s.swap(n - 2, n - 1),
        Layout::Sliced if n >= 1 => s[n - 1] += 2,
        _ => {}
    }
    s
}

/// The logical view of a Var stored in `layout`.
fn view<'t>(v: Var<'t, f64>, layout: Layout) -> Var<'t, f64> {
    let n = v.ndim();
    match layout {
        Layout::Transposed if n >= 2 => v.swap_axes(n - 2, n - 1),
        Layout::Sliced if n >= 1 => v.narrow(n - 1, 1, v.shape()[n - 1] - 2),
        _ => v,
    }
}

/// The logical view of a tensor stored in `layout`, as [`view`].
fn view_t(t: &Tensor<f64>, layout: Layout) -> Tensor<f64> {
    let n = t.ndim();
    match layout {
        Layout::Transposed if n >= 2 => t.swap_axes(n - 2, n - 1),
        Layout::Sliced if n >= 1 => t.narrow(n - 1, 1, t.shape()[n - 1] - 2),
        _ => t.clone(),
    }
}

/// Tensors stored in `layout` whose logical view has `shape`, values in `range`.
fn stored(shape: &[usize], layout: Layout, range: Range<f64>) -> impl Strategy<Value = Tensor<f64>> + use<> {
    strategy::tensor(&stored_shape(shape, layout), range)
}

/// Tensors stored in `layout` whose values are at least `gap` apart (so that no two tie in a max).
fn stored_distinct(shape: &[usize], layout: Layout, gap: f64) -> impl Strategy<Value = Tensor<f64>> + use<> {
    strategy::distinct(&stored_shape(shape, layout), -2.0..2.0, gap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_give_back_the_logical_shape_and_values() {
        let t = Tensor::<f64>::arange(0.0, 6.0, 1.0).reshape(&[2, 3]).unwrap();
        let tape = wengert_tape::Tape::<f64>::new();
        for layout in [Layout::Plain, Layout::Transposed, Layout::Sliced] {
            let s = stored_shape(&[2, 3], layout);
            let stored =
                Tensor::from_vec((0..s.iter().product::<usize>()).map(|i| i as f64).collect(), &s).unwrap();
            let (v, t) = (view(tape.var(stored.clone()), layout), view_t(&stored, layout));
            assert_eq!((v.shape(), t.shape().to_vec()), (vec![2, 3], vec![2, 3]), "{layout:?}");
            assert_eq!(v.value(), t, "{layout:?}");
        }
        assert_eq!(stored_shape(&[4], Layout::Transposed), vec![4]);
        assert_eq!(view_t(&t, Layout::Transposed).to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    }

    #[test]
    fn gradchecks_reject_a_wrong_gradient() {
        // `detach` hides half of d(x²)/dx from the tape.
        let x = Tensor::from_vec(vec![0.5, -1.0], &[2]).unwrap();
        let wrong = case("detached square", std::slice::from_ref(&x), |v| (v[0].detach() * v[0]).sum());
        let err = gradchecks(vec![wrong]).unwrap_err().to_string();
        assert!(err.contains("detached square: first order"), "{err}");
        assert!(gradchecks(vec![first_order("square", &[x], |v| v[0].square().sum())]).is_ok());
    }
}
