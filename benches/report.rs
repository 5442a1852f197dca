//! Every workload (W1–W5) in one table, measured in one run on a rayon pool of 2 threads.
//!
//! W1 the seed's 1000 Adam epochs on 4 points through `fit` · W2 one step of a 784-512-512-10 ReLU
//! MLP, batch 128, softmax cross-entropy, Adam, beside the same 8 GEMMs alone · W3 1000 × tanh chain
//! on [16], forward + backward · W4 HVP of a 64-64-1 tanh MLP · W5 the peak RSS of a fresh process
//! training W2 for 50 steps, and the RSS growth over 5,000 steps · matmul 1024³ f32 against the
//! bare `gemm` call.
//!
//! Run: `cargo bench -p wengert-benches --bench report [-- --scaling] [-- --gemm-ways] [-- --threads N]`.
//! `--scaling` adds the W2 step and GEMM-only times for batches 32, 128, 512 and widths 256, 512,
//! 1024; `--gemm-ways` times W2's GEMMs, then square and other shapes, through `Tensor::matmul`,
//! gemm on the pool, gemm on one thread, gemm on two halves of the output and ndarray's
//! matrixmultiply; `--threads N` uses a pool of N threads instead of 2. The child modes `--rss STEPS`
//! and `--growth STEPS` are what W5 spawns. Beside wall-clock medians it prints CPU time summed over
//! threads, which other processes on a shared machine inflate less (rayon's spinning workers count in
//! it).

mod workloads;

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use wengert::prelude::*;
use wengert::tensor::ndarray::{Array2, ArrayView2, ArrayViewMut2};
use workloads::{Gemms, Hvp, MlpShape, W2, interleaved, median_time, ms};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).and_then(|s| s.parse().ok())
    };
    let threads = value("--threads").unwrap_or(2);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool");
    if let Some(steps) = value("--rss") {
        pool.install(|| rss_child(steps));
    } else if let Some(steps) = value("--growth") {
        pool.install(|| growth_child(steps));
    } else {
        pool.install(report);
        if args.iter().any(|a| a == "--gemm-ways") {
            pool.install(gemm_ways);
        }
        if args.iter().any(|a| a == "--scaling") {
            pool.install(scaling);
        }
    }
}

fn report() {
    println!("workloads W1-W5, f32, rayon pool of {} threads, medians", rayon::current_num_threads());
    println!("{:<58} {:>12} {:>10}", "workload", "measured", "target");
    let cpu0 = cpu_ms();
    let w1 = median_time(|| _ = black_box(workloads::w1()), 15);
    row("W1 seed: 1000 Adam epochs on 4 points through fit", ms(w1), "ms", "<= 4.5");
    row("W1 CPU time per run (all threads, mean)", (cpu_ms() - cpu0) / 16.0, "ms", "");

    let (step, gemm) = w2_pair(W2, 300);
    row("W2 MLP 784-512-512-10 step, batch 128, CE, Adam", step, "ms", "<= 1.6");
    row("W2 the same 8 GEMMs alone (Tensor::matmul)", gemm, "ms", "");
    row("W2 ratio step / GEMMs", step / gemm, "", "<= 1.2");
    let (step_cpu, gemm_cpu) = w2_cpu(W2, 100);
    row("W2 CPU time per step (all threads, mean)", step_cpu, "ms", "");
    row("W2 CPU time of the 8 GEMMs (all threads, mean)", gemm_cpu, "ms", "");
    row("W2 CPU-time ratio step / GEMMs", step_cpu / gemm_cpu, "", "");

    let x0 = workloads::w3_input();
    // W3 and W4 are the lead's (benches/tape.rs); measured here so that the table is complete.
    let w3 = median_time(|| drop(black_box(workloads::w3(&x0))), 301);
    row("W3 1000 x tanh chain on [16], fwd + bwd", ms(w3), "ms", "<= 0.6");
    let case = Hvp::new();
    let w4 = median_time(|| drop(black_box(case.run())), 1001);
    row("W4 HVP, MLP 64-64-1 tanh, batch 32, MSE", ms(w4), "ms", "<= 0.06");

    match child("--rss", 50) {
        Some(out) => {
            row("W5 peak RSS (VmHWM), 50 W2 steps", field(&out, "peak_kib") / 1024.0, "MiB", "<= 30")
        }
        None => println!("W5 peak RSS: the child process failed"),
    }
    match child("--growth", 5000) {
        Some(out) => {
            let (early, late) = (field(&out, "rss_500_kib"), field(&out, "rss_end_kib"));
            row("W5 RSS growth, step 500 to step 5000", (late - early) / 1024.0, "MiB", "0");
        }
        None => println!("W5 RSS growth: the child process failed"),
    }

    let (ours, bare) = matmul_1024();
    row("matmul 1024^3 f32, Tensor::matmul", ours, "GFLOP/s", "");
    row("matmul 1024^3 f32, bare gemm::gemm", bare, "GFLOP/s", "");
    row("matmul ratio ours / gemm", ours / bare, "", ">= 0.9");
}

