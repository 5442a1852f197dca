//! Convolutions of NCHW images: `conv2d`, `conv1d`, `conv_transpose2d`, `conv_transpose1d`, `conv3d` (in
//! `three_d`, of NCDHW volumes), and `conv2d_weight_adjoint`, the
//! adjoint of `conv2d` as a linear map of its weight (public so that rules can use it and its own adjoints).
//!
//! conv2d: `y[n, o, i, j] = Σ_{c, p, q} x[n, g·C/G + c, i·s₀ - p₀ + p·d₀, j·s₁ - p₁ + q·d₁] · w[o, c, p, q]`
//! for `o` in group `g` (out of `G`), reading zeros outside the image; output size
//! `⌊(H + 2p₀ - d₀(kh - 1) - 1) / s₀⌋ + 1`. conv_transpose2d is the adjoint of conv2d in its input, with
//! output size `(H - 1)s₀ - 2p₀ + d₀(kh - 1) + output_padding₀ + 1`. Every one runs as GEMMs through the
//! matmul kernel (see `lowering`).

mod geometry;
mod lowering;
mod three_d;

use geometry::{Context, conv_geom, transpose_geom};
use lowering::Geom;
pub use three_d::Conv3dOptions;

use crate::float::Float;
use crate::shape_ops::invalid;
use crate::tensor::Tensor;

/// Settings of [`Tensor::conv2d`], as `(rows, columns)` pairs: stride, zero padding on each side and
/// dilation, plus the number of groups. The default is PyTorch's: stride 1, no padding, dilation 1, one group.
///
/// ```
/// use wengert::tensor::Conv2dOptions;
/// let opts = Conv2dOptions::default().stride((2, 2)).padding((1, 1)).groups(2);
/// assert_eq!((opts.stride, opts.padding, opts.dilation, opts.groups), ((2, 2), (1, 1), (1, 1), 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2dOptions {
    /// The step between output positions, in input rows and columns.
    pub stride: (usize, usize),
    /// Zeros added above and below (`.0`), left and right (`.1`).
    pub padding: (usize, usize),
    /// The spacing between kernel taps.
    pub dilation: (usize, usize),
    /// Channel groups: input and output channels split into this many groups, each convolved alone.
    pub groups: usize,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions { stride: (1, 1), padding: (0, 0), dilation: (1, 1), groups: 1 }
    }
}

impl Conv2dOptions {
    /// With stride `s`.
    pub fn stride(mut self, s: (usize, usize)) -> Self {
        self.stride = s;
        self
    }

    /// With padding `p`.
    pub fn padding(mut self, p: (usize, usize)) -> Self {
        self.padding = p;
        self
    }

    /// With dilation `d`.
    pub fn dilation(mut self, d: (usize, usize)) -> Self {
        self.dilation = d;
        self
    }

    /// With `g` groups.
    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
    }
}

/// Settings of [`Tensor::conv1d`]: stride, zero padding on each side, dilation and groups. The default
/// is stride 1, no padding, dilation 1, one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv1dOptions {
    /// The step between output positions.
    pub stride: usize,
    /// Zeros added at each end.
    pub padding: usize,
    /// The spacing between kernel taps.
    pub dilation: usize,
    /// Channel groups.
    pub groups: usize,
}

impl Default for Conv1dOptions {
    fn default() -> Self {
        Conv1dOptions { stride: 1, padding: 0, dilation: 1, groups: 1 }
    }
}

impl Conv1dOptions {
    /// The 2-D options of the same convolution on a `[N, C, 1, L]` image.
    pub fn to_2d(self) -> Conv2dOptions {
        Conv2dOptions {
            stride: (1, self.stride),
            padding: (0, self.padding),
            dilation: (1, self.dilation),
            groups: self.groups,
        }
    }
}

