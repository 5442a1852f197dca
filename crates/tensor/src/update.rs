//! In-place fused update of several tensors: one pass over `W` written and `R` read tensors of one
//! shape, calling a per-element closure `f(&mut [w₁, …, w_W], [r₁, …, r_R])` on matching elements.
//!
//! The pass runs in a function compiled for the widest SIMD the CPU has (pulp's runtime dispatch:
//! AVX-512 or AVX2 where present, instead of the crate's baseline SSE2), and above
//! [`PAR_THRESHOLD`] elements it is split into chunks across the rayon pool. Every element is
//! computed on its own, so the result is bit-identical whatever the pool size.

use rayon::prelude::*;

use crate::float::Float;
use crate::kernel::PAR_THRESHOLD;
use crate::tensor::Tensor;

/// The fewest elements per rayon task of a parallel update (32 KiB of each tensor in f32).
const CHUNK: usize = 8192;

/// Updates the `written` tensors in place, element by element: for every index `i`, `f` receives
/// the `i`-th elements of the written tensors (to change) and of the `read` tensors.
///
/// This is one pass over all the tensors, where the same update as separate tensor ops would read
/// and write each of them several times; optimizers use it to update a parameter and its running
/// averages together. A written tensor whose buffer is shared with another handle is copied first
/// (copy on write), so other handles never see the change. Tensors that are not row-major are made
/// row-major first.
///
/// ```
/// use wengert::tensor::{Tensor, fused_update};
/// let mut x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
/// let mut avg = Tensor::<f32>::zeros(&[3]);
/// let d = Tensor::<f32>::from_vec(vec![0.5, 0.5, -1.0], &[3]).unwrap();
/// // avg ← (avg + d) / 2, then x ← x − avg, in one pass.
/// fused_update([&mut x, &mut avg], [&d], |[x, avg], [d]| {
///     *avg = (*avg + d) * 0.5;
///     *x -= *avg;
/// });
/// assert_eq!(avg.to_vec(), vec![0.25, 0.25, -0.5]);
/// assert_eq!(x.to_vec(), vec![0.75, 1.75, 3.5]);
/// ```
///
/// # Panics
///
/// When the tensors do not all have the same shape (the message names every shape), or when `f`
/// panics.
#[track_caller]
pub fn fused_update<F: Float, const W: usize, const R: usize>(
    written: [&mut Tensor<F>; W],
    read: [&Tensor<F>; R],
    f: impl Fn(&mut [F; W], [F; R]) + Sync,
) {
    let shape = match (written.first(), read.first()) {
        (Some(w), _) => w.shape().to_vec(),
        (None, Some(r)) => r.shape().to_vec(),
        (None, None) => return,
    };
    let shapes = || {
        let w = written.iter().map(|t| format!("{:?}", t.shape()));
        w.chain(read.iter().map(|t| format!("{:?}", t.shape()))).collect::<Vec<_>>().join(", ")
    };
    if !(written.iter().all(|t| t.has_shape(&shape)) && read.iter().all(|t| t.has_shape(&shape))) {
        panic!("fused_update: the tensors' shapes differ: {}", shapes());
    }
    let read = read.map(Tensor::to_contiguous);
    let w = written.map(|t| {
        if !t.as_array_mut().is_standard_layout() {
            *t = t.to_contiguous();
        }
        t.as_array_mut().as_slice_mut().expect("row-major after to_contiguous")
    });
    let r = read.each_ref().map(|t| t.as_slice().expect("row-major after to_contiguous"));
    update_slices(w, r, &f);
}

/// [`fused_update`] on slices of one length: serial below [`PAR_THRESHOLD`], else in chunks on the
/// rayon pool.
fn update_slices<F: Float, const W: usize, const R: usize>(
    w: [&mut [F]; W],
    r: [&[F]; R],
    f: &(impl Fn(&mut [F; W], [F; R]) + Sync),
) {
    let len = r.first().map_or_else(|| w.first().map_or(0, |s| s.len()), |s| s.len());
    if len < PAR_THRESHOLD {
        pulp::Arch::new().dispatch(Pass { w, r, f });
        return;
    }
    // A few large tasks: at least CHUNK elements, about a quarter of a thread's share.
    let chunk = CHUNK.max(len.div_ceil(4 * rayon::current_num_threads()));
    let (mut wc, mut rc) = (w.map(|s| s.chunks_mut(chunk)), r.map(|s| s.chunks(chunk)));
    let passes: Vec<Pass<'_, F, W, R, _>> = (0..len.div_ceil(chunk))
        .map(|_| Pass {
            w: wc.each_mut().map(|c| c.next().expect("equal lengths")),
            r: rc.each_mut().map(|c| c.next().expect("equal lengths")),
            f,
        })
        .collect();
    passes.into_par_iter().for_each(|pass| pulp::Arch::new().dispatch(pass));
}

