//! `Embedding`: a lookup table of `num` vectors of size `dim`; row `i` of the weight is the vector of
//! index `i`. The gradient of the weight adds the incoming gradient at every row looked up, so an
//! index used twice gets the sum of both (index_select's rule).

use wengert_tape::{Tape, Var};
use wengert_tensor::Float;

use crate::init::Init;
use crate::module::Module;
use crate::param::{Param, TapeParam};
use crate::store::Path;

/// A table of `num` embedding vectors of size `dim` (PyTorch's `nn.Embedding`), the weight `[num, dim]`
/// initialised from N(0, 1) as PyTorch does, and named `weight` as in its `state_dict`.
///
/// ```
/// use wengert::nn::{Embedding, GradientsParam, ParamStore};
/// use wengert::tape::Tape;
/// let store = ParamStore::<f32>::new(0);
/// let emb = Embedding::new(&store.root().sub("emb"), 10, 4);
/// let tape = Tape::new();
/// let v = emb.forward_indices(&tape, &[3, 1, 3]);
/// assert_eq!(v.shape(), vec![3, 4]);
/// let grads = v.sum().backward();
/// assert_eq!(grads.param(&emb.weight).unwrap().to_vec()[12], 2.0); // row 3, looked up twice
/// ```
#[derive(Debug)]
pub struct Embedding<F: Float = f32> {
    /// The table, `[num, dim]`.
    pub weight: Param<F>,
}

impl<F: Float> Embedding<F> {
    /// A table of `num` vectors of size `dim`, drawn from N(0, 1).
    pub fn new(path: &Path<F>, num: usize, dim: usize) -> Self {
        Self::with_init(path, num, dim, Init::Normal { mean: 0.0, std: 1.0 })
    }

    /// A table filled by `init`.
    pub fn with_init(path: &Path<F>, num: usize, dim: usize, init: Init) -> Self {
        Embedding { weight: path.param("weight", &[num, dim], init) }
    }

    /// The number of vectors.
    pub fn num(&self) -> usize {
        self.weight.shape()[0]
    }

    /// The size of each vector.
    pub fn dim(&self) -> usize {
        self.weight.shape()[1]
    }

    /// The vectors of `indices`, as `[indices.len(), dim]` on `tape`.
    ///
    /// # Panics
    ///
    /// When an index is not below [`Embedding::num`].
    #[track_caller]
    pub fn forward_indices<'t>(&self, tape: &'t Tape<F>, indices: &[usize]) -> Var<'t, F> {
        if let Some((at, &i)) = indices.iter().enumerate().find(|&(_, &i)| i >= self.num()) {
            panic!(
                "embedding `{}`: index {i} at position {at} is out of range for {} vectors",
                self.weight.name(),
                self.num()
            );
        }
        tape.param(&self.weight).index_select(0, indices)
    }
}

