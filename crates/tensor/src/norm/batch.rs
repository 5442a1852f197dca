//! Batch normalisation in training: per channel of `[N, C]` or `[N, C, L]`, the statistics over
//! `(N, L)`, one fused kernel forward and one backward.
//!
//! With M = N·L values per channel, μ and σ² (biased) their mean and variance, r = 1 / √(σ² + ε)
//! and x̂ = (x - μ) r: y = x̂ γ + β. Backward: dx = r γ (g - Σ g / M - x̂ Σ g x̂ / M), dγ = Σ g x̂,
//! dβ = Σ g. Each channel's sums run in one fixed order (batch, then length), so results do not
//! depend on the pool's size; channels' statistics, and then the output's rows, run in parallel
//! above a size threshold.

use std::ops::Range;

use rayon::prelude::*;

use super::{NormGrads, contiguous, for_blocks, rows_per_task};
use crate::float::Float;
use crate::kernel::{PAR_THRESHOLD, from_vec_shaped};
use crate::tensor::Tensor;

/// The result of [`Tensor::batch_norm`]: the output and the batch statistics, for the running ones.
#[derive(Clone, Debug)]
pub struct BatchNormOutput<F: Float> {
    /// The normalised, scaled and shifted input, of the input's shape.
    pub y: Tensor<F>,
    /// Each channel's mean, `[C]`.
    pub mean: Tensor<F>,
    /// Each channel's biased variance (divided by N·L), `[C]`.
    pub var: Tensor<F>,
}

/// `[N, C]` or `[N, C, L]` as `(N, C, L)`, with `L = 1` for 2-D.
#[derive(Clone, Copy, Debug)]
struct Dims {
    n: usize,
    c: usize,
    l: usize,
}

impl Dims {
    /// The values per channel, `N · L`, as a float.
    fn count<F: Float>(self) -> F {
        F::from_f64((self.n * self.l) as f64)
    }

    /// Channel `ch`'s rows of `xs`: `N` slices of `L` elements, in batch order.
    fn rows<F: Float>(self, xs: &[F], ch: usize) -> impl Iterator<Item = &[F]> {
        (0..self.n).map(move |i| {
            let start = (i * self.c + ch) * self.l;
            &xs[start..start + self.l]
        })
    }
}

/// Panics unless `x` is `[N, C]` or `[N, C, L]` with at least one value per channel and `weight` and
/// `bias` are `[C]`.
#[track_caller]
fn check<F: Float>(x: &Tensor<F>, params: [Option<&Tensor<F>>; 2]) -> Dims {
    let shape = x.shape();
    let dims = match *shape {
        [n, c] => Dims { n, c, l: 1 },
        [n, c, l] => Dims { n, c, l },
        _ => panic!("batch_norm: input of shape {shape:?} is not [N, C] or [N, C, L]"),
    };
    if dims.n * dims.l == 0 && dims.c > 0 {
        panic!("batch_norm: input of shape {shape:?} has no values per channel");
    }
    for (name, p) in ["weight", "bias"].iter().zip(params) {
        if let Some(p) = p
            && p.shape() != [dims.c]
        {
            panic!(
                "batch_norm: {name} of shape {:?} is not [C] = [{}] for input {shape:?}",
                p.shape(),
                dims.c
            );
        }
    }
    dims
}

/// `f(channel)` for every channel, in channel order, on the pool when `par`.
fn per_channel<R: Send>(c: usize, par: bool, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    if par { (0..c).into_par_iter().map(f).collect() } else { (0..c).map(f).collect() }
}

/// Channel `ch`'s mean and biased variance: two passes in batch-then-length order.
fn stats<F: Float>(dims: Dims, xs: &[F], ch: usize) -> (F, F) {
    let m = dims.count::<F>();
    let mean = dims.rows(xs, ch).flatten().fold(F::zero(), |s, &v| s + v) / m;
    let var = dims.rows(xs, ch).flatten().fold(F::zero(), |s, &v| s + (v - mean) * (v - mean)) / m;
    (mean, var)
}

/// Fills `out` (of the input's shape) row by row: `f(channel, range, out's row)` for each of the
/// `N · C` rows of `L` elements, `range` the row's place in the input; blocks of rows on the pool
/// when `par`.
fn for_rows<F: Float>(
    dims: Dims,
    out: &mut [F],
    par: bool,
    f: impl Fn(usize, Range<usize>, &mut [F]) + Sync,
) {
    let rows = rows_per_task(dims.l);
    for_blocks(out, rows * dims.l, par, |blk, chunk| {
        for (i, o) in chunk.chunks_mut(dims.l).enumerate() {
            let k = blk * rows + i;
            f(k % dims.c, k * dims.l..(k + 1) * dims.l, o);
        }
    });
}

