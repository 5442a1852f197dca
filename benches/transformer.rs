//! One training step of a transformer encoder layer: d_model 128, 4 heads, sequence 64, batch 16,
//! feed-forward 512, dropout 0.1; forward, backward through an MSE loss, and an Adam update. Reports
//! milliseconds per step.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use wengert::nn::optim::{Adam, Optimizer};
use wengert::nn::{Module, ParamStore, TransformerEncoderLayer, loss};
use wengert::prelude::*;

const D_MODEL: usize = 128;
const HEADS: usize = 4;
const SEQ: usize = 64;
const BATCH: usize = 16;

fn bench(c: &mut Criterion) {
    let store = ParamStore::<f32>::new(0);
    let layer = TransformerEncoderLayer::new(&store.root(), D_MODEL, HEADS);
    let mut opt = Adam::new(store.parameters(), 1e-3);
    let mut rng = StdRng::seed_from_u64(1);
    let x = Tensor::<f32>::randn(&[BATCH, SEQ, D_MODEL], &mut rng);
    let target = Tensor::<f32>::randn(&[BATCH, SEQ, D_MODEL], &mut rng);
    let mut step = || {
        let tape = Tape::new();
        let y = layer.forward(tape.constant(x.clone()));
        let l = loss::mse(y, tape.constant(target.clone()));
        opt.step(&l.backward()).expect("every parameter gets a gradient");
        black_box(l.item())
    };

    let mut g = c.benchmark_group("transformer");
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    g.bench_function("encoder_layer_train_step_d128_h4_s64_b16", |b| b.iter(&mut step));
    g.finish();

    let mut times: Vec<Duration> = (0..21)
        .map(|_| {
            let t = Instant::now();
            step();
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "\ntransformer encoder layer (d_model {D_MODEL}, {HEADS} heads, seq {SEQ}, batch {BATCH}): \
         {:.2} ms per training step (median of 21)",
        times[10].as_secs_f64() * 1e3
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
