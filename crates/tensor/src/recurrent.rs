//! The gate arithmetic of a GRU step, forward and backward, one pass over the rows.
//!
//! With `xp` the projected input `[batch, 3h]` (`x W_ihᵀ + b_ih`, gates r, z, n), `hp` the projected
//! state `[batch, 3h]` (`h W_hhᵀ`, plus `b_hh` when given) and `h` the state `[batch, h]`:
//! r = σ(xp_r + hp_r), z = σ(xp_z + hp_z), n = tanh(xp_n + r hp_n), h' = n + z (h - n), each element
//! rounded as the composite of tensor ops rounds it (sigmoid, then tanh, then the blend in that
//! association), so that the fused step and the composite give the same bits.
//!
//! Backward, with g the gradient of h': gh = g z, gn = g - g z, ga = gn (1 - n²) (a the tanh's
//! argument), gz = g (h - n), gr = ga hp_n, the sigmoids' gradients gr r (1 - r) and gz z (1 - z)
//! (the same for `xp` and `hp`), and for the n gate ga (for `xp`) and ga r (for `hp`). The partial
//! sums are formed as the composite's reverse sweep forms them. Rows are independent, so running them
//! in parallel cannot change a bit.

use rayon::prelude::*;

use crate::alloc::buffer;
use crate::elementwise::sigmoid;
use crate::float::Float;
use crate::kernel::{COSTLY_PAR_THRESHOLD, from_vec_shaped};
use crate::tensor::Tensor;

/// The gradients of a GRU step's gate arithmetic, from [`Tensor::gru_cell_backward`].
#[derive(Clone, Debug)]
pub struct GruCellGrads<F: Float> {
    /// The projected input's gradient, `[batch, 3 · hidden]`.
    pub xp: Tensor<F>,
    /// The projected state's gradient, `[batch, 3 · hidden]`; summed over the batch, the bias's.
    pub hp: Tensor<F>,
    /// The state's gradient through the blend `z (h - n)`, `[batch, hidden]` (the recurrent product
    /// that made `hp` adds the rest).
    pub h: Tensor<F>,
}

/// Whether a step's rows run on the rayon pool, and how many rows a task takes: each element costs
/// two sigmoids and a tanh, so rows go parallel from the size at which costly maps do, in a few
/// tasks per thread.
fn row_tasks(batch: usize, hidden: usize) -> (bool, usize) {
    let threads = rayon::current_num_threads();
    let par = threads > 1 && batch > 1 && batch * 3 * hidden >= COSTLY_PAR_THRESHOLD;
    (par, if par { batch.div_ceil(2 * threads) } else { batch.max(1) })
}

/// The checked operands of a step: contiguous rows and the sizes.
struct Step<F: Float> {
    xp: Tensor<F>,
    hp: Tensor<F>,
    h: Tensor<F>,
    bias: Option<Tensor<F>>,
    batch: usize,
    hidden: usize,
}

/// Checks the shapes of a step (and of `g`, if given) and makes the operands contiguous.
#[track_caller]
fn operands<F: Float>(
    op: &'static str,
    xp: &Tensor<F>,
    hp: &Tensor<F>,
    h: &Tensor<F>,
    bias: Option<&Tensor<F>>,
    g: Option<&Tensor<F>>,
) -> Step<F> {
    let [batch, hidden] = match *h.shape() {
        [b, n] if n > 0 => [b, n],
        _ => panic!("{op}: the state h must be [batch, hidden ≥ 1], got {:?}", h.shape()),
    };
    let gates = [batch, 3 * hidden];
    let shapes = || {
        let b = bias.map_or(String::new(), |b| format!(", bias {:?}", b.shape()));
        format!("xp {:?}, hp {:?}, h {:?}{b}", xp.shape(), hp.shape(), h.shape())
    };
    if !xp.has_shape(&gates) || !hp.has_shape(&gates) {
        panic!("{op}: {}: xp and hp must be [batch, 3 · hidden] = {gates:?}", shapes());
    }
    if let Some(b) = bias
        && !b.has_shape(&[3 * hidden])
    {
        panic!("{op}: {}: the bias must be [3 · hidden] = [{}]", shapes(), 3 * hidden);
    }
    if let Some(g) = g
        && !g.has_shape(h.shape())
    {
        panic!("{op}: the gradient of shape {:?} differs from the state's {:?}", g.shape(), h.shape());
    }
    Step {
        xp: xp.to_contiguous(),
        hp: hp.to_contiguous(),
        h: h.to_contiguous(),
        bias: bias.map(Tensor::to_contiguous),
        batch,
        hidden,
    }
}

