//! Tests of `shape`.

use proptest::prelude::*;
use wengert_tensor::ndarray::{NewAxis, SliceInfoElem};
use wengert_tensor::{Tensor, s};

use super::{add_slice_adjoint, slice_adjoint};
use crate::ops::cases::{Case, bitwise, case, cube, gradchecks, prop};
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

/// Every view and copy of one tensor `x`, weighted by `w` where the result is as big as `x`.
fn views(x: &Tensor<f64>, w: &Tensor<f64>) -> Vec<Case> {
    let sh = x.shape().to_vec();
    let xs = std::slice::from_ref(x);
    let n = x.len();
    let (wf, w1, w2, w3, w4, w5, w6) =
        (w.flatten(), w.clone(), w.permute(&[2, 0, 1]), w.swap_axes(0, 2), w.t(), w.clone(), w.clone());
    let (s1, s2, s3, s4) = (sh.clone(), sh.clone(), sh.clone(), sh[2]);
    vec![
        case("reshape", xs, move |v| (v[0].reshape(&[n]) * &wf).sum()),
        case("flatten and reshape", xs, move |v| (v[0].flatten().reshape(&s1) * &w1).square().sum()),
        case("permute", xs, move |v| (v[0].permute(&[2, 0, 1]) * &w2).square().sum()),
        case("swap_axes", xs, move |v| (v[0].swap_axes(0, 2) * &w3).square().sum()),
        case("t", xs, move |v| (v[0].t() * &w4).square().sum()),
        case("unsqueeze and squeeze", xs, move |v| (v[0].unsqueeze(1).squeeze(1) * &w5).square().sum()),
        case("broadcast_to", xs, move |v| {
            (v[0].unsqueeze(0).broadcast_to(&[2, s2[0], s2[1], s2[2]]) * &w6).square().sum()
        }),
        case("sum_to_shape", xs, move |v| (v[0].sum_to_shape(&[1, s3[1], 1]) * v[0].sum()).sum()),
        case("slice", xs, |v| v[0].slice(s![.., ..;2, 1..]).square().sum()),
        case("narrow", xs, move |v| v[0].narrow(1, 0, 1).square().sum() + v[0].narrow(2, s4 - 1, 1).sum()),
        case("pad", xs, |v| v[0].pad(&[(1, 0), (0, 2), (1, 1)], 0.5).square().sum()),
        case("repeat", xs, |v| v[0].repeat(&[2, 1, 2]).square().sum() + v[0].repeat(&[3, 1, 1, 1]).sum()),
    ]
}

/// Joining `a` with a `b` that matches it off the last axis, and splitting `a`.
fn joins(a: &Tensor<f64>, b: &Tensor<f64>) -> Vec<Case> {
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    let b =
        if sa[0] == sb[0] && sa[1] == sb[1] { b.clone() } else { Tensor::ones(&[sa[0], sa[1], sb[2]]) * 0.7 };
    let d = sa[2];
    let xs = std::slice::from_ref(a);
    vec![
        case("concat", &[a.clone(), b], |v| Var::concat(&[v[0], v[1], v[0]], 2).square().sum()),
        case("stack", xs, |v| Var::stack(&[v[0], v[0] * 2.0], 1).square().sum()),
        case("split", xs, move |v| {
            let parts = v[0].split(2, &[d - d / 2, d / 2]);
            parts[0].square().sum() + parts[1].sum() * 3.0
        }),
        case("chunk", xs, |v| {
            v[0].chunk(2, 0).into_iter().map(|c| c.square().sum()).reduce(|p, q| p + q * 2.0).unwrap()
        }),
    ]
}

