//! `Linear`: y = x Wᵀ + b, with W of shape [out, in] (PyTorch's layout, so weights move to and from
//! PyTorch unchanged) and b of shape [out]. Every input `[..., in]` goes through the fused
//! `Var::linear` as `[rows, in]`.

use wengert_tape::Var;
use wengert_tensor::Float;

use crate::init::Init;
use crate::module::Module;
use crate::param::{Param, TapeParam};
use crate::store::Path;

/// A fully connected layer. Default initialisation: Xavier/Glorot uniform weight and zero bias, as
/// Keras' `Dense` (use [`Linear::with_init`] for PyTorch's or another). The parameters are `weight`
/// `[out, in]` and `bias` `[out]`, PyTorch's `nn.Linear` names and layout.
#[derive(Debug)]
pub struct Linear<F: Float = f32> {
    /// The weight, `[out, in]`.
    pub weight: Param<F>,
    /// The bias, `[out]`, if any.
    pub bias: Option<Param<F>>,
}

impl<F: Float> Linear<F> {
    /// A layer from `inputs` to `outputs` features, with a bias.
    pub fn new(path: &Path<F>, inputs: usize, outputs: usize) -> Self {
        Self::with_init(path, inputs, outputs, true, Init::GLOROT_UNIFORM, Init::Zeros)
    }

    /// A layer without a bias.
    pub fn no_bias(path: &Path<F>, inputs: usize, outputs: usize) -> Self {
        Self::with_init(path, inputs, outputs, false, Init::GLOROT_UNIFORM, Init::Zeros)
    }

    /// A layer with chosen initialisers for the weight and the bias.
    pub fn with_init(
        path: &Path<F>,
        inputs: usize,
        outputs: usize,
        bias: bool,
        weight: Init,
        bias_init: Init,
    ) -> Self {
        let w = path.param("weight", &[outputs, inputs], weight);
        let b = bias.then(|| path.param("bias", &[outputs], bias_init));
        Linear { weight: w, bias: b }
    }

    /// The number of input features.
    pub fn inputs(&self) -> usize {
        self.weight.shape()[1]
    }

