//! Matrix products on Vars with NumPy `matmul` semantics, and their rule. With 1-D operands promoted to
//! matrices (`a` to a row, `b` to a column) and `g` reshaped to match: ga = g · bᵀ, gb = aᵀ · g, each
//! summed over broadcast batch dimensions and reshaped back to the operand's shape.
//! `dot` and `outer` are composed of matmul and reshape.

use wengert_tensor::Float;

use crate::op::{Ctx, Grads, Op};
use crate::var::Var;

/// A linear-algebra op.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Linalg {
    Matmul,
}

impl<'t, F: Float> Var<'t, F> {
    /// Matrix product with NumPy semantics: 1-D and 2-D operands, and batched N-D operands whose batch
    /// dimensions broadcast.
    ///
    /// ```
    /// use wengert::tape::Tape;
    /// use wengert::tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap());
    /// let v = tape.constant(Tensor::from_vec(vec![1.0, 1.0], &[2]).unwrap());
    /// let y = a.matmul(v).sum();                       // sum of all entries of a
    /// assert_eq!(y.backward()[a].to_vec(), vec![1.0; 4]);
    /// ```
    ///
    /// # Panics
    ///
    /// When the shapes do not match: `matmul: [2, 3] x [4, 5]: inner dimensions 3 and 4 differ`.
    #[track_caller]
    #[doc(alias("mm", "bmm"))]
    pub fn matmul(self, other: Self) -> Self {
        self.tape.check_same("matmul", &[other]);
        let y = {
            let nodes = self.tape.nodes.borrow();
            nodes[self.id].value.matmul(&nodes[other.id].value)
        };
        self.tape.push(Op::Linalg(Linalg::Matmul), &[self.id, other.id], y)
    }

    /// Inner product of two 1-D Vars, a 0-D result.
    ///
    /// # Panics
    ///
    /// When either is not 1-D or their lengths differ.
    #[track_caller]
    pub fn dot(self, other: Self) -> Self {
        let (sa, sb) = (self.shape(), other.shape());
        if sa.len() != 1 || sb.len() != 1 || sa != sb {
            panic!("dot: expects two 1-D operands of equal length, got {sa:?} and {sb:?}");
        }
        self.matmul(other)
    }

    /// Outer product of two 1-D Vars: `[n]` and `[m]` give `[n, m]`.
    ///
    /// # Panics
    ///
    /// When either is not 1-D.
    #[track_caller]
    pub fn outer(self, other: Self) -> Self {
        let (sa, sb) = (self.shape(), other.shape());
        if sa.len() != 1 || sb.len() != 1 {
            panic!("outer: expects two 1-D operands, got {sa:?} and {sb:?}");
        }
        self.reshape(&[sa[0], 1]).matmul(other.reshape(&[1, sb[0]]))
    }
}

impl Linalg {
    pub(crate) fn name(&self) -> &'static str {
        "matmul"
    }

    /// The operands' gradients, given the output's gradient `g`.
    pub(crate) fn backward<'t, F: Float, V: crate::value::Value<'t, F>>(
        &self,
        ctx: &Ctx<'t, F>,
        g: V,
    ) -> Grads<V> {
        let (sa, sb) = (ctx.shape(0), ctx.shape(1));
        // Promote 1-D operands to matrices, and the gradient with them.
        let pa: Vec<usize> = if sa.len() == 1 { vec![1, sa[0]] } else { sa.clone() };
        let pb: Vec<usize> = if sb.len() == 1 { vec![sb[0], 1] } else { sb.clone() };
        let mut gy = g.dims();
        if sa.len() == 1 {
            gy.insert(gy.len() - usize::from(sb.len() != 1), 1);
        }
        if sb.len() == 1 {
            gy.push(1);
        }
        let g2 = g.reshape(&gy);
        ctx.pair(
            g2,
            |g2| g2.matmul(ctx.x::<V>(1).reshape(&pb).t()).sum_to_shape(&pa).reshape(&sa),
            |g2| ctx.x::<V>(0).reshape(&pa).t().matmul(g2).sum_to_shape(&pb).reshape(&sb),
        )
    }
}

#[cfg(test)]
pub(crate) mod tests;