/// A value sliced many times, as a first-order sweep adds the slices' gradients into one: every
/// index of an axis (a sequence layer's time steps), overlapping ranges, stepped and reversed slices,
/// one slice used twice, and slices whose input's gradient is already a broadcast view or a buffer
/// shared with another input's (so it cannot be written in place).
fn slicings(x: &Tensor<f64>, w: &Tensor<f64>) -> Vec<Case> {
    let (a, c) = (x.shape()[0], x.shape()[2]);
    let xs = std::slice::from_ref(x);
    let w = w.clone();
    vec![
        case("every index of an axis", xs, move |v| {
            let step = |t: usize| (v[0].slice(s![t as isize, .., ..]).square() * (t as f64 + 1.0)).sum();
            (1..a).fold(step(0), |acc, t| acc + step(t))
        }),
        case("overlapping slices", xs, move |v| {
            let whole = v[0].narrow(2, 0, c).square().sum();
            whole + v[0].slice(s![.., .., c / 2..]).sum() * 3.0 + v[0].narrow(2, c - 1, 1).square().sum()
        }),
        case("stepped and reversed slices", xs, |v| {
            v[0].slice(s![..;2, .., ..;-1]).square().sum() + v[0].slice(s![-1..;-2, 0, ..]).sum()
        }),
        case("a slice used twice", xs, |v| {
            let s = v[0].slice(s![.., ..1, ..]);
            (s * s * s).sum() + s.sum()
        }),
        case("slices after a broadcast gradient", xs, |v| {
            v[0].narrow(0, 0, 1).square().sum() + v[0].sum() + v[0].narrow(1, 0, 1).sum()
        }),
        case("slices after a shared gradient", &[x.clone(), x.clone() * 0.5], move |v| {
            let s = v[0].narrow(2, c - 1, 1).square().sum();
            s + ((v[0] + v[1]) * &w).sum() + v[0].narrow(2, 0, 1).sum()
        }),
    ]
}

/// Every case of the family.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    (cube(), cube()).prop_map(|((x, w), (b, _))| {
        let mut all = views(&x, &w);
        all.extend(joins(&x, &b));
        all.extend(slicings(&x, &w));
        all
    })
}

#[test]
fn fifty_time_steps_sliced_from_one_sequence_get_the_bits_of_the_recorded_rule() {
    let x = seq(&[50, 2, 3]);
    let steps = case("fifty time steps", &[x], |v| {
        let step =
            |t: usize| v[0].slice(s![t as isize, .., ..]).narrow(1, 1, 2).tanh() * (t as f64 * 0.1 - 2.0);
        let h = (1..50).fold(step(0), |h, t| (h + step(t)).sin());
        h.sum() + v[0].narrow(0, 10, 30).square().sum()
    });
    prop(Just(vec![steps]), bitwise);
}

#[test]
fn a_slice_gradient_is_added_into_an_unshared_accumulated_gradient_in_place() {
    let info: Vec<SliceInfoElem> = s![1..3, ..;2].as_ref().to_vec();
    let acc = seq(&[4, 3]);
    let at = acc.view().as_ptr();
    let g = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let out = add_slice_adjoint(&g, Some(acc.clone() * 1.0), &info, &[4, 3]);
    assert_eq!(out.to_vec(), (acc.clone() + slice_adjoint(&g, &info, &[4, 3])).to_vec());
    let unshared = acc.clone() * 1.0;
    let at_unshared = unshared.view().as_ptr();
    let out = add_slice_adjoint(&g, Some(unshared), &info, &[4, 3]);
    assert_eq!(out.view().as_ptr(), at_unshared);
    // A shared buffer is left as it was: the sum goes to a new one.
    let out = add_slice_adjoint(&g, Some(acc.clone()), &info, &[4, 3]);
    assert_ne!(out.view().as_ptr(), at);
    assert_eq!(acc.to_vec(), seq(&[4, 3]).to_vec());
    assert_eq!(
        add_slice_adjoint(&g, None, &info, &[4, 3]).to_vec(),
        slice_adjoint(&g, &info, &[4, 3]).to_vec()
    );
}

#[test]
fn many_slices_differentiate_twice() {
    check2(&[seq(&[4, 2, 3])], |v| {
        let step =
            |t: usize| v[0].slice(s![t as isize, .., ..]).square() * v[0].slice(s![t as isize, .., ..;-1]);
        (1..4).fold(step(0), |acc, t| acc + step(t)) + v[0].narrow(2, 1, 2).sum_to_shape(&[2, 1]).square()
    });
}

#[test]
fn shape_grads_match_finite_differences_over_random_shapes() {
    prop(cases(), gradchecks);
}
