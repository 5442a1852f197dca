//! `Dropout` and `Dropout2d`: inverted dropout, of elements and of whole channels. In training every element is zeroed with probability `p` and the
//! survivors are scaled by `1 / (1 - p)`, so the expected output equals the input and evaluation
//! needs no rescaling; in evaluation it is the identity. The mask comes from the store's seeded
//! generator, so a run is reproducible from its seed.

use rand::Rng;
use wengert_tape::Var;
use wengert_tensor::{Float, Tensor};

use crate::module::Module;
use crate::store::{ParamStore, Path};

/// Zeroes elements with probability `p` in training mode (PyTorch's `nn.Dropout`, default `p` 0.5);
/// the identity in evaluation mode. The mode is read from the store at every forward.
///
/// ```
/// use wengert::nn::{Dropout, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let drop = Dropout::new(&store.root(), 0.5);
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::ones(&[1000]));
/// let y = drop.forward(x).value().to_vec();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));      // dropped, or scaled by 1 / (1 - p)
/// store.eval();
/// assert_eq!(drop.forward(x).value().to_vec(), vec![1.0; 1000]);
/// ```
#[derive(Debug, Clone)]
pub struct Dropout<F: Float = f32> {
    p: f64,
    store: ParamStore<F>,
}

impl<F: Float> Dropout<F> {
    /// Dropout with probability `p`, its mode and mask generator taken from `path`'s store. It
    /// creates no parameter.
    ///
    /// # Panics
    ///
    /// When `p` is outside `[0, 1]` (1 drops everything: the output is zeros).
    #[track_caller]
    pub fn new(path: &Path<F>, p: f64) -> Self {
        if !(0.0..=1.0).contains(&p) {
            panic!("dropout: probability must lie in [0, 1], got {p}");
        }
        Dropout { p, store: path.store().clone() }
    }

    /// The probability of dropping an element.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The same dropout (same store) with probability `p`.
    #[track_caller]
    pub(crate) fn with_p(&self, p: f64) -> Self {
        if !(0.0..=1.0).contains(&p) {
            panic!("dropout: probability must lie in [0, 1], got {p}");
        }
        Dropout { p, store: self.store.clone() }
    }
}

impl<F: Float> Module<F> for Dropout<F> {
    /// In training, `x ⊙ m / (1 - p)` with `m` a fresh Bernoulli(1 - p) mask of `x`'s shape; in
    /// evaluation, `x`.
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        if !self.store.is_training() || self.p == 0.0 {
            return x;
        }
        // The mask is drawn and multiplied in one pass, and kept as a constant for the rule.
        self.store.with_rng(|rng| x.dropout(self.p, rng))
    }
}

/// Inverted dropout's mask in one pass: each element `1 / keep` with probability `keep`, else 0,
/// drawn in row-major order exactly as [`Tensor::bernoulli`] draws (one `f64` per element, kept
/// when below `keep`), so a seed gives the same mask as `bernoulli(shape, keep) · (1 / keep)` did,
/// without the second pass and tensor of the scaling. `Dropout2d` draws its channel mask with it.
fn scaled_mask<F: Float, R: Rng + ?Sized>(shape: &[usize], keep: f64, rng: &mut R) -> Tensor<F> {
    let (scale, n) = (F::from_f64(1.0 / keep), shape.iter().product());
    let v = (0..n).map(|_| if rng.random::<f64>() < keep { scale } else { F::zero() }).collect();
    Tensor::from_vec(v, shape).expect("one element per position of the shape")
}

/// Zeroes whole channels with probability `p` in training mode (PyTorch's `nn.Dropout2d`): for an
/// input `[N, C, ...]` each of the `N · C` feature maps is dropped entirely or kept and scaled by
/// `1 / (1 - p)`; the identity in evaluation mode.
///
/// ```
/// use wengert::nn::{Dropout2d, Module, ParamStore};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let store = ParamStore::<f32>::new(0);
/// let drop = Dropout2d::new(&store.root(), 0.5);
/// let tape = Tape::new();
/// let y = drop.forward(tape.constant(Tensor::ones(&[4, 8, 3, 3]))).value().to_vec();
/// assert!(y.chunks(9).all(|map| map == [0.0; 9] || map == [2.0; 9]));
/// store.eval();
/// assert_eq!(drop.forward(tape.constant(Tensor::ones(&[1, 2, 2, 2]))).value().to_vec(), vec![1.0; 8]);
/// ```
#[derive(Debug, Clone)]
pub struct Dropout2d<F: Float = f32> {
    p: f64,
    store: ParamStore<F>,
}

