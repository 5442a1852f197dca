//! Matrix products with NumPy's `matmul` rules: `C[.., i, j] = Σ_p A[.., i, p] · B[.., p, j]`.
//!
//! Batch dimensions broadcast. Every product runs through the `gemm` crate on the operands' own pointers
//! and strides, so transposed and strided views are read in place, never copied; the result is a fresh
//! row-major array that gemm writes without it being zeroed first.

use ndarray::{Array2, Array3, ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, Dimension, Ix2, IxDyn};

use crate::error::{TensorError, fail};
use crate::float::Float;
use crate::shape::broadcast_shapes;
use crate::tensor::Tensor;

/// A product of at least this many multiply-adds (`m·n·k`, here 2²² ≈ 161³) through [`matmul_into`]
/// may use the rayon pool; smaller ones stay on the calling thread, as kernels that call it from items
/// already run in parallel (the convolutions) want. A batch of fewer than 8 products this large runs
/// them one after the other, each on the pool.
///
/// Measured with `gemm` on 2 AVX-512 cores: at 1–2 M multiply-adds gemm's own two threads are as often
/// slower as faster (0.6–1.1x, worst on skinny shapes such as 128x512 · 512x10); from 4 M they win
/// about 1.3x, and 1.4–1.7x from 16 M on. [`Tensor::matmul`] and [`Tensor::linear`] use the pool from
/// the same size, and cut a product of 2¹⁷ multiply-adds up to it into two halves of its output, one per
/// core (see `split.rs`).
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
/// use wengert::tensor::matmul_shape;
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
    /// use wengert::tensor::Tensor;
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
    #[doc(alias("mm", "bmm"))]
    pub fn matmul(&self, other: &Self) -> Self {
        // A `match`, not `unwrap_or_else`: a closure would hide the caller's line from `fail`.
        let plan = match plan(self.shape(), other.shape()) {
            Ok(plan) => plan,
            Err(e) => fail(e),
        };
        Tensor::from_array(product(self.data.view(), other.data.view(), &plan))
    }

    /// The dot product of two 1-D tensors of equal length, as a 0-d tensor.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
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
    /// use wengert::tensor::Tensor;
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

impl<F: Float> Tensor<F> {
    /// The affine map of a dense layer, `self · wᵀ + b`, for `self` `[n, in]`, `w` `[out, in]` (PyTorch's
    /// layout) and `b` `[out]`: one product that writes into a buffer pre-filled with the bias, with `w`
    /// read through its transpose in place.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let w = Tensor::<f32>::from_vec(vec![1.0, 0.0, 1.0, 1.0, 0.0, 2.0], &[3, 2]).unwrap();
    /// let b = Tensor::<f32>::from_vec(vec![0.5, 0.0, -1.0], &[3]).unwrap();
    /// assert_eq!(x.linear(&w, Some(&b)).to_vec(), vec![1.5, 3.0, 3.0, 3.5, 7.0, 7.0]);
    /// assert_eq!(x.linear(&w, None), x.matmul(&w.t()));
    /// ```
    ///
    /// # Panics
    ///
    /// When `self` or `w` is not 2-D, their widths differ, or `b` is not `[out]`:
    /// `linear: [2, 3] x [4, 5]ᵀ: input width 3 and weight width 5 differ`.
    #[track_caller]
    pub fn linear(&self, w: &Self, b: Option<&Self>) -> Self {
        let (xs, ws) = (self.shape(), w.shape());
        let reason = if xs.len() != 2 || ws.len() != 2 {
            format!("{xs:?} x {ws:?}ᵀ: the input and the weight must be 2-D")
        } else if xs[1] != ws[1] {
            format!("{xs:?} x {ws:?}ᵀ: input width {} and weight width {} differ", xs[1], ws[1])
        } else if let Some(b) = b.filter(|b| b.shape() != [ws[0]]) {
            format!("{xs:?} x {ws:?}ᵀ: the bias has shape {:?}, not [{}]", b.shape(), ws[0])
        } else {
            let x = self.data.view().into_dimensionality::<Ix2>().expect("2-D");
            let wt = w.data.view().into_dimensionality::<Ix2>().expect("2-D").reversed_axes();
            let out = match b {
                None => gemm_call(x, wt, Dst::Fresh, Threads::Pool).expect("a fresh matrix"),
                Some(b) => {
                    let row = b.data.view().into_dimensionality::<ndarray::Ix1>().expect("1-D");
                    let mut out = match row.as_slice() {
                        // Row after row of the bias, copied whole.
                        Some(r) => Array2::from_shape_vec((xs[0], ws[0]), r.repeat(xs[0])).expect("n rows"),
                        None => row.broadcast((xs[0], ws[0])).expect("[out] to [n, out]").to_owned(),
                    };
                    gemm_call(x, wt, Dst::Into(out.view_mut(), true), Threads::Pool);
                    out
                }
            };
            return Tensor::from_array(out.into_dyn());
        };
        fail(TensorError::InvalidArgument { op: "linear", reason })
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
/// use wengert::tensor::matmul_into;
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
        gemm_call(a, b, Dst::Into(out, accumulate), pool_above_threshold(work));
        return;
    };
    fail(TensorError::InvalidArgument { op: "matmul_into", reason })
}

