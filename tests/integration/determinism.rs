//! The same seed gives bit-identical training on 1 and on 2 threads: 100 steps of W2 (a
//! 784-512-512-10 ReLU MLP, batch 128, softmax cross-entropy, Adam), every loss and every weight
//! compared bit for bit; and 3 steps of the transformer encoder layer workload (d_model 128, 4 heads,
//! sequence 64, batch 16, dropout 0.1, MSE, Adam) on 1, 2 and 3 threads. Matmul, the elementwise kernels and Adam all run on the installed rayon pool,
//! so the two runs really use 1 and 2 threads.

#[path = "../../benches/workloads/mod.rs"]
mod workloads;

use workloads::models::{TransformerStep, weight_bits};
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

/// The losses of 3 transformer steps and the layer's final weights, as bits, on `threads` threads.
fn train_transformer(threads: usize) -> (Vec<u32>, Vec<Vec<u32>>) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool");
    pool.install(|| {
        assert_eq!(rayon::current_num_threads(), threads);
        let mut w = TransformerStep::new();
        let losses = (0..3).map(|_| w.step().0.to_bits()).collect();
        (losses, weight_bits(&w.store))
    })
}

#[test]
fn transformer_training_is_bit_identical_on_one_two_and_three_threads() {
    let one = train_transformer(1);
    for threads in [2, 3] {
        let other = train_transformer(threads);
        assert_eq!(one.0, other.0, "the losses on 1 and {threads} threads differ");
        assert_eq!(one.1.len(), other.1.len());
        for (i, (a, b)) in one.1.iter().zip(&other.1).enumerate() {
            let at = a.iter().zip(b).position(|(x, y)| x != y);
            assert_eq!(at, None, "parameter {i} differs at element {at:?} on 1 and {threads} threads");
        }
    }
    let (first, last) = (f32::from_bits(one.0[0]), f32::from_bits(one.0[2]));
    assert!(last < first, "3 steps of Adam lower the loss: {first} -> {last}");
}
