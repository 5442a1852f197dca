//! Tests of the index ops: PyTorch's semantics, the errors, and the row fast path against the general one.

use super::*;
use ndarray::{arr1, arr2, arr3};
use proptest::prelude::*;

fn seq(shape: &[usize]) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| i as f64).collect(), shape).unwrap()
}

#[test]
#[should_panic(expected = "one_hot: shape [3, 18446744073709551615] has too many elements to index")]
fn one_hot_names_a_shape_too_large_to_index() {
    Tensor::<f32>::one_hot(&[0, 1, 2], usize::MAX);
}

#[test]
fn index_select_picks_entries_in_order() {
    let a = seq(&[2, 3]);
    assert_eq!(a.index_select(1, &[2, 0]).to_vec(), vec![2.0, 0.0, 5.0, 3.0]);
    assert_eq!(a.t().index_select(0, &[1]).to_vec(), vec![1.0, 4.0]);
    assert_eq!(a.index_select(0, &[]).shape(), &[0, 3]);
}

#[test]
#[should_panic(
    expected = "index_select: index 3 at position 1 is out of range for axis 1 of length 3 in shape"
)]
fn index_select_rejects_a_far_index() {
    seq(&[2, 3]).index_select(1, &[0, 3]);
}

#[test]
fn gather_follows_pytorch() {
    // torch.gather(torch.tensor([[0., 1, 2], [3, 4, 5]]), 0, torch.tensor([[1, 0, 1]])) = [[3, 1, 5]]
    let a = seq(&[2, 3]);
    assert_eq!(a.gather(0, &arr2(&[[1, 0, 1]]).into_dyn()).to_vec(), vec![3.0, 1.0, 5.0]);
    let g = a.gather(1, &arr2(&[[2, 2], [0, 1]]).into_dyn());
    assert_eq!(g.shape(), &[2, 2]);
    assert_eq!(g.to_vec(), vec![2.0, 2.0, 3.0, 4.0]);
    // A transposed view gathers in logical order.
    assert_eq!(a.t().gather(1, &arr2(&[[1], [0], [1]]).into_dyn()).to_vec(), vec![3.0, 1.0, 5.0]);
    let b = seq(&[2, 2, 2]);
    let g = b.gather(2, &arr3(&[[[1], [0]], [[0], [0]]]).into_dyn());
    assert_eq!(g.to_vec(), vec![1.0, 2.0, 4.0, 6.0]);
}

#[test]
#[should_panic(expected = "gather: index 2 at [1, 0] is out of range for axis 0 of length 2 in shape [2, 3]")]
fn gather_rejects_a_far_index() {
    seq(&[2, 3]).gather(0, &arr2(&[[0], [2]]).into_dyn());
}

#[test]
#[should_panic(expected = "gather: index of shape [1, 4] exceeds shape [2, 3] on axis 1")]
fn gather_rejects_a_wide_index() {
    seq(&[2, 3]).gather(0, &arr2(&[[0, 0, 0, 0]]).into_dyn());
}

#[test]
#[should_panic(expected = "gather: index of shape [2] must have as many dims as shape [2, 3]")]
fn gather_rejects_an_index_of_other_rank() {
    seq(&[2, 3]).gather(0, &arr1(&[0, 1]).into_dyn());
}

#[test]
fn scatter_add_accumulates_repeats() {
    let x = Tensor::<f64>::ones(&[2, 3]);
    let src = seq(&[2, 2]);
    let out = x.scatter_add(1, &arr2(&[[2, 2], [0, 1]]).into_dyn(), &src);
    assert_eq!(out.to_vec(), vec![1.0, 1.0, 2.0, 3.0, 4.0, 1.0]);
    // Only the part of src that index covers is used.
    let out = Tensor::<f64>::zeros(&[3]).scatter_add(0, &arr1(&[1]).into_dyn(), &seq(&[3]));
    assert_eq!(out.to_vec(), vec![0.0, 0.0, 0.0]);
    assert_eq!(x.to_vec(), vec![1.0; 6]);
}

#[test]
#[should_panic(expected = "scatter_add: index of shape [1, 2] exceeds src of shape [1, 1]")]
fn scatter_add_rejects_a_small_src() {
    seq(&[2, 3]).scatter_add(0, &arr2(&[[0, 1]]).into_dyn(), &seq(&[1, 1]));
}

#[test]
#[should_panic(expected = "scatter_add: index 5 at [0] is out of range for axis 0 of length 3 in shape [3]")]
fn scatter_add_rejects_a_far_index() {
    seq(&[3]).scatter_add(0, &arr1(&[5]).into_dyn(), &seq(&[1]));
}

