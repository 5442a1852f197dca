//! `BatchNorm2d`: batch normalisation of NCHW images per channel, over the batch and both spatial
//! dimensions: `BatchNorm1d` of the `[N, C, H·W]` view, so its statistics, running buffers and
//! train/eval behaviour are exactly those of `BatchNorm1d`.

use wengert_tape::Var;
use wengert_tensor::Float;

use crate::layers::norm::BatchNorm1d;
use crate::module::Module;
use crate::param::Param;
use crate::store::{ParamStore, Path};

/// Batch normalisation of `[N, C, H, W]` inputs per channel (PyTorch's `nn.BatchNorm2d`): `weight`
/// (ones) and `bias` (zeros) of shape `[C]`, `eps` 1e-5, `momentum` 0.1, and the running statistics
/// `running_mean` and `running_var` and the batch count `num_batches_tracked` as store buffers (saved
/// in checkpoints, never optimized), all under PyTorch's `state_dict` names.
///
/// In training mode it normalises by the batch statistics over `N·H·W` values per channel and
/// updates the running statistics (with the unbiased variance); in evaluation mode it normalises by
/// the running statistics.
///
/// ```
/// use wengert::nn::{BatchNorm2d, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f64>::with_seed(0);
/// let bn = BatchNorm2d::new(&store.root().sub("bn"), 1);
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::from_vec(vec![1.0, 3.0, 1.0, 3.0], &[1, 1, 2, 2]).unwrap());
/// let y = bn.forward(x).value().to_vec();
/// assert!((y[0] + 1.0).abs() < 1e-4 && (y[1] - 1.0).abs() < 1e-4);
/// assert_eq!(bn.running_mean.value().to_vec(), vec![0.2]);
/// assert_eq!(bn.buffers()[1].name(), "bn.running_var");
/// ```
#[derive(Debug)]
pub struct BatchNorm2d<F: Float = f32> {
    /// The scale γ, `[C]`, if affine.
    pub weight: Option<Param<F>>,
    /// The shift β, `[C]`, if affine.
    pub bias: Option<Param<F>>,
    /// The running mean, `[C]`: a store buffer.
    pub running_mean: Param<F>,
    /// The running (unbiased) variance, `[C]`: a store buffer.
    pub running_var: Param<F>,
    /// The number of batches seen in training, a scalar `[]`: a store buffer.
    pub num_batches_tracked: Param<F>,
    inner: BatchNorm1d<F>,
    store: ParamStore<F>,
}

impl<F: Float> BatchNorm2d<F> {
    /// Batch normalisation of `channels` channels, with `eps` 1e-5, `momentum` 0.1 and an affine
    /// `weight` (ones) and `bias` (zeros).
    pub fn new(path: &Path<F>, channels: usize) -> Self {
        Self::with_options(path, channels, 1e-5, 0.1, true)
    }

    /// Batch normalisation with chosen `eps` and `momentum`, with (`affine`) or without weight and bias.
    ///
    /// # Panics
    ///
    /// When `eps` is negative or `momentum` is outside `[0, 1]`.
    #[track_caller]
    pub fn with_options(path: &Path<F>, channels: usize, eps: f64, momentum: f64, affine: bool) -> Self {
        let inner = BatchNorm1d::with_options(path, channels, eps, momentum, affine);
        BatchNorm2d {
            weight: inner.weight.clone(),
            bias: inner.bias.clone(),
            running_mean: inner.running_mean.clone(),
            running_var: inner.running_var.clone(),
            num_batches_tracked: inner.num_batches_tracked.clone(),
            inner,
            store: path.store().clone(),
        }
    }

    /// The number of channels `C`.
    pub fn channels(&self) -> usize {
        self.inner.channels()
    }

    /// The ε added to the variance.
    pub fn eps(&self) -> f64 {
        self.inner.eps()
    }

    /// The weight of the batch statistics in the running statistics' update.
    pub fn momentum(&self) -> f64 {
        self.inner.momentum()
    }

    /// The non-trainable state, `[running_mean, running_var, num_batches_tracked]`, for checkpoints.
    pub fn buffers(&self) -> Vec<Param<F>> {
        self.inner.buffers()
    }
}

