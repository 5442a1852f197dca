//! Convolutions on Vars and their rules, closed under differentiation (`g` the incoming gradient):
//!
//! conv2d(x, w): x̄ = conv_transpose2d(g, w) (output padding restoring x's size), w̄ =
//! conv2d_weight_adjoint(x, g) · conv_transpose2d(x, w): x̄ = conv2d(g, w), w̄ = conv2d_weight_adjoint(g, x) ·
//! conv2d_weight_adjoint(x, gy) = W̄, bilinear with ⟨W̄, G⟩ = ⟨conv2d(x, G), gy⟩: x̄ = conv_transpose2d(gy, G),
//! ḡy = conv2d(x, G). conv1d is conv2d on `[N, C, 1, L]`, conv_transpose1d conv_transpose2d on
//! `[N, C, 1, L]`. conv3d (in `three_d`) is one conv2d of its depth taps gathered into channels.

mod three_d;

use std::rc::Rc;

#[cfg(doc)]
use wengert_tensor::Tensor;
use wengert_tensor::{Conv1dOptions, Conv2dOptions, ConvTranspose1dOptions, ConvTranspose2dOptions, Float};

use smallvec::SmallVec;

use crate::op::{Ctx, Grads, Op};
use crate::var::Var;

/// A convolution and its settings.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ConvOp {
    Conv2d(Conv2dOptions),
    ConvTranspose2d(ConvTranspose2dOptions),
    /// The weight gradient of a conv2d with this kernel, of its input and its output's gradient.
    WeightGrad(Conv2dOptions, (usize, usize)),
}

impl<'t, F: Float> Var<'t, F> {
    /// The 2-D convolution of `self`, `[N, C, H, W]`, by `weight`, `[O, C / groups, kh, kw]`, to
    /// `[N, O, Ho, Wo]` (see [`Tensor::conv2d`]). Both are
    /// differentiated, to any order.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Conv2dOptions, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[1, 1, 3, 3]));
    /// let w = tape.var(Tensor::ones(&[1, 1, 2, 2]));
    /// let y = x.conv2d(w, &Conv2dOptions::default()).sum();
    /// let grads = y.backward();
    /// assert_eq!(grads[x].to_vec(), vec![1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
    /// assert_eq!(grads[w].to_vec(), vec![4.0; 4]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::conv2d`], or when the Vars are on different tapes.
    #[track_caller]
    pub fn conv2d(self, weight: Self, opts: &Conv2dOptions) -> Self {
        self.tape.check_same("conv2d", &[weight]);
        let y = {
            let nodes = self.tape.nodes.borrow();
            nodes[self.id].value.conv2d(&nodes[weight.id].value, opts)
        };
        self.tape.push(Op::Conv(Rc::new(ConvOp::Conv2d(*opts))), &[self.id, weight.id], y)
    }

    /// The 1-D convolution of `self`, `[N, C, L]`, by `weight`, `[O, C / groups, k]`, to `[N, O, Lo]`:
    /// [`Var::conv2d`] on `[N, C, 1, L]`.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{Conv1dOptions, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[1, 1, 4]));
    /// let w = tape.var(Tensor::ones(&[1, 1, 3]));
    /// let y = x.conv1d(w, &Conv1dOptions::default());
    /// assert_eq!(y.value().to_vec(), vec![3.0, 3.0]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![1.0, 2.0, 2.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When either is not 3-D, and as [`Var::conv2d`].
    #[track_caller]
    pub fn conv1d(self, weight: Self, opts: &Conv1dOptions) -> Self {
        let (xs, ws) = (self.shape(), weight.shape());
        let (&[n, c, l], &[o, cg, k]) = (&xs[..], &ws[..]) else {
            panic!("conv1d: input {xs:?}, weight {ws:?}: both must be 3-D");
        };
        self.tape.check_same("conv1d", &[weight]);
        // The 1-D kernel checks the shapes in conv1d's own terms; the node is conv2d's on `[N, C, 1, L]`.
        let y = {
            let nodes = self.tape.nodes.borrow();
            nodes[self.id].value.conv1d(&nodes[weight.id].value, opts)
        };
        let lo = y.shape()[2];
        let y = y.reshape(&[n, o, 1, lo]).expect("the same elements");
        let (x, w) = (self.reshape(&[n, c, 1, l]), weight.reshape(&[o, cg, 1, k]));
        self.tape.push(Op::Conv(Rc::new(ConvOp::Conv2d(opts.to_2d()))), &[x.id, w.id], y).reshape(&[n, o, lo])
    }

    /// The transposed 2-D convolution of `self`, `[N, C, H, W]`, by `weight`, `[C, O / groups, kh, kw]`
    /// (see [`Tensor::conv_transpose2d`]). Both are
    /// differentiated, to any order.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{ConvTranspose2dOptions, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[1, 1, 2, 2]));
    /// let w = tape.var(Tensor::ones(&[1, 2, 2, 2]));
    /// let y = x.conv_transpose2d(w, &ConvTranspose2dOptions::default());
    /// assert_eq!(y.shape(), vec![1, 2, 3, 3]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![8.0; 4]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::conv_transpose2d`], or when the Vars are
    /// on different tapes.
    #[track_caller]
    pub fn conv_transpose2d(self, weight: Self, opts: &ConvTranspose2dOptions) -> Self {
        self.tape.check_same("conv_transpose2d", &[weight]);
        let y = {
            let nodes = self.tape.nodes.borrow();
            nodes[self.id].value.conv_transpose2d(&nodes[weight.id].value, opts)
        };
        self.tape.push(Op::Conv(Rc::new(ConvOp::ConvTranspose2d(*opts))), &[self.id, weight.id], y)
    }

