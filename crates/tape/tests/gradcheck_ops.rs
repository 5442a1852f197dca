//! Every differentiable op, gradient-checked in f64 against finite differences over proptest inputs
//! (64 cases an op, with broadcast pairs, size-1 dims and non-contiguous views), first and second order.
#![cfg(feature = "proptest")]

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use wengert_tape::Var;
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck, strategy};
use wengert_tensor::Tensor;
use wengert_tensor::ndarray::{ArrayD, IxDyn};
use wengert_tensor::s;

const CASES: u32 = 64;

/// Runs `body` on `CASES` deterministic cases drawn from `strat`, panicking with the shrunk failure.
fn prop<S: Strategy>(strat: S, body: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let config = Config { cases: CASES, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    if let Err(e) = runner.run(&strat, body) {
        panic!("{e}");
    }
}

/// gradcheck and gradgradcheck of `f` at `inputs`.
fn both<Fun>(f: Fun, inputs: &[Tensor<f64>]) -> Result<(), TestCaseError>
where
    Fun: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
{
    let opts = GradcheckOptions::default();
    gradcheck(&f, inputs, &opts).map_err(|e| TestCaseError::fail(format!("first order: {e}")))?;
    gradgradcheck(&f, inputs, &opts).map_err(|e| TestCaseError::fail(format!("second order: {e}")))
}

/// A tensor of a random shape (up to 3 dims of up to 3) in `range`.
fn any_t(range: std::ops::Range<f64>) -> impl Strategy<Value = Tensor<f64>> {
    strategy::any_tensor(3, 3, range)
}

/// A tensor of a random shape with values at least 0.05 from each kink.
fn away(kinks: &'static [f64]) -> impl Strategy<Value = Tensor<f64>> {
    strategy::shape(3, 3).prop_flat_map(move |s| strategy::away_from_kinks(&s, -2.0..2.0, kinks, 0.05))
}

#[test]
fn smooth_unary_ops_match_finite_differences() {
    prop(any_t(-2.0..2.0), |x| {
        both(|v| v[0].neg().sum(), std::slice::from_ref(&x))?;
        both(|v| (v[0].exp() * 0.5).sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].expm1().sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].square().sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].sin().sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].cos().sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].tanh().sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].sigmoid().sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].gelu().sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].softplus().sum(), std::slice::from_ref(&x))?;
        both(|v| ((v[0] + 0.5) * 3.0 - 1.0).sum(), std::slice::from_ref(&x))?;
        both(|v| (2.0 - v[0] / 4.0).sum(), std::slice::from_ref(&x))
    });
}

#[test]
fn unary_ops_on_a_domain_match_finite_differences() {
    prop(strategy::shape(3, 3).prop_flat_map(|s| strategy::positive(&s, 0.2, 3.0)), |x| {
        both(|v| v[0].ln().sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].log1p().sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].sqrt().sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].recip().sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].powf(2.5).sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].powf(-1.5).sum(), std::slice::from_ref(&x))?;
        both(|v| (3.0 / v[0]).sum(), std::slice::from_ref(&x))
    });
}

#[test]
fn unary_ops_with_kinks_match_finite_differences_away_from_them() {
    prop(away(&[0.0]), |x| {
        both(|v| (v[0].relu() * v[0]).sum(), std::slice::from_ref(&x))?;
        both(|v| (v[0].abs() * v[0]).sum(), std::slice::from_ref(&x))?;
        both(|v| (v[0].leaky_relu(0.1) * v[0]).sum(), std::slice::from_ref(&x))
    });
    prop(away(&[-1.0, 1.0]), |x| both(|v| (v[0].clamp(-1.0, 1.0) * v[0]).sum(), std::slice::from_ref(&x)));
}

#[test]
fn broadcast_binary_ops_match_finite_differences() {
    prop(strategy::tensor_pair_broadcast(3, 3, -2.0..2.0), |(a, b)| {
        let ab = [a.clone(), b.clone()];
        both(|v| (v[0] + v[1]).square().sum(), &ab)?;
        both(|v| (v[0] - v[1]).square().sum(), &ab)?;
        both(|v| (v[0] * v[1]).sum(), &ab)?;
        both(|v| (v[0].maximum(v[1]) * v[1]).sum(), &ab)?;
        both(|v| (v[0].minimum(v[1]) * v[0]).sum(), &ab)?;
        let mask = a.gt_mask(&Tensor::scalar(0.0));
        both(|v| (Var::where_cond(&mask, v[0], v[1]) * v[0]).sum(), &ab)
    });
}

#[test]
fn division_and_power_match_finite_differences() {
    let pair = strategy::broadcast_pair(3, 3).prop_flat_map(|(sa, sb)| {
        (
            strategy::tensor(&sa, -2.0..2.0),
            strategy::positive(&sb, 0.3, 2.0),
            strategy::positive(&sa, 0.3, 2.0),
        )
    });
    prop(pair, |(a, b, p)| {
        both(|v| (v[0] / v[1]).sum(), &[a.clone(), b.clone()])?;
        both(|v| v[0].pow(v[1]).sum(), &[p.clone(), b.clone()])
    });
}

