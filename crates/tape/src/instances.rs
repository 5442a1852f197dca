//! The first-order reverse sweep of f32 values, compiled once in this crate.
//!
//! The sweep is generic over the element type and calls every op's rule, so each crate that trains
//! an f32 model used to compile all of it again at its own expense: 40 CPU seconds for the linear
//! regression example alone at opt-level 1, again for every example and test binary. rustc shares a
//! generic function's code between crates when the crate that instantiates it is built at opt-level
//! 0 or 1 (the dev and test profiles here): instantiated here, the sweep is compiled once and every
//! dependent crate links to it (the example's own compile time falls to 8 CPU seconds). Release
//! builds do not share instances, so there the function is left out. f64's sweep is already
//! compiled here for [`crate::check`].

#[cfg(debug_assertions)]
use wengert_tensor::Tensor;

#[cfg(debug_assertions)]
use crate::{Gradients, Tape};

/// Runs the f32 first-order sweep once on a one-element tape (what makes this crate compile it; see
/// the module documentation). Returns the gradient of `Σ x` with respect to `x = [0]`.
#[cfg(debug_assertions)]
#[doc(hidden)]
pub fn instantiate_f32_sweep() -> Gradients<f32> {
    let tape = Tape::<f32>::new();
    let x = tape.var(Tensor::zeros(&[1]));
    x.sum().backward()
}

#[cfg(all(test, debug_assertions))]
mod tests {
    #[test]
    fn the_instantiated_sweep_differentiates_a_sum() {
        let grads = super::instantiate_f32_sweep();
        assert_eq!(grads.len(), 1);
        assert_eq!(grads.get_id(0).map(|g| g.to_vec()), Some(vec![1.0f32]));
    }
}
