//! `Flatten`: every dimension after the first merged into one, `[N, d1, d2, ...]` to `[N, d1·d2·...]`
//! (PyTorch's `nn.Flatten()` with its defaults, Keras' `Flatten`).

use wengert_tape::Var;
use wengert_tensor::Float;

use crate::module::Module;

/// Merges all dimensions after the first (the batch) into one. It has no parameter; its gradient is
/// the incoming gradient reshaped back.
///
/// ```
/// use wengert::nn::{Flatten, Module};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f32>::new();
/// let y = Flatten.forward(tape.constant(Tensor::zeros(&[2, 3, 4])));
/// assert_eq!(y.shape(), vec![2, 12]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Flatten;

impl<F: Float> Module<F> for Flatten {
    /// `x` of shape `[N, ...]` to `[N, Π ...]`; a 1-D `[N]` becomes `[N, 1]`.
    ///
    /// # Panics
    ///
    /// When `x` is a scalar (it has no batch dimension).
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let shape = x.shape();
        let Some((&n, rest)) = shape.split_first() else {
            panic!("flatten: input of shape [] has no batch dimension");
        };
        x.reshape(&[n, rest.iter().product()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wengert_tape::Tape;
    use wengert_tape::check::{GradcheckOptions, gradcheck};
    use wengert_tensor::Tensor;

    #[test]
    fn flatten_merges_all_but_the_first_dimension() {
        let tape = Tape::<f64>::new();
        let x = Tensor::arange(0.0, 24.0, 1.0).reshape(&[2, 3, 4]).unwrap();
        let y = Flatten.forward(tape.constant(x.clone()));
        assert_eq!(y.shape(), vec![2, 12]);
        assert_eq!(y.value().to_vec(), x.to_vec());
        assert_eq!(Flatten.forward(tape.constant(Tensor::zeros(&[5]))).shape(), vec![5, 1]);
        assert_eq!(Flatten.forward(tape.constant(Tensor::zeros(&[5, 2]))).shape(), vec![5, 2]);
        assert_eq!(Flatten.forward(tape.constant(Tensor::zeros(&[0, 2, 2]))).shape(), vec![0, 4]);
    }

    #[test]
    fn flatten_gradients_match_finite_differences() {
        let x = Tensor::from_vec((0..12).map(|i| (i as f64 * 0.7).sin()).collect(), &[2, 3, 2]).unwrap();
        let w = Tensor::from_vec((0..12).map(|i| i as f64 * 0.1 - 0.4).collect(), &[2, 6]).unwrap();
        gradcheck(|v| (Flatten.forward(v[0]) * v[1]).tanh().sum(), &[x, w], &GradcheckOptions::default())
            .unwrap();
    }

    #[test]
    #[should_panic(expected = "flatten: input of shape [] has no batch dimension")]
    fn flatten_rejects_a_scalar() {
        let tape = Tape::<f32>::new();
        Flatten.forward(tape.constant(Tensor::scalar(1.0)));
    }
}
