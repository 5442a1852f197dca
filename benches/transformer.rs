//! One training step of a transformer encoder layer: d_model 128, 4 heads, sequence 64, batch 16,
//! feed-forward 512, exact GELU, dropout 0.1, pre-norm; forward, backward through an MSE loss, and an
//! Adam update (`benches/workloads/models.rs`'s `TransformerStep`), on a rayon pool of 2 threads.
//! Reports milliseconds per step, then the median of 21 steps and of their forward, backward and
//! optimizer phases.

mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use workloads::models::{TRANSFORMER, TransformerStep};
use workloads::ms;

/// Makes rayon's global pool 2 threads (criterion's state cannot move into another pool's closure).
fn two_threads() {
    // An error means the pool was built already, by the first caller.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(2).build_global();
    assert_eq!(rayon::current_num_threads(), 2, "rayon's global pool has 2 threads");
}

fn bench(c: &mut Criterion) {
    two_threads();
    let mut w = TransformerStep::new();
    let mut g = c.benchmark_group("transformer");
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    g.bench_function("encoder_layer_train_step_d128_h4_s64_b16", |b| b.iter(|| black_box(w.step().0)));
    g.finish();

    let mut runs: Vec<_> = (0..21).map(|_| w.step().1).collect();
    let mut median = |get: fn(&workloads::models::Phases) -> Duration| {
        runs.sort_by_key(get);
        ms(get(&runs[10]))
    };
    let (total, fwd, bwd, opt) =
        (median(|p| p.total()), median(|p| p.forward), median(|p| p.backward), median(|p| p.optimizer));
    let (d_model, heads, seq, batch) = TRANSFORMER;
    println!(
        "\ntransformer encoder layer (d_model {d_model}, {heads} heads, seq {seq}, batch {batch}), 2 threads: \
         {total:.2} ms per training step (median of 21): forward {fwd:.2}, backward {bwd:.2}, optimizer {opt:.2}"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
