//! Per-sample normalisations beyond `LayerNorm`: `RmsNorm` (no centring), `GroupNorm` (over groups
//! of channels) and `InstanceNorm` (over the spatial axes of each channel), as PyTorch's.
//!
//! Each normalises with one fused op (`Var::rms_norm`, `Var::layer_norm` over the groups).
//!
//! RmsNorm: y = x / √(mean(x²) + ε) · γ over the trailing dimensions. GroupNorm: with the C channels
//! of `[N, C, *]` split into G groups, y = (x - μ) / √(σ² + ε) · γ + β with μ, σ² (biased) over each
//! group of each sample and γ, β per channel. InstanceNorm: GroupNorm with one group per channel.

use wengert_tape::Var;
use wengert_tensor::Float;

use crate::init::Init;
use crate::module::Module;
use crate::param::{Param, TapeParam};
use crate::store::Path;

/// `x / √(mean(x²) + eps) · weight` over the trailing `weight`-shaped (or `k`) dimensions.
pub(crate) fn rms_norm<'t, F: Float>(
    x: Var<'t, F>,
    k: usize,
    eps: f64,
    weight: Option<Var<'t, F>>,
) -> Var<'t, F> {
    match weight {
        // A weight of another (broadcasting) shape than the normalised one scales the output.
        Some(w) if w.shape() != x.shape()[x.shape().len() - k..] => x.rms_norm(k, None, eps) * w,
        w => x.rms_norm(k, w, eps),
    }
}

/// Group normalisation of `[N, C, *]` into `groups` groups, then `weight` and `bias` of `[C]`.
pub(crate) fn group_norm<'t, F: Float>(
    x: Var<'t, F>,
    groups: usize,
    eps: f64,
    weight: Option<Var<'t, F>>,
    bias: Option<Var<'t, F>>,
) -> Var<'t, F> {
    let shape = x.shape();
    let (n, c) = (shape[0], shape[1]);
    let grouped = x.reshape(&[n, groups, shape.iter().product::<usize>() / (n * groups)]);
    let y = grouped.layer_norm(1, None, None, eps).reshape(&shape);
    let mut per_channel = vec![c];
    per_channel.resize(shape.len() - 1, 1);
    let y = weight.map_or(y, |w| y * w.reshape(&per_channel));
    bias.map_or(y, |b| y + b.reshape(&per_channel))
}

/// RMS normalisation over the last `normalized_shape.len()` dimensions (PyTorch's `nn.RMSNorm`):
/// `x / √(mean(x²) + ε) · weight`, with `weight` of `normalized_shape` (ones) and no bias.
///
/// ```
/// use wengert::nn::{Module, ParamStore, RmsNorm};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f64>::with_seed(0);
/// let norm = RmsNorm::new(&store.root().sub("norm"), &[2]);
/// let tape = Tape::new();
/// let y = norm.forward(tape.constant(Tensor::from_vec(vec![3.0, 4.0], &[1, 2]).unwrap()));
/// let rms = 12.5f64.sqrt(); // √((9 + 16) / 2)
/// assert!((y.value().to_vec()[1] - 4.0 / rms).abs() < 1e-9);
/// assert_eq!(store.parameters()[0].name(), "norm.weight");
/// ```
#[derive(Debug)]
pub struct RmsNorm<F: Float = f32> {
    /// The scale γ, of `normalized_shape`, if elementwise affine.
    pub weight: Option<Param<F>>,
    normalized_shape: Vec<usize>,
    eps: f64,
}

impl<F: Float> RmsNorm<F> {
    /// RMS normalisation over trailing dimensions `normalized_shape` with a `weight` (ones) and, as
    /// PyTorch's `eps=None`, ε the machine epsilon of `F`.
    pub fn new(path: &Path<F>, normalized_shape: &[usize]) -> Self {
        Self::with_options(path, normalized_shape, F::epsilon().to_f64(), true)
    }

    /// RMS normalisation with a chosen `eps`, and with (`affine`) or without a weight.
    ///
    /// # Panics
    ///
    /// When `normalized_shape` is empty or `eps` is negative.
    #[track_caller]
    pub fn with_options(path: &Path<F>, normalized_shape: &[usize], eps: f64, affine: bool) -> Self {
        assert!(!normalized_shape.is_empty(), "rms_norm: normalized_shape must not be empty");
        assert!(eps >= 0.0, "rms_norm: eps must not be negative, got {eps}");
        let weight = affine.then(|| path.param("weight", normalized_shape, Init::Ones));
        RmsNorm { weight, normalized_shape: normalized_shape.to_vec(), eps }
    }

    /// The trailing shape normalised over.
    pub fn normalized_shape(&self) -> &[usize] {
        &self.normalized_shape
    }

    /// The ε added to the mean square.
    pub fn eps(&self) -> f64 {
        self.eps
    }
}

impl<F: Float> Module<F> for RmsNorm<F> {
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
            panic!("rms_norm: input of shape {shape:?} does not end in {:?}", self.normalized_shape);
        }
        rms_norm(x, k, self.eps, self.weight.as_ref().map(|w| x.tape().param(w)))
    }
}

