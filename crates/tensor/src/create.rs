//! Creating tensors: constants, ranges, identity, and seeded random tensors from any `rand::Rng`.

use rand::Rng;

use crate::alloc;
use crate::float::Float;
use crate::kernel::from_vec_shaped;
use crate::shape_ops::invalid;
use crate::tensor::Tensor;

impl<F: Float> Tensor<F> {
    /// A tensor of `shape` filled with `value`.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// assert_eq!(Tensor::<f32>::full(&[2], 7.0).to_vec(), vec![7.0, 7.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `shape` holds more elements than a buffer can index or the allocator can give, naming the
    /// op and the shape: `full: shape [18446744073709551615, 2] has too many elements to index`. The
    /// other constructors below panic the same way, each under its own name.
    #[track_caller]
    pub fn full(shape: &[usize], value: F) -> Self {
        alloc::full("full", shape, value)
    }

    /// A tensor of zeros.
    ///
    /// # Panics
    ///
    /// When `shape` cannot be held, as [`Tensor::full`].
    #[track_caller]
    pub fn zeros(shape: &[usize]) -> Self {
        alloc::full("zeros", shape, F::zero())
    }

    /// A tensor of ones.
    ///
    /// # Panics
    ///
    /// When `shape` cannot be held, as [`Tensor::full`].
    #[track_caller]
    pub fn ones(shape: &[usize]) -> Self {
        alloc::full("ones", shape, F::one())
    }

    /// Zeros of the same shape as `self`.
    ///
    /// # Panics
    ///
    /// When a buffer of that shape cannot be allocated (`self` may be a broadcast view that holds few).
    #[track_caller]
    pub fn zeros_like(&self) -> Self {
        Self::zeros(self.shape())
    }

    /// Ones of the same shape as `self`.
    ///
    /// # Panics
    ///
    /// As [`Tensor::zeros_like`].
    #[track_caller]
    pub fn ones_like(&self) -> Self {
        Self::ones(self.shape())
    }

    /// `value` everywhere, in the shape of `self`.
    ///
    /// # Panics
    ///
    /// As [`Tensor::zeros_like`].
    #[track_caller]
    pub fn full_like(&self, value: F) -> Self {
        Self::full(self.shape(), value)
    }

    /// The `n × n` identity matrix.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// assert_eq!(Tensor::<f32>::eye(2).to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `[n, n]` cannot be held, as [`Tensor::full`].
    #[track_caller]
    pub fn eye(n: usize) -> Self {
        let ones = (0..n).flat_map(|i| (0..n).map(move |j| if i == j { F::one() } else { F::zero() }));
        alloc::collect("eye", &[n, n], ones)
    }

    /// `start, start + step, ...` up to but excluding `end`, as a 1-D tensor.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// assert_eq!(Tensor::<f32>::arange(0.0, 1.0, 0.25).to_vec(), vec![0.0, 0.25, 0.5, 0.75]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `step` is zero or not finite, `start` or `end` is not finite, or the range holds more
    /// elements than can be held: `arange: 0..1e30 by 1 holds 1.000e30 elements, too many to index`.
    #[track_caller]
    pub fn arange(start: F, end: F, step: F) -> Self {
        if step == F::zero() || !step.is_finite() {
            invalid("arange", format!("step must be finite and non-zero, got {step}"));
        }
        if !start.is_finite() || !end.is_finite() {
            invalid("arange", format!("the range {start}..{end} must have finite ends"));
        }
        // In f64, so that `end - start` of two large f32 of opposite signs does not overflow to inf.
        let count = ((end.to_f64() - start.to_f64()) / step.to_f64()).ceil().max(0.0);
        if count >= usize::MAX as f64 {
            invalid(
                "arange",
                format!("{start}..{end} by {step} holds {count:.3e} elements, too many to index"),
            );
        }
        let n = count as usize;
        alloc::collect("arange", &[n], (0..n).map(|i| start + step * F::from_usize(i)))
    }

    /// `n` evenly spaced values from `start` to `end`, both included.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::linspace(0.0, 1.0, 3).to_vec(), vec![0.0, 0.5, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `[n]` cannot be held, as [`Tensor::full`].
    #[track_caller]
    pub fn linspace(start: F, end: F, n: usize) -> Self {
        let step = if n > 1 { (end - start) / F::from_usize(n - 1) } else { F::zero() };
        let values = (0..n).map(|i| if i + 1 == n && n > 1 { end } else { start + step * F::from_usize(i) });
        alloc::collect("linspace", &[n], values)
    }

    /// Samples from the standard normal distribution (`rand_distr`'s ziggurat `StandardNormal`),
    /// reproducible from a seeded `rng`.
    ///
    /// ```
    /// use wengert::rand::{SeedableRng, rngs::StdRng};
    /// use wengert::tensor::Tensor;
    /// let a = Tensor::<f32>::randn(&[3], &mut StdRng::seed_from_u64(7));
    /// let b = Tensor::<f32>::randn(&[3], &mut StdRng::seed_from_u64(7));
    /// assert_eq!(a, b);
    /// ```
    ///
    /// # Panics
    ///
    /// When `shape` cannot be held, as [`Tensor::full`] (before drawing anything).
    #[track_caller]
    pub fn randn<R: Rng + ?Sized>(shape: &[usize], rng: &mut R) -> Self {
        let mut data = alloc::buffer("randn", shape);
        let n: usize = shape.iter().product();
        data.extend(rng.sample_iter::<f64, _>(rand_distr::StandardNormal).take(n).map(F::from_f64));
        from_vec_shaped(data, shape)
    }

