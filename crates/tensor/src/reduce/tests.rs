//! Tests of `reduce`.

use super::*;
use proptest::prelude::*;

fn t(v: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

fn x23() -> Tensor<f64> {
    t(&[1.0, 5.0, 3.0, 4.0, 2.0, 6.0], &[2, 3])
}

#[test]
fn sums_and_means_are_hand_checked() {
    let x = x23();
    assert_eq!(x.sum().item(), 21.0);
    assert_eq!(x.sum().shape(), &[] as &[usize]);
    assert_eq!(x.sum_axes(&[0], false).to_vec(), vec![5.0, 7.0, 9.0]);
    assert_eq!(x.sum_axes(&[1], true).to_vec(), vec![9.0, 12.0]);
    assert_eq!(x.sum_axes(&[1], true).shape(), &[2, 1]);
    assert_eq!(x.sum_axes(&[], false), x);
    assert_eq!(x.mean().item(), 3.5);
    assert_eq!(x.mean_axes(&[0], false).to_vec(), vec![2.5, 3.5, 4.5]);
    assert_eq!(x.t().sum_axes(&[0], false).to_vec(), vec![9.0, 12.0]);
}

#[test]
fn extrema_are_hand_checked() {
    let x = x23();
    assert_eq!(x.max().item(), 6.0);
    assert_eq!(x.min().item(), 1.0);
    assert_eq!(x.max_axes(&[1], false).to_vec(), vec![5.0, 6.0]);
    assert_eq!(x.min_axes(&[0], true).to_vec(), vec![1.0, 2.0, 3.0]);
    assert_eq!(x.argmax(), 5);
    assert_eq!(x.argmin(), 0);
    assert_eq!(x.argmax_axis(0, false).into_raw_vec_and_offset().0, vec![1, 0, 1]);
    assert_eq!(x.argmin_axis(1, true).shape(), &[2, 1]);
    assert_eq!(t(&[2.0, 7.0, 7.0], &[3]).argmax(), 1);
    assert!(t(&[1.0, f64::NAN], &[2]).max().item().is_nan());
}

#[test]
fn spread_and_norms_are_hand_checked() {
    let x = t(&[1.0, 2.0, 3.0, 4.0], &[4]);
    assert_eq!(x.var(1).item(), 5.0 / 3.0);
    assert_eq!(x.var(0).item(), 1.25);
    assert_eq!(x.std(0).item(), 1.25f64.sqrt());
    let y = t(&[1.0, 3.0, 2.0, 6.0], &[2, 2]);
    assert_eq!(y.var_axes(&[1], 1, false).to_vec(), vec![2.0, 8.0]);
    assert_eq!(y.std_axes(&[0], 0, true).to_vec(), vec![0.5, 1.5]);
    assert_eq!(t(&[3.0, 4.0], &[2]).norm().item(), 5.0);
    assert_eq!(t(&[3.0, 4.0, 0.0, 1.0], &[2, 2]).norm_axes(&[1], false).to_vec(), vec![5.0, 1.0]);
}

#[test]
fn logsumexp_is_stable() {
    let x = t(&[1000.0, 1000.0], &[2]);
    assert_eq!(x.logsumexp().item(), 1000.0 + 2f64.ln());
    let y = Tensor::<f32>::from_vec(vec![-1e4, 1e4, 0.0, -1e4], &[2, 2]).unwrap();
    let l = y.logsumexp_axes(&[1], false).to_vec();
    assert_eq!(l, vec![1e4, 0.0]);
    assert_eq!(t(&[f64::NEG_INFINITY; 2], &[2]).logsumexp().item(), f64::NEG_INFINITY);
}

#[test]
fn empty_reductions_follow_torch() {
    let e = Tensor::<f64>::zeros(&[0, 3]);
    assert_eq!(e.sum().item(), 0.0);
    assert_eq!(e.sum_axes(&[0], false).to_vec(), vec![0.0; 3]);
    assert!(e.mean().item().is_nan());
}

#[test]
fn var_with_a_correction_of_at_least_the_count_is_inf_or_nan_never_negative() {
    let x = t(&[1.0, 2.0, 3.0], &[3]);
    for c in [3, 4, 5, usize::MAX] {
        assert_eq!(x.var(c).item(), f64::INFINITY, "correction {c}");
        assert_eq!(x.std(c).item(), f64::INFINITY, "correction {c}");
    }
    assert!(t(&[2.0, 2.0], &[2]).var(2).item().is_nan());
    assert!(t(&[2.0, 2.0], &[2]).var(7).item().is_nan());
    let y = t(&[1.0, 3.0, 2.0, 2.0], &[2, 2]);
    let v = y.var_axes(&[1], 2, false).to_vec();
    assert!(v[0] == f64::INFINITY && v[1].is_nan(), "{v:?}");
    assert!(y.std_axes(&[0], 9, true).to_vec().iter().all(|&s| s == f64::INFINITY));
    assert!(Tensor::<f32>::zeros(&[0]).var(0).item().is_nan());
}

#[test]
#[should_panic(expected = "sum_axes: axis 2 is out of range for shape [2, 3] (2 dims)")]
fn sum_axes_names_a_bad_axis() {
    x23().sum_axes(&[2], false);
}

#[test]
#[should_panic(expected = "max: cannot reduce an empty tensor of shape [0]")]
fn max_of_empty_panics() {
    Tensor::<f32>::zeros(&[0]).max();
}

#[test]
#[should_panic(expected = "argmax_axis: axis 0 of shape [0, 2] is empty")]
fn argmax_over_empty_axis_panics() {
    Tensor::<f32>::zeros(&[0, 2]).argmax_axis(0, false);
}

#[test]
fn long_sums_do_not_depend_on_the_pool_size() {
    let x = Tensor::<f32>::arange(0.0, 100_000.0, 1.0).map(|v| (v * 0.001).sin());
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| x.sum().item());
    let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| x.sum().item());
    assert_eq!(one.to_bits(), two.to_bits());
}

