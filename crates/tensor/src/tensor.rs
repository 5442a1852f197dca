//! The `Tensor` type: shared n-dimensional storage, element access and conversions to and from ndarray.

use ndarray::{ArcArray, ArrayD, ArrayViewD, IxDyn};

use crate::error::{TensorError, fail};
use crate::float::Float;

/// An n-dimensional array of `F` (`f32` by default) with shared, immutable storage.
///
/// Cloning is O(1): clones share the buffer. Views made by `t`, `permute` or `slice` share it too;
/// kernels copy only when they must. Ops never mutate their inputs.
///
/// ```
/// use wengert::tensor::Tensor;
/// let a = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
/// let b = &a + &a;
/// assert_eq!(b.to_vec(), vec![2.0, 4.0, 6.0, 8.0]);
/// assert_eq!(a.t().to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
/// ```
#[derive(Clone)]
pub struct Tensor<F: Float = f32> {
    pub(crate) data: ArcArray<F, IxDyn>,
}

impl<F: Float> Tensor<F> {
    /// Builds a tensor of `shape` from row-major `data`.
    ///
    /// # Errors
    ///
    /// [`TensorError::LengthMismatch`] when `data.len()` is not the product of `shape`.
    #[doc(alias = "tensor")]
    pub fn from_vec(data: Vec<F>, shape: &[usize]) -> Result<Self, TensorError> {
        let len = data.len();
        ArrayD::from_shape_vec(IxDyn(shape), data)
            .map(Self::from_array)
            .map_err(|_| TensorError::LengthMismatch { op: "from_vec", len, shape: shape.to_vec() })
    }

    /// Wraps an owned ndarray array without copying.
    pub fn from_array(array: ArrayD<F>) -> Self {
        crate::memory::retain_freed_memory();
        Tensor { data: array.into_shared() }
    }

    /// Wraps a shared ndarray array without copying.
    pub fn from_shared(array: ArcArray<F, IxDyn>) -> Self {
        crate::memory::retain_freed_memory();
        Tensor { data: array }
    }

    /// A tensor with no dimensions holding one value.
    pub fn scalar(value: F) -> Self {
        Self::from_array(ArrayD::from_elem(IxDyn(&[]), value))
    }

    /// The dimensions, outermost first.
    pub fn shape(&self) -> &[usize] {
        self.data.shape()
    }

    /// True when the tensor's shape is `shape`: `self.shape() == shape`, compared inline (slice
    /// equality calls `memcmp`, which costs more than the comparison for the few dimensions of a shape).
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let t = Tensor::<f32>::zeros(&[2, 3]);
    /// assert!(t.has_shape(&[2, 3]) && !t.has_shape(&[3, 2]) && !t.has_shape(&[2, 3, 1]));
    /// ```
    #[inline]
    pub fn has_shape(&self, shape: &[usize]) -> bool {
        same_shape(self.shape(), shape)
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.data.ndim()
    }

    /// The number of elements (1 for a scalar).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements in logical row-major order, whatever the memory layout of a view.
    #[doc(alias = "tolist")]
    pub fn to_vec(&self) -> Vec<F> {
        match self.data.as_slice() {
            Some(s) => s.to_vec(),
            None => self.data.iter().copied().collect(),
        }
    }

    /// The one element of a tensor of length 1.
    ///
    /// # Panics
    ///
    /// When the tensor holds other than one element.
    #[track_caller]
    pub fn item(&self) -> F {
        if self.len() != 1 {
            fail(TensorError::InvalidArgument {
                op: "item",
                reason: format!("tensor of shape {:?} holds {} elements, not 1", self.shape(), self.len()),
            });
        }
        *self.data.iter().next().expect("one element")
    }

    /// The element at `index` (one coordinate per dimension), or `None` when out of range.
    pub fn get(&self, index: &[usize]) -> Option<F> {
        self.data.get(IxDyn(index)).copied()
    }