/// A tensor and a subset of its axes.
fn with_axes(
    values: impl Strategy<Value = Tensor<f64>> + 'static,
) -> impl Strategy<Value = (Tensor<f64>, Vec<usize>, bool)> {
    (values, any::<u8>(), any::<bool>()).prop_map(|(x, mask, keep)| {
        let axes: Vec<usize> = (0..x.ndim()).filter(|i| mask & (1 << i) != 0).collect();
        (x, axes, keep)
    })
}

#[test]
fn sum_mean_logsumexp_and_norm_over_axes_match_finite_differences() {
    prop(with_axes(any_t(-2.0..2.0)), |(x, axes, keep)| {
        let xs = std::slice::from_ref(&x);
        both(|v| (v[0].sum_axes(&axes, keep).square()).sum(), xs)?;
        both(|v| (v[0].mean_axes(&axes, keep).square()).sum(), xs)?;
        both(|v| v[0].logsumexp_axes(&axes, keep).sum(), xs)?;
        both(|v| (v[0].sum() * v[0].mean()).sum(), xs)?;
        both(|v| v[0].logsumexp(), xs)
    });
    prop(with_axes(away(&[0.0])), |(x, axes, keep)| {
        both(|v| v[0].norm_axes(&axes, keep).sum(), std::slice::from_ref(&x))?;
        both(|v| v[0].norm(), std::slice::from_ref(&x))
    });
}

#[test]
fn max_and_min_over_axes_match_finite_differences_without_ties() {
    let distinct = strategy::shape(3, 3).prop_flat_map(|s| strategy::distinct(&s, -2.0..2.0, 0.01));
    prop(with_axes(distinct), |(x, axes, keep)| {
        let xs = std::slice::from_ref(&x);
        both(|v| (v[0].max_axes(&axes, keep) * 2.0).sum(), xs)?;
        both(|v| (v[0].min_axes(&axes, keep)).square().sum(), xs)?;
        both(|v| v[0].max() + v[0].min(), xs)
    });
}

#[test]
fn var_and_std_match_finite_differences() {
    let distinct =
        (2usize..4, 1usize..4).prop_flat_map(|(m, n)| strategy::distinct(&[m, n], -2.0..2.0, 0.05));
    prop((distinct, 0usize..2, any::<bool>()), |(x, correction, keep)| {
        let xs = std::slice::from_ref(&x);
        both(|v| v[0].var_axes(&[0], correction, keep).sum(), xs)?;
        both(|v| v[0].std_axes(&[0], correction, keep).sum(), xs)?;
        both(|v| v[0].var(correction) + v[0].std(correction), xs)
    });
}

/// Operand shapes for every NumPy matmul case.
fn matmul_shapes() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (1usize..4, 1usize..4, 1usize..4, 1usize..3, 0usize..6).prop_map(|(m, k, n, batch, case)| match case {
        0 => (vec![k], vec![k]),
        1 => (vec![k], vec![k, n]),
        2 => (vec![m, k], vec![k]),
        3 => (vec![m, k], vec![k, n]),
        4 => (vec![batch, m, k], vec![k, n]),
        _ => (vec![batch, 1, m, k], vec![2, k, n]),
    })
}

#[test]
fn matmul_in_every_form_matches_finite_differences() {
    let case = matmul_shapes()
        .prop_flat_map(|(sa, sb)| (strategy::tensor(&sa, -2.0..2.0), strategy::tensor(&sb, -2.0..2.0)));
    prop(case, |(a, b)| both(|v| v[0].matmul(v[1]).square().sum(), &[a.clone(), b.clone()]));
    // Transposed (non-contiguous) operands of every kind, and dot / outer.
    let transposed = (1usize..4, 1usize..4, 1usize..4).prop_flat_map(|(m, k, n)| {
        (strategy::tensor(&[k, m], -2.0..2.0), strategy::tensor(&[n, k], -2.0..2.0))
    });
    prop(transposed, |(a, b)| {
        let ab = [a.clone(), b.clone()];
        both(|v| v[0].t().matmul(v[1].t()).square().sum(), &ab)?;
        both(|v| v[0].t().matmul(v[0]).square().sum(), std::slice::from_ref(&a))?;
        both(|v| v[1].slice(s![..;-1, ..]).matmul(v[0]).square().sum(), &ab)?;
        let (x, y) = (a.flatten(), b.flatten());
        both(|v| v[0].outer(v[1]).square().sum(), &[x.clone(), y.clone()])?;
        both(|v| v[0].dot(v[0]) * v[1].sum(), &[x.clone(), y.clone()])
    });
}