/// Settings of [`Tensor::conv_transpose2d`]: those of the convolution it transposes, plus
/// `output_padding`, rows and columns added to the output's bottom and right (to pick one of the input
/// sizes that a strided convolution maps to the same size). The default is PyTorch's.
///
/// ```
/// use wengert::tensor::{Conv2dOptions, ConvTranspose2dOptions};
/// let opts = ConvTranspose2dOptions::from(Conv2dOptions::default().stride((2, 2))).output_padding((1, 0));
/// assert_eq!(opts.conv().stride, (2, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvTranspose2dOptions {
    /// The stride of the transposed convolution.
    pub stride: (usize, usize),
    /// The padding of the transposed convolution (removed from the output).
    pub padding: (usize, usize),
    /// Rows and columns added at the bottom and right of the output; each below its stride.
    pub output_padding: (usize, usize),
    /// The spacing between kernel taps.
    pub dilation: (usize, usize),
    /// Channel groups.
    pub groups: usize,
}

impl Default for ConvTranspose2dOptions {
    fn default() -> Self {
        Conv2dOptions::default().into()
    }
}

impl From<Conv2dOptions> for ConvTranspose2dOptions {
    fn from(o: Conv2dOptions) -> Self {
        ConvTranspose2dOptions {
            stride: o.stride,
            padding: o.padding,
            output_padding: (0, 0),
            dilation: o.dilation,
            groups: o.groups,
        }
    }
}

impl ConvTranspose2dOptions {
    /// With output padding `p`.
    pub fn output_padding(mut self, p: (usize, usize)) -> Self {
        self.output_padding = p;
        self
    }

    /// The options of the convolution this transposes (without the output padding).
    pub fn conv(&self) -> Conv2dOptions {
        Conv2dOptions {
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
            groups: self.groups,
        }
    }
}

/// Settings of [`Tensor::conv_transpose1d`]: stride, padding (removed from each end of the output),
/// output padding (added at the end, below the stride), dilation and groups. The default is PyTorch's:
/// stride 1, no padding or output padding, dilation 1, one group.
///
/// ```
/// use wengert::tensor::ConvTranspose1dOptions;
/// let opts = ConvTranspose1dOptions { stride: 2, output_padding: 1, ..Default::default() };
/// assert_eq!(opts.to_2d().output_padding, (0, 1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConvTranspose1dOptions {
    /// The stride of the transposed convolution.
    pub stride: usize,
    /// The padding of the transposed convolution (removed from each end of the output).
    pub padding: usize,
    /// Positions added at the end of the output; below the stride.
    pub output_padding: usize,
    /// The spacing between kernel taps.
    pub dilation: usize,
    /// Channel groups.
    pub groups: usize,
}

impl Default for ConvTranspose1dOptions {
    fn default() -> Self {
        ConvTranspose1dOptions { stride: 1, padding: 0, output_padding: 0, dilation: 1, groups: 1 }
    }
}

impl ConvTranspose1dOptions {
    /// The 2-D options of the same transposed convolution on a `[N, C, 1, L]` image.
    pub fn to_2d(self) -> ConvTranspose2dOptions {
        ConvTranspose2dOptions {
            stride: (1, self.stride),
            padding: (0, self.padding),
            output_padding: (0, self.output_padding),
            dilation: (1, self.dilation),
            groups: self.groups,
        }
    }
}

