//! `einsum`, lowered to ops that already exist so that the tape differentiates it through their
//! rules: a repeated label within an operand takes a `diagonal`, a label no other operand or the
//! output needs is summed at once, and operands are contracted left to right, each pair as one
//! batched `matmul` of `[batch, kept of a, summed] × [batch, summed, kept of b]` between
//! `permute`s and `reshape`s. [`EinsumPlan`] is that lowering, run on Tensors by
//! [`Tensor::einsum`] and on Vars by the tape's `Var::einsum`.

use crate::error::{OrPanic, TensorError};
use crate::float::Float;
use crate::tensor::Tensor;

/// One step of an [`EinsumPlan`], on the operands held in numbered slots (slot `k` starts as
/// operand `k`; the result ends in slot 0).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EinsumStep {
    /// `slot = slot.diagonal(0, a1, a2)`: the axes of a repeated label, replaced by one last axis.
    Diagonal {
        /// The slot.
        slot: usize,
        /// The first axis of the label.
        a1: usize,
        /// The second axis of the label.
        a2: usize,
    },
    /// `slot = slot.sum_axes(axes, false)`.
    Sum {
        /// The slot.
        slot: usize,
        /// The axes summed.
        axes: Vec<usize>,
    },
    /// `slot 0 = (slot 0 permuted by perm_a, reshaped to shape_a).matmul(slot b permuted by
    /// perm_b, reshaped to shape_b)`, reshaped to `shape_out`.
    Contract {
        /// The right operand's slot.
        b: usize,
        /// The left operand's axes, as `[batch, kept, summed]`.
        perm_a: Vec<usize>,
        /// `[batch, kept, summed]` sizes of the left operand.
        shape_a: [usize; 3],
        /// The right operand's axes, as `[batch, summed, kept]`.
        perm_b: Vec<usize>,
        /// `[batch, summed, kept]` sizes of the right operand.
        shape_b: [usize; 3],
        /// The shape of the result: the batch, left-kept and right-kept sizes.
        shape_out: Vec<usize>,
    },
    /// `slot 0 = slot 0.permute(axes)`: the output's order.
    Permute {
        /// The permutation.
        axes: Vec<usize>,
    },
}

/// How `einsum(subscripts, operands)` is computed from `diagonal`, `sum_axes`, `permute`,
/// `reshape` and `matmul`, for operands of given shapes.
///
/// ```
/// use wengert::tensor::{EinsumPlan, EinsumStep};
/// let plan = EinsumPlan::new("ij,jk->ik", &[&[2, 3], &[3, 4]]).unwrap();
/// assert_eq!(plan.output_shape(), &[2, 4]);
/// assert!(matches!(plan.steps()[0], EinsumStep::Contract { .. }));
/// let err = EinsumPlan::new("ij,jk->ik", &[&[2, 3], &[4, 4]]).unwrap_err();
/// assert_eq!(err.to_string(), "einsum: \"ij,jk->ik\": label 'j' has size 3 in operand 0 but 4 in operand 1");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EinsumPlan {
    steps: Vec<EinsumStep>,
    output_shape: Vec<usize>,
}

