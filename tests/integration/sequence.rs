//! The sequence example: a two-layer transformer learns to reverse sequences of symbols, above 95%
//! per-symbol accuracy on held-out sequences within 150 steps.

#[path = "../../examples/sequence.rs"]
mod example;

#[test]
fn the_transformer_learns_to_reverse_held_out_sequences() {
    let t = std::time::Instant::now();
    let acc = example::run(0, 150, false);
    eprintln!("150 steps in {:.1} s", t.elapsed().as_secs_f64());
    assert!(acc > 0.95, "held-out per-symbol accuracy {acc}");
}

#[test]
fn batches_pair_each_sequence_with_its_reversal() {
    let mut rng = wengert::nn::SeedRng::new(1);
    let (x, y) = example::batch(2, &mut rng);
    assert_eq!((x.len(), y.len()), (2 * example::LEN, 2 * example::LEN));
    for (s, r) in x.chunks(example::LEN).zip(y.chunks(example::LEN)) {
        assert!(s.iter().rev().eq(r.iter()));
        assert!(s.iter().all(|&c| c < example::SYMBOLS));
    }
}
