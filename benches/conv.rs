//! Convolution speed against the GEMM it lowers to.
//!
//! conv2d of a batch of 32 images 3 x 32 x 32 to 32 channels, kernel 3, padding 1, in f32: the forward
//! alone, each backward product alone, and forward + backward through the tape (input and weight
//! gradients, for an upstream gradient `dy` as the next layer would send it), reported in GFLOP/s
//! counting `2·N·Cout·Hout·Wout·Cin·k·k` flops per pass (forward + two backward products = 3 passes;
//! `conv2d_adjoints`, which the tape's rule calls, computes both gradients in one pass over the samples),
//! next to the rate of a 1024³ f32 matmul measured interleaved with them in the same run (target: the
//! convolution at ≥ 50% of the GEMM rate).

mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use wengert::prelude::*;
use wengert::tensor::Conv2dOptions;
use workloads::{interleaved_runs, ms};

const N: usize = 32;
const CIN: usize = 3;
const COUT: usize = 32;
const HW: usize = 32;
const K: usize = 3;

/// Flops of one pass (one of the three products) of the benchmarked convolution.
const PASS_FLOPS: f64 = (2 * N * COUT * HW * HW * CIN * K * K) as f64;

fn opts() -> Conv2dOptions {
    Conv2dOptions::default().padding((1, 1))
}

fn forward_backward(x: &Tensor<f32>, w: &Tensor<f32>, dy: &Tensor<f32>) -> (Tensor<f32>, Tensor<f32>) {
    let tape = Tape::<f32>::new();
    let (xv, wv) = (tape.var(x.clone()), tape.var(w.clone()));
    let grads = xv.conv2d(wv, &opts()).backward_with(dy);
    (grads[xv].clone(), grads[wv].clone())
}

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(0);
    let x = Tensor::<f32>::randn(&[N, CIN, HW, HW], &mut rng);
    let w = Tensor::<f32>::randn(&[COUT, CIN, K, K], &mut rng);
    let a = Tensor::<f32>::randn(&[1024, 1024], &mut rng);
    let b = Tensor::<f32>::randn(&[1024, 1024], &mut rng);
    let dy = Tensor::<f32>::randn(&[N, COUT, HW, HW], &mut rng);

    let mut g = c.benchmark_group("conv");
    g.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    g.bench_function("conv2d_forward_32x3x32x32_to_32", |bch| bch.iter(|| black_box(x.conv2d(&w, &opts()))));
    g.bench_function("conv2d_forward_backward_tape", |bch| {
        bch.iter(|| black_box(forward_backward(&x, &w, &dy)))
    });
    g.bench_function("matmul_1024", |bch| bch.iter(|| black_box(a.matmul(&b))));
    g.finish();

    // One table from medians measured interleaved in this run (each round times 5 warm calls of every
    // routine), so that the machine's noise falls on the convolution and the GEMM it is compared with
    // alike.
    let times = interleaved_runs(
        15,
        5,
        &mut [
            &mut || drop(black_box(x.conv2d(&w, &opts()))),
            &mut || drop(black_box(forward_backward(&x, &w, &dy))),
            &mut || drop(black_box(dy.conv_transpose2d(&w, &opts().into()))),
            &mut || drop(black_box(x.conv2d_weight_adjoint(&dy, (K, K), &opts()))),
            &mut || drop(black_box(x.conv2d_adjoints(&w, &dy, &opts()))),
            &mut || drop(black_box(a.matmul(&b))),
        ],
    );
    let [fwd, both, input_grad, weight_grad, both_grads, gemm] = times[..] else { unreachable!() };
    let gflops = |flops: f64, d: Duration| flops / d.as_secs_f64() / 1e9;
    let gemm_rate = gflops(2.0 * 1024f64.powi(3), gemm);
    println!(
        "\nconv summary (medians; batch {N}, {CIN} -> {COUT} channels, {HW}x{HW}, kernel {K}, padding 1)"
    );
    let row = |what: &str, d: Duration, flops: f64| {
        let rate = gflops(flops, d);
        println!(
            "{what:<30} {:8.3} ms  {rate:6.1} GFLOP/s  ({:3.0}% of GEMM)",
            ms(d),
            100.0 * rate / gemm_rate
        );
    };
    row("matmul 1024^3 f32", gemm, 2.0 * 1024f64.powi(3));
    row("conv2d forward", fwd, PASS_FLOPS);
    row("input gradient (transposed)", input_grad, PASS_FLOPS);
    row("weight gradient", weight_grad, PASS_FLOPS);
    row("both gradients, one pass", both_grads, 2.0 * PASS_FLOPS);
    row("forward + backward (tape)", both, 3.0 * PASS_FLOPS);
    println!("target: forward + backward at >= 50% of the GEMM rate");
}

criterion_group!(benches, bench);
criterion_main!(benches);