/// The pool for a product of `work` multiply-adds at or above [`MATMUL_PAR_THRESHOLD`], else one
/// thread: [`matmul_into`]'s rule, for kernels that may call it from items already run in parallel.
fn pool_above_threshold(work: usize) -> Threads {
    if work >= MATMUL_PAR_THRESHOLD { Threads::Pool } else { Threads::One }
}

/// A batch of products runs its matrices in parallel, each one gemm call on one thread, when they total
/// at least this many multiply-adds (2¹⁷, as for cutting one product in two).
const BATCH_PAR_MIN: usize = 1 << 17;

/// The product of two views of shapes already checked by `plan`, as a fresh standard-layout array.
fn product<F: Float>(a: ArrayViewD<'_, F>, b: ArrayViewD<'_, F>, plan: &Plan) -> ArrayD<F> {
    let Plan { m, k, n, .. } = *plan;
    let a = if a.ndim() == 1 { a.insert_axis(Axis(0)) } else { a };
    let b = if b.ndim() == 1 { b.insert_axis(Axis(1)) } else { b };
    let count: usize = plan.batch.iter().product();
    let work = m.saturating_mul(n).saturating_mul(k);
    if count == 0 {
        return ArrayD::zeros(IxDyn(&plan.out));
    }
    let single = if count == 1 {
        let first = vec![0; plan.batch.len()];
        gemm_call(matrix_at(&a, &first), matrix_at(&b, &first), Dst::Fresh, Threads::Pool)
    } else if b.ndim() == 2 && rows_merge(&a) {
        // [.., m, k] x [k, n] with the left rows evenly spaced: one [count·m, k] x [k, n] product.
        let rows = a.to_shape((count * m, k)).expect("the element count is unchanged");
        debug_assert!(rows.is_view(), "rows_merge promised a view");
        gemm_call(rows.view(), matrix_at(&b, &[]), Dst::Fresh, Threads::Pool)
    } else {
        None
    };
    if let Some(single) = single {
        return single.into_shape_with_order(IxDyn(&plan.out)).expect("fresh row-major output");
    }
    let pairs: Vec<_> = ndarray::indices(IxDyn(&plan.batch))
        .into_iter()
        .map(|idx| (matrix_at(&a, idx.slice()), matrix_at(&b, idx.slice())))
        .collect();
    let total = work.saturating_mul(count);
    if work >= MATMUL_PAR_THRESHOLD && count < 8 {
        // A few large products: one after the other, each on the pool the way its shape runs best.
        let mut out = Array3::<F>::zeros((count, m, n));
        for (c, (x, y)) in out.axis_iter_mut(Axis(0)).zip(pairs) {
            gemm_call(x, y, Dst::Into(c, false), Threads::Pool);
        }
        return out.into_shape_with_order(IxDyn(&plan.out)).expect("fresh row-major output");
    }
    // Many products: chunks of whole products, each chunk enough work to pay for handing it to another
    // thread, shared between the caller and the pool; every product is one gemm call on one thread, so
    // the chunking does not change any element.
    let per_chunk = if work == 0 { count } else { BATCH_PAR_MIN.div_ceil(work).clamp(1, count) };
    let chunks = count.div_ceil(per_chunk);
    let parallel = total >= BATCH_PAR_MIN && chunks > 1;
    let mut flat = fresh_blocks(
        chunks,
        per_chunk * m,
        n,
        parallel,
        || (),
        |i, rows, _| {
            for (x, y) in &pairs[i * per_chunk..((i + 1) * per_chunk).min(count)] {
                rows.product(x.view(), y.view());
            }
        },
    );
    // The last chunk may be short: the rows past the products are zeros, cut off here.
    flat.truncate(count * m * n);
    ArrayD::from_shape_vec(IxDyn(&plan.out), flat).expect("count products of m x n")
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

mod raw;
mod split;

pub(crate) use raw::fresh_blocks;
use raw::{Dst, Threads, gemm_call};

#[cfg(test)]
mod tests;
