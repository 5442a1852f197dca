//! Tests of the batch norm kernels: against the same maths as a chain of tensor ops, on 2-D, 3-D and
//! transposed inputs, their independence of the pool's size, and their messages.

use super::*;

/// Deterministic, uneven values of `shape`.
fn t(shape: &[usize], phase: f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| ((i as f64 + phase) * 0.731).sin() * 2.0 + 0.3).collect(), shape).unwrap()
}

fn close(a: &Tensor<f64>, b: &Tensor<f64>, tol: f64) {
    assert_eq!(a.shape(), b.shape());
    for (p, q) in a.to_vec().iter().zip(b.to_vec()) {
        assert!((p - q).abs() <= tol, "{p} vs {q}");
    }
}

/// The axes a channel's statistics run over, and the shape `[C]` broadcasts as, for `x`.
fn layout(x: &Tensor<f64>) -> (Vec<usize>, Vec<usize>) {
    let c = x.shape()[1];
    if x.ndim() == 2 { (vec![0], vec![c]) } else { (vec![0, 2], vec![c, 1]) }
}

/// `(x̂, r, mean, var)` of `x` as a chain of tensor ops (statistics kept as size-1 axes).
fn composite(x: &Tensor<f64>, eps: f64) -> [Tensor<f64>; 4] {
    let (axes, _) = layout(x);
    let mean = x.mean_axes(&axes, true);
    let xc = x - &mean;
    let var = xc.square().mean_axes(&axes, true);
    let r = var.add_scalar(eps).sqrt().recip();
    [&xc * &r, r, mean, var]
}

#[test]
fn batch_norm_matches_the_chain_of_tensor_ops() {
    for shape in [&[6, 3][..], &[4, 3, 5], &[1, 2, 7]] {
        let x = t(shape, 0.0);
        let (w, b) = (t(&[shape[1]], 1.0), t(&[shape[1]], 2.0));
        let (_, col) = layout(&x);
        let [hat, _, mean, var] = composite(&x, 1e-5);
        let plain = x.batch_norm(None, None, 1e-5);
        close(&plain.y, &hat, 1e-12);
        close(&plain.mean, &mean.reshape(&[shape[1]]).unwrap(), 1e-14);
        close(&plain.var, &var.reshape(&[shape[1]]).unwrap(), 1e-14);
        let (wc, bc) = (w.reshape(&col).unwrap(), b.reshape(&col).unwrap());
        close(&x.batch_norm(Some(&w), Some(&b), 1e-5).y, &(&(&hat * &wc) + &bc), 1e-12);
        close(&x.batch_norm(None, Some(&b), 1e-5).y, &(&hat + &bc), 1e-12);
    }
}

#[test]
fn batch_norm_of_a_transpose_matches_its_contiguous_copy() {
    let x = t(&[3, 5, 4], 0.5).permute(&[0, 2, 1]); // [3, 4, 5], not contiguous
    let (w, g) = (t(&[4], 1.0), t(&[3, 4, 5], 2.0));
    let c = x.to_contiguous();
    assert_eq!(x.batch_norm(Some(&w), None, 1e-5).y.to_vec(), c.batch_norm(Some(&w), None, 1e-5).y.to_vec());
    let (a, b) = (x.batch_norm_backward(&g, Some(&w), 1e-5), c.batch_norm_backward(&g, Some(&w), 1e-5));
    assert_eq!([a.x, a.weight, a.bias].map(|t| t.to_vec()), [b.x, b.weight, b.bias].map(|t| t.to_vec()));
}

#[test]
fn batch_norm_backward_matches_the_formula_term_by_term() {
    for shape in [&[6, 3][..], &[4, 3, 5]] {
        let (x, g) = (t(shape, 0.0), t(shape, 5.0));
        let w = t(&[shape[1]], 3.0);
        let (axes, col) = layout(&x);
        let [hat, r, _, _] = composite(&x, 1e-5);
        let grads = x.batch_norm_backward(&g, Some(&w), 1e-5);
        let a = &g * &w.reshape(&col).unwrap();
        let mean_a = a.mean_axes(&axes, true);
        let mean_ax = (&a * &hat).mean_axes(&axes, true);
        close(&grads.x, &(&r * &(&(&a - &mean_a) - &(&hat * &mean_ax))), 1e-12);
        close(&grads.weight, &(&g * &hat).sum_axes(&axes, false), 1e-12);
        close(&grads.bias, &g.sum_axes(&axes, false), 1e-12);
        let unweighted = x.batch_norm_backward(&g, None, 1e-5);
        let mean_g = g.mean_axes(&axes, true);
        let mean_gx = (&g * &hat).mean_axes(&axes, true);
        close(&unweighted.x, &(&r * &(&(&g - &mean_g) - &(&hat * &mean_gx))), 1e-12);
    }
}

#[test]
fn batch_norm_results_do_not_depend_on_the_pool() {
    // Above the parallel threshold, with a row count that is not a multiple of a task's rows.
    let x = t(&[33, 16, 67], 0.0).cast::<f32>();
    let (w, b, g) =
        (t(&[16], 1.0).cast::<f32>(), t(&[16], 2.0).cast::<f32>(), t(&[33, 16, 67], 4.0).cast::<f32>());
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let out = x.batch_norm(Some(&w), Some(&b), 1e-5);
            let grads = x.batch_norm_backward(&g, Some(&w), 1e-5);
            [out.y, out.mean, out.var, grads.x, grads.weight, grads.bias].map(|r| r.to_vec())
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

#[test]
#[should_panic(expected = "batch_norm: input of shape [2, 3, 4, 5] is not [N, C] or [N, C, L]")]
fn batch_norm_names_an_input_of_the_wrong_rank() {
    t(&[2, 3, 4, 5], 0.0).batch_norm(None, None, 1e-5);
}

#[test]
#[should_panic(expected = "batch_norm: bias of shape [4] is not [C] = [3] for input [2, 3, 5]")]
fn batch_norm_names_a_bias_of_the_wrong_shape() {
    t(&[2, 3, 5], 0.0).batch_norm(None, Some(&t(&[4], 0.0)), 1e-5);
}

#[test]
#[should_panic(expected = "batch_norm: input of shape [0, 3] has no values per channel")]
fn batch_norm_names_an_input_without_values() {
    Tensor::<f64>::zeros(&[0, 3]).batch_norm(None, None, 1e-5);
}

#[test]
#[should_panic(expected = "batch_norm: gradient of shape [2, 3] for an input of shape [3, 2]")]
fn batch_norm_backward_names_a_gradient_of_the_wrong_shape() {
    t(&[3, 2], 0.0).batch_norm_backward(&t(&[2, 3], 0.0), None, 1e-5);
}
