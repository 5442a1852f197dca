//! Initialisation of parameters from a seeded generator: constants, uniform, normal, Xavier/Glorot
//! and Kaiming/He (uniform and normal, with a gain). Fans follow PyTorch: for a weight of shape
//! `[out, in, k...]`, fan_in = in · Πk and fan_out = out · Πk.
//!
//! Xavier uniform: U(-a, a), a = gain · √(6 / (fan_in + fan_out)); Xavier normal: N(0, gain² · 2 /
//! (fan_in + fan_out)); Kaiming uniform: U(-b, b), b = gain · √(3 / fan); Kaiming normal: N(0, gain² /
//! fan), with fan = fan_in (the default) or fan_out.

use rand::Rng;
use wengert_tensor::{Float, Tensor};

/// Which fan Kaiming initialisation scales by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanMode {
    /// The number of inputs (keeps the forward variance).
    FanIn,
    /// The number of outputs (keeps the backward variance).
    FanOut,
}

/// How to fill a new parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// One value everywhere.
    Constant(f64),
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Normal with a mean and a standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Xavier/Glorot uniform (Keras' default for `Dense`).
    XavierUniform {
        /// Gain (1 for linear and sigmoid layers, 5/3 for tanh).
        gain: f64,
    },
    /// Xavier/Glorot normal.
    XavierNormal {
        /// Gain.
        gain: f64,
    },
    /// Kaiming/He uniform.
    KaimingUniform {
        /// Gain (√2 for ReLU).
        gain: f64,
        /// The fan to scale by.
        mode: FanMode,
    },
    /// Kaiming/He normal.
    KaimingNormal {
        /// Gain (√2 for ReLU).
        gain: f64,
        /// The fan to scale by.
        mode: FanMode,
    },
}

impl Init {
    /// Xavier/Glorot uniform with gain 1.
    pub const GLOROT_UNIFORM: Init = Init::XavierUniform { gain: 1.0 };

    /// Kaiming uniform for ReLU layers (gain √2, fan in).
    pub const HE_UNIFORM: Init =
        Init::KaimingUniform { gain: std::f64::consts::SQRT_2, mode: FanMode::FanIn };

    /// A tensor of `shape` drawn from this initialiser.
    pub fn tensor<F: Float, R: Rng + ?Sized>(&self, shape: &[usize], rng: &mut R) -> Tensor<F> {
        let (fan_in, fan_out) = fans(shape);
        let uniform = |a: f64, rng: &mut R| Tensor::rand_uniform(shape, F::from_f64(-a), F::from_f64(a), rng);
        let normal = |mean: f64, std: f64, rng: &mut R| {
            Tensor::<F>::randn(shape, rng).map(|v| v * F::from_f64(std) + F::from_f64(mean))
        };
        let fan = |mode: FanMode| match mode {
            FanMode::FanIn => fan_in,
            FanMode::FanOut => fan_out,
        };
        match *self {
            Init::Zeros => Tensor::zeros(shape),
            Init::Ones => Tensor::ones(shape),
            Init::Constant(c) => Tensor::full(shape, F::from_f64(c)),
            Init::Uniform { low, high } => {
                Tensor::rand_uniform(shape, F::from_f64(low), F::from_f64(high), rng)
            }
            Init::Normal { mean, std } => normal(mean, std, rng),
            Init::XavierUniform { gain } => uniform(gain * (6.0 / (fan_in + fan_out) as f64).sqrt(), rng),
            Init::XavierNormal { gain } => normal(0.0, gain * (2.0 / (fan_in + fan_out) as f64).sqrt(), rng),
            Init::KaimingUniform { gain, mode } => uniform(gain * (3.0 / fan(mode) as f64).sqrt(), rng),
            Init::KaimingNormal { gain, mode } => normal(0.0, gain / (fan(mode) as f64).sqrt(), rng),
        }
    }
}

/// `(fan_in, fan_out)` of a weight shape `[out, in, k...]`; a 1-D shape has both equal to its length.
pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, *n),
        [out, inp, rest @ ..] => {
            let k: usize = rest.iter().product();
            ((inp * k).max(1), (out * k).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeedRng;

    fn stats(t: &Tensor<f64>) -> (f64, f64, f64) {
        let v = t.to_vec();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        let max = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        (mean, var, max)
    }

    #[test]
    fn fans_follow_pytorch() {
        assert_eq!(fans(&[3, 4]), (4, 3));
        assert_eq!(fans(&[8, 2, 3, 3]), (18, 72));
        assert_eq!(fans(&[5]), (5, 5));
    }

    #[test]
    fn initialisers_have_their_bounds_and_variances() {
        let mut rng = SeedRng::new(0);
        let shape = [200, 300];
        let a = (6.0f64 / 500.0).sqrt();
        let (_, var, max) = stats(&Init::GLOROT_UNIFORM.tensor(&shape, &mut rng));
        assert!(max <= a && (var - a * a / 3.0).abs() < 0.05 * a * a / 3.0);
        let (_, var, _) = stats(&Init::XavierNormal { gain: 2.0 }.tensor(&shape, &mut rng));
        assert!((var - 4.0 * 2.0 / 500.0).abs() < 0.05 * 8.0 / 500.0);
        let b = (2.0f64).sqrt() * (3.0f64 / 300.0).sqrt();
        let (_, var, max) = stats(&Init::HE_UNIFORM.tensor(&shape, &mut rng));
        assert!(max <= b && (var - b * b / 3.0).abs() < 0.05 * b * b / 3.0);
        let k = Init::KaimingNormal { gain: 1.0, mode: FanMode::FanOut };
        let (mean, var, _) = stats(&k.tensor(&shape, &mut rng));
        assert!(mean.abs() < 0.01 && (var - 1.0 / 200.0).abs() < 0.05 / 200.0);
        let (mean, var, _) = stats(&Init::Normal { mean: 3.0, std: 0.5 }.tensor(&shape, &mut rng));
        assert!((mean - 3.0).abs() < 0.01 && (var - 0.25).abs() < 0.01);
        let (mean, _, max) = stats(&Init::Uniform { low: 1.0, high: 2.0 }.tensor(&shape, &mut rng));
        assert!((mean - 1.5).abs() < 0.01 && max < 2.0);
        assert_eq!(Init::Zeros.tensor::<f64, _>(&[2], &mut rng).to_vec(), vec![0.0; 2]);
        assert_eq!(Init::Ones.tensor::<f64, _>(&[2], &mut rng).to_vec(), vec![1.0; 2]);
        assert_eq!(Init::Constant(0.5).tensor::<f32, _>(&[1], &mut rng).to_vec(), vec![0.5]);
    }

    #[test]
    fn the_same_seed_gives_the_same_weights() {
        let a: Tensor<f32> = Init::GLOROT_UNIFORM.tensor(&[3, 2], &mut SeedRng::new(5));
        let b: Tensor<f32> = Init::GLOROT_UNIFORM.tensor(&[3, 2], &mut SeedRng::new(5));
        assert_eq!(a, b);
    }
}
