//! Tests of `einsum` against loops written out by hand.

use super::*;

fn seq(shape: &[usize], start: f64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| start + (i as f64 * 0.7).sin()).collect(), shape).unwrap()
}

fn close(a: &Tensor<f64>, b: &Tensor<f64>) {
    assert_eq!(a.shape(), b.shape());
    for (x, y) in a.to_vec().iter().zip(b.to_vec()) {
        assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
    }
}

#[test]
fn einsum_matches_the_ops_it_names() {
    let (a, b) = (seq(&[2, 3], 0.0), seq(&[3, 4], 1.0));
    close(&Tensor::einsum("ij,jk->ik", &[&a, &b]), &a.matmul(&b));
    close(&Tensor::einsum("ij,jk", &[&a, &b]), &a.matmul(&b));
    close(&Tensor::einsum("ij->ji", &[&a]), &a.t());
    close(&Tensor::einsum("ij ->", &[&a]), &a.sum());
    close(&Tensor::einsum("ij,ij->ij", &[&a, &a]), &(&a * &a));
    close(
        &Tensor::einsum("i,j->ij", &[&seq(&[2], 0.0), &seq(&[3], 0.0)]),
        &seq(&[2], 0.0).unsqueeze(1).matmul(&seq(&[3], 0.0).unsqueeze(0)),
    );
    let (x, y) = (seq(&[2, 2, 3], 0.0), seq(&[2, 3, 2], 2.0));
    close(&Tensor::einsum("bij,bjk->bik", &[&x, &y]), &x.matmul(&y));
    let sq = seq(&[3, 3], 0.0);
    close(&Tensor::einsum("ii->i", &[&sq]), &sq.diagonal(0, 0, 1));
    close(&Tensor::einsum("ii", &[&sq]), &sq.diagonal(0, 0, 1).sum());
}

#[test]
fn einsum_of_four_operands_matches_a_loop() {
    let (a, b, c, d) = (seq(&[2, 3], 0.0), seq(&[3, 4], 1.0), seq(&[4, 2], -1.0), seq(&[2, 5], 0.5));
    let got = Tensor::einsum("ij,jk,kl,lm->im", &[&a, &b, &c, &d]);
    close(&got, &a.matmul(&b).matmul(&c).matmul(&d));
    // A contraction whose batch label is kept and a label summed across three operands.
    let got = Tensor::einsum("bi,bi,bj->b", &[&a.t(), &a.t(), &seq(&[3, 2], 0.0)]);
    let want: Vec<f64> = (0..3)
        .map(|bb| {
            let s: f64 = (0..2).map(|i| a.t().to_vec()[bb * 2 + i].powi(2)).sum();
            s * (0..2).map(|j| seq(&[3, 2], 0.0).to_vec()[bb * 2 + j]).sum::<f64>()
        })
        .collect();
    close(&got, &Tensor::from_vec(want, &[3]).unwrap());
}

#[test]
fn einsum_errors_name_the_subscripts() {
    let msg = |s: &str, shapes: &[&[usize]]| EinsumPlan::new(s, shapes).unwrap_err().to_string();
    assert_eq!(msg("ij,jk->ik", &[&[2, 3]]), "einsum: \"ij,jk->ik\": 2 operands named but 1 given");
    assert_eq!(msg("ijk->i", &[&[2, 3]]), "einsum: \"ijk->i\": operand 0 has 3 labels but shape [2, 3]");
    assert_eq!(msg("ij->ii", &[&[2, 3]]), "einsum: \"ij->ii\": label 'i' is in the output twice");
    assert_eq!(msg("ij->z", &[&[2, 3]]), "einsum: \"ij->z\": output label 'z' is in no operand");
    assert_eq!(msg("i1->i", &[&[2, 3]]), "einsum: \"i1->i\": '1' is not a label (labels are letters)");
    assert_eq!(msg("...i->i", &[&[2]]), "einsum: \"...i->i\": '...' is not supported");
}

#[test]
#[should_panic(expected = "einsum: \"ii->i\": label 'i' has size 2 in operand 0 but 3 in operand 0")]
fn einsum_panics_on_a_diagonal_of_unequal_axes() {
    Tensor::<f64>::einsum("ii->i", &[&Tensor::zeros(&[2, 3])]);
}