#[test]
fn all_finite_finds_one_bad_element_anywhere_in_any_layout() {
    for len in [0, 1, 31, 32, 33, 4096, 100_000] {
        let x = Tensor::<f32>::full(&[len], 1.5e38);
        assert!(x.all_finite(), "len {len}");
        for at in [0, len / 2, len.saturating_sub(1)].into_iter().filter(|_| len > 0) {
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                let mut v = x.to_vec();
                v[at] = bad;
                assert!(!Tensor::from_vec(v, &[len]).unwrap().all_finite(), "len {len}, {bad} at {at}");
            }
        }
    }
    // A transposed view is read in memory order, a strided one element by element.
    let m = t(&[1.0, f64::NAN, 3.0, 4.0], &[2, 2]);
    assert!(!m.t().all_finite());
    assert!(m.narrow(1, 0, 1).all_finite());
    assert!(!m.narrow(1, 1, 1).all_finite());
    let wide = Tensor::<f32>::full(&[300, 200], 2.0);
    assert!(wide.t().all_finite());
    let mut v = wide.to_vec();
    v[59_999] = f32::NAN;
    assert!(!Tensor::from_vec(v, &[300, 200]).unwrap().t().all_finite());
    // Large finite values whose squares overflow are still finite.
    assert!(Tensor::<f64>::full(&[64], f64::MAX).all_finite());
}

/// Naive reference: for every output index, loop over every input element that maps to it.
fn naive_reduce(x: &Tensor<f64>, axes: &[usize], keepdim: bool, f: fn(&[f64]) -> f64) -> Tensor<f64> {
    let shape = x.shape().to_vec();
    let out_keep: Vec<usize> =
        shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
    let n_out: usize = out_keep.iter().product();
    let mut groups = vec![Vec::new(); n_out];
    for (lin, v) in x.to_vec().into_iter().enumerate() {
        let mut r = lin;
        let mut idx = vec![0; shape.len()];
        for i in (0..shape.len()).rev() {
            idx[i] = r % shape[i];
            r /= shape[i];
        }
        let mut o = 0;
        for i in 0..shape.len() {
            o = o * out_keep[i] + if axes.contains(&i) { 0 } else { idx[i] };
        }
        groups[o].push(v);
    }
    let vals: Vec<f64> = groups.iter().map(|g| f(g)).collect();
    let t = Tensor::from_vec(vals, &out_keep).unwrap();
    if keepdim { t } else { t.reshape(&reduced_shape(&shape, axes, false)).unwrap() }
}

