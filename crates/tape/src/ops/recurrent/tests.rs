//! Tests of `recurrent`.

use proptest::prelude::*;
use wengert_tensor::{Float, Tensor, s};

use crate::check::strategy;
use crate::ops::cases::{Case, case, gradchecks, prop};
use crate::tape::Tape;
use crate::var::Var;

/// A GRU step alone, with a bias, and two steps through the recurrent product, at random sizes
/// (batch and hidden 1 to 3) and values.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    (1usize..4, 1usize..4)
        .prop_flat_map(|(b, n)| {
            let t = |shape: &[usize]| strategy::tensor(shape, -2.0..2.0);
            (
                t(&[b, 3 * n]),
                t(&[b, 3 * n]),
                t(&[b, n]),
                t(&[3 * n]),
                strategy::tensor(&[n, 3 * n], -1.0..1.0),
            )
        })
        .prop_map(|(xp, hp, h, b, w)| {
            vec![
                case("gru_cell", &[xp.clone(), hp.clone(), h.clone()], |v| v[0].gru_cell(v[1], v[2], None)),
                case("gru_cell with a bias", &[xp.clone(), hp, h.clone(), b.clone()], |v| {
                    v[0].gru_cell(v[1], v[2], Some(v[3]))
                }),
                case("two steps through the recurrent product", &[xp, h, w, b], |v| {
                    let h = v[0].gru_cell(v[1].matmul(v[2]), v[1], Some(v[3]));
                    v[0].gru_cell(h.matmul(v[2]), h, Some(v[3]))
                }),
            ]
        })
}

#[test]
fn gru_cell_grads_match_finite_differences_to_second_order() {
    prop(cases(), gradchecks);
}

/// The step as a composite of Var ops, as the GRU layer recorded it before the fused op.
fn composite<'t, F: Float>(xp: Var<'t, F>, hp: Var<'t, F>, h: Var<'t, F>) -> Var<'t, F> {
    let n = h.shape()[1];
    let rz = (xp.narrow(1, 0, 2 * n) + hp.narrow(1, 0, 2 * n)).sigmoid();
    let (r, z) = (rz.narrow(1, 0, n), rz.narrow(1, n, n));
    let cand = (xp.narrow(1, 2 * n, n) + r * hp.narrow(1, 2 * n, n)).tanh();
    cand + z * (h - cand)
}

fn values<F: Float>(shape: &[usize], salt: f64) -> Tensor<F> {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|i| F::from_f64(((i as f64 + 1.0) * 0.7381 + salt).sin() * 1.5)).collect();
    Tensor::from_vec(v, shape).unwrap()
}

/// The bits of the final state and of the gradients of the projected inputs, the initial state, the
/// recurrent weight and the bias, after `time` steps of a GRU sliced from one projected sequence, as
/// the layer runs them: fused, or as the composite.
fn run<F: Float>(fused: bool, time: usize, batch: usize, n: usize) -> Vec<Vec<u64>> {
    let tape = Tape::<F>::new();
    let xp = tape.var(values(&[time, batch, 3 * n], 0.3));
    let h0 = tape.var(values(&[batch, n], 1.1));
    let w = tape.var(values::<F>(&[3 * n, n], 2.7) * F::from_f64(0.3));
    let b = tape.var(values(&[3 * n], 3.9));
    let mut h = h0;
    let mut hs = Vec::new();
    for t in 0..time {
        let (xt, hp) = (xp.slice(s![t as isize, .., ..]), h.matmul(w.t()));
        h = if fused { xt.gru_cell(hp, h, Some(b)) } else { composite(xt, hp + b, h) };
        hs.push(h);
    }
    let y = (Var::stack(&hs, 0).square() * F::from_f64(0.5)).sum()
        + (h * h.constant(values(&[batch, n], 5.0))).sum();
    let bits = |t: &Tensor<F>| t.to_vec().into_iter().map(|v| v.to_f64().to_bits()).collect::<Vec<u64>>();
    let mut out = vec![bits(&h.value())];
    out.extend(tape.grad(y, &[xp, h0, w, b]).iter().map(bits));
    out
}

#[test]
fn the_fused_step_gives_the_composites_bits_forward_and_backward() {
    assert_eq!(run::<f64>(true, 1, 2, 3), run::<f64>(false, 1, 2, 3));
    assert_eq!(run::<f64>(true, 7, 3, 4), run::<f64>(false, 7, 3, 4));
    assert_eq!(run::<f32>(true, 7, 3, 4), run::<f32>(false, 7, 3, 4));
    assert_eq!(run::<f32>(true, 4, 32, 128), run::<f32>(false, 4, 32, 128)); // rows on the pool
}

#[test]
fn the_bias_gets_the_projected_states_gradient_summed_over_the_batch() {
    let tape = Tape::<f64>::new();
    let (xp, h) = (tape.constant(values(&[2, 6], 0.1)), tape.constant(values(&[2, 2], 0.3)));
    let (hp, b) = (tape.var(values(&[2, 6], 0.2)), tape.var(values(&[6], 0.4)));
    let y = (xp.gru_cell(hp, h, Some(b)) * 2.5).sum();
    let both = tape.grad(y, &[hp, b]);
    assert_eq!(both[1].to_vec(), both[0].sum_axes(&[0], false).to_vec());
    // Asked alone, or recorded, the bias's gradient is the same.
    assert_eq!(tape.grad(y, &[b])[0].to_vec(), both[1].to_vec());
    assert_eq!(tape.grad_graph(y, &[b])[0].value().to_vec(), both[1].to_vec());
    assert_eq!(tape.grad_graph(y, &[hp])[0].value().to_vec(), both[0].to_vec());
}

#[test]
fn the_step_is_named() {
    let tape = Tape::<f32>::new();
    let z = |s: &[usize]| tape.var(Tensor::zeros(s));
    let y = z(&[1, 6]).gru_cell(z(&[1, 6]), z(&[1, 2]), None);
    assert_eq!(tape.node(y.id).op.name(), "gru_cell");
}

#[test]
#[should_panic(
    expected = "gru_cell: xp [2, 6], hp [2, 9], h [2, 2]: xp and hp must be [batch, 3 · hidden] = [2, 6]"
)]
fn a_step_of_mismatched_shapes_panics_naming_them() {
    let tape = Tape::<f32>::new();
    let z = |s: &[usize]| tape.var(Tensor::zeros(s));
    z(&[2, 6]).gru_cell(z(&[2, 9]), z(&[2, 2]), None);
}
