//! `ConvTranspose1d`, PyTorch's `nn.ConvTranspose1d`: the transposed 1-D convolution with a weight
//! `[in, out / groups, k]` and a bias `[out]`, initialised as the other convolution layers.

use wengert_tape::Var;
use wengert_tensor::{ConvTranspose1dOptions, Float};

use super::{add_bias, check_input, params};
use crate::module::Module;
use crate::param::{Param, TapeParam};
use crate::store::Path;

/// A transposed 1-D convolution layer (PyTorch's `nn.ConvTranspose1d`): `[N, in, L]` to
/// `[N, out, (L - 1)s - 2p + d(k - 1) + output_padding + 1]`, with a weight `[in, out / groups, k]`
/// and a bias `[out]`.
///
/// ```
/// use wengert::nn::{ConvTranspose1d, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::{ConvTranspose1dOptions, Tensor};
/// let store = ParamStore::<f32>::new(0);
/// let opts = ConvTranspose1dOptions { stride: 2, output_padding: 1, ..Default::default() };
/// let up = ConvTranspose1d::with_options(&store.root(), 4, 2, 3, opts, true);
/// let tape = Tape::new();
/// assert_eq!(up.forward(tape.constant(Tensor::ones(&[1, 4, 5]))).shape(), vec![1, 2, 12]);
/// ```
#[derive(Debug)]
pub struct ConvTranspose1d<F: Float = f32> {
    /// The weight, `[in, out / groups, k]`.
    pub weight: Param<F>,
    /// The bias, `[out]`, if any.
    pub bias: Option<Param<F>>,
    opts: ConvTranspose1dOptions,
}

impl<F: Float> ConvTranspose1d<F> {
    /// A transposed convolution from `inputs` to `outputs` channels with a window of `kernel`, stride
    /// 1, no padding, and a bias.
    ///
    /// ```
    /// use wengert::nn::{ConvTranspose1d, ParamStore};
    /// let store = ParamStore::<f32>::new(0);
    /// let up = ConvTranspose1d::new(&store.root(), 3, 5, 2);
    /// assert_eq!((up.weight.shape(), up.inputs(), up.outputs()), (vec![3, 5, 2], 3, 5));
    /// ```
    pub fn new(path: &Path<F>, inputs: usize, outputs: usize, kernel: usize) -> Self {
        Self::with_options(path, inputs, outputs, kernel, ConvTranspose1dOptions::default(), true)
    }

    /// A transposed convolution with chosen options, with or without a bias.
    ///
    /// ```
    /// use wengert::nn::{ConvTranspose1d, ParamStore};
    /// use wengert::tensor::ConvTranspose1dOptions;
    /// let store = ParamStore::<f32>::new(0);
    /// let opts = ConvTranspose1dOptions { groups: 2, ..Default::default() };
    /// let up = ConvTranspose1d::with_options(&store.root(), 4, 6, 3, opts, false);
    /// assert_eq!((up.weight.shape(), up.bias.is_none()), (vec![4, 3, 3], true));
    /// ```
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
        opts: ConvTranspose1dOptions,
        bias: bool,
    ) -> Self {
        let (weight, bias) =
            params(path, "conv_transpose1d", (inputs, outputs), &[kernel], opts.groups, true, bias);
        ConvTranspose1d { weight, bias, opts }
    }

    /// The stride, padding, output padding, dilation and groups.
    pub fn options(&self) -> &ConvTranspose1dOptions {
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

impl<F: Float> Module<F> for ConvTranspose1d<F> {
    /// `x` of shape `[N, in, L]` to `[N, out, Lo]`.
    ///
    /// # Panics
    ///
    /// When `x` is not 3-D with the layer's input channels, or the options leave no output.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        check_input("conv_transpose1d", self.weight.name(), &x.shape(), 3, self.inputs());
        let y = x.conv_transpose1d(x.tape().param(&self.weight), &self.opts);
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

    #[test]
    fn conv_transpose1d_is_the_transposed_convolution_plus_the_bias_per_channel() {
        let store = ParamStore::<f64>::with_seed(3);
        let opts =
            ConvTranspose1dOptions { stride: 2, padding: 1, output_padding: 1, dilation: 2, groups: 2 };
        let up = ConvTranspose1d::with_options(&store.root().sub("up"), 4, 6, 3, opts, true);
        assert_eq!((up.weight.shape(), up.inputs(), up.outputs()), (vec![4, 3, 3], 4, 6));
        assert_eq!(up.options(), &opts);
        let x = crate::testing::sines(&[2, 4, 5], 0.37);
        let tape = Tape::new();
        let y = up.forward(tape.constant(x.clone()));
        let b = up.bias.as_ref().unwrap().value().reshape(&[6, 1]).unwrap();
        assert_eq!(y.value(), &x.conv_transpose1d(&up.weight.value(), &opts) + &b);
        assert_eq!(y.shape(), vec![2, 6, 4 * 2 - 2 + 2 * 2 + 1 + 1]);
        let grads = y.square().sum().backward();
        for p in store.parameters() {
            assert_eq!(grads.param(&p).unwrap().shape(), &p.shape()[..], "{}", p.name());
        }
        let names: Vec<_> = store.parameters().iter().map(|p| p.name().to_string()).collect();
        assert_eq!(names, ["up.weight", "up.bias"]);
    }

    #[test]
    fn conv_transpose1d_initialises_like_pytorch() {
        // fan in is weight.shape[1] · k = 4 · 2, as PyTorch's.
        let store = ParamStore::<f64>::with_seed(1);
        let up = ConvTranspose1d::new(&store.root(), 16, 4, 2);
        let bound = 1.0 / 8f64.sqrt();
        for p in [&up.weight, up.bias.as_ref().unwrap()] {
            let v = p.value().to_vec();
            assert!(v.iter().all(|x| x.abs() <= bound), "{}", p.name());
            assert!(v.iter().any(|x| x.abs() > 0.5 * bound), "{}", p.name());
        }
    }

    #[test]
    #[should_panic(
        expected = "conv_transpose1d `up.weight`: input of shape [2, 3, 5] is not [N, C, L] with C = 4"
    )]
    fn conv_transpose1d_rejects_the_wrong_channel_count() {
        let store = ParamStore::<f32>::new(0);
        let up = ConvTranspose1d::new(&store.root().sub("up"), 4, 2, 3);
        up.forward(Tape::new().constant(Tensor::ones(&[2, 3, 5])));
    }

    #[test]
    #[should_panic(expected = "conv_transpose1d: output channels 3 are not divisible by groups 2")]
    fn conv_transpose1d_rejects_channels_not_divisible_by_groups() {
        let store = ParamStore::<f32>::new(0);
        let opts = ConvTranspose1dOptions { groups: 2, ..Default::default() };
        ConvTranspose1d::with_options(&store.root(), 4, 3, 3, opts, true);
    }
}
