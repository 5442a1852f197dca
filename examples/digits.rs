//! A small CNN reads handwritten digits (8x8 pixels, 10 classes): two blocks of a 3x3 convolution,
//! batch normalisation, ReLU and 2x2 max pooling, then a linear head, trained with `fit` on 80% of the
//! images and evaluated on the other 20%.
//!
//! Run: `cargo run --release --example digits [-- PATH]` (default: the copy the repository ships,
//! `data/digits.csv.gz`).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use wengert::nn::data::{TensorDataset, load_digits, train_test_split};
use wengert::nn::optim::Adam;
use wengert::nn::train::{FitOptions, Metric, Trainer, Verbosity};
use wengert::nn::{BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ParamStore, Relu, Sequential, loss};
use wengert::prelude::*;
use wengert::tensor::Conv2dOptions;

/// The copy of the data set the repository ships, `data/digits.csv.gz`.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz")
}

/// The digits at `path` (images `[N, 1, 8, 8]`, class indices as f32), split 80/20 into training and
/// held-out sets by `seed`.
///
/// # Errors
///
/// When the file is absent or malformed.
pub fn split(path: &Path, seed: u64) -> Result<(TensorDataset, TensorDataset), Box<dyn Error>> {
    let (images, labels) = load_digits::<f32>(path)?;
    let n = labels.len();
    let y = Tensor::from_vec(labels.iter().map(|&c| c as f32).collect(), &[n])?;
    Ok(train_test_split(&TensorDataset::new(images, y)?, 0.2, seed))
}

/// The CNN, its parameters in `store`: two blocks of a 3x3 convolution, batch norm, ReLU and 2x2 max
/// pooling, then a linear head from the 128 features to the 10 classes.
pub fn model(store: &ParamStore) -> Sequential {
    let same = Conv2dOptions::default().padding((1, 1));
    Sequential::new(&store.root())
        .add(|p| Conv2d::with_options(p, 1, 16, (3, 3), same, true)) //  [N, 16, 8, 8]
        .add(|p| BatchNorm2d::new(p, 16))
        .add(|_| Relu)
        .add(|_| MaxPool2d::new((2, 2))) //                                  [N, 16, 4, 4]
        .add(|p| Conv2d::with_options(p, 16, 32, (3, 3), same, true)) // [N, 32, 4, 4]
        .add(|p| BatchNorm2d::new(p, 32))
        .add(|_| Relu)
        .add(|_| MaxPool2d::new((2, 2))) //                                  [N, 32, 2, 2]
        .add(|_| Flatten)
        .add(|p| Linear::new(p, 128, 10))
}

/// Trains the CNN for `epochs` epochs from `seed` (weights, split and shuffling) on the digits at
/// `path`, printing each epoch, and returns its accuracy on the held-out 20%.
///
/// # Errors
///
/// When the file is absent or malformed, or training fails.
pub fn run(path: &Path, seed: u64, epochs: usize) -> Result<f64, Box<dyn Error>> {
    let (train, test) = split(path, seed)?;
    let store = ParamStore::new(seed);
    let model = model(&store);
    println!(
        "digits: {} training and {} test images, {} parameters",
        train.len(),
        test.len(),
        store.num_parameters()
    );

    let mut trainer =
        Trainer::new(&model, &store, Adam::new(store.parameters(), 0.01), loss::sparse_cross_entropy)
            .metrics(&[Metric::Accuracy]);
    let opts = FitOptions { epochs, batch_size: 32, verbosity: Verbosity::Lines, ..FitOptions::default() };
    let start = Instant::now();
    trainer.fit(train.inputs(), train.targets(), &opts)?;
    let eval = trainer.evaluate(test.inputs(), test.targets())?;
    let acc = eval.get("accuracy").expect("accuracy is a metric");
    println!(
        "held-out accuracy: {:.2}% (loss {:.4}) after {epochs} epochs in {:.1} s",
        100.0 * acc,
        eval.loss,
        start.elapsed().as_secs_f64()
    );
    Ok(acc)
}

#[allow(dead_code)] // tests, dist_digits and the benches' workloads include this file as a module
fn main() {
    let path = std::env::args().nth(1).map_or_else(default_path, PathBuf::from);
    if let Err(e) = run(&path, 0, 15) {
        eprintln!("digits: {e}");
        std::process::exit(1);
    }
}
