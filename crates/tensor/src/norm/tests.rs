//! Tests of `norm`: the fused kernels against the same maths written as a chain of tensor ops, and
//! their independence of the pool's size.

use super::*;

/// Deterministic, uneven values of `shape`.
fn t(shape: &[usize], phase: f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| ((i as f64 + phase) * 0.731).sin() * 2.0 + 0.3).collect(), shape).unwrap()
}

/// x̂ of the last axis as a chain of tensor ops.
fn composite_hat(x: &Tensor<f64>, norm: Norm, eps: f64) -> Tensor<f64> {
    let axis = [x.ndim() - 1];
    match norm {
        Norm::Layer => {
            let xc = x - &x.mean_axes(&axis, true);
            let var = xc.square().mean_axes(&axis, true);
            &xc * &var.add_scalar(eps).sqrt().recip()
        }
        Norm::Rms => x * &x.square().mean_axes(&axis, true).add_scalar(eps).sqrt().recip(),
    }
}

fn close(a: &Tensor<f64>, b: &Tensor<f64>, tol: f64) {
    assert_eq!(a.shape(), b.shape());
    for (p, q) in a.to_vec().iter().zip(b.to_vec()) {
        assert!((p - q).abs() <= tol, "{p} vs {q}");
    }
}

#[test]
fn norm_matches_the_chain_of_tensor_ops() {
    let (x, w, b) = (t(&[5, 7], 0.0), t(&[7], 1.0), t(&[7], 2.0));
    for norm in [Norm::Layer, Norm::Rms] {
        let hat = composite_hat(&x, norm, 1e-5);
        close(&x.normalize(norm, 1, None, None, 1e-5), &hat, 1e-12);
        close(&x.normalize(norm, 1, Some(&w), Some(&b), 1e-5), &(&(&hat * &w) + &b), 1e-12);
    }
}

#[test]
fn norm_over_two_trailing_dims_of_a_transpose_matches_the_flattened_rows() {
    let x = t(&[3, 4, 2], 0.5).permute(&[0, 2, 1]); // [3, 2, 4], not contiguous
    let flat = x.to_contiguous().reshape(&[3, 8]).unwrap();
    let y = x.normalize(Norm::Layer, 2, None, None, 1e-5).reshape(&[3, 8]).unwrap();
    assert_eq!(y.to_vec(), flat.normalize(Norm::Layer, 1, None, None, 1e-5).to_vec());
}

#[test]
fn norm_backward_matches_the_formula_term_by_term() {
    let (x, w, g) = (t(&[4, 6], 0.0), t(&[6], 3.0), t(&[4, 6], 5.0));
    for norm in [Norm::Layer, Norm::Rms] {
        let grads = x.normalize_backward(&g, norm, 1, Some(&w), 1e-5);
        let hat = composite_hat(&x, norm, 1e-5);
        let r = match norm {
            Norm::Layer => {
                let xc = &x - &x.mean_axes(&[1], true);
                xc.square().mean_axes(&[1], true).add_scalar(1e-5).sqrt().recip()
            }
            Norm::Rms => x.square().mean_axes(&[1], true).add_scalar(1e-5).sqrt().recip(),
        };
        let a = &g * &w;
        let mean_ax = (&a * &hat).mean_axes(&[1], true);
        let centred = if norm == Norm::Layer { &a - &a.mean_axes(&[1], true) } else { a.clone() };
        let want = &r * &(&centred - &(&hat * &mean_ax));
        close(&grads.x, &want, 1e-12);
        close(&grads.weight, &(&g * &hat).sum_axes(&[0], false), 1e-12);
        close(&grads.bias, &g.sum_axes(&[0], false), 1e-12);
    }
}

#[test]
fn norm_results_do_not_depend_on_the_pool() {
    // Above the parallel threshold, with a row count that is not a multiple of the block.
    let (x, w, b) = (t(&[301, 130], 0.0).cast::<f32>(), t(&[130], 1.0).cast(), t(&[130], 2.0).cast());
    let g = t(&[301, 130], 4.0).cast::<f32>();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let y = x.normalize(Norm::Layer, 1, Some(&w), Some(&b), 1e-5);
            let grads = x.normalize_backward(&g, Norm::Rms, 1, Some(&w), 1e-5);
            [y, grads.x, grads.weight, grads.bias].map(|r| r.to_vec())
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

#[test]
fn norm_of_an_empty_tensor_is_empty_and_its_grads_zero() {
    let x = Tensor::<f64>::zeros(&[0, 3]);
    assert_eq!(x.normalize(Norm::Layer, 1, None, None, 1e-5).shape(), &[0, 3]);
    let grads = x.normalize_backward(&x, Norm::Rms, 1, None, 1e-5);
    assert_eq!((grads.x.shape(), grads.weight.to_vec()), (&[0, 3][..], vec![0.0; 3]));
}

#[test]
#[should_panic(expected = "layer_norm: weight of shape [3] does not match the normalised shape [2, 4]")]
fn norm_names_a_weight_of_the_wrong_shape() {
    t(&[3, 2, 4], 0.0).normalize(Norm::Layer, 2, Some(&t(&[3], 0.0)), None, 1e-5);
}

#[test]
#[should_panic(expected = "rms_norm: cannot normalise the last 3 dimensions of shape [2, 4]")]
fn norm_names_too_many_dimensions() {
    t(&[2, 4], 0.0).normalize(Norm::Rms, 3, None, None, 1e-5);
}
