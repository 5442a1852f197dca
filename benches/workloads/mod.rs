//! The workloads W1–W5, shared by `benches/train.rs`, `benches/tape.rs` and
//! `benches/report.rs` (and the timing helpers by `benches/conv.rs`): every one in f32 from a
//! fixed seed, so that all measure exactly the same work.
//!
//! W1 the seed's 1000 Adam epochs on 4 points through `Trainer::fit` · W2 one training step of a
//! 784-512-512-10 ReLU MLP on a batch of 128, softmax cross-entropy, Adam, and the 8 GEMMs of that
//! step alone · W3 1000 × `y = tanh(y * 1.01 + 0.01)` on [16], then sum, forward + backward (tape
//! bench (a)) · W4 a Hessian-vector product of a 64-64-1 tanh MLP on a batch of 32, MSE (tape bench (c)).

#![allow(dead_code)] // each including target uses a different part

pub mod models;

#[path = "../../examples/linear_regression.rs"]
mod linear_regression;

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wengert::nn::optim::{Adam, Optimizer};
use wengert::nn::{GradientsParam, Linear, Module, ParamStore, Relu, Sequential, loss};
use wengert::prelude::*;
use wengert::tape::Gradients;
use wengert::tape::functional::hvp;

/// W1: the seed program's whole training (1000 epochs, batch 10, Adam, from the reference start),
/// through the same `fit` a user calls; returns the final loss.
pub fn w1() -> f64 {
    let out = linear_regression::run(0, true, 0.001);
    out.history.last().expect("1000 epochs").loss
}

/// The sizes of a W2 model: input width, hidden width (twice), classes, batch rows.
#[derive(Debug, Clone, Copy)]
pub struct MlpShape {
    /// Input features (784).
    pub inputs: usize,
    /// Width of both hidden layers (512).
    pub hidden: usize,
    /// Classes (10).
    pub classes: usize,
    /// Rows per batch (128).
    pub batch: usize,
}

/// W2's shape: 784-512-512-10 on a batch of 128.
pub const W2: MlpShape = MlpShape { inputs: 784, hidden: 512, classes: 10, batch: 128 };

/// W2: a ReLU MLP, its Adam optimizer and one fixed batch of inputs and class targets.
pub struct Mlp {
    /// The parameters (Glorot-uniform weights from the store's seed, zero biases).
    pub store: ParamStore<f32>,
    model: Sequential<f32>,
    opt: Adam<f32>,
    x: Tensor<f32>,
    targets: Vec<usize>,
}

impl Mlp {
    /// The model of `shape` from seed 0 and a batch from seed 1, with Adam at PyTorch's defaults.
    pub fn new(shape: MlpShape) -> Self {
        let MlpShape { inputs, hidden, classes, batch } = shape;
        let store = ParamStore::<f32>::new(0);
        let model = Sequential::new(&store.root())
            .add(|p| Linear::new(p, inputs, hidden))
            .add(|_| Relu)
            .add(|p| Linear::new(p, hidden, hidden))
            .add(|_| Relu)
            .add(|p| Linear::new(p, hidden, classes));
        let opt = Adam::new(store.parameters(), 1e-3);
        let mut rng = StdRng::seed_from_u64(1);
        let x = Tensor::randn(&[batch, inputs], &mut rng);
        let targets = (0..batch).map(|_| rng.random_range(0..classes)).collect();
        Mlp { store, model, opt, x, targets }
    }

    /// The same model and batch with the optimizer's check that gradients are finite turned off (to
    /// measure what the check costs).
    pub fn without_finite_check(mut self) -> Self {
        self.opt = self.opt.check_finite(false);
        self
    }

    /// One training step: forward, softmax cross-entropy, backward, Adam; returns the loss.
    pub fn step(&mut self) -> f32 {
        let (grads, value) = self.gradients();
        self.opt.step(&grads).expect("every parameter has a gradient");
        value
    }

    /// The forward and backward of a step: the gradients and the loss.
    pub fn gradients(&self) -> (Gradients<f32>, f32) {
        let tape = Tape::new();
        let logits = self.model.forward(tape.constant(self.x.clone()));
        let l = loss::cross_entropy(logits, &self.targets);
        let value = l.item();
        (l.backward(), value)
    }

    /// Every parameter's gradient from one forward and backward, in order.
    pub fn gradient_tensors(&self) -> Vec<Tensor<f32>> {
        let grads = self.gradients().0;
        self.store.parameters().iter().map(|p| grads.param(p).expect("a gradient").clone()).collect()
    }

    /// Every parameter's values, in order (for comparing runs bit for bit).
    pub fn weights(&self) -> Vec<Vec<f32>> {
        self.store.parameters().iter().map(|p| p.value().to_vec()).collect()
    }
}

/// The 8 GEMMs of one W2 step with the operand layouts the step uses (weights `[out, in]`, read
/// through transposed views): forward `h·Wᵀ` ×3, backward `g·W` ×2 (no gradient for the input) and
/// `gᵀ·h` ×3 for the weights (the fused linear's rule, which gives them in W's own layout).
pub struct Gemms {
    pairs: Vec<(Tensor<f32>, Tensor<f32>)>,
}