proptest! {
    #[test]
    fn reductions_over_every_axis_subset_match_naive(
        shape in prop::collection::vec(1usize..4, 1..4),
        mask in 0usize..16,
        keepdim in any::<bool>(),
        seed in 0u64..100,
    ) {
        let n: usize = shape.iter().product();
        let x = t(&(0..n).map(|i| ((i as f64 * 7.3 + seed as f64) % 5.0) - 2.0).collect::<Vec<_>>(), &shape);
        let axes: Vec<usize> = (0..shape.len()).filter(|i| mask & (1 << i) != 0).collect();
        let close = |a: &Tensor<f64>, b: &Tensor<f64>| {
            a.shape() == b.shape() && a.to_vec().iter().zip(b.to_vec()).all(|(p, q)| (p - q).abs() < 1e-9)
        };
        prop_assert!(close(&x.sum_axes(&axes, keepdim), &naive_reduce(&x, &axes, keepdim, |g| g.iter().sum())));
        let mean = |g: &[f64]| g.iter().sum::<f64>() / g.len() as f64;
        prop_assert!(close(&x.mean_axes(&axes, keepdim), &naive_reduce(&x, &axes, keepdim, mean)));
        let max = |g: &[f64]| g.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        prop_assert!(close(&x.max_axes(&axes, keepdim), &naive_reduce(&x, &axes, keepdim, max)));
        let min = |g: &[f64]| g.iter().copied().fold(f64::INFINITY, f64::min);
        prop_assert!(close(&x.min_axes(&axes, keepdim), &naive_reduce(&x, &axes, keepdim, min)));
        let lse = |g: &[f64]| g.iter().map(|v| v.exp()).sum::<f64>().ln();
        prop_assert!(close(&x.logsumexp_axes(&axes, keepdim), &naive_reduce(&x, &axes, keepdim, lse)));
        let var = |g: &[f64]| {
            let m = g.iter().sum::<f64>() / g.len() as f64;
            g.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / g.len() as f64
        };
        prop_assert!(close(&x.var_axes(&axes, 0, keepdim), &naive_reduce(&x, &axes, keepdim, var)));
        let norm = |g: &[f64]| g.iter().map(|v| v * v).sum::<f64>().sqrt();
        prop_assert!(close(&x.norm_axes(&axes, keepdim), &naive_reduce(&x, &axes, keepdim, norm)));
        // Transposed input: same answer as its contiguous copy.
        let xt = x.permute(&(0..shape.len()).rev().collect::<Vec<_>>());
        prop_assert!(close(&xt.sum_axes(&axes, keepdim), &xt.to_contiguous().sum_axes(&axes, keepdim)));
    }
}

#[test]
fn prod_multiplies_over_axes_and_is_one_over_nothing() {
    let x = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 0.0, 5.0, 6.0], &[2, 3]).unwrap();
    assert_eq!(x.prod().item(), 0.0);
    assert_eq!(x.prod_axes(&[1], false).to_vec(), vec![6.0, 0.0]);
    assert_eq!(x.t().prod_axes(&[0], true).shape(), &[1, 2]);
    assert_eq!(Tensor::<f64>::zeros(&[2, 0]).prod_axes(&[1], false).to_vec(), vec![1.0, 1.0]);
}

#[test]
fn max_and_min_along_an_axis_return_the_first_index_on_ties() {
    let x = Tensor::<f64>::from_vec(vec![3.0, 1.0, 3.0, 1.0], &[2, 2]).unwrap().t();
    let (v, i) = x.max_axis_with_indices(1, false);
    assert_eq!((v.to_vec(), i.into_raw_vec_and_offset().0), (vec![3.0, 1.0], vec![0, 0]));
    let (v, i) = x.min_axis_with_indices(0, true);
    assert_eq!((v.shape().to_vec(), i.shape().to_vec()), (vec![1, 2], vec![1, 2]));
    assert_eq!((v.to_vec(), i.into_raw_vec_and_offset().0), (vec![1.0, 1.0], vec![1, 1]));
}
