//! proptest strategies for f64 tensors, shapes and broadcast-compatible shape pairs (feature `proptest`),
//! so that users property-test their own losses against finite differences.
//!
//! Every strategy is built from proptest's combinators, so a failing case shrinks: shapes towards
//! fewer and size-1 dimensions, values towards zero (or the allowed value nearest zero).
//!
//! ```
//! use proptest::prelude::*;
//! use wengert::tape::Var;
//! use wengert::tape::check::{GradcheckOptions, gradcheck, strategy};
//!
//! // A user-written loss: mean squared error of a prediction against a broadcast target.
//! fn mse<'t>(xs: &[Var<'t, f64>]) -> Var<'t, f64> {
//!     (xs[0] - xs[1]).square().mean()
//! }
//!
//! proptest! {
//!     #![proptest_config(ProptestConfig::with_cases(32))]
//!     fn mse_grad_matches_finite_differences((pred, target) in strategy::tensor_pair_broadcast(3, 4, -2.0..2.0)) {
//!         gradcheck(mse, &[pred, target], &GradcheckOptions::default())?;
//!     }
//! }
//! mse_grad_matches_finite_differences(); // under `#[test]` in a real test file
//! ```

use std::ops::{Range, RangeInclusive};

use proptest::collection::vec;
use proptest::prelude::*;
use wengert_tensor::Tensor;

/// Tensors of `shape` with elements drawn uniformly from `range`.
///
/// # Panics
///
/// When `range` is empty.
#[track_caller]
pub fn tensor(shape: &[usize], range: Range<f64>) -> impl Strategy<Value = Tensor<f64>> + use<> {
    assert!(range.start < range.end, "strategy::tensor: empty range {range:?}");
    let shape = shape.to_vec();
    vec(range, numel(&shape)).prop_map(move |data| from_vec(data, &shape))
}

/// Shapes of at most `max_ndim` dimensions (0, a scalar, included), each from 1 to `max_dim`, with
/// size-1 dimensions drawn more often than the rest (they exercise broadcasting).
///
/// # Panics
///
/// When `max_dim` is 0.
#[track_caller]
pub fn shape(max_ndim: usize, max_dim: usize) -> impl Strategy<Value = Vec<usize>> + use<> {
    assert!(max_dim >= 1, "strategy::shape: max_dim must be at least 1");
    shape_in(0..=max_ndim, 1..=max_dim)
}

/// Shapes with a number of dimensions in `ndims` and each dimension in `dims` (which may include 0,
/// for empty tensors). A dimension of 1 is drawn more often, when `dims` holds it.
///
/// # Panics
///
/// When either range is empty.
#[track_caller]
pub fn shape_in(
    ndims: RangeInclusive<usize>,
    dims: RangeInclusive<usize>,
) -> impl Strategy<Value = Vec<usize>> + use<> {
    assert!(!ndims.is_empty() && !dims.is_empty(), "strategy::shape_in: empty range {ndims:?} or {dims:?}");
    let small = if dims.contains(&1) { 1 } else { *dims.start() };
    vec(prop_oneof![1 => Just(small), 3 => dims], ndims)
}

/// Tensors of any shape from [`shape`]`(max_ndim, max_dim)`, elements from `range`.
///
/// # Panics
///
/// When `max_dim` is 0 or `range` is empty.
#[track_caller]
pub fn any_tensor(
    max_ndim: usize,
    max_dim: usize,
    range: Range<f64>,
) -> impl Strategy<Value = Tensor<f64>> + use<> {
    assert!(range.start < range.end, "strategy::any_tensor: empty range {range:?}");
    shape(max_ndim, max_dim).prop_flat_map(move |s| tensor(&s, range.clone()))
}

