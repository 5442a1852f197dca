//! Tests of `rearrange`: every op on contiguous and permuted (non-contiguous) inputs of random
//! shapes, checked against finite differences to the second order, and their PyTorch options.

use proptest::prelude::*;
use wengert_tensor::Tensor;
use wengert_tensor::ndarray::{ArrayD, IxDyn, arr2};

use crate::check::strategy;
use crate::ops::cases::{Case, case, gradchecks, prop};
use crate::tape::Tape;

/// A tensor of 2 or 3 dims (each 1 to 3), permuted (non-contiguous) or not.
fn matrices() -> impl Strategy<Value = Tensor<f64>> {
    (strategy::shape_in(2..=3, 1..=3), any::<bool>())
        .prop_flat_map(|(s, p)| (strategy::distinct(&s, -2.0..2.0, 0.05), Just(p)))
        .prop_map(|(x, p)| if p { x.permute(&(0..x.ndim()).rev().collect::<Vec<_>>()) } else { x })
}

/// Index arrays for `x` along `axis`, drawn from `seed`.
fn index_for(shape: &[usize], axis: usize, seed: u64) -> ArrayD<usize> {
    let n = shape[axis];
    let mut s = seed;
    ArrayD::from_shape_fn(IxDyn(shape), |_| {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 33) as usize % n
    })
}

/// Every case of the family, on one drawn tensor `x` (values distinct, so sorting is smooth), an
/// axis, a shift, an offset and a seed for indices and masks.
fn all((x, axis, shift, k, seed): (Tensor<f64>, usize, isize, isize, u64)) -> Vec<Case> {
    let xs = std::slice::from_ref(&x);
    let shape = x.shape().to_vec();
    let n = shape[axis];
    let (size, step) = (1 + seed as usize % n, 1 + (seed as usize / 7) % 2);
    let index = index_for(&shape, axis, seed);
    let mask =
        Tensor::from_vec((0..x.len()).map(|i| ((seed >> (i % 60)) & 1) as f64).collect(), &shape).unwrap();
    let src = Tensor::from_vec((0..x.len()).map(|i| (i as f64 * 0.37).sin()).collect(), &shape).unwrap();
    let (i1, i2, i3) = (index.clone(), index.clone(), index);
    // Positions in the first two axes for index_put, with a repeat when there are enough of them.
    let count = 1 + seed as usize % 3;
    let put: Vec<Vec<usize>> =
        (0..2).map(|a| (0..count).map(|p| (seed as usize / (a + 2) + p) % shape[a]).collect()).collect();
    let put_shape: Vec<usize> = std::iter::once(count).chain(shape[2..].iter().copied()).collect();
    let put_values = Tensor::from_vec(
        (0..put_shape.iter().product::<usize>()).map(|i| (i as f64 * 0.71).cos()).collect(),
        &put_shape,
    )
    .unwrap();
    let put2 = put.clone();
    let other = (axis + 1) % shape.len();
    vec![
        case("flip", xs, move |v| v[0].flip(&[axis]).square()),
        case("roll", xs, move |v| v[0].roll(&[shift, -1], &[axis, other]).square()),
        case("tril", xs, move |v| v[0].tril(k).square()),
        case("triu", xs, move |v| v[0].triu(k) * v[0]),
        case("diagonal", xs, move |v| v[0].diagonal(k, axis, other).square()),
        case("diag_embed", xs, move |v| v[0].diag_embed(k).square()),
        case("unfold", xs, move |v| v[0].unfold(axis, size, step).square()),
        case("masked_fill", xs, move |v| v[0].masked_fill(&mask, 0.5).square()),
        case("take_along_axis", xs, move |v| v[0].take_along_axis(&i1, axis).square()),
        case("scatter", &[x.clone(), src], move |v| v[0].scatter(axis, &i2, v[1]).square() * v[0]),
        case("index_put written", &[x.clone(), put_values.clone()], move |v| {
            let ix: Vec<&[usize]> = put.iter().map(|p| p.as_slice()).collect();
            v[0].index_put(&ix, v[1], false).square() * v[0]
        }),
        case("index_put added", &[x.clone(), put_values], move |v| {
            let ix: Vec<&[usize]> = put2.iter().map(|p| p.as_slice()).collect();
            v[0].index_put(&ix, v[1], true).square()
        }),
        case("gather by the index", xs, move |v| v[0].gather(axis, &i3).square()),
        case("sort", xs, move |v| v[0].sort(axis, seed % 2 == 0).0.square()),
        case("topk", xs, move |v| v[0].topk(1 + seed as usize % n, axis, seed % 3 == 0).0.square()),
    ]
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    matrices()
        .prop_flat_map(|x| {
            let nd = x.ndim();
            (Just(x), 0..nd, -3isize..4, -2isize..3, any::<u64>())
        })
        .prop_map(all)
}

#[test]
fn rearrange_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

