//! Training the models of `benches/workloads/models.rs` on a rayon pool of 2 threads, in f32: one
//! epoch of the digits CNN (`examples/digits.rs`'s model, 1437 images, batches of 32) and one step of
//! a GRU from 64 to 128 features over a batch of 32 sequences of 50 (the transformer encoder layer's
//! step is `benches/transformer.rs`). After the criterion groups it prints each one's median and its
//! forward, backward and optimizer phases.
//!
//! `cargo bench -p wengert-benches --bench models`; `benches/compare.rs` times the same workloads
//! against PyTorch.

mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use workloads::models::{CnnEpoch, GruStep, Phases, digits_path};
use workloads::ms;

/// Makes rayon's global pool 2 threads (criterion's state cannot move into another pool's closure).
fn two_threads() {
    // An error means the pool was built already, by the first caller.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(2).build_global();
    assert_eq!(rayon::current_num_threads(), 2, "rayon's global pool has 2 threads");
}

fn bench(c: &mut Criterion) {
    two_threads();
    let mut cnn = CnnEpoch::new(&digits_path()).expect("the digits data the repository ships");
    let mut gru = GruStep::new();
    let mut g = c.benchmark_group("models");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    g.bench_function("digits_cnn_epoch_b32", |b| b.iter(|| black_box(cnn.epoch().0)));
    g.sample_size(20);
    g.bench_function("gru_64_128_train_step_s50_b32", |b| b.iter(|| black_box(gru.step().0)));
    g.finish();
}

/// The medians of 21 runs of `f` after one warm-up, the whole and each phase, in ms.
fn phase_medians(mut f: impl FnMut() -> Phases) -> [f64; 4] {
    f();
    let runs: Vec<Phases> = (0..21).map(|_| f()).collect();
    let median = |get: fn(&Phases) -> Duration| {
        let mut v: Vec<Duration> = runs.iter().map(get).collect();
        v.sort();
        ms(v[v.len() / 2])
    };
    [median(|p| p.total()), median(|p| p.forward), median(|p| p.backward), median(|p| p.optimizer)]
}

/// The summary, after the criterion groups; skipped when criterion runs the bench as a test.
fn summary(_: &mut Criterion) {
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    two_threads();
    let mut cnn = CnnEpoch::new(&digits_path()).expect("the digits data the repository ships");
    let images = cnn.images();
    let mut gru = GruStep::new();
    println!("\nmodels summary (medians of 21, 2 threads, ms: whole / forward / backward / optimizer)");
    let [t, f, b, o] = phase_medians(|| cnn.epoch().1);
    println!("digits CNN epoch ({images} images, batch 32): {t:.2} / {f:.2} / {b:.2} / {o:.2}");
    let [t, f, b, o] = phase_medians(|| gru.step().1);
    println!("GRU 64->128 step (seq 50, batch 32):        {t:.3} / {f:.3} / {b:.3} / {o:.3}");
}

criterion_group!(benches, bench, summary);
criterion_main!(benches);
