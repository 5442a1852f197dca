//! Tests of `rearrange`.

use super::*;

fn t(v: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn diagonal_offsets_and_axes_follow_pytorch() {
    // torch.arange(24.).reshape(2, 3, 4).diagonal(1, 1, 2) == [[1, 6, 11], [13, 18, 23]]
    let x = Tensor::<f64>::arange(0.0, 24.0, 1.0).reshape(&[2, 3, 4]).unwrap();
    assert_eq!(x.diagonal(1, 1, 2).to_vec(), vec![1.0, 6.0, 11.0, 13.0, 18.0, 23.0]);
    // diagonal(0, 2, 0): rows along axis 2, columns along axis 0, diagonal last: shape [3, 2].
    let d = x.diagonal(0, 2, 0);
    assert_eq!((d.shape().to_vec(), d.to_vec()), (vec![3, 2], vec![0.0, 13.0, 4.0, 17.0, 8.0, 21.0]));
    assert_eq!(x.diagonal(5, 1, 2).shape(), &[2, 0]);
    let e = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).diag_embed(-1);
    assert_eq!(e.shape(), &[2, 3, 3]);
    assert_eq!(e.to_vec()[3..8], [1.0, 0.0, 0.0, 0.0, 2.0]);
}

#[test]
fn tril_and_triu_zero_infinities_and_batch_over_leading_axes() {
    let x = t(&[1.0, f64::INFINITY, f64::NAN, 4.0, 5.0, 6.0, 7.0, 8.0], &[2, 2, 2]);
    assert_eq!(x.tril(0).to_vec()[..2], [1.0, 0.0]);
    assert_eq!(x.triu(0).to_vec()[4..], [5.0, 6.0, 0.0, 8.0]);
    assert_eq!(x.triu(3).to_vec(), vec![0.0; 8]);
}

#[test]
#[should_panic(expected = "diagonal: axes 1 and 1 are the same axis")]
fn diagonal_rejects_one_axis_twice() {
    t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).diagonal(0, 1, 1);
}

#[test]
#[should_panic(expected = "tril: needs at least 2 dims")]
fn tril_rejects_a_vector() {
    t(&[1.0], &[1]).tril(0);
}
