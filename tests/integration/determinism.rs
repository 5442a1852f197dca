//! The same seed gives bit-identical training on 1 and on 2 threads: 100 steps of W2 (a
//! 784-512-512-10 ReLU MLP, batch 128, softmax cross-entropy, Adam), every loss and every weight
//! compared bit for bit; and 3 steps of the transformer encoder layer workload (d_model 128, 4 heads,
//! sequence 64, batch 16, dropout 0.1, MSE, Adam) and of the GRU workload (64 → 128, sequence 50,
//! batch 32) on 1, 2 and 3 threads; and one epoch of the digits CNN (batch norm, max pooling) on 1 and
//! 2 threads. Matmul, the elementwise kernels and Adam all run on the installed rayon pool, so the
//! runs really use that many threads.

#[path = "../../benches/workloads/mod.rs"]
mod workloads;

use wengert::nn::ParamStore;
use workloads::models::{CnnEpoch, GruStep, TransformerStep, digits_path, weight_bits};
use workloads::{Mlp, W2};

/// The losses of 100 steps and the final weights, as bits, on a pool of `threads` threads.
fn train(threads: usize) -> (Vec<u32>, Vec<Vec<u32>>) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool");
    pool.install(|| {
        assert_eq!(rayon::current_num_threads(), threads);
        let mut mlp = Mlp::new(W2);
        let losses = (0..100).map(|_| mlp.step().to_bits()).collect();
        let weights = mlp.weights().iter().map(|w| w.iter().map(|v| v.to_bits()).collect()).collect();
        (losses, weights)
    })
}

#[test]
fn w2_training_is_bit_identical_on_one_and_two_threads() {
    let (one, two) = (train(1), train(2));
    let first_diff = one.0.iter().zip(&two.0).position(|(a, b)| a != b);
    assert_eq!(first_diff, None, "the losses differ from step {first_diff:?} on");
    for (i, (a, b)) in one.1.iter().zip(&two.1).enumerate() {
        let at = a.iter().zip(b).position(|(x, y)| x != y);
        assert_eq!(at, None, "parameter {i} differs at element {at:?}");
    }
    let (first, last) = (f32::from_bits(one.0[0]), f32::from_bits(one.0[99]));
    assert!(last < first, "100 steps of Adam lower the loss: {first} -> {last}");
}

#[test]
fn transformer_training_is_bit_identical_on_one_two_and_three_threads() {
    let run = |threads| train_workload(threads, 3, TransformerStep::new, |w| w.step().0, |w| &w.store);
    let one = run(1);
    for threads in [2, 3] {
        assert_same_bits("transformer", &one, &run(threads), threads);
    }
    let (first, last) = (f32::from_bits(one.0[0]), f32::from_bits(one.0[2]));
    assert!(last < first, "3 steps of Adam lower the loss: {first} -> {last}");
}

/// The losses of `steps` steps of the workload `make` builds and its final weights, as bits, on a
/// pool of `threads` threads.
fn train_workload<W>(
    threads: usize,
    steps: usize,
    make: impl Fn() -> W + Send,
    mut step: impl FnMut(&mut W) -> f32 + Send,
    store: impl Fn(&W) -> &ParamStore<f32> + Send,
) -> (Vec<u32>, Vec<Vec<u32>>) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool");
    pool.install(move || {
        assert_eq!(rayon::current_num_threads(), threads);
        let mut w = make();
        let losses = (0..steps).map(|_| step(&mut w).to_bits()).collect();
        (losses, weight_bits(store(&w)))
    })
}

/// Asserts that `other` (losses and weights as bits, on `threads` threads) equals `one` (1 thread).
fn assert_same_bits(
    what: &str,
    one: &(Vec<u32>, Vec<Vec<u32>>),
    other: &(Vec<u32>, Vec<Vec<u32>>),
    threads: usize,
) {
    assert_eq!(one.0, other.0, "{what}: the losses on 1 and {threads} threads differ");
    assert_eq!(one.1.len(), other.1.len());
    for (i, (a, b)) in one.1.iter().zip(&other.1).enumerate() {
        let at = a.iter().zip(b).position(|(x, y)| x != y);
        assert_eq!(at, None, "{what}: parameter {i} differs at element {at:?} on 1 and {threads} threads");
    }
}

#[test]
fn gru_training_is_bit_identical_on_one_two_and_three_threads() {
    let run = |threads| train_workload(threads, 3, GruStep::new, |w| w.step().0, |w| &w.store);
    let one = run(1);
    for threads in [2, 3] {
        assert_same_bits("gru", &one, &run(threads), threads);
    }
    let (first, last) = (f32::from_bits(one.0[0]), f32::from_bits(one.0[2]));
    assert!(last < first, "3 steps of Adam lower the loss: {first} -> {last}");
}

#[test]
fn a_digits_cnn_epoch_is_bit_identical_on_one_and_two_threads() {
    let path = digits_path();
    let make = || CnnEpoch::new(&path).unwrap_or_else(|e| panic!("the digits at {}: {e}", path.display()));
    let run = |threads| train_workload(threads, 1, make, |w| w.epoch().0, |w| &w.store);
    let one = run(1);
    assert_same_bits("digits cnn", &one, &run(2), 2);
    assert!(f32::from_bits(one.0[0]).is_finite(), "the epoch's mean loss is finite");
}
