//! Convolution layers: `Conv1d`, `Conv2d`, `ConvTranspose2d`, `ConvTranspose1d` (in `transpose1d`) and `Conv3d` (in
//! `conv3d`, on NCDHW inputs) on NCHW (or NCL) inputs, with
//! PyTorch's weight layouts and initialisation: weight Kaiming-uniform with a = √5, i.e.
//! U(-1/√fan_in, 1/√fan_in), and the optional bias from the same bound, fan_in = `weight.shape[1] · k`.

use wengert_tape::Var;
use wengert_tensor::{Conv1dOptions, Conv2dOptions, ConvTranspose2dOptions, Float};

use crate::init::{FanMode, Init, fans};
use crate::module::Module;
use crate::param::{Param, TapeParam};
use crate::store::Path;

mod conv3d;
mod transpose1d;

pub use conv3d::Conv3d;
pub use transpose1d::ConvTranspose1d;

/// PyTorch's default weight and bias initialisers of a convolution weight of `shape`.
fn torch_init(shape: &[usize]) -> (Init, Init) {
    let bound = 1.0 / (fans(shape).0 as f64).sqrt();
    let weight = Init::KaimingUniform { gain: (1.0f64 / 3.0).sqrt(), mode: FanMode::FanIn };
    (weight, Init::Uniform { low: -bound, high: bound })
}

/// Panics unless `channels` of the named kind divide into `groups`.
#[track_caller]
fn check_groups(layer: &str, what: &str, channels: usize, groups: usize) {
    if groups == 0 || !channels.is_multiple_of(groups) {
        panic!("{layer}: {what} channels {channels} are not divisible by groups {groups}");
    }
}

/// The weight and bias of a convolution layer, named `weight` and `bias` under `path` and initialised
/// as PyTorch does: the weight `[outputs, inputs / groups, kernel...]`, or `[inputs, outputs / groups,
/// kernel...]` when `transposed`, and the bias `[outputs]` when `bias`.
///
/// # Panics
///
/// When `inputs` or `outputs` is not divisible by `groups`; the message names `layer`.
#[track_caller]
fn params<F: Float>(
    path: &Path<F>,
    layer: &str,
    (inputs, outputs): (usize, usize),
    kernel: &[usize],
    groups: usize,
    transposed: bool,
    bias: bool,
) -> (Param<F>, Option<Param<F>>) {
    check_groups(layer, "input", inputs, groups);
    check_groups(layer, "output", outputs, groups);
    let mut shape = if transposed { vec![inputs, outputs / groups] } else { vec![outputs, inputs / groups] };
    shape.extend_from_slice(kernel);
    let (w_init, b_init) = torch_init(&shape);
    let weight = path.param("weight", &shape, w_init);
    (weight, bias.then(|| path.param("bias", &[outputs], b_init)))
}

/// Adds the bias `[C]` of channel axis 1 to `y` of `ndim` dimensions.
fn add_bias<'t, F: Float>(y: Var<'t, F>, bias: Option<&Param<F>>) -> Var<'t, F> {
    match bias {
        Some(b) => {
            let mut shape = vec![b.len()];
            shape.resize(y.ndim() - 1, 1);
            y + y.tape().param(b).reshape(&shape)
        }
        None => y,
    }
}

/// Panics unless `x` has `ndim` dimensions with `channels` on axis 1.
#[track_caller]
fn check_input(layer: &str, name: &str, x: &[usize], ndim: usize, channels: usize) {
    if x.len() != ndim || x[1] != channels {
        let dims = if ndim == 4 { "[N, C, H, W]" } else { "[N, C, L]" };
        panic!("{layer} `{name}`: input of shape {x:?} is not {dims} with C = {channels}");
    }
}

/// A 2-D convolution layer (PyTorch's `nn.Conv2d`): `[N, in, H, W]` to `[N, out, Ho, Wo]`, with a
/// weight `[out, in / groups, kh, kw]` and a bias `[out]`.
///
/// ```
/// use wengert::nn::{Conv2d, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::{Conv2dOptions, Tensor};
/// let store = ParamStore::<f32>::new(0);
/// let conv = Conv2d::with_options(&store.root().sub("conv"), 3, 8, (3, 3), Conv2dOptions::default().padding((1, 1)), true);
/// let tape = Tape::new();
/// assert_eq!(conv.forward(tape.constant(Tensor::ones(&[2, 3, 5, 5]))).shape(), vec![2, 8, 5, 5]);
/// assert_eq!(store.num_parameters(), 8 * 3 * 9 + 8);
/// ```
#[derive(Debug)]
pub struct Conv2d<F: Float = f32> {
    /// The weight, `[out, in / groups, kh, kw]`.
    pub weight: Param<F>,
    /// The bias, `[out]`, if any.
    pub bias: Option<Param<F>>,
    opts: Conv2dOptions,
}

