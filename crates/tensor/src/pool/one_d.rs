//! 1-D pools over `[N, C, L]`: the 2-D pools of [`super`] on `[N, C, 1, L]`, windows of one row.

use ndarray::ArrayD;

use super::Pool2dOptions;
use crate::float::Float;
use crate::shape_ops::invalid;
use crate::tensor::Tensor;

/// Settings of the 1-D pools [`Tensor::max_pool1d`] and [`Tensor::avg_pool1d`] over `[N, C, L]`:
/// those of [`Pool2dOptions`] along one axis (the pools are the 2-D ones on `[N, C, 1, L]`).
///
/// ```
/// use wengert::tensor::Pool1dOptions;
/// let opts = Pool1dOptions::new(3).stride(2).padding(1).ceil_mode(true);
/// assert_eq!((opts.kernel, opts.stride, opts.padding, opts.dilation), (3, 2, 1, 1));
/// assert_eq!(opts.to_2d().kernel, (1, 3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pool1dOptions {
    /// The window's length.
    pub kernel: usize,
    /// The step between windows.
    pub stride: usize,
    /// The padding on each side.
    pub padding: usize,
    /// The step between a window's elements; max pooling only.
    pub dilation: usize,
    /// Round the output length up rather than down.
    pub ceil_mode: bool,
    /// Average pooling divides by the window's part inside the padded input (true) or the input.
    pub count_include_pad: bool,
}

impl Pool1dOptions {
    /// Windows of `kernel`, stepped by `kernel`, without padding or dilation.
    pub fn new(kernel: usize) -> Self {
        Pool1dOptions {
            kernel,
            stride: kernel,
            padding: 0,
            dilation: 1,
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    /// With stride `s`.
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = s;
        self
    }

    /// With padding `p`.
    pub fn padding(mut self, p: usize) -> Self {
        self.padding = p;
        self
    }

    /// With dilation `d` (max pooling only).
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = d;
        self
    }

    /// With the output length rounded up (`true`) or down.
    pub fn ceil_mode(mut self, ceil: bool) -> Self {
        self.ceil_mode = ceil;
        self
    }

    /// Averages divide by the window's part in the padded input (`true`) or in the input.
    pub fn count_include_pad(mut self, include: bool) -> Self {
        self.count_include_pad = include;
        self
    }

    /// The same pooling on `[N, C, 1, L]`: windows of one row.
    pub fn to_2d(&self) -> Pool2dOptions {
        Pool2dOptions::new((1, self.kernel))
            .stride((1, self.stride))
            .padding((0, self.padding))
            .dilation((1, self.dilation))
            .ceil_mode(self.ceil_mode)
            .count_include_pad(self.count_include_pad)
    }
}

/// `[n, c, 1, l]` of a 3-D shape `[n, c, l]`, or a panic naming `op`.
#[track_caller]
fn as_rows(op: &'static str, s: &[usize]) -> [usize; 4] {
    match *s {
        [n, c, l] => [n, c, 1, l],
        _ => invalid(op, format!("input {s:?} must be 3-D [N, C, L]")),
    }
}

impl<F: Float> Tensor<F> {
    /// The maximum of each window of every channel of `self`, `[N, C, L]`, and the index of its
    /// arg-max along `L` (see [`Tensor::max_pool2d`], of which this is the one-row case).
    ///
    /// ```
    /// use wengert::tensor::{Pool1dOptions, Tensor};
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 5.0, 2.0, 0.0, 3.0], &[1, 1, 5]).unwrap();
    /// let (y, index) = x.max_pool1d(&Pool1dOptions::new(2).ceil_mode(true));
    /// assert_eq!(y.to_vec(), vec![5.0, 2.0, 3.0]);
    /// assert_eq!(index.iter().copied().collect::<Vec<_>>(), vec![1, 2, 4]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is not 3-D, or as [`Tensor::max_pool2d`].
    #[track_caller]
    pub fn max_pool1d(&self, opts: &Pool1dOptions) -> (Self, ArrayD<usize>) {
        let rows = self.reshape(&as_rows("max_pool1d", self.shape())).expect("same elements");
        let (y, index) = rows.max_pool2d(&opts.to_2d());
        let [n, c, _, lo] = y.shape().try_into().expect("4-D");
        let index = index.into_shape_with_order(vec![n, c, lo]).expect("same elements");
        (y.reshape(&[n, c, lo]).expect("same elements"), index)
    }

    /// The mean of each window of every channel of `self`, `[N, C, L]` (see [`Tensor::avg_pool2d`],
    /// of which this is the one-row case).
    ///
    /// ```
    /// use wengert::tensor::{Pool1dOptions, Tensor};
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 5.0, 2.0], &[1, 1, 3]).unwrap();
    /// assert_eq!(x.avg_pool1d(&Pool1dOptions::new(2).padding(1)).to_vec(), vec![0.5, 3.5]);
    /// let exclude = Pool1dOptions::new(2).padding(1).count_include_pad(false);
    /// assert_eq!(x.avg_pool1d(&exclude).to_vec(), vec![1.0, 3.5]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is not 3-D, or as [`Tensor::avg_pool2d`].
    #[track_caller]
    pub fn avg_pool1d(&self, opts: &Pool1dOptions) -> Self {
        let rows = self.reshape(&as_rows("avg_pool1d", self.shape())).expect("same elements");
        let y = rows.avg_pool2d(&opts.to_2d());
        let [n, c, _, lo] = y.shape().try_into().expect("4-D");
        y.reshape(&[n, c, lo]).expect("same elements")
    }
}
