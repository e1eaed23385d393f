//! Process-wide allocator settings for long homomorphic computations.
//!
//! Key switching and bootstrapping allocate and free polynomials of hundreds of KiB to MiB at a
//! high rate. An allocator that hands freed pages back to the kernel makes the next allocation
//! fault them in again, zeroed: at `n16-boot` that zeroing was over a third of the run's
//! profile, and a rotation at `N = 2^16` faulted in about 110 MB. SEAL and OpenFHE keep their
//! own memory pools for the same reason.
//!
//! heaccel's programs (the `heaccel` command, the benchmarks) use [`Allocator`] (mimalloc) as
//! their global allocator and call [`keep_freed_memory`] first thing. glibc's `malloc`, tuned
//! the same way, still faulted: with `M_TRIM_THRESHOLD` and `M_MMAP_THRESHOLD` raised and one
//! arena, the rotation above took 580,000 to 680,000 page faults per benchmark run against
//! 1,900 with mimalloc (`perf stat -e page-faults`, 2 threads, `seal-n16`).

/// The global allocator of heaccel's programs: in a binary,
/// `#[global_allocator] static ALLOCATOR: Allocator = Allocator;`.
pub use mimalloc::MiMalloc as Allocator;

/// Largest block glibc allows to be served from the heap rather than `mmap`: 32 MiB on
/// 64-bit targets (`DEFAULT_MMAP_THRESHOLD_MAX`).
pub const MMAP_THRESHOLD_BYTES: i32 = 32 << 20;

/// `mi_option_purge_delay` (mimalloc.h, `mi_option_e`): milliseconds before freed memory is
/// returned to the system; -1 never.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory in the process for reuse. mimalloc ([`Allocator`]): never purge freed
/// memory. glibc's `malloc`, for programs that keep it: a fixed `M_MMAP_THRESHOLD` of
/// [`MMAP_THRESHOLD_BYTES`], no trimming, one arena for all threads. Peak memory is unchanged:
/// the process reuses the pages it already had. Returns whether glibc took its settings
/// (`false` on other C libraries). Call it once at program start, before threads.
pub fn keep_freed_memory() -> bool {
    // SAFETY: mi_option_set stores an option of the linked mimalloc, which takes any value
    // for this one; harmless when mimalloc is not the global allocator.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes malloc's tuning parameters; it is called with valid
        // parameter numbers and in-range values.
        unsafe {
            let mmap = libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
            let trim = libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
            // One arena: the pool threads' own arenas (64 MiB heaps) would still hand
            // emptied heaps back to the kernel; a lock per allocation of whole limbs is cheap.
            let arenas = libc::mallopt(libc::M_ARENA_MAX, 1);
            mmap == 1 && trim == 1 && arenas == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn takes_effect_on_glibc() {
        let applied = super::keep_freed_memory();
        assert_eq!(applied, cfg!(all(target_os = "linux", target_env = "gnu")));
        // Allocations still work after it, large and small.
        let v = vec![7u64; 1 << 20];
        assert_eq!(v.iter().sum::<u64>(), 7 << 20);
    }
}
