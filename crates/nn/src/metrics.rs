//! Metrics on tensors, for reporting (not differentiable): classification accuracy by arg-max,
//! binary accuracy by threshold, and the regression errors MAE, MSE and RMSE. Every metric
//! accumulates in f64 and returns an `f64`; over no element it is NaN (a mean of nothing).

use wengert_tensor::{Float, Tensor};

/// The fraction of rows of `scores` (`[N, C]` logits or probabilities, `C ≥ 2`) whose arg-max (the
/// first on ties) equals the row's target class.
///
/// ```
/// use wengert::nn::metrics::accuracy;
/// use wengert::tensor::Tensor;
/// let logits = Tensor::<f32>::from_vec(vec![2.0, 1.0, 0.0, 3.0, 5.0, -1.0], &[3, 2]).unwrap();
/// assert_eq!(accuracy(&logits, &[0, 1, 1]), 2.0 / 3.0);
/// ```
///
/// # Panics
///
/// When `scores` is not 2-D with at least 2 columns (for one column of probabilities, use
/// [`binary_accuracy`]), or `targets` does not hold one class per row.
#[track_caller]
pub fn accuracy<F: Float>(scores: &Tensor<F>, targets: &[usize]) -> f64 {
    let shape = scores.shape();
    if shape.len() != 2 || shape[1] < 2 {
        panic!(
            "accuracy: scores of shape {shape:?} are not [N, C] with C ≥ 2 (use binary_accuracy for one column)"
        );
    }
    if targets.len() != shape[0] {
        panic!("accuracy: {} targets for scores of shape {shape:?}", targets.len());
    }
    if targets.is_empty() {
        return f64::NAN;
    }
    let predicted = scores.argmax_axis(1, false);
    let hits = predicted.iter().zip(targets).filter(|(p, t)| p == t).count();
    hits as f64 / targets.len() as f64
}

/// The fraction of elements where `probs > threshold` agrees with `targets > 0.5` (Keras'
/// `binary_accuracy`, threshold 0.5 for probabilities; use 0 for logits).
///
/// ```
/// use wengert::nn::metrics::binary_accuracy;
/// use wengert::tensor::Tensor;
/// let p = Tensor::<f32>::from_vec(vec![0.9, 0.2, 0.6, 0.4], &[4, 1]).unwrap();
/// let t = Tensor::<f32>::from_vec(vec![1.0, 0.0, 0.0, 0.0], &[4, 1]).unwrap();
/// assert_eq!(binary_accuracy(&p, &t, 0.5), 0.75);
/// ```
///
/// # Panics
///
/// When the shapes differ other than by size-1 dimensions (`[N, 1]` against `[N]` is accepted).
#[track_caller]
pub fn binary_accuracy<F: Float>(probs: &Tensor<F>, targets: &Tensor<F>, threshold: f64) -> f64 {
    let hits = pairs("binary_accuracy", probs, targets)
        .map(|(p, t)| f64::from(u8::from((p > threshold) == (t > 0.5))))
        .collect::<Vec<_>>();
    mean(&hits)
}

/// Mean absolute error, `mean |pred - target|`.
///
/// ```
/// use wengert::nn::metrics::mae;
/// use wengert::tensor::Tensor;
/// let p = Tensor::<f32>::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let t = Tensor::<f32>::from_vec(vec![0.0, 4.0], &[2]).unwrap();
/// assert_eq!(mae(&p, &t), 1.5);
/// ```
///
/// # Panics
///
/// When the shapes differ other than by size-1 dimensions.
#[track_caller]
pub fn mae<F: Float>(pred: &Tensor<F>, target: &Tensor<F>) -> f64 {
    mean(&pairs("mae", pred, target).map(|(p, t)| (p - t).abs()).collect::<Vec<_>>())
}

/// Mean squared error, `mean (pred - target)²`.
///
/// ```
/// use wengert::nn::metrics::mse;
/// use wengert::tensor::Tensor;
/// let p = Tensor::<f32>::from_vec(vec![1.0, 2.0], &[2]).unwrap();
/// let t = Tensor::<f32>::from_vec(vec![0.0, 4.0], &[2]).unwrap();
/// assert_eq!(mse(&p, &t), 2.5);
/// ```
///
/// # Panics
///
/// When the shapes differ other than by size-1 dimensions.
#[track_caller]
pub fn mse<F: Float>(pred: &Tensor<F>, target: &Tensor<F>) -> f64 {
    mean(&pairs("mse", pred, target).map(|(p, t)| (p - t) * (p - t)).collect::<Vec<_>>())
}