impl<F: Float> Dropout2d<F> {
    /// Channel dropout with probability `p`, its mode and mask generator taken from `path`'s store.
    ///
    /// # Panics
    ///
    /// When `p` is outside `[0, 1]`.
    #[track_caller]
    pub fn new(path: &Path<F>, p: f64) -> Self {
        if !(0.0..=1.0).contains(&p) {
            panic!("dropout2d: probability must lie in [0, 1], got {p}");
        }
        Dropout2d { p, store: path.store().clone() }
    }

    /// The probability of dropping a channel.
    pub fn p(&self) -> f64 {
        self.p
    }
}

impl<F: Float> Module<F> for Dropout2d<F> {
    /// In training, `x ⊙ m / (1 - p)` with `m` a fresh Bernoulli(1 - p) mask of shape `[N, C, 1, ...]`
    /// broadcast over each feature map; in evaluation, `x`.
    ///
    /// # Panics
    ///
    /// When `x` has fewer than 2 dimensions (it has no channels).
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, F>) -> Var<'t, F> {
        let shape = x.shape();
        if shape.len() < 2 {
            panic!("dropout2d: input of shape {shape:?} has no channel axis (expected [N, C, ...])");
        }
        if !self.store.is_training() || self.p == 0.0 {
            return x;
        }
        if self.p == 1.0 {
            return x * F::zero();
        }
        let keep = 1.0 - self.p;
        let mut mask_shape = vec![1; shape.len()];
        mask_shape[..2].copy_from_slice(&shape[..2]);
        let mask = self.store.with_rng(|rng| scaled_mask(&mask_shape, keep, rng));
        x * &mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wengert_tape::Tape;
    use wengert_tape::check::{GradcheckOptions, gradcheck};

    fn input() -> Tensor<f64> {
        Tensor::from_vec((0..40).map(|i| (i as f64 * 0.37).sin() + 0.1).collect(), &[4, 10]).unwrap()
    }

    #[test]
    fn the_one_pass_mask_is_the_scaled_bernoulli_mask_of_the_same_stream() {
        use rand::SeedableRng;
        for keep in [0.9, 0.5, 0.25] {
            let mut r1 = rand::rngs::StdRng::seed_from_u64(7);
            let mut r2 = r1.clone();
            let fused: Tensor<f32> = scaled_mask(&[3, 7, 5], keep, &mut r1);
            let two_pass =
                Tensor::<f32>::bernoulli(&[3, 7, 5], keep, &mut r2).mul_scalar((1.0 / keep) as f32);
            assert_eq!(fused.shape(), &[3, 7, 5]);
            assert_eq!(fused.to_vec(), two_pass.to_vec(), "keep {keep}");
            assert!(fused.to_vec().contains(&0.0), "some elements are dropped at keep {keep}");
            assert_eq!(r1.random::<u64>(), r2.random::<u64>(), "both draw as many numbers");
        }
    }

    #[test]
    fn dropout_output_is_the_two_pass_product_of_the_same_seed_bit_for_bit() {
        let x = Tensor::<f32>::randn(
            &[16, 64, 32],
            &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1),
        );
        let store = ParamStore::<f32>::new(9);
        let seed = store.rng_state();
        let tape = Tape::new();
        let y = Dropout::new(&store.root(), 0.1).forward(tape.var(x.clone())).value();
        store.set_rng_state(seed);
        let mask = store.with_rng(|rng| scaled_mask::<f32, _>(x.shape(), 0.9, rng));
        let bits = |t: &Tensor<f32>| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(&x.mul(&mask)));
    }

    #[test]
    fn dropout_zeroes_about_p_and_scales_the_rest_in_training() {
        let store = ParamStore::<f64>::with_seed(1);
        let drop = Dropout::new(&store.root(), 0.3);
        let tape = Tape::new();
        let y = drop.forward(tape.constant(Tensor::ones(&[100, 100]))).value().to_vec();
        let zeros = y.iter().filter(|&&v| v == 0.0).count();
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-12));
        assert!((zeros as f64 / 1e4 - 0.3).abs() < 0.02, "{zeros} zeros of 10000");
        assert_eq!(drop.p(), 0.3);
    }

    #[test]
    fn dropout_is_the_identity_in_eval_mode_and_at_p_zero() {
        let store = ParamStore::<f64>::with_seed(1);
        let tape = Tape::new();
        let x = tape.constant(input());
        assert_eq!(Dropout::new(&store.root(), 0.0).forward(x).value(), input());
        store.eval();
        assert_eq!(Dropout::new(&store.root(), 0.9).forward(x).value(), input());
        store.train();
        assert_eq!(Dropout::new(&store.root(), 1.0).forward(x).value().to_vec(), vec![0.0; 40]);
    }

    #[test]
    fn dropout_masks_follow_the_store_seed() {
        let run = |seed| {
            let store = ParamStore::<f64>::with_seed(seed);
            let tape = Tape::new();
            Dropout::new(&store.root(), 0.5).forward(tape.constant(input())).value()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn dropout_gradient_is_the_scaled_mask() {
        let store = ParamStore::<f64>::with_seed(3);
        let drop = Dropout::new(&store.root(), 0.25);
        let tape = Tape::new();
        let x = tape.var(input());
        let y = drop.forward(x);
        let g = y.sum().backward();
        let mask: Vec<f64> = y.value().to_vec().iter().map(|&v| if v == 0.0 { 0.0 } else { 1.0 }).collect();
        let expected: Vec<f64> = mask.iter().map(|m| m / 0.75).collect();
        assert_eq!(g[x].to_vec(), expected);
    }

    #[test]
    fn dropout_gradients_match_finite_differences_with_a_fixed_mask_and_in_eval() {
        let store = ParamStore::<f64>::with_seed(5);
        let drop = Dropout::new(&store.root(), 0.4);
        let seed = store.rng_state();
        for training in [true, false] {
            if !training {
                store.eval();
            }
            gradcheck(
                |v| {
                    store.set_rng_state(seed.clone()); // the same mask at every evaluation
                    drop.forward(v[0]).tanh().sum()
                },
                &[input()],
                &GradcheckOptions::default(),
            )
            .unwrap();
        }
    }

    #[test]
    #[should_panic(expected = "dropout: probability must lie in [0, 1], got 1.5")]
    fn dropout_rejects_a_probability_above_one() {
        Dropout::new(&ParamStore::<f32>::new(0).root(), 1.5);
    }

    #[test]
    fn dropout2d_drops_whole_channels_at_about_p() {
        let store = ParamStore::<f64>::with_seed(4);
        let drop = Dropout2d::new(&store.root(), 0.25);
        let tape = Tape::new();
        let y = drop.forward(tape.constant(Tensor::ones(&[50, 40, 2, 3]))).value().to_vec();
        let maps: Vec<&[f64]> = y.chunks(6).collect();
        assert!(maps.iter().all(|m| m.iter().all(|&v| v == m[0])), "a channel is dropped or kept whole");
        let dropped = maps.iter().filter(|m| m[0] == 0.0).count();
        assert!((dropped as f64 / 2000.0 - 0.25).abs() < 0.03, "{dropped} of 2000 channels dropped");
        assert!(maps.iter().all(|m| m[0] == 0.0 || (m[0] - 1.0 / 0.75).abs() < 1e-12));
        assert_eq!(drop.p(), 0.25);
    }

    #[test]
    fn dropout2d_is_the_identity_in_eval_and_its_gradient_is_the_mask() {
        let store = ParamStore::<f64>::with_seed(5);
        let drop = Dropout2d::new(&store.root(), 0.5);
        let tape = Tape::new();
        let x = tape.var(input().reshape(&[2, 4, 5]).unwrap());
        let y = drop.forward(x);
        let g = y.sum().backward()[x].to_vec();
        let yv = y.value().to_vec();
        assert!(g.iter().zip(&yv).all(|(&g, &y)| if y == 0.0 { g == 0.0 } else { g == 2.0 }));
        store.eval();
        assert_eq!(drop.forward(x).value(), x.value());
    }

    #[test]
    #[should_panic(expected = "dropout2d: input of shape [5] has no channel axis (expected [N, C, ...])")]
    fn dropout2d_rejects_an_input_without_channels() {
        let store = ParamStore::<f32>::new(0);
        Dropout2d::new(&store.root(), 0.5).forward(Tape::new().constant(Tensor::ones(&[5])));
    }
}
