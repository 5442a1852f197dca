//! RMSprop, as PyTorch's `torch.optim.RMSprop`: `g ← g + λp`, `s ← αs + (1 − α)g²`; centered:
//! `ḡ ← αḡ + (1 − α)g`, `d = √(s − ḡ²) + ε`, else `d = √s + ε`; with momentum μ: `b ← μb + g/d`,
//! `p ← p − ηb`, else `p ← p − η g/d`.

use wengert_tape::Gradients;
use wengert_tensor::Float;
use wengert_tensor::ndarray::Zip;

use super::core::{Core, SlotSpec, Update, check};
use super::{Clip, OptimError, Optimizer, OptimizerState, StepReport};
use crate::param::{GradientsParam, Param};

/// RMSprop with smoothing α (default 0.99), ε (default 10⁻⁸), momentum μ (default 0), the centered
/// variant (default off) and L2 weight decay λ (default 0), as PyTorch's `RMSprop` (ε is added after
/// the square root; the momentum buffer starts at zero).
///
/// State: `square_avg`, plus `grad_avg` when centered and `momentum_buffer` when μ > 0.
///
/// ```
/// use wengert_nn::optim::{Optimizer, RMSprop};
/// use wengert_nn::{Param, TapeParam};
/// use wengert_tape::Tape;
/// use wengert_tensor::Tensor;
/// let w = Param::new("w", Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap());
/// let mut opt = RMSprop::new(vec![w.clone()], 0.01).alpha(0.75);
/// let tape = Tape::new();
/// let x = tape.param(&w);
/// opt.step(&(x * x).sum().backward()).unwrap(); // g = 2, s = 0.25 · 4, p − η g/(√s + ε)
/// assert!((w.value().item() - (1.0 - 0.01 * 2.0 / (1.0 + 1e-8))).abs() < 1e-15);
/// ```
pub struct RMSprop<F: Float = f32> {
    core: Core<F>,
    alpha: f64,
    eps: f64,
    momentum: f64,
    centered: bool,
    weight_decay: f64,
}

impl<F: Float> RMSprop<F> {
    /// RMSprop with learning rate `lr` (PyTorch's default is 0.01) and PyTorch's defaults otherwise.
    ///
    /// # Panics
    ///
    /// When `lr` is negative or not finite, or two parameters share a name.
    #[track_caller]
    pub fn new(params: Vec<Param<F>>, lr: f64) -> Self {
        RMSprop {
            core: Core::new("rmsprop", "RMSprop", params, lr),
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
            centered: false,
            weight_decay: 0.0,
        }
    }

    /// The smoothing constant α of the squared-gradient average (default 0.99).
    ///
    /// # Panics
    ///
    /// When `alpha` lies outside `[0, 1]`.
    #[track_caller]
    pub fn alpha(mut self, alpha: f64) -> Self {
        check((0.0..=1.0).contains(&alpha), "RMSprop", "alpha", alpha);
        self.alpha = alpha;
        self
    }

    /// The ε added to the root (default 10⁻⁸).
    ///
    /// # Panics
    ///
    /// When `eps` is negative or not finite.
    #[track_caller]
    pub fn eps(mut self, eps: f64) -> Self {
        check(eps.is_finite() && eps >= 0.0, "RMSprop", "eps", eps);
        self.eps = eps;
        self
    }

    /// The momentum μ (default 0).
    ///
    /// # Panics
    ///
    /// When `momentum` is negative or not finite.
    #[track_caller]
    pub fn momentum(mut self, momentum: f64) -> Self {
        check(momentum.is_finite() && momentum >= 0.0, "RMSprop", "momentum", momentum);
        self.momentum = momentum;
        self
    }

    /// The centered variant (default off): normalises by an estimate of the gradient's variance.
    pub fn centered(mut self, on: bool) -> Self {
        self.centered = on;
        self
    }

