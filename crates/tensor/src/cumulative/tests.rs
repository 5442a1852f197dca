use super::*;

fn t(v: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn cumulative_ops_run_along_the_given_axis_of_strided_views() {
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).t();
    assert_eq!(x.cumsum(0).to_vec(), vec![1.0, 4.0, 3.0, 9.0, 6.0, 15.0]);
    assert_eq!(x.cumprod(1).to_vec(), vec![1.0, 4.0, 2.0, 10.0, 3.0, 18.0]);
    let l = x.logcumsumexp(0).to_vec();
    let want = [1.0, 4.0, (1f64.exp() + 2f64.exp()).ln(), (4f64.exp() + 5f64.exp()).ln()];
    for (a, b) in l.iter().zip(want) {
        assert!((a - b).abs() < 1e-12, "{l:?}");
    }
}

#[test]
fn logcumsumexp_handles_minus_infinity_and_large_values() {
    let x = t(&[f64::NEG_INFINITY, 0.0, f64::NEG_INFINITY, 1e300], &[4]);
    assert_eq!(x.logcumsumexp(0).to_vec(), vec![f64::NEG_INFINITY, 0.0, 0.0, 1e300]);
}

#[test]
fn vector_norm_matches_each_order() {
    let x = t(&[1.0, -2.0, 0.0, 2.0], &[2, 2]);
    assert_eq!(x.vector_norm(1.0, &[1], false).to_vec(), vec![3.0, 2.0]);
    assert_eq!(x.vector_norm(f64::INFINITY, &[0, 1], false).item(), 2.0);
    assert_eq!(x.vector_norm(f64::NEG_INFINITY, &[1], true).to_vec(), vec![1.0, 0.0]);
    assert!((x.vector_norm(3.0, &[0, 1], false).item() - 17f64.cbrt()).abs() < 1e-12);
    assert!((x.vector_norm(0.5, &[1], false).to_vec()[1] - 2.0).abs() < 1e-12);
}

#[test]
#[should_panic(expected = "vector_norm: ord -1 is not supported")]
fn vector_norm_rejects_a_negative_order() {
    t(&[1.0], &[1]).vector_norm(-1.0, &[0], false);
}

#[test]
#[should_panic(expected = "cumsum")]
fn cumsum_rejects_an_axis_out_of_range() {
    t(&[1.0], &[1]).cumsum(1);
}
