//! Matmul throughput: `Tensor::matmul` against the bare `gemm::gemm` call on the same buffers, f32 and f64.
//!
//! `cargo bench -p wengert-benches --bench matmul` runs the criterion groups (throughput in elements =
//! 2n³ flops), then prints a table of median GFLOP/s measured in interleaved runs, and the shapes of a
//! small MLP's forward and backward pass (with transposed operands), each through `Tensor::matmul` and
//! the bare kernel on one thread and on the rayon pool, and the transformer's attention products (64
//! small products per call) beside bare gemm calls in a loop and one per rayon task.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gemm::Parallelism;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use wengert::tensor::ndarray::{ArrayView2, Axis, Ix2};
use wengert::tensor::{Float, Tensor};

const SIZES: [usize; 3] = [256, 512, 1024];

/// A row-major `rows x cols` matrix of uniform values in [-1, 1).
fn matrix<F: Float>(rows: usize, cols: usize, rng: &mut StdRng) -> Tensor<F> {
    let values = (0..rows * cols).map(|_| F::from_f64(rng.random::<f64>() * 2.0 - 1.0)).collect();
    Tensor::from_vec(values, &[rows, cols]).expect("rows * cols values")
}

/// The transpose of a 2-D tensor as a view of the same buffer (what `t()` gives), for backward shapes.
fn transposed<F: Float>(x: &Tensor<F>) -> Tensor<F> {
    Tensor::from_shared(x.to_shared().reversed_axes())
}

/// The bare kernel: `c = a·b` for an `m x k` and a `k x n` operand into a row-major `m x n` buffer.
fn bare<F: Float>(a: &Tensor<F>, b: &Tensor<F>, c: &mut [F], parallelism: Parallelism) {
    let (a, b) = (a.view().into_dimensionality().unwrap(), b.view().into_dimensionality().unwrap());
    bare_views(a, b, c, parallelism);
}

/// [`bare`] on 2-D views of any strides, read in place through their pointers and strides.
#[allow(unsafe_code)]
fn bare_views<F: Float>(a: ArrayView2<F>, b: ArrayView2<F>, c: &mut [F], parallelism: Parallelism) {
    let ((m, k), n) = (a.dim(), b.ncols());
    assert!(b.nrows() == k && c.len() == m * n, "operands and buffer checked before the call");
    let (sa, sb) = (a.strides(), b.strides());
    // SAFETY: `a` is m x k and `b` is k x n, read through their own views' pointers and strides, and `c`
    // is a distinct, exclusively borrowed row-major m x n buffer; gemm does not read `c` (read_dst false).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            sa[1],
            sa[0],
            b.as_ptr(),
            sb[1],
            sb[0],
            F::zero(),
            F::one(),
            false,
            false,
            false,
            parallelism,
        )
    }
}

fn square<F: Float>(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("matmul_{}", F::DTYPE));
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(10);
    let mut rng = StdRng::seed_from_u64(7);
    for n in SIZES {
        let (a, b) = (matrix::<F>(n, n, &mut rng), matrix::<F>(n, n, &mut rng));
        let mut out = vec![F::zero(); n * n];
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        group.bench_with_input(BenchmarkId::new("tensor", n), &n, |bench, _| {
            bench.iter(|| a.matmul(black_box(&b)))
        });
        // Every size here is above the parallel threshold, so Tensor::matmul uses the rayon pool too.
        group.bench_with_input(BenchmarkId::new("gemm", n), &n, |bench, _| {
            bench.iter(|| bare(&a, black_box(&b), &mut out, Parallelism::Rayon(0)))
        });
    }
    group.finish();
}

fn square_f32(c: &mut Criterion) {
    square::<f32>(c);
}

fn square_f64(c: &mut Criterion) {
    square::<f64>(c);
}

fn median(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}

/// Median seconds per call of each routine, run in turn (ABAB...) for about `budget`, so that the
/// machine's noise falls on all of them alike.
fn interleaved(budget: Duration, routines: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    for routine in routines.iter_mut() {
        routine();
    }
    let mut times = vec![Vec::new(); routines.len()];
    let start = Instant::now();
    while times[0].len() < 5 || (start.elapsed() < budget && times[0].len() < 2000) {
        for (routine, t) in routines.iter_mut().zip(&mut times) {
            let now = Instant::now();
            routine();
            t.push(now.elapsed().as_secs_f64());
        }
    }
    times.into_iter().map(median).collect()
}

