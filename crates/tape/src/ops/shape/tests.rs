//! Tests of `shape`.

use wengert_tensor::ndarray::NewAxis;
use wengert_tensor::{Tensor, s};

use crate::ops::index::tests::{check, check2, seq};
use crate::tape::Tape;
use crate::var::Var;

#[test]
fn reshape_family_grads_match_finite_differences() {
    check(&[seq(&[2, 3])], |v| v[0].reshape(&[3, 2]));
    check(&[seq(&[3, 2]).t()], |v| v[0].reshape(&[6])); // a non-contiguous leaf
    check(&[seq(&[2, 3])], |v| v[0].t().flatten());
    check(&[seq(&[2, 1, 3])], |v| v[0].squeeze(1).unsqueeze(2));
    check(&[seq(&[1, 2, 1, 3])], |v| v[0].squeeze_all().unsqueeze(0));
    check(&[seq(&[])], |v| v[0].reshape(&[1, 1]));
}

#[test]
#[should_panic(expected = "reshape: [2, 3] (6 elements) cannot become [4] (4 elements)")]
fn reshape_panics_with_the_tensor_message() {
    let tape = Tape::<f64>::new();
    tape.var(seq(&[2, 3])).reshape(&[4]);
}

#[test]
fn unchanged_shapes_record_nothing() {
    let tape = Tape::<f64>::new();
    let x = tape.var(seq(&[2, 3]));
    let n = tape.len();
    let same = [x.reshape(&[2, 3]), x.sum_to_shape(&[2, 3]), x.broadcast_to(&[2, 3]), x.permute(&[0, 1])];
    assert!(same.iter().all(|y| y.id == x.id));
    let flat = x.flatten();
    assert_eq!(flat.t().id, flat.id); // t of a 1-D Var is itself
    assert_eq!(tape.len(), n + 1);
}

#[test]
fn broadcast_grads_match_finite_differences() {
    check(&[seq(&[2, 1])], |v| v[0].broadcast_to(&[3, 2, 4]));
    check(&[seq(&[3, 2, 4])], |v| v[0].sum_to_shape(&[2, 1]));
    check(&[seq(&[1, 3])], |v| v[0].t().broadcast_to(&[2, 3, 2]).sum_to_shape(&[3, 1]));
}

#[test]
fn permute_grads_match_finite_differences() {
    check(&[seq(&[2, 3, 4])], |v| v[0].permute(&[2, 0, 1]));
    check(&[seq(&[2, 3])], |v| v[0].t());
    check(&[seq(&[2, 1, 3])], |v| v[0].swap_axes(0, 2).t());
    check(&[seq(&[3])], |v| v[0].t());
}

#[test]
fn slice_grads_match_finite_differences() {
    check(&[seq(&[3, 4])], |v| v[0].slice(s![1.., ..;2]));
    check(&[seq(&[3, 4])], |v| v[0].slice(s![-1, 1..3]));
    check(&[seq(&[4, 3])], |v| v[0].t().slice(s![..;-1, NewAxis, 0..3;2]));
    check(&[seq(&[2, 5])], |v| v[0].narrow(1, 1, 3).narrow(0, 1, 1));
}

#[test]
fn split_and_chunk_grads_match_finite_differences() {
    check(&[seq(&[2, 4])], |v| {
        let p = v[0].split(1, &[1, 3]);
        Var::concat(&[p[1], p[0] * 3.0], 1)
    });
    check(&[seq(&[3, 2])], |v| v[0].chunk(2, 0)[1]); // the other piece gets no gradient
    check(&[seq(&[2, 3])], |v| {
        let c = v[0].t().chunk(2, 0);
        Var::concat(&[c[1], c[0]], 0)
    });
}

#[test]
fn concat_and_stack_grads_match_finite_differences() {
    check(&[seq(&[2, 1]), seq(&[2, 3])], |v| Var::concat(&[v[0], v[1]], 1));
    check(&[seq(&[2, 2]), seq(&[2, 3])], |v| Var::concat(&[v[0], v[1].t(), v[0]], 0));
    check(&[seq(&[2, 3]), seq(&[2, 3])], |v| Var::stack(&[v[0], v[1], v[0] * v[1]], 1));
    check(&[seq(&[3])], |v| Var::stack(&[v[0]], 1));
}

#[test]
#[should_panic(expected = "concat: no Vars given")]
fn concat_rejects_an_empty_list() {
    Var::<f64>::concat(&[], 0);
}

#[test]
fn pad_and_repeat_grads_match_finite_differences() {
    check(&[seq(&[2, 3])], |v| v[0].t().pad(&[(1, 0), (0, 2)], 0.5));
    check(&[seq(&[2, 1])], |v| v[0].repeat(&[2, 1, 3]));
    check(&[seq(&[3, 2])], |v| v[0].t().repeat(&[2, 2]));
    check(&[seq(&[2])], |v| v[0].repeat(&[0, 2]).sum() + v[0]);
}

#[test]
fn shape_second_order_grads_match_finite_differences() {
    check2(&[seq(&[2, 3])], |v| v[0].reshape(&[3, 2]).square());
    check2(&[seq(&[2, 3, 4])], |v| v[0].permute(&[2, 0, 1]).square());
    check2(&[seq(&[2, 1])], |v| v[0].broadcast_to(&[3, 2, 4]).square());
    check2(&[seq(&[3, 2, 4])], |v| v[0].sum_to_shape(&[2, 1]).square());
    check2(&[seq(&[4, 3])], |v| v[0].t().slice(s![..;-1, 0..3;2]).square());
    check2(&[seq(&[2, 1]), seq(&[2, 3])], |v| Var::concat(&[v[0], v[1]], 1).square());
    check2(&[seq(&[2, 3]), seq(&[2, 3])], |v| Var::stack(&[v[0], v[1]], 1).square());
    check2(&[seq(&[2, 3])], |v| v[0].pad(&[(1, 0), (0, 2)], 0.5).square());
    check2(&[seq(&[2, 1])], |v| v[0].repeat(&[2, 1, 3]).square());
    check2(&[seq(&[2, 4])], |v| v[0].split(1, &[1, 3])[1].square());
}

#[test]
fn shape_ops_are_named() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Tensor::zeros(&[3, 4]));
    let name = |y: Var<'_, f64>| tape.node(y.id).op.name();
    assert_eq!(name(x.slice(s![1.., ..;2])), "slice([1.., ..;2])");
    assert_eq!(name(x.slice(s![-1, NewAxis, 1..3])), "slice([-1, newaxis, 1..3])");
    assert_eq!(name(x.permute(&[1, 0])), "permute([1, 0])");
    assert_eq!(name(Var::concat(&[x, x], 1)), "concat(axis 1)");
}
