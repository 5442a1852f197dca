//! `DataLoader`: batches of a dataset along axis 0, reshuffled each epoch by a seeded generator.

use std::iter::FusedIterator;

use wengert_tensor::{Float, Tensor};

use super::TensorDataset;
use super::dataset::permutation;
use crate::rng::SeedRng;

/// Splits a [`TensorDataset`] into batches of `(inputs, targets)`, gathered with `index_select` on
/// axis 0. With [`shuffle`](Self::shuffle) every epoch (every call of [`iter`](Self::iter)) draws a new
/// order from the loader's generator, so a seed fixes the whole sequence of epochs.
///
/// ```
/// use wengert::nn::data::{DataLoader, TensorDataset};
/// use wengert::tensor::Tensor;
/// let data = TensorDataset::new(Tensor::<f32>::zeros(&[5, 2]), Tensor::zeros(&[5]))?;
/// let mut loader = DataLoader::new(data, 2);
/// let sizes: Vec<usize> = loader.iter().map(|(x, _)| x.shape()[0]).collect();
/// assert_eq!(sizes, [2, 2, 1]);
/// # Ok::<(), wengert::nn::data::DataError>(())
/// ```
#[derive(Debug, Clone)]
pub struct DataLoader<F: Float = f32> {
    dataset: TensorDataset<F>,
    batch_size: usize,
    rng: Option<SeedRng>,
    drop_last: bool,
    shard: Option<(usize, usize)>,
}

impl<F: Float> DataLoader<F> {
    /// Batches of `batch_size` samples in order, the last one smaller when `batch_size` does not divide
    /// the dataset's length.
    ///
    /// # Panics
    ///
    /// When `batch_size` is zero.
    #[track_caller]
    pub fn new(dataset: TensorDataset<F>, batch_size: usize) -> Self {
        assert!(batch_size > 0, "DataLoader: batch_size must be at least 1");
        DataLoader { dataset, batch_size, rng: None, drop_last: false, shard: None }
    }

    /// Shuffles every epoch with a generator seeded by `seed`.
    pub fn shuffle(self, seed: u64) -> Self {
        self.shuffle_with(SeedRng::new(seed))
    }

    /// Shuffles every epoch with `rng` (a fork of a store's generator, or one restored from a checkpoint).
    pub fn shuffle_with(mut self, rng: SeedRng) -> Self {
        self.rng = Some(rng);
        self
    }

    /// Drops the last batch when it would be smaller than the batch size.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Keeps worker `rank`'s shard of every epoch out of `world` workers of a data-parallel run (see
    /// [`shard_order`](super::shard_order)): give every worker the same seed, and each takes its own
    /// batches of the same shuffle, the same number of them.
    ///
    /// ```
    /// use wengert::nn::data::{DataLoader, TensorDataset};
    /// use wengert::tensor::Tensor;
    /// let data = TensorDataset::new(Tensor::<f32>::arange(0.0, 8.0, 1.0), Tensor::zeros(&[8]))?;
    /// let mut rank1 = DataLoader::new(data, 2).shard(1, 2);
    /// let rows: Vec<Vec<f32>> = rank1.iter().map(|(x, _)| x.to_vec()).collect();
    /// assert_eq!(rows, [vec![2.0, 3.0], vec![6.0, 7.0]]);
    /// # Ok::<(), wengert::nn::data::DataError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// When `rank >= world`.
    #[track_caller]
    pub fn shard(mut self, rank: usize, world: usize) -> Self {
        assert!(rank < world, "DataLoader::shard: rank {rank} is not below the world size {world}");
        self.shard = Some((rank, world));
        self
    }

    /// The number of batches per epoch.
    pub fn len(&self) -> usize {
        let n = self.dataset.len();
        if let Some((_, world)) = self.shard {
            return super::shard_batches(n, self.batch_size, world, self.drop_last);
        }
        if self.drop_last { n / self.batch_size } else { n.div_ceil(self.batch_size) }
    }

    /// True when an epoch yields no batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of samples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The dataset.
    pub fn dataset(&self) -> &TensorDataset<F> {
        &self.dataset
    }

    /// The shuffling generator's state (`None` without shuffling), for checkpoints.
    pub fn rng_state(&self) -> Option<SeedRng> {
        self.rng.clone()
    }

    /// Restores the shuffling generator from a checkpoint ([`Checkpoint::data_rng`](crate::checkpoint::Checkpoint::data_rng)),
    /// so the next epochs come in the order an uninterrupted run would have drawn; turns shuffling on.
    pub fn set_rng_state(&mut self, rng: SeedRng) {
        self.rng = Some(rng);
    }

    /// One epoch of batches, in a new order when shuffling.
    pub fn iter(&mut self) -> Batches<F> {
        let n = self.dataset.len();
        let order = match &mut self.rng {
            Some(rng) => permutation(n, rng),
            None => (0..n).collect(),
        };
        if let Some((rank, world)) = self.shard {
            let order = super::shard_order(&order, self.batch_size, rank, world, self.drop_last);
            let end = order.len();
            return Batches { dataset: self.dataset.clone(), order, at: 0, end, batch_size: self.batch_size };
        }
        let end = if self.drop_last { n - n % self.batch_size } else { n };
        Batches { dataset: self.dataset.clone(), order, at: 0, end, batch_size: self.batch_size }
    }
}

