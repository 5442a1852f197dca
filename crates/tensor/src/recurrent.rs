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
use crate::kernel::from_vec_shaped;
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

/// Elements (batch × hidden) from which a step's rows run on the rayon pool: each element costs two
/// sigmoids and a tanh, so a few thousand pay for a fork-join.
const PAR_ELEMENTS: usize = 1 << 11;

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

/// Runs `f(row, out)` over chunks of `rows` rows of `out` (`width` elements a row), on the pool when
/// `par`.
fn for_rows<F: Float>(out: &mut [F], width: usize, par: bool, f: impl Fn(usize, &mut [F]) + Sync + Send) {
    if par {
        out.par_chunks_mut(width).enumerate().for_each(|(r, row)| f(r, row));
    } else {
        out.chunks_mut(width).enumerate().for_each(|(r, row)| f(r, row));
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
        let n = s.hidden;
        let (xp, hpv, hv) = (elems(&s.xp), elems(&s.hp), elems(&s.h));
        let b = s.bias.as_ref().map(elems);
        let mut out = buffer::<F>("gru_cell", &[s.batch, n]);
        out.resize(s.batch * n, F::zero());
        for_rows(&mut out, n, s.batch * n >= PAR_ELEMENTS, |row, out| {
            let (x, hp, h) = (&xp[row * 3 * n..][..3 * n], &hpv[row * 3 * n..][..3 * n], &hv[row * n..][..n]);
            for (j, o) in out.iter_mut().enumerate() {
                let r = sigmoid(x[j] + biased(hp, b, j));
                let z = sigmoid(x[n + j] + biased(hp, b, n + j));
                let c = (x[2 * n + j] + r * biased(hp, b, 2 * n + j)).tanh_kernel();
                *o = c + z * (h[j] - c);
            }
        });
        from_vec_shaped(out, &[s.batch, n])
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
        let row = |r: usize, gx: &mut [F], gp: &mut [F], gh: &mut [F]| {
            let (x, hp, h, g) = (&xp[r * 3 * n..][..3 * n], &hpv[r * 3 * n..][..3 * n], &hv[r * n..][..n], &gv[r * n..][..n]);
            for j in 0..n {
                let rj = sigmoid(x[j] + biased(hp, b, j));
                let z = sigmoid(x[n + j] + biased(hp, b, n + j));
                let hn = biased(hp, b, 2 * n + j);
                let c = (x[2 * n + j] + rj * hn).tanh_kernel();
                let gj = g[j];
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
        };
        let rows = gxp.chunks_mut(3 * n).zip(ghp.chunks_mut(3 * n)).zip(gh.chunks_mut(n));
        if batch * n >= PAR_ELEMENTS {
            let rows = gxp.par_chunks_mut(3 * n).zip(ghp.par_chunks_mut(3 * n)).zip(gh.par_chunks_mut(n));
            rows.enumerate().for_each(|(r, ((gx, gp), gh))| row(r, gx, gp, gh));
        } else {
            rows.enumerate().for_each(|(r, ((gx, gp), gh))| row(r, gx, gp, gh));
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
