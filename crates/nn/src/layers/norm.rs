//! Normalisation layers: `LayerNorm` over the trailing dimensions of each sample (one fused op,
//! `Var::layer_norm`), and `BatchNorm1d` over the batch (and length) of each channel (in training one
//! fused op, `Var::batch_norm`), with running statistics for evaluation.
//!
//! Both compute y = (x - μ) / √(σ² + ε) · γ + β with the biased variance σ² (PyTorch's definition).
//! BatchNorm1d in training updates its running statistics as
//! `running = (1 - momentum) · running + momentum · batch`, with the *unbiased* batch variance
//! (n / (n - 1) σ²) for `running_var`, as PyTorch does.

use wengert_tape::Var;
use wengert_tensor::{Float, Tensor};

use crate::init::Init;
use crate::module::Module;
use crate::param::{Param, TapeParam};
use crate::store::{ParamStore, Path};

/// Layer normalisation over the last `normalized_shape.len()` dimensions (PyTorch's `nn.LayerNorm`):
/// each sample is normalised by its own mean and biased variance, then scaled by `weight` and
/// shifted by `bias` (both of `normalized_shape`, initialised to ones and zeros). `eps` is 1e-5.
///
/// ```
/// use wengert::nn::{LayerNorm, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f64>::with_seed(0);
/// let ln = LayerNorm::new(&store.root().sub("ln"), &[2]);
/// let tape = Tape::new();
/// let y = ln.forward(tape.constant(Tensor::from_vec(vec![1.0, 3.0], &[1, 2]).unwrap()));
/// let v = y.value().to_vec();
/// assert!((v[0] + 1.0).abs() < 1e-4 && (v[1] - 1.0).abs() < 1e-4);
/// assert_eq!(store.parameters()[0].name(), "ln.weight");
/// ```
#[derive(Debug)]
pub struct LayerNorm<F: Float = f32> {
    /// The scale γ, of `normalized_shape`, if elementwise affine.
    pub weight: Option<Param<F>>,
    /// The shift β, of `normalized_shape`, if elementwise affine.
    pub bias: Option<Param<F>>,
    normalized_shape: Vec<usize>,
    eps: f64,
}

impl<F: Float> LayerNorm<F> {
    /// Normalisation over trailing dimensions `normalized_shape`, with `eps` 1e-5 and an
    /// elementwise affine `weight` (ones) and `bias` (zeros).
    pub fn new(path: &Path<F>, normalized_shape: &[usize]) -> Self {
        Self::with_options(path, normalized_shape, 1e-5, true)
    }

    /// Normalisation with a chosen `eps`, and with (`affine`) or without weight and bias.
    ///
    /// # Panics
    ///
    /// When `normalized_shape` is empty or `eps` is negative.
    #[track_caller]
    pub fn with_options(path: &Path<F>, normalized_shape: &[usize], eps: f64, affine: bool) -> Self {
        assert!(!normalized_shape.is_empty(), "layer_norm: normalized_shape must not be empty");
        assert!(eps >= 0.0, "layer_norm: eps must not be negative, got {eps}");
        let weight = affine.then(|| path.param("weight", normalized_shape, Init::Ones));
        let bias = affine.then(|| path.param("bias", normalized_shape, Init::Zeros));
        LayerNorm { weight, bias, normalized_shape: normalized_shape.to_vec(), eps }
    }

    /// The trailing shape normalised over.
    pub fn normalized_shape(&self) -> &[usize] {
        &self.normalized_shape
    }

    /// The ε added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }
}

impl<F: Float> Module<F> for LayerNorm<F> {
    /// `x` of shape `[..., normalized_shape]`, normalised over its trailing dimensions.
    ///
    /// # Panics
    ///
    /// When `x`'s shape does not end in `normalized_shape`.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let shape = x.shape();
        let k = self.normalized_shape.len();
        if shape.len() < k || shape[shape.len() - k..] != self.normalized_shape[..] {
            panic!("layer_norm: input of shape {shape:?} does not end in {:?}", self.normalized_shape);
        }
        let bind = |p: &Param<F>| x.tape().param(p);
        x.layer_norm(k, self.weight.as_ref().map(bind), self.bias.as_ref().map(bind), self.eps)
    }
}