    /// The L2 weight decay λ added to the gradient, `g + λp` (default 0).
    ///
    /// # Panics
    ///
    /// When `weight_decay` is negative or not finite.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        check(weight_decay.is_finite() && weight_decay >= 0.0, "RMSprop", "weight decay", weight_decay);
        self.weight_decay = weight_decay;
        self
    }

    /// Clips the gradients inside each step, before the update (and before weight decay).
    ///
    /// # Panics
    ///
    /// When the threshold is negative or NaN.
    #[track_caller]
    pub fn clip(mut self, clip: Clip) -> Self {
        self.core.set_clip("RMSprop", clip);
        self
    }

    /// With `true`, a step skips parameters without a gradient (reporting them) instead of failing.
    pub fn allow_missing(mut self, on: bool) -> Self {
        self.core.allow_missing = on;
        self
    }

    /// One step from any gradients readable by parameter, such as [`ClippedGrads`](super::ClippedGrads).
    ///
    /// # Errors
    ///
    /// As [`Optimizer::step`].
    pub fn step_with(&mut self, grads: &dyn GradientsParam<F>) -> Result<StepReport, OptimError> {
        let f = F::from_f64;
        let (lr, alpha, eps) = (f(self.core.lr), f(self.alpha), f(self.eps));
        let k = Consts {
            lr,
            alpha,
            c: f(1.0 - self.alpha),
            eps,
            mu: f(self.momentum),
            wd: f(self.weight_decay),
            centered: self.centered,
        };
        let l2 = self.weight_decay != 0.0;
        let spec = self.spec();
        self.core.step(grads, spec, |u| if l2 { update::<F, true>(u, k) } else { update::<F, false>(u, k) })
    }

    fn spec(&self) -> &'static [SlotSpec] {
        const S: SlotSpec = ("square_avg", 0.0);
        const A: SlotSpec = ("grad_avg", 0.0);
        const B: SlotSpec = ("momentum_buffer", 0.0);
        match (self.centered, self.momentum > 0.0) {
            (false, false) => &[S],
            (true, false) => &[S, A],
            (false, true) => &[S, B],
            (true, true) => &[S, A, B],
        }
    }
}

/// The constants of the update, in `F`.
#[derive(Clone, Copy)]
struct Consts<F> {
    lr: F,
    alpha: F,
    /// 1 − α.
    c: F,
    eps: F,
    mu: F,
    wd: F,
    /// With two slots: `grad_avg` (centered) or `momentum_buffer`.
    centered: bool,
}

/// One pass over (p, g, s[, ḡ][, b]), the slots present choosing the variant; `L2` is a type
/// parameter so that each inner loop is branch-free.
#[inline(always)]
fn update<F: Float, const L2: bool>(u: Update<'_, F>, k: Consts<F>) {
    let prep = u.prep;
    let rule = |p: &mut F, g: F, s: &mut F, avg: Option<&mut F>, b: Option<&mut F>| {
        let g = if L2 { prep.apply(g) + k.wd * *p } else { prep.apply(g) };
        *s = *s * k.alpha + k.c * g * g;
        let d = match avg {
            Some(avg) => {
                *avg = *avg + k.c * (g - *avg);
                (*s - *avg * *avg).sqrt() + k.eps
            }
            None => s.sqrt() + k.eps,
        };
        match b {
            Some(b) => {
                *b = *b * k.mu + g / d;
                *p -= k.lr * *b;
            }
            None => *p -= k.lr * (g / d),
        }
    };
    let z = Zip::from(u.p).and(&u.g);
    match u.bufs {
        [s] => z.and(s).for_each(|p, &g, s| rule(p, g, s, None, None)),
        [s, x] if k.centered => z.and(s).and(x).for_each(|p, &g, s, avg| rule(p, g, s, Some(avg), None)),
        [s, b] => z.and(s).and(b).for_each(|p, &g, s, b| rule(p, g, s, None, Some(b))),
        [s, avg, b] => {
            z.and(s).and(avg).and(b).for_each(|p, &g, s, avg, b| rule(p, g, s, Some(avg), Some(b)))
        }
        _ => unreachable!("the buffers follow the spec"),
    }
}

