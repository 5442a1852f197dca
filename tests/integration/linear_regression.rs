//! The seed's linear regression, end to end through `fit` and `predict`: the reference run matches
//! Keras, PyTorch and an f64 reference, and the higher learning rate reaches the targets.

#[path = "../../examples/linear_regression.rs"]
mod example;

#[test]
fn the_reference_run_matches_keras_to_1e_4() {
    let out = example::run(0, true, 0.001);
    let loss = *out.history.series("loss").last().unwrap();
    assert!((loss - 0.0222220).abs() < 1e-4, "final loss {loss}");
    for (got, want) in out.predictions.iter().zip([4.67609, 5.54306, 6.41002]) {
        assert!((f64::from(*got) - want).abs() < 1e-4, "predictions {:?}", out.predictions);
    }
}

#[test]
fn the_higher_learning_rate_reaches_the_targets() {
    for seed in [0, 1, 2] {
        let out = example::run(seed, false, 0.05);
        for (got, want) in out.predictions.iter().zip([5.0, 6.0, 7.0]) {
            assert!((got - want).abs() < 0.05, "seed {seed}: predictions {:?}", out.predictions);
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_training() {
    let (a, b) = (example::run(7, false, 0.001), example::run(7, false, 0.001));
    assert_eq!(a.predictions, b.predictions);
    assert_eq!(a.history, b.history);
}
