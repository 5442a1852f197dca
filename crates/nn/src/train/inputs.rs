//! The data's side of `fit`: inputs and targets checked against each other and against the model,
//! targets of shape `[N]` taken as `[N, 1]`, validation batches, a validation split, and rows gathered
//! into batches.

use wengert_tensor::{Float, Tensor};

use super::batches::{Batch, Model};
use super::{TrainError, Validation};

/// The target as the loss should see it: `[N]` becomes `[N, 1]` when the prediction is `[N, 1]`.
///
/// # Errors
///
/// [`TrainError::TargetShape`] when the prediction and the target have different numbers of rows.
pub(super) fn fit_target<F: Float>(pred: &Tensor<F>, target: &Tensor<F>) -> Result<Tensor<F>, TrainError> {
    let (p, t) = (pred.shape(), target.shape());
    if p.first() != t.first() {
        return Err(TrainError::TargetShape {
            prediction: p.to_vec(),
            target: t.to_vec(),
            reason: "they do not have the same number of rows".into(),
        });
    }
    if t.len() == 1 && p.len() == 2 && p[1] == 1 {
        return Ok(target.reshape(&[t[0], 1]).expect("[N] and [N, 1] hold the same elements"));
    }
    Ok(target.clone())
}

/// The loss's one value.
///
/// # Errors
///
/// [`TrainError::TargetShape`] when the loss is not a single value.
pub(super) fn scalar_loss<F: Float>(
    loss: &Tensor<F>,
    pred: &Tensor<F>,
    target: &Tensor<F>,
) -> Result<f64, TrainError> {
    if loss.len() != 1 {
        return Err(TrainError::TargetShape {
            prediction: pred.shape().to_vec(),
            target: target.shape().to_vec(),
            reason: format!("the loss of them has shape {:?}, not a single value", loss.shape()),
        });
    }
    Ok(loss.item().to_f64())
}

/// Checks that the model takes as many inputs as the batch holds.
pub(super) fn check_inputs<F: Float, M: Model<F> + ?Sized>(
    model: &M,
    b: &Batch<F>,
) -> Result<(), TrainError> {
    match model.num_inputs() {
        Some(n) if n != b.inputs.len() => Err(TrainError::InvalidData(format!(
            "the model takes {n} input(s) but a batch holds {}",
            b.inputs.len()
        ))),
        _ => Ok(()),
    }
}

/// The validation batches of [`Validation::Data`] and [`Validation::Batches`].
///
/// # Errors
///
/// [`TrainError::InvalidData`] for a split (which needs in-memory tensors) or data whose inputs and
/// targets differ in rows.
pub(super) fn validation_batches<F: Float>(v: &Validation<F>) -> Result<Option<Vec<Batch<F>>>, TrainError> {
    match v {
        Validation::None => Ok(None),
        Validation::Data(x, y) => {
            check_pair("validation", x, y)?;
            Ok(Some(batches_of(&(x.clone(), y.clone()), 32)))
        }
        Validation::Batches(b) => Ok(Some(b.clone())),
        Validation::Split(_) => Err(TrainError::InvalidData(
            "a validation split needs the data as tensors (Trainer::fit); give fit_batches \
             Validation::Data or Validation::Batches"
                .into(),
        )),
    }
}

/// A pair cut into batches of `size` rows, in order.
pub(super) fn batches_of<F: Float>(pair: &Pair<F>, size: usize) -> Vec<Batch<F>> {
    let n = pair.0.shape()[0];
    let all: Vec<usize> = (0..n).collect();
    all.chunks(size.max(1)).map(|idx| Batch::from(rows(pair, idx, n))).collect()
}

pub(super) fn check_pair<F: Float>(what: &str, x: &Tensor<F>, y: &Tensor<F>) -> Result<(), TrainError> {
    if x.ndim() == 0 || y.ndim() == 0 || x.shape()[0] != y.shape()[0] {
        return Err(TrainError::InvalidData(format!(
            "{what} inputs of shape {:?} and targets of shape {:?} do not have the same number of rows",
            x.shape(),
            y.shape()
        )));
    }
    Ok(())
}

pub(super) type Pair<F> = (Tensor<F>, Tensor<F>);

/// The training pair and the validation pair of a split, if any.
pub(super) fn split<F: Float>(
    x: &Tensor<F>,
    y: &Tensor<F>,
    v: &Validation<F>,
) -> Result<(Pair<F>, Option<Pair<F>>), TrainError> {
    match v {
        Validation::None | Validation::Data(..) | Validation::Batches(_) => {
            Ok(((x.clone(), y.clone()), None))
        }
        Validation::Split(frac) => {
            let n = x.shape()[0];
            let n_val = (n as f64 * frac).round() as usize;
            if !(0.0..1.0).contains(frac) || n_val == 0 || n_val >= n {
                return Err(TrainError::InvalidData(format!(
                    "validation split {frac} of {n} rows leaves no training or no validation rows"
                )));
            }
            let cut = n - n_val;
            Ok((
                (x.narrow(0, 0, cut), y.narrow(0, 0, cut)),
                Some((x.narrow(0, cut, n_val), y.narrow(0, cut, n_val))),
            ))
        }
    }
}

/// The rows `idx` of a pair; the whole pair (no copy) when `idx` is every row in order.
pub(super) fn rows<F: Float>(pair: &Pair<F>, idx: &[usize], n: usize) -> Pair<F> {
    if idx.len() == n && idx.iter().enumerate().all(|(i, &j)| i == j) {
        return pair.clone();
    }
    (take_rows(&pair.0, idx), take_rows(&pair.1, idx))
}

/// `t.index_select(0, idx)`, copying whole rows at a time when `t` is row-major (a batch of a few
/// rows is built once per step, so this is on the hot path of small models).
fn take_rows<F: Float>(t: &Tensor<F>, idx: &[usize]) -> Tensor<F> {
    let (Some(all), Some(&rows)) = (t.as_slice(), t.shape().first()) else {
        return t.index_select(0, idx);
    };
    let width = all.len().checked_div(rows).unwrap_or(0);
    let mut out = Vec::with_capacity(idx.len() * width);
    for &i in idx {
        out.extend_from_slice(&all[i * width..(i + 1) * width]);
    }
    let mut shape = t.shape().to_vec();
    shape[0] = idx.len();
    Tensor::from_vec(out, &shape).expect("whole rows fill the batch's shape")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_rows_matches_index_select_for_every_layout() {
        let x = Tensor::<f32>::from_vec((0..24).map(|i| i as f32).collect(), &[4, 3, 2]).unwrap();
        let idx = [3, 0, 2, 0];
        assert_eq!(take_rows(&x, &idx), x.index_select(0, &idx));
        let strided = x.swap_axes(1, 2);
        assert_eq!(take_rows(&strided, &idx), strided.index_select(0, &idx));
        let empty = Tensor::<f32>::zeros(&[0, 3]);
        assert_eq!(take_rows(&empty, &[]).shape(), &[0, 3]);
    }
}
