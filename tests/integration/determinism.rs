//! The same seed gives bit-identical training on 1 and on 2 threads: 100 steps of W2 (a
//! 784-512-512-10 ReLU MLP, batch 128, softmax cross-entropy, Adam), every loss and every weight
//! compared bit for bit. Matmul, the elementwise kernels and Adam all run on the installed rayon pool,
//! so the two runs really use 1 and 2 threads.

#[path = "../../benches/workloads/mod.rs"]
mod workloads;

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