impl<F: Float> Tensor<F> {
    /// The transposed 1-D convolution of `self`, `[N, C, L]`, by `weight`, `[C, O / groups, k]`
    /// (PyTorch's layout): `[N, O, (L - 1)s - 2p + d(k - 1) + output_padding + 1]`, the transposed 2-D
    /// convolution of `[N, C, 1, L]` images.
    ///
    /// ```
    /// use wengert::tensor::{ConvTranspose1dOptions, Tensor};
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 2.0], &[1, 1, 2]).unwrap();
    /// let w = Tensor::<f64>::from_vec(vec![1.0, 10.0], &[1, 1, 2]).unwrap();
    /// assert_eq!(x.conv_transpose1d(&w, &Default::default()).to_vec(), vec![1.0, 12.0, 20.0]);
    /// let opts = ConvTranspose1dOptions { stride: 3, output_padding: 1, ..Default::default() };
    /// assert_eq!(x.conv_transpose1d(&w, &opts).to_vec(), vec![1.0, 10.0, 0.0, 2.0, 20.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When either is not 3-D, and as [`Tensor::conv_transpose2d`], in the terms of the 3-D shapes:
    /// `conv_transpose1d: input [1, 1, 3], weight [1, 1, 2]: output padding 2 must be below the stride 2`.
    #[track_caller]
    pub fn conv_transpose1d(&self, weight: &Self, opts: &ConvTranspose1dOptions) -> Self {
        let (xs, ws) = (self.shape(), weight.shape());
        let (&[n, c, l], &[wc, og, k]) = (xs, ws) else {
            invalid("conv_transpose1d", format!("input {xs:?}, weight {ws:?}: both must be 3-D"));
        };
        let cx = Context::one_d("conv_transpose1d", xs, ws);
        let g = transpose_geom::<F>(&cx, &[n, c, 1, l], &[wc, og, 1, k], &opts.to_2d());
        let (x, w) = (self.to_contiguous(), weight.to_contiguous());
        let y = lowering::input_grad(slice(&x), slice(&w), &g);
        Tensor::from_vec(y, &[g.n, g.c, g.w]).expect("the output has its size")
    }
}

impl<F: Float> Tensor<F> {
    /// The 2-D convolution (cross-correlation, as in PyTorch) of `self`, `[N, C, H, W]`, by `weight`,
    /// `[O, C / groups, kh, kw]`: `[N, O, Ho, Wo]` with `Ho = ⌊(H + 2p - d(kh - 1) - 1) / s⌋ + 1`.
    /// No bias is added (add one of shape `[O, 1, 1]`).
    ///
    /// ```
    /// use wengert::tensor::{Conv2dOptions, Tensor};
    /// let x = Tensor::<f32>::arange(0.0, 9.0, 1.0).reshape(&[1, 1, 3, 3]).unwrap();
    /// let w = Tensor::<f32>::ones(&[1, 1, 2, 2]);
    /// let y = x.conv2d(&w, &Conv2dOptions::default());
    /// assert_eq!((y.shape(), y.to_vec()), (&[1, 1, 2, 2][..], vec![8.0, 12.0, 20.0, 24.0]));
    /// let y = x.conv2d(&w, &Conv2dOptions::default().padding((1, 1)).stride((2, 2)));
    /// assert_eq!(y.to_vec(), vec![0.0, 3.0, 9.0, 24.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When either is not 4-D, the channels do not match or are not divisible by `groups`, a stride,
    /// dilation or `groups` is 0, the dilated kernel is larger than the padded input, or the padding,
    /// stride and dilation make sizes too large to index or allocate:
    /// `conv2d: input [1, 3, 8, 8], weight [4, 2, 3, 3]: input channels 3 are not divisible by groups 2`.
    #[track_caller]
    pub fn conv2d(&self, weight: &Self, opts: &Conv2dOptions) -> Self {
        let (xs, ws) = (self.shape(), weight.shape());
        let g = conv_geom::<F>(&Context::new("conv2d", xs, ws), xs, ws, opts);
        Tensor::from_vec(convolve(self, weight, &g), &[g.n, g.o, g.ho, g.wo])
            .expect("the output has its size")
    }