    /// Samples uniformly from `[low, high)`.
    ///
    /// # Panics
    ///
    /// When `shape` cannot be held, as [`Tensor::full`] (before drawing anything).
    #[track_caller]
    #[doc(alias("rand", "uniform"))]
    pub fn rand_uniform<R: Rng + ?Sized>(shape: &[usize], low: F, high: F, rng: &mut R) -> Self {
        let n = alloc::numel::<F>("rand_uniform", shape);
        let span = high.to_f64() - low.to_f64();
        let draws = std::iter::repeat_with(|| F::from_f64(low.to_f64() + span * rng.random::<f64>()));
        alloc::collect("rand_uniform", shape, draws.take(n))
    }

    /// A mask of ones with probability `p` and zeros otherwise (as dropout draws it).
    ///
    /// # Panics
    ///
    /// When `p` is outside `[0, 1]`, and when `shape` cannot be held, as [`Tensor::full`].
    #[track_caller]
    pub fn bernoulli<R: Rng + ?Sized>(shape: &[usize], p: f64, rng: &mut R) -> Self {
        if !(0.0..=1.0).contains(&p) {
            invalid("bernoulli", format!("p must lie in [0, 1], got {p}"));
        }
        let n = alloc::numel::<F>("bernoulli", shape);
        let draws = std::iter::repeat_with(|| if rng.random::<f64>() < p { F::one() } else { F::zero() });
        alloc::collect("bernoulli", shape, draws.take(n))
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

    /// The message of the panic in `f`.
    pub(crate) fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).expect_err("it panics");
        err.downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| err.downcast_ref::<&str>().unwrap().to_string())
    }

    #[test]
    fn every_constructor_names_itself_and_the_shape_when_the_count_overflows() {
        let big = [usize::MAX, 2];
        let rng = || StdRng::seed_from_u64(0);
        type Case = Box<dyn FnOnce() + std::panic::UnwindSafe>;
        let cases: Vec<(&str, Case)> = vec![
            ("zeros", Box::new(move || drop(Tensor::<f32>::zeros(&big)))),
            ("ones", Box::new(move || drop(Tensor::<f32>::ones(&big)))),
            ("full", Box::new(move || drop(Tensor::<f64>::full(&big, 2.0)))),
            ("randn", Box::new(move || drop(Tensor::<f32>::randn(&big, &mut rng())))),
            ("rand_uniform", Box::new(move || drop(Tensor::<f32>::rand_uniform(&big, 0.0, 1.0, &mut rng())))),
            ("bernoulli", Box::new(move || drop(Tensor::<f32>::bernoulli(&big, 0.5, &mut rng())))),
        ];
        for (op, f) in cases {
            assert_eq!(panic_message(f), format!("{op}: shape {big:?} has too many elements to index"));
        }
        let eye = panic_message(|| drop(Tensor::<f32>::eye(1 << 32)));
        assert_eq!(eye, "eye: shape [4294967296, 4294967296] has too many elements to index");
        let lin = panic_message(|| drop(Tensor::<f64>::linspace(0.0, 1.0, usize::MAX)));
        assert_eq!(lin, format!("linspace: shape [{}] has too many elements to index", usize::MAX));
        let zero_axis = panic_message(|| drop(Tensor::<f32>::zeros(&[0, usize::MAX, 2])));
        assert!(zero_axis.starts_with("zeros: shape [0, 18446744073709551615, 2]"), "{zero_axis}");
    }

    #[test]
    fn every_constructor_names_itself_when_the_allocator_refuses() {
        // 2^46 f64 (512 TiB) can be indexed but not allocated (more than a 47-bit address space).
        let huge = [1usize << 23, 1 << 23];
        let want = |op: &str| {
            format!("{op}: shape {huge:?} needs 562949953421312 bytes (70368744177664 elements of f64)")
        };
        let msg = panic_message(move || drop(Tensor::<f64>::zeros(&huge)));
        assert!(msg.starts_with(&want("zeros")), "{msg}");
        let msg = panic_message(move || drop(Tensor::<f64>::randn(&huge, &mut StdRng::seed_from_u64(0))));
        assert!(msg.starts_with(&want("randn")), "{msg}");
        let msg = panic_message(|| drop(Tensor::<f64>::eye(1 << 23)));
        assert!(msg.starts_with(&want("eye")), "{msg}");
    }

    #[test]
    fn arange_names_a_range_too_long_or_with_an_infinite_end() {
        let msg = panic_message(|| drop(Tensor::<f32>::arange(0.0, 1e30, 1.0)));
        assert!(
            msg.starts_with("arange: 0..1000000000000000000000000000000 by 1 holds 1.000e30 elements"),
            "{msg}"
        );
        let msg = panic_message(|| drop(Tensor::<f32>::arange(0.0, 1e18, 1.0)));
        assert!(
            msg.starts_with("arange: shape [999999984306749440] needs 3999999937226997760 bytes"),
            "{msg}"
        );
        let msg = panic_message(|| drop(Tensor::<f32>::arange(0.0, f32::INFINITY, 1.0)));
        assert_eq!(msg, "arange: the range 0..inf must have finite ends");
        let msg = panic_message(|| drop(Tensor::<f64>::arange(f64::NAN, 1.0, 1.0)));
        assert_eq!(msg, "arange: the range NaN..1 must have finite ends");
        // Ends of opposite signs near f32's limit: their difference is counted in f64, not as inf.
        let msg = panic_message(|| drop(Tensor::<f32>::arange(-3e38, 3e38, 1.0)));
        assert!(msg.contains("holds 6.000e38 elements"), "{msg}");
    }

    #[test]
    #[should_panic(expected = "bernoulli: p must lie in [0, 1], got 1.5")]
    fn bernoulli_rejects_bad_p() {
        Tensor::<f32>::bernoulli(&[2], 1.5, &mut StdRng::seed_from_u64(0));
    }
}
