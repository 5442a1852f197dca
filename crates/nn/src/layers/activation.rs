//! Activation layers: thin `Module` wrappers of the Var activations, for use in `Sequential`.

use wengert_tape::Var;
use wengert_tensor::{Float, GeluApproximate};

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

/// GELU, PyTorch's `nn.GELU(approximate=...)`: the exact `x Φ(x)` by default, or its tanh
/// approximation ([`Gelu::tanh`]). The constant [`Gelu`](const@Gelu) is the exact one, so `Gelu` alone
/// still names the default layer.
///
/// ```
/// use wengert::nn::{Gelu, Module};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let y = Gelu.forward(tape.constant(Tensor::from_vec(vec![0.0, 1.0], &[2]).unwrap()));
/// assert!((y.value().to_vec()[1] - 0.841_344_746).abs() < 1e-9);
/// let y = Gelu::tanh().forward(tape.constant(Tensor::from_vec(vec![1.0], &[1]).unwrap()));
/// assert!((y.value().item() - 0.841_191_990_6).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Gelu {
    /// Exact, or the tanh approximation.
    pub approximate: GeluApproximate,
}

/// The exact GELU layer, `Gelu::new(GeluApproximate::None)`, so that `Gelu` reads as a value as it did
/// when the layer had no option.
#[allow(non_upper_case_globals)]
pub const Gelu: Gelu = Gelu { approximate: GeluApproximate::None };

impl Gelu {
    /// GELU computed as `approximate` says.
    pub fn new(approximate: GeluApproximate) -> Self {
        Gelu { approximate }
    }

    /// GELU's tanh approximation, PyTorch's `nn.GELU(approximate='tanh')`.
    pub fn tanh() -> Self {
        Gelu::new(GeluApproximate::Tanh)
    }
}

impl<F: Float> Module<F> for Gelu {
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        x.gelu_with(self.approximate)
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
    use wengert_tape::check::{GradcheckOptions, gradcheck, gradgradcheck};
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

    #[test]
    fn gelu_takes_pytorchs_approximate_option() {
        let x = Tensor::<f64>::from_vec(vec![-2.5, -0.7, 0.0, 0.3, 1.9], &[5]).unwrap();
        let tape = Tape::new();
        let v = tape.constant(x.clone());
        assert_eq!(Gelu::default(), Gelu);
        assert_eq!(Gelu::new(GeluApproximate::None).forward(v).value(), x.gelu());
        assert_eq!(Gelu::tanh().forward(v).value(), x.gelu_tanh());
        assert_ne!(x.gelu(), x.gelu_tanh());
        // 0.5 · 1.9 · (1 + tanh(√(2/π) (1.9 + 0.044715 · 1.9³))), by hand in f64.
        let y = Gelu::tanh().forward(tape.constant(Tensor::scalar(1.9))).value().item();
        assert!((y - 1.845_451_234_455_332_7).abs() < 1e-12, "{y}");
        let opts = GradcheckOptions::default();
        for layer in [Gelu, Gelu::tanh()] {
            gradcheck(|v| (layer.forward(v[0]) * v[0]).sum(), std::slice::from_ref(&x), &opts).unwrap();
            gradgradcheck(|v| (layer.forward(v[0]) * v[0]).sum(), std::slice::from_ref(&x), &opts).unwrap();
        }
    }
}
