//! Connectionist temporal classification (Graves et al.), as PyTorch's `ctc_loss`, composed of Var
//! ops so that it is differentiable to any order.
//!
//! With the target l padded by blanks to l' = (b, l₁, b, l₂, .., b) of length S = 2L + 1 and ŷ the
//! log-probabilities, α₀(0) = ŷ₀(b), α₀(1) = ŷ₀(l₁), and
//! α_t(s) = ln Σ exp(α_{t-1}(s), α_{t-1}(s - 1), α_{t-1}(s - 2) where l'_s ≠ b and l'_s ≠ l'_{s-2}) + ŷ_t(l'_s);
//! the loss is -ln(exp α_{T-1}(S - 1) + exp α_{T-1}(S - 2)). Impossible states hold -1e30 rather
//! than -∞ (their exponential is 0 all the same), so no gradient is NaN. The gradient in ŷ is
//! -γ_t(c), the posterior of emitting c at t; PyTorch returns exp ŷ - γ instead, which equals it
//! once passed back through the `log_softmax` that makes ŷ.

use wengert_tape::Var;
use wengert_tensor::{Float, Tensor};

use super::Reduction;

/// Options of [`ctc`]; the default is PyTorch's: blank 0, mean, infinite losses kept.
///
/// ```
/// use wengert::nn::loss::{CtcOptions, Reduction};
/// let opts = CtcOptions { zero_infinity: true, ..CtcOptions::default() };
/// assert_eq!((opts.blank, opts.reduction), (0, Reduction::Mean));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CtcOptions {
    /// The class index of the blank.
    pub blank: usize,
    /// `Mean` divides each sample's loss by its target length (at least 1), then averages over the
    /// batch, as PyTorch's; `Sum` adds the losses; `None` gives one per sample.
    pub reduction: Reduction,
    /// A sample whose target cannot be emitted in its input length gets loss 0 rather than +∞ (its
    /// gradient is 0 either way).
    pub zero_infinity: bool,
}

/// The log-probability of an impossible state: its exponential is 0, and no rule meets ∞ - ∞.
const IMPOSSIBLE: f64 = -1e30;

/// The CTC loss of log-probabilities `log_probs` `[T, N, C]` (time first, as PyTorch's) for the
/// `targets` (class indices, no blanks), each sample `n` using the first `input_lengths[n]` steps.
///
/// ```
/// use wengert::nn::loss::{CtcOptions, Reduction, ctc};
/// use wengert::tape::Tape;
/// use wengert::tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// // Two steps of [blank, "a"]; "a" is emitted by the paths aa, -a and a-.
/// let p = [0.4, 0.6, 0.3, 0.7];
/// let lp = tape.var(Tensor::from_vec(p.iter().map(|p: &f64| p.ln()).collect(), &[2, 1, 2]).unwrap());
/// let opts = CtcOptions { reduction: Reduction::Sum, ..CtcOptions::default() };
/// let loss = ctc(lp, &[vec![1]], &[2], &opts);
/// assert!((loss.item() + (0.6 * 0.7 + 0.4 * 0.7 + 0.6 * 0.3f64).ln()).abs() < 1e-12);
/// ```
///
/// # Panics
///
/// When `log_probs` is not 3-D, the numbers of targets and input lengths are not `N`, an input
/// length exceeds `T`, or a target holds the blank or a class not below `C`.
#[track_caller]
pub fn ctc<'t, F: Float>(
    log_probs: Var<'t, F>,
    targets: &[Vec<usize>],
    input_lengths: &[usize],
    opts: &CtcOptions,
) -> Var<'t, F> {
    let shape = log_probs.shape();
    let [t_max, n, c] = shape[..] else { panic!("ctc: log_probs of shape {shape:?} are not [T, N, C]") };
    if targets.len() != n || input_lengths.len() != n {
        panic!(
            "ctc: {} targets and {} input lengths for log_probs of shape {shape:?}",
            targets.len(),
            input_lengths.len()
        );
    }
    if let Some(&len) = input_lengths.iter().find(|&&len| len > t_max || len == 0) {
        panic!("ctc: input length {len} is not in 1..={t_max}");
    }
    let bad = targets.iter().flatten().find(|&&k| k >= c || k == opts.blank);
    if let Some(k) = bad {
        panic!("ctc: target class {k} is the blank {} or not below {c}", opts.blank);
    }
    let losses: Vec<Var<'t, F>> = (0..n)
        .map(|i| {
            let lp = log_probs.narrow(1, i, 1).reshape(&[t_max, c]);
            let loss = sample_loss(lp, &targets[i], input_lengths[i], opts.blank);
            if !feasible(&targets[i], input_lengths[i]) {
                // 0 or +∞ with a zero gradient, still on the tape (the raw loss is finite, ~1e30).
                let v = if opts.zero_infinity { F::zero() } else { F::infinity() };
                return loss.mul_scalar(F::zero()).add_scalar(v);
            }
            loss
        })
        .collect();
    let per = Var::concat(&losses, 0);
    match opts.reduction {
        Reduction::None => per,
        Reduction::Sum => per.sum(),
        Reduction::Mean => {
            let lengths: Vec<F> = targets.iter().map(|l| F::from_usize(l.len().max(1))).collect();
            (per / &Tensor::from_vec(lengths, &[n]).expect("one length per sample")).mean()
        }
    }
}

/// Whether `target` fits in `len` steps: one per label, plus a blank between repeated labels.
fn feasible(target: &[usize], len: usize) -> bool {
    let repeats = target.windows(2).filter(|w| w[0] == w[1]).count();
    target.len() + repeats <= len
}

/// The loss `[1]` of one sample: `lp` `[T, C]`, its first `len` steps used.
fn sample_loss<'t, F: Float>(lp: Var<'t, F>, target: &[usize], len: usize, blank: usize) -> Var<'t, F> {
    let ext: Vec<usize> = std::iter::once(blank).chain(target.iter().flat_map(|&k| [k, blank])).collect();
    let s = ext.len();
    let emit = lp.index_select(1, &ext); // [T, S]
    let impossible = |k: usize| lp.constant(Tensor::full(&[k], F::from_f64(IMPOSSIBLE)));
    let mask = |f: &dyn Fn(usize) -> bool| {
        Tensor::from_vec((0..s).map(|i| if f(i) { F::one() } else { F::zero() }).collect(), &[s])
            .expect("S flags")
    };
    let starts = mask(&|i| i < 2);
    let skips = mask(&|i| i >= 2 && ext[i] != blank && ext[i] != ext[i - 2]);
    let row = |t: usize| emit.narrow(0, t, 1).reshape(&[s]);
    let mut alpha = Var::where_cond(&starts, row(0), impossible(s));
    for t in 1..len {
        let mut terms = vec![alpha];
        if s > 1 {
            terms.push(Var::concat(&[impossible(1), alpha.narrow(0, 0, s - 1)], 0));
        }
        if s > 2 {
            let two = Var::concat(&[impossible(2), alpha.narrow(0, 0, s - 2)], 0);
            terms.push(Var::where_cond(&skips, two, impossible(s)));
        }
        alpha = Var::stack(&terms, 0).logsumexp_axes(&[0], false) + row(t);
    }
    let last = alpha.narrow(0, s.saturating_sub(2), s.min(2));
    -last.logsumexp_axes(&[0], true)
}

#[cfg(test)]
mod tests;