#[test]
fn one_hot_marks_one_column_per_row() {
    let y = Tensor::<f64>::one_hot(&[1, 0, 1], 2);
    assert_eq!(y.shape(), &[3, 2]);
    assert_eq!(y.to_vec(), vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
    assert_eq!(Tensor::<f32>::one_hot(&[], 4).shape(), &[0, 4]);
}

#[test]
#[should_panic(expected = "one_hot: index 3 at position 1 is out of range for 3 classes")]
fn one_hot_rejects_a_far_class() {
    Tensor::<f32>::one_hot(&[0, 3], 3);
}

proptest! {
    /// <gather(x, i), g> = <x, scatter_add(0, i, g)>: scatter_add is the adjoint of gather.
    #[test]
    fn scatter_add_is_the_adjoint_of_gather(
        (rows, cols, axis, picks) in (1usize..4, 1usize..4, 0usize..2).prop_flat_map(|(r, c, axis)| {
            let d = if axis == 0 { r } else { c };
            (Just(r), Just(c), Just(axis), proptest::collection::vec(0..d, r * c))
        })
    ) {
        let x = seq(&[rows, cols]);
        let index = ArrayD::from_shape_vec(ndarray::IxDyn(&[rows, cols]), picks).unwrap();
        let g: Vec<f64> = (0..rows * cols).map(|v| v as f64 * 0.5 + 1.0).collect();
        let g = Tensor::from_vec(g, &[rows, cols]).unwrap();
        let y = x.gather(axis, &index);
        let s = Tensor::<f64>::zeros(&[rows, cols]).scatter_add(axis, &index, &g);
        let lhs: f64 = y.to_vec().iter().zip(g.to_vec()).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.to_vec().iter().zip(s.to_vec()).map(|(a, b)| a * b).sum();
        prop_assert!((lhs - rhs).abs() < 1e-9, "{} vs {}", lhs, rhs);
    }
}

/// `index` with the same logical values in column-major layout, which the row fast path leaves to
/// the general path.
fn column_major(index: &ArrayD<usize>) -> ArrayD<usize> {
    let f = index.t().as_standard_layout().into_owned().reversed_axes();
    assert!(index.ndim() < 2 || !f.is_standard_layout(), "{:?} stays row-major", index.shape());
    f
}

/// A tensor of `shape` with distinct, uneven values.
fn uneven(shape: &[usize], phase: f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| ((i as f64 + phase) * 0.713).sin()).collect(), shape).unwrap()
}

/// gather, scatter_add and scatter by `index` along the last axis, through the row fast path and
/// the general one, bit for bit.
fn fast_and_general_paths_agree(lead: &[usize], len: usize, index: ArrayD<usize>) {
    let axis = lead.len();
    let shape: Vec<usize> = lead.iter().copied().chain([len]).collect();
    let x = uneven(&shape, 0.0);
    let mut src_shape = index.shape().to_vec();
    src_shape[axis] += 1; // a src wider than the index: only its first columns are used
    let src = uneven(&src_shape, 3.0);
    let general = column_major(&index);
    assert_eq!(x.gather(axis, &index).to_vec(), x.gather(axis, &general).to_vec());
    assert_eq!(x.scatter_add(axis, &index, &src).to_vec(), x.scatter_add(axis, &general, &src).to_vec());
    assert_eq!(x.scatter(axis, &index, &src).to_vec(), x.scatter(axis, &general, &src).to_vec());
}

proptest! {
    #[test]
    fn last_axis_fast_path_matches_the_general_path(
        (lead, len, width, picks) in (proptest::collection::vec(2usize..4, 1..3), 1usize..6, 2usize..8)
            .prop_flat_map(|(lead, len, width)| {
                let n = lead.iter().product::<usize>() * width;
                (Just(lead), Just(len), Just(width), proptest::collection::vec(0..len, n))
            })
    ) {
        let ishape: Vec<usize> = lead.iter().copied().chain([width]).collect();
        let index = ArrayD::from_shape_vec(ndarray::IxDyn(&ishape), picks).unwrap();
        fast_and_general_paths_agree(&lead, len, index);
    }
}

#[test]
fn scatter_add_on_the_fast_path_adds_repeats_in_index_order() {
    // Every index of a row names the same position: the sum runs in the index's order.
    let index = ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 3]), vec![1, 1, 1, 0, 0, 0]).unwrap();
    let src = Tensor::<f64>::from_vec(vec![1e16, 1.0, -1e16, 1.0, 2.0, 3.0], &[2, 3]).unwrap();
    let out = Tensor::<f64>::zeros(&[2, 2]).scatter_add(1, &index, &src);
    assert_eq!(out.to_vec(), vec![0.0, ((0.0 + 1e16) + 1.0) - 1e16, 6.0, 0.0]);
    fast_and_general_paths_agree(&[2], 2, index);
}

#[test]
fn index_ops_on_the_fast_path_do_not_depend_on_the_pool() {
    // Above the parallel threshold, with a row count that is not a multiple of a task's rows.
    let (lead, len, width) = ([3, 7, 331], 12, 9);
    let picks: Vec<usize> = (0..3 * 7 * 331 * width).map(|i| (i * 7 + i / 5) % len).collect();
    let index = ArrayD::from_shape_vec(ndarray::IxDyn(&[3, 7, 331, width]), picks).unwrap();
    let x = uneven(&[3, 7, 331, len], 0.0).cast::<f32>();
    let src = uneven(&[3, 7, 331, width], 1.0).cast::<f32>();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            [x.gather(3, &index), x.scatter_add(3, &index, &src), x.scatter(3, &index, &src)]
                .map(|t| t.to_vec())
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
    fast_and_general_paths_agree(&lead, len, index);
}

#[test]
#[should_panic(
    expected = "scatter_add: index 4 at [1, 2] is out of range for axis 1 of length 4 in shape [2, 4]"
)]
fn scatter_add_on_the_fast_path_names_a_far_index_where_it_is() {
    let index = ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 3]), vec![0, 1, 2, 3, 0, 4]).unwrap();
    seq(&[2, 4]).scatter_add(1, &index, &seq(&[2, 3]));
}

#[test]
#[should_panic(expected = "gather: index 4 at [1, 2] is out of range for axis 1 of length 4 in shape [2, 4]")]
fn gather_by_a_column_major_index_names_a_far_index_where_it_is() {
    let index = ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 3]), vec![0, 1, 2, 3, 0, 4]).unwrap();
    seq(&[2, 4]).gather(1, &column_major(&index));
}