impl EinsumPlan {
    /// Plans `subscripts` (NumPy's and PyTorch's notation: letters per operand, separated by
    /// commas, then optionally `->` and the output's letters; without `->` the output is every
    /// letter that appears once, in alphabetical order) for operands of `shapes`. Spaces are
    /// ignored; `...` (broadcast dims) is not supported.
    ///
    /// # Errors
    ///
    /// [`TensorError::InvalidArgument`] naming the subscripts when they are malformed, name a
    /// different number of operands or dims than given, give one label two sizes, or put a label
    /// in the output twice or that no operand has.
    pub fn new(subscripts: &str, shapes: &[&[usize]]) -> Result<EinsumPlan, TensorError> {
        let err = |reason: String| TensorError::InvalidArgument {
            op: "einsum",
            reason: format!("{subscripts:?}: {reason}"),
        };
        let text: String = subscripts.chars().filter(|c| !c.is_whitespace()).collect();
        if text.contains("...") {
            return Err(err("'...' is not supported".into()));
        }
        let (inputs, output) = match text.split_once("->") {
            Some((i, o)) => (i, Some(o)),
            None => (text.as_str(), None),
        };
        let mut ops: Vec<Vec<char>> = inputs.split(',').map(|s| s.chars().collect()).collect();
        if let Some(c) = ops
            .iter()
            .flatten()
            .chain(output.iter().flat_map(|o| o.chars()).collect::<Vec<_>>().iter())
            .find(|c| !c.is_ascii_alphabetic())
        {
            return Err(err(format!("'{c}' is not a label (labels are letters)")));
        }
        if ops.len() != shapes.len() {
            return Err(err(format!("{} operands named but {} given", ops.len(), shapes.len())));
        }
        let mut size = std::collections::BTreeMap::new();
        let mut count = std::collections::BTreeMap::new();
        for (k, (labels, shape)) in ops.iter().zip(shapes).enumerate() {
            if labels.len() != shape.len() {
                return Err(err(format!("operand {k} has {} labels but shape {shape:?}", labels.len())));
            }
            for (&l, &d) in labels.iter().zip(shape.iter()) {
                match size.insert(l, (d, k)) {
                    Some((e, j)) if e != d => {
                        return Err(err(format!(
                            "label '{l}' has size {e} in operand {j} but {d} in operand {k}"
                        )));
                    }
                    _ => *count.entry(l).or_insert(0) += 1,
                }
            }
        }
        let output: Vec<char> = match output {
            Some(o) => o.chars().collect(),
            None => count.iter().filter(|&(_, &n)| n == 1).map(|(&l, _)| l).collect(),
        };
        for (i, l) in output.iter().enumerate() {
            if output[..i].contains(l) {
                return Err(err(format!("label '{l}' is in the output twice")));
            }
            if !size.contains_key(l) {
                return Err(err(format!("output label '{l}' is in no operand")));
            }
        }
        let mut steps = Vec::new();
        // Repeated labels: diagonals, which move the label last.
        for (slot, labels) in ops.iter_mut().enumerate() {
            while let Some((a1, a2)) = repeated(labels) {
                let l = labels[a1];
                labels.remove(a2);
                labels.remove(a1);
                labels.push(l);
                steps.push(EinsumStep::Diagonal { slot, a1, a2 });
            }
        }
        let needed_after = |ops: &[Vec<char>], k: usize, l: char| {
            output.contains(&l) || ops[k + 1..].iter().any(|o| o.contains(&l))
        };
        // Labels only one operand has and nothing needs: summed at once.
        for k in 0..ops.len() {
            let alone: Vec<usize> = (0..ops[k].len())
                .filter(|&a| {
                    let l = ops[k][a];
                    !output.contains(&l) && ops.iter().enumerate().all(|(j, o)| j == k || !o.contains(&l))
                })
                .collect();
            if !alone.is_empty() {
                ops[k] =
                    ops[k].iter().enumerate().filter(|(a, _)| !alone.contains(a)).map(|(_, &l)| l).collect();
                steps.push(EinsumStep::Sum { slot: k, axes: alone });
            }
        }
        let dims = |ls: &[char]| ls.iter().map(|l| size[l].0).collect::<Vec<usize>>();
        for b in 1..ops.len() {
            let (la, lb) = (ops[0].clone(), ops[b].clone());
            let later = |l: char| needed_after(&ops, b, l);
            let batch: Vec<char> = la.iter().copied().filter(|&l| lb.contains(&l) && later(l)).collect();
            let summed: Vec<char> = la.iter().copied().filter(|&l| lb.contains(&l) && !later(l)).collect();
            let a_kept: Vec<char> = la.iter().copied().filter(|&l| !lb.contains(&l)).collect();
            let b_kept: Vec<char> = lb.iter().copied().filter(|&l| !la.contains(&l)).collect();
            let at = |ls: &[char], of: &[char]| -> Vec<usize> {
                of.iter().map(|l| ls.iter().position(|m| m == l).expect("label of the operand")).collect()
            };
            let prod = |ls: &[char]| dims(ls).iter().product::<usize>();
            steps.push(EinsumStep::Contract {
                b,
                perm_a: at(&la, &[&batch[..], &a_kept, &summed].concat()),
                shape_a: [prod(&batch), prod(&a_kept), prod(&summed)],
                perm_b: at(&lb, &[&batch[..], &summed, &b_kept].concat()),
                shape_b: [prod(&batch), prod(&summed), prod(&b_kept)],
                shape_out: dims(&[&batch[..], &a_kept, &b_kept].concat()),
            });
            ops[0] = [&batch[..], &a_kept, &b_kept].concat();
        }
        // What is left: labels of a single operand that the output drops, then the output's order.
        let dropped: Vec<usize> = (0..ops[0].len()).filter(|&a| !output.contains(&ops[0][a])).collect();
        if !dropped.is_empty() {
            ops[0] = ops[0].iter().copied().filter(|l| output.contains(l)).collect();
            steps.push(EinsumStep::Sum { slot: 0, axes: dropped });
        }
        let axes: Vec<usize> =
            output.iter().map(|l| ops[0].iter().position(|m| m == l).expect("kept label")).collect();
        if axes.iter().enumerate().any(|(i, &a)| i != a) {
            steps.push(EinsumStep::Permute { axes });
        }
        Ok(EinsumPlan { steps, output_shape: dims(&output) })
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[EinsumStep] {
        &self.steps
    }

    /// The shape of the result.
    pub fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }
}

