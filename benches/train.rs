//! Training speed: W1 (the seed's 1000 Adam epochs on 4 points, whole training through `fit`) and
//! W2 (one step of a 784-512-512-10 ReLU MLP, batch 128, softmax cross-entropy, Adam) beside the 8
//! GEMMs of that step alone, all on a rayon pool of 2 threads.
//!
//! `cargo bench -p wengert-benches --bench train` runs the criterion groups, then prints the medians
//! side by side and the ratio step / GEMMs measured interleaved in the same run.
//! `benches/report.rs` prints every workload (W1–W5) in one table.

mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use workloads::{Gemms, Mlp, W2, interleaved, interleaved_runs, median_time, ms};

/// Makes rayon's global pool 2 threads (criterion's state cannot move into another pool's closure).
fn two_threads() {
    // An error means the pool was built already, by the first caller.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(2).build_global();
    assert_eq!(rayon::current_num_threads(), 2, "rayon's global pool has 2 threads");
}

fn bench(c: &mut Criterion) {
    two_threads();
    let mut g = c.benchmark_group("train");
    g.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    g.bench_function("w1_linear_regression_1000_epochs", |b| b.iter(|| black_box(workloads::w1())));
    let mut mlp = Mlp::new(W2);
    g.bench_function("w2_mlp_step", |b| b.iter(|| black_box(mlp.step())));
    let gemms = Gemms::new(W2);
    g.bench_function("w2_gemms_only", |b| b.iter(|| gemms.run()));
    g.finish();
}

/// The summary, after the criterion groups; skipped when criterion runs the bench as a test.
fn summary(_: &mut Criterion) {
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    two_threads();
    let w1 = median_time(|| _ = black_box(workloads::w1()), 21);
    let (mut mlp, gemms) = (Mlp::new(W2), Gemms::new(W2));
    let t = interleaved(200, &mut [&mut || _ = black_box(mlp.step()), &mut || gemms.run()]);
    // The finite-gradient check's cost: the same step with it on and off, in runs of 4 warm steps.
    let mut unchecked = Mlp::new(W2).without_finite_check();
    let c = interleaved_runs(
        60,
        4,
        &mut [&mut || _ = black_box(mlp.step()), &mut || _ = black_box(unchecked.step())],
    );
    let grads = Mlp::new(W2).gradient_tensors();
    let check = median_time(|| assert!(black_box(&grads).iter().all(|g| g.all_finite())), 501);
    println!("\ntrain summary (medians, 2 threads)");
    println!("W1 1000 epochs through fit: {:.3} ms (target <= 4.5)", ms(w1));
    println!(
        "W2 step {:.3} ms (target <= 1.6), its 8 GEMMs alone {:.3} ms, ratio {:.3} (target <= 1.2)",
        ms(t[0]),
        ms(t[1]),
        ms(t[0]) / ms(t[1])
    );
    println!(
        "W2 step {:.3} ms with the finite-gradient check, {:.3} ms without: it costs {:+.2}% (target <= 2%)",
        ms(c[0]),
        ms(c[1]),
        (ms(c[0]) / ms(c[1]) - 1.0) * 100.0
    );
    println!(
        "the check alone over W2's {} gradient elements: {:.4} ms = {:.2}% of the step",
        grads.iter().map(|g| g.len()).sum::<usize>(),
        ms(check),
        ms(check) / ms(c[0]) * 100.0
    );
}

criterion_group!(benches, bench, summary);
criterion_main!(benches);
