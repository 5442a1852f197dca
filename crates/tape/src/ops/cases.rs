//! Test support: one list of gradient-check cases per op family, and the runners that check them.
//!
//! Each family's `tests.rs` has a `cases()` strategy that draws a `Vec<Case>` in f64, with broadcast
//! pairs, size-1 axes and non-contiguous inputs. Its own tests run [`gradchecks`] on it: finite
//! differences, first and second order. [`bitwise`] runs the same cases once more, and checks that
//! the rules agree bit for bit on Tensors (first-order `grad`) and on Vars (`grad_graph`).

use std::fmt;
use std::rc::Rc;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use proptest::{prop_assert, prop_assert_eq};
use wengert_tensor::Tensor;

use crate::check::{GradcheckOptions, gradcheck, gradgradcheck, strategy};
use crate::tape::Tape;
use crate::var::Var;

/// The function of a case, as the checks take it.
pub(crate) type CaseFn = Rc<dyn for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>>;

/// One function of some f64 inputs, to differentiate.
#[derive(Clone)]
pub(crate) struct Case {
    /// What the case checks, for failure messages.
    pub(crate) name: String,
    /// The values of the inputs.
    pub(crate) inputs: Vec<Tensor<f64>>,
    /// The function; its output may have any shape (gradcheck checks every element).
    pub(crate) f: CaseFn,
}

impl fmt::Debug for Case {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.debug_struct("Case")
            .field("name", &self.name)
            .field("inputs", &self.inputs)
            .finish_non_exhaustive()
    }
}

/// A case named `name` of `f` at `inputs`.
pub(crate) fn case(
    name: impl Into<String>,
    inputs: &[Tensor<f64>],
    f: impl for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64> + 'static,
) -> Case {
    Case { name: name.into(), inputs: inputs.to_vec(), f: Rc::new(f) }
}

/// The number of proptest cases a family's strategy is drawn.
pub(crate) const CASES: u32 = 64;

