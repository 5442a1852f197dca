//! Layer and RMS normalisation over the trailing dimensions, forward and backward, one pass per row
//! for the statistics and one for the output, rows in parallel above a size threshold.
//!
//! With x̂ = (x - μ) · r, r = 1 / √(σ² + ε) (layer norm, σ² biased) or x̂ = x · r, r = 1 / √(mean x² + ε)
//! (RMS norm), y = x̂ · γ + β. Backward, with a = g · γ: layer norm dx = r (a - mean a - x̂ mean(a x̂)),
//! RMS norm dx = r (a - x̂ mean(a x̂)); dγ = Σ g x̂ and dβ = Σ g over the rows, summed block by block
//! in a fixed order, so that results do not depend on the pool's size.

use rayon::prelude::*;

use crate::float::Float;
use crate::kernel::{PAR_THRESHOLD, from_vec_shaped};
use crate::tensor::Tensor;

/// Which normalisation a row gets: centred by its mean (layer norm) or not (RMS norm).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Norm {
    /// `(x - μ) / √(σ² + ε)`, σ² the biased variance (PyTorch's `layer_norm`).
    Layer,
    /// `x / √(mean x² + ε)` (PyTorch's `rms_norm`).
    Rms,
}

impl Norm {
    /// The op's name in messages: `layer_norm` or `rms_norm`.
    pub fn name(self) -> &'static str {
        match self {
            Norm::Layer => "layer_norm",
            Norm::Rms => "rms_norm",
        }
    }
}

/// The gradients of a normalisation, from [`Tensor::normalize_backward`].
#[derive(Clone, Debug)]
pub struct NormGrads<F: Float> {
    /// The input's gradient, of the input's shape.
    pub x: Tensor<F>,
    /// The weight's gradient `Σ g x̂` over the rows, of the trailing (normalised) shape.
    pub weight: Tensor<F>,
    /// The bias's gradient `Σ g` over the rows, of the trailing shape.
    pub bias: Tensor<F>,
}

/// Rows per block: the unit of parallel work and of the fixed-order sums over rows.
const BLOCK_ROWS: usize = 16;

/// Splits `out` into blocks of `block_len` elements and runs `f(block index, block)` on each, on the
/// rayon pool when `par`, returning the results in block order (so a caller's fold over them does not
/// depend on the pool's size).
pub(crate) fn for_blocks<F: Float, R: Send>(
    out: &mut [F],
    block_len: usize,
    par: bool,
    f: impl Fn(usize, &mut [F]) -> R + Sync + Send,
) -> Vec<R> {
    let block_len = block_len.max(1);
    if par {
        out.par_chunks_mut(block_len).enumerate().map(|(b, chunk)| f(b, chunk)).collect()
    } else {
        out.chunks_mut(block_len).enumerate().map(|(b, chunk)| f(b, chunk)).collect()
    }
}

/// Rows of `d` elements per parallel task, so that a task holds about 4096 elements.
pub(crate) fn rows_per_task(d: usize) -> usize {
    (4096 / d.max(1)).max(1)
}

/// The contiguous elements of `t` (a copy when its layout is not row-major).
fn contiguous<F: Float>(t: &Tensor<F>) -> Tensor<F> {
    t.to_contiguous()
}

/// `(μ, r)` of one row: its mean (0 for RMS norm) and the reciprocal of its standard deviation.
#[inline]
fn row_stats<F: Float>(norm: Norm, row: &[F], eps: F) -> (F, F) {
    let d = F::from_f64(row.len() as f64);
    match norm {
        Norm::Layer => {
            let mean = row.iter().fold(F::zero(), |s, &v| s + v) / d;
            let var = row.iter().fold(F::zero(), |s, &v| s + (v - mean) * (v - mean)) / d;
            (mean, (var + eps).sqrt().recip())
        }
        Norm::Rms => {
            let ms = row.iter().fold(F::zero(), |s, &v| s + v * v) / d;
            (F::zero(), (ms + eps).sqrt().recip())
        }
    }
}

/// Panics unless `k` trailing dimensions exist and `weight`/`bias` have their shape; returns the
/// row length `d`.
#[track_caller]
fn check<F: Float>(norm: Norm, x: &Tensor<F>, k: usize, params: [Option<&Tensor<F>>; 2]) -> usize {
    let shape = x.shape();
    if k == 0 || k > shape.len() {
        panic!("{}: cannot normalise the last {k} dimensions of shape {shape:?}", norm.name());
    }
    let trailing = &shape[shape.len() - k..];
    for (name, p) in ["weight", "bias"].iter().zip(params) {
        if let Some(p) = p
            && p.shape() != trailing
        {
            panic!(
                "{}: {name} of shape {:?} does not match the normalised shape {trailing:?}",
                norm.name(),
                p.shape()
            );
        }
    }
    trailing.iter().product()
}