/// The row-major elements of a contiguous tensor.
fn elems<F: Float>(t: &Tensor<F>) -> &[F] {
    t.data.as_slice().expect("made contiguous")
}

/// `hp[j] + b[j]`, or `hp[j]` without a bias: the projected state as the composite's broadcast add
/// makes it.
#[inline]
fn biased<F: Float>(hp: &[F], b: Option<&[F]>, j: usize) -> F {
    match b {
        Some(b) => hp[j] + b[j],
        None => hp[j],
    }
}

/// The gates r, z (`s[..2n]`, sigmoids) and n (`s[2n..]`, tanh) of one row, each rounded as the
/// composite's ops round it; the tanh runs as a loop of its own, which vectorises.
#[inline]
fn gates<F: Float>(x: &[F], hp: &[F], b: Option<&[F]>, s: &mut [F]) {
    let n = s.len() / 3;
    for (j, s) in s[..2 * n].iter_mut().enumerate() {
        *s = sigmoid(x[j] + biased(hp, b, j));
    }
    for j in 0..n {
        s[2 * n + j] = x[2 * n + j] + s[j] * biased(hp, b, 2 * n + j);
    }
    for c in &mut s[2 * n..] {
        *c = c.tanh_kernel();
    }
}

impl<F: Float> Tensor<F> {
    /// The gate arithmetic of one GRU step (PyTorch's `nn.GRUCell` after its two products), with
    /// `self` the projected input `xp = x W_ihᵀ + b_ih` `[batch, 3 · hidden]` (gates r, z, n), `hp` the
    /// projected state `h W_hhᵀ` `[batch, 3 · hidden]`, `bias` the optional `b_hh` `[3 · hidden]`
    /// added to it, and `h` the state `[batch, hidden]`: r = σ(xp_r + hp_r), z = σ(xp_z + hp_z),
    /// n = tanh(xp_n + r hp_n), h' = n + z (h - n), in one pass, with the bits of those tensor ops.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let xp = Tensor::<f64>::zeros(&[1, 3]);
    /// let hp = Tensor::<f64>::zeros(&[1, 3]);
    /// let h = Tensor::<f64>::from_vec(vec![2.0], &[1, 1]).unwrap();
    /// // r = z = 1/2, n = tanh(0) = 0: h' = 0 + (2 - 0) / 2
    /// assert_eq!(xp.gru_cell(&hp, &h, None).to_vec(), vec![1.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When `h` is not `[batch, hidden ≥ 1]`, `self` or `hp` is not `[batch, 3 · hidden]`, or `bias`
    /// is not `[3 · hidden]`.
    #[track_caller]
    pub fn gru_cell(&self, hp: &Tensor<F>, h: &Tensor<F>, bias: Option<&Tensor<F>>) -> Tensor<F> {
        let s = operands("gru_cell", self, hp, h, bias, None);
        let (n, batch) = (s.hidden, s.batch);
        let (xp, hpv, hv) = (elems(&s.xp), elems(&s.hp), elems(&s.h));
        let b = s.bias.as_ref().map(elems);
        let (par, rows) = row_tasks(batch, n);
        let task = |first: usize, out: &mut [F]| {
            let mut g = vec![F::zero(); 3 * n];
            for (i, out) in out.chunks_mut(n).enumerate() {
                let r = first + i;
                gates(&xp[r * 3 * n..][..3 * n], &hpv[r * 3 * n..][..3 * n], b, &mut g);
                let (z, c, h) = (&g[n..2 * n], &g[2 * n..], &hv[r * n..][..n]);
                for j in 0..n {
                    out[j] = c[j] + z[j] * (h[j] - c[j]);
                }
            }
        };
        let fill = |out: &mut [F]| {
            if par {
                out.par_chunks_mut(rows * n).enumerate().for_each(|(t, out)| task(t * rows, out));
            } else {
                task(0, out);
            }
        };
        crate::recycle::filled(&[batch, n], fill).unwrap_or_else(|| {
            let mut out = buffer::<F>("gru_cell", &[batch, n]);
            out.resize(batch * n, F::zero());
            fill(&mut out);
            from_vec_shaped(out, &[batch, n])
        })
    }

