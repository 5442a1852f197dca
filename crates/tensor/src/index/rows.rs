//! The fast path of `gather`, `scatter_add` and `scatter` along the last axis, when `self`, `index`
//! and `src` line up row by row (the same leading dimensions, `index` row-major): each row is a
//! slice, walked in `index`'s order, and rows run in parallel above a size threshold. Rows are
//! disjoint, so the result does not depend on the pool's size, and repeated positions within a row
//! add up in the same order as on the general path.

use ndarray::ArrayD;
use rayon::prelude::*;

use crate::float::Float;
use crate::kernel::CHEAP_PAR_THRESHOLD;
use crate::norm::rows_per_task;

/// How a last-axis index op's operands split into rows: `rows` rows of `len` elements in `self`
/// (and in `src`, `src_len`), each with `index_len` indices.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rows {
    rows: usize,
    len: usize,
    index_len: usize,
    src_len: usize,
}

impl Rows {
    /// The rows of an op on `shape` along `axis` by `index` (with `src` of that shape, for a
    /// scatter), or `None` when the fast path does not apply: `axis` is not the last axis, the
    /// leading dimensions differ, `index` is not row-major, or a row is empty. The shapes must have
    /// passed the op's checks.
    pub(super) fn of(
        axis: usize,
        shape: &[usize],
        index: &ArrayD<usize>,
        src: Option<&[usize]>,
    ) -> Option<Rows> {
        let ix = index.shape();
        let lead = &shape[..axis];
        let lines_up = axis + 1 == shape.len()
            && index.is_standard_layout()
            && &ix[..axis] == lead
            && src.is_none_or(|s| &s[..axis] == lead);
        let (len, index_len) = (shape[axis], ix[axis]);
        if !lines_up || len == 0 || index_len == 0 {
            return None;
        }
        let src_len = src.map_or(len, |s| s[axis]);
        Some(Rows { rows: lead.iter().product(), len, index_len, src_len })
    }

    /// Rows per parallel task, and whether to run in parallel at all.
    fn split(&self) -> (usize, bool) {
        let parallel = self.rows * self.index_len >= CHEAP_PAR_THRESHOLD && rayon::current_num_threads() > 1;
        (rows_per_task(self.index_len.max(self.len)), parallel)
    }

    /// `out[r][j] = x[r][index[r][j]]`: `out` holds `rows · index_len` elements, `x` the rows of
    /// `self`, `index` its indices in row-major order.
    pub(super) fn gather<F: Float>(&self, x: &[F], index: &[usize]) -> Vec<F> {
        let mut out = vec![F::zero(); self.rows * self.index_len];
        let (per, parallel) = self.split();
        let task = |(t, chunk): (usize, &mut [F])| {
            for (i, o) in chunk.chunks_mut(self.index_len).enumerate() {
                let r = t * per + i;
                let row = &x[r * self.len..(r + 1) * self.len];
                let idx = &index[r * self.index_len..(r + 1) * self.index_len];
                o.iter_mut().zip(idx).for_each(|(o, &j)| *o = row[j]);
            }
        };
        if parallel {
            out.par_chunks_mut(per * self.index_len).enumerate().for_each(task);
        } else {
            out.chunks_mut(per * self.index_len).enumerate().for_each(task);
        }
        out
    }

    /// `out[r][index[r][j]] += src[r][j]` (`add`) or `= src[r][j]`, in `index`'s order within each
    /// row: `out` holds the rows of `self`, `src` those of `src`.
    pub(super) fn scatter<F: Float>(&self, out: &mut [F], index: &[usize], src: &[F], add: bool) {
        let (per, parallel) = self.split();
        let task = |(t, chunk): (usize, &mut [F])| {
            for (i, row) in chunk.chunks_mut(self.len).enumerate() {
                let r = t * per + i;
                let idx = &index[r * self.index_len..(r + 1) * self.index_len];
                let s = &src[r * self.src_len..r * self.src_len + self.index_len];
                if add {
                    idx.iter().zip(s).for_each(|(&j, &v)| row[j] += v);
                } else {
                    idx.iter().zip(s).for_each(|(&j, &v)| row[j] = v);
                }
            }
        };
        if parallel {
            out.par_chunks_mut(per * self.len).enumerate().for_each(task);
        } else {
            out.chunks_mut(per * self.len).enumerate().for_each(task);
        }
    }
}
