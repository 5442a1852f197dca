//! Bit-identity of the ways a product runs: cut into halves or whole, on pools of 1, 2 and 3 threads.

use ndarray::{Array2, s};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::super::raw::{Dst, Threads, gemm_call};
use super::super::split::{Way, way};
use super::*;

/// Values whose products round (unlike `iota`'s small integers), so that a changed sum order shows.
fn random<F: Float>(shape: &[usize], seed: u64) -> Tensor<F> {
    Tensor::randn(shape, &mut StdRng::seed_from_u64(seed))
}

fn bits<F: Float>(x: &[F]) -> Vec<u64> {
    x.iter().map(|&v| Float::to_f64(v).to_bits()).collect()
}

/// Panics unless `got` and `want` hold the same bits, naming the first element that differs.
#[track_caller]
fn same_bits<F: Float>(got: &[F], want: &[F], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let (got, want) = (bits(got), bits(want));
    let differ = got.iter().zip(&want).filter(|(g, w)| g != w).count();
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        let (g, w) = (f64::from_bits(got[i]), f64::from_bits(want[i]));
        panic!("{what}: {differ} of {} elements differ, first [{i}]: {g} against {w}", got.len());
    }
}

/// Runs `f` on a fresh rayon pool of `threads` threads.
fn on_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
}

/// Shapes `m x k x n` that are cut, in rows or columns, with odd sizes, inner dimensions beyond gemm's
/// 512-wide blocks of `k` (so a part blocking `k` differently would show), parts of at most 64 x 64
/// with `k` up to 512, and W2's own.
const CUT: [(usize, usize, usize); 9] = [
    (128, 784, 40),
    (128, 512, 10),
    (10, 128, 512),
    (129, 1037, 25),
    (331, 3, 277),
    (100, 300, 12),
    (5, 1100, 301),
    (257, 513, 30),
    (97, 97, 97),
];

/// The cut product of `a` and `b` against one uncut single-threaded gemm call, as a fresh matrix, into
/// an initialized matrix (overwritten and accumulated) and into a transposed destination.
fn cut_matches_whole<F: Float>(a: ArrayView2<'_, F>, b: ArrayView2<'_, F>) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    assert!(matches!(way(m, n, k), Way::Rows(_) | Way::Cols(_)), "{m}x{k}x{n} is cut");
    let whole = gemm_call(a, b, Dst::Fresh, Threads::One).unwrap();
    let cut = gemm_call(a, b, Dst::Fresh, Threads::Pool).unwrap();
    same_bits(cut.as_slice().unwrap(), whole.as_slice().unwrap(), &format!("{m}x{k}x{n} fresh"));

    let start = Array2::from_shape_fn((m, n), |(i, j)| F::from_f64((i as f64 - j as f64) / 7.0));
    for accumulate in [false, true] {
        let (mut one, mut two) = (start.clone(), start.clone());
        gemm_call(a, b, Dst::Into(one.view_mut(), accumulate), Threads::One);
        gemm_call(a, b, Dst::Into(two.view_mut(), accumulate), Threads::Pool);
        same_bits(two.as_slice().unwrap(), one.as_slice().unwrap(), &format!("{m}x{k}x{n} {accumulate}"));
    }
    // A column-major destination, which gemm fills by multiplying the transposes.
    let (mut one, mut two) = (Array2::<F>::zeros((n, m)), Array2::<F>::zeros((n, m)));
    gemm_call(a, b, Dst::Into(one.view_mut().reversed_axes(), false), Threads::One);
    gemm_call(a, b, Dst::Into(two.view_mut().reversed_axes(), false), Threads::Pool);
    same_bits(two.as_slice().unwrap(), one.as_slice().unwrap(), &format!("{m}x{k}x{n} column-major"));
}

fn cut_products_match_one_call<F: Float>() {
    for (i, &(m, k, n)) in CUT.iter().enumerate() {
        let (a, b) = (random::<F>(&[m, k], i as u64), random::<F>(&[k, n], 100 + i as u64));
        cut_matches_whole(view2(&a), view2(&b));
        // Transposed operands (as a backward pass reads them) and operands stepping through a buffer.
        let (at, bt) = (random::<F>(&[k, m], i as u64), random::<F>(&[n, k], 100 + i as u64));
        cut_matches_whole(view2(&at).reversed_axes(), view2(&bt).reversed_axes());
        let wide = random::<F>(&[m, 2 * k], 200 + i as u64);
        cut_matches_whole(view2(&wide).slice_move(s![.., ..;-2]), view2(&b));
    }
}

#[test]
fn cut_products_match_one_gemm_call_bit_for_bit_in_f32_and_f64() {
    cut_products_match_one_call::<f32>();
    cut_products_match_one_call::<f64>();
}