impl<F: Float> Conv2d<F> {
    /// A convolution from `inputs` to `outputs` channels with a `kernel` window, stride 1, no padding,
    /// and a bias.
    pub fn new(path: &Path<F>, inputs: usize, outputs: usize, kernel: (usize, usize)) -> Self {
        Self::with_options(path, inputs, outputs, kernel, Conv2dOptions::default(), true)
    }

    /// A convolution with chosen stride, padding, dilation and groups, with or without a bias.
    ///
    /// # Panics
    ///
    /// When `inputs` or `outputs` is not divisible by `opts.groups`.
    #[track_caller]
    pub fn with_options(
        path: &Path<F>,
        inputs: usize,
        outputs: usize,
        kernel: (usize, usize),
        opts: Conv2dOptions,
        bias: bool,
    ) -> Self {
        let (weight, bias) =
            params(path, "conv2d", (inputs, outputs), &[kernel.0, kernel.1], opts.groups, false, bias);
        Conv2d { weight, bias, opts }
    }

    /// The stride, padding, dilation and groups.
    pub fn options(&self) -> &Conv2dOptions {
        &self.opts
    }

    /// The number of input channels.
    pub fn inputs(&self) -> usize {
        self.weight.shape()[1] * self.opts.groups
    }

    /// The number of output channels.
    pub fn outputs(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl<F: Float> Module<F> for Conv2d<F> {
    /// `x` of shape `[N, in, H, W]` to `[N, out, Ho, Wo]`.
    ///
    /// # Panics
    ///
    /// When `x` is not 4-D with the layer's input channels, or the kernel does not fit the padded input.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        check_input("conv2d", self.weight.name(), &x.shape(), 4, self.inputs());
        let y = x.conv2d(x.tape().param(&self.weight), &self.opts);
        add_bias(y, self.bias.as_ref())
    }
}

/// A 1-D convolution layer (PyTorch's `nn.Conv1d`): `[N, in, L]` to `[N, out, Lo]`, with a weight
/// `[out, in / groups, k]` and a bias `[out]`.
///
/// ```
/// use wengert::nn::{Conv1d, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let conv = Conv1d::new(&store.root(), 2, 4, 3);
/// let tape = Tape::new();
/// assert_eq!(conv.forward(tape.constant(Tensor::ones(&[5, 2, 10]))).shape(), vec![5, 4, 8]);
/// ```
#[derive(Debug)]
pub struct Conv1d<F: Float = f32> {
    /// The weight, `[out, in / groups, k]`.
    pub weight: Param<F>,
    /// The bias, `[out]`, if any.
    pub bias: Option<Param<F>>,
    opts: Conv1dOptions,
}

impl<F: Float> Conv1d<F> {
    /// A convolution from `inputs` to `outputs` channels with a window of `kernel`, stride 1, no
    /// padding, and a bias.
    pub fn new(path: &Path<F>, inputs: usize, outputs: usize, kernel: usize) -> Self {
        Self::with_options(path, inputs, outputs, kernel, Conv1dOptions::default(), true)
    }

    /// A convolution with chosen stride, padding, dilation and groups, with or without a bias.
    ///
    /// # Panics
    ///
    /// When `inputs` or `outputs` is not divisible by `opts.groups`.
    #[track_caller]
    pub fn with_options(
        path: &Path<F>,
        inputs: usize,
        outputs: usize,
        kernel: usize,
        opts: Conv1dOptions,
        bias: bool,
    ) -> Self {
        let (weight, bias) = params(path, "conv1d", (inputs, outputs), &[kernel], opts.groups, false, bias);
        Conv1d { weight, bias, opts }
    }

    /// The stride, padding, dilation and groups.
    pub fn options(&self) -> &Conv1dOptions {
        &self.opts
    }

    /// The number of input channels.
    pub fn inputs(&self) -> usize {
        self.weight.shape()[1] * self.opts.groups
    }

