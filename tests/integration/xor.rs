//! A small MLP learns XOR to 100% through `fit`.

use wengert::nn::optim::Adam;
use wengert::nn::train::{FitOptions, Metric, Trainer, Verbosity};
use wengert::nn::{Linear, ParamStore, Sequential, Tanh, loss};
use wengert::prelude::*;

#[test]
fn an_mlp_learns_xor() {
    let x = Tensor::<f32>::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]).unwrap();
    let y = Tensor::<f32>::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4]).unwrap();
    let store = ParamStore::new(3);
    let model = Sequential::new(&store.root())
        .add(|p| Linear::new(p, 2, 8))
        .add(|_| Tanh)
        .add(|p| Linear::new(p, 8, 2));
    let mut trainer =
        Trainer::new(&model, &store, Adam::new(store.parameters(), 0.05), loss::sparse_cross_entropy)
            .metrics(&[Metric::Accuracy]);
    let opts =
        FitOptions { epochs: 300, batch_size: 4, verbosity: Verbosity::Quiet, ..FitOptions::default() };
    let history = trainer.fit(&x, &y, &opts).unwrap();
    assert_eq!(history.last().unwrap().get("accuracy"), Some(1.0));
    let eval = trainer.evaluate(&x, &y).unwrap();
    assert_eq!(eval.get("accuracy"), Some(1.0));
    assert!(eval.loss < 0.05, "loss {}", eval.loss);
}
