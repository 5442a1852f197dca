//! Tests of `matmul`.

use ndarray::{ArcArray, Array2, ArrayD, Slice, array, s};
use proptest::prelude::*;

use super::*;

mod bits;

fn tensor<F: Float>(values: &[f64], shape: &[usize]) -> Tensor<F> {
    Tensor::from_vec(values.iter().map(|&x| F::from_f64(x)).collect(), shape).unwrap()
}

/// 0, 1, 2, ... in a tensor of `shape`: small integers, so every product is exact in f32 and f64.
fn iota<F: Float>(shape: &[usize]) -> Tensor<F> {
    let len: usize = shape.iter().product();
    tensor(&(0..len).map(|i| (i % 13) as f64 - 6.0).collect::<Vec<_>>(), shape)
}

fn as_f64<F: Float>(t: &Tensor<F>) -> Vec<f64> {
    t.to_vec().into_iter().map(Float::to_f64).collect()
}

/// NumPy's matmul written out: promote 1-D operands, broadcast the batch axes, triple loop.
fn naive<F: Float>(a: &Tensor<F>, b: &Tensor<F>) -> (Vec<usize>, Vec<f64>) {
    let av = if a.ndim() == 1 { a.data.view().insert_axis(Axis(0)) } else { a.data.view() };
    let bv = if b.ndim() == 1 { b.data.view().insert_axis(Axis(1)) } else { b.data.view() };
    let (m, k) = (av.shape()[av.ndim() - 2], av.shape()[av.ndim() - 1]);
    let n = bv.shape()[bv.ndim() - 1];
    let batch =
        broadcast_shapes("naive", &av.shape()[..av.ndim() - 2], &bv.shape()[..bv.ndim() - 2]).unwrap();
    let with = |rows, cols| [batch.clone(), vec![rows, cols]].concat();
    let (ab, bb) = (av.broadcast(with(m, k)).unwrap(), bv.broadcast(with(k, n)).unwrap());
    let mut out = Vec::new();
    for idx in ndarray::indices(IxDyn(&batch)) {
        let at = |i, j| [idx.slice(), &[i, j][..]].concat();
        for i in 0..m {
            for j in 0..n {
                out.push(
                    (0..k)
                        .map(|p| Float::to_f64(ab[IxDyn(&at(i, p))]) * Float::to_f64(bb[IxDyn(&at(p, j))]))
                        .sum(),
                );
            }
        }
    }
    let mut shape = batch;
    if a.ndim() > 1 {
        shape.push(m);
    }
    if b.ndim() > 1 {
        shape.push(n);
    }
    (shape, out)
}

fn zeros<F: Float>(shape: &[usize]) -> Tensor<F> {
    Tensor::from_array(ArrayD::zeros(IxDyn(shape)))
}

/// Equal shapes and elements (written out: `Tensor`'s `Debug` lives elsewhere).
#[track_caller]
fn same<F: Float>(a: &Tensor<F>, b: &Tensor<F>) {
    assert_eq!((a.shape(), a.to_vec()), (b.shape(), b.to_vec()));
}

fn view2<F: Float>(t: &Tensor<F>) -> ArrayView2<'_, F> {
    t.data.view().into_dimensionality::<Ix2>().unwrap()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "element {i}: got {g}, want {w}");
    }
}