fn row(name: &str, value: f64, unit: &str, target: &str) {
    println!("{name:<58} {value:>9.3} {unit:<7} {target:>8}");
}

/// The median W2 step and GEMM-only times in ms, measured interleaved.
fn w2_pair(shape: MlpShape, rounds: usize) -> (f64, f64) {
    let (mut mlp, gemms) = (workloads::Mlp::new(shape), Gemms::new(shape));
    let t = interleaved(rounds, &mut [&mut || _ = black_box(mlp.step()), &mut || gemms.run()]);
    (ms(t[0]), ms(t[1]))
}

/// The mean CPU time (ms, all threads) of a W2 step and of its GEMMs alone, `rounds` calls each.
fn w2_cpu(shape: MlpShape, rounds: usize) -> (f64, f64) {
    let (mut mlp, gemms) = (workloads::Mlp::new(shape), Gemms::new(shape));
    mlp.step();
    let t0 = cpu_ms();
    for _ in 0..rounds {
        black_box(mlp.step());
    }
    let t1 = cpu_ms();
    for _ in 0..rounds {
        gemms.run();
    }
    let t2 = cpu_ms();
    ((t1 - t0) / rounds as f64, (t2 - t1) / rounds as f64)
}

/// The CPU time this process has run so far, summed over its threads, in ms (from the scheduler's
/// per-thread `schedstat`, in ns): a figure that other processes on the machine do not inflate.
fn cpu_ms() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return f64::NAN };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    ns as f64 / 1e6
}

fn scaling() {
    println!("\nW2 scaling, MLP 784-w-w-10: step and GEMM-only wall medians, then mean CPU times (ms)");
    println!(
        "{:>6} {:>6} {:>10} {:>10} {:>7} {:>10} {:>10} {:>7}",
        "batch", "width", "step", "GEMMs", "ratio", "step CPU", "GEMMs CPU", "ratio"
    );
    for batch in [32, 128, 512] {
        for hidden in [256, 512, 1024] {
            let shape = MlpShape { hidden, batch, ..W2 };
            let rounds = (40_000_000 / (batch * hidden * 1000)).clamp(30, 300);
            let (step, gemm) = w2_pair(shape, rounds);
            let (step_cpu, gemm_cpu) = w2_cpu(shape, rounds / 3 + 10);
            println!(
                "{batch:>6} {hidden:>6} {step:>10.3} {gemm:>10.3} {:>7.3} {step_cpu:>10.3} {gemm_cpu:>10.3} {:>7.3}",
                step / gemm,
                step_cpu / gemm_cpu
            );
        }
    }
}

