//! `fit`'s callbacks and checks: early stopping with restored weights, the best-weights checkpoint,
//! validation data, clear errors for data that do not fit together, and batches whose gradients are
//! not finite.

use wengert::nn::checkpoint::load_weights;
use wengert::nn::optim::Sgd;
use wengert::nn::train::{
    BestCheckpoint, EarlyStopping, FitOptions, NonFinite, TrainError, Trainer, Validation, Verbosity,
};
use wengert::nn::{Linear, ParamStore, loss};
use wengert::prelude::*;

fn data() -> (Tensor<f32>, Tensor<f32>) {
    let x = Tensor::from_vec((0..20).map(|i| i as f32 / 10.0).collect(), &[10, 2]).unwrap();
    let y = Tensor::from_vec((0..10).map(|i| i as f32 / 5.0).collect(), &[10, 1]).unwrap();
    (x, y)
}

fn quiet(epochs: usize) -> FitOptions<f32> {
    FitOptions { epochs, batch_size: 5, verbosity: Verbosity::Quiet, ..FitOptions::default() }
}

#[test]
fn early_stopping_stops_after_patience_and_restores_the_best_weights() {
    let (x, y) = data();
    let store = ParamStore::new(0);
    let model = Linear::new(&store.root(), 2, 1);
    // A learning rate this large diverges: the loss rises from the first epoch on.
    let stopper = EarlyStopping::new("loss", 2).restore_best(true);
    let mut trainer = Trainer::new(&model, &store, Sgd::new(store.parameters(), 2.0), |p, t| loss::mse(p, t))
        .callback(stopper);
    let before = model.weight.value();
    let history = trainer.fit(&x, &y, &quiet(50));
    match history {
        Ok(h) => {
            assert!(h.stopped_early, "stopped after {} epochs", h.epochs.len());
            assert_eq!(h.epochs.len(), 3, "best at epoch 1, then 2 bad epochs");
            assert_ne!(model.weight.value(), before, "the best weights are epoch 1's, not the initial ones");
        }
        Err(TrainError::NonFiniteLoss { epoch }) => {
            panic!("diverged to a non-finite loss in epoch {epoch} first")
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn best_checkpoint_saves_when_the_validation_loss_improves() {
    let (x, y) = data();
    let path = std::env::temp_dir().join(format!("wengert-best-{}", std::process::id()));
    let store = ParamStore::new(1);
    let model = Linear::new(&store.root(), 2, 1);
    let mut trainer =
        Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.05), |p, t| loss::mse(p, t))
            .callback(BestCheckpoint::new(&path, "val_loss"));
    let opts = FitOptions { validation: Validation::Data(x.clone(), y.clone()), ..quiet(20) };
    let history = trainer.fit(&x, &y, &opts).unwrap();
    let val = history.series("val_loss");
    assert_eq!(val.len(), 20);
    assert!(val[19] < val[0]);
    let other = ParamStore::new(2);
    let copy = Linear::new(&other.root(), 2, 1);
    load_weights(&other, &path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let best = val.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(best, val[19], "the loss falls every epoch here, so the last epoch is the best");
    assert_eq!(copy.weight.value(), model.weight.value());
}

#[test]
fn fit_names_inputs_and_targets_that_do_not_match() {
    let (x, _) = data();
    let store = ParamStore::new(0);
    let model = Linear::new(&store.root(), 2, 1);
    let mut trainer = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.1), |p, t| loss::mse(p, t));
    let err = trainer.fit(&x, &Tensor::zeros(&[7, 1]), &quiet(1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "fit: training inputs of shape [10, 2] and targets of shape [7, 1] do not have the same number of rows"
    );
    let err = trainer.fit(
        &x,
        &Tensor::zeros(&[10, 1]),
        &FitOptions { validation: Validation::Split(1.5), ..quiet(1) },
    );
    assert!(err.unwrap_err().to_string().contains("validation split 1.5"));
}

/// Twenty rows; row 12's target is 0, every other target positive.
fn data_with_a_zero_target() -> (Tensor<f32>, Tensor<f32>) {
    let x = Tensor::from_vec((0..40).map(|i| i as f32 / 40.0).collect(), &[20, 2]).unwrap();
    let y = Tensor::from_vec(
        (0..20).map(|i| if i == 12 { 0.0 } else { 1.0 + i as f32 / 10.0 }).collect(),
        &[20, 1],
    )
    .unwrap();
    (x, y)
}

/// MSE plus `0 · Σ√(0·p + t)`: the same finite value, but where a target is 0 the gradient is
/// `0 · ∞ = NaN` (as a `√` or `log` at 0 in a real loss gives).
fn nan_at_zero_targets<'t>(p: Var<'t, f32>, t: Var<'t, f32>) -> Var<'t, f32> {
    loss::mse(p, t) + (p * 0.0 + t).sqrt().sum() * 0.0
}

#[test]
fn fit_stops_at_a_non_finite_gradient_naming_epoch_batch_and_parameters() {
    let (x, y) = data_with_a_zero_target();
    let store = ParamStore::new(3);
    let model = Linear::new(&store.root(), 2, 1);
    let mut trainer = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.01), nan_at_zero_targets);
    let opts = FitOptions { shuffle: false, ..quiet(2) };
    let err = trainer.fit(&x, &y, &opts).unwrap_err();
    let names = vec![model.weight.name().to_string(), model.bias.as_ref().unwrap().name().to_string()];
    assert_eq!(err, TrainError::NonFiniteGradients { epoch: 1, batch: 3, names: names.clone() });
    assert!(
        err.to_string().starts_with(&format!("fit: epoch 1, batch 3: the gradient of `{}`", names[0])),
        "{err}"
    );
    let w = model.weight.value().to_vec();
    assert!(w.iter().all(|v| v.is_finite()), "{w:?}");
}

#[test]
fn fit_with_skip_batch_skips_non_finite_steps_and_trains_on() {
    let (x, y) = data_with_a_zero_target();
    let store = ParamStore::new(3);
    let model = Linear::new(&store.root(), 2, 1);
    let mut trainer = Trainer::new(&model, &store, Sgd::new(store.parameters(), 0.05), nan_at_zero_targets);
    let opts = FitOptions { shuffle: false, on_nonfinite: NonFinite::SkipBatch, ..quiet(30) };
    let history = trainer.fit(&x, &y, &opts).unwrap();
    assert_eq!(history.epochs.len(), 30);
    assert_eq!(history.skipped_batches, (1..=30).map(|e| (e, 3)).collect::<Vec<_>>());
    let w = model.weight.value().to_vec();
    assert!(w.iter().all(|v| v.is_finite()), "{w:?}");
    let loss = history.series("loss");
    assert!(loss.iter().all(|l| l.is_finite()) && loss[29] < loss[0], "{loss:?}");
}
