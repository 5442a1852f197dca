//! Matrix products with NumPy's `matmul` rules: `C[.., i, j] = Σ_p A[.., i, p] · B[.., p, j]`.
//!
//! Batch dimensions broadcast. Every product runs through the `gemm` crate on the operands' own pointers
//! and strides, so transposed and strided views are read in place, never copied; the result is a fresh
//! row-major array that gemm writes without it being zeroed first.

use gemm::Parallelism;
use ndarray::{Array2, Array3, ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, Dimension, Ix2, IxDyn};
use rayon::prelude::*;

use crate::error::{TensorError, fail};
use crate::float::Float;
use crate::shape::broadcast_shapes;
use crate::tensor::Tensor;

/// A product of at least this many multiply-adds (`m·n·k`, here 2²² ≈ 161³) runs on the rayon pool;
/// smaller ones stay on the calling thread.
///
/// Measured with `gemm` on 2 AVX-512 cores: at 1–2 M multiply-adds two threads are as often slower as
/// faster (0.6–1.1x, worst on skinny shapes such as 128x512 · 512x10); from 4 M they win about 1.3x, and
/// 1.4–1.7x from 16 M on. A batch of smaller products whose total reaches the threshold runs its
/// matrices in parallel instead, each on one thread.
pub(crate) const MATMUL_PAR_THRESHOLD: usize = 1 << 22;

/// The sizes of a product: batch dims (broadcast), the matrix dims `m x k` times `k x n`, the output shape.
struct Plan {
    batch: Vec<usize>,
    m: usize,
    k: usize,
    n: usize,
    out: Vec<usize>,
}

fn plan(a: &[usize], b: &[usize]) -> Result<Plan, TensorError> {
    let err = |reason: String| TensorError::InvalidArgument {
        op: "matmul",
        reason: format!("{a:?} x {b:?}: {reason}"),
    };
    if a.is_empty() || b.is_empty() {
        return Err(err("a 0-d operand has no matrix dimension (use `*` to scale by a scalar)".into()));
    }
    let (m, k) = if a.len() == 1 { (1, a[0]) } else { (a[a.len() - 2], a[a.len() - 1]) };
    let (kb, n) = if b.len() == 1 { (b[0], 1) } else { (b[b.len() - 2], b[b.len() - 1]) };
    if k != kb {
        return Err(err(format!("inner dimensions {k} and {kb} differ")));
    }
    let (a_batch, b_batch) = (&a[..a.len().saturating_sub(2)], &b[..b.len().saturating_sub(2)]);
    let batch = broadcast_shapes("matmul", a_batch, b_batch)
        .map_err(|_| err(format!("batch dimensions {a_batch:?} and {b_batch:?} do not broadcast")))?;
    let mut out = batch.clone();
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    Ok(Plan { batch, m, k, n, out })
}

/// The shape of `a.matmul(b)` for operands of shapes `a` and `b`, following NumPy's `matmul`.
///
/// A 1-D left operand is a row (a 1 is prepended to its shape, then removed from the result), a 1-D right
/// operand is a column (a 1 is appended, then removed); dimensions before the last two are batch
/// dimensions and broadcast against each other.
///
/// ```
/// use wengert_tensor::matmul_shape;
/// assert_eq!(matmul_shape(&[2, 3], &[3, 4]).unwrap(), vec![2, 4]);
/// assert_eq!(matmul_shape(&[3], &[3]).unwrap(), Vec::<usize>::new());
/// assert_eq!(matmul_shape(&[2, 1, 3, 4], &[5, 4, 2]).unwrap(), vec![2, 5, 3, 2]);
/// let err = matmul_shape(&[2, 3], &[4, 5]).unwrap_err();
/// assert_eq!(err.to_string(), "matmul: [2, 3] x [4, 5]: inner dimensions 3 and 4 differ");
/// ```
///
/// # Errors
///
/// [`TensorError::InvalidArgument`] when an operand is 0-d, when the inner dimensions differ, or when the
/// batch dimensions do not broadcast.
pub fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, TensorError> {
    plan(a, b).map(|p| p.out)
}

impl<F: Float> Tensor<F> {
    /// The matrix product, with NumPy's `matmul` rules for 1-D operands and batch dimensions.
    ///
    /// 2-D x 2-D is the matrix product; a 1-D left operand is treated as a row and a 1-D right operand as
    /// a column, and the added dimension is removed from the result (so 1-D x 1-D is a 0-d dot product);
    /// for more dimensions, the last two of each operand are the matrices and the leading ones are batch
    /// dimensions that broadcast (see [`matmul_shape`]). Transposed or strided views are multiplied in
    /// place without a copy; large products run on the rayon pool.
    ///
    /// ```
    /// use wengert_tensor::Tensor;
    /// let a = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// let b = Tensor::<f32>::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2]).unwrap();
    /// assert_eq!(a.matmul(&b).to_vec(), vec![4.0, 5.0, 10.0, 11.0]);
    /// assert_eq!(a.matmul(&a.t()).shape(), &[2, 2]);
    /// ```
    ///
    /// # Panics
    ///
    /// When an operand is 0-d, when the inner dimensions differ, or when the batch dimensions do not
    /// broadcast: `matmul: [2, 3] x [4, 5]: inner dimensions 3 and 4 differ`.
    #[track_caller]
    pub fn matmul(&self, other: &Self) -> Self {
        let plan = plan(self.shape(), other.shape()).unwrap_or_else(|e| fail(e));
        Tensor::from_array(product(self.data.view(), other.data.view(), &plan))
    }

