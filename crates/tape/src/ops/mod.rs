//! The primitive op families, one file each: the Var methods and their backward rules side by side.

pub(crate) mod binary;
pub(crate) mod conv;
#[cfg(test)]
mod edges;
pub(crate) mod fused;
pub(crate) mod index;
pub(crate) mod linalg;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod shape;
pub(crate) mod softmax;
pub(crate) mod unary;
