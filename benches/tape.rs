//! Tape overhead and higher-order speed.
//!
//! (a) a [16] tensor through 1000 × `y = tanh(y * 1.01 + 0.01)`, then sum, forward + backward: ns per
//!     recorded op (3000 ops); (b) the same on [256, 256] against the raw tensor ops of the same forward
//!     and backward math (ratio); (c) a Hessian-vector product of a 64-64-1 tanh MLP on a batch of 32, MSE.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use wengert::prelude::*;
use wengert::tape::functional::hvp;

const STEPS: usize = 1000;

fn chain_tape(x0: &Tensor<f32>) -> Tensor<f32> {
    let tape = Tape::<f32>::new();
    let x = tape.var(x0.clone());
    let mut y = x;
    for _ in 0..STEPS {
        y = (y * 1.01 + 0.01).tanh();
    }
    let grads = y.sum().backward();
    grads[x].clone()
}

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

/// The parameters of the MLP, a direction for each, and the batch: inputs and targets.
struct MlpCase {
    params: Vec<Tensor<f32>>,
    dirs: Vec<Tensor<f32>>,
    x: Tensor<f32>,
    t: Tensor<f32>,
}

/// f(W1, b1, W2, b2) = mean((tanh(x W1 + b1) W2 + b2 - t)²) for a fixed batch.
fn mlp_inputs() -> MlpCase {
    let mut rng = StdRng::seed_from_u64(0);
    let params = vec![
        Tensor::randn(&[64, 64], &mut rng) * 0.125,
        Tensor::zeros(&[64]),
        Tensor::randn(&[64, 1], &mut rng) * 0.125,
        Tensor::zeros(&[1]),
    ];
    let dirs = params.iter().map(|p| Tensor::randn(p.shape(), &mut rng)).collect();
    MlpCase { params, dirs, x: Tensor::randn(&[32, 64], &mut rng), t: Tensor::randn(&[32, 1], &mut rng) }
}

fn median_time(mut f: impl FnMut(), reps: usize) -> Duration {
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[reps / 2]
}

fn bench(c: &mut Criterion) {
    let small = Tensor::<f32>::linspace(-1.0, 1.0, 16);
    let big = Tensor::<f32>::randn(&[256, 256], &mut StdRng::seed_from_u64(1));
    let MlpCase { params, dirs, x, t } = mlp_inputs();
    let hvp_once = || {
        let (x, t) = (x.clone(), t.clone());
        hvp(
            move |p| {
                let (xv, tv) = (p[0].constant(x.clone()), p[0].constant(t.clone()));
                let h = (xv.matmul(p[0]) + p[1]).tanh();
                (h.matmul(p[2]) + p[3] - tv).square().mean()
            },
            &params,
            &dirs,
        )
    };

    let mut g = c.benchmark_group("tape");
    g.sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    g.bench_function("a_chain_16", |b| b.iter(|| black_box(chain_tape(&small))));
    g.bench_function("b_chain_256x256_tape", |b| b.iter(|| black_box(chain_tape(&big))));
    g.bench_function("b_chain_256x256_raw", |b| b.iter(|| black_box(chain_raw(&big))));
    g.bench_function("c_hvp_mlp_64_64_1", |b| b.iter(|| black_box(hvp_once())));
    g.finish();

    // One table from medians measured side by side in this run.
    let a = median_time(|| drop(black_box(chain_tape(&small))), 201);
    let bt = median_time(|| drop(black_box(chain_tape(&big))), 21);
    let br = median_time(|| drop(black_box(chain_raw(&big))), 21);
    let h = median_time(|| drop(black_box(hvp_once())), 501);
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
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

criterion_group!(benches, bench);
criterion_main!(benches);
