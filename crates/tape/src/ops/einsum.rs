//! `einsum` on Vars: the tensor crate's [`EinsumPlan`] run with Var ops (diagonal, sum_axes,
//! permute, reshape, matmul), so it is differentiable to any order through their rules and needs
//! none of its own.

use wengert_tensor::{EinsumPlan, EinsumStep, Float};

use crate::var::Var;

impl<'t, F: Float> Var<'t, F> {
    /// Einstein summation over `operands`, as `torch.einsum` (without `...`): `"ij,jk->ik"`,
    /// `"bij,bjk->bik"`, `"ii->"`, any number of operands, contracted left to right (see
    /// [`EinsumPlan`]).
    ///
    /// ```
    /// use wengert::tape::{Tape, Var};
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
    /// let b = tape.var(Tensor::from_vec(vec![1.0, 0.0, 0.0, 2.0], &[2, 2]).unwrap());
    /// let y = Var::einsum("ij,jk->ik", &[a, b]);
    /// assert_eq!(y.value().to_vec(), vec![1.0, 4.0, 3.0, 8.0]);
    /// let trace = Var::einsum("ii", &[a]);
    /// assert_eq!(trace.backward()[a].to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// With the message of [`EinsumPlan::new`]'s error, naming the subscripts, when it fails; when
    /// `operands` is empty or on different tapes.
    #[track_caller]
    pub fn einsum(subscripts: &str, operands: &[Var<'t, F>]) -> Var<'t, F> {
        let Some(first) = operands.first() else { panic!("einsum: {subscripts:?}: no operands given") };
        if let Some(i) = operands.iter().position(|v| !std::ptr::eq(v.tape, first.tape)) {
            panic!("einsum: {subscripts:?}: operand {i} belongs to another tape than operand 0");
        }
        let shapes: Vec<Vec<usize>> = operands.iter().map(|v| v.shape()).collect();
        let shapes: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
        let plan = EinsumPlan::new(subscripts, &shapes).unwrap_or_else(|e| panic!("{e}"));
        let mut slots = operands.to_vec();
        for step in plan.steps() {
            match step {
                EinsumStep::Diagonal { slot, a1, a2 } => slots[*slot] = slots[*slot].diagonal(0, *a1, *a2),
                EinsumStep::Sum { slot, axes } => slots[*slot] = slots[*slot].sum_axes(axes, false),
                EinsumStep::Contract { b, perm_a, shape_a, perm_b, shape_b, shape_out } => {
                    let a = slots[0].permute(perm_a).reshape(shape_a);
                    let bb = slots[*b].permute(perm_b).reshape(shape_b);
                    slots[0] = a.matmul(bb).reshape(shape_out);
                }
                EinsumStep::Permute { axes } => slots[0] = slots[0].permute(axes),
                _ => unreachable!("einsum: a step this version of the tape does not know: {step:?}"),
            }
        }
        slots[0]
    }
}

#[cfg(test)]
pub(crate) mod tests;
