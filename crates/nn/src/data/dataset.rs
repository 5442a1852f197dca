//! `TensorDataset`: inputs and targets as two tensors whose first axis is the sample; subsets and a
//! seeded train/test split.

use rand::Rng;
use wengert_tensor::{Float, Tensor};

use super::DataError;
use crate::rng::SeedRng;

/// A dataset held as two tensors, `inputs` and `targets`, whose first axis indexes the samples.
/// Clones are O(1) (tensors share storage).
///
/// ```
/// use wengert::nn::data::TensorDataset;
/// use wengert::tensor::Tensor;
/// let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
/// let y = Tensor::<f32>::from_vec(vec![0.0, 1.0, 0.0], &[3]).unwrap();
/// let data = TensorDataset::new(x, y)?;
/// let (x1, y1) = data.get(1).unwrap();
/// assert_eq!((x1.to_vec(), y1.item()), (vec![3.0, 4.0], 1.0));
/// assert_eq!(data.subset(&[2, 0]).inputs().to_vec(), vec![5.0, 6.0, 1.0, 2.0]);
/// # Ok::<(), wengert::nn::data::DataError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TensorDataset<F: Float = f32> {
    inputs: Tensor<F>,
    targets: Tensor<F>,
}

impl<F: Float> TensorDataset<F> {
    /// Pairs `inputs` with `targets`, sample by sample along axis 0.
    ///
    /// # Errors
    ///
    /// [`DataError::LengthMismatch`] when either has no axis or their first dimensions differ.
    pub fn new(inputs: Tensor<F>, targets: Tensor<F>) -> Result<Self, DataError> {
        match (inputs.shape().first(), targets.shape().first()) {
            (Some(a), Some(b)) if a == b => Ok(TensorDataset { inputs, targets }),
            _ => Err(DataError::LengthMismatch {
                inputs: inputs.shape().to_vec(),
                targets: targets.shape().to_vec(),
            }),
        }
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.inputs.shape()[0]
    }

    /// True when the dataset holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The inputs, samples along axis 0.
    pub fn inputs(&self) -> &Tensor<F> {
        &self.inputs
    }

    /// The targets, samples along axis 0.
    pub fn targets(&self) -> &Tensor<F> {
        &self.targets
    }

    /// The inputs and targets.
    pub fn into_parts(self) -> (Tensor<F>, Tensor<F>) {
        (self.inputs, self.targets)
    }

    /// Sample `i` as `(input, target)`, each without the sample axis; `None` when `i` is out of range.
    pub fn get(&self, i: usize) -> Option<(Tensor<F>, Tensor<F>)> {
        (i < self.len()).then(|| {
            (self.inputs.index_select(0, &[i]).squeeze(0), self.targets.index_select(0, &[i]).squeeze(0))
        })
    }