    /// The transposed 1-D convolution of `self`, `[N, C, L]`, by `weight`, `[C, O / groups, k]`, to
    /// `[N, O, Lo]` (see [`Tensor::conv_transpose1d`]):
    /// [`Var::conv_transpose2d`] on `[N, C, 1, L]`. Both are differentiated, to any order.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::{ConvTranspose1dOptions, Tensor};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Tensor::ones(&[1, 1, 2]));
    /// let w = tape.var(Tensor::from_vec(vec![1.0, 10.0], &[1, 1, 2]).unwrap());
    /// let y = x.conv_transpose1d(w, &ConvTranspose1dOptions::default());
    /// assert_eq!(y.value().to_vec(), vec![1.0, 11.0, 10.0]);
    /// assert_eq!(y.sum().backward()[x].to_vec(), vec![11.0, 11.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When either is not 3-D, and as [`Var::conv_transpose2d`], in the terms of the 3-D shapes.
    #[track_caller]
    pub fn conv_transpose1d(self, weight: Self, opts: &ConvTranspose1dOptions) -> Self {
        let (xs, ws) = (self.shape(), weight.shape());
        let (&[n, c, l], &[wc, og, k]) = (&xs[..], &ws[..]) else {
            panic!("conv_transpose1d: input {xs:?}, weight {ws:?}: both must be 3-D");
        };
        self.tape.check_same("conv_transpose1d", &[weight]);
        // The 1-D kernel checks the shapes in its own terms; the node is conv_transpose2d's on one row.
        let y = {
            let nodes = self.tape.nodes.borrow();
            nodes[self.id].value.conv_transpose1d(&nodes[weight.id].value, opts)
        };
        let (o, lo) = (y.shape()[1], y.shape()[2]);
        let y = y.reshape(&[n, o, 1, lo]).expect("the same elements");
        let (x, w) = (self.reshape(&[n, c, 1, l]), weight.reshape(&[wc, og, 1, k]));
        let op = Op::Conv(Rc::new(ConvOp::ConvTranspose2d(opts.to_2d())));
        self.tape.push(op, &[x.id, w.id], y).reshape(&[n, o, lo])
    }

    /// The gradient of `self.conv2d(w, opts)` with respect to a weight with kernel `kernel`, for the
    /// output gradient `grad` (see
    /// [`Tensor::conv2d_weight_adjoint`]): the rule of
    /// [`Var::conv2d`], itself differentiable in both arguments.
    ///
    /// # Panics
    ///
    /// As [`Tensor::conv2d_weight_adjoint`], or when the Vars
    /// are on different tapes.
    #[track_caller]
    pub fn conv2d_weight_adjoint(self, grad: Self, kernel: (usize, usize), opts: &Conv2dOptions) -> Self {
        self.tape.check_same("conv2d_weight_adjoint", &[grad]);
        let y = {
            let nodes = self.tape.nodes.borrow();
            nodes[self.id].value.conv2d_weight_adjoint(&nodes[grad.id].value, kernel, opts)
        };
        self.tape.push(Op::Conv(Rc::new(ConvOp::WeightGrad(*opts, kernel))), &[self.id, grad.id], y)
    }
}

/// The options of the transposed convolution that maps a conv2d's output gradient back onto an input
/// of `rows x cols`: the rows and columns the strided convolution skipped become output padding.
fn back_to(
    opts: &Conv2dOptions,
    input: (usize, usize),
    output: (usize, usize),
    kernel: (usize, usize),
) -> ConvTranspose2dOptions {
    let rest = |len: usize, out: usize, k: usize, s: usize, p: usize, d: usize| {
        len + 2 * p - d * (k - 1) - 1 - (out - 1) * s
    };
    let op = (
        rest(input.0, output.0, kernel.0, opts.stride.0, opts.padding.0, opts.dilation.0),
        rest(input.1, output.1, kernel.1, opts.stride.1, opts.padding.1, opts.dilation.1),
    );
    ConvTranspose2dOptions::from(*opts).output_padding(op)
}

/// Rows and columns of a 4-D shape.
fn hw(shape: &[usize]) -> (usize, usize) {
    (shape[2], shape[3])
}

impl ConvOp {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ConvOp::Conv2d(_) => "conv2d",
            ConvOp::ConvTranspose2d(_) => "conv_transpose2d",
            ConvOp::WeightGrad(..) => "conv2d_weight_adjoint",
        }
    }

    /// The gradients of the two operands, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(
        &self,
        ctx: &Ctx<'t, F>,
        g: V,
    ) -> Grads<V> {
        let (a, b): (V, V) = (ctx.x(0), ctx.x(1));
        let (sa, sb) = (ctx.shape(0), ctx.shape(1));
        let needs = (ctx.needs[0], ctx.needs[1]);
        let (ga, gb) = match self {
            ConvOp::Conv2d(o) => {
                let back = back_to(o, hw(&sa), hw(&g.dims()), hw(&sb));
                V::conv2d_adjoints(a, b, g, o, &back, needs)
            }
            ConvOp::ConvTranspose2d(o) => {
                let (x, w) = (a, b);
                (
                    ctx.when(0, || g.clone().conv2d(w, &o.conv())),
                    ctx.when(1, || g.conv2d_weight_adjoint(x, hw(&sb), &o.conv())),
                )
            }
            ConvOp::WeightGrad(o, k) => {
                let (x, gy) = (a, b);
                let back = back_to(o, hw(&sa), hw(&sb), *k);
                (ctx.when(0, || gy.conv_transpose2d(g.clone(), &back)), ctx.when(1, || x.conv2d(g, o)))
            }
        };
        SmallVec::from_buf([ga, gb])
    }
}

#[cfg(test)]
pub(crate) mod tests;
