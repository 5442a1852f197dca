//! Pooling layers: `MaxPool2d`, `AvgPool2d` and `AdaptiveAvgPool2d` over each channel of NCHW inputs.
//! They have no parameters.

use wengert_tape::Var;
use wengert_tensor::{Float, Pool2dOptions};

use crate::module::Module;

/// Max pooling over windows of each channel (PyTorch's `nn.MaxPool2d`); the stride defaults to the
/// window. The gradient flows to the first maximum of each window.
///
/// ```
/// use wengert::nn::{MaxPool2d, Module};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f32>::new();
/// let y = MaxPool2d::new((2, 2)).forward(tape.constant(Tensor::ones(&[1, 3, 8, 6])));
/// assert_eq!(y.shape(), vec![1, 3, 4, 3]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool2d {
    opts: Pool2dOptions,
}

impl MaxPool2d {
    /// Non-overlapping windows of `kernel`, without padding.
    pub fn new(kernel: (usize, usize)) -> Self {
        Self::with_options(Pool2dOptions::new(kernel))
    }

    /// Windows with a chosen stride and padding.
    pub fn with_options(opts: Pool2dOptions) -> Self {
        MaxPool2d { opts }
    }

    /// The window, stride and padding.
    pub fn options(&self) -> &Pool2dOptions {
        &self.opts
    }
}

impl<F: Float> Module<F> for MaxPool2d {
    /// `x` of shape `[N, C, H, W]` to `[N, C, Ho, Wo]`.
    ///
    /// # Panics
    ///
    /// As [`Var::max_pool2d`].
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        x.max_pool2d(&self.opts)
    }
}

/// Average pooling over windows of each channel (PyTorch's `nn.AvgPool2d` with its defaults: padding
/// counts as zeros); the stride defaults to the window.
///
/// ```
/// use wengert::nn::{AvgPool2d, Module};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f32>::new();
/// let y = AvgPool2d::new((2, 2)).forward(tape.constant(Tensor::ones(&[1, 1, 4, 4])));
/// assert_eq!(y.value().to_vec(), vec![1.0; 4]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvgPool2d {
    opts: Pool2dOptions,
}

impl AvgPool2d {
    /// Non-overlapping windows of `kernel`, without padding.
    pub fn new(kernel: (usize, usize)) -> Self {
        Self::with_options(Pool2dOptions::new(kernel))
    }

    /// Windows with a chosen stride and padding.
    pub fn with_options(opts: Pool2dOptions) -> Self {
        AvgPool2d { opts }
    }

    /// The window, stride and padding.
    pub fn options(&self) -> &Pool2dOptions {
        &self.opts
    }
}

impl<F: Float> Module<F> for AvgPool2d {
    /// `x` of shape `[N, C, H, W]` to `[N, C, Ho, Wo]`.
    ///
    /// # Panics
    ///
    /// As [`Var::avg_pool2d`].
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        x.avg_pool2d(&self.opts)
    }
}

/// Average pooling to a fixed output size whatever the input's (PyTorch's `nn.AdaptiveAvgPool2d`);
/// `(1, 1)` is global average pooling.
///
/// ```
/// use wengert::nn::{AdaptiveAvgPool2d, Module};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f32>::new();
/// let gap = AdaptiveAvgPool2d::new((1, 1));
/// assert_eq!(gap.forward(tape.constant(Tensor::ones(&[2, 5, 7, 9]))).shape(), vec![2, 5, 1, 1]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveAvgPool2d {
    output: (usize, usize),
}

impl AdaptiveAvgPool2d {
    /// Pooling to `output` rows and columns.
    pub fn new(output: (usize, usize)) -> Self {
        AdaptiveAvgPool2d { output }
    }

    /// The output rows and columns.
    pub fn output_size(&self) -> (usize, usize) {
        self.output
    }
}

impl<F: Float> Module<F> for AdaptiveAvgPool2d {
    /// `x` of shape `[N, C, H, W]` to `[N, C, output.0, output.1]`.
    ///
    /// # Panics
    ///
    /// As [`Var::adaptive_avg_pool2d`].
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        x.adaptive_avg_pool2d(self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wengert_tape::Tape;
    use wengert_tensor::Tensor;

    fn seq(shape: &[usize]) -> Tensor<f64> {
        crate::testing::sines(shape, 0.61)
    }

    #[test]
    fn pool_layers_apply_their_ops() {
        let x = seq(&[2, 3, 7, 6]);
        let tape = Tape::new();
        let v = tape.constant(x.clone());
        let o = Pool2dOptions::new((3, 3)).stride((2, 2)).padding((1, 1));
        assert_eq!(MaxPool2d::with_options(o).forward(v).value(), x.max_pool2d(&o).0);
        assert_eq!(AvgPool2d::with_options(o).forward(v).value(), x.avg_pool2d(&o));
        assert_eq!(AdaptiveAvgPool2d::new((2, 3)).forward(v).value(), x.adaptive_avg_pool2d((2, 3)));
        assert_eq!(MaxPool2d::new((2, 2)).options().stride, (2, 2));
        assert_eq!(AvgPool2d::new((3, 1)).options().kernel, (3, 1));
        assert_eq!(AdaptiveAvgPool2d::new((4, 4)).output_size(), (4, 4));
    }

    #[test]
    fn pool_layers_pass_gradients_back() {
        let tape = Tape::new();
        let x = tape.var(seq(&[1, 2, 4, 4]));
        let y = MaxPool2d::new((2, 2)).forward(x).sum() + AvgPool2d::new((2, 2)).forward(x).sum();
        let g = y.backward()[x].to_vec();
        // Each window's maximum gets 1 + 1/4, every other element 1/4.
        assert_eq!(g.iter().filter(|&&v| v == 1.25).count(), 8);
        assert_eq!(g.iter().filter(|&&v| v == 0.25).count(), 24);
    }

    #[test]
    #[should_panic(expected = "max_pool2d: input [2, 3] must be 4-D [N, C, H, W]")]
    fn max_pool2d_rejects_a_2d_input() {
        MaxPool2d::new((2, 2)).forward(Tape::<f32>::new().constant(Tensor::ones(&[2, 3])));
    }
}
