//! How the C allocator treats the large buffers a training step frees.
//!
//! A training step allocates the same large buffers every step (activations, their gradients, the
//! products of each layer) and frees them all at its end. glibc's `malloc`, which Rust's default
//! allocator calls on Linux, hands large freed blocks back to the kernel: blocks above its mmap
//! threshold are unmapped, and a free region above its trim threshold at the top of a heap is
//! returned. The next step then faults every page of them in again, zero-filled by the kernel: a
//! quarter of the CPU time of a transformer layer's training step went to those page faults. So the first tensor a
//! process makes sets glibc's thresholds once ([`retain_freed_memory`]): blocks up to 32 MiB come
//! from the heap, and up to 1 GiB of freed heap stays in the process for the next step to reuse,
//! as PyTorch's caching allocator keeps freed GPU memory. The process's resident memory then stays
//! near its peak between steps instead of shrinking and growing each step.
//!
//! The settings are left alone when `GLIBC_TUNABLES` already sets a `glibc.malloc` tunable (the
//! user chose), when the environment variable `WENGERT_MALLOC` is `system`, and on other C
//! libraries and systems, where [`retain_freed_memory`] does nothing.

use std::sync::OnceLock;

/// Blocks up to this many bytes come from the heap, not from a mapping of their own: glibc's
/// ceiling for the threshold on 64-bit systems (half its 64 MiB heap size).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Up to this many freed bytes at the top of a heap stay in the process.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: i32 = 1 << 30;

/// Whether the settings were applied, once per process.
static RETAINED: OnceLock<bool> = OnceLock::new();

/// Sets the C allocator, once per process, to keep freed large buffers for reuse (see the
/// [module documentation](self)); returns whether that policy is in force. Wengert calls it when
/// it makes its first tensor, so a program need not; calling it again does nothing more.
///
/// It does nothing, and returns `false`, on systems other than Linux with glibc, when
/// `GLIBC_TUNABLES` sets a `glibc.malloc` tunable, or when `WENGERT_MALLOC=system`.
///
/// ```
/// use wengert::tensor::{Tensor, memory};
/// let _x = Tensor::<f32>::zeros(&[2, 2]);        // the first tensor applies the policy
/// let applied = memory::retain_freed_memory();    // asking again only reports it
/// assert_eq!(applied, memory::retain_freed_memory());
/// ```
pub fn retain_freed_memory() -> bool {
    *RETAINED.get_or_init(|| {
        let chosen = |name: &str, wanted: fn(&str) -> bool| std::env::var(name).is_ok_and(|v| wanted(&v));
        if chosen("WENGERT_MALLOC", |v| v == "system")
            || chosen("GLIBC_TUNABLES", |v| v.contains("glibc.malloc."))
        {
            return false;
        }
        set_thresholds()
    })
}

/// Sets glibc's mmap and trim thresholds; true when glibc took both.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_thresholds() -> bool {
    // SAFETY: `mallopt` only changes two of the allocator's numeric parameters (glibc takes its
    // own lock); it touches no memory of ours and is safe to call from any thread at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    }
}

/// Other systems keep their allocator's own policy.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_thresholds() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_applied_once_and_then_reported() {
        let first = retain_freed_memory();
        assert_eq!(retain_freed_memory(), first);
        let user_chose = std::env::var("WENGERT_MALLOC").is_ok_and(|v| v == "system")
            || std::env::var("GLIBC_TUNABLES").is_ok_and(|v| v.contains("glibc.malloc."));
        if cfg!(all(target_os = "linux", target_env = "gnu")) && !user_chose {
            assert!(first, "glibc takes both thresholds");
        } else {
            assert!(!first);
        }
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_thresholds_chosen() {
        assert!(set_thresholds(), "the mmap threshold is within glibc's ceiling");
    }

    /// Minor page faults of this thread so far.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    fn faults() -> i64 {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `getrusage` writes one `rusage` into the zeroed buffer we own and reads nothing.
        let usage = unsafe {
            assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()), 0);
            usage.assume_init()
        };
        usage.ru_minflt
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn a_step_that_frees_its_buffers_gets_them_back_without_faulting_them_in() {
        // The other tests' threads share this process's malloc arenas and would fill and fragment
        // them, so the steps run in a process of their own: this test binary running only this test.
        const CHILD: &str = "WENGERT_MEMORY_TEST_CHILD";
        if std::env::var_os(CHILD).is_none() {
            let name = "memory::tests::a_step_that_frees_its_buffers_gets_them_back_without_faulting_them_in";
            let exe = std::env::current_exe().expect("the test binary's path");
            let out = std::process::Command::new(exe)
                .args(["--exact", name, "--test-threads=1", "--nocapture"])
                .env(CHILD, "1")
                .output()
                .expect("the test binary runs again");
            let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() && text.contains("1 passed"), "the steps' own process:\n{text}");
            return;
        }
        if !retain_freed_memory() {
            return; // the user chose the allocator's own policy for this run
        }
        // A "step" of 24 buffers of 2 MiB (12,288 pages), all written, then all freed.
        let step = || {
            let bufs: Vec<Vec<f32>> = (0..24).map(|i| vec![i as f32 + 1.0; 1 << 19]).collect();
            std::hint::black_box(&bufs);
        };
        step();
        let before = faults();
        for _ in 0..5 {
            step();
        }
        let later = faults() - before;
        assert!(
            later < 1_000,
            "5 later steps faulted {later} pages in again (12,288 per step when returned)"
        );
    }
}