fn gflops(m: usize, k: usize, n: usize, seconds: f64) -> f64 {
    2.0 * (m * k * n) as f64 / seconds / 1e9
}

fn square_rows<F: Float>(rng: &mut StdRng) {
    for n in SIZES {
        let (a, b) = (matrix::<F>(n, n, rng), matrix::<F>(n, n, rng));
        let mut out = vec![F::zero(); n * n];
        let t = interleaved(
            Duration::from_millis(1500),
            &mut [&mut || drop(black_box(a.matmul(&b))), &mut || {
                bare(&a, &b, &mut out, Parallelism::Rayon(0))
            }],
        );
        let (tensor, kernel) = (gflops(n, n, n, t[0]), gflops(n, n, n, t[1]));
        println!("{n:>6} {:>6} {tensor:>16.1} {kernel:>16.1} {:>7.3}", F::DTYPE, tensor / kernel);
    }
}

/// A 784-512-10 MLP on a batch of 128: forward `x·w`, backward `g·wᵀ` and `xᵀ·g` with transposed views.
fn mlp_rows(rng: &mut StdRng) {
    let x = matrix::<f32>(128, 784, rng);
    let w1 = matrix::<f32>(784, 512, rng);
    let h = matrix::<f32>(128, 512, rng);
    let w2 = matrix::<f32>(512, 10, rng);
    let g2 = matrix::<f32>(128, 10, rng);
    let g1 = matrix::<f32>(128, 512, rng);
    let cases: [(&str, Tensor, Tensor); 6] = [
        ("x[128,784] w1[784,512]", x.clone(), w1.clone()),
        ("h[128,512] w2[512,10]", h.clone(), w2.clone()),
        ("g2[128,10] w2.t()", g2.clone(), transposed(&w2)),
        ("h.t() g2[128,10]", transposed(&h), g2),
        ("g1[128,512] w1.t()", g1.clone(), transposed(&w1)),
        ("x.t() g1[128,512]", transposed(&x), g1),
    ];
    for (name, a, b) in cases {
        let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
        let mut out = vec![0.0f32; m * n];
        let mut out2 = vec![0.0f32; m * n];
        let t = interleaved(
            Duration::from_millis(400),
            &mut [
                &mut || drop(black_box(a.matmul(&b))),
                &mut || bare(&a, &b, &mut out, Parallelism::None),
                &mut || bare(&a, &b, &mut out2, Parallelism::Rayon(0)),
            ],
        );
        let g: Vec<f64> = t.iter().map(|&s| gflops(m, k, n, s)).collect();
        println!("{name:<24} {:>10.2} {:>9.1} {:>9.1} {:>9.1}", (m * k * n) as f64 / 1e6, g[0], g[1], g[2]);
    }
}

/// The transformer encoder's attention products (batch 16, 4 heads, sequence 64, head width 32) as
/// `[64, m, k] x [64, k, n]` batches, forward and backward, transposed operands as the tape passes them:
/// the name, the left and the right operand.
fn attention_cases(rng: &mut StdRng) -> Vec<(&'static str, Tensor<f32>, Tensor<f32>)> {
    let mut r = |s: [usize; 3]| {
        let values = (0..s.iter().product::<usize>()).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
        Tensor::<f32>::from_vec(values, &[16, 4, s[1], s[2]]).expect("the element count")
    };
    let (q, k, v) = (r([64, 64, 32]), r([64, 64, 32]), r([64, 64, 32]));
    let (w, g) = (r([64, 64, 64]), r([64, 64, 32]));
    let t = |x: &Tensor<f32>| Tensor::from_shared(x.to_shared().permuted_axes(vec![0, 1, 3, 2]));
    vec![
        ("q·kᵀ [64x32·32x64]", q.clone(), t(&k)),
        ("w·v [64x64·64x32]", w.clone(), v.clone()),
        ("g·vᵀ [64x32·32x64]", g.clone(), t(&v)),
        ("wᵀ·g [64x64·64x32]", t(&w), g),
        ("gw·k [64x64·64x32]", w.clone(), k),
        ("gwᵀ·q [64x64·64x32]", t(&w), q),
    ]
}