/// Pairs of shapes that broadcast together: both are drawn from one shape of at most `max_ndim`
/// dimensions, each dropping some leading dimensions and setting some others to 1.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use wengert::tape::check::strategy::broadcast_pair;
/// let mut runner = TestRunner::deterministic();
/// let (a, b) = broadcast_pair(3, 4).new_tree(&mut runner).unwrap().current();
/// assert!(wengert::tensor::broadcast_shapes("add", &a, &b).is_ok());
/// ```
///
/// # Panics
///
/// When `max_dim` is 0.
#[track_caller]
pub fn broadcast_pair(
    max_ndim: usize,
    max_dim: usize,
) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> + use<> {
    shape(max_ndim, max_dim)
        .prop_flat_map(|out| {
            let n = out.len();
            let side = move || (0..=n, vec(any::<bool>(), n));
            (Just(out), side(), side())
        })
        .prop_map(|(out, (drop_a, ones_a), (drop_b, ones_b))| {
            (derive_shape(&out, drop_a, &ones_a), derive_shape(&out, drop_b, &ones_b))
        })
}

/// `out` without its first `drop` dimensions, with dimension `k` set to 1 where `ones[k]`.
fn derive_shape(out: &[usize], drop: usize, ones: &[bool]) -> Vec<usize> {
    out.iter().zip(ones).skip(drop).map(|(&d, &one)| if one { 1 } else { d }).collect()
}

/// Pairs of tensors whose shapes broadcast together ([`broadcast_pair`]), elements from `range`.
///
/// # Panics
///
/// When `max_dim` is 0 or `range` is empty.
#[track_caller]
pub fn tensor_pair_broadcast(
    max_ndim: usize,
    max_dim: usize,
    range: Range<f64>,
) -> impl Strategy<Value = (Tensor<f64>, Tensor<f64>)> + use<> {
    assert!(range.start < range.end, "strategy::tensor_pair_broadcast: empty range {range:?}");
    broadcast_pair(max_ndim, max_dim)
        .prop_flat_map(move |(a, b)| (tensor(&a, range.clone()), tensor(&b, range.clone())))
}

/// Tensors of `shape` with elements from `range` at least `margin` away from every kink (up to
/// rounding): where a function such as `relu`, `abs` or `clamp` is not differentiable, so that a
/// central difference of step `eps < margin` never straddles one. Values are spread uniformly over
/// what is left of `range`.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use wengert::tape::check::strategy::away_from_kinks;
/// let mut runner = TestRunner::deterministic();
/// let t = away_from_kinks(&[50], -1.0..1.0, &[0.0], 0.1).new_tree(&mut runner).unwrap().current();
/// assert!(t.to_vec().iter().all(|x| x.abs() >= 0.1));
/// ```
///
/// # Panics
///
/// When `range` is empty, `margin` is negative, or the kinks leave nothing of `range`.
#[track_caller]
pub fn away_from_kinks(
    shape: &[usize],
    range: Range<f64>,
    kinks: &[f64],
    margin: f64,
) -> impl Strategy<Value = Tensor<f64>> + use<> {
    assert!(range.start < range.end, "strategy::away_from_kinks: empty range {range:?}");
    assert!(margin >= 0.0, "strategy::away_from_kinks: negative margin {margin}");
    let pieces = allowed_pieces(&range, kinks, margin);
    let total: f64 = pieces.iter().map(|(a, b)| b - a).sum();
    assert!(
        total > 0.0,
        "strategy::away_from_kinks: kinks {kinks:?} with margin {margin} leave nothing of {range:?}"
    );
    // Draw a position in the allowed set measured from the allowed value nearest zero, so that
    // shrinking towards 0 moves the value there.
    let origin = mass_below_nearest_zero(&pieces);
    let shape = shape.to_vec();
    vec(-origin..total - origin, numel(&shape)).prop_map(move |ts| {
        let data = ts.into_iter().map(|t| place(&pieces, t + origin)).collect();
        from_vec(data, &shape)
    })
}

