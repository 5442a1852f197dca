//! The primitive op families, one file each: the Var methods and their backward rules side by side.

pub(crate) mod activation;
pub(crate) mod binary;
pub(crate) mod binary_math;
#[cfg(test)]
pub(crate) mod cases;
pub(crate) mod conv;
pub(crate) mod cumulative;
pub(crate) mod dropout;
#[cfg(test)]
mod edges;
pub(crate) mod einsum;
pub(crate) mod fused;
pub(crate) mod index;
pub(crate) mod linalg;
pub(crate) mod math;
pub(crate) mod norm;
pub(crate) mod pool;
pub(crate) mod rearrange;
pub(crate) mod recurrent;
pub(crate) mod reduce;
pub(crate) mod shape;
pub(crate) mod softmax;
pub(crate) mod special;
pub(crate) mod unary;

#[cfg(test)]
mod tests {
    use super::cases::{bitwise, prop};
    use super::{
        activation, binary, binary_math, conv, cumulative, einsum, fused, index, linalg, math, norm, pool,
        rearrange, recurrent, reduce, shape, softmax, special, unary,
    };

    /// First-order `grad` runs each rule on Tensors, `grad_graph` on Vars: they compute the same
    /// formulas in the same order, so they must agree bit for bit, on every case of every family.
    #[test]
    fn first_order_grad_and_grad_graph_agree_bit_for_bit_in_every_family() {
        prop(unary::tests::cases(), bitwise);
        prop(binary::tests::cases(), bitwise);
        prop(reduce::tests::cases(), bitwise);
        prop(linalg::tests::cases(), bitwise);
        prop(softmax::tests::cases(), bitwise);
        prop(shape::tests::cases(), bitwise);
        prop(index::tests::cases(), bitwise);
        prop(conv::tests::cases(), bitwise);
        prop(pool::tests::cases(), bitwise);
        prop(fused::tests::cases(), bitwise);
        prop(activation::tests::cases(), bitwise);
        prop(math::tests::cases(), bitwise);
        prop(special::tests::cases(), bitwise);
        prop(binary_math::tests::cases(), bitwise);
        prop(cumulative::tests::cases(), bitwise);
        prop(rearrange::tests::cases(), bitwise);
        prop(einsum::tests::cases(), bitwise);
        prop(norm::tests::softmax_cases(), bitwise);
        prop(recurrent::tests::cases(), bitwise);
    }
}