impl<F: Float> Module<F> for Embedding<F> {
    /// `x` of any shape holding indices as floats (whole numbers, such as a batch of token ids) to
    /// their vectors, of shape `[x's shape..., dim]`. `x` itself gets no gradient.
    ///
    /// # Panics
    ///
    /// When an element of `x` is negative, not a whole number, or not below [`Embedding::num`].
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let indices: Vec<usize> = x
            .value()
            .to_vec()
            .into_iter()
            .enumerate()
            .map(|(at, v)| {
                let f = v.to_f64();
                if f < 0.0 || f.fract() != 0.0 || !f.is_finite() {
                    panic!(
                        "embedding `{}`: element {at} of the input, {f}, is not an index",
                        self.weight.name()
                    );
                }
                f as usize
            })
            .collect();
        let mut shape = x.shape();
        shape.push(self.dim());
        self.forward_indices(x.tape(), &indices).reshape(&shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParamStore;
    use crate::param::GradientsParam;
    use wengert_tape::check::{GradcheckOptions, gradcheck};
    use wengert_tensor::Tensor;

    fn table() -> Tensor<f64> {
        Tensor::from_vec((0..12).map(|i| (i as f64 * 0.9).sin()).collect(), &[4, 3]).unwrap()
    }

    #[test]
    fn embedding_looks_up_rows_for_indices_and_float_inputs() {
        let store = ParamStore::<f64>::with_seed(0);
        let emb = Embedding::new(&store.root(), 4, 3);
        emb.weight.set(table());
        assert_eq!((emb.num(), emb.dim(), emb.weight.name()), (4, 3, "weight"));
        let tape = Tape::new();
        let rows = emb.forward_indices(&tape, &[2, 0]).value().to_vec();
        let w = table().to_vec();
        assert_eq!(rows, [&w[6..9], &w[0..3]].concat());
        let x = tape.constant(Tensor::from_vec(vec![1.0, 3.0, 0.0, 1.0], &[2, 2]).unwrap());
        let y = emb.forward(x);
        assert_eq!(y.shape(), vec![2, 2, 3]);
        assert_eq!(y.value().to_vec(), [&w[3..6], &w[9..12], &w[0..3], &w[3..6]].concat());
    }

    #[test]
    fn embedding_gradient_accumulates_for_repeated_indices() {
        let store = ParamStore::<f64>::with_seed(0);
        let emb = Embedding::new(&store.root(), 4, 3);
        let tape = Tape::new();
        let g = Tensor::from_vec((1..=12).map(f64::from).collect(), &[4, 3]).unwrap();
        let grads = (emb.forward_indices(&tape, &[1, 3, 1, 1]) * &g).sum().backward();
        let dw = grads.param(&emb.weight).unwrap().to_vec();
        // Row 1 gets the gradients of positions 0, 2 and 3; row 3 that of position 1; rows 0 and 2 none.
        assert_eq!(
            dw,
            vec![
                0.0,
                0.0,
                0.0,
                1.0 + 7.0 + 10.0,
                2.0 + 8.0 + 11.0,
                3.0 + 9.0 + 12.0,
                0.0,
                0.0,
                0.0,
                4.0,
                5.0,
                6.0
            ]
        );
    }

    fn looked_up<'t>(v: &[Var<'t, f64>]) -> Var<'t, f64> {
        (v[0].index_select(0, &[3, 0, 3, 2]) * v[1]).tanh().sum()
    }

    #[test]
    fn embedding_gradients_match_finite_differences() {
        // The layer's computation with the table as an input: index_select of the rows.
        let weights = Tensor::from_vec((0..12).map(|i| (i as f64 * 0.4).cos()).collect(), &[4, 3]).unwrap();
        gradcheck(looked_up, &[table(), weights.clone()], &GradcheckOptions::default()).unwrap();
        // ... and it is what the layer computes, gradient included.
        let store = ParamStore::<f64>::with_seed(0);
        let emb = Embedding::new(&store.root(), 4, 3);
        emb.weight.set(table());
        let tape = Tape::new();
        let grads = (emb.forward_indices(&tape, &[3, 0, 3, 2]) * &weights).tanh().sum().backward();
        let tape2 = Tape::new();
        let vars = [tape2.var(table()), tape2.constant(weights)];
        assert_eq!(grads.param(&emb.weight).unwrap(), &looked_up(&vars).backward()[vars[0]]);
    }

    #[test]
    fn embedding_is_drawn_from_a_standard_normal() {
        let store = ParamStore::<f64>::with_seed(0);
        let v = Embedding::new(&store.root(), 100, 100).weight.value().to_vec();
        let mean = v.iter().sum::<f64>() / 1e4;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 1e4;
        assert!(mean.abs() < 0.05 && (var - 1.0).abs() < 0.05, "mean {mean}, var {var}");
    }

    #[test]
    #[should_panic(expected = "embedding `emb.weight`: index 4 at position 1 is out of range for 4 vectors")]
    fn embedding_rejects_an_index_out_of_range() {
        let store = ParamStore::<f32>::new(0);
        let tape = Tape::new();
        Embedding::new(&store.root().sub("emb"), 4, 2).forward_indices(&tape, &[0, 4]);
    }

    #[test]
    #[should_panic(expected = "embedding `weight`: element 1 of the input, 1.5, is not an index")]
    fn embedding_rejects_a_fractional_input() {
        let store = ParamStore::<f32>::new(0);
        let tape = Tape::new();
        Embedding::new(&store.root(), 4, 2)
            .forward(tape.constant(Tensor::from_vec(vec![0.0, 1.5], &[2]).unwrap()));
    }
}