impl<F: Float> Module<F> for BatchNorm2d<F> {
    /// `x` of shape `[N, C, H, W]`, normalised per channel.
    ///
    /// # Panics
    ///
    /// When `x` is not 4-D with `C` channels on axis 1, or, in training, when there is only one value
    /// per channel (`N · H · W = 1`).
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let shape = x.shape();
        let c = self.channels();
        let &[n, xc, h, w] = &shape[..] else {
            panic!("batch_norm2d: input of shape {shape:?} is not [N, {c}, H, W]");
        };
        if xc != c {
            panic!("batch_norm2d: input of shape {shape:?} is not [N, {c}, H, W]");
        }
        if self.store.is_training() && n * h * w <= 1 {
            panic!(
                "batch_norm2d: expected more than 1 value per channel when training, got input of shape {shape:?}"
            );
        }
        self.inner.forward(x.reshape(&[n, c, h * w])).reshape(&shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint;
    use crate::param::GradientsParam;
    use wengert_tape::Tape;
    use wengert_tape::check::{GradcheckOptions, gradcheck};
    use wengert_tensor::Tensor;

    use crate::testing::ramped_sines as seq;

    #[test]
    fn batch_norm2d_normalises_each_channel_over_batch_and_space_in_training() {
        let store = ParamStore::<f64>::with_seed(0);
        let bn = BatchNorm2d::new(&store.root(), 3);
        let x = seq(&[2, 3, 2, 2]);
        let tape = Tape::new();
        let y = bn.forward(tape.constant(x.clone())).value();
        assert_eq!(y.shape(), &[2, 3, 2, 2]);
        let (xv, yv) = (x.to_vec(), y.to_vec());
        for c in 0..3 {
            let idx: Vec<usize> = (0..2).flat_map(|n| (0..4).map(move |k| n * 12 + c * 4 + k)).collect();
            let vals: Vec<f64> = idx.iter().map(|&i| xv[i]).collect();
            let mean = vals.iter().sum::<f64>() / 8.0;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 8.0;
            for &i in &idx {
                assert!((yv[i] - (xv[i] - mean) / (var + 1e-5).sqrt()).abs() < 1e-12);
            }
            assert!((bn.running_mean.value().to_vec()[c] - 0.1 * mean).abs() < 1e-12);
            assert!((bn.running_var.value().to_vec()[c] - (0.9 + 0.1 * var * 8.0 / 7.0)).abs() < 1e-12);
        }
    }

    #[test]
    fn batch_norm2d_uses_the_running_statistics_in_eval_and_leaves_them_alone() {
        let store = ParamStore::<f64>::with_seed(0);
        let bn = BatchNorm2d::new(&store.root(), 2);
        bn.running_mean.set(Tensor::from_vec(vec![1.0, -1.0], &[2]).unwrap());
        bn.running_var.set(Tensor::from_vec(vec![4.0, 0.25], &[2]).unwrap());
        store.eval();
        let x = seq(&[1, 2, 3, 1]);
        let tape = Tape::new();
        let y = bn.forward(tape.constant(x.clone())).value().to_vec();
        let xv = x.to_vec();
        for (i, v) in y.iter().enumerate() {
            let (m, var) = if i < 3 { (1.0, 4.0) } else { (-1.0, 0.25) };
            assert!((v - (xv[i] - m) / (var + 1e-5f64).sqrt()).abs() < 1e-12);
        }
        assert_eq!(bn.running_mean.value().to_vec(), vec![1.0, -1.0]);
        // A single value per channel is fine in evaluation.
        assert_eq!(bn.forward(tape.constant(seq(&[1, 2, 1, 1]))).shape(), vec![1, 2, 1, 1]);
    }

    #[test]
    fn batch_norm2d_gradients_match_finite_differences() {
        let store = ParamStore::<f64>::with_seed(0);
        let bn = BatchNorm2d::new(&store.root(), 2);
        bn.weight.as_ref().unwrap().set(Tensor::from_vec(vec![1.5, -0.5], &[2]).unwrap());
        let weights = seq(&[2, 2, 2, 3]).cos();
        for training in [true, false] {
            if training {
                store.train()
            } else {
                store.eval()
            }
            gradcheck(
                |v| (bn.forward(v[0]) * v[1]).sum(),
                &[seq(&[2, 2, 2, 3]), weights.clone()],
                &GradcheckOptions::default(),
            )
            .unwrap();
        }
        store.train();
        let tape = Tape::new();
        let grads = (bn.forward(tape.constant(seq(&[2, 2, 2, 3]))) * &weights).sum().backward();
        assert_eq!(grads.param(bn.weight.as_ref().unwrap()).unwrap().shape(), &[2]);
        assert_eq!(store.parameters().len(), 2);
    }

    #[test]
    fn batch_norm2d_buffers_round_trip_through_a_checkpoint() {
        let store = ParamStore::<f32>::new(0);
        let bn = BatchNorm2d::new(&store.root().sub("bn"), 3);
        let tape = Tape::new();
        bn.forward(
            tape.constant(
                Tensor::<f64>::arange(0.0, 24.0, 1.0).cast::<f32>().reshape(&[2, 3, 2, 2]).unwrap(),
            ),
        );
        let (mean, var) = (bn.running_mean.value(), bn.running_var.value());
        assert_ne!(mean.to_vec(), vec![0.0; 3]);
        let path = std::env::temp_dir().join(format!("wengert-bn2d-{}.ckpt", std::process::id()));
        checkpoint::save_weights(&store, &path).unwrap();
        let fresh = ParamStore::<f32>::new(1);
        let other = BatchNorm2d::new(&fresh.root().sub("bn"), 3);
        checkpoint::load_weights(&fresh, &path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(other.running_mean.value(), mean);
        assert_eq!(other.running_var.value(), var);
        let names: Vec<_> = fresh.buffers().iter().map(|p| p.name().to_string()).collect();
        assert_eq!(names, ["bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]);
        assert_eq!(other.num_batches_tracked.value().item(), 1.0);
    }

    #[test]
    #[should_panic(expected = "batch_norm2d: input of shape [4, 3] is not [N, 2, H, W]")]
    fn batch_norm2d_rejects_a_2d_input() {
        let store = ParamStore::<f32>::new(0);
        BatchNorm2d::new(&store.root(), 2).forward(Tape::new().constant(Tensor::zeros(&[4, 3])));
    }

    #[test]
    #[should_panic(
        expected = "batch_norm2d: expected more than 1 value per channel when training, got input of shape [1, 2, 1, 1]"
    )]
    fn batch_norm2d_rejects_a_single_value_per_channel_in_training() {
        let store = ParamStore::<f32>::new(0);
        BatchNorm2d::new(&store.root(), 2).forward(Tape::new().constant(Tensor::zeros(&[1, 2, 1, 1])));
    }
}