/// One serial pass over matching slices. pulp's dispatch runs it inside a function compiled for the
/// CPU's widest SIMD, so the loop vectorises with those lanes; each element's arithmetic is the same
/// whatever the lanes, so are the results.
struct Pass<'a, F, const W: usize, const R: usize, K> {
    w: [&'a mut [F]; W],
    r: [&'a [F]; R],
    f: &'a K,
}

impl<F: Float, const W: usize, const R: usize, K: Fn(&mut [F; W], [F; R])> pulp::WithSimd
    for Pass<'_, F, W, R, K>
{
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Pass { w, r, f } = self;
        // Blocks of LANES elements of every tensor are copied into fixed-size local arrays, updated
        // there and copied back: the locals cannot alias and their size is known, so the compiler
        // keeps them in vector registers and runs `f` on all lanes at once, whatever W and R are.
        let (mut wb, mut wt): ([&mut [[F; LANES]]; W], [&mut [F]; W]) = split(w.map(<[F]>::as_chunks_mut));
        let (rb, rt): ([&[[F; LANES]]; R], [&[F]; R]) = split(r.map(<[F]>::as_chunks));
        let blocks = rb.first().map_or_else(|| wb.first().map_or(0, |b| b.len()), |b| b.len());
        for b in 0..blocks {
            let mut x: [[F; LANES]; W] = std::array::from_fn(|k| wb[k][b]);
            let y: [[F; LANES]; R] = std::array::from_fn(|k| rb[k][b]);
            for j in 0..LANES {
                let mut e: [F; W] = std::array::from_fn(|k| x[k][j]);
                f(&mut e, std::array::from_fn(|k| y[k][j]));
                for (x, e) in x.iter_mut().zip(e) {
                    x[j] = e;
                }
            }
            for (s, x) in wb.iter_mut().zip(x) {
                s[b] = x;
            }
        }
        // The last len % LANES elements, one at a time.
        let tail = rt.first().map_or_else(|| wt.first().map_or(0, |t| t.len()), |t| t.len());
        for i in 0..tail {
            let mut e: [F; W] = std::array::from_fn(|k| wt[k][i]);
            f(&mut e, std::array::from_fn(|k| rt[k][i]));
            for (t, e) in wt.iter_mut().zip(e) {
                t[i] = e;
            }
        }
    }
}

/// Elements per block of a pass: 64 bytes of f32, one AVX-512 register or two AVX2 ones.
const LANES: usize = 16;

/// An array of pairs as a pair of arrays.
fn split<A, B, const N: usize>(pairs: [(A, B); N]) -> ([A; N], [B; N]) {
    let mut pairs = pairs.map(|(a, b)| (Some(a), Some(b)));
    let a = std::array::from_fn(|k| pairs[k].0.take().expect("taken once"));
    let b = std::array::from_fn(|k| pairs[k].1.take().expect("taken once"));
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `1.5 + sin(i · scale)`: varied, positive values.
    fn ramp(n: usize, scale: f32) -> Tensor<f32> {
        Tensor::from_vec((0..n).map(|i| 1.5 + (i as f32 * scale).sin()).collect(), &[n]).unwrap()
    }

    /// A running-average update, with a division and a root so rounding would show any difference.
    fn step(n: usize) -> (Vec<f32>, Vec<f32>) {
        let (mut x, mut m, d) = (ramp(n, 0.1), ramp(n, 0.3), ramp(n, 0.7));
        fused_update([&mut x, &mut m], [&d], |[x, m], [d]| {
            *m = *m * 0.9 + 0.1 * d * d;
            *x -= 0.01 * d / (m.sqrt() + 1e-8);
        });
        (x.to_vec(), m.to_vec())
    }

    #[test]
    fn fused_update_matches_a_plain_loop() {
        for n in [0, 1, 7, 100, PAR_THRESHOLD + CHUNK / 2 + 3] {
            let (x, m) = step(n);
            let (mut x0, mut m0, d) = (ramp(n, 0.1).to_vec(), ramp(n, 0.3).to_vec(), ramp(n, 0.7).to_vec());
            for i in 0..n {
                m0[i] = m0[i] * 0.9 + 0.1 * d[i] * d[i];
                x0[i] -= 0.01 * d[i] / (m0[i].sqrt() + 1e-8);
            }
            assert_eq!((x, m), (x0, m0), "n = {n}");
        }
    }

    #[test]
    fn fused_update_is_bit_identical_whatever_the_pool_size() {
        let n = 3 * PAR_THRESHOLD + 11;
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| step(n))
        };
        let one = run(1);
        for threads in [2, 3, 8] {
            assert!(one == run(threads), "{threads} threads differ from one");
        }
    }

    #[test]
    fn fused_update_copies_a_shared_buffer_and_fixes_a_transposed_layout() {
        let mut x = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        let keep = x.clone();
        let mut t = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap().t();
        let g = Tensor::<f64>::from_vec(vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0], &[3, 2]).unwrap().t();
        fused_update([&mut x, &mut t], [&g], |[x, t], [g]| {
            *x += g;
            *t += g;
        });
        assert_eq!(keep.to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(x.to_vec(), vec![11.0, 32.0, 53.0, 24.0, 45.0, 66.0]);
        assert_eq!(t.to_vec(), vec![11.0, 33.0, 55.0, 22.0, 44.0, 66.0]);
    }

    #[test]
    #[should_panic(expected = "fused_update: the tensors' shapes differ: [2], [3]")]
    fn fused_update_rejects_tensors_of_different_shapes() {
        let mut x = Tensor::<f32>::zeros(&[2]);
        fused_update([&mut x], [&Tensor::zeros(&[3])], |[x], [d]| *x += d);
    }
}
