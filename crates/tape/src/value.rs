//! The values backward rules compute with. Every rule is written once, generic over [`Value`]: run on
//! [`Tensor`]s it is the eager first-order sweep of `backward` and `grad` (nothing recorded, a gradient
//! written in place where its buffer is unshared); run on [`Var`]s it records its ops, so that
//! `grad_graph` can differentiate it again, to any order.
//!
//! The vocabulary is the forward's: operators, elementwise and shape ops, reductions, matmul,
//! convolutions and pools with their adjoints, plus the fused kernels that keep a rule fast (activation
//! derivatives, masks, conv2d's two adjoints in one pass), each with a fast Tensor implementation and a
//! recorded Var one that computes the same numbers.

use std::ops::{Add, Div, Mul, Neg, Sub};
use std::rc::Rc;

use wengert_tensor::ndarray::{ArrayD, SliceInfoElem};
use wengert_tensor::{Conv2dOptions, ConvTranspose2dOptions, Float, Pool2dOptions, Tensor};

use crate::custom::CustomOp;
use crate::op::{Ctx, Grads};
use crate::ops::index::index_add;
use crate::ops::shape::{add_slice_adjoint, slice_adjoint};
use crate::ops::unary::{Unary, UnaryGrad};
use crate::tape::Tape;
use crate::var::Var;

