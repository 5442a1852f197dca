//! The behaviours of the reverse sweep: reuse accumulates, broadcasting is undone, unreached Vars get
//! `None`, `no_grad` and `detach` stop gradients, non-scalar outputs need a seed.

use wengert_tape::Tape;
use wengert_tensor::Tensor;

fn t(v: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn gradients_accumulate_when_a_var_is_used_twice() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[3.0], &[1]));
    let y = (x * x + x).sum(); // 2x + 1 = 7
    assert_eq!(y.backward()[x].to_vec(), vec![7.0]);
}

#[test]
fn broadcast_gradients_reduce_to_the_input_shape() {
    let tape = Tape::<f64>::new();
    let a = tape.var(t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let b = tape.var(t(&[10.0, 20.0, 30.0], &[3]));
    let c = tape.var(t(&[2.0], &[1, 1]));
    let y = ((a + b) * c).sum();
    let g = y.backward();
    assert_eq!(g[a].shape(), &[2, 3]);
    assert_eq!(g[a].to_vec(), vec![2.0; 6]);
    assert_eq!(g[b].shape(), &[3]);
    assert_eq!(g[b].to_vec(), vec![4.0; 3]);
    assert_eq!(g[c].shape(), &[1, 1]);
    assert_eq!(g[c].to_vec(), vec![21.0 + 120.0]);
}

#[test]
fn vars_that_do_not_reach_the_output_get_none() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1.0], &[1]));
    let unused = tape.var(t(&[1.0], &[1]));
    let k = tape.constant(t(&[2.0], &[1]));
    let y = (x * k).sum();
    let g = y.backward();
    assert!(g.get(unused).is_none());
    assert!(g.get(k).is_none());
    assert_eq!(g[x].to_vec(), vec![2.0]);
    assert_eq!(tape.grad_opt(y, &[x, unused])[1], None);
}

#[test]
#[should_panic(expected = "has no gradient: it does not reach the output or is a constant")]
fn indexing_a_missing_gradient_panics_with_a_reason() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1.0], &[1]));
    let unused = tape.var(t(&[1.0], &[1]));
    let g = x.sum().backward();
    let _ = &g[unused];
}

#[test]
#[should_panic(expected = "grad: input 1 does not reach the output (use grad_opt to allow unreached inputs)")]
fn grad_names_an_unreached_input() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1.0], &[1]));
    let unused = tape.var(t(&[1.0], &[1]));
    tape.grad(x.sum(), &[x, unused]);
}

#[test]
fn no_grad_records_constants() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[2.0], &[1]));
    let frozen = tape.no_grad(|| x * 3.0);
    assert!(!frozen.requires_grad());
    let y = (x * frozen).sum();
    assert_eq!(y.backward()[x].to_vec(), vec![6.0]);
    assert!(tape.is_recording());
}

#[test]
fn detach_stops_the_gradient() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[2.0], &[1]));
    let y = (x * x.detach()).sum();
    assert_eq!(y.backward()[x].to_vec(), vec![2.0]);
}

#[test]
fn backward_with_a_seed_is_a_vector_jacobian_product() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1.0, 2.0], &[2]));
    let y = x * x; // J = diag(2x)
    let g = y.backward_with(&t(&[1.0, 10.0], &[2]));
    assert_eq!(g[x].to_vec(), vec![2.0, 40.0]);
}

#[test]
#[should_panic(expected = "backward: the output has shape [2], not one element; use backward_with(seed)")]
fn backward_of_a_non_scalar_panics() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1.0, 2.0], &[2]));
    (x * x).backward();
}

#[test]
fn first_order_backward_leaves_the_tape_as_it_was() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1.0, 2.0], &[2]));
    let y = (x.tanh() * x).sum();
    let n = tape.len();
    let g1 = y.backward()[x].clone();
    assert_eq!(tape.len(), n);
    let g2 = tape.grad(y, &[x]).remove(0);
    assert_eq!(g1, g2);
    assert_eq!(tape.len(), n);
}

#[test]
fn scalars_work_on_either_side_of_var_operators() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[2.0], &[1]));
    let y = ((1.0 - x) * 3.0 + 4.0 / x - x / 2.0 + (-x)).sum();
    // d/dx = -3 - 4/x² - 1/2 - 1 = -5.5
    assert_eq!(y.backward()[x].to_vec(), vec![-5.5]);
    let tape32 = Tape::<f32>::new();
    let z = tape32.var(Tensor::scalar(1.0f32));
    assert_eq!((2.0f32 * z + 1.0).item(), 3.0);
}

#[test]
fn third_order_derivatives_work() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[0.3], &[1]));
    let y = x.sin().sum();
    let d1 = tape.grad_graph(y, &[x])[0]; // cos
    let d2 = tape.grad_graph(d1.sum(), &[x])[0]; // -sin
    let d3 = tape.grad(d2.sum(), &[x])[0].item(); // -cos
    assert!((d3 + 0.3f64.cos()).abs() < 1e-15);
}

#[test]
#[should_panic(expected = "anomaly: the backward of `sqrt`")]
fn anomaly_mode_names_the_op_that_made_a_nan() {
    let tape = Tape::<f64>::new();
    tape.set_anomaly_detection(true);
    let x = tape.var(t(&[0.0, 1.0], &[2]));
    x.sqrt().sum().backward();
}

#[test]
fn summary_and_dot_describe_the_graph() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::ones(&[2, 2]));
    let y = (x.matmul(x) + 1.0).sum();
    let s = tape.summary();
    assert_eq!(s.nodes.len(), tape.len());
    assert_eq!(s.nodes[1].op, "matmul");
    assert_eq!(s.nodes[y.id()].shape, Vec::<usize>::new());
    assert!(s.by_op.iter().any(|o| o.op == "matmul" && o.count == 1 && o.bytes == 16));
    assert!(s.to_string().contains("matmul"));
    let dot = tape.to_dot();
    assert!(dot.starts_with("digraph tape {"));
    assert!(dot.contains("n0 -> n1;"));
}

#[test]
fn backward_keeps_leaf_gradients_and_grad_reaches_intermediates() {
    let tape = Tape::<f64>::new();
    let x = tape.var(t(&[1.0, 2.0], &[2]));
    let h = x * 3.0;
    let y = (h * h).sum();
    let g = y.backward();
    assert_eq!(g[x].to_vec(), vec![18.0, 36.0]);
    assert!(g.get(h).is_none(), "intermediates are not kept, as in PyTorch");
    assert_eq!(tape.grad(y, &[h])[0].to_vec(), vec![6.0, 12.0]);
}