impl Gemms {
    /// Random operands of `shape`'s sizes from seed 2.
    pub fn new(shape: MlpShape) -> Self {
        let MlpShape { inputs, hidden, classes, batch } = shape;
        let mut rng = StdRng::seed_from_u64(2);
        let mut r = |s: &[usize]| Tensor::<f32>::randn(s, &mut rng);
        let (x, h1, h2) = (r(&[batch, inputs]), r(&[batch, hidden]), r(&[batch, hidden]));
        let (w1, w2, w3) = (r(&[hidden, inputs]), r(&[hidden, hidden]), r(&[classes, hidden]));
        let (g1, g2, g3) = (r(&[batch, hidden]), r(&[batch, hidden]), r(&[batch, classes]));
        let pairs = vec![
            (x.clone(), w1.t()),
            (h1.clone(), w2.t()),
            (h2.clone(), w3.t()),
            (g3.clone(), w3),
            (g3.t(), h2),
            (g2.clone(), w2),
            (g2.t(), h1),
            (g1.t(), x),
        ];
        Gemms { pairs }
    }

    /// Runs the 8 products through `Tensor::matmul`, the kernel a step uses.
    pub fn run(&self) {
        for (a, b) in &self.pairs {
            black_box(a.matmul(b));
        }
    }

    /// The operand pairs, in the order of the step.
    pub fn pairs(&self) -> &[(Tensor<f32>, Tensor<f32>)] {
        &self.pairs
    }

    /// The multiply-adds of the 8 products.
    pub fn work(&self) -> usize {
        self.pairs.iter().map(|(a, b)| a.shape()[0] * a.shape()[1] * b.shape()[1]).sum()
    }
}

/// W3: a [16] tensor through 1000 × `y = tanh(y * 1.01 + 0.01)`, then sum, forward + backward.
pub fn w3(x0: &Tensor<f32>) -> Tensor<f32> {
    let tape = Tape::<f32>::new();
    let x = tape.var(x0.clone());
    let mut y = x;
    for _ in 0..1000 {
        y = (y * 1.01 + 0.01).tanh();
    }
    let grads = y.sum().backward();
    grads[x].clone()
}

/// A chain of ops whose first-order rules once ran only as recorded Vars: a [8, 16] tensor through
/// 200 × `p = (σ(y) + 0.5)^e`, `y = p − logsumexp_rows(p)`, with `e` a [16] parameter broadcast over the rows;
/// forward + backward, returning the gradients of the input and of `e`.
pub fn pow_logsumexp_chain(x0: &Tensor<f32>, e0: &Tensor<f32>) -> (Tensor<f32>, Tensor<f32>) {
    let tape = Tape::<f32>::new();
    let (x, e) = (tape.var(x0.clone()), tape.var(e0.clone()));
    let mut y = x;
    for _ in 0..200 {
        let p = (y.sigmoid() + 0.5).pow(e);
        y = p - p.logsumexp_axes(&[1], true);
    }
    let grads = y.sum().backward();
    (grads[x].clone(), grads[e].clone())
}

/// W3's input: 16 points evenly spaced in [-1, 1].
pub fn w3_input() -> Tensor<f32> {
    Tensor::linspace(-1.0, 1.0, 16)
}

/// W4: the parameters of a 64-64-1 tanh MLP, a direction for each, and a batch of 32.
pub struct Hvp {
    params: Vec<Tensor<f32>>,
    dirs: Vec<Tensor<f32>>,
    x: Tensor<f32>,
    t: Tensor<f32>,
}

impl Hvp {
    /// From seed 0.
    pub fn new() -> Self {
        let mut rng = StdRng::seed_from_u64(0);
        let params = vec![
            Tensor::randn(&[64, 64], &mut rng) * 0.125,
            Tensor::zeros(&[64]),
            Tensor::randn(&[64, 1], &mut rng) * 0.125,
            Tensor::zeros(&[1]),
        ];
        let dirs = params.iter().map(|p| Tensor::randn(p.shape(), &mut rng)).collect();
        Hvp { params, dirs, x: Tensor::randn(&[32, 64], &mut rng), t: Tensor::randn(&[32, 1], &mut rng) }
    }

    /// One Hessian-vector product of `mean((tanh(x W1 + b1) W2 + b2 - t)²)`.
    pub fn run(&self) -> Vec<Tensor<f32>> {
        let (x, t) = (self.x.clone(), self.t.clone());
        hvp(
            move |p| {
                let (xv, tv) = (p[0].constant(x.clone()), p[0].constant(t.clone()));
                let h = (xv.matmul(p[0]) + p[1]).tanh();
                (h.matmul(p[2]) + p[3] - tv).square().mean()
            },
            &self.params,
            &self.dirs,
        )
    }
}

/// The median wall time of `reps` calls of `f`, after one warm-up call.
pub fn median_time(mut f: impl FnMut(), reps: usize) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Median seconds per call of each routine, run in turn (ABAB...) `rounds` times, so that the
/// machine's noise falls on all of them alike.
pub fn interleaved(rounds: usize, routines: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    for routine in routines.iter_mut() {
        routine();
    }
    timed_rounds(rounds, 1, routines)
}

/// Like [`interleaved`], with each routine called `run + 1` times in a row per round and all but the
/// first call timed: each call is timed with its data warm, as a loop over the one routine times it,
/// while the rounds spread the machine's noise over all the routines alike.
pub fn interleaved_runs(rounds: usize, run: usize, routines: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    timed_rounds(rounds, run, routines)
}

/// The median of the calls timed in `rounds` rounds of `run` timed calls per routine, each run after
/// one untimed call when `run > 1`.
fn timed_rounds(rounds: usize, run: usize, routines: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let mut times = vec![Vec::with_capacity(rounds * run); routines.len()];
    for _ in 0..rounds.max(1) {
        for (routine, t) in routines.iter_mut().zip(&mut times) {
            if run > 1 {
                routine();
            }
            for _ in 0..run.max(1) {
                let now = Instant::now();
                routine();
                t.push(now.elapsed());
            }
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect()
}

/// Milliseconds, for tables.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
