//! Creating tensors: constants, ranges, identity, and seeded random tensors from any `rand::Rng`.

use ndarray::{ArrayD, IxDyn};
use rand::Rng;

use crate::error::{TensorError, fail};
use crate::float::Float;
use crate::tensor::Tensor;

impl<F: Float> Tensor<F> {
    /// A tensor of `shape` filled with `value`.
    pub fn full(shape: &[usize], value: F) -> Self {
        Self::from_array(ArrayD::from_elem(IxDyn(shape), value))
    }

    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, F::zero())
    }

    /// A tensor of ones.
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, F::one())
    }

    /// Zeros of the same shape as `self`.
    pub fn zeros_like(&self) -> Self {
        Self::zeros(self.shape())
    }

    /// Ones of the same shape as `self`.
    pub fn ones_like(&self) -> Self {
        Self::ones(self.shape())
    }

    /// `value` everywhere, in the shape of `self`.
    pub fn full_like(&self, value: F) -> Self {
        Self::full(self.shape(), value)
    }

    /// The `n × n` identity matrix.
    pub fn eye(n: usize) -> Self {
        Self::from_array(ArrayD::from_shape_fn(IxDyn(&[n, n]), |ix| {
            if ix[0] == ix[1] { F::one() } else { F::zero() }
        }))
    }

    /// `start, start + step, ...` up to but excluding `end`, as a 1-D tensor.
    ///
    /// ```
    /// use wengert_tensor::Tensor;
    /// assert_eq!(Tensor::<f32>::arange(0.0, 1.0, 0.25).to_vec(), vec![0.0, 0.25, 0.5, 0.75]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `step` is zero or not finite.
    #[track_caller]
    pub fn arange(start: F, end: F, step: F) -> Self {
        if step == F::zero() || !step.is_finite() {
            fail(TensorError::InvalidArgument {
                op: "arange",
                reason: format!("step must be finite and non-zero, got {step}"),
            });
        }
        let n = ((end - start) / step).ceil().to_f64().max(0.0) as usize;
        Self::from_array(ArrayD::from_shape_fn(IxDyn(&[n]), |ix| start + step * F::from_usize(ix[0])))
    }

    /// `n` evenly spaced values from `start` to `end`, both included.
    pub fn linspace(start: F, end: F, n: usize) -> Self {
        let step = if n > 1 { (end - start) / F::from_usize(n - 1) } else { F::zero() };
        Self::from_array(ArrayD::from_shape_fn(IxDyn(&[n]), |ix| {
            if ix[0] + 1 == n && n > 1 { end } else { start + step * F::from_usize(ix[0]) }
        }))
    }

    /// Samples from the standard normal distribution (Box–Muller), reproducible from a seeded `rng`.
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::StdRng};
    /// use wengert_tensor::Tensor;
    /// let a = Tensor::<f32>::randn(&[3], &mut StdRng::seed_from_u64(7));
    /// let b = Tensor::<f32>::randn(&[3], &mut StdRng::seed_from_u64(7));
    /// assert_eq!(a, b);
    /// ```
    pub fn randn<R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Self {
        let n: usize = shape.iter().product();
        let mut data = Vec::with_capacity(n);
        while data.len() < n {
            // 1 - u lies in (0, 1], so its log is finite.
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random::<f64>();
            let r = (-2.0 * u1.ln()).sqrt();
            let theta = std::f64::consts::TAU * u2;
            data.push(F::from_f64(r * theta.cos()));
            if data.len() < n {
                data.push(F::from_f64(r * theta.sin()));
            }
        }
        Self::from_array(ArrayD::from_shape_vec(IxDyn(shape), data).expect("length matches shape"))
    }

    /// Samples uniformly from `[low, high)`.
    pub fn rand_uniform<R: Rng + ?Sized>(shape: &[usize], low: F, high: F, rng: &mut R) -> Self {
        let span = high.to_f64() - low.to_f64();
        Self::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            F::from_f64(low.to_f64() + span * rng.random::<f64>())
        }))
    }

    /// A mask of ones with probability `p` and zeros otherwise (as dropout draws it).
    ///
    /// # Panics
    ///
    /// When `p` is outside `[0, 1]`.
    #[track_caller]
    pub fn bernoulli<R: Rng + ?Sized>(shape: &[usize], p: f64, rng: &mut R) -> Self {
        if !(0.0..=1.0).contains(&p) {
            fail(TensorError::InvalidArgument {
                op: "bernoulli",
                reason: format!("p must lie in [0, 1], got {p}"),
            });
        }
        Self::from_array(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            if rng.random::<f64>() < p { F::one() } else { F::zero() }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn constants_have_their_shapes_and_values() {
        assert_eq!(Tensor::<f32>::zeros(&[2, 3]).to_vec(), vec![0.0; 6]);
        assert_eq!(Tensor::<f32>::ones(&[2]).to_vec(), vec![1.0; 2]);
        assert_eq!(Tensor::<f64>::full(&[1, 2], 7.0).to_vec(), vec![7.0, 7.0]);
        let t = Tensor::<f32>::zeros(&[4, 1]);
        assert_eq!(t.ones_like().shape(), &[4, 1]);
        assert_eq!(t.full_like(2.0).to_vec(), vec![2.0; 4]);
        assert_eq!(t.zeros_like().shape(), &[4, 1]);
        assert_eq!(Tensor::<f32>::eye(2).to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn ranges_match_numpy() {
        assert_eq!(Tensor::<f64>::arange(0.0, 5.0, 2.0).to_vec(), vec![0.0, 2.0, 4.0]);
        assert_eq!(Tensor::<f64>::arange(3.0, 0.0, -1.0).to_vec(), vec![3.0, 2.0, 1.0]);
        assert_eq!(Tensor::<f64>::arange(0.0, -1.0, 1.0).len(), 0);
        assert_eq!(Tensor::<f64>::linspace(0.0, 1.0, 5).to_vec(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(Tensor::<f64>::linspace(2.0, 3.0, 1).to_vec(), vec![2.0]);
    }

    #[test]
    #[should_panic(expected = "arange: step must be finite and non-zero, got 0")]
    fn arange_rejects_zero_step() {
        Tensor::<f32>::arange(0.0, 1.0, 0.0);
    }

    #[test]
    fn randn_is_seeded_and_roughly_standard() {
        let a = Tensor::<f64>::randn(&[10_000], &mut StdRng::seed_from_u64(1));
        let v = a.to_vec();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
        let b = Tensor::<f64>::randn(&[10_000], &mut StdRng::seed_from_u64(1));
        assert_eq!(a, b);
        assert_eq!(Tensor::<f32>::randn(&[3], &mut StdRng::seed_from_u64(1)).len(), 3);
    }

    #[test]
    fn uniform_and_bernoulli_stay_in_range() {
        let mut rng = StdRng::seed_from_u64(2);
        let u = Tensor::<f32>::rand_uniform(&[1000], -2.0, 3.0, &mut rng);
        assert!(u.to_vec().iter().all(|&x| (-2.0..3.0).contains(&x)));
        let m = Tensor::<f32>::bernoulli(&[1000], 0.3, &mut rng);
        let ones = m.to_vec().iter().filter(|&&x| x == 1.0).count();
        assert!(m.to_vec().iter().all(|&x| x == 0.0 || x == 1.0));
        assert!((200..400).contains(&ones), "{ones} ones");
    }

    #[test]
    #[should_panic(expected = "bernoulli: p must lie in [0, 1], got 1.5")]
    fn bernoulli_rejects_bad_p() {
        Tensor::<f32>::bernoulli(&[2], 1.5, &mut StdRng::seed_from_u64(0));
    }
}