/// The matrices of a `[16, 4, r, c]` tensor, as 2-D views of its buffer.
fn matrices(x: &Tensor<f32>) -> Vec<ArrayView2<'_, f32>> {
    let at = |i: usize, j: usize| {
        let m = x.view().index_axis_move(Axis(0), i).index_axis_move(Axis(0), j);
        m.into_dimensionality::<Ix2>().expect("the last two axes are left")
    };
    (0..16).flat_map(|i| (0..4).map(move |j| (i, j))).map(|(i, j)| at(i, j)).collect()
}

/// The batch of products one bare single-threaded gemm call after another into one buffer (`par`
/// false), or one call per rayon task (`par` true).
fn bare_batch(a: &[ArrayView2<f32>], b: &[ArrayView2<f32>], out: &mut [f32], par: bool) {
    let size = out.len() / a.len();
    let run = |(c, (x, y)): (&mut [f32], (&ArrayView2<f32>, &ArrayView2<f32>))| {
        bare_views(x.view(), y.view(), c, Parallelism::None)
    };
    if par {
        out.par_chunks_mut(size).zip(a.par_iter().zip(b)).for_each(run);
    } else {
        out.chunks_mut(size).zip(a.iter().zip(b)).for_each(run);
    }
}

fn attention(c: &mut Criterion) {
    let mut group = c.benchmark_group("attention_f32");
    group.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1)).sample_size(20);
    for (name, a, b) in attention_cases(&mut StdRng::seed_from_u64(5)) {
        let (ma, mb) = (matrices(&a), matrices(&b));
        let mut out = vec![0.0f32; 64 * a.shape()[2] * b.shape()[3]];
        group
            .bench_function(BenchmarkId::new("tensor", name), |bench| bench.iter(|| a.matmul(black_box(&b))));
        group.bench_function(BenchmarkId::new("loop", name), |bench| {
            bench.iter(|| bare_batch(&ma, &mb, black_box(&mut out), false))
        });
        group.bench_function(BenchmarkId::new("par_loop", name), |bench| {
            bench.iter(|| bare_batch(&ma, &mb, black_box(&mut out), true))
        });
    }
    group.finish();
}

/// The attention products, median µs interleaved: `Tensor::matmul` beside bare gemm calls in a serial
/// loop and one per rayon task.
fn attention_rows(rng: &mut StdRng) {
    for (name, a, b) in attention_cases(rng) {
        let (ma, mb) = (matrices(&a), matrices(&b));
        let mut out = vec![0.0f32; 64 * a.shape()[2] * b.shape()[3]];
        let mut out2 = out.clone();
        let t = interleaved(
            Duration::from_millis(600),
            &mut [
                &mut || drop(black_box(a.matmul(&b))),
                &mut || bare_batch(&ma, &mb, &mut out, false),
                &mut || bare_batch(&ma, &mb, &mut out2, true),
            ],
        );
        println!("{name:<24} {:>9.1} {:>9.1} {:>9.1}", t[0] * 1e6, t[1] * 1e6, t[2] * 1e6);
    }
}

/// The summary tables, after the criterion groups; skipped when criterion runs the bench as a test.
fn summary(_: &mut Criterion) {
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let mut rng = StdRng::seed_from_u64(11);
    println!("\nmedian GFLOP/s, Tensor::matmul and the bare gemm call interleaved on the same buffers");
    println!("{:>6} {:>6} {:>16} {:>16} {:>7}", "size", "dtype", "Tensor::matmul", "bare gemm", "ratio");
    square_rows::<f32>(&mut rng);
    square_rows::<f64>(&mut rng);
    println!("\nMLP shapes, f32, median GFLOP/s: Tensor::matmul (its own parallel choice) and bare gemm");
    println!("{:<24} {:>10} {:>9} {:>9} {:>9}", "product", "mnk (M)", "matmul", "serial", "rayon");
    mlp_rows(&mut rng);
    println!(
        "\nattention's 64 products per call, f32, median µs: Tensor::matmul, bare gemm in a loop, per task"
    );
    println!("{:<24} {:>9} {:>9} {:>9}", "product", "matmul", "loop", "par loop");
    attention_rows(&mut rng);
}

criterion_group!(benches, square_f32, square_f64, attention, summary);
criterion_main!(benches);