/// Group normalisation (PyTorch's `nn.GroupNorm`): the channels of `[N, C, *]` are split into
/// `groups` groups of consecutive channels, each normalised per sample by its own mean and biased
/// variance, then scaled and shifted per channel by `weight` (ones) and `bias` (zeros) of `[C]`.
/// The same in training and evaluation.
///
/// ```
/// use wengert::nn::{GroupNorm, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f64>::with_seed(0);
/// let gn = GroupNorm::new(&store.root(), 2, 4);
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::from_vec(vec![1.0, 3.0, 10.0, 10.0], &[1, 4]).unwrap());
/// let y = gn.forward(x).value().to_vec();
/// assert!((y[0] + 1.0).abs() < 1e-4 && (y[1] - 1.0).abs() < 1e-4 && y[2] == 0.0);
/// ```
#[derive(Debug)]
pub struct GroupNorm<F: Float = f32> {
    /// The scale γ, `[C]`, if affine.
    pub weight: Option<Param<F>>,
    /// The shift β, `[C]`, if affine.
    pub bias: Option<Param<F>>,
    groups: usize,
    channels: usize,
    eps: f64,
}

impl<F: Float> GroupNorm<F> {
    /// `groups` groups over `channels` channels, with `eps` 1e-5 and an affine weight and bias.
    ///
    /// # Panics
    ///
    /// As [`GroupNorm::with_options`].
    #[track_caller]
    pub fn new(path: &Path<F>, groups: usize, channels: usize) -> Self {
        Self::with_options(path, groups, channels, 1e-5, true)
    }

    /// Group normalisation with a chosen `eps`, and with (`affine`) or without weight and bias.
    ///
    /// # Panics
    ///
    /// When `groups` is 0 or does not divide `channels`, or `eps` is negative.
    #[track_caller]
    pub fn with_options(path: &Path<F>, groups: usize, channels: usize, eps: f64, affine: bool) -> Self {
        if groups == 0 || !channels.is_multiple_of(groups) {
            panic!("group_norm: {channels} channels do not split into {groups} groups");
        }
        assert!(eps >= 0.0, "group_norm: eps must not be negative, got {eps}");
        let weight = affine.then(|| path.param("weight", &[channels], Init::Ones));
        let bias = affine.then(|| path.param("bias", &[channels], Init::Zeros));
        GroupNorm { weight, bias, groups, channels, eps }
    }

    /// The number of groups `G`.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// The ε added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }
}

/// Panics unless `x` is `[N, C, ...]` with at least `min_ndim` dimensions.
#[track_caller]
fn check_channels<F: Float>(op: &str, x: Var<'_, F>, c: usize, min_ndim: usize) {
    let shape = x.shape();
    if shape.len() < min_ndim || shape[1] != c {
        let dots = if min_ndim > 2 { ", L, ..." } else { ", ..." };
        panic!("{op}: input of shape {shape:?} is not [N, {c}{dots}]");
    }
}

impl<F: Float> Module<F> for GroupNorm<F> {
    /// `x` of shape `[N, C, *]`, normalised over each group of channels of each sample.
    ///
    /// # Panics
    ///
    /// When `x` is not at least 2-D with `C` channels on axis 1.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        check_channels("group_norm", x, self.channels, 2);
        let bind = |p: &Param<F>| x.tape().param(p);
        group_norm(x, self.groups, self.eps, self.weight.as_ref().map(bind), self.bias.as_ref().map(bind))
    }
}

/// Instance normalisation (PyTorch's `nn.InstanceNorm1d`/`2d`/`3d`, one type for all): each channel
/// of each sample of `[N, C, L, ...]` is normalised over its spatial axes by its own mean and biased
/// variance; with `affine`, scaled and shifted by `weight` (ones) and `bias` (zeros) of `[C]`.
/// As PyTorch's default it is not affine and keeps no running statistics, so it is the same in
/// training and evaluation.
///
/// ```
/// use wengert::nn::{InstanceNorm, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f64>::with_seed(0);
/// let norm = InstanceNorm::new(&store.root(), 1);
/// let tape = Tape::new();
/// let y = norm.forward(tape.constant(Tensor::from_vec(vec![1.0, 3.0], &[1, 1, 2]).unwrap()));
/// let v = y.value().to_vec();
/// assert!((v[0] + 1.0).abs() < 1e-4 && (v[1] - 1.0).abs() < 1e-4);
/// assert!(store.parameters().is_empty());
/// ```
#[derive(Debug)]
pub struct InstanceNorm<F: Float = f32> {
    /// The scale γ, `[C]`, if affine.
    pub weight: Option<Param<F>>,
    /// The shift β, `[C]`, if affine.
    pub bias: Option<Param<F>>,
    channels: usize,
    eps: f64,
}

impl<F: Float> InstanceNorm<F> {
    /// Instance normalisation of `channels` channels with `eps` 1e-5 and no affine parameters
    /// (PyTorch's defaults).
    pub fn new(path: &Path<F>, channels: usize) -> Self {
        Self::with_options(path, channels, 1e-5, false)
    }

    /// Instance normalisation with a chosen `eps`, and with (`affine`) or without weight and bias.
    ///
    /// # Panics
    ///
    /// When `eps` is negative.
    #[track_caller]
    pub fn with_options(path: &Path<F>, channels: usize, eps: f64, affine: bool) -> Self {
        assert!(eps >= 0.0, "instance_norm: eps must not be negative, got {eps}");
        let weight = affine.then(|| path.param("weight", &[channels], Init::Ones));
        let bias = affine.then(|| path.param("bias", &[channels], Init::Zeros));
        InstanceNorm { weight, bias, channels, eps }
    }

    /// The ε added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }
}

impl<F: Float> Module<F> for InstanceNorm<F> {
    /// `x` of shape `[N, C, L, ...]`, normalised over the spatial axes of each channel.
    ///
    /// # Panics
    ///
    /// When `x` is not at least 3-D with `C` channels on axis 1.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        check_channels("instance_norm", x, self.channels, 3);
        let bind = |p: &Param<F>| x.tape().param(p);
        group_norm(x, self.channels, self.eps, self.weight.as_ref().map(bind), self.bias.as_ref().map(bind))
    }
}

#[cfg(test)]
mod tests;