    /// The samples `indices`, in that order (repeats allowed).
    ///
    /// # Panics
    ///
    /// When an index is not below [`len`](Self::len).
    #[track_caller]
    pub fn subset(&self, indices: &[usize]) -> Self {
        TensorDataset {
            inputs: self.inputs.index_select(0, indices),
            targets: self.targets.index_select(0, indices),
        }
    }
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
pub(crate) fn permutation(n: usize, rng: &mut SeedRng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    order
}

/// Shuffles the samples with a generator seeded by `seed`, then puts `ceil(test_fraction · len)` of
/// them in the test set and the rest in the training set: `(train, test)`, as scikit-learn's
/// `train_test_split(test_size=...)`.
///
/// ```
/// use wengert::nn::data::{TensorDataset, train_test_split};
/// use wengert::tensor::Tensor;
/// let data = TensorDataset::new(Tensor::<f64>::zeros(&[10, 3]), Tensor::zeros(&[10]))?;
/// let (train, test) = train_test_split(&data, 0.25, 0);
/// assert_eq!((train.len(), test.len()), (7, 3));
/// # Ok::<(), wengert::nn::data::DataError>(())
/// ```
///
/// # Panics
///
/// When `test_fraction` is not within `0.0..=1.0`.
#[track_caller]
pub fn train_test_split<F: Float>(
    dataset: &TensorDataset<F>,
    test_fraction: f64,
    seed: u64,
) -> (TensorDataset<F>, TensorDataset<F>) {
    assert!(
        (0.0..=1.0).contains(&test_fraction),
        "train_test_split: test_fraction {test_fraction} is not within 0.0..=1.0"
    );
    let n = dataset.len();
    let n_test = ((test_fraction * n as f64).ceil() as usize).min(n);
    let order = permutation(n, &mut SeedRng::new(seed));
    let (test, train) = order.split_at(n_test);
    (dataset.subset(train), dataset.subset(test))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> TensorDataset<f64> {
        let x = Tensor::from_vec((0..2 * n).map(|i| i as f64).collect(), &[n, 2]).unwrap();
        let y = Tensor::from_vec((0..n).map(|i| i as f64).collect(), &[n]).unwrap();
        TensorDataset::new(x, y).unwrap()
    }

    #[test]
    fn inputs_and_targets_must_pair_up() {
        let err = TensorDataset::new(Tensor::<f32>::zeros(&[3, 2]), Tensor::zeros(&[4])).unwrap_err();
        assert!(matches!(err, DataError::LengthMismatch { .. }));
        assert!(TensorDataset::new(Tensor::<f32>::scalar(1.0), Tensor::zeros(&[1])).is_err());
        assert!(TensorDataset::new(Tensor::<f32>::zeros(&[0, 2]), Tensor::zeros(&[0])).unwrap().is_empty());
    }

    #[test]
    fn get_and_subset_pick_samples() {
        let d = data(4);
        assert_eq!(d.len(), 4);
        let (x, y) = d.get(3).unwrap();
        assert_eq!((x.shape(), x.to_vec(), y.shape(), y.item()), (&[2][..], vec![6.0, 7.0], &[][..], 3.0));
        assert!(d.get(4).is_none());
        let s = d.subset(&[1, 1, 0]);
        assert_eq!(s.targets().to_vec(), vec![1.0, 1.0, 0.0]);
        assert_eq!(s.inputs().shape(), &[3, 2]);
    }

    #[test]
    #[should_panic(expected = "index_select")]
    fn subset_rejects_a_far_index() {
        data(2).subset(&[2]);
    }

    #[test]
    fn permutations_are_seeded_and_complete() {
        let p = permutation(50, &mut SeedRng::new(1));
        assert_eq!(p, permutation(50, &mut SeedRng::new(1)));
        assert_ne!(p, permutation(50, &mut SeedRng::new(2)));
        let mut sorted = p.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert!(permutation(0, &mut SeedRng::new(1)).is_empty());
    }

    #[test]
    fn the_split_is_seeded_disjoint_and_complete() {
        let d = data(10);
        let (train, test) = train_test_split(&d, 0.3, 5);
        assert_eq!((train.len(), test.len()), (7, 3));
        let mut all: Vec<f64> = train.targets().to_vec().into_iter().chain(test.targets().to_vec()).collect();
        all.sort_by(f64::total_cmp);
        assert_eq!(all, (0..10).map(f64::from).collect::<Vec<_>>());
        assert_eq!(train_test_split(&d, 0.3, 5).1.targets(), test.targets());
        assert_ne!(train_test_split(&d, 0.3, 6).1.targets(), test.targets());
        assert_eq!(train_test_split(&d, 0.0, 5).1.len(), 0);
        assert_eq!(train_test_split(&d, 1.0, 5).0.len(), 0);
    }

    #[test]
    #[should_panic(expected = "train_test_split: test_fraction 1.5 is not within 0.0..=1.0")]
    fn the_split_rejects_a_fraction_above_one() {
        train_test_split(&data(3), 1.5, 0);
    }
}