    /// The gradients of [`Tensor::gru_cell`] (with `self` its `xp`) given `g`, the gradient of its
    /// output `[batch, hidden]`: the gates are recomputed from the operands, not kept.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let xp = Tensor::<f64>::zeros(&[1, 3]);
    /// let h = Tensor::<f64>::from_vec(vec![2.0], &[1, 1]).unwrap();
    /// let grads = xp.gru_cell_backward(&xp, &h, None, &Tensor::ones(&[1, 1]));
    /// assert_eq!(grads.h.to_vec(), vec![0.5]); // z
    /// // ∂h'/∂xp_z = (h - n) z (1 - z) = 2 / 4; ∂h'/∂xp_n = (1 - z)(1 - n²) = 1/2; r has no effect here
    /// assert_eq!(grads.xp.to_vec(), vec![0.0, 0.5, 0.5]);
    /// assert_eq!(grads.hp.to_vec(), vec![0.0, 0.5, 0.25]); // the n gate's times r
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Tensor::gru_cell`], and when `g` is not of `h`'s shape.
    #[track_caller]
    pub fn gru_cell_backward(
        &self,
        hp: &Tensor<F>,
        h: &Tensor<F>,
        bias: Option<&Tensor<F>>,
        g: &Tensor<F>,
    ) -> GruCellGrads<F> {
        let s = operands("gru_cell_backward", self, hp, h, bias, Some(g));
        let g = g.to_contiguous();
        let (n, batch) = (s.hidden, s.batch);
        let (xp, hpv, hv, gv) = (elems(&s.xp), elems(&s.hp), elems(&s.h), elems(&g));
        let b = s.bias.as_ref().map(elems);
        let mut gxp = buffer::<F>("gru_cell_backward", &[batch, 3 * n]);
        gxp.resize(batch * 3 * n, F::zero());
        let mut ghp = gxp.clone();
        let mut gh = buffer::<F>("gru_cell_backward", &[batch, n]);
        gh.resize(batch * n, F::zero());
        let (zero, one) = (F::zero(), F::one());
        let task = |first: usize, gx: &mut [F], gp: &mut [F], gh: &mut [F]| {
            let mut s = vec![F::zero(); 3 * n];
            let rows = gx.chunks_mut(3 * n).zip(gp.chunks_mut(3 * n)).zip(gh.chunks_mut(n));
            for (i, ((gx, gp), gh)) in rows.enumerate() {
                let r = first + i;
                let (x, hp) = (&xp[r * 3 * n..][..3 * n], &hpv[r * 3 * n..][..3 * n]);
                let (h, g) = (&hv[r * n..][..n], &gv[r * n..][..n]);
                gates(x, hp, b, &mut s);
                for j in 0..n {
                    let (rj, z, c, hn, gj) = (s[j], s[n + j], s[2 * n + j], biased(hp, b, 2 * n + j), g[j]);
                    gh[j] = gj * z;
                    let ga = (gj - gj * z) * (one - c * c);
                    let gz = gj * (h[j] - c);
                    // The composite's sweep adds these into zeros (`0 +`); its n gate's are assigned.
                    let gsr = (zero + ga * hn) * rj * (one - rj);
                    let gsz = gz * z * (one - z);
                    gx[j] = zero + gsr;
                    gp[j] = zero + gsr;
                    gx[n + j] = zero + gsz;
                    gp[n + j] = zero + gsz;
                    gx[2 * n + j] = ga;
                    gp[2 * n + j] = ga * rj;
                }
            }
        };
        let (par, rows) = row_tasks(batch, n);
        if par {
            let (wide, narrow) = (rows * 3 * n, rows * n);
            let tasks = gxp.par_chunks_mut(wide).zip(ghp.par_chunks_mut(wide)).zip(gh.par_chunks_mut(narrow));
            tasks.enumerate().for_each(|(t, ((gx, gp), gh))| task(t * rows, gx, gp, gh));
        } else {
            task(0, &mut gxp, &mut ghp, &mut gh);
        }
        GruCellGrads {
            xp: from_vec_shaped(gxp, &[batch, 3 * n]),
            hp: from_vec_shaped(ghp, &[batch, 3 * n]),
            h: from_vec_shaped(gh, &[batch, n]),
        }
    }
}

#[cfg(test)]
mod tests;
