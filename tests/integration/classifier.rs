//! The classifier example reaches 95% held-out accuracy, and an MLP reaches 95% on the real iris data.

use wengert::nn::data::load_iris;
use wengert::nn::optim::Adam;
use wengert::nn::train::{FitOptions, Metric, Trainer, Verbosity};
use wengert::nn::{Linear, ParamStore, Sequential, Tanh, loss};
use wengert::prelude::*;

#[path = "../../examples/classifier.rs"]
mod example;

#[test]
fn the_moons_classifier_reaches_95_percent_held_out() {
    let acc = example::run(Verbosity::Quiet);
    assert!(acc >= 0.95, "held-out accuracy {acc}");
}

#[test]
fn an_mlp_reaches_95_percent_on_held_out_iris() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris.csv");
    let (x, labels) = load_iris::<f32>(path).unwrap_or_else(|e| panic!("{e}"));
    // Standardise the features, then hold out every fifth sample (30 of 150, all classes).
    let x = (&x - &x.mean_axes(&[0], true)) / x.std_axes(&[0], 0, true);
    let (train, test): (Vec<usize>, Vec<usize>) = (0..150).partition(|i| i % 5 != 0);
    let y = Tensor::from_vec(labels.iter().map(|&c| c as f32).collect(), &[150]).unwrap();
    let store = ParamStore::new(0);
    let model = Sequential::new(&store.root())
        .add(|p| Linear::new(p, 4, 16))
        .add(|_| Tanh)
        .add(|p| Linear::new(p, 16, 3));
    let mut trainer =
        Trainer::new(&model, &store, Adam::new(store.parameters(), 0.02), loss::sparse_cross_entropy)
            .metrics(&[Metric::Accuracy]);
    let opts =
        FitOptions { epochs: 150, batch_size: 16, verbosity: Verbosity::Quiet, ..FitOptions::default() };
    trainer.fit(&x.index_select(0, &train), &y.index_select(0, &train), &opts).unwrap();
    let eval = trainer.evaluate(&x.index_select(0, &test), &y.index_select(0, &test)).unwrap();
    let acc = eval.get("accuracy").unwrap();
    assert!(acc >= 0.95, "held-out iris accuracy {acc}");
}