/// Runs this program again in a child mode and returns its standard output.
fn child(mode: &str, steps: usize) -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe).args([mode, &steps.to_string()]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The number after `name=` in a child's output.
fn field(out: &str, name: &str) -> f64 {
    out.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// A line of `/proc/self/status` (`VmHWM`, `VmRSS`) in KiB.
fn status_kib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':')?.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// W5: trains W2 for `steps` steps and prints the peak resident set.
fn rss_child(steps: usize) {
    let mut mlp = workloads::Mlp::new(W2);
    for _ in 0..steps {
        black_box(mlp.step());
    }
    println!("peak_kib={}", status_kib("VmHWM"));
}

/// W5's growth check: the resident set after a tenth of `steps` and at the end.
fn growth_child(steps: usize) {
    let mut mlp = workloads::Mlp::new(W2);
    let mut early = f64::NAN;
    for i in 1..=steps {
        black_box(mlp.step());
        if i == steps / 10 {
            early = status_kib("VmRSS");
        }
    }
    println!("rss_500_kib={early} rss_end_kib={} peak_kib={}", status_kib("VmRSS"), status_kib("VmHWM"));
}

/// Median GFLOP/s of `Tensor::matmul` and of the bare `gemm::gemm` call on 1024 x 1024 f32.
fn matmul_1024() -> (f64, f64) {
    let n = 1024;
    let mut rng = StdRng::seed_from_u64(7);
    let (a, b) = (Tensor::<f32>::randn(&[n, n], &mut rng), Tensor::<f32>::randn(&[n, n], &mut rng));
    let mut out = vec![0.0f32; n * n];
    let t = interleaved(15, &mut [&mut || drop(black_box(a.matmul(&b))), &mut || bare(&a, &b, &mut out)]);
    let gf = |d: Duration| 2.0 * (n * n * n) as f64 / d.as_secs_f64() / 1e9;
    (gf(t[0]), gf(t[1]))
}

/// The bare kernel on row-major `a` and `b` into `c`, on the current rayon pool.
#[allow(unsafe_code)]
fn bare(a: &Tensor<f32>, b: &Tensor<f32>, c: &mut [f32]) {
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    let (x, y) = (a.as_slice().expect("row-major"), b.as_slice().expect("row-major"));
    assert!(x.len() == m * k && y.len() == k * n && c.len() == m * n && b.shape()[0] == k);
    // SAFETY: `x` is a row-major m x k buffer, `y` a row-major k x n buffer and `c` a distinct,
    // exclusively borrowed row-major m x n buffer, all of the lengths checked above; gemm does not
    // read `c` (read_dst false).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            x.as_ptr(),
            1,
            k as isize,
            y.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        )
    }
}