    /// The 1-D convolution of `self`, `[N, C, L]`, by `weight`, `[O, C / groups, k]`: `[N, O, Lo]`, the
    /// 2-D convolution of `[N, C, 1, L]` images.
    ///
    /// ```
    /// use wengert::tensor::{Conv1dOptions, Tensor};
    /// let x = Tensor::<f64>::arange(0.0, 5.0, 1.0).reshape(&[1, 1, 5]).unwrap();
    /// let w = Tensor::<f64>::from_vec(vec![1.0, -1.0], &[1, 1, 2]).unwrap();
    /// let y = x.conv1d(&w, &Conv1dOptions { stride: 2, ..Conv1dOptions::default() });
    /// assert_eq!(y.to_vec(), vec![-1.0, -1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When either is not 3-D, and as [`Tensor::conv2d`], in the terms of the 3-D shapes:
    /// `conv1d: input [1, 1, 2], weight [1, 1, 3]: the kernel 3 dilated by 1 is larger than the input 2
    /// padded by 0`.
    #[track_caller]
    pub fn conv1d(&self, weight: &Self, opts: &Conv1dOptions) -> Self {
        let (xs, ws) = (self.shape(), weight.shape());
        let (&[n, c, l], &[o, cg, k]) = (xs, ws) else {
            invalid("conv1d", format!("input {xs:?}, weight {ws:?}: both must be 3-D"));
        };
        let g =
            conv_geom::<F>(&Context::one_d("conv1d", xs, ws), &[n, c, 1, l], &[o, cg, 1, k], &opts.to_2d());
        let x = self.reshape(&[n, c, 1, l]).expect("same elements");
        let w = weight.reshape(&[o, cg, 1, k]).expect("same elements");
        Tensor::from_vec(convolve(&x, &w, &g), &[n, o, g.wo]).expect("the output has its size")
    }

    /// The transposed 2-D convolution ("deconvolution") of `self`, `[N, C, H, W]`, by `weight`,
    /// `[C, O / groups, kh, kw]` (PyTorch's layout): the adjoint of `conv2d` by the same weight,
    /// `[N, O, (H - 1)s - 2p + d(kh - 1) + output_padding + 1, ...]`.
    ///
    /// ```
    /// use wengert::tensor::{ConvTranspose2dOptions, Tensor};
    /// let x = Tensor::<f32>::ones(&[1, 1, 2, 2]);
    /// let w = Tensor::<f32>::ones(&[1, 1, 2, 2]);
    /// let opts = ConvTranspose2dOptions { stride: (2, 2), ..Default::default() };
    /// assert_eq!(x.conv_transpose2d(&w, &opts).to_vec(), vec![1.0; 16]);
    /// ```
    ///
    /// # Panics
    ///
    /// When either is not 4-D, the weight's first dimension is not the input's channels, they are not
    /// divisible by `groups`, an output padding is not below its stride, a stride, dilation or
    /// `groups` is 0, or the padding leaves no output.
    #[track_caller]
    pub fn conv_transpose2d(&self, weight: &Self, opts: &ConvTranspose2dOptions) -> Self {
        let cx = Context::new("conv_transpose2d", self.shape(), weight.shape());
        let g = transpose_geom::<F>(&cx, self.shape(), weight.shape(), opts);
        let (x, w) = (self.to_contiguous(), weight.to_contiguous());
        let y = lowering::input_grad(slice(&x), slice(&w), &g);
        Tensor::from_vec(y, &[g.n, g.c, g.h, g.w]).expect("the output has its size")
    }

    /// The adjoint of `w ↦ self.conv2d(w, opts)` for a weight with kernel `kernel`, applied to `out`, an
    /// array of that convolution's output shape: `Σ_n out_n ⋆ x_n`, of shape `[O, C / groups, kh, kw]`,
    /// where `O` is `out`'s channels. It is linear in `self` and in `out` (with `out` the output's
    /// gradient, it is the weight's gradient).
    ///
    /// ```
    /// use wengert::tensor::{Conv2dOptions, Tensor};
    /// let x = Tensor::<f64>::arange(0.0, 9.0, 1.0).reshape(&[1, 1, 3, 3]).unwrap();
    /// let g = Tensor::<f64>::ones(&[1, 1, 2, 2]);
    /// let dw = x.conv2d_weight_adjoint(&g, (2, 2), &Conv2dOptions::default());
    /// assert_eq!(dw.to_vec(), vec![8.0, 12.0, 20.0, 24.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::conv2d`] for the weight of that shape, and when `out` is not the shape of that
    /// convolution's output.
    #[track_caller]
    pub fn conv2d_weight_adjoint(&self, out: &Self, kernel: (usize, usize), opts: &Conv2dOptions) -> Self {
        let (xs, gs) = (self.shape(), out.shape());
        let (&[_, c, _, _], &[_, o, _, _]) = (xs, gs) else {
            invalid("conv2d_weight_adjoint", format!("input {xs:?}, out {gs:?}: both must be 4-D"));
        };
        let w = [o, c / opts.groups.max(1), kernel.0, kernel.1];
        let g = conv_geom::<F>(&Context::new("conv2d_weight_adjoint", xs, &w), xs, &w, opts);
        if gs != [g.n, g.o, g.ho, g.wo] {
            invalid(
                "conv2d_weight_adjoint",
                format!(
                    "input {xs:?}, out {gs:?}, kernel {kernel:?}: the output is {:?}",
                    [g.n, g.o, g.ho, g.wo]
                ),
            );
        }
        let (x, gy) = (self.to_contiguous(), out.to_contiguous());
        let dw = lowering::weight_grad(slice(&x), slice(&gy), &g);
        Tensor::from_vec(dw, &w).expect("the weight has its size")
    }
}