/// Runs `body` on [`CASES`] deterministic draws of `strategy` (ChaCha, no failure persistence),
/// panicking with the shrunk failure.
#[track_caller]
pub(crate) fn prop<S: Strategy>(strategy: S, body: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let config = Config { cases: CASES, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    if let Err(e) = runner.run(&strategy, body) {
        panic!("{e}");
    }
}

/// gradcheck and gradgradcheck of every case, with the default (PyTorch's) tolerances.
pub(crate) fn gradchecks(cases: Vec<Case>) -> Result<(), TestCaseError> {
    let opts = GradcheckOptions::default();
    for c in &cases {
        gradcheck(&*c.f, &c.inputs, &opts)
            .map_err(|e| TestCaseError::fail(format!("{}: first order: {e}", c.name)))?;
        gradgradcheck(&*c.f, &c.inputs, &opts)
            .map_err(|e| TestCaseError::fail(format!("{}: second order: {e}", c.name)))?;
    }
    Ok(())
}

/// The gradients of `Σ w ⊙ f(xs)` (a fixed, uneven `w`) by first-order `grad_opt` and by
/// `grad_graph_opt`, as bits, `None` where an input does not reach the output.
type Bits = Vec<Option<Vec<u64>>>;

fn both_orders(c: &Case) -> (Bits, Bits) {
    let tape = Tape::<f64>::new();
    let xs: Vec<_> = c.inputs.iter().map(|x| tape.var(x.clone())).collect();
    let y = (c.f)(&xs);
    let n = y.len();
    let w = Tensor::from_vec((0..n).map(|i| ((i as f64 + 1.0) * 0.754).sin() + 0.25).collect(), &y.shape())
        .expect("one weight per element");
    let y = (y * tape.constant(w)).sum();
    let bits = |t: &Tensor<f64>| t.to_vec().into_iter().map(f64::to_bits).collect::<Vec<u64>>();
    let first = tape.grad_opt(y, &xs).iter().map(|g| g.as_ref().map(bits)).collect();
    let graph = tape.grad_graph_opt(y, &xs).iter().map(|g| g.map(|g| bits(&g.value()))).collect();
    (first, graph)
}

/// Checks that first-order `grad_opt` and `grad_graph_opt` give the same gradients bit for bit (and
/// `None` for the same inputs) for every case: each rule computes the same on Tensors and on Vars.
pub(crate) fn bitwise(cases: Vec<Case>) -> Result<(), TestCaseError> {
    for c in &cases {
        let (first, graph) = both_orders(c);
        if first != graph {
            return Err(TestCaseError::fail(format!(
                "{}: first-order grad and grad_graph differ:\n  grad       {:?}\n  grad_graph {:?}",
                c.name,
                as_floats(&first),
                as_floats(&graph)
            )));
        }
    }
    Ok(())
}

/// Checks that first-order `grad_opt` and `grad_graph_opt` agree within 1e-12 (and give `None` for
/// the same inputs) for every case: for fused rules whose first-order kernel sums in another order than
/// their recorded formula.
pub(crate) fn within_1e_12(cases: Vec<Case>) -> Result<(), TestCaseError> {
    for c in &cases {
        let (first, graph) = both_orders(c);
        for (a, b) in first.iter().zip(&graph) {
            prop_assert_eq!(a.is_some(), b.is_some(), "{}: an input reached by one order only", c.name);
            let (Some(a), Some(b)) = (a, b) else { continue };
            for (&p, &q) in a.iter().zip(b) {
                let (p, q) = (f64::from_bits(p), f64::from_bits(q));
                prop_assert!((p - q).abs() < 1e-12, "{}: grad {p} vs grad_graph {q}", c.name);
            }
        }
    }
    Ok(())
}

/// A tensor of a random shape (up to 3 dims of up to 3, size-1 dims often) with values in `range`.
pub(crate) fn any_t(range: std::ops::Range<f64>) -> impl Strategy<Value = Tensor<f64>> {
    strategy::any_tensor(3, 3, range)
}

/// A tensor of a random shape with values in -2..2 at least 0.05 from each kink.
pub(crate) fn away(kinks: &'static [f64]) -> impl Strategy<Value = Tensor<f64>> {
    strategy::shape(3, 3).prop_flat_map(move |s| strategy::away_from_kinks(&s, -2.0..2.0, kinks, 0.05))
}

/// A tensor of a random shape with positive values in `lo..hi`.
pub(crate) fn positive(lo: f64, hi: f64) -> impl Strategy<Value = Tensor<f64>> {
    strategy::shape(3, 3).prop_flat_map(move |s| strategy::positive(&s, lo, hi))
}

/// A 3-D tensor of shape [a, b, c] with 1 ≤ each ≤ 3, and a weight of the same shape.
pub(crate) fn cube() -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>)> {
    (1usize..4, 1usize..4, 1usize..4).prop_flat_map(|(a, b, c)| {
        (strategy::tensor(&[a, b, c], -2.0..2.0), strategy::tensor(&[a, b, c], -1.0..1.0))
    })
}

fn as_floats(bits: &Bits) -> Vec<Option<Vec<f64>>> {
    bits.iter().map(|g| g.as_ref().map(|g| g.iter().map(|&b| f64::from_bits(b)).collect())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradchecks_reject_a_wrong_gradient() {
        // `detach` hides half of d(x²)/dx from the tape.
        let x = Tensor::from_vec(vec![0.5, -1.0], &[2]).unwrap();
        let wrong = case("detached square", std::slice::from_ref(&x), |v| (v[0].detach() * v[0]).sum());
        let err = gradchecks(vec![wrong]).unwrap_err().to_string();
        assert!(err.contains("detached square: first order"), "{err}");
        assert!(gradchecks(vec![case("square", &[x], |v| v[0].square().sum())]).is_ok());
    }

    #[test]
    fn bitwise_compares_gradients_and_unreached_inputs() {
        let x = Tensor::from_vec(vec![0.5, -1.0], &[2]).unwrap();
        let c = case("one input unused", &[x.clone(), x], |v| v[0].tanh());
        let (first, graph) = both_orders(&c);
        assert!(first[0].is_some() && first[1].is_none(), "{first:?}");
        assert_eq!(first, graph);
        assert!(bitwise(vec![c]).is_ok());
    }

    #[test]
    #[should_panic(expected = "detached square: first order")]
    fn prop_panics_with_the_failing_case() {
        let x = Tensor::from_vec(vec![0.5], &[1]).unwrap();
        let wrong = case("detached square", &[x], |v| (v[0].detach() * v[0]).sum());
        prop(proptest::strategy::Just(vec![wrong]), gradchecks);
    }
}
