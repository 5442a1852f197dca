//! Recycled buffers of small tensors: [`Tensor::recycle`] puts a tensor's buffer on a per-thread
//! shelf when nothing else holds it, and the elementwise kernels take their outputs from there before
//! they allocate. A tape records thousands of small values per step and drops them all at its end;
//! reused, they cost a few pointer moves instead of two allocations and two frees each.

use std::any::Any;
use std::cell::RefCell;

use ndarray::{ArcArray, IxDyn};

use crate::float::Float;
use crate::tensor::{Tensor, same_shape};

/// Buffers of at most this many elements are kept.
const MAX_LEN: usize = 4096;
/// At most this many buffers are kept per thread and element type (8192 of the largest: 128 MiB in
/// f32 at most; a tape of small values keeps far less).
const MAX_COUNT: usize = 1 << 13;
/// At most this many distinct lengths are kept; a buffer of another length is dropped.
const MAX_LENGTHS: usize = 32;

/// The kept buffers of one length, last in first out, and how many to keep: as many as the kernels
/// asked for in the last run of takes, so that a loop which drops what it made (a tape per step)
/// keeps what its next step will take, and no more — buffers that no kernel asks for again (a
/// matmul's output, say) are freed, not hoarded.
struct Shelf<F> {
    len: usize,
    arrays: Vec<ArcArray<F, IxDyn>>,
    /// Takes asked for (found or not) since the last put.
    asked: usize,
    /// The buffers this shelf keeps at most: `asked` when the last run of takes ended.
    limit: usize,
}

/// The shelves of one element type.
struct Shelves<F> {
    shelves: Vec<Shelf<F>>,
    count: usize,
}

impl<F> Shelves<F> {
    const fn new() -> Self {
        Shelves { shelves: Vec::new(), count: 0 }
    }

    /// The shelf of `len`-element buffers, made if there is room for another.
    fn shelf(&mut self, len: usize) -> Option<&mut Shelf<F>> {
        let at = match self.shelves.iter().position(|s| s.len == len) {
            Some(at) => at,
            None if self.shelves.len() < MAX_LENGTHS => {
                self.shelves.push(Shelf { len, arrays: Vec::new(), asked: 0, limit: 0 });
                self.shelves.len() - 1
            }
            None => return None,
        };
        Some(&mut self.shelves[at])
    }
}

thread_local! {
    static F32: RefCell<Shelves<f32>> = const { RefCell::new(Shelves::new()) };
    static F64: RefCell<Shelves<f64>> = const { RefCell::new(Shelves::new()) };
}

/// Runs `f` on this thread's shelves of `F` (none during thread teardown).
fn with_shelves<F: Float, R>(f: impl FnOnce(&mut Shelves<F>) -> R) -> Option<R> {
    fn typed<G: 'static, F: 'static>(s: &mut Shelves<G>) -> &mut Shelves<F> {
        (s as &mut dyn Any).downcast_mut().expect("the element type matches")
    }
    if F::DTYPE == f32::DTYPE {
        F32.try_with(|s| f(typed(&mut s.borrow_mut()))).ok()
    } else {
        F64.try_with(|s| f(typed(&mut s.borrow_mut()))).ok()
    }
}

/// A kept buffer reshaped to `shape`, unshared and in standard layout, or `None` when no buffer of
/// that many elements is kept. Its elements hold old values: the caller overwrites every one.
pub(crate) fn take<F: Float>(shape: &[usize]) -> Option<ArcArray<F, IxDyn>> {
    let len: usize = shape.iter().product();
    if len == 0 || len > MAX_LEN {
        return None;
    }
    let array = with_shelves(|s: &mut Shelves<F>| {
        let shelf = s.shelf(len)?;
        shelf.asked += 1;
        let array = shelf.arrays.pop()?;
        s.count -= 1;
        Some(array)
    })??;
    if same_shape(array.shape(), shape) {
        Some(array)
    } else {
        array.into_shape_with_order(IxDyn(shape)).ok()
    }
}

/// A tensor of `shape` whose elements `fill` writes, all of them, in row-major order, in a kept buffer;
/// `None` (and `fill` not called) when no buffer of that many elements is kept.
pub(crate) fn filled<F: Float>(shape: &[usize], fill: impl FnOnce(&mut [F])) -> Option<Tensor<F>> {
    let mut out = take(shape)?;
    fill(out.as_slice_mut().expect("a kept buffer is contiguous"));
    Some(Tensor::from_shared(out))
}