/// The bare kernel on any 2-D views: `c = a·b` with gemm's own threading choice `par`.
#[allow(unsafe_code)]
fn bare_views(a: ArrayView2<f32>, b: ArrayView2<f32>, mut c: ArrayViewMut2<f32>, par: gemm::Parallelism) {
    let ((m, k), (kb, n)) = (a.dim(), b.dim());
    assert!(k == kb && c.dim() == (m, n));
    let (sa, sb, sc) = (a.strides().to_vec(), b.strides().to_vec(), c.strides().to_vec());
    // SAFETY: `a` is m x k, `b` k x n and `c` a distinct, exclusively borrowed m x n view (checked
    // above), each read through its own pointer and strides; gemm does not read `c` (read_dst false).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            sc[1],
            sc[0],
            false,
            a.as_ptr(),
            sa[1],
            sa[0],
            b.as_ptr(),
            sb[1],
            sb[0],
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

/// How to run one product in the GEMM experiment.
#[derive(Clone, Copy, Debug)]
enum Way {
    /// `Tensor::matmul`, which picks a way from the shape.
    Matmul,
    /// gemm on the rayon pool.
    Rayon,
    /// gemm on one thread.
    Serial,
    /// Two halves of the output's columns, one per rayon task, each gemm on one thread.
    SplitN,
    /// Two halves of the output's rows, likewise.
    SplitM,
    /// ndarray's `dot` (matrixmultiply).
    Dot,
}

fn run_way(way: Way, a: ArrayView2<f32>, b: ArrayView2<f32>, mut c: ArrayViewMut2<f32>) {
    use gemm::Parallelism::{None as One, Rayon};
    use wengert::tensor::ndarray::{Axis, linalg::general_mat_mul};
    match way {
        Way::Rayon => bare_views(a, b, c, Rayon(0)),
        Way::Serial => bare_views(a, b, c, One),
        Way::SplitN => {
            let h = (b.ncols() / 2).next_multiple_of(16).min(b.ncols());
            let (b0, b1) = b.split_at(Axis(1), h);
            let (c0, c1) = c.split_at(Axis(1), h);
            rayon::join(|| bare_views(a, b0, c0, One), || bare_views(a, b1, c1, One));
        }
        Way::SplitM => {
            let h = (a.nrows() / 2).next_multiple_of(16).min(a.nrows());
            let (a0, a1) = a.split_at(Axis(0), h);
            let (c0, c1) = c.split_at(Axis(0), h);
            rayon::join(|| bare_views(a0, b, c0, One), || bare_views(a1, b, c1, One));
        }
        Way::Dot => general_mat_mul(1.0, &a, &b, 0.0, &mut c),
        Way::Matmul => unreachable!("Tensor::matmul is run on the tensors, not through run_way"),
    }
}

/// W2's 8 GEMMs run each way, interleaved: the median ms of each way per product, and in total; then
/// square and other shapes, to place the bounds between the ways.
fn gemm_ways() {
    println!("\nW2's GEMMs, median ms per way, interleaved (matmul: Tensor::matmul, its own choice)");
    ways_table(Gemms::new(W2).pairs(), true);
    println!("\nsquare and other shapes, median ms per way, interleaved");
    let mut rng = StdRng::seed_from_u64(3);
    let mut r = |s: &[usize]| Tensor::<f32>::randn(s, &mut rng);
    let shapes = [(64, 64, 64), (96, 96, 96), (128, 128, 128), (256, 256, 256), (512, 512, 512)];
    let more = [(1024, 1024, 1024), (128, 1024, 1024), (2048, 64, 2048), (32, 4096, 32)];
    let pairs: Vec<_> = shapes.iter().chain(&more).map(|&(m, k, n)| (r(&[m, k]), r(&[k, n]))).collect();
    ways_table(&pairs, false);
}

/// One row per product: the median ms of each way, interleaved; with `sum`, a last row of totals.
fn ways_table(pairs: &[(Tensor<f32>, Tensor<f32>)], sum: bool) {
    let ways = [Way::Matmul, Way::Rayon, Way::Serial, Way::SplitN, Way::SplitM, Way::Dot];
    println!(
        "{:<22} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "m x k x n", "matmul", "rayon", "serial", "split n", "split m", "dot"
    );
    let mut total = [0.0; 6];
    for (ta, tb) in pairs {
        let (a, b) = (ta.view().into_dimensionality().unwrap(), tb.view().into_dimensionality().unwrap());
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        // About 2 s per product at 2 threads' speed, between 15 and 100 rounds of all ways.
        let rounds = (100_000_000_000 / (m * k * n * 6 + 1)).clamp(15, 100);
        let mut outs: Vec<Array2<f32>> = (0..ways.len()).map(|_| Array2::zeros((m, n))).collect();
        let mut routines: Vec<Box<dyn FnMut() + '_>> = outs
            .iter_mut()
            .zip(ways)
            .map(|(c, way)| match way {
                Way::Matmul => Box::new(move || drop(black_box(ta.matmul(tb)))) as Box<dyn FnMut()>,
                _ => Box::new(move || run_way(way, a, b, c.view_mut())) as Box<dyn FnMut()>,
            })
            .collect();
        let mut refs: Vec<&mut dyn FnMut()> =
            routines.iter_mut().map(|r| &mut **r as &mut dyn FnMut()).collect();
        let t = interleaved(rounds, &mut refs);
        let cells: Vec<String> = t.iter().map(|&d| format!("{:>8.3}", ms(d))).collect();
        for (s, d) in total.iter_mut().zip(&t) {
            *s += ms(*d);
        }
        println!("{:<22} {}", format!("{m}x{k}x{n}"), cells.join(" "));
    }
    if sum {
        let cells: Vec<String> = total.iter().map(|s| format!("{s:>8.3}")).collect();
        println!("{:<22} {}", "sum", cells.join(" "));
    }
}