fn hand_checked_products<F: Float>() {
    let v = tensor::<F>(&[1.0, 2.0, 3.0], &[3]);
    let w = tensor::<F>(&[4.0, 5.0, 6.0], &[3]);
    let vw = v.matmul(&w);
    assert_eq!((vw.shape(), as_f64(&vw)), (&[][..], vec![32.0]));

    let row = tensor::<F>(&[1.0, 2.0], &[2]);
    let m23 = tensor::<F>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let rm = row.matmul(&m23);
    assert_eq!((rm.shape(), as_f64(&rm)), (&[3][..], vec![9.0, 12.0, 15.0]));

    let col = tensor::<F>(&[1.0, 0.0, -1.0], &[3]);
    let mc = m23.matmul(&col);
    assert_eq!((mc.shape(), as_f64(&mc)), (&[2][..], vec![-2.0, -2.0]));

    let p = tensor::<F>(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let q = tensor::<F>(&[5.0, 6.0, 7.0, 8.0], &[2, 2]);
    let pq = p.matmul(&q);
    assert_eq!((pq.shape(), as_f64(&pq)), (&[2, 2][..], vec![19.0, 22.0, 43.0, 50.0]));

    let batched = tensor::<F>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &[2, 2, 2]);
    let diag = tensor::<F>(&[1.0, 0.0, 0.0, 2.0], &[2, 2]);
    let bd = batched.matmul(&diag);
    assert_eq!((bd.shape(), as_f64(&bd)), (&[2, 2, 2][..], vec![1.0, 4.0, 3.0, 8.0, 5.0, 12.0, 7.0, 16.0]));
    let db = diag.matmul(&batched);
    assert_eq!(as_f64(&db), vec![1.0, 2.0, 6.0, 8.0, 5.0, 6.0, 14.0, 16.0]);

    // a[i, 0] is (i + 1) everywhere and b[j] is j everywhere, so out[i, j] is 4 (i + 1) j everywhere.
    let a: Vec<f64> = (0..2).flat_map(|i| vec![(i + 1) as f64; 12]).collect();
    let b: Vec<f64> = (0..5).flat_map(|j| vec![j as f64; 8]).collect();
    let ab = tensor::<F>(&a, &[2, 1, 3, 4]).matmul(&tensor(&b, &[5, 4, 2]));
    let want: Vec<f64> =
        (0..2).flat_map(|i| (0..5).flat_map(move |j| vec![(4 * (i + 1) * j) as f64; 6])).collect();
    assert_eq!((ab.shape(), as_f64(&ab)), (&[2, 5, 3, 2][..], want));
}

#[test]
fn matmul_follows_numpy_for_every_rank_in_f32_and_f64() {
    hand_checked_products::<f32>();
    hand_checked_products::<f64>();
}

#[test]
fn broadcast_batches_match_the_naive_product() {
    for (sa, sb) in [
        (&[2, 1, 3, 4][..], &[5, 4, 2][..]),
        (&[3, 2, 4], &[3, 4, 5]),
        (&[1, 2, 4], &[3, 4, 5]),
        (&[4], &[2, 3, 4, 2]),
        (&[2, 3, 4, 2], &[2]),
        (&[2, 3, 4], &[4]),
        (&[6, 3], &[2, 3, 1]),
    ] {
        let (a, b) = (iota::<f64>(sa), iota::<f64>(sb));
        let (shape, want) = naive(&a, &b);
        let got = a.matmul(&b);
        assert_eq!(got.shape(), &shape[..], "{sa:?} x {sb:?}");
        assert_eq!(matmul_shape(sa, sb).unwrap(), shape);
        assert_eq!(as_f64(&got), want, "{sa:?} x {sb:?}");
    }
}

/// `x` with its last two axes swapped, sharing storage.
fn swapped<F: Float>(x: &Tensor<F>) -> Tensor<F> {
    let mut d = x.to_shared();
    let n = d.ndim();
    d.swap_axes(n - 2, n - 1);
    Tensor::from_shared(d)
}

