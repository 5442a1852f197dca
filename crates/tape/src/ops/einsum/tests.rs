//! Tests of `einsum` on Vars: matrix, batched, outer, diagonal and many-operand subscripts over
//! random shapes (with size-1 axes and permuted, non-contiguous inputs), checked against finite
//! differences to the second order.

use proptest::prelude::*;
use wengert_tensor::Tensor;

use crate::check::strategy;
use crate::ops::cases::{Case, case, gradchecks, prop};
use crate::tape::Tape;
use crate::var::Var;

/// A tensor of `shape` in -2..2, stored transposed (non-contiguous) when `t` and it has 2+ dims.
fn operand(shape: Vec<usize>, t: bool) -> BoxedStrategy<Tensor<f64>> {
    if t && shape.len() >= 2 {
        let rev: Vec<usize> = shape.iter().rev().copied().collect();
        let order: Vec<usize> = (0..shape.len()).rev().collect();
        strategy::tensor(&rev, -2.0..2.0).prop_map(move |x| x.permute(&order)).boxed()
    } else {
        strategy::tensor(&shape, -2.0..2.0).boxed()
    }
}

/// Every case of the family: sizes `b, i, j, k` in 1..=3 (size 1 often) for each subscript.
pub(crate) fn cases() -> impl Strategy<Value = Vec<Case>> {
    (strategy::shape_in(4..=4, 1..=3), any::<bool>())
        .prop_flat_map(|(d, t)| {
            let (b, i, j, k) = (d[0], d[1], d[2], d[3]);
            (
                operand(vec![i, j], t),
                operand(vec![j, k], !t),
                operand(vec![b, i, j], t),
                operand(vec![b, j, k], t),
                operand(vec![j, j], t),
                operand(vec![k, b], !t),
            )
        })
        .prop_map(|(ij, jk, bij, bjk, jj, kb)| {
            vec![
                case("einsum ij,jk->ik", &[ij.clone(), jk.clone()], |v| {
                    Var::einsum("ij,jk->ik", &[v[0], v[1]]).square()
                }),
                case("einsum bij,bjk->bki", &[bij, bjk], |v| {
                    Var::einsum("bij,bjk->bki", &[v[0], v[1]]) * 0.5
                }),
                case("einsum ij,ij->i", std::slice::from_ref(&ij), |v| {
                    Var::einsum("ij,ij->i", &[v[0], v[0]])
                }),
                case("einsum jj->j", std::slice::from_ref(&jj), |v| Var::einsum("jj->j", &[v[0]]).square()),
                case("einsum jj", &[jj], |v| Var::einsum("jj", &[v[0]]).square()),
                case("einsum i,k->ik", &[ij.clone(), jk.clone()], |v| {
                    Var::einsum("ij,k->ik", &[v[0], v[1].sum_axes(&[0], false)]).square()
                }),
                case("einsum ij,jk,kb,ij->b", &[ij, jk, kb], |v| {
                    Var::einsum("ij,jk,kb,ij->b", &[v[0], v[1], v[2], v[0]])
                }),
            ]
        })
}

#[test]
fn einsum_grads_match_finite_differences() {
    prop(cases(), gradchecks);
}

#[test]
fn einsum_grads_match_the_ops_it_names() {
    let tape = Tape::<f64>::new();
    let a = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap());
    let b = tape.var(Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3, 1]).unwrap());
    let by_einsum = tape.grad(Var::einsum("ij,jk->ik", &[a, b]).square().sum(), &[a, b]);
    let by_matmul = tape.grad(a.matmul(b).square().sum(), &[a, b]);
    assert_eq!(by_einsum[0].to_vec(), by_matmul[0].to_vec());
    assert_eq!(by_einsum[1].to_vec(), by_matmul[1].to_vec());
}

#[test]
#[should_panic(expected = "einsum: \"ij,jk->ik\": label 'j' has size 3 in operand 0 but 2 in operand 1")]
fn einsum_panics_naming_the_subscripts() {
    let tape = Tape::<f64>::new();
    let a = tape.var(Tensor::zeros(&[2, 3]));
    Var::einsum("ij,jk->ik", &[a, a]);
}
