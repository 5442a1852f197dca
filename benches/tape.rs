//! Tape overhead and higher-order speed.
//!
//! (a) a [16] tensor through 1000 × `y = tanh(y * 1.01 + 0.01)`, then sum, forward + backward: ns per
//!     recorded op (3000 ops); (b) the same on [256, 256] against the raw tensor ops of the same forward
//!     and backward math (ratio); (c) a Hessian-vector product of a 64-64-1 tanh MLP on a batch of 32, MSE;
//! (d) a [8, 16] tensor through 200 × sigmoid, pow and a row logsumexp, forward + backward.

mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use wengert::prelude::*;
use workloads::{Hvp, interleaved, median_time, ms, pow_logsumexp_chain, w3};

const STEPS: usize = 1000;

fn chain_raw(x0: &Tensor<f32>) -> Tensor<f32> {
    let mut ys = Vec::with_capacity(STEPS);
    let mut y = x0.clone();
    for _ in 0..STEPS {
        let a = &y * 1.01;
        let b = &a + 0.01;
        y = b.tanh();
        ys.push(y.clone());
    }
    let _ = y.sum();
    let mut g = x0.ones_like();
    for y in ys.iter().rev() {
        g = g.zip_with(y, "tanh_backward", |g, y| g * (1.0 - y * y));
        g = &g * 1.01;
    }
    g
}

fn bench(c: &mut Criterion) {
    let small = workloads::w3_input();
    let big = Tensor::<f32>::randn(&[256, 256], &mut StdRng::seed_from_u64(1));
    let hvp = Hvp::new();
    let hvp_once = || hvp.run();

    let mut g = c.benchmark_group("tape");
    g.sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    g.bench_function("a_chain_16", |b| b.iter(|| black_box(w3(&small))));
    g.bench_function("b_chain_256x256_tape", |b| b.iter(|| black_box(w3(&big))));
    g.bench_function("b_chain_256x256_raw", |b| b.iter(|| black_box(chain_raw(&big))));
    g.bench_function("c_hvp_mlp_64_64_1", |b| b.iter(|| black_box(hvp_once())));
    g.finish();

    // One table from medians measured in this run.
    let a = median_time(|| drop(black_box(w3(&small))), 201);
    // The two sides of (b)'s ratio alternate, so that the machine's noise falls on both alike.
    let b =
        interleaved(21, &mut [&mut || drop(black_box(w3(&big))), &mut || drop(black_box(chain_raw(&big)))]);
    let (bt, br) = (b[0], b[1]);
    let h = median_time(|| drop(black_box(hvp_once())), 501);
    let (px, pe) = (Tensor::<f32>::randn(&[8, 16], &mut StdRng::seed_from_u64(2)), Tensor::full(&[16], 0.9));
    let d = median_time(|| drop(black_box(pow_logsumexp_chain(&px, &pe))), 201);
    println!("\ntape summary (medians)");
    println!(
        "(a) [16] chain, 3000 recorded ops: {:.3} ms = {:.0} ns per op (target <= 200)",
        ms(a),
        a.as_nanos() as f64 / 3000.0
    );
    println!(
        "(b) [256,256] chain: tape {:.2} ms, raw tensor ops {:.2} ms, ratio {:.3} (target <= 1.15)",
        ms(bt),
        ms(br),
        ms(bt) / ms(br)
    );
    println!("(c) HVP 64-64-1 tanh MLP, batch 32: {:.4} ms (target <= 0.06)", ms(h));
    println!("(d) [8,16] pow + logsumexp chain, 1000 recorded ops: {:.3} ms", ms(d));
}

criterion_group!(benches, bench);
criterion_main!(benches);