/// A value a backward rule computes with: [`Tensor`] (eager, first order) or [`Var`] (recorded).
pub(crate) trait Value<'t, F: Float>:
    Clone
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<F, Output = Self>
    + Mul<F, Output = Self>
{
    /// True for Vars: a sweep over them records every rule.
    const RECORDED: bool;

    /// The value of node `id`.
    fn node(tape: &'t Tape<F>, id: usize) -> Self;
    /// `f` of the value of node `id`, lent where it lies: a tensor is not copied out of the tape.
    fn with_node<R>(tape: &'t Tape<F>, id: usize, f: impl FnOnce(&Self) -> R) -> R;
    /// A constant beside `self` (a mask, a derivative that is constant almost everywhere).
    fn constant(&self, value: Tensor<F>) -> Self;
    /// The value as a tensor.
    fn tensor(&self) -> Tensor<F>;
    /// The shape.
    fn dims(&self) -> Vec<usize>;
    /// `self` summed down to the shape of node `id` (undoing a broadcast).
    fn sum_to_node(self, tape: &'t Tape<F>, id: usize) -> Self;

    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn square(self) -> Self;
    fn sigmoid(self) -> Self;
    fn powf(self, p: F) -> Self;
    fn pow(self, b: Self) -> Self;
    /// `s - self`.
    fn rsub_scalar(self, s: F) -> Self;
    /// `self · f(x)` for an `f` constant almost everywhere (a step, a sign), so that its derivative is 0.
    fn mul_mask(self, x: &Self, op: &'static str, f: impl Fn(F) -> F + Sync + Send) -> Self;
    /// `self` with zeros where `mask` (broadcasting) is non-zero: a derivative's value where its formula
    /// gives 0 · ∞ but the mathematics (or PyTorch's convention) gives 0.
    fn zero_where(self, mask: &Tensor<F>) -> Self;
    /// The fused derivative kernel of an activation, with `self` the output's gradient and `v` the
    /// activation's output (tanh, sigmoid) or input (relu, gelu).
    fn unary_grad(self, op: UnaryGrad, v: &Self) -> Self;
    /// `op` applied to `self`: on a Var, recorded with `op`'s own rule.
    fn unary_op(self, op: Unary<F>) -> Self;

    fn sum_axes(self, axes: &[usize], keepdim: bool) -> Self;
    fn reshape(self, shape: &[usize]) -> Self;
    fn broadcast_to(self, shape: &[usize]) -> Self;
    fn sum_to_shape(self, shape: &[usize]) -> Self;
    fn permute(self, axes: &[usize]) -> Self;
    fn t(self) -> Self;
    fn narrow(self, axis: usize, start: usize, len: usize) -> Self;
    fn slice(self, info: &Rc<[SliceInfoElem]>) -> Self;
    /// Zeros of `shape` with `self` placed at the slice `info`: the adjoint of slicing.
    fn slice_adjoint(self, info: &Rc<[SliceInfoElem]>, shape: &[usize]) -> Self;
    /// `acc` (zeros when `None`) plus [`Value::slice_adjoint`]: a slice's gradient added into its
    /// input's accumulated one. Tensors add into `acc`'s region in place when its buffer is unshared.
    fn add_slice_adjoint(self, acc: Option<Self>, info: &Rc<[SliceInfoElem]>, shape: &[usize]) -> Self {
        let g = self.slice_adjoint(info, shape);
        match acc {
            None => g,
            Some(prev) => prev + g,
        }
    }
    fn pad(self, pads: &[(usize, usize)], value: F) -> Self;
    fn matmul(self, other: Self) -> Self;
    fn softmax(self, axis: usize) -> Self;
    /// The fused softmax backward `y (g - Σ g y)` along `axis`, for `self` the output's gradient `g`.
    fn softmax_grad(self, y: &Self, axis: usize) -> Self;
    /// The fused log-softmax backward `g - softmax(x) Σ g` along `axis`, for `self` the gradient `g`.
    fn log_softmax_grad(self, x: &Self, axis: usize) -> Self;

    fn index_select(self, axis: usize, indices: &Rc<[usize]>) -> Self;
    /// Zeros with `dim` entries along `axis`, `self`'s entries added at `indices`: the adjoint of
    /// `index_select`.
    fn index_add(self, axis: usize, indices: &Rc<[usize]>, dim: usize) -> Self;
    fn gather(self, axis: usize, index: &Rc<ArrayD<usize>>) -> Self;
    fn scatter_add(self, axis: usize, index: &Rc<ArrayD<usize>>, src: Self) -> Self;
    fn prod_axes(self, axes: &[usize], keepdim: bool) -> Self;
    /// Running sums along `axis`, from its end when `reverse`.
    fn cumsum(self, axis: usize, reverse: bool) -> Self;

    fn conv2d(self, w: Self, o: &Conv2dOptions) -> Self;
    fn conv_transpose2d(self, w: Self, o: &ConvTranspose2dOptions) -> Self;
    fn conv2d_weight_adjoint(self, out: Self, kernel: (usize, usize), o: &Conv2dOptions) -> Self;
    /// Both adjoints of `x.conv2d(w, o)` applied to `g`, those of `needs` only: `g`'s transposed
    /// convolution by `w` (with `back`, which restores `x`'s size) and the weight adjoint. Tensors
    /// compute both in one pass over the samples.
    fn conv2d_adjoints(
        x: Self,
        w: Self,
        g: Self,
        o: &Conv2dOptions,
        back: &ConvTranspose2dOptions,
        needs: (bool, bool),
    ) -> (Option<Self>, Option<Self>) {
        let kernel = (w.dims()[2], w.dims()[3]);
        let gx = needs.0.then(|| g.clone().conv_transpose2d(w, back));
        (gx, needs.1.then(|| x.conv2d_weight_adjoint(g, kernel, o)))
    }
    fn avg_pool2d(self, o: &Pool2dOptions) -> Self;
    fn avg_pool2d_adjoint(self, input: (usize, usize), o: &Pool2dOptions) -> Self;
    fn adaptive_avg_pool2d(self, output: (usize, usize)) -> Self;
    fn adaptive_avg_pool2d_adjoint(self, input: (usize, usize)) -> Self;

    /// The gradients of a custom op, whose rule is written with Vars.
    fn custom(op: &dyn CustomOp<F>, ctx: &Ctx<'t, F>, g: Self) -> Grads<Self>;
}

/// The shape a kept-buffer reshape of a rule's value needs; panics are bugs of the rule, not the user's.
#[track_caller]
fn reshaped<F: Float>(t: &Tensor<F>, shape: &[usize]) -> Tensor<F> {
    t.reshape(shape).unwrap_or_else(|e| panic!("{e}"))
}

impl<'t, F: Float> Value<'t, F> for Tensor<F> {
    const RECORDED: bool = false;

    fn node(tape: &'t Tape<F>, id: usize) -> Self {
        tape.value(id)
    }
    fn with_node<R>(tape: &'t Tape<F>, id: usize, f: impl FnOnce(&Self) -> R) -> R {
        // Rules on tensors only read the tape, so the shared borrow cannot meet a push.
        f(&tape.node(id).value)
    }
    fn constant(&self, value: Tensor<F>) -> Self {
        value
    }
    fn tensor(&self) -> Tensor<F> {
        self.clone()
    }
    fn dims(&self) -> Vec<usize> {
        self.shape().to_vec()
    }
    fn sum_to_node(self, tape: &'t Tape<F>, id: usize) -> Self {
        let node = tape.node(id);
        if self.has_shape(node.value.shape()) {
            self
        } else {
            Tensor::sum_to_shape(&self, node.value.shape())
        }
    }

    fn exp(self) -> Self {
        Tensor::exp(&self)
    }
    fn ln(self) -> Self {
        Tensor::ln(&self)
    }
    fn sin(self) -> Self {
        Tensor::sin(&self)
    }
    fn cos(self) -> Self {
        Tensor::cos(&self)
    }
    fn square(self) -> Self {
        Tensor::square(&self)
    }
    fn sigmoid(self) -> Self {
        Tensor::sigmoid(&self)
    }
    fn powf(self, p: F) -> Self {
        Tensor::powf(&self, p)
    }
    fn pow(self, b: Self) -> Self {
        Tensor::pow(&self, &b)
    }
    fn rsub_scalar(self, s: F) -> Self {
        self.map_into(|x| s - x)
    }
    fn mul_mask(self, x: &Self, op: &'static str, f: impl Fn(F) -> F + Sync + Send) -> Self {
        self.zip_into(x, op, |g, x| g * f(x))
    }
    fn zero_where(self, mask: &Tensor<F>) -> Self {
        self.zip_into(mask, "zero_where", |v, m| if m != F::zero() { F::zero() } else { v })
    }
    fn unary_grad(self, op: UnaryGrad, v: &Self) -> Self {
        op.kernel(self, v)
    }
    fn unary_op(self, op: Unary<F>) -> Self {
        op.apply(&self)
    }

    fn sum_axes(self, axes: &[usize], keepdim: bool) -> Self {
        Tensor::sum_axes(&self, axes, keepdim)
    }
    fn reshape(self, shape: &[usize]) -> Self {
        reshaped(&self, shape)
    }
    fn broadcast_to(self, shape: &[usize]) -> Self {
        Tensor::broadcast_to(&self, shape)
    }
    fn sum_to_shape(self, shape: &[usize]) -> Self {
        Tensor::sum_to_shape(&self, shape)
    }
    fn permute(self, axes: &[usize]) -> Self {
        Tensor::permute(&self, axes)
    }
    fn t(self) -> Self {
        Tensor::t(&self)
    }
    fn narrow(self, axis: usize, start: usize, len: usize) -> Self {
        Tensor::narrow(&self, axis, start, len)
    }
    fn slice(self, info: &Rc<[SliceInfoElem]>) -> Self {
        Tensor::slice(&self, &info[..])
    }
    fn slice_adjoint(self, info: &Rc<[SliceInfoElem]>, shape: &[usize]) -> Self {
        slice_adjoint(&self, info, shape)
    }
    fn add_slice_adjoint(self, acc: Option<Self>, info: &Rc<[SliceInfoElem]>, shape: &[usize]) -> Self {
        add_slice_adjoint(&self, acc, info, shape)
    }
    fn pad(self, pads: &[(usize, usize)], value: F) -> Self {
        Tensor::pad(&self, pads, value)
    }
    fn matmul(self, other: Self) -> Self {
        Tensor::matmul(&self, &other)
    }
    fn softmax(self, axis: usize) -> Self {
        Tensor::softmax(&self, axis)
    }
    fn softmax_grad(self, y: &Self, axis: usize) -> Self {
        y.softmax_backward(&self, axis)
    }
    fn log_softmax_grad(self, x: &Self, axis: usize) -> Self {
        x.log_softmax_backward(&self, axis)
    }

    fn index_select(self, axis: usize, indices: &Rc<[usize]>) -> Self {
        Tensor::index_select(&self, axis, indices)
    }
    fn index_add(self, axis: usize, indices: &Rc<[usize]>, dim: usize) -> Self {
        index_add(&self, axis, indices, dim)
    }
    fn gather(self, axis: usize, index: &Rc<ArrayD<usize>>) -> Self {
        Tensor::gather(&self, axis, index)
    }
    fn scatter_add(self, axis: usize, index: &Rc<ArrayD<usize>>, src: Self) -> Self {
        Tensor::scatter_add(&self, axis, index, &src)
    }
    fn prod_axes(self, axes: &[usize], keepdim: bool) -> Self {
        Tensor::prod_axes(&self, axes, keepdim)
    }
    fn cumsum(self, axis: usize, reverse: bool) -> Self {
        crate::ops::cumulative::running_sum(&self, axis, reverse)
    }

    fn conv2d(self, w: Self, o: &Conv2dOptions) -> Self {
        Tensor::conv2d(&self, &w, o)
    }
    fn conv_transpose2d(self, w: Self, o: &ConvTranspose2dOptions) -> Self {
        Tensor::conv_transpose2d(&self, &w, o)
    }
    fn conv2d_weight_adjoint(self, out: Self, kernel: (usize, usize), o: &Conv2dOptions) -> Self {
        Tensor::conv2d_weight_adjoint(&self, &out, kernel, o)
    }
    fn conv2d_adjoints(
        x: Self,
        w: Self,
        g: Self,
        o: &Conv2dOptions,
        back: &ConvTranspose2dOptions,
        needs: (bool, bool),
    ) -> (Option<Self>, Option<Self>) {
        if needs == (true, true) {
            let (gx, gw) = Tensor::conv2d_adjoints(&x, &w, &g, o);
            return (Some(gx), Some(gw));
        }
        let kernel = (w.shape()[2], w.shape()[3]);
        (
            needs.0.then(|| Tensor::conv_transpose2d(&g, &w, back)),
            needs.1.then(|| Tensor::conv2d_weight_adjoint(&x, &g, kernel, o)),
        )
    }
    fn avg_pool2d(self, o: &Pool2dOptions) -> Self {
        Tensor::avg_pool2d(&self, o)
    }
    fn avg_pool2d_adjoint(self, input: (usize, usize), o: &Pool2dOptions) -> Self {
        Tensor::avg_pool2d_adjoint(&self, input, o)
    }
    fn adaptive_avg_pool2d(self, output: (usize, usize)) -> Self {
        Tensor::adaptive_avg_pool2d(&self, output)
    }
    fn adaptive_avg_pool2d_adjoint(self, input: (usize, usize)) -> Self {
        Tensor::adaptive_avg_pool2d_adjoint(&self, input)
    }

    /// Runs the Var rule on constants and cuts its temporaries from the tape again.
    fn custom(op: &dyn CustomOp<F>, ctx: &Ctx<'t, F>, g: Self) -> Grads<Self> {
        let base = ctx.tape.len();
        let g = ctx.tape.constant(g);
        let grads = crate::custom::backward(op, ctx, g).into_iter().map(|g| g.map(Var::value)).collect();
        ctx.tape.truncate(base);
        grads
    }
}

impl<'t, F: Float> Value<'t, F> for Var<'t, F> {
    const RECORDED: bool = true;

    fn node(tape: &'t Tape<F>, id: usize) -> Self {
        Var::new(tape, id)
    }
    fn with_node<R>(tape: &'t Tape<F>, id: usize, f: impl FnOnce(&Self) -> R) -> R {
        f(&Var::new(tape, id))
    }
    fn constant(&self, value: Tensor<F>) -> Self {
        Var::constant(*self, value)
    }
    fn tensor(&self) -> Tensor<F> {
        self.value()
    }
    fn dims(&self) -> Vec<usize> {
        Var::shape(*self)
    }
    fn sum_to_node(self, tape: &'t Tape<F>, id: usize) -> Self {
        let shape = {
            let nodes = tape.nodes.borrow();
            let shape = nodes[id].value.shape();
            if nodes[self.id].value.has_shape(shape) {
                return self;
            }
            shape.to_vec()
        };
        Var::sum_to_shape(self, &shape)
    }

    fn exp(self) -> Self {
        Var::exp(self)
    }
    fn ln(self) -> Self {
        Var::ln(self)
    }
    fn sin(self) -> Self {
        Var::sin(self)
    }
    fn cos(self) -> Self {
        Var::cos(self)
    }
    fn square(self) -> Self {
        Var::square(self)
    }
    fn sigmoid(self) -> Self {
        Var::sigmoid(self)
    }
    fn powf(self, p: F) -> Self {
        Var::powf(self, p)
    }
    fn pow(self, b: Self) -> Self {
        Var::pow(self, b)
    }
    fn rsub_scalar(self, s: F) -> Self {
        Var::rsub_scalar(self, s)
    }
    fn mul_mask(self, x: &Self, _op: &'static str, f: impl Fn(F) -> F + Sync + Send) -> Self {
        self * x.constant(x.value().map(f))
    }
    fn zero_where(self, mask: &Tensor<F>) -> Self {
        Var::where_cond(mask, self.constant(Tensor::scalar(F::zero())), self)
    }
    fn unary_grad(self, op: UnaryGrad, v: &Self) -> Self {
        Var::unary_grad(op, self, *v)
    }
    fn unary_op(self, op: Unary<F>) -> Self {
        self.unary(op)
    }

    fn sum_axes(self, axes: &[usize], keepdim: bool) -> Self {
        Var::sum_axes(self, axes, keepdim)
    }
    fn reshape(self, shape: &[usize]) -> Self {
        Var::reshape(self, shape)
    }
    fn broadcast_to(self, shape: &[usize]) -> Self {
        Var::broadcast_to(self, shape)
    }
    fn sum_to_shape(self, shape: &[usize]) -> Self {
        Var::sum_to_shape(self, shape)
    }
    fn permute(self, axes: &[usize]) -> Self {
        Var::permute(self, axes)
    }
    fn t(self) -> Self {
        Var::t(self)
    }
    fn narrow(self, axis: usize, start: usize, len: usize) -> Self {
        Var::narrow(self, axis, start, len)
    }
    fn slice(self, info: &Rc<[SliceInfoElem]>) -> Self {
        self.slice_rc(info.clone())
    }
    fn slice_adjoint(self, info: &Rc<[SliceInfoElem]>, shape: &[usize]) -> Self {
        self.slice_backward(info.clone(), shape)
    }
    fn pad(self, pads: &[(usize, usize)], value: F) -> Self {
        Var::pad(self, pads, value)
    }
    fn matmul(self, other: Self) -> Self {
        Var::matmul(self, other)
    }
    fn softmax(self, axis: usize) -> Self {
        Var::softmax(self, axis)
    }
    fn softmax_grad(self, y: &Self, axis: usize) -> Self {
        Var::softmax_grad(self, *y, axis)
    }
    fn log_softmax_grad(self, x: &Self, axis: usize) -> Self {
        Var::log_softmax_grad(self, *x, axis)
    }

    fn index_select(self, axis: usize, indices: &Rc<[usize]>) -> Self {
        self.index_select_rc(axis, indices.clone())
    }
    fn index_add(self, axis: usize, indices: &Rc<[usize]>, dim: usize) -> Self {
        Var::index_add(self, axis, indices.clone(), dim)
    }
    fn gather(self, axis: usize, index: &Rc<ArrayD<usize>>) -> Self {
        self.gather_rc(axis, index.clone())
    }
    fn scatter_add(self, axis: usize, index: &Rc<ArrayD<usize>>, src: Self) -> Self {
        self.scatter_add_rc(axis, index.clone(), src)
    }
    fn prod_axes(self, axes: &[usize], keepdim: bool) -> Self {
        Var::prod_axes(self, axes, keepdim)
    }
    fn cumsum(self, axis: usize, reverse: bool) -> Self {
        self.running_sum(axis, reverse)
    }

    fn conv2d(self, w: Self, o: &Conv2dOptions) -> Self {
        Var::conv2d(self, w, o)
    }
    fn conv_transpose2d(self, w: Self, o: &ConvTranspose2dOptions) -> Self {
        Var::conv_transpose2d(self, w, o)
    }
    fn conv2d_weight_adjoint(self, out: Self, kernel: (usize, usize), o: &Conv2dOptions) -> Self {
        Var::conv2d_weight_adjoint(self, out, kernel, o)
    }
    fn avg_pool2d(self, o: &Pool2dOptions) -> Self {
        Var::avg_pool2d(self, o)
    }
    fn avg_pool2d_adjoint(self, input: (usize, usize), o: &Pool2dOptions) -> Self {
        Var::avg_pool2d_adjoint(self, input, o)
    }
    fn adaptive_avg_pool2d(self, output: (usize, usize)) -> Self {
        Var::adaptive_avg_pool2d(self, output)
    }
    fn adaptive_avg_pool2d_adjoint(self, input: (usize, usize)) -> Self {
        Var::adaptive_avg_pool2d_adjoint(self, input)
    }

    fn custom(op: &dyn CustomOp<F>, ctx: &Ctx<'t, F>, g: Self) -> Grads<Self> {
        crate::custom::backward(op, ctx, g)
    }
}
