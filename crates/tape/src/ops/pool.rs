//! Pooling on Vars and their rules (`g` the incoming gradient, `x` the input):
//!
//! max_pool2d: g scattered (`scatter_add` over each flattened `H·W` plane) to the recorded arg-max
//! positions, whose rule gathers · avg_pool2d and adaptive_avg_pool2d are linear: the rule of each is
//! its adjoint (g spread over the windows), and the adjoint's rule is the pool again.

use std::rc::Rc;

use wengert_tensor::ndarray::ArrayD;
use wengert_tensor::{Float, Pool1dOptions, Pool2dOptions, Tensor};

use crate::op::{Ctx, Op};
use crate::var::Var;

/// A pooling op, its settings and, for a max, the arg-max positions.
#[derive(Clone, Debug)]
pub(crate) enum PoolOp {
    /// Max pooling; `index` is `[N, C, Ho·Wo]`, positions in each flattened `H·W` plane.
    Max {
        index: Rc<ArrayD<usize>>,
    },
    /// Average pooling; its options boxed, as rare ops' payloads are, to keep nodes small.
    Avg(Box<Pool2dOptions>),
    /// The adjoint of `Avg`, onto the pooled input's size.
    AvgAdjoint(Box<Pool2dOptions>),
    Adaptive,
    /// The adjoint of `Adaptive`, onto the pooled input's size.
    AdaptiveAdjoint,
}

impl<'t, F: Float> Var<'t, F> {
    #[track_caller]
    fn pool(self, op: PoolOp, y: Tensor<F>) -> Self {
        self.tape.push(Op::Pool(op), &[self.id], y)
    }

    /// The maximum of each window of every channel of `self`, `[N, C, H, W]` (see
    /// [`Tensor::max_pool2d`]). The gradient flows to the first maximum of each window.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Pool2dOptions, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 4.0, 4.0, 2.0], &[1, 1, 2, 2]).unwrap());
    /// let y = x.max_pool2d(&Pool2dOptions::new((2, 2)));
    /// assert_eq!(y.value().to_vec(), vec![4.0]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![0.0, 1.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::max_pool2d`].
    #[track_caller]
    pub fn max_pool2d(self, opts: &Pool2dOptions) -> Self {
        let (y, index) = self.tape.node(self.id).value.max_pool2d(opts);
        let s = index.shape().to_vec();
        let index = index.into_shape_with_order(vec![s[0], s[1], s[2] * s[3]]).expect("same elements");
        self.pool(PoolOp::Max { index: Rc::new(index) }, y)
    }

    /// The mean of each window of every channel of `self`, `[N, C, H, W]` (see
    /// [`Tensor::avg_pool2d`]).
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Pool2dOptions, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[1, 1, 2, 4]));
    /// let y = x.avg_pool2d(&Pool2dOptions::new((2, 2)));
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![0.25; 8]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::avg_pool2d`].
    #[track_caller]
    pub fn avg_pool2d(self, opts: &Pool2dOptions) -> Self {
        let y = self.tape.node(self.id).value.avg_pool2d(opts);
        self.pool(PoolOp::Avg(Box::new(*opts)), y)
    }

    /// The mean over `output.0 x output.1` adaptive windows of every channel of `self`,
    /// `[N, C, H, W]` (see [`Tensor::adaptive_avg_pool2d`]); `(1, 1)` is global average pooling.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[2, 3, 4, 4]));
    /// let y = x.adaptive_avg_pool2d((1, 1));
    /// assert_eq!(y.shape(), vec![2, 3, 1, 1]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![1.0 / 16.0; 96]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::adaptive_avg_pool2d`].
    #[track_caller]
    pub fn adaptive_avg_pool2d(self, output: (usize, usize)) -> Self {
        let y = self.tape.node(self.id).value.adaptive_avg_pool2d(output);
        self.pool(PoolOp::Adaptive, y)
    }
}

