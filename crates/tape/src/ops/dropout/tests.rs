//! Tests of `dropout`: the one-pass op against the two-pass product with a Bernoulli mask, its
//! gradients to second order, and its edge cases.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wengert_tensor::Tensor;

use crate::check::{GradcheckOptions, gradcheck, gradgradcheck};
use crate::tape::Tape;

fn seq(shape: &[usize]) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| (i as f64 * 0.37).sin() - 0.2).collect(), shape).unwrap()
}

#[test]
fn one_pass_dropout_is_the_two_pass_product_bit_for_bit_and_draws_as_many_numbers() {
    for (p, shape) in [(0.1, vec![3, 7, 5]), (0.5, vec![64]), (0.75, vec![2, 3, 4, 5])] {
        let keep = 1.0 - p;
        let x = Tensor::<f32>::randn(&shape, &mut StdRng::seed_from_u64(9));
        let mut r1 = StdRng::seed_from_u64(7);
        let mut r2 = r1.clone();
        let tape = Tape::<f32>::new();
        let y = tape.var(x.clone()).dropout(p, &mut r1).value();
        let mask = Tensor::<f32>::bernoulli(&shape, keep, &mut r2).mul_scalar((1.0 / keep) as f32);
        let two_pass = x.mul(&mask);
        let bits = |t: &Tensor<f32>| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(y.shape(), &shape[..]);
        assert_eq!(bits(&y), bits(&two_pass), "p {p}");
        assert!(y.to_vec().contains(&0.0), "some elements are dropped at p {p}");
        assert_eq!(r1.random::<u64>(), r2.random::<u64>(), "both draw as many numbers at p {p}");
    }
}

#[test]
fn dropout_of_a_transposed_input_draws_in_its_row_major_order() {
    let x = seq(&[4, 6]);
    let tape = Tape::<f64>::new();
    let (a, b) = (tape.var(x.t()), tape.var(x.t().to_contiguous()));
    let ya = a.dropout(0.3, &mut StdRng::seed_from_u64(2)).value();
    let yb = b.dropout(0.3, &mut StdRng::seed_from_u64(2)).value();
    assert_eq!(ya, yb);
}

#[test]
fn dropout_gradient_is_the_output_gradient_times_the_scaled_mask() {
    let tape = Tape::<f64>::new();
    let x = tape.var(seq(&[5, 8]));
    let y = x.dropout(0.4, &mut StdRng::seed_from_u64(3));
    let w = tape.constant(seq(&[5, 8]).mul_scalar(3.0));
    let g = (y * w).sum().backward();
    let mask = Tensor::<f64>::bernoulli(&[5, 8], 0.6, &mut StdRng::seed_from_u64(3)).mul_scalar(1.0 / 0.6);
    assert_eq!(g[x].to_vec(), seq(&[5, 8]).mul_scalar(3.0).mul(&mask).to_vec());
}

#[test]
fn dropout_gradients_match_finite_differences_to_second_order_with_a_fixed_mask() {
    let inputs = [seq(&[3, 4])];
    let opts = GradcheckOptions::default();
    gradcheck(|v| v[0].dropout(0.3, &mut StdRng::seed_from_u64(11)).tanh().sum(), &inputs, &opts).unwrap();
    gradgradcheck(|v| v[0].dropout(0.3, &mut StdRng::seed_from_u64(11)).tanh().sum(), &inputs, &opts)
        .unwrap();
}

#[test]
fn dropout_second_derivative_goes_through_the_constant_mask() {
    // d²/dx² of Σ dropout(x)² is 2 m², the mask squared, on the diagonal.
    let tape = Tape::<f64>::new();
    let x = tape.var(seq(&[6]));
    let y = x.dropout(0.5, &mut StdRng::seed_from_u64(4));
    let mask: Vec<f64> =
        Tensor::<f64>::bernoulli(&[6], 0.5, &mut StdRng::seed_from_u64(4)).mul_scalar(2.0).to_vec();
    let gx = tape.grad_graph(y.square().sum(), &[x])[0];
    let h = tape.grad(gx.sum(), &[x])[0].to_vec();
    assert_eq!(h, mask.iter().map(|m| 2.0 * m * m).collect::<Vec<_>>());
}

#[test]
fn dropout_at_zero_is_the_input_and_at_one_is_zeros_without_drawing() {
    let tape = Tape::<f64>::new();
    let x = tape.var(seq(&[2, 3]));
    let mut rng = StdRng::seed_from_u64(5);
    let fresh = rng.clone().random::<u64>();
    assert_eq!(x.dropout(0.0, &mut rng).value(), x.value());
    assert_eq!(x.dropout(1.0, &mut rng).value().to_vec(), vec![0.0; 6]);
    assert_eq!(rng.random::<u64>(), fresh);
}

#[test]
fn dropout_of_a_constant_records_a_constant() {
    let tape = Tape::<f64>::new();
    let c = tape.constant(seq(&[4]));
    let y = c.dropout(0.5, &mut StdRng::seed_from_u64(6));
    assert!(!y.requires_grad());
}

#[test]
#[should_panic(expected = "dropout: probability must lie in [0, 1], got 1.5")]
fn dropout_rejects_a_probability_above_one() {
    let tape = Tape::<f64>::new();
    tape.var(seq(&[2])).dropout(1.5, &mut StdRng::seed_from_u64(0));
}
