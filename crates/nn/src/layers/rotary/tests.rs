//! Tests of RoPE: hand values, its relative-position property, and finite differences.

use super::*;
use proptest::prelude::*;
use wengert_tape::Tape;
use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck, strategy};

use crate::testing::ramped_sines as seq;

fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "element {i}: {x} vs {y}");
    }
}

#[test]
fn rope_rotates_each_half_pair_by_position_times_frequency() {
    let rope = RotaryEmbedding::<f64>::with_base(4, 100.0);
    assert_eq!((rope.dim(), rope.base()), (4, 100.0));
    let x = seq(&[3, 4]).to_vec();
    let tape = Tape::new();
    let y = rope.apply(tape.constant(Tensor::from_vec(x.clone(), &[3, 4]).unwrap()), 2).value().to_vec();
    // Pairs (x0, x2) at θ = 1 and (x1, x3) at θ = 100^(-1/2) = 0.1, positions 2, 3, 4.
    let mut want = Vec::new();
    for r in 0..3 {
        let p = (2 + r) as f64;
        let row = &x[4 * r..4 * r + 4];
        let (c0, s0, c1, s1) = (p.cos(), p.sin(), (0.1 * p).cos(), (0.1 * p).sin());
        want.extend([
            row[0] * c0 - row[2] * s0,
            row[1] * c1 - row[3] * s1,
            row[2] * c0 + row[0] * s0,
            row[3] * c1 + row[1] * s1,
        ]);
    }
    assert_close(&y, &want, 1e-12);
}

#[test]
fn rope_keeps_norms_and_makes_scores_depend_on_relative_position_only() {
    let rope = RotaryEmbedding::<f64>::new(6);
    let tape = Tape::new();
    let q = tape.constant(seq(&[2, 1, 6]));
    let k = tape.constant(seq(&[2, 1, 6]).cos());
    let score = |pq: usize, pk: usize| (rope.apply(q, pq) * rope.apply(k, pk)).sum().item();
    assert!((score(5, 3) - score(2, 0)).abs() < 1e-12);
    assert!((score(7, 7) - (q * k).sum().item()).abs() < 1e-12);
    let y = rope.apply(q, 9);
    assert!((y.square().sum().item() - q.square().sum().item()).abs() < 1e-12);
    // As a Module positions start at 0, where the rotation is the identity.
    assert_close(&rope.forward(q).value().to_vec(), &q.value().to_vec(), 0.0);
}

#[test]
fn rope_gradients_match_finite_differences_to_second_order() {
    let rope = RotaryEmbedding::<f64>::with_base(4, 50.0);
    let opts = GradcheckOptions::default();
    let (x, probe) = (seq(&[2, 3, 4]), seq(&[2, 3, 4]).cos());
    gradcheck(|v| (rope.apply(v[0], 1) * v[1]).sum(), &[x.clone(), probe.clone()], &opts).unwrap();
    gradgradcheck(
        |v| (rope.apply(v[0], 1) * v[0]).sum() * (rope.apply(v[0], 0) * v[1]).sum(),
        &[x, probe],
        &opts,
    )
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn rope_gradients_match_finite_differences_over_random_inputs(
        x in strategy::shape_in(0..=2, 1..=3).prop_flat_map(|mut s| {
            s.extend([2, 4]);
            strategy::tensor(&s, -3.0..3.0)
        })
    ) {
        let rope = RotaryEmbedding::<f64>::new(4);
        let probe = x.cos();
        gradcheck(|v| (rope.apply(v[0], 3) * &probe).sum(), &[x], &GradcheckOptions::default())?;
    }
}

#[test]
#[should_panic(expected = "rotary_embedding: input of shape [2, 3] is not [.., seq, 4]")]
fn rope_rejects_an_input_of_another_width() {
    let tape = Tape::<f64>::new();
    RotaryEmbedding::new(4).forward(tape.constant(Tensor::zeros(&[2, 3])));
}

#[test]
#[should_panic(expected = "rotary_embedding: dim must be even and positive, got 3")]
fn rope_rejects_an_odd_width() {
    RotaryEmbedding::<f64>::new(3);
}