impl<'t, F: Float> Var<'t, F> {
    /// `self` `[N, C, L]` as `[N, C, 1, L]`, or a panic naming `op`.
    #[track_caller]
    fn one_row(self, op: &str) -> Self {
        match self.shape()[..] {
            [n, c, l] => self.reshape(&[n, c, 1, l]),
            ref s => panic!("{op}: input {s:?} must be 3-D [N, C, L]"),
        }
    }

    /// The maximum of each window of every channel of `self`, `[N, C, L]` (see
    /// [`Tensor::max_pool1d`]): [`Var::max_pool2d`] on one row, so its rule is that one's.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Pool1dOptions, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 4.0, 2.0, 3.0, 0.0], &[1, 1, 5]).unwrap());
    /// let y = x.max_pool1d(&Pool1dOptions::new(3).stride(2).dilation(2));
    /// assert_eq!(y.value().to_vec(), vec![2.0]); // the taps 0, 2, 4
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![0.0, 0.0, 1.0, 0.0, 0.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::max_pool1d`].
    #[track_caller]
    pub fn max_pool1d(self, opts: &Pool1dOptions) -> Self {
        self.one_row("max_pool1d").max_pool2d(&opts.to_2d()).squeeze(2)
    }

    /// The mean of each window of every channel of `self`, `[N, C, L]` (see
    /// [`Tensor::avg_pool1d`]): [`Var::avg_pool2d`] on one row.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Pool1dOptions, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[1, 1, 3]));
    /// let y = x.avg_pool1d(&Pool1dOptions::new(2).ceil_mode(true));
    /// assert_eq!(y.value().to_vec(), vec![1.0, 1.0]); // the last window holds one element
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![0.5, 0.5, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::avg_pool1d`].
    #[track_caller]
    pub fn avg_pool1d(self, opts: &Pool1dOptions) -> Self {
        self.one_row("avg_pool1d").avg_pool2d(&opts.to_2d()).squeeze(2)
    }
}

impl<'t, F: Float> Var<'t, F> {
    /// The adjoint of [`Var::avg_pool2d`] onto an input of `input` rows and columns, recorded.
    #[track_caller]
    pub(crate) fn avg_pool2d_adjoint(self, input: (usize, usize), o: &Pool2dOptions) -> Self {
        let y = self.tape.node(self.id).value.avg_pool2d_adjoint(input, o);
        self.pool(PoolOp::AvgAdjoint(Box::new(*o)), y)
    }

    /// The adjoint of [`Var::adaptive_avg_pool2d`] onto an input of `input` rows and columns, recorded.
    #[track_caller]
    pub(crate) fn adaptive_avg_pool2d_adjoint(self, input: (usize, usize)) -> Self {
        let y = self.tape.node(self.id).value.adaptive_avg_pool2d_adjoint(input);
        self.pool(PoolOp::AdaptiveAdjoint, y)
    }
}

impl PoolOp {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            PoolOp::Max { .. } => "max_pool2d",
            PoolOp::Avg(_) => "avg_pool2d",
            PoolOp::AvgAdjoint(_) => "avg_pool2d_adjoint",
            PoolOp::Adaptive => "adaptive_avg_pool2d",
            PoolOp::AdaptiveAdjoint => "adaptive_avg_pool2d_adjoint",
        }
    }

    /// The input's gradient, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(&self, ctx: &Ctx<'t, F>, g: V) -> V {
        let xs = ctx.shape(0);
        match self {
            PoolOp::Max { index } => {
                let [n, c, h, w] = xs[..] else { unreachable!("max_pool2d takes 4-D inputs") };
                let zeros = g.constant(Tensor::zeros(&[n, c, h * w]));
                zeros.scatter_add(2, index, g.reshape(index.shape())).reshape(&xs)
            }
            PoolOp::Avg(o) => g.avg_pool2d_adjoint((xs[2], xs[3]), o),
            PoolOp::AvgAdjoint(o) => g.avg_pool2d(o),
            PoolOp::Adaptive => g.adaptive_avg_pool2d_adjoint((xs[2], xs[3])),
            // The adjoint's input is the pool's output: pool the gradient back to its size.
            PoolOp::AdaptiveAdjoint => g.adaptive_avg_pool2d((xs[2], xs[3])),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