/// Root mean squared error, `√(mean (pred - target)²)`.
///
/// ```
/// use wengert::nn::metrics::rmse;
/// use wengert::tensor::Tensor;
/// let p = Tensor::<f32>::from_vec(vec![3.0, 0.0], &[2]).unwrap();
/// let t = Tensor::<f32>::from_vec(vec![0.0, 4.0], &[2]).unwrap();
/// assert!((rmse(&p, &t) - 12.5f64.sqrt()).abs() < 1e-12);
/// ```
///
/// # Panics
///
/// When the shapes differ other than by size-1 dimensions.
#[track_caller]
pub fn rmse<F: Float>(pred: &Tensor<F>, target: &Tensor<F>) -> f64 {
    mean(&pairs("rmse", pred, target).map(|(p, t)| (p - t) * (p - t)).collect::<Vec<_>>()).sqrt()
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
}

/// The elements of `a` and `b` in row-major order, as f64 pairs, after checking that their shapes
/// agree up to size-1 dimensions.
#[track_caller]
fn pairs<F: Float>(op: &str, a: &Tensor<F>, b: &Tensor<F>) -> impl Iterator<Item = (f64, f64)> {
    let squeezed = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
    if squeezed(a.shape()) != squeezed(b.shape()) {
        panic!("{op}: shapes {:?} and {:?} differ", a.shape(), b.shape());
    }
    let (a, b) = (a.to_vec(), b.to_vec());
    a.into_iter().zip(b).map(|(x, y)| (x.to_f64(), y.to_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(data: &[f64], shape: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(data.to_vec(), shape).unwrap()
    }

    #[test]
    fn accuracy_counts_rows_whose_argmax_is_the_target() {
        let p = t(&[0.1, 0.7, 0.2, 0.5, 0.5, 0.0, 0.0, 0.1, 0.9, 0.3, 0.3, 0.4], &[4, 3]);
        // Arg-maxes 1, 0 (first on the tie), 2, 2.
        assert_eq!(accuracy(&p, &[1, 0, 2, 0]), 0.75);
        assert_eq!(accuracy(&p, &[0, 1, 0, 1]), 0.0);
        assert!(accuracy(&Tensor::<f32>::zeros(&[0, 2]), &[]).is_nan());
    }

    #[test]
    #[should_panic(expected = "accuracy: scores of shape [3, 1] are not [N, C] with C ≥ 2")]
    fn accuracy_rejects_a_single_column() {
        accuracy(&Tensor::<f32>::zeros(&[3, 1]), &[0, 0, 0]);
    }

    #[test]
    #[should_panic(expected = "accuracy: 2 targets for scores of shape [3, 2]")]
    fn accuracy_rejects_a_wrong_number_of_targets() {
        accuracy(&Tensor::<f32>::zeros(&[3, 2]), &[0, 0]);
    }

    #[test]
    fn binary_accuracy_thresholds_predictions_and_targets() {
        let p = t(&[0.9, 0.5, 0.51, 0.1, -2.0], &[5, 1]);
        let y = t(&[1.0, 1.0, 1.0, 0.0, 0.0], &[5]);
        assert_eq!(binary_accuracy(&p, &y, 0.5), 0.8); // 0.5 is not above 0.5
        assert_eq!(binary_accuracy(&p, &y, 0.0), 0.8); // as logits: 0.1 counts as positive
    }

    #[test]
    fn regression_errors_match_their_formulas() {
        let p = t(&[1.0, -2.0, 3.5, 0.0], &[2, 2]);
        let y = t(&[0.0, 1.0, 3.0, -1.0], &[2, 2]);
        assert_eq!(mae(&p, &y), (1.0 + 3.0 + 0.5 + 1.0) / 4.0);
        assert_eq!(mse(&p, &y), (1.0 + 9.0 + 0.25 + 1.0) / 4.0);
        assert_eq!(rmse(&p, &y), (11.25f64 / 4.0).sqrt());
        let p32 = Tensor::<f32>::from_vec(vec![1.0, 2.0], &[2, 1]).unwrap();
        let y32 = Tensor::<f32>::from_vec(vec![1.5, 2.0], &[2]).unwrap();
        assert_eq!(mae(&p32, &y32), 0.25);
    }

    #[test]
    #[should_panic(expected = "mse: shapes [2, 3] and [3, 2] differ")]
    fn regression_errors_reject_different_shapes() {
        mse(&Tensor::<f32>::zeros(&[2, 3]), &Tensor::zeros(&[3, 2]));
    }
}