#[test]
fn softmax_and_log_softmax_match_finite_differences_on_every_axis() {
    prop((any_t(-3.0..3.0), any::<u8>(), strategy::tensor(&[27], -1.0..1.0)), |(x, ax, w)| {
        let axis = (ax as usize) % x.ndim().max(1);
        if x.ndim() == 0 {
            return Ok(());
        }
        let w = w.narrow(0, 0, x.len()).reshape(x.shape()).unwrap();
        both(|v| (v[0].softmax(axis) * &w).sum(), std::slice::from_ref(&x))?;
        both(|v| (v[0].log_softmax(axis) * &w).sum(), std::slice::from_ref(&x))?;
        both(|v| (v[0].t().log_softmax(0) * &w.t()).sum(), std::slice::from_ref(&x))
    });
}

/// A 3-D tensor of shape [a, b, c] with 1 ≤ each ≤ 3, and a weight of the same shape.
fn cube() -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>)> {
    (1usize..4, 1usize..4, 1usize..4).prop_flat_map(|(a, b, c)| {
        (strategy::tensor(&[a, b, c], -2.0..2.0), strategy::tensor(&[a, b, c], -1.0..1.0))
    })
}

#[test]
fn shape_ops_match_finite_differences() {
    prop(cube(), |(x, w)| {
        let sh = x.shape().to_vec();
        let xs = std::slice::from_ref(&x);
        let n = x.len();
        both(|v| (v[0].reshape(&[n]) * &w.flatten()).sum(), xs)?;
        both(|v| (v[0].flatten().reshape(&sh) * &w).square().sum(), xs)?;
        both(|v| (v[0].permute(&[2, 0, 1]) * &w.permute(&[2, 0, 1])).square().sum(), xs)?;
        both(|v| (v[0].swap_axes(0, 2) * &w.swap_axes(0, 2)).square().sum(), xs)?;
        both(|v| (v[0].t() * &w.t()).square().sum(), xs)?;
        both(|v| (v[0].unsqueeze(1).squeeze(1) * &w).square().sum(), xs)?;
        both(|v| (v[0].unsqueeze(0).broadcast_to(&[2, sh[0], sh[1], sh[2]]) * &w).square().sum(), xs)?;
        both(|v| (v[0].sum_to_shape(&[1, sh[1], 1]) * v[0].sum()).sum(), xs)?;
        both(|v| v[0].slice(s![.., ..;2, 1..]).square().sum(), xs)?;
        both(|v| v[0].narrow(1, 0, 1).square().sum() + v[0].narrow(2, sh[2] - 1, 1).sum(), xs)?;
        both(|v| (v[0].pad(&[(1, 0), (0, 2), (1, 1)], 0.5)).square().sum(), xs)?;
        both(|v| (v[0].repeat(&[2, 1, 2])).square().sum() + v[0].repeat(&[3, 1, 1, 1]).sum(), xs)
    });
}

#[test]
fn joining_and_splitting_match_finite_differences() {
    prop((cube(), cube()), |((a, _), (b, _))| {
        let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
        let b = if sa[0] == sb[0] && sa[1] == sb[1] { b } else { Tensor::ones(&[sa[0], sa[1], sb[2]]) * 0.7 };
        let ab = [a.clone(), b.clone()];
        both(|v| Var::concat(&[v[0], v[1], v[0]], 2).square().sum(), &ab)?;
        both(|v| (Var::stack(&[v[0], v[0] * 2.0], 1)).square().sum(), std::slice::from_ref(&a))?;
        let d = sa[2];
        both(
            |v| {
                let parts = v[0].split(2, &[d - d / 2, d / 2]);
                parts[0].square().sum() + parts[1].sum() * 3.0
            },
            std::slice::from_ref(&a),
        )?;
        both(
            |v| v[0].chunk(2, 0).into_iter().map(|c| c.square().sum()).reduce(|p, q| p + q * 2.0).unwrap(),
            std::slice::from_ref(&a),
        )
    });
}

#[test]
fn index_ops_match_finite_differences() {
    prop((cube(), any::<u64>()), |((x, _), seed)| {
        let sh = x.shape().to_vec();
        let xs = std::slice::from_ref(&x);
        let pick: Vec<usize> = (0..4).map(|i| ((seed >> (i * 4)) as usize) % sh[1]).collect();
        both(|v| v[0].index_select(1, &pick).square().sum(), xs)?;
        let index = ArrayD::from_shape_fn(IxDyn(&[sh[0], 2, sh[2]]), |ix| {
            ((seed as usize).wrapping_mul(31).wrapping_add(ix[0] * 7 + ix[1] * 3 + ix[2])) % sh[1]
        });
        both(|v| v[0].gather(1, &index).square().sum(), xs)?;
        let src = Tensor::from_vec((0..index.len()).map(|i| i as f64 * 0.1 - 0.3).collect(), index.shape())
            .unwrap();
        both(|v| v[0].scatter_add(1, &index, v[1]).square().sum(), &[x.clone(), src])
    });
}
