//! A fresh tape per step frees everything: the live heap after 10,000 small training steps equals the
//! live heap after 100. The allocator counts the bytes of the test's own thread, so the harness's
//! threads do not disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use wengert_tape::Tape;
use wengert_tensor::Tensor;

struct Counting;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // try_with: during thread teardown the slot may be gone; those frees are not ours to count.
    let _ = LIVE.try_with(|live| live.set(live.get() + delta));
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

// SAFETY: forwards every call to the system allocator unchanged; only counts bytes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: the caller's layout is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: ptr was allocated by System with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: as for realloc's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_fresh_tape_per_step_frees_the_whole_graph() {
    let x = Tensor::<f32>::from_vec((0..32).map(|i| i as f32 / 32.0).collect(), &[8, 4]).unwrap();
    let t = Tensor::<f32>::from_vec((0..8).map(|i| (i % 2) as f32).collect(), &[8, 1]).unwrap();
    let mut w = Tensor::<f32>::full(&[4, 1], 0.1);
    let mut b = Tensor::<f32>::zeros(&[1]);
    let mut live_at_100 = 0;
    for step in 1..=10_000 {
        {
            let tape = Tape::<f32>::new();
            let (wv, bv) = (tape.var(w.clone()), tape.var(b.clone()));
            let pred = (tape.constant(x.clone()).matmul(wv) + bv).sigmoid();
            let loss = (pred - tape.constant(t.clone())).square().mean();
            let g = tape.grad(loss, &[wv, bv]);
            w = &w - &(&g[0] * 0.1);
            b = &b - &(&g[1] * 0.1);
        }
        // Everything of the step is dropped here; only w and b live on.
        if step == 100 {
            live_at_100 = live();
        }
    }
    let live_at_10000 = live();
    assert_eq!(live_at_10000, live_at_100, "live heap grew from {live_at_100} to {live_at_10000} bytes");
}
