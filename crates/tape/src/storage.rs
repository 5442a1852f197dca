//! Node storage reused across tapes: a training loop makes a tape per step, and a dropped tape leaves
//! its emptied node storage (and its small value buffers) for the next one instead of freeing them.

use std::any::Any;
use std::cell::RefCell;

use wengert_tensor::Float;

use crate::tape::{Node, Tape};

/// Node storage of this capacity or less is kept for the next tape when a tape is dropped.
const SPARE_CAPACITY: usize = 1 << 13;

thread_local! {
    /// The emptied node storage of the last tape dropped on this thread, for the next tape to reuse: a
    /// training loop makes a tape per step and should not grow a fresh one (and copy it) each time.
    static SPARE_NODES: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

impl<F: Float> Drop for Tape<F> {
    fn drop(&mut self) {
        let mut nodes = std::mem::take(self.nodes.get_mut());
        // Last node first, so that the next tape's first ops find the buffers of this one's first.
        for node in nodes.drain(..).rev() {
            node.value.recycle();
        }
        if nodes.capacity() <= SPARE_CAPACITY {
            // `try_with`: during thread teardown the slot may be gone; then the storage is just freed.
            let _ = SPARE_NODES.try_with(|spare| *spare.borrow_mut() = Some(Box::new(nodes)));
        }
    }
}

/// Empty node storage: the spare one of this thread when it holds nodes of this element type.
pub(crate) fn node_storage<F: Float>() -> Vec<Node<F>> {
    let spare = SPARE_NODES.try_with(|spare| spare.borrow_mut().take()).ok().flatten();
    match spare.map(|b| b.downcast::<Vec<Node<F>>>()) {
        Some(Ok(nodes)) => *nodes,
        _ => Vec::with_capacity(64),
    }
}

#[cfg(test)]
mod tests {
    use wengert_tensor::Tensor;

    use crate::tape::Tape;

    #[test]
    fn a_dropped_tape_leaves_its_storage_to_the_next() {
        let tape = Tape::<f32>::new();
        for _ in 0..100 {
            tape.constant(Tensor::scalar(1.0));
        }
        let cap = tape.nodes.borrow().capacity();
        drop(tape);
        let next = Tape::<f32>::new();
        assert!(next.is_empty());
        assert_eq!(next.nodes.borrow().capacity(), cap);
        drop(next);
        // A tape of another element type cannot use it and starts afresh.
        assert_eq!(Tape::<f64>::new().nodes.borrow().capacity(), 64);
    }
}