    /// The number of output features.
    pub fn outputs(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl<F: Float> Module<F> for Linear<F> {
    /// `x` of shape `[..., in]` to `[..., out]`.
    ///
    /// # Panics
    ///
    /// When the last dimension of `x` is not the layer's input width.
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let tape = x.tape();
        let shape = x.shape();
        if shape.last() != Some(&self.inputs()) {
            panic!(
                "linear `{}`: input of shape {shape:?} does not end in {} features",
                self.weight.name(),
                self.inputs()
            );
        }
        affine(x, tape.param(&self.weight), self.bias.as_ref().map(|b| tape.param(b)))
    }
}

/// `x wᵀ + b` for `x` `[..., in]`, `w` `[out, in]` and `b` `[out]`, through the fused `Var::linear`
/// (one product into a buffer holding the bias, and a weight gradient in `w`'s own layout): an input
/// of other than 2 dimensions is viewed as `[rows, in]` and the result reshaped back to `[..., out]`.
/// The shapes are the caller's to check.
pub(crate) fn affine<'t, F: Float>(x: Var<'t, F>, w: Var<'t, F>, b: Option<Var<'t, F>>) -> Var<'t, F> {
    let shape = x.shape();
    if shape.len() == 2 {
        return x.linear(w, b);
    }
    let inputs = shape.last().copied().unwrap_or(1);
    let rows = shape[..shape.len().saturating_sub(1)].iter().product();
    let mut out_shape = shape[..shape.len().saturating_sub(1)].to_vec();
    out_shape.push(w.shape()[0]);
    x.reshape(&[rows, inputs]).linear(w, b).reshape(&out_shape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParamStore;
    use wengert_tape::Tape;
    use wengert_tape::check::{GradcheckOptions, gradcheck};
    use wengert_tensor::Tensor;

    #[test]
    fn linear_computes_x_wt_plus_b() {
        let store = ParamStore::<f64>::with_seed(0);
        let fc = Linear::new(&store.root(), 2, 1);
        fc.weight.set(Tensor::from_vec(vec![0.5, -0.5], &[1, 2]).unwrap());
        fc.bias.as_ref().unwrap().set(Tensor::from_vec(vec![1.0], &[1]).unwrap());
        let tape = Tape::new();
        let y = fc.forward(tape.constant(Tensor::from_vec(vec![1.0, 2.0, 4.0, 2.0], &[2, 2]).unwrap()));
        assert_eq!(y.value().to_vec(), vec![0.5, 2.0]);
        assert_eq!(
            store.parameters().iter().map(|p| p.name().to_string()).collect::<Vec<_>>(),
            ["weight", "bias"]
        );
    }

    #[test]
    #[should_panic(expected = "linear `fc.weight`: input of shape [3, 5] does not end in 2 features")]
    fn linear_rejects_wrong_input_width() {
        let store = ParamStore::<f32>::new(0);
        let fc = Linear::new(&store.root().sub("fc"), 2, 1);
        let tape = Tape::new();
        fc.forward(tape.constant(Tensor::ones(&[3, 5])));
    }

    #[test]
    fn linear_of_a_batch_of_sequences_matches_the_product_and_its_gradients_match_finite_differences() {
        let store = ParamStore::<f64>::with_seed(4);
        let fc = Linear::new(&store.root(), 3, 5);
        fc.bias.as_ref().unwrap().set(Tensor::from_vec(vec![0.1, -0.2, 0.3, 0.0, 0.5], &[5]).unwrap());
        let x = Tensor::from_vec((0..36).map(|i| (i as f64 * 0.41).cos()).collect(), &[2, 3, 2, 3]).unwrap();
        let (w, b) = (fc.weight.value(), fc.bias.as_ref().unwrap().value());
        let tape = Tape::new();
        let y = fc.forward(tape.constant(x.clone()));
        assert_eq!(y.shape(), vec![2, 3, 2, 5]);
        let want = &x.matmul(&w.t()) + &b;
        assert!(y.value().to_vec().iter().zip(want.to_vec()).all(|(a, b)| (a - b).abs() < 1e-12));
        fn layer<'t>(v: &[Var<'t, f64>]) -> Var<'t, f64> {
            super::affine(v[0], v[1], Some(v[2]))
        }
        let opts = GradcheckOptions::default();
        gradcheck(|v| layer(v).tanh().sum(), &[x.clone(), w.clone(), b.clone()], &opts).unwrap();
        wengert_tape::check::gradgradcheck(|v| layer(v).tanh().sum(), &[x.clone(), w, b], &opts).unwrap();
        let v = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3]).unwrap();
        assert_eq!(fc.forward(tape.constant(v)).shape(), vec![5], "a single row of features");
    }

    #[test]
    fn linear_gradients_match_finite_differences() {
        let store = ParamStore::<f64>::with_seed(3);
        let fc = Linear::new(&store.root(), 3, 2);
        let x = Tensor::from_vec((0..12).map(|i| i as f64 * 0.1 - 0.5).collect(), &[4, 3]).unwrap();
        let (w, b) = (fc.weight.value(), fc.bias.as_ref().unwrap().value());
        gradcheck(
            |v| (v[0].matmul(v[1].t()) + v[2]).tanh().sum(),
            &[x.clone(), w, b],
            &GradcheckOptions::default(),
        )
        .unwrap();
        let x3 = Tensor::from_vec((0..24).map(|i| i as f64 * 0.05 - 0.5).collect(), &[2, 4, 3]).unwrap();
        let (w, b) = (fc.weight.value(), fc.bias.as_ref().unwrap().value());
        gradcheck(
            |v| (v[0].matmul(v[1].t()) + v[2]).tanh().sum(),
            &[x3.clone(), w.clone(), b.clone()],
            &GradcheckOptions::default(),
        )
        .unwrap();
        let tape = Tape::new();
        let (y3, y2) =
            (fc.forward(tape.constant(x3.clone())), fc.forward(tape.constant(x3.reshape(&[8, 3]).unwrap())));
        assert_eq!(y3.shape(), vec![2, 4, 2]);
        assert_eq!(y3.value().to_vec(), y2.value().to_vec());
        let nb = Linear::no_bias(&store.root().sub("nb"), 3, 2);
        assert!(nb.bias.is_none());
        let tape = Tape::new();
        assert_eq!(nb.forward(tape.constant(x)).shape(), vec![4, 2]);
    }
}