    /// The number of output channels.
    pub fn outputs(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl<F: Float> Module<F> for Conv1d<F> {
    /// `x` of shape `[N, in, L]` to `[N, out, Lo]`.
    ///
    /// # Panics
    ///
    /// When `x` is not 3-D with the layer's input channels, or the kernel does not fit the padded input.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        check_input("conv1d", self.weight.name(), &x.shape(), 3, self.inputs());
        let y = x.conv1d(x.tape().param(&self.weight), &self.opts);
        add_bias(y, self.bias.as_ref())
    }
}

/// A transposed 2-D convolution layer (PyTorch's `nn.ConvTranspose2d`): `[N, in, H, W]` to
/// `[N, out, (H - 1)s - 2p + d(kh - 1) + output_padding + 1, ...]`, with a weight
/// `[in, out / groups, kh, kw]` and a bias `[out]`.
///
/// ```
/// use wengert::nn::{ConvTranspose2d, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::{ConvTranspose2dOptions, Tensor};
/// let store = ParamStore::<f32>::new(0);
/// let opts = ConvTranspose2dOptions { stride: (2, 2), ..Default::default() };
/// let up = ConvTranspose2d::with_options(&store.root(), 4, 2, (2, 2), opts, true);
/// let tape = Tape::new();
/// assert_eq!(up.forward(tape.constant(Tensor::ones(&[1, 4, 3, 3]))).shape(), vec![1, 2, 6, 6]);
/// ```
#[derive(Debug)]
pub struct ConvTranspose2d<F: Float = f32> {
    /// The weight, `[in, out / groups, kh, kw]`.
    pub weight: Param<F>,
    /// The bias, `[out]`, if any.
    pub bias: Option<Param<F>>,
    opts: ConvTranspose2dOptions,
}

impl<F: Float> ConvTranspose2d<F> {
    /// A transposed convolution from `inputs` to `outputs` channels with a `kernel` window, stride 1,
    /// no padding, and a bias.
    pub fn new(path: &Path<F>, inputs: usize, outputs: usize, kernel: (usize, usize)) -> Self {
        Self::with_options(path, inputs, outputs, kernel, ConvTranspose2dOptions::default(), true)
    }

    /// A transposed convolution with chosen options, with or without a bias.
    ///
    /// # Panics
    ///
    /// When `inputs` or `outputs` is not divisible by `opts.groups`.
    #[track_caller]
    pub fn with_options(
        path: &Path<F>,
        inputs: usize,
        outputs: usize,
        kernel: (usize, usize),
        opts: ConvTranspose2dOptions,
        bias: bool,
    ) -> Self {
        let (weight, bias) = params(
            path,
            "conv_transpose2d",
            (inputs, outputs),
            &[kernel.0, kernel.1],
            opts.groups,
            true,
            bias,
        );
        ConvTranspose2d { weight, bias, opts }
    }

    /// The stride, padding, output padding, dilation and groups.
    pub fn options(&self) -> &ConvTranspose2dOptions {
        &self.opts
    }

    /// The number of input channels.
    pub fn inputs(&self) -> usize {
        self.weight.shape()[0]
    }

