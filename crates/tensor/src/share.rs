//! Work shared between the calling thread and the rayon pool, for the few large kernels (convolutions)
//! that split into independent items: the caller starts at once and the pool's threads join as they
//! wake, where a rayon parallel iterator called from outside the pool would send the caller to sleep
//! and wait for sleeping workers to wake before any work starts.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `f(item, scratch)` for every item of `items`: when `parallel`, handed out one at a time to the
/// calling thread and to the other threads of the current rayon pool, each participant making its
/// scratch with `init` once, when it takes its first item; otherwise in order on the calling thread,
/// with one scratch. Returns when every item is done.
///
/// Which thread runs an item depends on timing, so `f` must give the same result for an item whatever
/// its scratch held before (it is per-thread reuse of buffers, not state). A panic in `f` is passed on
/// to the caller once the others have stopped.
pub(crate) fn share<I, S>(
    parallel: bool,
    mut items: I,
    init: impl Fn() -> S + Sync,
    f: impl Fn(I::Item, &mut S) + Sync,
) where
    I: Iterator + Send,
    I::Item: Send,
{
    if !parallel {
        if let Some(first) = items.next() {
            let mut scratch = init();
            f(first, &mut scratch);
            items.for_each(|item| f(item, &mut scratch));
        }
        return;
    }
    let queue = Mutex::new(items);
    // Items taken and not yet done; counted down on unwinding too, so a panic cannot leave it up.
    let running = AtomicUsize::new(0);
    // The lock is held only while taking the next item, never while `f` runs, so a panic in `f`
    // cannot poison it; `into_inner` covers a poisoned lock all the same.
    let next = || {
        let item = queue.lock().unwrap_or_else(|e| e.into_inner()).next()?;
        running.fetch_add(1, Ordering::AcqRel);
        Some((item, Done(&running)))
    };
    let work = || {
        let Some((first, done)) = next() else { return };
        let mut scratch = init();
        f(first, &mut scratch);
        drop(done);
        while let Some((item, done)) = next() {
            f(item, &mut scratch);
            drop(done);
        }
    };
    let helpers = rayon::current_num_threads().saturating_sub(1);
    rayon::in_place_scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(|_| work());
        }
        work();
        // The queue is empty: wait for the items still running elsewhere (one each at most) without
        // going to sleep, which would cost a wake-up as long as a whole item. Helpers that never
        // started are waited for by the scope.
        while running.load(Ordering::Acquire) > 0 {
            std::hint::spin_loop();
        }
    });
}

/// Counts a taken item as done when dropped, after the item or while unwinding from its panic.
struct Done<'a>(&'a AtomicUsize);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_done_once() {
        let mut out = vec![0usize; 1000];
        let inits = AtomicUsize::new(0);
        share(
            true,
            out.chunks_mut(7).enumerate(),
            || inits.fetch_add(1, Ordering::Relaxed),
            |(k, chunk), _| chunk.iter_mut().for_each(|v| *v += k + 1),
        );
        let want: Vec<usize> = (0..1000).map(|i| i / 7 + 1).collect();
        assert_eq!(out, want);
        let inits = inits.into_inner();
        assert!((1..=rayon::current_num_threads()).contains(&inits), "{inits} scratches");
    }

    #[test]
    fn serial_sharing_runs_in_order_with_one_scratch() {
        let (mut seen, inits) = (Vec::new(), AtomicUsize::new(0));
        let seen_ref = std::sync::Mutex::new(&mut seen);
        share(
            false,
            0..5usize,
            || inits.fetch_add(1, Ordering::Relaxed),
            |i, _| seen_ref.lock().unwrap().push(i),
        );
        assert_eq!((seen, inits.into_inner()), (vec![0, 1, 2, 3, 4], 1));
    }

    #[test]
    fn no_items_make_no_scratch() {
        for parallel in [false, true] {
            share(
                parallel,
                std::iter::empty::<usize>(),
                || panic!("no scratch is needed"),
                |_, _: &mut ()| {},
            );
        }
    }

    #[test]
    fn it_works_inside_a_pool_of_one_thread() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let total = AtomicUsize::new(0);
        pool.install(|| {
            share(
                true,
                0..100usize,
                || (),
                |i, _| {
                    total.fetch_add(i, Ordering::Relaxed);
                },
            )
        });
        assert_eq!(total.into_inner(), 4950);
    }

    #[test]
    #[should_panic(expected = "item 3 failed")]
    fn a_panic_in_an_item_reaches_the_caller() {
        share(true, 0..10usize, || (), |i, _| assert!(i != 3, "item {i} failed"));
    }
}