/// `range` without the open intervals `(k - margin, k + margin)`, as sorted disjoint `[a, b)` pieces.
fn allowed_pieces(range: &Range<f64>, kinks: &[f64], margin: f64) -> Vec<(f64, f64)> {
    let mut holes: Vec<(f64, f64)> = kinks.iter().map(|&k| (k - margin, k + margin)).collect();
    holes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut pieces = Vec::new();
    let mut cur = range.start;
    for (a, b) in holes {
        if a > cur {
            pieces.push((cur, a.min(range.end)));
        }
        cur = cur.max(b);
        if cur >= range.end {
            break;
        }
    }
    if cur < range.end {
        pieces.push((cur, range.end));
    }
    pieces.retain(|(a, b)| b > a);
    pieces
}

/// The measure of the allowed set below its point nearest zero.
fn mass_below_nearest_zero(pieces: &[(f64, f64)]) -> f64 {
    let mut best = (f64::INFINITY, 0.0);
    let mut below = 0.0;
    for &(a, b) in pieces {
        let z = 0.0f64.clamp(a, b);
        if z.abs() < best.0 {
            best = (z.abs(), below + (z - a));
        }
        below += b - a;
    }
    best.1
}

/// The point at measure `t` of the allowed set.
fn place(pieces: &[(f64, f64)], mut t: f64) -> f64 {
    for &(a, b) in pieces {
        if t < b - a {
            return a + t.max(0.0);
        }
        t -= b - a;
    }
    // Only rounding gets here: the last allowed value.
    pieces.last().map_or(0.0, |&(a, b)| b.next_down().max(a))
}

/// Tensors of `shape` with elements drawn uniformly from `[lo, hi)`, for functions defined on positive
/// numbers only (`ln`, `sqrt`, `powf`, a divisor).
///
/// # Panics
///
/// Unless `0 < lo < hi`.
#[track_caller]
pub fn positive(shape: &[usize], lo: f64, hi: f64) -> impl Strategy<Value = Tensor<f64>> + use<> {
    assert!(0.0 < lo && lo < hi, "strategy::positive: needs 0 < lo < hi, got lo {lo}, hi {hi}");
    tensor(shape, lo..hi)
}