impl<F: Float> Tensor<F> {
    /// `norm` over the last `k` dimensions of each sample, then `· weight + bias` (each of the
    /// trailing shape, optional): PyTorch's `layer_norm` and `rms_norm`. One pass per row computes
    /// its statistics and one its output.
    ///
    /// ```
    /// use wengert::tensor::{Norm, Tensor};
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 3.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let y = x.normalize(Norm::Layer, 1, None, None, 0.0);
    /// assert_eq!(y.to_vec(), vec![-1.0, 1.0, -1.0, 1.0]);
    /// let r = x.normalize(Norm::Rms, 1, None, None, 0.0).to_vec();
    /// assert!((r[2] - 3.0 / 12.5f64.sqrt()).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    ///
    /// When `k` is 0 or exceeds the number of dimensions, or `weight` or `bias` is not of the last
    /// `k` dimensions' shape.
    #[track_caller]
    pub fn normalize(
        &self,
        norm: Norm,
        k: usize,
        weight: Option<&Self>,
        bias: Option<&Self>,
        eps: f64,
    ) -> Self {
        let d = check(norm, self, k, [weight, bias]);
        if self.is_empty() {
            return Tensor::zeros(self.shape());
        }
        let x = contiguous(self);
        let xs = x.as_slice().expect("contiguous");
        let (w, b) = (weight.map(contiguous), bias.map(contiguous));
        let (ws, bs) = (
            w.as_ref().map(|w| w.as_slice().expect("contiguous")),
            b.as_ref().map(|b| b.as_slice().expect("contiguous")),
        );
        let eps = F::from_f64(eps);
        let mut out = vec![F::zero(); xs.len()];
        let rows = rows_per_task(d);
        for_blocks(&mut out, rows * d, xs.len() >= PAR_THRESHOLD, |blk, chunk| {
            for (i, o) in chunk.chunks_mut(d).enumerate() {
                let start = (blk * rows + i) * d;
                let row = &xs[start..start + d];
                let (mean, r) = row_stats(norm, row, eps);
                for (j, (o, &v)) in o.iter_mut().zip(row).enumerate() {
                    let mut y = (v - mean) * r;
                    if let Some(w) = ws {
                        y *= w[j];
                    }
                    if let Some(b) = bs {
                        y += b[j];
                    }
                    *o = y;
                }
            }
        });
        from_vec_shaped(out, self.shape())
    }

    /// The gradients of [`Tensor::normalize`] at input `self` with `weight`, given the output's gradient
    /// `g`: one pass per row for the statistics and one for the input's gradient, the weight's and
    /// bias's summed over blocks of rows in a fixed order (bit-identical on any pool size).
    ///
    /// ```
    /// use wengert::tensor::{Norm, Tensor};
    /// let x = Tensor::<f64>::from_vec(vec![1.0, 3.0], &[1, 2]).unwrap();
    /// let g = Tensor::from_vec(vec![1.0, 1.0], &[1, 2]).unwrap();
    /// let grads = x.normalize_backward(&g, Norm::Layer, 1, None, 0.0);
    /// assert_eq!(grads.x.to_vec(), vec![0.0, 0.0]); // a shift of the output's sum is no change
    /// assert_eq!(grads.weight.to_vec(), vec![-1.0, 1.0]); // Σ g x̂
    /// assert_eq!(grads.bias.to_vec(), vec![1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::normalize`], and when `g` is not of `self`'s shape.
    #[track_caller]
    pub fn normalize_backward(
        &self,
        g: &Self,
        norm: Norm,
        k: usize,
        weight: Option<&Self>,
        eps: f64,
    ) -> NormGrads<F> {
        let d = check(norm, self, k, [weight, None]);
        if g.shape() != self.shape() {
            panic!(
                "{}: gradient of shape {:?} for an input of shape {:?}",
                norm.name(),
                g.shape(),
                self.shape()
            );
        }
        let trailing = &self.shape()[self.ndim() - k..];
        if self.is_empty() {
            let zeros = Tensor::zeros(trailing);
            return NormGrads { x: Tensor::zeros(self.shape()), weight: zeros.clone(), bias: zeros };
        }
        let (x, g) = (contiguous(self), contiguous(g));
        let (xs, gs) = (x.as_slice().expect("contiguous"), g.as_slice().expect("contiguous"));
        let w = weight.map(contiguous);
        let ws = w.as_ref().map(|w| w.as_slice().expect("contiguous"));
        let eps = F::from_f64(eps);
        let df = F::from_f64(d as f64);
        let mut dx = vec![F::zero(); xs.len()];
        let partials = for_blocks(&mut dx, BLOCK_ROWS * d, xs.len() >= PAR_THRESHOLD, |blk, chunk| {
            let mut dw = vec![F::zero(); d];
            let mut db = vec![F::zero(); d];
            for (i, o) in chunk.chunks_mut(d).enumerate() {
                let start = (blk * BLOCK_ROWS + i) * d;
                let (row, gr) = (&xs[start..start + d], &gs[start..start + d]);
                let (mean, r) = row_stats(norm, row, eps);
                let (mut sa, mut sax) = (F::zero(), F::zero());
                let sums = dw.iter_mut().zip(db.iter_mut());
                for (j, ((&v, &gv), (dwj, dbj))) in row.iter().zip(gr).zip(sums).enumerate() {
                    let xh = (v - mean) * r;
                    let a = ws.map_or(gv, |w| gv * w[j]);
                    sa += a;
                    sax += a * xh;
                    *dwj += gv * xh;
                    *dbj += gv;
                }
                let (ma, max) = (if norm == Norm::Layer { sa / df } else { F::zero() }, sax / df);
                for (j, (o, (&v, &gv))) in o.iter_mut().zip(row.iter().zip(gr)).enumerate() {
                    let xh = (v - mean) * r;
                    let a = ws.map_or(gv, |w| gv * w[j]);
                    *o = r * (a - ma - xh * max);
                }
            }
            (dw, db)
        });
        let mut dw = vec![F::zero(); d];
        let mut db = vec![F::zero(); d];
        for (pw, pb) in partials {
            dw.iter_mut().zip(pw).for_each(|(s, v)| *s += v);
            db.iter_mut().zip(pb).for_each(|(s, v)| *s += v);
        }
        NormGrads {
            x: from_vec_shaped(dx, self.shape()),
            weight: from_vec_shaped(dw, trailing),
            bias: from_vec_shaped(db, trailing),
        }
    }
}

mod batch;

pub use self::batch::BatchNormOutput;

#[cfg(test)]
mod tests;
