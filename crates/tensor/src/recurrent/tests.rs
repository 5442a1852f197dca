//! Tests of `recurrent`.

use super::*;

/// Deterministic, uneven values in about -2..2.
fn values<F: Float>(shape: &[usize], salt: f64) -> Tensor<F> {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|i| F::from_f64(((i as f64 + 1.0) * 0.7381 + salt).sin() * 2.0)).collect();
    Tensor::from_vec(v, shape).unwrap()
}

/// The step as the composite of tensor ops that the fused kernel replaces.
fn composite<F: Float>(xp: &Tensor<F>, hp: &Tensor<F>, h: &Tensor<F>, bias: Option<&Tensor<F>>) -> Tensor<F> {
    let n = h.shape()[1];
    let hp = bias.map_or_else(|| hp.clone(), |b| hp + b);
    let rz = (&xp.narrow(1, 0, 2 * n) + &hp.narrow(1, 0, 2 * n)).sigmoid();
    let (r, z) = (rz.narrow(1, 0, n), rz.narrow(1, n, n));
    let c = (&xp.narrow(1, 2 * n, n) + &(&r * &hp.narrow(1, 2 * n, n))).tanh();
    &c + &(&z * &(h - &c))
}

fn bits<F: Float>(t: &Tensor<F>) -> Vec<u64> {
    t.to_vec().into_iter().map(|v| v.to_f64().to_bits()).collect()
}

fn forward_matches<F: Float>(batch: usize, n: usize) {
    let (xp, hp, h, b) = (
        values::<F>(&[batch, 3 * n], 0.1),
        values(&[batch, 3 * n], 1.3),
        values(&[batch, n], 2.9),
        values(&[3 * n], 4.2),
    );
    assert_eq!(bits(&xp.gru_cell(&hp, &h, Some(&b))), bits(&composite(&xp, &hp, &h, Some(&b))));
    assert_eq!(bits(&xp.gru_cell(&hp, &h, None)), bits(&composite(&xp, &hp, &h, None)));
}

#[test]
fn the_fused_step_has_the_bits_of_the_composite_in_f32_and_f64() {
    forward_matches::<f32>(3, 5);
    forward_matches::<f64>(3, 5);
    forward_matches::<f32>(32, 128); // rows on the pool
}

#[test]
fn the_fused_step_reads_transposed_operands() {
    let (xp, hp, h) = (values::<f64>(&[6, 2], 0.1), values(&[6, 2], 0.5), values(&[2, 2], 0.9));
    let want = composite(&xp.t(), &hp.t(), &h.t(), None);
    assert_eq!(bits(&xp.t().gru_cell(&hp.t(), &h.t(), None)), bits(&want));
}

#[test]
fn the_backward_matches_finite_differences() {
    let (batch, n) = (2, 3);
    let inputs =
        [values::<f64>(&[batch, 3 * n], 0.1), values(&[batch, 3 * n], 1.3), values(&[batch, n], 2.9)];
    let bias = values::<f64>(&[3 * n], 4.2);
    let w = values::<f64>(&[batch, n], 7.7);
    let loss = |v: &[Tensor<f64>]| (&v[0].gru_cell(&v[1], &v[2], Some(&bias)) * &w).sum().item();
    let grads = inputs[0].gru_cell_backward(&inputs[1], &inputs[2], Some(&bias), &w);
    for (k, analytic) in [grads.xp, grads.hp, grads.h].iter().enumerate() {
        let analytic = analytic.to_vec();
        for i in 0..inputs[k].len() {
            let at = |d: f64| {
                let mut v = inputs.clone();
                let mut e = v[k].to_vec();
                e[i] += d;
                v[k] = Tensor::from_vec(e, inputs[k].shape()).unwrap();
                loss(&v)
            };
            let numeric = (at(1e-6) - at(-1e-6)) / 2e-6;
            assert!(
                (numeric - analytic[i]).abs() < 1e-7,
                "input {k}, element {i}: {} vs {numeric}",
                analytic[i]
            );
        }
    }
}

#[test]
fn rows_on_one_or_two_threads_give_the_same_bits() {
    let (xp, hp, h) = (values::<f32>(&[32, 384], 0.1), values(&[32, 384], 1.3), values(&[32, 128], 2.9));
    let g = values::<f32>(&[32, 128], 5.5);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let grads = xp.gru_cell_backward(&hp, &h, None, &g);
            [bits(&xp.gru_cell(&hp, &h, None)), bits(&grads.xp), bits(&grads.hp), bits(&grads.h)]
        })
    };
    assert_eq!(run(1), run(2));
}

#[test]
#[should_panic(
    expected = "gru_cell: xp [2, 9], hp [2, 6], h [2, 3]: xp and hp must be [batch, 3 · hidden] = [2, 9]"
)]
fn a_step_names_the_shapes_that_do_not_fit() {
    let t = |s: &[usize]| Tensor::<f32>::zeros(s);
    t(&[2, 9]).gru_cell(&t(&[2, 6]), &t(&[2, 3]), None);
}

#[test]
#[should_panic(
    expected = "gru_cell: xp [1, 6], hp [1, 6], h [1, 2], bias [2]: the bias must be [3 · hidden] = [6]"
)]
fn a_step_rejects_a_bias_of_the_wrong_length() {
    let t = |s: &[usize]| Tensor::<f32>::zeros(s);
    t(&[1, 6]).gru_cell(&t(&[1, 6]), &t(&[1, 2]), Some(&t(&[2])));
}

#[test]
#[should_panic(expected = "gru_cell_backward: the gradient of shape [1, 3] differs from the state's [1, 2]")]
fn a_backward_rejects_a_gradient_of_the_wrong_shape() {
    let t = |s: &[usize]| Tensor::<f32>::zeros(s);
    t(&[1, 6]).gru_cell_backward(&t(&[1, 6]), &t(&[1, 2]), None, &t(&[1, 3]));
}
