//! A small transformer learns to reverse sequences of symbols: a task that needs memory of the whole
//! input, since output position t is input position T-1-t. Token embeddings plus learned positions,
//! two pre-norm encoder layers, a linear read-out per position, cross-entropy, Adam; every batch is
//! freshly drawn from a seeded generator, and accuracy is measured on held-out sequences.
//!
//! Run: `cargo run --release --example sequence`

use rand::Rng;
use wengert::nn::optim::{Adam, Optimizer};
use wengert::nn::{
    Embedding, LayerNorm, LearnedPositionalEmbedding, Linear, Module, ParamStore, Path, SeedRng,
    TransformerEncoderLayer, TransformerOptions, loss,
};
use wengert::prelude::*;

/// Distinct symbols.
pub const SYMBOLS: usize = 8;
/// Symbols per sequence.
pub const LEN: usize = 8;
const D_MODEL: usize = 32;
const HEADS: usize = 4;
const LAYERS: usize = 2;
const BATCH: usize = 32;

/// `n` random sequences, flattened row by row, and their reversals.
pub fn batch(n: usize, rng: &mut SeedRng) -> (Vec<usize>, Vec<usize>) {
    let x: Vec<usize> = (0..n * LEN).map(|_| rng.random_range(0..SYMBOLS)).collect();
    let y = x.chunks(LEN).flat_map(|s| s.iter().rev().copied()).collect();
    (x, y)
}

/// Embeddings, encoder layers and a read-out of one symbol per position.
struct Reverser {
    embed: Embedding,
    pos: LearnedPositionalEmbedding,
    layers: Vec<TransformerEncoderLayer>,
    norm: LayerNorm,
    head: Linear,
}

impl Reverser {
    fn new(p: &Path) -> Self {
        let opts = TransformerOptions::default().dropout(0.0).ff_dim(2 * D_MODEL);
        Reverser {
            embed: Embedding::new(&p.sub("embed"), SYMBOLS, D_MODEL),
            pos: LearnedPositionalEmbedding::with_init(
                &p.sub("pos"),
                LEN,
                D_MODEL,
                wengert::nn::Init::Normal { mean: 0.0, std: 1.0 },
            ),
            layers: (0..LAYERS)
                .map(|i| {
                    TransformerEncoderLayer::with_options(&p.sub("layers").sub(i), D_MODEL, HEADS, &opts)
                })
                .collect(),
            norm: LayerNorm::new(&p.sub("norm"), &[D_MODEL]),
            head: Linear::new(&p.sub("head"), D_MODEL, SYMBOLS),
        }
    }

    /// Logits `[n · LEN, SYMBOLS]` for `n` flattened sequences.
    fn logits<'t>(&self, tape: &'t Tape, tokens: &[usize]) -> Var<'t> {
        let n = tokens.len() / LEN;
        let x = self.embed.forward_indices(tape, tokens).reshape(&[n, LEN, D_MODEL]);
        let h = self.layers.iter().fold(self.pos.forward(x), |h, layer| layer.forward(h));
        self.head.forward(self.norm.forward(h)).reshape(&[n * LEN, SYMBOLS])
    }

    /// The most likely symbol at every position.
    fn predict(&self, tokens: &[usize]) -> Vec<usize> {
        let tape = Tape::new();
        let logits = self.logits(&tape, tokens).value();
        logits.argmax_axis(1, false).iter().copied().collect()
    }
}

/// Trains for `steps` batches from `seed` and returns the per-symbol accuracy on 500 held-out
/// sequences; prints the loss as it falls and a few decoded examples when `verbose`.
pub fn run(seed: u64, steps: usize, verbose: bool) -> f64 {
    let store = ParamStore::new(seed);
    let model = Reverser::new(&store.root());
    let mut opt = Adam::new(store.parameters(), 3e-3);
    let mut rng = SeedRng::new(seed ^ 0x5eed);
    let mut smoothed = None;
    for step in 1..=steps {
        let (x, y) = batch(BATCH, &mut rng);
        let tape = Tape::new();
        let l = loss::cross_entropy(model.logits(&tape, &x), &y);
        let v = l.item() as f64;
        smoothed = Some(smoothed.map_or(v, |s: f64| 0.9 * s + 0.1 * v));
        opt.step(&l.backward()).expect("every parameter gets a gradient");
        if verbose && (step % 50 == 0 || step == 1) {
            println!("step {step:4}: loss {:.4}", smoothed.unwrap_or(v));
        }
    }
    store.eval();
    let (x, y) = batch(500, &mut SeedRng::new(seed.wrapping_add(1_000_003)));
    let pred = model.predict(&x);
    let correct = pred.iter().zip(&y).filter(|(p, t)| p == t).count();
    let accuracy = correct as f64 / y.len() as f64;
    if verbose {
        for i in 0..3 {
            let show = |s: &[usize]| s.iter().map(|c| char::from(b'a' + *c as u8)).collect::<String>();
            let r = i * LEN..(i + 1) * LEN;
            println!("{} -> {}  (want {})", show(&x[r.clone()]), show(&pred[r.clone()]), show(&y[r]));
        }
        println!("held-out per-symbol accuracy: {:.2}%", 100.0 * accuracy);
    }
    accuracy
}

#[allow(dead_code)] // tests include this file as a module and call `run`
fn main() {
    let t = std::time::Instant::now();
    run(0, 300, true);
    println!("trained in {:.1} s", t.elapsed().as_secs_f64());
}