    /// The dot product of two 1-D tensors of equal length, as a 0-d tensor.
    ///
    /// ```
    /// use wengert_tensor::Tensor;
    /// let a = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(a.dot(&a).item(), 14.0);
    /// ```
    ///
    /// # Panics
    ///
    /// When an operand is not 1-D or the lengths differ: `dot: [3] x [4]: lengths 3 and 4 differ`.
    #[track_caller]
    pub fn dot(&self, other: &Self) -> Self {
        check_vectors("dot", self.shape(), other.shape());
        if self.len() != other.len() {
            fail(TensorError::InvalidArgument {
                op: "dot",
                reason: format!(
                    "{:?} x {:?}: lengths {} and {} differ",
                    self.shape(),
                    other.shape(),
                    self.len(),
                    other.len()
                ),
            });
        }
        self.matmul(other)
    }

    /// The outer product of two 1-D tensors: `out[i, j] = a[i] · b[j]`, of shape `[a.len(), b.len()]`.
    ///
    /// ```
    /// use wengert_tensor::Tensor;
    /// let a = Tensor::<f32>::from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let b = Tensor::<f32>::from_vec(vec![1.0, 10.0, 100.0], &[3]).unwrap();
    /// assert_eq!(a.outer(&b).to_vec(), vec![1.0, 10.0, 100.0, 2.0, 20.0, 200.0]);
    /// ```
    ///
    /// # Panics
    ///
    /// When an operand is not 1-D: `outer: [2, 2] x [3]: both operands must be 1-D`.
    #[track_caller]
    pub fn outer(&self, other: &Self) -> Self {
        check_vectors("outer", self.shape(), other.shape());
        let (a, b) = (self.data.view().insert_axis(Axis(1)), other.data.view().insert_axis(Axis(0)));
        let plan = plan(a.shape(), b.shape()).expect("[n, 1] x [1, m] always multiplies");
        Tensor::from_array(product(a, b, &plan))
    }
}

/// Panics unless both shapes are 1-D, naming `op`.
#[track_caller]
fn check_vectors(op: &'static str, a: &[usize], b: &[usize]) {
    if a.len() != 1 || b.len() != 1 {
        fail(TensorError::InvalidArgument {
            op,
            reason: format!("{a:?} x {b:?}: both operands must be 1-D"),
        });
    }
}

/// Multiplies two matrices into `out`: `out = a·b`, or `out = out + a·b` when `accumulate`.
///
/// All three may be views of any strides (transposed, sliced with steps, negative steps); nothing is
/// copied. With `accumulate == false` the old contents of `out` are not read (NaNs there do not leak).
/// Large products run on the rayon pool. This is the kernel under [`Tensor::matmul`], for other
/// kernels that multiply into a buffer of their own.
///
/// ```
/// use ndarray::{Array2, array};
/// use wengert_tensor::matmul_into;
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// let mut out = Array2::<f32>::ones((2, 2));
/// matmul_into(a.view(), a.t(), out.view_mut(), true);
/// assert_eq!(out, array![[6.0, 12.0], [12.0, 26.0]]);
/// ```
///
/// # Panics
///
/// When `a.ncols() != b.nrows()`, or when `out` is not `a.nrows() x b.ncols()`.
#[track_caller]
pub fn matmul_into<F: Float>(
    a: ArrayView2<'_, F>,
    b: ArrayView2<'_, F>,
    out: ArrayViewMut2<'_, F>,
    accumulate: bool,
) {
    let (ash, bsh, osh) = (a.shape(), b.shape(), out.shape());
    let reason = if ash[1] != bsh[0] {
        format!("{ash:?} x {bsh:?}: inner dimensions {} and {} differ", ash[1], bsh[0])
    } else if osh != [ash[0], bsh[1]] {
        format!("{ash:?} x {bsh:?}: output has shape {osh:?}, not {:?}", [ash[0], bsh[1]])
    } else {
        let work = ash[0].saturating_mul(ash[1]).saturating_mul(bsh[1]);
        gemm_call(a, b, Dst::Into(out, accumulate), parallelism(work));
        return;
    };
    fail(TensorError::InvalidArgument { op: "matmul_into", reason })
}

/// Rayon's current pool for a product of `work` multiply-adds above the threshold, else one thread.
fn parallelism(work: usize) -> Parallelism {
    if work >= MATMUL_PAR_THRESHOLD { Parallelism::Rayon(0) } else { Parallelism::None }
}