impl<F: Float> Tensor<F> {
    /// Batch normalisation in training (PyTorch's `batch_norm` with `training=True`): each channel
    /// of `self`, `[N, C]` or `[N, C, L]`, normalised by the mean and biased variance of its `N · L`
    /// values, then `· weight + bias` (each `[C]`, optional). Also returns those statistics, from
    /// which a layer updates its running ones. One kernel: per channel a pass for the mean, one for
    /// the variance, then one over the output.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 10.0, 3.0, 30.0], &[2, 2]).unwrap();
    /// let out = x.batch_norm(None, None, 0.0);
    /// assert_eq!(out.y.to_vec(), vec![-1.0, -1.0, 1.0, 1.0]);
    /// assert_eq!((out.mean.to_vec(), out.var.to_vec()), (vec![2.0, 20.0], vec![1.0, 100.0]));
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` is not 2-D or 3-D, has no values per channel (`N · L = 0`), or `weight` or `bias`
    /// is not `[C]`.
    #[track_caller]
    pub fn batch_norm(&self, weight: Option<&Self>, bias: Option<&Self>, eps: f64) -> BatchNormOutput<F> {
        let dims = check(self, [weight, bias]);
        let x = contiguous(self);
        let xs = x.as_slice().expect("contiguous");
        let (w, b) = (weight.map(contiguous), bias.map(contiguous));
        let ws = w.as_ref().map(|w| w.as_slice().expect("contiguous"));
        let bs = b.as_ref().map(|b| b.as_slice().expect("contiguous"));
        let par = xs.len() >= PAR_THRESHOLD && rayon::current_num_threads() > 1;
        let (means, vars): (Vec<F>, Vec<F>) =
            per_channel(dims.c, par, |ch| stats(dims, xs, ch)).into_iter().unzip();
        let eps = F::from_f64(eps);
        let rs: Vec<F> = vars.iter().map(|&v| (v + eps).sqrt().recip()).collect();
        let mut out = vec![F::zero(); xs.len()];
        for_rows(dims, &mut out, par, |ch, at, o| {
            let (mean, r) = (means[ch], rs[ch]);
            for (o, &v) in o.iter_mut().zip(&xs[at]) {
                let mut y = (v - mean) * r;
                if let Some(w) = ws {
                    y *= w[ch];
                }
                if let Some(b) = bs {
                    y += b[ch];
                }
                *o = y;
            }
        });
        BatchNormOutput {
            y: from_vec_shaped(out, self.shape()),
            mean: from_vec_shaped(means, &[dims.c]),
            var: from_vec_shaped(vars, &[dims.c]),
        }
    }

    /// The gradients of [`Tensor::batch_norm`] at input `self` with `weight`, given the output's
    /// gradient `g`: per channel the statistics again and one pass for `Σ g` and `Σ g x̂` (the bias's
    /// and weight's gradients), then one pass over the input's gradient
    /// `r γ (g - Σ g / M - x̂ Σ g x̂ / M)`, M = N · L.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 3.0], &[2, 1]).unwrap();
    /// let g = Tensor::from_vec(vec![1.0, 1.0], &[2, 1]).unwrap();
    /// let grads = x.batch_norm_backward(&g, None, 0.0);
    /// assert_eq!(grads.x.to_vec(), vec![0.0, 0.0]); // shifting every output moves no input
    /// assert_eq!(grads.weight.to_vec(), vec![0.0]); // Σ g x̂ = -1 + 1
    /// assert_eq!(grads.bias.to_vec(), vec![2.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::batch_norm`], and when `g` is not of `self`'s shape.
    #[track_caller]
    pub fn batch_norm_backward(&self, g: &Self, weight: Option<&Self>, eps: f64) -> NormGrads<F> {
        let dims = check(self, [weight, None]);
        if g.shape() != self.shape() {
            panic!("batch_norm: gradient of shape {:?} for an input of shape {:?}", g.shape(), self.shape());
        }
        let (x, g) = (contiguous(self), contiguous(g));
        let (xs, gs) = (x.as_slice().expect("contiguous"), g.as_slice().expect("contiguous"));
        let w = weight.map(contiguous);
        let ws = w.as_ref().map(|w| w.as_slice().expect("contiguous"));
        let par = xs.len() >= PAR_THRESHOLD && rayon::current_num_threads() > 1;
        let eps = F::from_f64(eps);
        // Per channel: μ, r, Σ g and Σ g x̂.
        let sums = per_channel(dims.c, par, |ch| {
            let (mean, var) = stats(dims, xs, ch);
            let r = (var + eps).sqrt().recip();
            let (mut sg, mut sgx) = (F::zero(), F::zero());
            for (row, gr) in dims.rows(xs, ch).zip(dims.rows(gs, ch)) {
                for (&v, &gv) in row.iter().zip(gr) {
                    sg += gv;
                    sgx += gv * ((v - mean) * r);
                }
            }
            (mean, r, sg, sgx)
        });
        let m = dims.count::<F>();
        let mut dx = vec![F::zero(); xs.len()];
        for_rows(dims, &mut dx, par, |ch, at, o| {
            let (mean, r, sg, sgx) = sums[ch];
            let wc = ws.map_or(F::one(), |w| w[ch]);
            let (mg, mgx) = (sg / m, sgx / m);
            for (o, (&v, &gv)) in o.iter_mut().zip(xs[at.clone()].iter().zip(&gs[at])) {
                let xh = (v - mean) * r;
                *o = r * wc * (gv - mg - xh * mgx);
            }
        });
        NormGrads {
            x: from_vec_shaped(dx, self.shape()),
            weight: from_vec_shaped(sums.iter().map(|s| s.3).collect(), &[dims.c]),
            bias: from_vec_shaped(sums.iter().map(|s| s.2).collect(), &[dims.c]),
        }
    }
}

#[cfg(test)]
mod tests;