impl<F: Float> Tensor<F> {
    /// Drops this tensor, keeping its buffer on this thread for a later kernel to write its output
    /// into, when no other handle shares it, it is small (4096 elements at most) and contiguous, and
    /// the kernels asked for that many buffers of its length: for code that makes and drops many small
    /// tensors in a loop, like a tape at the end of each step. The values are never seen again; other
    /// tensors are simply dropped.
    ///
    /// ```
    /// use wengert::tensor::Tensor;
    /// let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[4]).unwrap();
    /// for _step in 0..3 {
    ///     let y = x.exp();          // from the second step on, in the buffer recycled below
    ///     assert_eq!(y.shape(), &[4]);
    ///     y.recycle();
    /// }
    /// ```
    pub fn recycle(self) {
        let len = self.len();
        if len == 0 || len > MAX_LEN || !self.data.is_standard_layout() || !self.data.is_unique() {
            return;
        }
        let array = self.data;
        with_shelves(move |s: &mut Shelves<F>| {
            if s.count >= MAX_COUNT {
                return;
            }
            let Some(shelf) = s.shelf(len) else { return };
            if shelf.asked > 0 {
                // The first put after a run of takes: keep as many as that run asked for.
                (shelf.limit, shelf.asked) = (shelf.asked, 0);
            }
            if shelf.arrays.len() < shelf.limit {
                shelf.arrays.push(array);
                s.count += 1;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Empties this thread's shelves of `F` (tests run on threads of their own, but may share one).
    fn clear<F: Float>() {
        with_shelves(|s: &mut Shelves<F>| *s = Shelves::new());
    }

    #[test]
    fn a_recycled_buffer_is_taken_again_in_any_shape_of_its_length() {
        clear::<f32>();
        assert!(take::<f32>(&[6]).is_none(), "nothing is kept yet");
        let a = Tensor::<f32>::from_vec((0..6).map(|i| i as f32).collect(), &[2, 3]).unwrap();
        let ptr = a.as_slice().unwrap().as_ptr();
        a.recycle();
        assert!(take::<f32>(&[4]).is_none(), "no buffer of 4 elements");
        let b = take::<f32>(&[3, 2]).expect("the buffer of 6");
        assert_eq!((b.shape(), b.as_ptr()), (&[3, 2][..], ptr));
        assert!(take::<f32>(&[6]).is_none(), "taken once");
        assert!(take::<f64>(&[6]).is_none(), "kept by element type");
    }

    #[test]
    fn a_shelf_keeps_as_many_buffers_as_the_last_run_of_takes_asked_for() {
        clear::<f32>();
        let live = || with_shelves(|s: &mut Shelves<f32>| s.count).unwrap();
        for _ in 0..3 {
            assert!(take::<f32>(&[5]).is_none());
        }
        (0..10).for_each(|_| Tensor::<f32>::zeros(&[5]).recycle());
        assert_eq!(live(), 3, "three were asked for");
        // A loop that takes two and gives back ten keeps two from then on.
        for _step in 0..4 {
            let taken: Vec<_> = (0..2).map(|_| take::<f32>(&[5]).expect("kept")).collect();
            drop(taken);
            (0..10).for_each(|_| Tensor::<f32>::zeros(&[5]).recycle());
            assert_eq!(live(), 2);
        }
        (0..5).for_each(|_| Tensor::<f32>::zeros(&[7]).recycle());
        assert_eq!(live(), 2, "no kernel asked for 7 elements");
    }

    #[test]
    fn shared_strided_and_large_tensors_are_not_kept() {
        clear::<f64>();
        for shape in [&[2, 3][..], &[3, 2], &[MAX_LEN + 1]] {
            assert!(take::<f64>(shape).is_none());
        }
        let a = Tensor::<f64>::ones(&[2, 3]);
        let keep = a.clone();
        a.recycle();
        Tensor::<f64>::ones(&[3, 2]).t().recycle();
        Tensor::<f64>::ones(&[MAX_LEN + 1]).recycle();
        assert_eq!(with_shelves(|s: &mut Shelves<f64>| s.count), Some(0));
        assert_eq!(keep.to_vec(), vec![1.0; 6]);
    }

    #[test]
    fn kernels_write_their_outputs_into_recycled_buffers() {
        clear::<f32>();
        let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
        let first = x.mul_scalar(10.0);
        let ptr = first.as_slice().unwrap().as_ptr();
        first.recycle();
        let y = x.mul_scalar(10.0);
        assert_eq!((y.shape(), y.to_vec()), (&[2, 2][..], vec![10.0, 20.0, 30.0, 40.0]));
        assert_eq!(y.as_slice().unwrap().as_ptr(), ptr);
        y.recycle();
        let z = &x + &x;
        assert_eq!((z.to_vec(), z.as_slice().unwrap().as_ptr()), (vec![2.0, 4.0, 6.0, 8.0], ptr));
    }

    #[test]
    fn the_shelves_are_bounded() {
        clear::<f32>();
        for len in 1..=MAX_LENGTHS + 10 {
            assert!(take::<f32>(&[len]).is_none());
        }
        let lengths = with_shelves(|s: &mut Shelves<f32>| s.shelves.len()).unwrap();
        assert_eq!(lengths, MAX_LENGTHS);
        for _ in 0..MAX_COUNT + 10 {
            let _ = take::<f32>(&[1]);
        }
        for _ in 0..MAX_COUNT + 10 {
            Tensor::<f32>::zeros(&[1]).recycle();
        }
        assert_eq!(with_shelves(|s: &mut Shelves<f32>| s.count).unwrap(), MAX_COUNT);
        clear::<f32>();
    }
}