impl<F: Float> Optimizer<F> for RMSprop<F> {
    fn step(&mut self, grads: &Gradients<F>) -> Result<StepReport, OptimError> {
        self.step_with(grads)
    }
    fn lr(&self) -> f64 {
        self.core.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.core.lr = lr;
    }
    fn params(&self) -> &[Param<F>] {
        &self.core.params
    }
    fn state(&self) -> OptimizerState<F> {
        self.core.state(self.spec())
    }
    fn load_state(&mut self, state: &OptimizerState<F>) -> Result<(), OptimError> {
        self.core.load_state(self.spec(), state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::core::testing::{assert_close, g, grads, param};

    const P0: [f64; 3] = [1.0, -2.0, 0.5];
    const CS: [&[f64]; 3] = [&[1.0, -3.0, 0.5], &[0.0, 0.0, 0.0], &[-1.0, 5.0, 0.0]];

    fn run(opt: impl FnOnce(Vec<Param<f64>>) -> RMSprop<f64>, cs: &[&[f64]]) -> Vec<f64> {
        let p = param("p", &P0);
        let mut opt = opt(vec![p.clone()]);
        for c in cs {
            opt.step(&grads(&[&p], &[c])).unwrap();
        }
        p.value().to_vec()
    }

    /// PyTorch's RMSprop on scalars: (lr, alpha, eps, momentum, centered, weight decay).
    fn reference(lr: f64, alpha: f64, eps: f64, mu: f64, centered: bool, wd: f64) -> Vec<f64> {
        let (mut p, mut s, mut avg, mut b) = (P0.to_vec(), [0.0; 3], [0.0; 3], [0.0; 3]);
        for c in CS {
            let gs = g(&p, c);
            for i in 0..3 {
                let gi = gs[i] + wd * p[i];
                s[i] = alpha * s[i] + (1.0 - alpha) * gi * gi;
                avg[i] = alpha * avg[i] + (1.0 - alpha) * gi;
                let d = if centered { (s[i] - avg[i] * avg[i]).sqrt() } else { s[i].sqrt() } + eps;
                b[i] = mu * b[i] + gi / d;
                p[i] -= lr * if mu > 0.0 { b[i] } else { gi / d };
            }
        }
        p
    }

    #[test]
    fn the_first_step_divides_by_the_root_of_one_minus_alpha_g_squared() {
        let want: Vec<f64> = g(&P0, CS[0])
            .iter()
            .zip(P0)
            .map(|(g, p)| p - 0.01 * g / ((0.01 * g * g).sqrt() + 1e-8))
            .collect();
        assert_close(&run(|ps| RMSprop::new(ps, 0.01), &CS[..1]), &want);
    }

    #[test]
    fn plain_rmsprop_follows_pytorch_over_three_steps() {
        assert_close(&run(|ps| RMSprop::new(ps, 0.01), &CS), &reference(0.01, 0.99, 1e-8, 0.0, false, 0.0));
        let got = run(|ps| RMSprop::new(ps, 0.05).alpha(0.9).eps(1e-3).weight_decay(0.2), &CS);
        assert_close(&got, &reference(0.05, 0.9, 1e-3, 0.0, false, 0.2));
    }

    #[test]
    fn centered_rmsprop_subtracts_the_squared_mean_gradient() {
        assert_close(
            &run(|ps| RMSprop::new(ps, 0.01).centered(true), &CS),
            &reference(0.01, 0.99, 1e-8, 0.0, true, 0.0),
        );
    }

    #[test]
    fn momentum_accumulates_the_normalised_gradient() {
        let got = run(|ps| RMSprop::new(ps, 0.01).momentum(0.9), &CS);
        assert_close(&got, &reference(0.01, 0.99, 1e-8, 0.9, false, 0.0));
        let got = run(|ps| RMSprop::new(ps, 0.01).momentum(0.9).centered(true).weight_decay(0.1), &CS);
        assert_close(&got, &reference(0.01, 0.99, 1e-8, 0.9, true, 0.1));
    }

    #[test]
    fn state_round_trip_resumes_identically() {
        let (p, q) = (param("p", &P0), param("p", &P0));
        let make = |p: &Param<f64>| RMSprop::new(vec![p.clone()], 0.01).momentum(0.9).centered(true);
        let mut a = make(&p);
        a.step(&grads(&[&p], &[CS[0]])).unwrap();
        q.set(p.value());
        let mut b = make(&q);
        b.load_state(&a.state()).unwrap();
        for c in &CS[1..] {
            a.step(&grads(&[&p], &[c])).unwrap();
            b.step(&grads(&[&q], &[c])).unwrap();
        }
        assert_eq!(p.value().to_vec(), q.value().to_vec());
        let state = a.state();
        let slots: Vec<&str> = state.slots.iter().map(|s| s.slot.as_str()).collect();
        assert_eq!(slots, ["step", "square_avg", "grad_avg", "momentum_buffer"]);
        let err = RMSprop::new(vec![q], 0.01).load_state(&a.state()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "load_state (rmsprop): the state does not fit: unexpected `p/grad_avg`, `p/momentum_buffer`"
        );
    }
}