/// The first two axes that share a label.
fn repeated(labels: &[char]) -> Option<(usize, usize)> {
    (0..labels.len()).find_map(|i| (i + 1..labels.len()).find(|&j| labels[j] == labels[i]).map(|j| (i, j)))
}

impl<F: Float> Tensor<F> {
    /// Einstein summation over `operands`, as `torch.einsum` / `numpy.einsum` (without `...`):
    /// `"ij,jk->ik"` is a matrix product, `"ii->"` a trace, `"bij,bjk->bik"` a batched product.
    /// Computed as [`EinsumPlan`] lays out: diagonals, sums and one batched matmul per operand.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// assert_eq!(Tensor::einsum("ij,jk->ik", &[&a, &a]).to_vec(), a.matmul(&a).to_vec());
    /// assert_eq!(Tensor::einsum("ii", &[&a]).item(), 5.0);
    /// assert_eq!(Tensor::einsum("ij->j", &[&a]).to_vec(), vec![4.0, 6.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// With the message of [`EinsumPlan::new`]'s error, naming the subscripts, when it fails.
    #[track_caller]
    pub fn einsum(subscripts: &str, operands: &[&Tensor<F>]) -> Tensor<F> {
        let shapes: Vec<&[usize]> = operands.iter().map(|t| t.shape()).collect();
        let plan = EinsumPlan::new(subscripts, &shapes).or_panic();
        let mut slots: Vec<Tensor<F>> = operands.iter().map(|&t| t.clone()).collect();
        let reshape = |t: Tensor<F>, s: &[usize]| t.reshape(s).expect("the plan keeps the count");
        for step in plan.steps() {
            match step {
                EinsumStep::Diagonal { slot, a1, a2 } => slots[*slot] = slots[*slot].diagonal(0, *a1, *a2),
                EinsumStep::Sum { slot, axes } => slots[*slot] = slots[*slot].sum_axes(axes, false),
                EinsumStep::Contract { b, perm_a, shape_a, perm_b, shape_b, shape_out } => {
                    let a = reshape(slots[0].permute(perm_a), shape_a);
                    let bb = reshape(slots[*b].permute(perm_b), shape_b);
                    slots[0] = reshape(a.matmul(&bb), shape_out);
                }
                EinsumStep::Permute { axes } => slots[0] = slots[0].permute(axes),
            }
        }
        slots.swap_remove(0)
    }
}

#[cfg(test)]
mod tests;