/// The product of two views of shapes already checked by `plan`, as a fresh standard-layout array.
fn product<F: Float>(a: ArrayViewD<'_, F>, b: ArrayViewD<'_, F>, plan: &Plan) -> ArrayD<F> {
    let Plan { m, k, n, .. } = *plan;
    let a = if a.ndim() == 1 { a.insert_axis(Axis(0)) } else { a };
    let b = if b.ndim() == 1 { b.insert_axis(Axis(1)) } else { b };
    let count: usize = plan.batch.iter().product();
    let work = m.saturating_mul(n).saturating_mul(k);
    let single = if count == 0 {
        return ArrayD::zeros(IxDyn(&plan.out));
    } else if count == 1 {
        let first = vec![0; plan.batch.len()];
        gemm_call(matrix_at(&a, &first), matrix_at(&b, &first), Dst::Fresh, parallelism(work))
    } else if b.ndim() == 2 && rows_merge(&a) {
        // [.., m, k] x [k, n] with the left rows evenly spaced: one [count·m, k] x [k, n] product.
        let rows = a.to_shape((count * m, k)).expect("the element count is unchanged");
        debug_assert!(rows.is_view(), "rows_merge promised a view");
        gemm_call(rows.view(), matrix_at(&b, &[]), Dst::Fresh, parallelism(work.saturating_mul(count)))
    } else {
        None
    };
    if let Some(single) = single {
        return single.into_shape_with_order(IxDyn(&plan.out)).expect("fresh row-major output");
    }
    // Batches of products into one zeroed (so initialized) array; each product overwrites its matrix.
    let mut out = Array3::<F>::zeros((count, m, n));
    let pairs: Vec<_> = ndarray::indices(IxDyn(&plan.batch))
        .into_iter()
        .map(|idx| (matrix_at(&a, idx.slice()), matrix_at(&b, idx.slice())))
        .collect();
    let mats = out.axis_iter_mut(Axis(0));
    if work < MATMUL_PAR_THRESHOLD && work.saturating_mul(count) >= MATMUL_PAR_THRESHOLD {
        // Many small products: one per rayon task, each on a single thread.
        mats.into_par_iter().zip(pairs).for_each(|(c, (x, y))| {
            gemm_call(x, y, Dst::Into(c, false), Parallelism::None);
        });
    } else {
        for (c, (x, y)) in mats.zip(pairs) {
            gemm_call(x, y, Dst::Into(c, false), parallelism(work));
        }
    }
    out.into_shape_with_order(IxDyn(&plan.out)).expect("fresh row-major output")
}

/// True when the batch and row axes of `x` (`[.., m, k]`) step through memory like one axis of rows,
/// so that `x` is a `[count·m, k]` matrix view without a copy.
fn rows_merge<F>(x: &ArrayViewD<'_, F>) -> bool {
    let lead = x.ndim() - 1;
    let axes: Vec<(usize, isize)> = x.shape()[..lead]
        .iter()
        .zip(&x.strides()[..lead])
        .filter(|&(&d, _)| d != 1)
        .map(|(&d, &s)| (d, s))
        .collect();
    axes.windows(2).all(|w| w[0].1 == w[1].1 * w[1].0 as isize)
}

/// The matrix of `x` (`[.., rows, cols]`) at batch index `idx` of the broadcast batch shape: `x`'s own
/// batch axes align to the right of `idx`, and an axis of length 1 is read at 0 (broadcast).
fn matrix_at<'a, F>(x: &ArrayViewD<'a, F>, idx: &[usize]) -> ArrayView2<'a, F> {
    let own = x.ndim() - 2;
    let mut v = x.clone();
    for &i in &idx[idx.len() - own..] {
        let i = if v.len_of(Axis(0)) == 1 { 0 } else { i };
        v = v.index_axis_move(Axis(0), i);
    }
    v.into_dimensionality::<Ix2>().expect("the two matrix axes are left")
}

/// Where [`gemm_call`] writes its product.
enum Dst<'a, F> {
    /// Into an initialized matrix: overwriting it, or adding to it when the flag is set.
    Into(ArrayViewMut2<'a, F>, bool),
    /// Into a fresh row-major matrix, allocated without zeroing (gemm writes every element) and returned.
    Fresh,
}

