//! An MLP classifies the two-moons set it generates: `fit` with a validation split, accuracy as a
//! metric and the progress bar, then `evaluate` on held-out points.
//!
//! Run: `cargo run --release --example classifier`

use rand::Rng;
use wengert::nn::optim::Adam;
use wengert::nn::train::{FitOptions, Metric, Trainer, Validation, Verbosity};
use wengert::nn::{Linear, ParamStore, Relu, SeedRng, Sequential, loss};
use wengert::prelude::*;

/// `n` points of two interleaved half circles with Gaussian noise, and their classes (0 or 1).
pub fn moons(n: usize, noise: f32, seed: u64) -> (Tensor<f32>, Tensor<f32>) {
    let mut rng = SeedRng::new(seed);
    let (mut xs, mut ys) = (Vec::with_capacity(2 * n), Vec::with_capacity(n));
    for _ in 0..n {
        let class = rng.random_bool(0.5);
        let t = rng.random::<f32>() * std::f32::consts::PI;
        let (x, y) = if class { (1.0 - t.cos(), 0.5 - t.sin()) } else { (t.cos(), t.sin()) };
        let jitter = Tensor::<f32>::randn(&[2], &mut rng).to_vec();
        xs.extend([x + noise * jitter[0], y + noise * jitter[1]]);
        ys.push(if class { 1.0 } else { 0.0 });
    }
    (Tensor::from_vec(xs, &[n, 2]).expect("n x 2"), Tensor::from_vec(ys, &[n]).expect("n"))
}

/// Trains the classifier and returns its accuracy on held-out points.
pub fn run(verbosity: Verbosity) -> f64 {
    let (x, y) = moons(1000, 0.1, 1);
    let store = ParamStore::new(0);
    let model = Sequential::new(&store.root())
        .add(|p| Linear::new(p, 2, 32))
        .add(|_| Relu)
        .add(|p| Linear::new(p, 32, 32))
        .add(|_| Relu)
        .add(|p| Linear::new(p, 32, 2));
    let mut trainer =
        Trainer::new(&model, &store, Adam::new(store.parameters(), 0.01), loss::sparse_cross_entropy)
            .metrics(&[Metric::Accuracy]);
    let opts = FitOptions {
        epochs: 60,
        batch_size: 32,
        validation: Validation::Split(0.2),
        verbosity,
        log_every: 10,
        ..FitOptions::default()
    };
    let history = trainer.fit(&x, &y, &opts).expect("the moons fit");
    let last = history.last().expect("60 epochs");
    println!("after {} epochs: {}", last.epoch, last.summary());

    let (test_x, test_y) = moons(500, 0.1, 2);
    let eval = trainer.evaluate(&test_x, &test_y).expect("500 held-out points");
    let acc = eval.get("accuracy").expect("accuracy is a metric");
    println!("held-out accuracy: {:.1}% (loss {:.4})", 100.0 * acc, eval.loss);
    acc
}

#[allow(dead_code)] // tests include this file as a module and call `run`
fn main() {
    run(Verbosity::Auto);
}
