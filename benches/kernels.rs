//! Row kernels of a transformer step, fused against the chains of primitive ops they replace:
//! softmax over [16·4·64, 64] rows (the attention weights of batch 16, 4 heads, sequence 64) and layer
//! norm over [16·64, 128] rows (d_model 128), each forward alone and forward + backward on a tape.
//! Ends with a table of medians whose two sides were measured alternately in the same run.

mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use wengert::prelude::*;
use wengert::tensor::Norm;
use workloads::{interleaved, ms};

const SOFTMAX: [usize; 2] = [16 * 4 * 64, 64];
const NORM: [usize; 2] = [16 * 64, 128];

/// Softmax over the last axis as a chain of primitive ops: shift by the max, exp, sum, divide.
fn softmax_chain<'t>(x: Var<'t, f32>) -> Var<'t, f32> {
    let max = x.constant(x.value().max_axes(&[1], true));
    let e = (x - max).exp();
    e / e.sum_axes(&[1], true)
}

/// Layer norm over the last axis as the chain of primitive ops it was before the fused op.
fn layer_norm_chain<'t>(x: Var<'t, f32>, w: Var<'t, f32>, b: Var<'t, f32>) -> Var<'t, f32> {
    let xc = x - x.mean_axes(&[1], true);
    let var = xc.square().mean_axes(&[1], true);
    xc * var.add_scalar(1e-5).sqrt().recip() * w + b
}

/// Inputs and a fixed output weighting (so that the backward is not trivial) for one kernel.
struct Inputs {
    x: Tensor<f32>,
    probe: Tensor<f32>,
    w: Tensor<f32>,
    b: Tensor<f32>,
}

impl Inputs {
    fn new(shape: [usize; 2], seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        Inputs {
            x: Tensor::randn(&shape, &mut rng),
            probe: Tensor::randn(&shape, &mut rng),
            w: Tensor::randn(&[shape[1]], &mut rng),
            b: Tensor::randn(&[shape[1]], &mut rng),
        }
    }

    /// Forward and backward of `f` on a fresh tape, returning the input's gradient.
    fn train(
        &self,
        f: impl for<'t> Fn(Var<'t, f32>, Var<'t, f32>, Var<'t, f32>) -> Var<'t, f32>,
    ) -> Tensor<f32> {
        let tape = Tape::new();
        let (x, w, b) = (tape.var(self.x.clone()), tape.var(self.w.clone()), tape.var(self.b.clone()));
        let y = (f(x, w, b) * tape.constant(self.probe.clone())).sum();
        y.backward()[x].clone()
    }
}

fn bench(c: &mut Criterion) {
    let s = Inputs::new(SOFTMAX, 1);
    let n = Inputs::new(NORM, 2);
    let sm_chain = || s.train(|x, _, _| softmax_chain(x));
    let sm_fused = || s.train(|x, _, _| x.softmax(1));
    let ln_chain = || n.train(layer_norm_chain);
    let ln_fused = || n.train(|x, w, b| x.layer_norm(1, Some(w), Some(b), 1e-5));
    let sm_fwd_chain = || {
        let tape = Tape::new();
        softmax_chain(tape.constant(s.x.clone())).value()
    };
    let ln_fwd_chain = || {
        let tape = Tape::new();
        let (w, b) = (tape.constant(n.w.clone()), tape.constant(n.b.clone()));
        layer_norm_chain(tape.constant(n.x.clone()), w, b).value()
    };
    let ln_fwd_fused = || n.x.normalize(Norm::Layer, 1, Some(&n.w), Some(&n.b), 1e-5);

    let mut g = c.benchmark_group("kernels");
    g.sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    g.bench_function("softmax_4096x64_forward_chain", |b| b.iter(|| black_box(sm_fwd_chain())));
    g.bench_function("softmax_4096x64_forward_fused", |b| b.iter(|| black_box(s.x.softmax(1))));
    g.bench_function("softmax_4096x64_train_chain", |b| b.iter(|| black_box(sm_chain())));
    g.bench_function("softmax_4096x64_train_fused", |b| b.iter(|| black_box(sm_fused())));
    g.bench_function("layer_norm_1024x128_forward_chain", |b| b.iter(|| black_box(ln_fwd_chain())));
    g.bench_function("layer_norm_1024x128_forward_fused", |b| b.iter(|| black_box(ln_fwd_fused())));
    g.bench_function("layer_norm_1024x128_train_chain", |b| b.iter(|| black_box(ln_chain())));
    g.bench_function("layer_norm_1024x128_train_fused", |b| b.iter(|| black_box(ln_fused())));
    g.finish();

    // One table: each pair alternates, so that the machine's noise falls on both sides alike.
    let rows: [(&str, Vec<Duration>); 4] = [
        (
            "softmax [4096, 64] forward",
            interleaved(
                31,
                &mut [&mut || drop(black_box(sm_fwd_chain())), &mut || drop(black_box(s.x.softmax(1)))],
            ),
        ),
        (
            "softmax [4096, 64] forward + backward",
            interleaved(31, &mut [&mut || drop(black_box(sm_chain())), &mut || drop(black_box(sm_fused()))]),
        ),
        (
            "layer norm [1024, 128] forward",
            interleaved(
                31,
                &mut [&mut || drop(black_box(ln_fwd_chain())), &mut || drop(black_box(ln_fwd_fused()))],
            ),
        ),
        (
            "layer norm [1024, 128] forward + backward",
            interleaved(31, &mut [&mut || drop(black_box(ln_chain())), &mut || drop(black_box(ln_fused()))]),
        ),
    ];
    println!(
        "\n{:<42} {:>10} {:>10} {:>8}",
        "kernel (median of 31 alternations)", "chain ms", "fused ms", "speedup"
    );
    for (name, t) in rows {
        println!("{name:<42} {:>10.3} {:>10.3} {:>7.2}x", ms(t[0]), ms(t[1]), ms(t[0]) / ms(t[1]));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