/// `a·b` through `gemm::gemm` into `dst`, the one `unsafe` block of Wengert; returns the matrix made
/// for [`Dst::Fresh`], and `None` for [`Dst::Into`].
#[allow(unsafe_code)]
fn gemm_call<F: Float>(
    a: ArrayView2<'_, F>,
    b: ArrayView2<'_, F>,
    dst: Dst<'_, F>,
    parallelism: Parallelism,
) -> Option<Array2<F>> {
    let ((m, k), (kb, n)) = (a.dim(), b.dim());
    assert_eq!(k, kb, "gemm_call: {m}x{k} times {kb}x{n}");
    let (mut into, accumulate) = match dst {
        Dst::Into(c, accumulate) => {
            assert_eq!(c.dim(), (m, n), "gemm_call: {m}x{k} times {kb}x{n} into {:?}", c.shape());
            (Some(c), accumulate)
        }
        Dst::Fresh => (None, false),
    };
    if m == 0 || n == 0 || k == 0 {
        // An empty product, or sums over nothing: zeros, added to nothing when accumulating.
        return match into {
            Some(mut c) if !accumulate => {
                c.fill(F::zero());
                None
            }
            Some(_) => None,
            None => Some(Array2::zeros((m, n))),
        };
    }
    let mut fresh = None;
    let (c_ptr, c_rs, c_cs) = match &mut into {
        Some(c) => {
            let (rs, cs) = (c.strides()[0], c.strides()[1]);
            (c.as_mut_ptr(), rs, cs)
        }
        None => (fresh.insert(Array2::<F>::uninit((m, n))).as_mut_ptr().cast::<F>(), n as isize, 1),
    };
    let (sa, sb) = (a.strides(), b.strides());
    // SAFETY: checked above: `a` is m x k, `b` is k x n and the destination is m x n, with m, n, k > 0, so
    // every offset `i·rs + j·cs` that gemm forms (i below the rows, j below the columns, negative strides
    // included) is an element of the corresponding view, whose pointer is its element [0, 0]; ndarray
    // guarantees such offsets fit in isize. The destination is a mutable view of the caller's, or the
    // fresh row-major matrix: either way its elements are distinct (no stride-0 axis longer than 1), and
    // they do not overlap `a` or `b`, which are shared borrows alive at the same time. `F` is f32 or f64
    // (sealed), types gemm supports. gemm reads the destination only when `accumulate` (`read_dst`), which
    // is false for the fresh matrix; with `beta = 1` it writes all m·n of its elements, so the fresh
    // matrix is initialized when gemm returns.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c_ptr,
            c_cs,
            c_rs,
            accumulate,
            a.as_ptr(),
            sa[1],
            sa[0],
            b.as_ptr(),
            sb[1],
            sb[0],
            F::one(),
            F::one(),
            false,
            false,
            false,
            parallelism,
        );
        fresh.map(|c| c.assume_init())
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArcArray, Array2, ArrayD, Slice, array, s};
    use proptest::prelude::*;

    use super::*;

    fn tensor<F: Float>(values: &[f64], shape: &[usize]) -> Tensor<F> {
        Tensor::from_vec(values.iter().map(|&x| F::from_f64(x)).collect(), shape).unwrap()
    }

    /// 0, 1, 2, ... in a tensor of `shape`: small integers, so every product is exact in f32 and f64.
    fn iota<F: Float>(shape: &[usize]) -> Tensor<F> {
        let len: usize = shape.iter().product();
        tensor(&(0..len).map(|i| (i % 13) as f64 - 6.0).collect::<Vec<_>>(), shape)
    }

    fn as_f64<F: Float>(t: &Tensor<F>) -> Vec<f64> {
        t.to_vec().into_iter().map(Float::to_f64).collect()
    }

    /// NumPy's matmul written out: promote 1-D operands, broadcast the batch axes, triple loop.
    fn naive<F: Float>(a: &Tensor<F>, b: &Tensor<F>) -> (Vec<usize>, Vec<f64>) {
        let av = if a.ndim() == 1 { a.data.view().insert_axis(Axis(0)) } else { a.data.view() };
        let bv = if b.ndim() == 1 { b.data.view().insert_axis(Axis(1)) } else { b.data.view() };
        let (m, k) = (av.shape()[av.ndim() - 2], av.shape()[av.ndim() - 1]);
        let n = bv.shape()[bv.ndim() - 1];
        let batch =
            broadcast_shapes("naive", &av.shape()[..av.ndim() - 2], &bv.shape()[..bv.ndim() - 2]).unwrap();
        let with = |rows, cols| [batch.clone(), vec![rows, cols]].concat();
        let (ab, bb) = (av.broadcast(with(m, k)).unwrap(), bv.broadcast(with(k, n)).unwrap());
        let mut out = Vec::new();
        for idx in ndarray::indices(IxDyn(&batch)) {
            let at = |i, j| [idx.slice(), &[i, j][..]].concat();
            for i in 0..m {
                for j in 0..n {
                    out.push(
                        (0..k)
                            .map(|p| {
                                Float::to_f64(ab[IxDyn(&at(i, p))]) * Float::to_f64(bb[IxDyn(&at(p, j))])
                            })
                            .sum(),
                    );
                }
            }
        }
        let mut shape = batch;
        if a.ndim() > 1 {
            shape.push(m);
        }
        if b.ndim() > 1 {
            shape.push(n);
        }
        (shape, out)
    }

    fn zeros<F: Float>(shape: &[usize]) -> Tensor<F> {
        Tensor::from_array(ArrayD::zeros(IxDyn(shape)))
    }

    /// Equal shapes and elements (written out: `Tensor`'s `Debug` lives elsewhere).
    #[track_caller]
    fn same<F: Float>(a: &Tensor<F>, b: &Tensor<F>) {
        assert_eq!((a.shape(), a.to_vec()), (b.shape(), b.to_vec()));
    }

    fn view2<F: Float>(t: &Tensor<F>) -> ArrayView2<'_, F> {
        t.data.view().into_dimensionality::<Ix2>().unwrap()
    }

    fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol * (1.0 + w.abs()), "element {i}: got {g}, want {w}");
        }
    }

    fn hand_checked_products<F: Float>() {
        let v = tensor::<F>(&[1.0, 2.0, 3.0], &[3]);
        let w = tensor::<F>(&[4.0, 5.0, 6.0], &[3]);
        let vw = v.matmul(&w);
        assert_eq!((vw.shape(), as_f64(&vw)), (&[][..], vec![32.0]));

        let row = tensor::<F>(&[1.0, 2.0], &[2]);
        let m23 = tensor::<F>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let rm = row.matmul(&m23);
        assert_eq!((rm.shape(), as_f64(&rm)), (&[3][..], vec![9.0, 12.0, 15.0]));

        let col = tensor::<F>(&[1.0, 0.0, -1.0], &[3]);
        let mc = m23.matmul(&col);
        assert_eq!((mc.shape(), as_f64(&mc)), (&[2][..], vec![-2.0, -2.0]));

        let p = tensor::<F>(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let q = tensor::<F>(&[5.0, 6.0, 7.0, 8.0], &[2, 2]);
        let pq = p.matmul(&q);
        assert_eq!((pq.shape(), as_f64(&pq)), (&[2, 2][..], vec![19.0, 22.0, 43.0, 50.0]));

        let batched = tensor::<F>(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &[2, 2, 2]);
        let diag = tensor::<F>(&[1.0, 0.0, 0.0, 2.0], &[2, 2]);
        let bd = batched.matmul(&diag);
        assert_eq!(
            (bd.shape(), as_f64(&bd)),
            (&[2, 2, 2][..], vec![1.0, 4.0, 3.0, 8.0, 5.0, 12.0, 7.0, 16.0])
        );
        let db = diag.matmul(&batched);
        assert_eq!(as_f64(&db), vec![1.0, 2.0, 6.0, 8.0, 5.0, 6.0, 14.0, 16.0]);

        // a[i, 0] is (i + 1) everywhere and b[j] is j everywhere, so out[i, j] is 4 (i + 1) j everywhere.
        let a: Vec<f64> = (0..2).flat_map(|i| vec![(i + 1) as f64; 12]).collect();
        let b: Vec<f64> = (0..5).flat_map(|j| vec![j as f64; 8]).collect();
        let ab = tensor::<F>(&a, &[2, 1, 3, 4]).matmul(&tensor(&b, &[5, 4, 2]));
        let want: Vec<f64> =
            (0..2).flat_map(|i| (0..5).flat_map(move |j| vec![(4 * (i + 1) * j) as f64; 6])).collect();
        assert_eq!((ab.shape(), as_f64(&ab)), (&[2, 5, 3, 2][..], want));
    }

    #[test]
    fn matmul_follows_numpy_for_every_rank_in_f32_and_f64() {
        hand_checked_products::<f32>();
        hand_checked_products::<f64>();
    }

    #[test]
    fn broadcast_batches_match_the_naive_product() {
        for (sa, sb) in [
            (&[2, 1, 3, 4][..], &[5, 4, 2][..]),
            (&[3, 2, 4], &[3, 4, 5]),
            (&[1, 2, 4], &[3, 4, 5]),
            (&[4], &[2, 3, 4, 2]),
            (&[2, 3, 4, 2], &[2]),
            (&[2, 3, 4], &[4]),
            (&[6, 3], &[2, 3, 1]),
        ] {
            let (a, b) = (iota::<f64>(sa), iota::<f64>(sb));
            let (shape, want) = naive(&a, &b);
            let got = a.matmul(&b);
            assert_eq!(got.shape(), &shape[..], "{sa:?} x {sb:?}");
            assert_eq!(matmul_shape(sa, sb).unwrap(), shape);
            assert_eq!(as_f64(&got), want, "{sa:?} x {sb:?}");
        }
    }

    /// `x` with its last two axes swapped, sharing storage.
    fn swapped<F: Float>(x: &Tensor<F>) -> Tensor<F> {
        let mut d = x.to_shared();
        let n = d.ndim();
        d.swap_axes(n - 2, n - 1);
        Tensor::from_shared(d)
    }

    #[test]
    fn transposed_and_stepped_operands_match_contiguous_copies() {
        let a = iota::<f32>(&[7, 5]);
        let b = iota::<f32>(&[7, 4]);
        let at = swapped(&a);
        assert!(!at.data.is_standard_layout());
        same(&at.matmul(&b), &at.to_contiguous().matmul(&b));
        let bt = swapped(&iota::<f32>(&[4, 7]));
        same(&swapped(&a).matmul(&bt), &a.t_copy().matmul(&bt.to_contiguous()));
        assert_eq!(
            swapped(&a).matmul(&b).to_vec(),
            naive(&at, &b).1.iter().map(|&x| x as f32).collect::<Vec<_>>()
        );
        // g x w.t() and a.t() x g, as in a linear layer's backward pass.
        let (x, w, g) = (iota::<f64>(&[6, 9]), iota::<f64>(&[9, 4]), iota::<f64>(&[6, 4]));
        same(&g.matmul(&swapped(&w)), &g.matmul(&swapped(&w).to_contiguous()));
        same(&swapped(&x).matmul(&g), &swapped(&x).to_contiguous().matmul(&g));

        let mut stepped = iota::<f64>(&[9, 8]).to_shared();
        stepped.slice_collapse(s![..;2, ..;-3]);
        let stepped = Tensor::from_shared(stepped);
        assert_eq!(stepped.shape(), &[5, 3]);
        let c = iota::<f64>(&[3, 2]);
        same(&stepped.matmul(&c), &stepped.to_contiguous().matmul(&c));
        same(
            &swapped(&c).matmul(&swapped(&stepped)),
            &swapped(&c).to_contiguous().matmul(&swapped(&stepped).to_contiguous()),
        );

        let mut batch = iota::<f64>(&[4, 3, 6]).to_shared();
        batch.slice_collapse(s![..;-2, .., 1..;2]);
        let batch = Tensor::from_shared(batch);
        let d = iota::<f64>(&[2, 3, 2]);
        same(
            &batch.matmul(&swapped(&batch)),
            &batch.to_contiguous().matmul(&swapped(&batch).to_contiguous()),
        );
        same(&swapped(&d).matmul(&batch), &swapped(&d).to_contiguous().matmul(&batch.to_contiguous()));
    }

    impl<F: Float> Tensor<F> {
        /// The transpose of a 2-D tensor as a contiguous copy (independent of `t` in shape_ops).
        fn t_copy(&self) -> Self {
            Tensor::from_array(self.data.t().as_standard_layout().into_owned())
        }
    }

    #[test]
    fn zero_size_dimensions_give_empty_or_zero_results() {
        let cases: [(&[usize], &[usize], &[usize]); 7] = [
            (&[0, 3], &[3, 4], &[0, 4]),
            (&[2, 3], &[3, 0], &[2, 0]),
            (&[2, 0], &[0, 3], &[2, 3]),
            (&[0, 2, 3], &[3, 4], &[0, 2, 4]),
            (&[2, 2, 0], &[2, 0, 3], &[2, 2, 3]),
            (&[0], &[0], &[]),
            (&[0], &[0, 5], &[5]),
        ];
        for (sa, sb, want) in cases {
            let c = zeros::<f32>(sa).matmul(&zeros(sb));
            assert_eq!(c.shape(), want, "{sa:?} x {sb:?}");
            assert!(c.to_vec().iter().all(|&x| x == 0.0));
        }
        assert_eq!(zeros::<f64>(&[0]).dot(&zeros(&[0])).item(), 0.0);
        assert_eq!(zeros::<f64>(&[0]).outer(&zeros(&[3])).shape(), &[0, 3]);
    }

    #[test]
    fn dot_and_outer_multiply_vectors() {
        let a = tensor::<f32>(&[1.0, 2.0, 3.0], &[3]);
        let b = tensor::<f32>(&[4.0, -5.0, 6.0], &[3]);
        assert_eq!(a.dot(&b).shape(), &[] as &[usize]);
        assert_eq!(a.dot(&b).item(), 12.0);
        let o = a.outer(&tensor(&[1.0, 10.0], &[2]));
        assert_eq!((o.shape(), o.to_vec()), (&[3, 2][..], vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0]));
        let mut stepped = iota::<f64>(&[7]).to_shared();
        stepped.slice_axis_inplace(Axis(0), Slice::new(0, None, -2));
        let stepped = Tensor::from_shared(stepped);
        assert_eq!(stepped.dot(&stepped).item(), stepped.to_vec().iter().map(|x| x * x).sum::<f64>());
        same(&stepped.outer(&stepped), &stepped.to_contiguous().outer(&stepped.to_contiguous()));
    }

    #[test]
    fn matmul_into_overwrites_or_accumulates_in_any_layout() {
        let a = array![[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let b = array![[1.0f64, 0.0], [0.0, 1.0], [1.0, 1.0]];
        let ab = array![[4.0, 5.0], [10.0, 11.0]];
        let mut out = Array2::from_elem((2, 2), f64::NAN);
        matmul_into(a.view(), b.view(), out.view_mut(), false);
        assert_eq!(out, ab);
        matmul_into(a.view(), b.view(), out.view_mut(), true);
        assert_eq!(out, &ab * 2.0);
        // Into a transposed, strided window of a bigger buffer.
        let mut big = Array2::<f64>::ones((4, 4));
        matmul_into(b.t(), a.t(), big.slice_mut(s![..;2, 1..3]).reversed_axes(), true);
        assert_eq!(big.slice(s![..;2, 1..3]), &ab + 1.0);
        assert_eq!(big.slice(s![1..;2, ..]), Array2::ones((2, 4)));
        let mut empty = Array2::<f64>::from_elem((2, 2), 7.0);
        matmul_into(Array2::zeros((2, 0)).view(), Array2::zeros((0, 2)).view(), empty.view_mut(), false);
        assert_eq!(empty, Array2::zeros((2, 2)));
    }

    /// A fast naive product of 3-D operands, for the sizes that take the parallel paths.
    fn naive3(a: &ArrayD<f64>, b: &ArrayD<f64>) -> Vec<f64> {
        let (nb, m, k, n) = (a.shape()[0], a.shape()[1], a.shape()[2], b.shape()[2]);
        let mut out = vec![0.0; nb * m * n];
        for z in 0..nb {
            for i in 0..m {
                for p in 0..k {
                    let x = a[[z, i, p]];
                    for j in 0..n {
                        out[(z * m + i) * n + j] += x * b[[z, p, j]];
                    }
                }
            }
        }
        out
    }

    #[test]
    fn parallel_paths_match_the_naive_product() {
        // One large product on the rayon pool, and many small ones run in parallel.
        for (nb, m, k, n) in [(1, 170, 160, 160), (64, 16, 32, 128), (5, 40, 1, 1)] {
            assert!(nb == 5 || m * n * k * nb >= MATMUL_PAR_THRESHOLD);
            let (a, b) = (iota::<f64>(&[nb, m, k]), swapped(&iota::<f64>(&[nb, n, k])));
            let want = naive3(&a.data.to_owned(), &b.data.to_owned());
            assert_eq!(a.matmul(&b).to_vec(), want);
        }
        // [.., m, k] x [k, n] multiplies as one [count·m, k] x [k, n] product when the rows of the left
        // operand are evenly spaced (here with k outermost in memory), and batch by batch otherwise.
        let w = iota::<f64>(&[128, 100]);
        let wide = w.data.broadcast((12, 128, 100)).unwrap().to_owned().into_dyn();
        let merged =
            Tensor::from_shared(iota::<f64>(&[128, 3, 4, 90]).to_shared().permuted_axes(vec![1, 2, 3, 0]));
        let unmerged = swapped(&iota::<f64>(&[3, 4, 128, 90]));
        for a in [iota::<f64>(&[3, 4, 90, 128]), merged, unmerged] {
            assert_eq!(a.shape(), &[3, 4, 90, 128]);
            let want = naive3(&a.data.to_shape((12, 90, 128)).unwrap().into_owned().into_dyn(), &wide);
            let got = a.matmul(&w);
            assert_eq!((got.shape(), got.to_vec()), (&[3, 4, 90, 100][..], want));
        }
    }

    #[test]
    #[should_panic(expected = "matmul: [2, 3] x [4, 5]: inner dimensions 3 and 4 differ")]
    fn matmul_rejects_mismatched_inner_dimensions() {
        zeros::<f32>(&[2, 3]).matmul(&zeros(&[4, 5]));
    }

    #[test]
    #[should_panic(expected = "matmul: [] x [3]: a 0-d operand has no matrix dimension")]
    fn matmul_rejects_scalars() {
        Tensor::<f32>::scalar(2.0).matmul(&zeros(&[3]));
    }

    #[test]
    #[should_panic(expected = "matmul: [2, 2, 3] x [3, 3, 4]: batch dimensions [2] and [3] do not broadcast")]
    fn matmul_rejects_batches_that_do_not_broadcast() {
        zeros::<f64>(&[2, 2, 3]).matmul(&zeros(&[3, 3, 4]));
    }

    #[test]
    #[should_panic(expected = "dot: [3] x [4]: lengths 3 and 4 differ")]
    fn dot_rejects_different_lengths() {
        zeros::<f32>(&[3]).dot(&zeros(&[4]));
    }

    #[test]
    #[should_panic(expected = "dot: [2, 3] x [3]: both operands must be 1-D")]
    fn dot_rejects_matrices() {
        zeros::<f32>(&[2, 3]).dot(&zeros(&[3]));
    }

    #[test]
    #[should_panic(expected = "outer: [2, 2] x [3]: both operands must be 1-D")]
    fn outer_rejects_matrices() {
        zeros::<f32>(&[2, 2]).outer(&zeros(&[3]));
    }

    #[test]
    #[should_panic(expected = "matmul_into: [2, 3] x [3, 2]: output has shape [2, 3], not [2, 2]")]
    fn matmul_into_rejects_a_wrong_output_shape() {
        matmul_into(
            Array2::<f32>::zeros((2, 3)).view(),
            Array2::zeros((3, 2)).view(),
            Array2::zeros((2, 3)).view_mut(),
            false,
        );
    }

    #[test]
    #[should_panic(expected = "matmul_into: [2, 3] x [2, 2]: inner dimensions 3 and 2 differ")]
    fn matmul_into_rejects_mismatched_inner_dimensions() {
        matmul_into(
            Array2::<f32>::zeros((2, 3)).view(),
            Array2::zeros((2, 2)).view(),
            Array2::zeros((2, 2)).view_mut(),
            false,
        );
    }

    #[test]
    fn matmul_shape_reports_errors_without_panicking() {
        assert_eq!(matmul_shape(&[2, 1, 3, 4], &[5, 4, 2]).unwrap(), vec![2, 5, 3, 2]);
        assert_eq!(matmul_shape(&[3], &[2, 3, 4]).unwrap(), vec![2, 4]);
        assert_eq!(matmul_shape(&[2, 3, 4], &[4]).unwrap(), vec![2, 3]);
        assert!(matmul_shape(&[3], &[]).is_err());
        let err = matmul_shape(&[3], &[4]).unwrap_err();
        assert_eq!(err.to_string(), "matmul: [3] x [4]: inner dimensions 3 and 4 differ");
    }

    /// One operand of the property test: its logical shape, and how its storage is laid out.
    #[derive(Debug, Clone)]
    struct Layout {
        shape: Vec<usize>,
        transposed: bool,
        step: isize,
    }

    /// A tensor of `layout.shape` whose view is transposed in its last two axes and/or steps through a
    /// bigger buffer (a negative step walks it backwards), filled from `seed`.
    fn operand<F: Float>(layout: &Layout, seed: &mut u64) -> Tensor<F> {
        let mut store = layout.shape.clone();
        let nd = store.len();
        if layout.transposed && nd >= 2 {
            store.swap(nd - 2, nd - 1);
        }
        let last = nd - 1;
        let len = store[last];
        store[last] = len * layout.step.unsigned_abs();
        let mut data: ArcArray<F, IxDyn> = ArrayD::from_shape_fn(IxDyn(&store), |_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            F::from_f64((*seed % 2001) as f64 / 1000.0 - 1.0)
        })
        .into_shared();
        data.slice_axis_inplace(Axis(last), Slice::new(0, None, layout.step));
        if layout.transposed && nd >= 2 {
            data.swap_axes(nd - 2, nd - 1);
        }
        assert_eq!(data.shape(), &layout.shape[..]);
        Tensor::from_shared(data)
    }

    /// Pairs of operand layouts that multiply: matrix sizes 0..=4, up to 3 batch dims of sizes 1..=3 that
    /// broadcast against each other (some set to 1, leading ones dropped), 1-D operands, transposed views
    /// and views stepping through a bigger buffer.
    fn layouts() -> impl Strategy<Value = (Layout, Layout)> {
        let sizes = (0usize..=4, 0usize..=4, 0usize..=4, proptest::collection::vec(1usize..=3, 0..=3));
        let side = (any::<[bool; 3]>(), 0usize..=3, any::<bool>(), any::<bool>(), 0usize..4);
        (sizes, side.clone(), side).prop_map(|((m, k, n, batch), a, b)| {
            let layout = |(ones, drop, vector, transposed, step): ([bool; 3], usize, bool, bool, usize),
                          matrix: [usize; 2]| {
                let first = drop.min(batch.len());
                let mut shape: Vec<usize> =
                    (first..batch.len()).map(|i| if ones[i] { 1 } else { batch[i] }).collect();
                if vector && shape.is_empty() {
                    shape.push(k);
                } else {
                    shape.extend(matrix);
                }
                Layout { shape, transposed, step: [1, 2, -1, -2][step] }
            };
            (layout(a, [m, k]), layout(b, [k, n]))
        })
    }

    proptest! {
        #[test]
        fn matmul_matches_a_naive_triple_loop((la, lb) in layouts(), seed in 1u64..) {
            let mut s = seed;
            let (a, b) = (operand::<f64>(&la, &mut s), operand::<f64>(&lb, &mut s));
            let (shape, want) = naive(&a, &b);
            let got = a.matmul(&b);
            prop_assert_eq!(got.shape(), &shape[..]);
            assert_close(&as_f64(&got), &want, 1e-12);

            if a.ndim() == 2 && b.ndim() == 2 {
                // Into a NaN-filled buffer: every element is written, none is read.
                let mut out = Array2::from_elem((a.shape()[0], b.shape()[1]), f64::NAN);
                matmul_into(view2(&a), view2(&b), out.view_mut(), false);
                assert_close(&out.iter().copied().collect::<Vec<_>>(), &want, 1e-12);
                matmul_into(view2(&a), view2(&b), out.view_mut(), true);
                assert_close(&out.iter().map(|x| x / 2.0).collect::<Vec<_>>(), &want, 1e-12);
            }

            let mut s = seed;
            let (a, b) = (operand::<f32>(&la, &mut s), operand::<f32>(&lb, &mut s));
            let (_, want) = naive(&a, &b);
            assert_close(&as_f64(&a.matmul(&b)), &want, 1e-5);
        }
    }
}
