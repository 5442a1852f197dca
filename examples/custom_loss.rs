//! A user-written loss — the log-cosh loss, smooth like MSE near 0 and like L1 far away — written with
//! Var ops, then property-tested against finite differences with `wengert::tape::check`.
//!
//! log_cosh(p, t) = mean(log(cosh(p - t))), written stably as |d| + softplus(-2|d|) - ln 2.

use proptest::test_runner::{Config, TestRunner};
use wengert::prelude::*;
use wengert::tape::check::{GradcheckOptions, gradcheck, strategy};

/// The log-cosh loss of predictions against targets.
fn log_cosh<'t>(pred: Var<'t, f64>, target: Var<'t, f64>) -> Var<'t, f64> {
    let d = (pred - target).abs();
    (d + (d * -2.0).softplus() - std::f64::consts::LN_2).mean()
}

fn main() {
    let tape = Tape::<f64>::new();
    let p = tape.var(Tensor::from_vec(vec![0.5, 2.0, -3.0], &[3]).unwrap());
    let t = tape.constant(Tensor::from_vec(vec![0.0, 2.5, 1.0], &[3]).unwrap());
    let loss = log_cosh(p, t);
    println!("log_cosh = {:.6}", loss.item());
    println!("d loss / d pred = {:.6}", loss.backward()[p]);

    // The property: for any predictions and targets, the gradient matches finite differences. (The
    // kinks of |d| and of softplus(-2|d|) at d = 0 cancel: the loss is smooth, with derivative tanh d.)
    let mut runner = TestRunner::new(Config { cases: 64, ..Config::default() });
    let pairs = (strategy::tensor(&[4], -5.0..5.0), strategy::tensor(&[4], -5.0..5.0));
    let result = runner.run(&pairs, |(pred, target)| {
        gradcheck(|v| log_cosh(v[0], v[1]), &[pred, target], &GradcheckOptions::default())
            .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))
    });
    match result {
        Ok(()) => println!("gradcheck held on 64 random cases"),
        Err(e) => panic!("gradcheck failed: {e}"),
    }
}