impl<F: Float> Tensor<F> {
    /// Both adjoints of the bilinear `self.conv2d(weight, opts)` applied to `out` (an array of the
    /// output's shape), in one pass over the samples: `(input adjoint, weight adjoint)`, the values of
    /// `out.conv_transpose2d(weight, ..)` (with the output padding that restores `self`'s size) and
    /// `self.conv2d_weight_adjoint(out, ..)`. With `out` the output's gradient, these are the two
    /// gradients.
    ///
    /// ```
    /// use wengert::tensor::{Conv2dOptions, Tensor};
    /// let x = Tensor::<f64>::arange(0.0, 9.0, 1.0).reshape(&[1, 1, 3, 3]).unwrap();
    /// let w = Tensor::<f64>::ones(&[1, 1, 2, 2]);
    /// let o = Conv2dOptions::default();
    /// let (dx, dw) = x.conv2d_adjoints(&w, &Tensor::ones(&[1, 1, 2, 2]), &o);
    /// assert_eq!(dx.to_vec(), vec![1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
    /// assert_eq!(dw, x.conv2d_weight_adjoint(&Tensor::ones(&[1, 1, 2, 2]), (2, 2), &o));
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::conv2d`], and when `out` is not the shape of the convolution's output.
    #[track_caller]
    pub fn conv2d_adjoints(&self, weight: &Self, out: &Self, opts: &Conv2dOptions) -> (Self, Self) {
        let g = conv_geom::<F>(
            &Context::new("conv2d_adjoints", self.shape(), weight.shape()),
            self.shape(),
            weight.shape(),
            opts,
        );
        if out.shape() != [g.n, g.o, g.ho, g.wo] {
            invalid(
                "conv2d_adjoints",
                format!(
                    "input {:?}, weight {:?}, out {:?}: the output is {:?}",
                    self.shape(),
                    weight.shape(),
                    out.shape(),
                    [g.n, g.o, g.ho, g.wo]
                ),
            );
        }
        let (x, w, gy) = (self.to_contiguous(), weight.to_contiguous(), out.to_contiguous());
        let (dx, dw) = lowering::backward(slice(&x), slice(&w), slice(&gy), &g);
        (
            Tensor::from_vec(dx, self.shape()).expect("the input has its size"),
            Tensor::from_vec(dw, weight.shape()).expect("the weight has its size"),
        )
    }
}

/// The convolution of `x` by `w`, of the checked sizes `g`, as a row-major `[n, o, ho, wo]` vector.
fn convolve<F: Float>(x: &Tensor<F>, w: &Tensor<F>, g: &Geom) -> Vec<F> {
    let (x, w) = (x.to_contiguous(), w.to_contiguous());
    lowering::forward(slice(&x), slice(&w), g)
}

/// The elements of a contiguous tensor.
fn slice<F: Float>(t: &Tensor<F>) -> &[F] {
    t.as_slice().expect("made contiguous")
}

#[cfg(test)]
mod tests;