#[test]
fn transposed_and_stepped_operands_match_contiguous_copies() {
    let a = iota::<f32>(&[7, 5]);
    let b = iota::<f32>(&[7, 4]);
    let at = swapped(&a);
    assert!(!at.data.is_standard_layout());
    same(&at.matmul(&b), &at.to_contiguous().matmul(&b));
    let bt = swapped(&iota::<f32>(&[4, 7]));
    same(&swapped(&a).matmul(&bt), &a.t_copy().matmul(&bt.to_contiguous()));
    assert_eq!(
        swapped(&a).matmul(&b).to_vec(),
        naive(&at, &b).1.iter().map(|&x| x as f32).collect::<Vec<_>>()
    );
    // g x w.t() and a.t() x g, as in a linear layer's backward pass.
    let (x, w, g) = (iota::<f64>(&[6, 9]), iota::<f64>(&[9, 4]), iota::<f64>(&[6, 4]));
    same(&g.matmul(&swapped(&w)), &g.matmul(&swapped(&w).to_contiguous()));
    same(&swapped(&x).matmul(&g), &swapped(&x).to_contiguous().matmul(&g));

    let mut stepped = iota::<f64>(&[9, 8]).to_shared();
    stepped.slice_collapse(s![..;2, ..;-3]);
    let stepped = Tensor::from_shared(stepped);
    assert_eq!(stepped.shape(), &[5, 3]);
    let c = iota::<f64>(&[3, 2]);
    same(&stepped.matmul(&c), &stepped.to_contiguous().matmul(&c));
    same(
        &swapped(&c).matmul(&swapped(&stepped)),
        &swapped(&c).to_contiguous().matmul(&swapped(&stepped).to_contiguous()),
    );

    let mut batch = iota::<f64>(&[4, 3, 6]).to_shared();
    batch.slice_collapse(s![..;-2, .., 1..;2]);
    let batch = Tensor::from_shared(batch);
    let d = iota::<f64>(&[2, 3, 2]);
    same(&batch.matmul(&swapped(&batch)), &batch.to_contiguous().matmul(&swapped(&batch).to_contiguous()));
    same(&swapped(&d).matmul(&batch), &swapped(&d).to_contiguous().matmul(&batch.to_contiguous()));
}

impl<F: Float> Tensor<F> {
    /// The transpose of a 2-D tensor as a contiguous copy (independent of `t` in shape_ops).
    fn t_copy(&self) -> Self {
        Tensor::from_array(self.data.t().as_standard_layout().into_owned())
    }
}

#[test]
fn zero_size_dimensions_give_empty_or_zero_results() {
    let cases: [(&[usize], &[usize], &[usize]); 7] = [
        (&[0, 3], &[3, 4], &[0, 4]),
        (&[2, 3], &[3, 0], &[2, 0]),
        (&[2, 0], &[0, 3], &[2, 3]),
        (&[0, 2, 3], &[3, 4], &[0, 2, 4]),
        (&[2, 2, 0], &[2, 0, 3], &[2, 2, 3]),
        (&[0], &[0], &[]),
        (&[0], &[0, 5], &[5]),
    ];
    for (sa, sb, want) in cases {
        let c = zeros::<f32>(sa).matmul(&zeros(sb));
        assert_eq!(c.shape(), want, "{sa:?} x {sb:?}");
        assert!(c.to_vec().iter().all(|&x| x == 0.0));
    }
    assert_eq!(zeros::<f64>(&[0]).dot(&zeros(&[0])).item(), 0.0);
    assert_eq!(zeros::<f64>(&[0]).outer(&zeros(&[3])).shape(), &[0, 3]);
}

#[test]
fn dot_and_outer_multiply_vectors() {
    let a = tensor::<f32>(&[1.0, 2.0, 3.0], &[3]);
    let b = tensor::<f32>(&[4.0, -5.0, 6.0], &[3]);
    assert_eq!(a.dot(&b).shape(), &[] as &[usize]);
    assert_eq!(a.dot(&b).item(), 12.0);
    let o = a.outer(&tensor(&[1.0, 10.0], &[2]));
    assert_eq!((o.shape(), o.to_vec()), (&[3, 2][..], vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0]));
    let mut stepped = iota::<f64>(&[7]).to_shared();
    stepped.slice_axis_inplace(Axis(0), Slice::new(0, None, -2));
    let stepped = Tensor::from_shared(stepped);
    assert_eq!(stepped.dot(&stepped).item(), stepped.to_vec().iter().map(|x| x * x).sum::<f64>());
    same(&stepped.outer(&stepped), &stepped.to_contiguous().outer(&stepped.to_contiguous()));
}

