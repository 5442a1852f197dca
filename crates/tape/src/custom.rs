//! Custom differentiable functions: a forward over tensors and a backward that receives the inputs,
//! the output and the output's gradient.
//!
//! A backward written with Var ops is recorded like any rule and supports every order of derivative.
//! One written with tensors (through [`CustomCtx::from_tensors`]) is first-order only: `grad_graph`
//! through it panics with a message naming the op, never a silently wrong answer.

use std::rc::Rc;

use wengert_tensor::{Float, Tensor};

use crate::op::{Ctx, Grads, Op};
use crate::tape::Tape;
use crate::var::Var;

/// A user-defined differentiable function.
///
/// ```
/// use wengert::tape::{CustomCtx, CustomOp, Tape, Var};
/// use wengert::tensor::Tensor;
///
/// /// `x³` with a hand-written rule `3x² g`.
/// struct Cube;
/// impl CustomOp<f64> for Cube {
///     fn name(&self) -> String { "cube".into() }
///     fn forward(&self, inputs: &[Tensor<f64>]) -> Tensor<f64> { inputs[0].powf(3.0) }
///     fn backward<'t>(&self, ctx: &CustomCtx<'_, 't, f64>) -> Vec<Option<Var<'t, f64>>> {
///         let x = ctx.inputs()[0];
///         vec![Some(ctx.grad() * x * x * 3.0)]
///     }
/// }
///
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Tensor::scalar(2.0));
/// let y = tape.custom(Cube, &[x]);
/// let dy = tape.grad_graph(y, &[x])[0];            // 3x² = 12
/// assert_eq!(tape.grad(dy, &[x])[0].item(), 12.0); // 6x = 12, through the Var-written rule
/// ```
pub trait CustomOp<F: Float> {
    /// A name for summaries and error messages.
    fn name(&self) -> String;

    /// The output, from the input values.
    fn forward(&self, inputs: &[Tensor<F>]) -> Tensor<F>;

    /// The gradient of each input (`None` where none flows), given the context: the inputs, the output
    /// and the output's gradient as Vars. Return one entry per input, each of its input's shape.
    fn backward<'t>(&self, ctx: &CustomCtx<'_, 't, F>) -> Vec<Option<Var<'t, F>>>;
}

/// What a custom op's backward sees.
pub struct CustomCtx<'c, 't, F: Float> {
    ctx: &'c Ctx<'t, F>,
    inputs: Vec<Var<'t, F>>,
    g: Var<'t, F>,
    name: String,
}

impl<'t, F: Float> CustomCtx<'_, 't, F> {
    /// The inputs, as Vars.
    pub fn inputs(&self) -> &[Var<'t, F>] {
        &self.inputs
    }

    /// The output, as a Var.
    pub fn output(&self) -> Var<'t, F> {
        self.ctx.y()
    }

    /// The gradient of the output.
    pub fn grad(&self) -> Var<'t, F> {
        self.g
    }

    /// True when input `k` needs a gradient (skip work for those that do not).
    pub fn needs_grad(&self, k: usize) -> bool {
        self.ctx.needs[k]
    }

    /// Computes the gradients with tensors: `f(inputs, output, grad)`. First-order only.
    ///
    /// # Panics
    ///
    /// When called while `grad_graph` builds a differentiable gradient: a tensor backward has no
    /// derivative of its own, so the answer would be wrong.
    #[track_caller]
    pub fn from_tensors(
        &self,
        f: impl FnOnce(&[Tensor<F>], &Tensor<F>, &Tensor<F>) -> Vec<Option<Tensor<F>>>,
    ) -> Vec<Option<Var<'t, F>>> {
        let tape = self.ctx.tape;
        if tape.building_graph.get() {
            panic!(
                "custom op `{}`: its backward is written with tensors and is first-order only; \
                 grad_graph through it needs a backward written with Var ops",
                self.name
            );
        }
        let inputs: Vec<Tensor<F>> = self.inputs.iter().map(|v| v.value()).collect();
        let grads = f(&inputs, &tape.value(self.ctx.out), &self.g.value());
        grads.into_iter().map(|g| g.map(|t| tape.constant(t))).collect()
    }
}

impl<F: Float> Tape<F> {
    /// Applies a custom differentiable function to `inputs`.
    ///
    /// # Panics
    ///
    /// When `inputs` is empty.
    #[track_caller]
    pub fn custom<'t>(&'t self, op: impl CustomOp<F> + 'static, inputs: &[Var<'t, F>]) -> Var<'t, F> {
        assert!(!inputs.is_empty(), "custom op `{}`: needs at least one input", op.name());
        let values: Vec<Tensor<F>> = inputs.iter().map(|v| v.value()).collect();
        let y = op.forward(&values);
        let ids: Vec<usize> = inputs.iter().map(|v| v.id).collect();
        self.push(Op::Custom(Rc::new(op)), &ids, y)
    }
}

/// Runs a custom op's backward with output gradient `g` and checks what it returned.
#[track_caller]
pub(crate) fn backward<'t, F: Float>(
    op: &dyn CustomOp<F>,
    ctx: &Ctx<'t, F>,
    g: Var<'t, F>,
) -> Grads<Var<'t, F>> {
    let name = op.name();
    let inputs: Vec<Var<'t, F>> = ctx.inputs.iter().map(|&j| Var::new(ctx.tape, j)).collect();
    let cctx = CustomCtx { ctx, inputs, g, name: name.clone() };
    let grads = op.backward(&cctx);
    if grads.len() != ctx.inputs.len() {
        panic!(
            "custom op `{name}`: backward returned {} gradients for {} inputs",
            grads.len(),
            ctx.inputs.len()
        );
    }
    for (k, g) in grads.iter().enumerate() {
        if let Some(g) = g {
            let (gs, xs) = (g.shape(), ctx.shape(k));
            if gs != xs {
                panic!(
                    "custom op `{name}`: backward returned a gradient of shape {gs:?} for input {k} of shape {xs:?}"
                );
            }
        }
    }
    grads.into_iter().collect()
}
