//! The digits CNN on MNIST (28x28 pixels, 10 classes): two blocks of a 3x3 convolution, batch
//! normalisation, ReLU and 2x2 max pooling, then a linear head, trained with `fit` on the training
//! files and evaluated on the test files.
//!
//! Run: `cargo run --release --example mnist [-- DIR]`, with `DIR` (or the `MNIST_DIR` environment
//! variable) the folder holding the four IDX files `train-images-idx3-ubyte`,
//! `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each plain or
//! gzipped (`.gz`), as <http://yann.lecun.com/exdb/mnist/> ships them.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use wengert::nn::data::{MNIST_FILES, TensorDataset, load_mnist};
use wengert::nn::optim::Adam;
use wengert::nn::train::{FitOptions, Metric, Trainer, Verbosity};
use wengert::nn::{BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ParamStore, Relu, Sequential, loss};
use wengert::tensor::Conv2dOptions;

/// The CNN for `side`×`side` single-channel images (`side` divisible by 4): conv blocks of 16 and 32
/// channels, each halving the image, then a linear head to 10 classes.
pub fn cnn(store: &ParamStore, side: usize) -> Sequential {
    let same = Conv2dOptions::default().padding((1, 1));
    Sequential::new(&store.root())
        .add(|p| Conv2d::with_options(p, 1, 16, (3, 3), same, true))
        .add(|p| BatchNorm2d::new(p, 16))
        .add(|_| Relu)
        .add(|_| MaxPool2d::new((2, 2)))
        .add(|p| Conv2d::with_options(p, 16, 32, (3, 3), same, true))
        .add(|p| BatchNorm2d::new(p, 32))
        .add(|_| Relu)
        .add(|_| MaxPool2d::new((2, 2)))
        .add(|_| Flatten)
        .add(|p| Linear::new(p, 32 * (side / 4) * (side / 4), 10))
}

/// Trains the CNN for `epochs` epochs from `seed` on the MNIST files in `dir`, printing each epoch,
/// and returns its accuracy on the test files.
///
/// # Errors
///
/// When a file is absent (the message names the four expected files) or malformed, or training fails.
pub fn run(dir: &Path, seed: u64, epochs: usize) -> Result<f64, Box<dyn Error>> {
    let (train, test): (TensorDataset, TensorDataset) = load_mnist(dir)?;
    let side = train.inputs().shape()[2];
    if side % 4 != 0 || train.inputs().shape()[3] != side {
        return Err(format!(
            "mnist: images of shape {:?}, not square with a side divisible by 4",
            train.inputs().shape()
        )
        .into());
    }
    let store = ParamStore::new(seed);
    let model = cnn(&store, side);
    println!(
        "mnist: {} training and {} test images, {} parameters",
        train.len(),
        test.len(),
        store.num_parameters()
    );
    let mut trainer =
        Trainer::new(&model, &store, Adam::new(store.parameters(), 0.01), loss::sparse_cross_entropy)
            .metrics(&[Metric::Accuracy]);
    let opts = FitOptions { epochs, batch_size: 64, verbosity: Verbosity::Lines, ..FitOptions::default() };
    let start = Instant::now();
    trainer.fit(train.inputs(), train.targets(), &opts)?;
    let eval = trainer.evaluate(test.inputs(), test.targets())?;
    let acc = eval.get("accuracy").expect("accuracy is a metric");
    println!(
        "test accuracy: {:.2}% (loss {:.4}) after {epochs} epochs in {:.1} s",
        100.0 * acc,
        eval.loss,
        start.elapsed().as_secs_f64()
    );
    Ok(acc)
}

/// The folder given as the first argument, else `MNIST_DIR`.
fn data_dir() -> Option<PathBuf> {
    std::env::args().nth(1).or_else(|| std::env::var("MNIST_DIR").ok()).map(PathBuf::from)
}

#[allow(dead_code)] // tests include this file as a module and call `run`
fn main() {
    let Some(dir) = data_dir() else {
        eprintln!(
            "mnist: give the folder of the MNIST files as an argument or in MNIST_DIR; it must hold {} (each plain or .gz)",
            MNIST_FILES.join(", ")
        );
        std::process::exit(2);
    };
    if let Err(e) = run(&dir, 0, 3) {
        eprintln!("mnist: {e}");
        std::process::exit(1);
    }
}