/// `y · weight + bias`, the parameters reshaped to `shape` first when given.
fn affine<'t, F: Float>(
    y: Var<'t, F>,
    weight: Option<&Param<F>>,
    bias: Option<&Param<F>>,
    shape: Option<&[usize]>,
) -> Var<'t, F> {
    let tape = y.tape();
    let bind = |p: &Param<F>| {
        let v = tape.param(p);
        shape.map_or(v, |s| v.reshape(s))
    };
    let y = weight.map_or(y, |w| y * bind(w));
    bias.map_or(y, |b| y + bind(b))
}

/// Batch normalisation of `[N, C]` or `[N, C, L]` inputs per channel (PyTorch's `nn.BatchNorm1d`):
/// `weight` (ones) and `bias` (zeros) of shape `[C]`, `eps` 1e-5, `momentum` 0.1.
///
/// In training mode (read from the store at every forward) it normalises by the batch statistics
/// and updates `running_mean` and `running_var` (initialised to zeros and ones); in evaluation mode
/// it normalises by the running statistics and changes nothing.
///
/// The running statistics are *buffers*, not trainable parameters: they are [`Param`] handles named
/// `<path>.running_mean` and `<path>.running_var`, registered as the store's buffers (so no optimizer
/// sees them and no gradient is expected for them, while checkpoints save them with the parameters);
/// [`BatchNorm1d::buffers`] lists them. So is `<path>.num_batches_tracked`, the number of training
/// batches seen, a scalar counted up by every forward in training, as PyTorch's (which saves it as an
/// I64 tensor; safetensors saves and loads it so). The names are PyTorch's `state_dict` names:
/// `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`.
///
/// ```
/// use wengert::nn::{BatchNorm1d, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f64>::with_seed(0);
/// let bn = BatchNorm1d::new(&store.root().sub("bn"), 1);
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::from_vec(vec![1.0, 3.0], &[2, 1]).unwrap());
/// let y = bn.forward(x).value().to_vec();
/// assert!((y[0] + 1.0).abs() < 1e-4 && (y[1] - 1.0).abs() < 1e-4);
/// assert_eq!(bn.running_mean.value().to_vec(), vec![0.2]);      // 0.9 · 0 + 0.1 · 2
/// assert_eq!(bn.running_var.value().to_vec(), vec![0.9 + 0.2]); // 0.9 · 1 + 0.1 · 2 (unbiased)
/// assert_eq!(store.num_parameters(), 2);                         // weight and bias only
/// ```
#[derive(Debug)]
pub struct BatchNorm1d<F: Float = f32> {
    /// The scale γ, `[C]`, if affine.
    pub weight: Option<Param<F>>,
    /// The shift β, `[C]`, if affine.
    pub bias: Option<Param<F>>,
    /// The running mean, `[C]`: a buffer, not registered in the store.
    pub running_mean: Param<F>,
    /// The running (unbiased) variance, `[C]`: a buffer, not registered in the store.
    pub running_var: Param<F>,
    /// The number of batches seen in training, a scalar `[]`: a buffer, not registered in the store.
    pub num_batches_tracked: Param<F>,
    eps: f64,
    momentum: f64,
    store: ParamStore<F>,
}

impl<F: Float> BatchNorm1d<F> {
    /// Batch normalisation of `channels` channels, with `eps` 1e-5, `momentum` 0.1 and an affine
    /// `weight` (ones) and `bias` (zeros).
    pub fn new(path: &Path<F>, channels: usize) -> Self {
        Self::with_options(path, channels, 1e-5, 0.1, true)
    }