    /// A borrowed ndarray view, for interop with ndarray code.
    pub fn view(&self) -> ArrayViewD<'_, F> {
        self.data.view()
    }

    /// The shared ndarray array (an O(1) clone of the handle).
    pub fn to_shared(&self) -> ArcArray<F, IxDyn> {
        self.data.clone()
    }

    /// An owned ndarray array; copies unless this is the only handle to a contiguous buffer.
    pub fn into_array(self) -> ArrayD<F> {
        self.data.into_owned()
    }

    /// The elements as one contiguous row-major slice, when the layout allows it without a copy.
    pub fn as_slice(&self) -> Option<&[F]> {
        self.data.as_slice()
    }

    /// A standard-layout (contiguous, row-major) tensor: `self` when it already is, else a copy.
    #[doc(alias = "contiguous")]
    pub fn to_contiguous(&self) -> Self {
        if self.data.is_standard_layout() {
            self.clone()
        } else {
            Self::from_array(self.data.as_standard_layout().into_owned())
        }
    }

    /// True when two handles share the same buffer and view of it.
    pub fn same_storage(&self, other: &Self) -> bool {
        self.data.as_ptr() == other.data.as_ptr() && self.shape() == other.shape()
    }

    /// The number of bytes of elements this tensor's view covers.
    pub fn nbytes(&self) -> usize {
        self.len() * std::mem::size_of::<F>()
    }

    /// Converts every element to another float type.
    pub fn cast<G: Float>(&self) -> Tensor<G> {
        Tensor::from_array(self.data.mapv(|x| G::from_f64(x.to_f64())))
    }

    /// The mutable ndarray array, copying the buffer first if it is shared (copy on write).
    ///
    /// This is how optimizers update parameters in place when no other handle holds them.
    pub fn as_array_mut(&mut self) -> &mut ArcArray<F, IxDyn> {
        &mut self.data
    }

    /// True when no other handle shares this tensor's buffer, so it can be updated in place.
    pub fn is_unique(&mut self) -> bool {
        self.data.is_unique()
    }
}

/// `a == b` for shapes, compared inline (slice equality calls `memcmp`, which costs more than the
/// comparison for the few dimensions of a shape).
#[inline]
pub(crate) fn same_shape(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

impl<F: Float> From<ArrayD<F>> for Tensor<F> {
    fn from(array: ArrayD<F>) -> Self {
        Self::from_array(array)
    }
}

impl<F: Float> From<ArcArray<F, IxDyn>> for Tensor<F> {
    fn from(array: ArcArray<F, IxDyn>) -> Self {
        Self::from_shared(array)
    }
}

impl<F: Float> From<Tensor<F>> for ArrayD<F> {
    fn from(t: Tensor<F>) -> Self {
        t.into_array()
    }
}

impl<F: Float> PartialEq for Tensor<F> {
    /// Equal shapes and equal elements (NaN is unequal to itself, as for floats).
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vec_rejects_wrong_length() {
        let err = Tensor::<f32>::from_vec(vec![1.0; 5], &[2, 2]).unwrap_err();
        assert_eq!(err.to_string(), "from_vec: 5 elements cannot fill shape [2, 2] (4 elements)");
    }

    #[test]
    fn access_reads_shape_and_elements() {
        let t = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.ndim(), 2);
        assert_eq!(t.len(), 6);
        assert_eq!(t.get(&[1, 2]), Some(6.0));
        assert_eq!(t.get(&[2, 0]), None);
        assert_eq!(Tensor::scalar(3.5f32).item(), 3.5);
        assert_eq!(t.view()[[0, 1]], 2.0);
    }

    #[test]
    fn clone_shares_storage() {
        let t = Tensor::<f32>::from_vec(vec![1.0; 4], &[4]).unwrap();
        let u = t.clone();
        assert!(t.same_storage(&u));
    }

    #[test]
    #[should_panic(expected = "item: tensor of shape [2] holds 2 elements, not 1")]
    fn item_panics_on_many_elements() {
        Tensor::<f32>::from_vec(vec![1.0, 2.0], &[2]).unwrap().item();
    }

    #[test]
    fn ndarray_round_trip() {
        let a = ndarray::arr2(&[[1.0f32, 2.0], [3.0, 4.0]]).into_dyn();
        let t = Tensor::from(a.clone());
        let back: ArrayD<f32> = t.into();
        assert_eq!(back, a);
    }
}
