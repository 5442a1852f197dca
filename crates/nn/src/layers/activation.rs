//! Activation layers: thin `Module` wrappers of the Var activations, for use in `Sequential`.

use wengert_tape::Var;
use wengert_tensor::Float;

use crate::module::Module;

/// `max(x, 0)`.
///
/// ```
/// use wengert::nn::{Module, Relu};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f32>::new();
/// let y = Relu.forward(tape.constant(Tensor::from_vec(vec![-1.0, 2.0], &[2]).unwrap()));
/// assert_eq!(y.value().to_vec(), vec![0.0, 2.0]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Relu;

impl<F: Float> Module<F> for Relu {
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        x.relu()
    }
}

/// Hyperbolic tangent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tanh;

impl<F: Float> Module<F> for Tanh {
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        x.tanh()
    }
}

/// Logistic sigmoid.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sigmoid;

impl<F: Float> Module<F> for Sigmoid {
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        x.sigmoid()
    }
}

/// GELU with the exact error function: `x Φ(x)`.
///
/// ```
/// use wengert::nn::{Gelu, Module};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let y = Gelu.forward(tape.constant(Tensor::from_vec(vec![0.0, 1.0], &[2]).unwrap()));
/// assert!((y.value().to_vec()[1] - 0.841_344_746).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Gelu;

impl<F: Float> Module<F> for Gelu {
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        x.gelu()
    }
}

/// `x` above 0, `slope · x` below (PyTorch's default slope is 0.01).
///
/// ```
/// use wengert::nn::{LeakyRelu, Module};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let y = LeakyRelu { slope: 0.1 }.forward(tape.constant(Tensor::from_vec(vec![-2.0, 3.0], &[2]).unwrap()));
/// assert_eq!(y.value().to_vec(), vec![-0.2, 3.0]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LeakyRelu {
    /// The slope below 0.
    pub slope: f64,
}

impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu { slope: 0.01 }
    }
}

impl<F: Float> Module<F> for LeakyRelu {
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        x.leaky_relu(F::from_f64(self.slope))
    }
}

/// Softmax along an axis (the last, by default `axis: None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Softmax {
    /// The axis; `None` for the last one.
    pub axis: Option<usize>,
}

impl<F: Float> Module<F> for Softmax {
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let axis = self.axis.unwrap_or(x.ndim().saturating_sub(1));
        x.softmax(axis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wengert_tape::Tape;
    use wengert_tape::check::{GradcheckOptions, gradcheck};
    use wengert_tensor::Tensor;

    #[test]
    fn activation_layers_apply_their_function_and_gradcheck() {
        let x = Tensor::<f64>::from_vec(vec![-1.5, -0.3, 0.4, 2.0], &[2, 2]).unwrap();
        let tape = Tape::new();
        let v = tape.constant(x.clone());
        assert_eq!(Relu.forward(v).value(), x.relu());
        assert_eq!(Tanh.forward(v).value(), x.tanh());
        assert_eq!(Sigmoid.forward(v).value(), x.sigmoid());
        assert_eq!(Gelu.forward(v).value(), x.gelu());
        assert_eq!(LeakyRelu::default().forward(v).value(), x.leaky_relu(0.01));
        assert_eq!(Softmax::default().forward(v).value(), x.softmax(1));
        let opts = GradcheckOptions::default();
        gradcheck(|v| (Relu.forward(v[0]) * v[0]).sum(), std::slice::from_ref(&x), &opts).unwrap();
        gradcheck(|v| Tanh.forward(v[0]).sum(), std::slice::from_ref(&x), &opts).unwrap();
        gradcheck(|v| Sigmoid.forward(v[0]).sum(), std::slice::from_ref(&x), &opts).unwrap();
        gradcheck(|v| Gelu.forward(v[0]).sum(), std::slice::from_ref(&x), &opts).unwrap();
        gradcheck(|v| (LeakyRelu { slope: 0.2 }.forward(v[0]) * v[0]).sum(), std::slice::from_ref(&x), &opts)
            .unwrap();
        gradcheck(
            |v| (Softmax { axis: Some(0) }.forward(v[0]) * v[0]).sum(),
            std::slice::from_ref(&x),
            &opts,
        )
        .unwrap();
    }
}