fn t(v: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn var_values_match_the_tensor_ops() {
    let x = t(&[0.5, -1.0, 2.0, 0.0, 1.5, -0.5], &[2, 3]).t();
    let tape = Tape::<f64>::new();
    let v = tape.var(x.clone());
    assert_eq!(v.flip(&[0, 1]).value().to_vec(), x.flip(&[0, 1]).to_vec());
    assert_eq!(v.roll(&[1, -2], &[0, 1]).value().to_vec(), x.roll(&[1, -2], &[0, 1]).to_vec());
    assert_eq!(v.diagonal(-1, 1, 0).value().to_vec(), x.diagonal(-1, 1, 0).to_vec());
    assert_eq!(v.diag_embed(2).value().to_vec(), x.diag_embed(2).to_vec());
    assert_eq!(v.unfold(0, 2, 1).value().to_vec(), x.unfold(0, 2, 1).to_vec());
    assert_eq!(v.unfold(0, 2, 1).value().shape(), &[2, 2, 2]);
    assert_eq!(v.tril(0).value().to_vec(), x.tril(0).to_vec());
    assert_eq!(v.triu(-1).value().to_vec(), x.triu(-1).to_vec());
    assert_eq!(v.sort(0, true).0.value().to_vec(), x.sort(0, true).0.to_vec());
    assert_eq!(v.topk(2, 1, false).0.value().to_vec(), x.topk(2, 1, false).0.to_vec());
}

#[test]
fn roll_and_flip_route_gradients_back() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let w = tape.constant(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let g = (x.roll(&[1], &[1]) * w).sum().backward()[x].to_vec();
    assert_eq!(g, vec![2.0, 3.0, 1.0, 5.0, 6.0, 4.0]);
    let g = (x.flip(&[0]) * w).sum().backward()[x].to_vec();
    assert_eq!(g, vec![4.0, 5.0, 6.0, 1.0, 2.0, 3.0]);
}

#[test]
fn scatter_overwrites_with_the_last_write_and_its_gradient() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]));
    let src = tape.var(t(&[10.0, 20.0, 30.0, 40.0], &[2, 2]));
    // Both rows of src write row 1 of column 0: the last (30) wins.
    let y = x.scatter(0, &arr2(&[[1, 0], [1, 1]]).into_dyn(), src);
    assert_eq!(y.value().to_vec(), vec![1.0, 20.0, 30.0, 40.0]);
    let grads = y.sum().backward();
    assert_eq!(grads[x].to_vec(), vec![1.0, 0.0, 0.0, 0.0]);
    assert_eq!(grads[src].to_vec(), vec![0.0, 1.0, 1.0, 1.0]);
}

#[test]
fn index_put_writes_or_adds_values_and_routes_their_gradients() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]));
    let v = tape.var(t(&[10.0, 20.0], &[1, 2]));
    // Rows 2 and 0 (then 2 again) take the one row of values, broadcast over the positions.
    let written = x.index_put(&[&[2, 0, 2]], v, false);
    assert_eq!(written.value().to_vec(), vec![10.0, 20.0, 3.0, 4.0, 10.0, 20.0]);
    let w = tape.constant(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]));
    let grads = (written * w).sum().backward();
    assert_eq!(grads[x].to_vec(), vec![0.0, 0.0, 3.0, 4.0, 0.0, 0.0]);
    // Each broadcast value reaches every place it was written: rows 0 and 2 (its last write).
    assert_eq!(grads[v].to_vec(), vec![6.0, 8.0]);
    let added = x.index_put(&[&[2, 0, 2]], v, true);
    assert_eq!(added.value().to_vec(), vec![11.0, 22.0, 3.0, 4.0, 25.0, 46.0]);
    let grads = (added * w).sum().backward();
    assert_eq!(grads[x].to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(grads[v].to_vec(), vec![1.0 + 5.0 + 5.0, 2.0 + 6.0 + 6.0]);
    assert_eq!(added.value().to_vec(), x.value().index_put(&[&[2, 0, 2]], &v.value(), true).to_vec());
}

#[test]
#[should_panic(expected = "index_put: index 3 is out of range for axis 1 of shape [3, 2]")]
fn index_put_names_an_index_out_of_range() {
    Tensor::<f64>::zeros(&[3, 2]).index_put(&[&[0], &[3]], &Tensor::scalar(1.0), false);
}

#[test]
#[should_panic(expected = "index_put: values of shape [3] do not broadcast to [2, 2]")]
fn index_put_names_values_that_do_not_fit() {
    Tensor::<f64>::zeros(&[3, 2]).index_put(&[&[0, 1]], &Tensor::zeros(&[3]), false);
}

#[test]
#[should_panic(expected = "unfold: size 4 and step 1 do not fit an axis of 3")]
fn unfold_rejects_a_window_longer_than_the_axis() {
    let tape = Tape::<f64>::new();
    tape.var(t(&[1.0, 2.0, 3.0], &[3])).unfold(0, 4, 1);
}
