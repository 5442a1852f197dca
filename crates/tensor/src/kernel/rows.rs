//! Broadcasting as rows: a binary op whose operands are each the whole output, one row repeated
//! (a bias), one value per row repeated along it (a column of scales) or one value, over a
//! row-major output of `rows × m` elements. Such ops run as slice loops, row segment by row
//! segment, with no index arithmetic per element.

use crate::float::Float;

/// How an operand's elements map onto the output viewed as rows of `m` elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// Element `i` of the output reads element `i`.
    Full,
    /// One row of `m` elements, repeated: output `i` reads `i % m`.
    Row,
    /// One element per row, repeated along it: output `i` reads `i / m`.
    Col,
    /// One element for the whole output.
    Scalar,
}

/// The row length and both operands' patterns of a broadcast, when its shapes fit them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) m: usize,
    pub(crate) a: Pattern,
    pub(crate) b: Pattern,
}

/// The plan of broadcasting shapes `a` and `b` to `out` (their broadcast shape), if there is a split
/// of `out`'s axes into leading and trailing ones at which each operand is, over each side, either
/// `out` itself or all ones; the split with the longest rows is taken. `None` when no split fits
/// (both operands broadcast inside one side, as `[n, 1, k] · [1, m, 1]`), or the output is empty.
pub(crate) fn plan(out: &[usize], a: &[usize], b: &[usize]) -> Option<Plan> {
    if out.contains(&0) {
        return None;
    }
    (0..=out.len()).find_map(|k| {
        let (a, b) = (pattern(out, a, k)?, pattern(out, b, k)?);
        Some(Plan { m: out[k..].iter().product(), a, b })
    })
}

/// `p`'s pattern when `out`'s axes split before axis `k`, or `None` when it has none there.
fn pattern(out: &[usize], p: &[usize], k: usize) -> Option<Pattern> {
    let lead = out.len().checked_sub(p.len())?;
    // `p` right-aligned under `out`, its missing leading axes of size 1.
    let dim = |d: usize| if d < lead { 1 } else { p[d - lead] };
    let side = |range: std::ops::Range<usize>| {
        let varies = range.clone().all(|d| dim(d) == out[d]);
        let ones = range.clone().all(|d| dim(d) == 1);
        (varies, ones)
    };
    match (side(0..k), side(k..out.len())) {
        ((true, _), (true, _)) => Some(Pattern::Full),
        ((_, true), (_, true)) => Some(Pattern::Scalar),
        ((_, true), (true, _)) => Some(Pattern::Row),
        ((true, _), (_, true)) => Some(Pattern::Col),
        _ => None,
    }
}

/// An operand's elements for a run of output positions inside one row.
enum Seg<'a, F> {
    Slice(&'a [F]),
    One(F),
}

/// An operand's row-major elements and their pattern.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a, F> {
    pub(crate) data: &'a [F],
    pub(crate) pattern: Pattern,
}

impl<'a, F: Float> Operand<'a, F> {
    /// The elements for output positions `i .. i + len`, which lie in one row of `m`.
    #[inline]
    fn seg(&self, i: usize, m: usize, len: usize) -> Seg<'a, F> {
        match self.pattern {
            Pattern::Full => Seg::Slice(&self.data[i..i + len]),
            Pattern::Row => Seg::Slice(&self.data[i % m..i % m + len]),
            Pattern::Col => Seg::One(self.data[i / m]),
            Pattern::Scalar => Seg::One(self.data[0]),
        }
    }
}

/// Calls `body(i, len)` for the row segments that cover output positions `start .. start + n`.
#[inline]
fn segments(start: usize, n: usize, m: usize, mut body: impl FnMut(usize, usize)) {
    let (mut i, end) = (start, start + n);
    while i < end {
        let len = (m - i % m).min(end - i);
        body(i, len);
        i += len;
    }
}

/// Writes `f(a, b)` for output positions `start .. start + out.len()` into `out`.
pub(crate) fn fill<F: Float>(
    out: &mut [F],
    start: usize,
    m: usize,
    a: Operand<'_, F>,
    b: Operand<'_, F>,
    f: &(impl Fn(F, F) -> F + Sync),
) {
    segments(start, out.len(), m, |i, len| {
        let o = &mut out[i - start..i - start + len];
        match (a.seg(i, m, len), b.seg(i, m, len)) {
            (Seg::Slice(x), Seg::Slice(y)) => {
                o.iter_mut().zip(x.iter().zip(y)).for_each(|(o, (&p, &q))| *o = f(p, q));
            }
            (Seg::Slice(x), Seg::One(q)) => o.iter_mut().zip(x).for_each(|(o, &p)| *o = f(p, q)),
            (Seg::One(p), Seg::Slice(y)) => o.iter_mut().zip(y).for_each(|(o, &q)| *o = f(p, q)),
            (Seg::One(p), Seg::One(q)) => o.fill(f(p, q)),
        }
    });
}

/// Appends `f(a, b)` for all `n` output positions to `v` (no zeroing pass before).
pub(crate) fn extend<F: Float>(
    v: &mut Vec<F>,
    n: usize,
    m: usize,
    a: Operand<'_, F>,
    b: Operand<'_, F>,
    f: &(impl Fn(F, F) -> F + Sync),
) {
    segments(0, n, m, |i, len| match (a.seg(i, m, len), b.seg(i, m, len)) {
        (Seg::Slice(x), Seg::Slice(y)) => v.extend(x.iter().zip(y).map(|(&p, &q)| f(p, q))),
        (Seg::Slice(x), Seg::One(q)) => v.extend(x.iter().map(|&p| f(p, q))),
        (Seg::One(p), Seg::Slice(y)) => v.extend(y.iter().map(|&q| f(p, q))),
        (Seg::One(p), Seg::One(q)) => v.extend(std::iter::repeat_n(f(p, q), len)),
    });
}

/// Writes `f(x, b)` over `x` in place, `x` being output positions `start .. start + x.len()`
/// (the left operand, of the output's shape).
pub(crate) fn update<F: Float>(
    x: &mut [F],
    start: usize,
    m: usize,
    b: Operand<'_, F>,
    f: &(impl Fn(F, F) -> F + Sync),
) {
    segments(start, x.len(), m, |i, len| {
        let o = &mut x[i - start..i - start + len];
        match b.seg(i, m, len) {
            Seg::Slice(y) => o.iter_mut().zip(y).for_each(|(p, &q)| *p = f(*p, q)),
            Seg::One(q) => o.iter_mut().for_each(|p| *p = f(*p, q)),
        }
    });
}