    /// Batch normalisation with chosen `eps` and `momentum`, and with (`affine`) or without weight and
    /// bias.
    ///
    /// # Panics
    ///
    /// When `eps` is negative or `momentum` is outside `[0, 1]`.
    #[track_caller]
    pub fn with_options(path: &Path<F>, channels: usize, eps: f64, momentum: f64, affine: bool) -> Self {
        assert!(eps >= 0.0, "batch_norm: eps must not be negative, got {eps}");
        assert!((0.0..=1.0).contains(&momentum), "batch_norm: momentum must lie in [0, 1], got {momentum}");
        let weight = affine.then(|| path.param("weight", &[channels], Init::Ones));
        let bias = affine.then(|| path.param("bias", &[channels], Init::Zeros));
        let name =
            |n: &str| if path.prefix().is_empty() { n.to_string() } else { format!("{}.{n}", path.prefix()) };
        BatchNorm1d {
            weight,
            bias,
            running_mean: path
                .store()
                .add_buffer(Param::new(name("running_mean"), Tensor::zeros(&[channels]))),
            running_var: path.store().add_buffer(Param::new(name("running_var"), Tensor::ones(&[channels]))),
            num_batches_tracked: path
                .store()
                .add_buffer(Param::new(name("num_batches_tracked"), Tensor::scalar(F::zero()))),
            eps,
            momentum,
            store: path.store().clone(),
        }
    }

    /// The number of channels `C`.
    pub fn channels(&self) -> usize {
        self.running_mean.len()
    }

    /// The ε added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// The weight of the batch statistics in the running statistics' update.
    pub fn momentum(&self) -> f64 {
        self.momentum
    }

    /// The non-trainable state, `[running_mean, running_var, num_batches_tracked]`, for checkpoints.
    pub fn buffers(&self) -> Vec<Param<F>> {
        vec![self.running_mean.clone(), self.running_var.clone(), self.num_batches_tracked.clone()]
    }

    fn update_running(&self, mean: &Tensor<F>, var: &Tensor<F>, n: usize) {
        let c = [self.channels()];
        let m = F::from_f64(self.momentum);
        let keep = F::from_f64(1.0 - self.momentum);
        let unbiased = F::from_f64(n as f64 / (n - 1) as f64);
        let blend = |old: Tensor<F>, new: Tensor<F>| &old.mul_scalar(keep) + &new.mul_scalar(m);
        let mean = mean.reshape(&c).expect("the batch mean has C elements");
        let var = var.reshape(&c).expect("the batch variance has C elements").mul_scalar(unbiased);
        self.running_mean.set(blend(self.running_mean.value(), mean));
        self.running_var.set(blend(self.running_var.value(), var));
        self.num_batches_tracked.set(Tensor::scalar(self.num_batches_tracked.value().item() + F::one()));
    }
}

impl<F: Float> Module<F> for BatchNorm1d<F> {
    /// `x` of shape `[N, C]` or `[N, C, L]`, normalised per channel.
    ///
    /// # Panics
    ///
    /// When `x` is not 2-D or 3-D with `C` channels on axis 1, or, in training, when there is only one
    /// value per channel (`N · L = 1`: its variance is undefined).
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let shape = x.shape();
        let c = self.channels();
        if !(shape.len() == 2 || shape.len() == 3) || shape[1] != c {
            panic!("batch_norm: input of shape {shape:?} is not [N, {c}] or [N, {c}, L]");
        }
        if self.store.is_training() {
            let n = shape[0] * shape.get(2).copied().unwrap_or(1);
            if n <= 1 {
                panic!(
                    "batch_norm: expected more than 1 value per channel when training, got input of shape {shape:?}"
                );
            }
            // One fused op: the batch statistics, the normalisation and the affine map.
            let bind = |p: &Param<F>| x.tape().param(p);
            let (y, mean, var) =
                x.batch_norm(self.weight.as_ref().map(bind), self.bias.as_ref().map(bind), self.eps);
            self.update_running(&mean, &var, n);
            return y;
        }
        let stat_shape: &[usize] = if shape.len() == 2 { &[1, c] } else { &[1, c, 1] };
        let reshape =
            |p: &Param<F>| p.value().reshape(stat_shape).expect("a running statistic has C elements");
        let mean = x.constant(reshape(&self.running_mean));
        let inv_std = reshape(&self.running_var).add_scalar(F::from_f64(self.eps)).sqrt().recip();
        let column = [c, 1];
        let param_shape = (shape.len() == 3).then_some(&column[..]);
        affine((x - mean) * &inv_std, self.weight.as_ref(), self.bias.as_ref(), param_shape)
    }
}

#[cfg(test)]
mod tests;