impl<F: Float> IntoIterator for &mut DataLoader<F> {
    type Item = (Tensor<F>, Tensor<F>);
    type IntoIter = Batches<F>;

    fn into_iter(self) -> Batches<F> {
        self.iter()
    }
}

/// One epoch of a [`DataLoader`]: `(inputs, targets)` batches.
#[derive(Debug, Clone)]
pub struct Batches<F: Float = f32> {
    dataset: TensorDataset<F>,
    order: Vec<usize>,
    at: usize,
    end: usize,
    batch_size: usize,
}

impl<F: Float> Iterator for Batches<F> {
    type Item = (Tensor<F>, Tensor<F>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.end {
            return None;
        }
        let stop = (self.at + self.batch_size).min(self.end);
        let batch = self.dataset.subset(&self.order[self.at..stop]);
        self.at = stop;
        Some(batch.into_parts())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.end - self.at).div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl<F: Float> ExactSizeIterator for Batches<F> {}

impl<F: Float> FusedIterator for Batches<F> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> TensorDataset<f32> {
        let x = Tensor::from_vec((0..3 * n).map(|i| i as f32).collect(), &[n, 3]).unwrap();
        let y = Tensor::from_vec((0..n).map(|i| i as f32).collect(), &[n, 1]).unwrap();
        TensorDataset::new(x, y).unwrap()
    }

    fn targets(loader: &mut DataLoader<f32>) -> Vec<Vec<f32>> {
        loader.iter().map(|(_, y)| y.to_vec()).collect()
    }

    #[test]
    fn batches_cover_the_data_in_order() {
        let mut loader = DataLoader::new(data(7), 3);
        assert_eq!(loader.len(), 3);
        let batches: Vec<_> = loader.iter().collect();
        assert_eq!(batches.len(), 3);
        assert_eq!(batches[0].0.shape(), &[3, 3]);
        assert_eq!(batches[0].0.to_vec(), (0..9).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(batches[2].1.to_vec(), vec![6.0]);
        assert_eq!(batches[2].0.shape(), &[1, 3]);
    }

    #[test]
    fn drop_last_drops_the_short_batch() {
        let mut loader = DataLoader::new(data(7), 3).drop_last(true);
        assert_eq!(loader.len(), 2);
        let it = loader.iter();
        assert_eq!(it.len(), 2);
        assert_eq!(it.map(|(x, _)| x.shape()[0]).collect::<Vec<_>>(), [3, 3]);
        assert!(DataLoader::new(data(2), 3).drop_last(true).is_empty());
        assert_eq!(DataLoader::new(data(0), 3).iter().count(), 0);
    }

    #[test]
    fn shuffling_is_seeded_and_differs_between_epochs() {
        let mut a = DataLoader::new(data(20), 4).shuffle(3);
        let mut b = DataLoader::new(data(20), 4).shuffle(3);
        let (a1, a2) = (targets(&mut a), targets(&mut a));
        assert_eq!(a1, targets(&mut b));
        assert_eq!(a2, targets(&mut b));
        assert_ne!(a1, a2);
        let mut seen: Vec<f32> = a1.concat();
        seen.sort_by(f32::total_cmp);
        assert_eq!(seen, (0..20).map(|i| i as f32).collect::<Vec<_>>());
        assert_ne!(a1, targets(&mut DataLoader::new(data(20), 4)));
    }

    #[test]
    fn inputs_stay_with_their_targets_when_shuffled() {
        let mut loader = DataLoader::new(data(10), 3).shuffle(1);
        for (x, y) in &mut loader {
            for (row, t) in x.to_vec().chunks(3).zip(y.to_vec()) {
                assert_eq!(row[0], 3.0 * t);
            }
        }
    }

    #[test]
    fn a_restored_generator_resumes_the_same_order() {
        let mut a = DataLoader::new(data(9), 2).shuffle(11);
        targets(&mut a);
        let resumed = a.rng_state().unwrap();
        let next = targets(&mut a);
        let mut b = DataLoader::new(data(9), 2).shuffle_with(resumed.clone());
        assert_eq!(targets(&mut b), next);
        let mut c = DataLoader::new(data(9), 2).shuffle(99);
        c.set_rng_state(resumed);
        assert_eq!(targets(&mut c), next);
        assert!(DataLoader::new(data(1), 1).rng_state().is_none());
    }

    #[test]
    fn shards_of_the_same_seed_split_every_epoch_between_the_workers() {
        let mut shards: Vec<DataLoader<f32>> =
            (0..3).map(|r| DataLoader::new(data(21), 3).shuffle(5).shard(r, 3)).collect();
        for _epoch in 0..2 {
            let mut seen: Vec<f32> = shards.iter_mut().flat_map(|l| targets(l).concat()).collect();
            seen.sort_by(f32::total_cmp);
            assert_eq!(seen, (0..21).map(|i| i as f32).collect::<Vec<_>>());
        }
        assert!(shards.iter().all(|l| l.len() == 3));
        assert_eq!(DataLoader::new(data(21), 3).shard(0, 3).drop_last(true).len(), 2);
    }

    #[test]
    #[should_panic(expected = "DataLoader: batch_size must be at least 1")]
    fn a_zero_batch_size_is_refused() {
        DataLoader::new(data(1), 0);
    }
}
