//! Process-wide allocator settings for long homomorphic computations.
//!
//! Key switching and bootstrapping allocate and free polynomials of hundreds of KiB to MiB at a
//! high rate. glibc's default `malloc` serves such blocks with `mmap` (or trims the heap after
//! them) and so hands the pages back to the kernel on every free; the next allocation faults
//! them in again, zeroed. At `n16-boot` that zeroing was over a third of the run's profile.
//! [`keep_freed_memory`] tells `malloc` to keep freed memory for reuse instead (SEAL and
//! OpenFHE keep their own pools for the same reason). Peak memory is unchanged: the process
//! reuses the pages it already had.

/// Largest block glibc allows to be served from the heap rather than `mmap`: 32 MiB on
/// 64-bit targets (`DEFAULT_MMAP_THRESHOLD_MAX`).
pub const MMAP_THRESHOLD_BYTES: i32 = 32 << 20;

/// Keeps freed heap memory in the process for reuse (glibc: fixed `M_MMAP_THRESHOLD` of
/// [`MMAP_THRESHOLD_BYTES`], no trimming, one arena for all threads). Returns whether the setting took effect; a no-op
/// returning `false` on other C libraries. Call it once at program start, before threads.
pub fn keep_freed_memory() -> bool {
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