#[test]
fn matmul_into_overwrites_or_accumulates_in_any_layout() {
    let a = array![[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let b = array![[1.0f64, 0.0], [0.0, 1.0], [1.0, 1.0]];
    let ab = array![[4.0, 5.0], [10.0, 11.0]];
    let mut out = Array2::from_elem((2, 2), f64::NAN);
    matmul_into(a.view(), b.view(), out.view_mut(), false);
    assert_eq!(out, ab);
    matmul_into(a.view(), b.view(), out.view_mut(), true);
    assert_eq!(out, &ab * 2.0);
    // Into a transposed, strided window of a bigger buffer.
    let mut big = Array2::<f64>::ones((4, 4));
    matmul_into(b.t(), a.t(), big.slice_mut(s![..;2, 1..3]).reversed_axes(), true);
    assert_eq!(big.slice(s![..;2, 1..3]), &ab + 1.0);
    assert_eq!(big.slice(s![1..;2, ..]), Array2::ones((2, 4)));
    // Broadcast operands (stride 0) are read in place too.
    let row = array![1.0f64, 2.0, 3.0];
    let mut out = Array2::zeros((4, 2));
    matmul_into(row.broadcast((4, 3)).unwrap(), b.view(), out.view_mut(), false);
    assert_eq!(out, Array2::from_shape_fn((4, 2), |(_, j)| [4.0, 5.0][j]));
    let col = array![[2.0f64], [1.0], [0.0]];
    matmul_into(a.view(), col.broadcast((3, 2)).unwrap(), out.slice_mut(s![..2, ..]), false);
    assert_eq!(out.slice(s![..2, ..]), array![[4.0, 4.0], [13.0, 13.0]]);
    let mut empty = Array2::<f64>::from_elem((2, 2), 7.0);
    matmul_into(Array2::zeros((2, 0)).view(), Array2::zeros((0, 2)).view(), empty.view_mut(), false);
    assert_eq!(empty, Array2::zeros((2, 2)));
}

/// A fast naive product of 3-D operands, for the sizes that take the parallel paths.
fn naive3(a: &ArrayD<f64>, b: &ArrayD<f64>) -> Vec<f64> {
    let (nb, m, k, n) = (a.shape()[0], a.shape()[1], a.shape()[2], b.shape()[2]);
    let mut out = vec![0.0; nb * m * n];
    for z in 0..nb {
        for i in 0..m {
            for p in 0..k {
                let x = a[[z, i, p]];
                for j in 0..n {
                    out[(z * m + i) * n + j] += x * b[[z, p, j]];
                }
            }
        }
    }
    out
}

#[test]
fn parallel_paths_match_the_naive_product() {
    // One large product on the rayon pool, and many small ones run in parallel.
    for (nb, m, k, n) in [(1, 170, 160, 160), (64, 16, 32, 128), (5, 40, 1, 1)] {
        assert!(nb == 5 || m * n * k * nb >= MATMUL_PAR_THRESHOLD);
        let (a, b) = (iota::<f64>(&[nb, m, k]), swapped(&iota::<f64>(&[nb, n, k])));
        let want = naive3(&a.data.to_owned(), &b.data.to_owned());
        assert_eq!(a.matmul(&b).to_vec(), want);
    }
    // [.., m, k] x [k, n] multiplies as one [count·m, k] x [k, n] product when the rows of the left
    // operand are evenly spaced (here with k outermost in memory), and batch by batch otherwise.
    let w = iota::<f64>(&[128, 100]);
    let wide = w.data.broadcast((12, 128, 100)).unwrap().to_owned().into_dyn();
    let merged =
        Tensor::from_shared(iota::<f64>(&[128, 3, 4, 90]).to_shared().permuted_axes(vec![1, 2, 3, 0]));
    let unmerged = swapped(&iota::<f64>(&[3, 4, 128, 90]));
    for a in [iota::<f64>(&[3, 4, 90, 128]), merged, unmerged] {
        assert_eq!(a.shape(), &[3, 4, 90, 128]);
        let want = naive3(&a.data.to_shape((12, 90, 128)).unwrap().into_owned().into_dyn(), &wide);
        let got = a.matmul(&w);
        assert_eq!((got.shape(), got.to_vec()), (&[3, 4, 90, 100][..], want));
    }
}

#[test]
#[should_panic(expected = "matmul: [2, 3] x [4, 5]: inner dimensions 3 and 4 differ")]
fn matmul_rejects_mismatched_inner_dimensions() {
    zeros::<f32>(&[2, 3]).matmul(&zeros(&[4, 5]));
}

#[test]
#[should_panic(expected = "matmul: [] x [3]: a 0-d operand has no matrix dimension")]
fn matmul_rejects_scalars() {
    Tensor::<f32>::scalar(2.0).matmul(&zeros(&[3]));
}

#[test]
#[should_panic(expected = "matmul: [2, 2, 3] x [3, 3, 4]: batch dimensions [2] and [3] do not broadcast")]
fn matmul_rejects_batches_that_do_not_broadcast() {
    zeros::<f64>(&[2, 2, 3]).matmul(&zeros(&[3, 3, 4]));
}

#[test]
#[should_panic(expected = "dot: [3] x [4]: lengths 3 and 4 differ")]
fn dot_rejects_different_lengths() {
    zeros::<f32>(&[3]).dot(&zeros(&[4]));
}

#[test]
#[should_panic(expected = "dot: [2, 3] x [3]: both operands must be 1-D")]
fn dot_rejects_matrices() {
    zeros::<f32>(&[2, 3]).dot(&zeros(&[3]));
}

#[test]
#[should_panic(expected = "outer: [2, 2] x [3]: both operands must be 1-D")]
fn outer_rejects_matrices() {
    zeros::<f32>(&[2, 2]).outer(&zeros(&[3]));
}

#[test]
#[should_panic(expected = "matmul_into: [2, 3] x [3, 2]: output has shape [2, 3], not [2, 2]")]
fn matmul_into_rejects_a_wrong_output_shape() {
    matmul_into(
        Array2::<f32>::zeros((2, 3)).view(),
        Array2::zeros((3, 2)).view(),
        Array2::zeros((2, 3)).view_mut(),
        false,
    );
}

#[test]
#[should_panic(expected = "matmul_into: [2, 3] x [2, 2]: inner dimensions 3 and 2 differ")]
fn matmul_into_rejects_mismatched_inner_dimensions() {
    matmul_into(
        Array2::<f32>::zeros((2, 3)).view(),
        Array2::zeros((2, 2)).view(),
        Array2::zeros((2, 2)).view_mut(),
        false,
    );
}

#[test]
fn matmul_shape_reports_errors_without_panicking() {
    assert_eq!(matmul_shape(&[2, 1, 3, 4], &[5, 4, 2]).unwrap(), vec![2, 5, 3, 2]);
    assert_eq!(matmul_shape(&[3], &[2, 3, 4]).unwrap(), vec![2, 4]);
    assert_eq!(matmul_shape(&[2, 3, 4], &[4]).unwrap(), vec![2, 3]);
    assert!(matmul_shape(&[3], &[]).is_err());
    let err = matmul_shape(&[3], &[4]).unwrap_err();
    assert_eq!(err.to_string(), "matmul: [3] x [4]: inner dimensions 3 and 4 differ");
}

/// One operand of the property test: its logical shape, and how its storage is laid out.
#[derive(Debug, Clone)]
struct Layout {
    shape: Vec<usize>,
    transposed: bool,
    step: isize,
}

/// A tensor of `layout.shape` whose view is transposed in its last two axes and/or steps through a
/// bigger buffer (a negative step walks it backwards), filled from `seed`.
fn operand<F: Float>(layout: &Layout, seed: &mut u64) -> Tensor<F> {
    let mut store = layout.shape.clone();
    let nd = store.len();
    if layout.transposed && nd >= 2 {
        store.swap(nd - 2, nd - 1);
    }
    let last = nd - 1;
    let len = store[last];
    store[last] = len * layout.step.unsigned_abs();
    let mut data: ArcArray<F, IxDyn> = ArrayD::from_shape_fn(IxDyn(&store), |_| {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        F::from_f64((*seed % 2001) as f64 / 1000.0 - 1.0)
    })
    .into_shared();
    data.slice_axis_inplace(Axis(last), Slice::new(0, None, layout.step));
    if layout.transposed && nd >= 2 {
        data.swap_axes(nd - 2, nd - 1);
    }
    assert_eq!(data.shape(), &layout.shape[..]);
    Tensor::from_shared(data)
}

/// Pairs of operand layouts that multiply: matrix sizes 0..=4, up to 3 batch dims of sizes 1..=3 that
/// broadcast against each other (some set to 1, leading ones dropped), 1-D operands, transposed views
/// and views stepping through a bigger buffer.
fn layouts() -> impl Strategy<Value = (Layout, Layout)> {
    let sizes = (0usize..=4, 0usize..=4, 0usize..=4, proptest::collection::vec(1usize..=3, 0..=3));
    let side = (any::<[bool; 3]>(), 0usize..=3, any::<bool>(), any::<bool>(), 0usize..4);
    (sizes, side.clone(), side).prop_map(|((m, k, n, batch), a, b)| {
        let layout = |(ones, drop, vector, transposed, step): ([bool; 3], usize, bool, bool, usize),
                      matrix: [usize; 2]| {
            let first = drop.min(batch.len());
            let mut shape: Vec<usize> =
                (first..batch.len()).map(|i| if ones[i] { 1 } else { batch[i] }).collect();
            if vector && shape.is_empty() {
                shape.push(k);
            } else {
                shape.extend(matrix);
            }
            Layout { shape, transposed, step: [1, 2, -1, -2][step] }
        };
        (layout(a, [m, k]), layout(b, [k, n]))
    })
}

#[test]
#[should_panic(expected = "linear: [2, 3] x [4, 5]ᵀ: input width 3 and weight width 5 differ")]
fn linear_rejects_mismatched_widths() {
    iota::<f32>(&[2, 3]).linear(&iota(&[4, 5]), None);
}

#[test]
#[should_panic(expected = "linear: [2, 3] x [4, 3]ᵀ: the bias has shape [3], not [4]")]
fn linear_rejects_a_bias_of_the_wrong_length() {
    iota::<f32>(&[2, 3]).linear(&iota(&[4, 3]), Some(&iota(&[3])));
}

#[test]
#[should_panic(expected = "linear: [3] x [4, 3]ᵀ: the input and the weight must be 2-D")]
fn linear_rejects_a_one_dimensional_input() {
    iota::<f32>(&[3]).linear(&iota(&[4, 3]), None);
}

proptest! {
    #[test]
    fn matmul_matches_a_naive_triple_loop((la, lb) in layouts(), seed in 1u64..) {
        let mut s = seed;
        let (a, b) = (operand::<f64>(&la, &mut s), operand::<f64>(&lb, &mut s));
        let (shape, want) = naive(&a, &b);
        let got = a.matmul(&b);
        prop_assert_eq!(got.shape(), &shape[..]);
        assert_close(&as_f64(&got), &want, 1e-12);

        if a.ndim() == 2 && b.ndim() == 2 {
            // Into a NaN-filled buffer: every element is written, none is read.
            let mut out = Array2::from_elem((a.shape()[0], b.shape()[1]), f64::NAN);
            matmul_into(view2(&a), view2(&b), out.view_mut(), false);
            assert_close(&out.iter().copied().collect::<Vec<_>>(), &want, 1e-12);
            matmul_into(view2(&a), view2(&b), out.view_mut(), true);
            assert_close(&out.iter().map(|x| x / 2.0).collect::<Vec<_>>(), &want, 1e-12);

            // The fused affine map reads `b` as the transpose of a weight, in every layout.
            let n = b.shape()[1];
            let bias = iota::<f64>(&[n]);
            let with_bias: Vec<f64> = want.iter().enumerate().map(|(i, w)| w + as_f64(&bias)[i % n]).collect();
            assert_close(&as_f64(&a.linear(&b.t(), Some(&bias))), &with_bias, 1e-12);
            assert_close(&as_f64(&a.linear(&b.t(), None)), &want, 1e-12);
        }

        let mut s = seed;
        let (a, b) = (operand::<f32>(&la, &mut s), operand::<f32>(&lb, &mut s));
        let (_, want) = naive(&a, &b);
        assert_close(&as_f64(&a.matmul(&b)), &want, 1e-5);
    }
}
