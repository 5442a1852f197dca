//! Tests of `sort`, and of `take_along_axis` by sorted indices.

use super::*;
use ndarray::{arr1, arr2};

fn t(v: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn sort_topk_and_take_along_axis_follow_pytorch() {
    let x = t(&[2.0, f64::NAN, -1.0, 2.0], &[4]);
    let (v, i) = x.sort(0, false);
    assert_eq!(i.into_raw_vec_and_offset().0, vec![2, 0, 3, 1]); // stable, NaN last
    assert!(v.to_vec()[3].is_nan());
    assert_eq!(x.argsort(0, true).into_raw_vec_and_offset().0, vec![1, 0, 3, 2]); // NaN first descending
    let (v, i) = t(&[1.0, 3.0, 2.0, 6.0, 5.0, 4.0], &[2, 3]).topk(2, 1, true);
    assert_eq!((v.to_vec(), i.into_raw_vec_and_offset().0), (vec![3.0, 2.0, 6.0, 5.0], vec![1, 2, 0, 1]));
    let y = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).take_along_axis(&arr2(&[[2], [0]]).into_dyn(), 1);
    assert_eq!((y.shape().to_vec(), y.to_vec()), (vec![2, 1], vec![3.0, 4.0]));
    let column = t(&[1.0, 2.0], &[2, 1]).take_along_axis(&arr2(&[[0, 0, 0]]).into_dyn(), 1);
    assert_eq!(column.shape(), &[2, 3]);
    assert_eq!(
        t(&[1.0, 2.0], &[2]).take_along_axis(&arr1(&[1, 1, 0]).into_dyn(), 0).to_vec(),
        vec![2.0, 2.0, 1.0]
    );
}

#[test]
#[should_panic(expected = "topk: k = 4 exceeds the length 3")]
fn topk_rejects_k_past_the_axis() {
    t(&[1.0, 2.0, 3.0], &[3]).topk(4, 0, true);
}
