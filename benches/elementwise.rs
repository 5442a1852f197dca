//! Elementwise kernels: where a fork-join pays, per kernel class, and the broadcasting shapes of a
//! transformer layer and an MLP.
//!
//! `elementwise_split` times one loop over `n` f32 elements serially and split in two halves on a
//! pool of two threads, for a cheap kernel (add, relu: memory-bound) and costly ones (exp, tanh,
//! exact gelu through erf): the smallest `n` where the split wins is the class's parallel threshold
//! in `crates/tensor/src/kernel.rs`. `elementwise_shapes` times the tensor ops on the shapes that
//! models use (a bias row, a column of scales, equal shapes, relu, gelu) on a pool of two threads.
//!
//! Run: `cargo bench -p wengert-benches --bench elementwise` (filter with a group name after `--`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;
use wengert::tensor::{Tensor, erf};

/// One kernel of a class, on a slice of inputs into a slice of outputs.
type Kernel = fn(&[f32], &mut [f32]);

fn add(x: &[f32], out: &mut [f32]) {
    out.iter_mut().zip(x).for_each(|(o, &v)| *o += v);
}

fn relu(x: &[f32], out: &mut [f32]) {
    out.iter_mut().zip(x).for_each(|(o, &v)| *o = if v <= 0.0 { 0.0 } else { v });
}

fn exp(x: &[f32], out: &mut [f32]) {
    out.iter_mut().zip(x).for_each(|(o, &v)| *o = v.exp());
}

fn tanh(x: &[f32], out: &mut [f32]) {
    out.iter_mut().zip(x).for_each(|(o, &v)| *o = v.tanh());
}

fn gelu(x: &[f32], out: &mut [f32]) {
    let s = std::f64::consts::FRAC_1_SQRT_2;
    out.iter_mut().zip(x).for_each(|(o, &v)| *o = (0.5 * v as f64 * (1.0 + erf(v as f64 * s))) as f32);
}

fn split(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("a pool of two threads");
    let kernels: [(&str, Kernel); 5] =
        [("add", add), ("relu", relu), ("exp", exp), ("tanh", tanh), ("gelu", gelu)];
    let mut g = c.benchmark_group("elementwise_split");
    g.sample_size(20).warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_millis(600));
    for (name, kernel) in kernels {
        for log in 11..=18 {
            let n = 1usize << log;
            let x: Vec<f32> = (0..n).map(|i| (i % 97) as f32 * 0.03 - 1.4).collect();
            let mut out = vec![0.5f32; n];
            g.bench_function(BenchmarkId::new(format!("{name}/serial"), n), |b| {
                b.iter(|| kernel(black_box(&x), black_box(&mut out)))
            });
            g.bench_function(BenchmarkId::new(format!("{name}/two_halves"), n), |b| {
                b.iter(|| {
                    pool.install(|| {
                        out.par_chunks_mut(n / 2).zip(x.par_chunks(n / 2)).for_each(|(o, x)| kernel(x, o))
                    })
                })
            });
        }
    }
    g.finish();
}

fn shapes(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("a pool of two threads");
    let mut rng = StdRng::seed_from_u64(0);
    let mut randn = |s: &[usize]| Tensor::<f32>::randn(s, &mut rng);
    let (act, act2) = (randn(&[16, 64, 512]), randn(&[16, 64, 512]));
    let (x, bias) = (randn(&[16, 64, 128]), randn(&[128]));
    let (rows, scale) = (randn(&[2048, 128]), randn(&[2048, 1]));
    let hidden = randn(&[128, 512]);
    let mut g = c.benchmark_group("elementwise_shapes");
    g.sample_size(30).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    g.bench_function("bias_add_16x64x128_plus_128", |b| b.iter(|| pool.install(|| black_box(&x + &bias))));
    g.bench_function("mul_16x64x512_same_shape", |b| b.iter(|| pool.install(|| black_box(&act * &act2))));
    g.bench_function("column_mul_2048x128_by_2048x1", |b| {
        b.iter(|| pool.install(|| black_box(&rows * &scale)))
    });
    g.bench_function("relu_128x512", |b| b.iter(|| pool.install(|| black_box(hidden.relu()))));
    g.bench_function("gelu_16x64x512", |b| b.iter(|| pool.install(|| black_box(act.gelu()))));
    g.bench_function("tanh_16", |b| {
        let small = randn(&[16]);
        b.iter(|| pool.install(|| black_box(small.tanh())))
    });
    g.finish();
}

criterion_group!(benches, split, shapes);
criterion_main!(benches);