    /// The number of output channels.
    pub fn outputs(&self) -> usize {
        self.weight.shape()[1] * self.opts.groups
    }
}

impl<F: Float> Module<F> for ConvTranspose2d<F> {
    /// `x` of shape `[N, in, H, W]` to `[N, out, Ho, Wo]`.
    ///
    /// # Panics
    ///
    /// When `x` is not 4-D with the layer's input channels.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        check_input("conv_transpose2d", self.weight.name(), &x.shape(), 4, self.inputs());
        let y = x.conv_transpose2d(x.tape().param(&self.weight), &self.opts);
        add_bias(y, self.bias.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParamStore;
    use crate::param::GradientsParam;
    use wengert_tape::Tape;
    use wengert_tensor::Tensor;

    fn seq(shape: &[usize]) -> Tensor<f64> {
        crate::testing::sines(shape, 0.61)
    }

    #[test]
    fn conv2d_is_the_convolution_plus_the_bias_per_channel() {
        let store = ParamStore::<f64>::with_seed(0);
        let opts = Conv2dOptions::default().stride((2, 1)).padding((1, 1)).groups(2);
        let conv = Conv2d::with_options(&store.root().sub("c"), 4, 6, (3, 2), opts, true);
        assert_eq!(conv.weight.shape(), vec![6, 2, 3, 2]);
        assert_eq!((conv.inputs(), conv.outputs(), conv.options().groups), (4, 6, 2));
        let x = seq(&[2, 4, 5, 5]);
        let tape = Tape::new();
        let y = conv.forward(tape.constant(x.clone())).value();
        let b = conv.bias.as_ref().unwrap().value().reshape(&[6, 1, 1]).unwrap();
        assert_eq!(y, &x.conv2d(&conv.weight.value(), &opts) + &b);
        let names: Vec<_> = store.parameters().iter().map(|p| p.name().to_string()).collect();
        assert_eq!(names, ["c.weight", "c.bias"]);
    }

    #[test]
    fn conv_layers_initialise_like_pytorch() {
        let store = ParamStore::<f64>::with_seed(1);
        let conv = Conv2d::new(&store.root().sub("a"), 8, 16, (3, 3));
        let bound = 1.0 / 72f64.sqrt();
        for p in [&conv.weight, conv.bias.as_ref().unwrap()] {
            let v = p.value().to_vec();
            assert!(v.iter().all(|x| x.abs() <= bound), "{}", p.name());
            assert!(v.iter().any(|x| x.abs() > 0.5 * bound), "{}", p.name());
        }
        // ConvTranspose2d's fan in is weight.shape[1] · k, as in PyTorch.
        let up = ConvTranspose2d::new(&store.root().sub("b"), 16, 4, (2, 2));
        assert_eq!(up.weight.shape(), vec![16, 4, 2, 2]);
        assert!(up.weight.value().to_vec().iter().all(|x| x.abs() <= 0.25));
        let c1 = Conv1d::with_options(&store.root().sub("c"), 4, 2, 5, Conv1dOptions::default(), false);
        assert!(c1.bias.is_none());
        assert!(c1.weight.value().to_vec().iter().all(|x| x.abs() <= 1.0 / 20f64.sqrt()));
    }

    #[test]
    fn conv1d_and_conv_transpose2d_have_their_shapes_and_gradients() {
        let store = ParamStore::<f64>::with_seed(2);
        let c1 = Conv1d::with_options(
            &store.root().sub("c1"),
            2,
            4,
            3,
            Conv1dOptions { padding: 1, ..Default::default() },
            true,
        );
        let opts = ConvTranspose2dOptions {
            stride: (2, 2),
            padding: (1, 1),
            output_padding: (1, 1),
            ..Default::default()
        };
        let up = ConvTranspose2d::with_options(&store.root().sub("up"), 4, 3, (3, 3), opts, true);
        let tape = Tape::new();
        let y = c1.forward(tape.constant(seq(&[2, 2, 6])));
        assert_eq!(y.shape(), vec![2, 4, 6]);
        let z = up.forward(y.reshape(&[2, 4, 2, 3]));
        assert_eq!(z.shape(), vec![2, 3, 4, 6]);
        let grads = z.square().sum().backward();
        for p in store.parameters() {
            assert_eq!(grads.param(&p).unwrap().shape(), &p.shape()[..], "{}", p.name());
        }
    }

    #[test]
    #[should_panic(
        expected = "conv2d `conv.weight`: input of shape [2, 4, 5, 5] is not [N, C, H, W] with C = 3"
    )]
    fn conv2d_rejects_the_wrong_channel_count() {
        let store = ParamStore::<f32>::new(0);
        let conv = Conv2d::new(&store.root().sub("conv"), 3, 2, (3, 3));
        conv.forward(Tape::new().constant(Tensor::ones(&[2, 4, 5, 5])));
    }

    #[test]
    #[should_panic(expected = "conv2d: output channels 3 are not divisible by groups 2")]
    fn conv2d_rejects_channels_not_divisible_by_groups() {
        let store = ParamStore::<f32>::new(0);
        Conv2d::with_options(&store.root(), 4, 3, (3, 3), Conv2dOptions::default().groups(2), true);
    }

    #[test]
    #[should_panic(expected = "conv1d: input channels 3 are not divisible by groups 2")]
    fn conv1d_rejects_channels_not_divisible_by_groups() {
        let store = ParamStore::<f32>::new(0);
        Conv1d::with_options(&store.root(), 3, 4, 3, Conv1dOptions { groups: 2, ..Default::default() }, true);
    }

    #[test]
    fn the_three_conv_layers_lay_out_their_weights_as_pytorch() {
        let store = ParamStore::<f32>::new(0);
        let groups = |g| Conv2dOptions::default().groups(g);
        let c2 = Conv2d::with_options(&store.root().sub("c2"), 4, 6, (3, 2), groups(2), false);
        let c1 = Conv1d::with_options(
            &store.root().sub("c1"),
            4,
            6,
            5,
            Conv1dOptions { groups: 2, ..Default::default() },
            true,
        );
        let topts = ConvTranspose2dOptions { groups: 2, ..Default::default() };
        let up = ConvTranspose2d::with_options(&store.root().sub("up"), 4, 6, (3, 2), topts, true);
        assert_eq!(c2.weight.shape(), vec![6, 2, 3, 2]);
        assert!(c2.bias.is_none());
        assert_eq!((c1.weight.shape(), c1.bias.as_ref().unwrap().shape()), (vec![6, 2, 5], vec![6]));
        assert_eq!((up.weight.shape(), up.bias.as_ref().unwrap().shape()), (vec![4, 3, 3, 2], vec![6]));
        assert_eq!((up.inputs(), up.outputs(), c1.inputs(), c1.outputs()), (4, 6, 4, 6));
        let names: Vec<_> = store.parameters().iter().map(|p| p.name().to_string()).collect();
        assert_eq!(names, ["c2.weight", "c1.weight", "c1.bias", "up.weight", "up.bias"]);
    }
}