/// Every product path of `Tensor::matmul` and `linear` on the given pool size, as bit patterns.
fn products<F: Float>(threads: usize) -> Vec<Vec<u64>> {
    on_pool(threads, || {
        let mut out = Vec::new();
        for (i, &(m, k, n)) in CUT.iter().enumerate() {
            let (a, b) = (random::<F>(&[m, k], i as u64), random::<F>(&[k, n], 50 + i as u64));
            out.push(bits(&a.matmul(&b).to_vec()));
            let (w, bias) = (random::<F>(&[n, k], 70 + i as u64), random::<F>(&[n], 90 + i as u64));
            out.push(bits(&a.linear(&w, Some(&bias)).to_vec()));
            out.push(bits(&a.linear(&w, None).to_vec()));
        }
        // Attention's batched products and their backward shapes, transposed operands included.
        let (q, kk) = (random::<F>(&[16, 4, 64, 32], 1), random::<F>(&[16, 4, 64, 32], 2));
        let scores = q.matmul(&swapped(&kk));
        out.push(bits(&scores.to_vec()));
        out.push(bits(&scores.matmul(&kk).to_vec()));
        out.push(bits(&swapped(&scores).matmul(&q).to_vec()));
        // Batches that broadcast, odd sizes, a few large ones, one merged into a single product.
        out.push(bits(&random::<F>(&[3, 1, 33, 70], 3).matmul(&random::<F>(&[5, 70, 41], 4)).to_vec()));
        out.push(bits(&random::<F>(&[2, 200, 170], 5).matmul(&random::<F>(&[2, 170, 150], 6)).to_vec()));
        out.push(bits(&random::<F>(&[6, 50, 300], 7).matmul(&random::<F>(&[300, 90], 8)).to_vec()));
        // Large enough for gemm's own threading.
        out.push(bits(&random::<F>(&[520, 515], 9).matmul(&random::<F>(&[515, 530], 10)).to_vec()));
        out
    })
}

fn products_agree_across_pool_sizes<F: Float>() {
    let one = products::<F>(1);
    for threads in [2, 3] {
        let many = products::<F>(threads);
        for (i, (x, y)) in one.iter().zip(&many).enumerate() {
            assert!(x == y, "product {i} differs between 1 and {threads} threads");
        }
    }
}

#[test]
fn products_are_bit_identical_on_1_2_and_3_threads_in_f32_and_f64() {
    products_agree_across_pool_sizes::<f32>();
    products_agree_across_pool_sizes::<f64>();
}

#[test]
fn batched_products_match_each_matrix_multiplied_alone() {
    // 64 products of 64 x 32 x 64 (chunked across threads), a batch that broadcasts the right operand,
    // and 5 products that do not fill the last chunk evenly.
    let cases: [(&[usize], &[usize]); 3] =
        [(&[16, 4, 64, 32], &[16, 4, 32, 64]), (&[3, 7, 20, 9], &[7, 9, 30]), (&[5, 40, 30], &[5, 30, 50])];
    for (i, (sa, sb)) in cases.into_iter().enumerate() {
        let (a, b) = (random::<f64>(sa, 10 + i as u64), random::<f64>(sb, 20 + i as u64));
        let got = on_pool(2, || a.matmul(&b));
        let b = Tensor::from_shared(
            b.to_shared()
                .broadcast(&[&sa[..sa.len() - 2], &sb[sb.len() - 2..]].concat()[..])
                .unwrap()
                .to_shared(),
        );
        let (m, n) = (sa[sa.len() - 2], sb[sb.len() - 1]);
        let count = a.len() / (m * sa[sa.len() - 1]);
        let (av, bv) = (a.view(), b.view());
        let av = av.to_shape((count, m, sa[sa.len() - 1])).unwrap();
        let bv = bv.to_shape((count, sb[sb.len() - 2], n)).unwrap();
        let mut want = Vec::new();
        for z in 0..count {
            let c = gemm_call(av.slice(s![z, .., ..]), bv.slice(s![z, .., ..]), Dst::Fresh, Threads::One);
            want.extend(c.unwrap());
        }
        same_bits(&got.to_vec(), &want, &format!("{sa:?} x {sb:?}"));
    }
}

#[test]
fn products_with_empty_or_unit_dimensions_are_exact_on_two_threads() {
    for (m, k, n) in [(0, 300, 500), (300, 0, 500), (300, 500, 0), (1, 2000, 300), (2000, 300, 1)] {
        let (a, b) = (iota::<f64>(&[m, k]), iota::<f64>(&[k, n]));
        let got = on_pool(2, || a.matmul(&b));
        assert_eq!(got.shape(), &[m, n]);
        let (_, want) = naive(&a, &b);
        assert_eq!(as_f64(&got), want, "{m}x{k}x{n}");
    }
}
