//! `Conv3d`, PyTorch's `nn.Conv3d`: the 3-D convolution of NCDHW volumes with a weight
//! `[out, in / groups, kD, kH, kW]` and a bias `[out]`, initialised as the other convolution layers.

use wengert_tape::Var;
use wengert_tensor::{Conv3dOptions, Float};

use super::{add_bias, params};
use crate::module::Module;
use crate::param::{Param, TapeParam};
use crate::store::Path;

/// A 3-D convolution layer (PyTorch's `nn.Conv3d`): `[N, in, D, H, W]` to `[N, out, Do, Ho, Wo]`, with
/// a weight `[out, in / groups, kD, kH, kW]` and a bias `[out]`.
///
/// ```
/// use wengert::nn::{Conv3d, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::{Conv3dOptions, Tensor};
/// let store = ParamStore::<f32>::new(0);
/// let opts = Conv3dOptions::default().padding((1, 1, 1));
/// let conv = Conv3d::with_options(&store.root().sub("conv"), 2, 4, (3, 3, 3), opts, true);
/// let tape = Tape::new();
/// assert_eq!(conv.forward(tape.constant(Tensor::ones(&[1, 2, 4, 5, 5]))).shape(), vec![1, 4, 4, 5, 5]);
/// assert_eq!(store.num_parameters(), 4 * 2 * 27 + 4);
/// ```
#[derive(Debug)]
pub struct Conv3d<F: Float = f32> {
    /// The weight, `[out, in / groups, kD, kH, kW]`.
    pub weight: Param<F>,
    /// The bias, `[out]`, if any.
    pub bias: Option<Param<F>>,
    opts: Conv3dOptions,
}

impl<F: Float> Conv3d<F> {
    /// A convolution from `inputs` to `outputs` channels with a `kernel` window (depth, rows,
    /// columns), stride 1, no padding, and a bias.
    ///
    /// ```
    /// use wengert::nn::{Conv3d, ParamStore};
    /// let store = ParamStore::<f32>::new(0);
    /// let conv = Conv3d::new(&store.root(), 3, 5, (1, 2, 2));
    /// assert_eq!((conv.weight.shape(), conv.inputs(), conv.outputs()), (vec![5, 3, 1, 2, 2], 3, 5));
    /// ```
    pub fn new(path: &Path<F>, inputs: usize, outputs: usize, kernel: (usize, usize, usize)) -> Self {
        Self::with_options(path, inputs, outputs, kernel, Conv3dOptions::default(), true)
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
        kernel: (usize, usize, usize),
        opts: Conv3dOptions,
        bias: bool,
    ) -> Self {
        let kernel = [kernel.0, kernel.1, kernel.2];
        let (weight, bias) = params(path, "conv3d", (inputs, outputs), &kernel, opts.groups, false, bias);
        Conv3d { weight, bias, opts }
    }

    /// The stride, padding, dilation and groups.
    pub fn options(&self) -> &Conv3dOptions {
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

impl<F: Float> Module<F> for Conv3d<F> {
    /// `x` of shape `[N, in, D, H, W]` to `[N, out, Do, Ho, Wo]`.
    ///
    /// # Panics
    ///
    /// When `x` is not 5-D with the layer's input channels, or the kernel does not fit the padded input.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let shape = x.shape();
        if shape.len() != 5 || shape[1] != self.inputs() {
            panic!(
                "conv3d `{}`: input of shape {shape:?} is not [N, C, D, H, W] with C = {}",
                self.weight.name(),
                self.inputs()
            );
        }
        let y = x.conv3d(x.tape().param(&self.weight), &self.opts);
        add_bias(y, self.bias.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParamStore;
    use crate::param::GradientsParam;
    use wengert_tape::Tape;
    use wengert_tape::check::{GradcheckOptions, gradcheck};
    use wengert_tensor::Tensor;

    #[test]
    fn conv3d_is_the_convolution_plus_the_bias_per_channel() {
        let store = ParamStore::<f64>::with_seed(3);
        let opts =
            Conv3dOptions::default().stride((2, 1, 1)).padding((1, 0, 1)).dilation((1, 2, 1)).groups(2);
        let conv = Conv3d::with_options(&store.root().sub("conv"), 4, 6, (2, 2, 3), opts, true);
        assert_eq!((conv.weight.shape(), conv.inputs(), conv.outputs()), (vec![6, 2, 2, 2, 3], 4, 6));
        assert_eq!(conv.options(), &opts);
        let x = crate::testing::sines(&[2, 4, 3, 5, 4], 0.37);
        let tape = Tape::new();
        let y = conv.forward(tape.constant(x.clone()));
        let b = conv.bias.as_ref().unwrap().value().reshape(&[6, 1, 1, 1]).unwrap();
        assert_eq!(y.value(), &x.conv3d(&conv.weight.value(), &opts) + &b);
        assert_eq!(y.shape(), vec![2, 6, 2, 3, 4]);
        let grads = y.square().sum().backward();
        for p in store.parameters() {
            assert_eq!(grads.param(&p).unwrap().shape(), &p.shape()[..], "{}", p.name());
        }
        let names: Vec<_> = store.parameters().iter().map(|p| p.name().to_string()).collect();
        assert_eq!(names, ["conv.weight", "conv.bias"]);
    }

    #[test]
    fn conv3d_gradients_of_input_weight_and_bias_match_finite_differences() {
        let store = ParamStore::<f64>::with_seed(5);
        let conv = Conv3d::with_options(&store.root(), 2, 2, (2, 1, 2), Conv3dOptions::default(), true);
        let inputs = [
            crate::testing::sines(&[1, 2, 3, 2, 3], 0.41),
            conv.weight.value(),
            conv.bias.as_ref().unwrap().value(),
        ];
        let opts = *conv.options();
        let check = GradcheckOptions::default();
        gradcheck(
            |v| (v[0].conv3d(v[1], &opts) + v[2].reshape(&[2, 1, 1, 1])).square().sum(),
            &inputs,
            &check,
        )
        .unwrap();
    }

    #[test]
    fn conv3d_initialises_like_pytorch() {
        // fan in is weight.shape[1] · kD · kH · kW = 4 · 2 · 2 · 2, as PyTorch's.
        let store = ParamStore::<f64>::with_seed(1);
        let conv = Conv3d::new(&store.root(), 4, 8, (2, 2, 2));
        let bound = 1.0 / 32f64.sqrt();
        for p in [&conv.weight, conv.bias.as_ref().unwrap()] {
            let v = p.value().to_vec();
            assert!(v.iter().all(|x| x.abs() <= bound), "{}", p.name());
            assert!(v.iter().any(|x| x.abs() > 0.5 * bound), "{}", p.name());
        }
    }

    #[test]
    #[should_panic(
        expected = "conv3d `conv.weight`: input of shape [2, 3, 4, 4] is not [N, C, D, H, W] with C = 3"
    )]
    fn conv3d_rejects_a_4d_input() {
        let store = ParamStore::<f32>::new(0);
        let conv = Conv3d::new(&store.root().sub("conv"), 3, 2, (1, 1, 1));
        conv.forward(Tape::new().constant(Tensor::ones(&[2, 3, 4, 4])));
    }

    #[test]
    #[should_panic(expected = "conv3d: output channels 3 are not divisible by groups 2")]
    fn conv3d_rejects_channels_not_divisible_by_groups() {
        let store = ParamStore::<f32>::new(0);
        Conv3d::with_options(&store.root(), 4, 3, (1, 1, 1), Conv3dOptions::default().groups(2), true);
    }
}