/// Tensors of `shape` with elements from `range` pairwise at least `min_gap` apart (up to rounding),
/// so that `max`, `min`, `maximum` and sorting have no ties for a central difference to cross.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use wengert::tape::check::strategy::distinct;
/// let mut runner = TestRunner::deterministic();
/// let mut v = distinct(&[2, 3], -1.0..1.0, 0.1).new_tree(&mut runner).unwrap().current().to_vec();
/// v.sort_by(f64::total_cmp);
/// assert!(v.windows(2).all(|w| w[1] - w[0] >= 0.1 - 1e-12));
/// ```
///
/// # Panics
///
/// When `range` is empty, `min_gap` is negative, or `range` cannot hold that many values so far apart.
#[track_caller]
pub fn distinct(
    shape: &[usize],
    range: Range<f64>,
    min_gap: f64,
) -> impl Strategy<Value = Tensor<f64>> + use<> {
    assert!(range.start < range.end, "strategy::distinct: empty range {range:?}");
    assert!(min_gap >= 0.0, "strategy::distinct: negative min_gap {min_gap}");
    let shape = shape.to_vec();
    let n = numel(&shape);
    let spread = n.saturating_sub(1) as f64 * min_gap;
    let slack = range.end - range.start - spread;
    assert!(slack > 0.0, "strategy::distinct: {n} values {min_gap} apart do not fit in {range:?}");
    // Sorted offsets t plus k · min_gap are min_gap apart; the cluster starts at `lo + t₀`. Offsets
    // are measured from `center`, the start that puts the tightest cluster around 0, so shrinking
    // pulls the values towards 0; a shuffle then places the sorted values in the tensor.
    let lo = range.start;
    let center = (-spread / 2.0).clamp(lo, lo + slack);
    let order = Just((0..n).collect::<Vec<usize>>()).prop_shuffle();
    (vec(lo - center..lo - center + slack, n), order).prop_map(move |(mut ts, order)| {
        ts.sort_by(f64::total_cmp);
        let sorted: Vec<f64> = ts.iter().enumerate().map(|(k, t)| center + t + k as f64 * min_gap).collect();
        from_vec(order.iter().map(|&k| sorted[k]).collect(), &shape)
    })
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

fn from_vec(data: Vec<f64>, shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(data, shape).expect("one value per element of the shape")
}

#[cfg(test)]
mod tests {
    use proptest::test_runner::{Config, TestError, TestRunner};

    use super::*;
    use crate::check::{GradcheckOptions, gradcheck, gradgradcheck};

    /// The value a failing property shrinks to.
    fn minimal<S: Strategy>(strategy: S, fails: impl Fn(&S::Value) -> bool) -> S::Value {
        let mut runner = TestRunner::new(Config { cases: 256, ..Config::default() });
        match runner.run(&strategy, |v| {
            prop_assert!(!fails(&v));
            Ok(())
        }) {
            Err(TestError::Fail(_, v)) => v,
            other => panic!("expected a failing case, got {other:?}"),
        }
    }

    #[test]
    fn shape_shrinks_to_size_one_dimensions() {
        assert_eq!(minimal(shape(4, 5), |s| s.len() >= 2), vec![1, 1]);
        assert_eq!(minimal(shape(4, 5), |s| s.contains(&3)), vec![3]);
    }

    #[test]
    fn tensor_shrinks_towards_zero() {
        let t = minimal(tensor(&[3], -5.0..5.0), |t| t.to_vec().iter().any(|x| x.abs() > 1.0));
        let v = t.to_vec();
        assert_eq!(v.iter().filter(|x| **x == 0.0).count(), 2, "{v:?}");
    }

    #[test]
    fn away_from_kinks_shrinks_to_the_allowed_value_nearest_zero() {
        let t = minimal(away_from_kinks(&[2], -1.0..1.0, &[0.0], 0.25), |_| true);
        assert!(t.to_vec().iter().all(|x| x.abs() == 0.25), "{t:?}");
    }

    #[test]
    fn broadcast_pair_shrinks_to_scalars() {
        assert_eq!(minimal(broadcast_pair(3, 4), |_| true), (vec![], vec![]));
    }

    #[test]
    fn allowed_pieces_merge_and_clip_holes() {
        let p = allowed_pieces(&(-1.0..1.0), &[0.0, 0.1, 5.0, -1.0], 0.2);
        assert_eq!(p, vec![(-0.8, -0.2), (0.30000000000000004, 1.0)]);
        assert_eq!(place(&p, 0.0), -0.8);
        assert!((place(&p, 0.7) - 0.4).abs() < 1e-12);
        assert_eq!(place(&p, 5.0), 1.0f64.next_down());
        assert!(allowed_pieces(&(0.0..1.0), &[0.5], 1.0).is_empty());
    }

    #[test]
    #[should_panic(expected = "leave nothing")]
    fn away_from_kinks_rejects_a_covered_range() {
        let _ = away_from_kinks(&[1], 0.0..1.0, &[0.5], 1.0);
    }

    #[test]
    #[should_panic(expected = "do not fit")]
    fn distinct_rejects_too_many_values() {
        let _ = distinct(&[11], 0.0..1.0, 0.1);
    }

    proptest! {
        #[test]
        fn tensor_has_its_shape_and_range(t in tensor(&[2, 3], -1.5..0.5)) {
            prop_assert_eq!(t.shape(), &[2, 3]);
            prop_assert!(t.to_vec().iter().all(|x| (-1.5..0.5).contains(x)));
        }

        #[test]
        fn shapes_respect_their_bounds(s in shape(3, 4), s0 in shape_in(1..=2, 0..=2)) {
            prop_assert!(s.len() <= 3 && s.iter().all(|&d| (1..=4).contains(&d)));
            prop_assert!((1..=2).contains(&s0.len()) && s0.iter().all(|&d| d <= 2));
        }

        #[test]
        fn any_tensor_fits_its_bounds(t in any_tensor(3, 4, 0.0..1.0)) {
            prop_assert!(t.ndim() <= 3 && t.shape().iter().all(|&d| (1..=4).contains(&d)));
            prop_assert!(t.to_vec().iter().all(|x| (0.0..1.0).contains(x)));
        }

        #[test]
        fn broadcast_pairs_broadcast((a, b) in broadcast_pair(4, 3)) {
            prop_assert!(wengert_tensor::broadcast_shapes("test", &a, &b).is_ok(), "{:?} {:?}", a, b);
        }

        #[test]
        fn away_from_kinks_keeps_its_margin(t in away_from_kinks(&[4, 4], -2.0..2.0, &[0.0, 1.0, -1.0], 0.05)) {
            for x in t.to_vec() {
                prop_assert!((-2.0..2.0).contains(&x));
                prop_assert!([0.0, 1.0, -1.0].iter().all(|k: &f64| (x - k).abs() >= 0.05 - 1e-12), "{}", x);
            }
        }

        #[test]
        fn positive_is_positive(t in positive(&[5], 0.1, 3.0)) {
            prop_assert!(t.to_vec().iter().all(|&x| (0.1..3.0).contains(&x)));
        }

        #[test]
        fn distinct_values_are_apart(t in distinct(&[3, 3], -1.0..1.0, 0.2)) {
            let mut v = t.to_vec();
            prop_assert!(v.iter().all(|&x| (-1.0..=1.0 + 1e-12).contains(&x)), "{:?}", v);
            v.sort_by(f64::total_cmp);
            prop_assert!(v.windows(2).all(|w| w[1] - w[0] >= 0.2 - 1e-12), "{:?}", v);
        }
    }

    // Property tests of the tape's own ops through the strategies: the gradcheck of a user's loss.
    proptest! {
        #![proptest_config(Config::with_cases(48))]

        #[test]
        fn broadcast_mul_grad_matches_finite_differences((a, b) in tensor_pair_broadcast(3, 3, -2.0..2.0)) {
            gradcheck(|xs| (xs[0] * xs[1]).tanh(), &[a.clone(), b.clone()], &GradcheckOptions::default())?;
            gradgradcheck(|xs| xs[0] * xs[1], &[a, b], &GradcheckOptions::default())?;
        }

        #[test]
        fn broadcast_div_sub_grad_matches_finite_differences(
            (a, b) in broadcast_pair(3, 3).prop_flat_map(|(a, b)| (tensor(&a, -2.0..2.0), positive(&b, 0.5, 2.0)))
        ) {
            gradcheck(|xs| (xs[0] / xs[1] - xs[1]).sum(), &[a, b], &GradcheckOptions::default())?;
        }

        #[test]
        fn abs_and_relu_grads_match_away_from_zero(x in shape(3, 4).prop_flat_map(|s| away_from_kinks(&s, -2.0..2.0, &[0.0], 1e-3))) {
            gradcheck(|xs| xs[0].abs() * 2.0 + xs[0].relu(), &[x], &GradcheckOptions::default())?;
        }

        #[test]
        fn ln_and_sqrt_grads_match_on_positive_inputs(x in shape(2, 4).prop_flat_map(|s| positive(&s, 0.1, 4.0))) {
            gradcheck(|xs| xs[0].ln() + xs[0].sqrt(), std::slice::from_ref(&x), &GradcheckOptions::default())?;
            gradgradcheck(|xs| xs[0].ln().sum(), &[x], &GradcheckOptions::default())?;
        }

        #[test]
        fn max_grad_matches_without_ties(x in shape_in(1..=3, 1..=4).prop_flat_map(|s| distinct(&s, -3.0..3.0, 1e-3))) {
            gradcheck(|xs| xs[0].max() + xs[0].min_axes(&[0], false).sum(), &[x], &GradcheckOptions::default())?;
        }

        #[test]
        fn tanh_second_derivative_matches(x in any_tensor(2, 3, -2.0..2.0)) {
            gradgradcheck(|xs| xs[0].tanh().sum(), &[x], &GradcheckOptions::default())?;
        }
    }
}
