//! How many threads the evaluator, the encoder and the key switch use.
//!
//! Every parallel loop splits work by independent limbs, digits or rotations, and each output
//! word is computed by the same operations in the same order whatever the thread count, so
//! results are bit-exact across thread counts (tested). Commands run inside a pool of the
//! chosen size ([`run_in_pool`]); by default one thread per core (or `RAYON_NUM_THREADS`).

/// Most threads [`check_threads`] accepts per available core: more only adds contention.
pub const MAX_THREADS_PER_CORE: usize = 4;

/// A refused thread count.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ThreadsError {
    /// Zero threads.
    #[error(
        "--threads 0: at least one thread is needed (1 gives reproducible single-thread figures)"
    )]
    Zero,
    /// More than [`MAX_THREADS_PER_CORE`] per core.
    #[error("--threads {requested}: this machine has {cores} cores; use 1..={max}")]
    TooMany {
        /// The count asked for.
        requested: usize,
        /// Cores available to this process.
        cores: usize,
        /// The largest count accepted.
        max: usize,
    },
    /// The operating system refused to start the threads.
    #[error("could not start the thread pool: {0}")]
    Pool(#[source] rayon::ThreadPoolBuildError),
}

/// Cores available to this process (at least 1).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Stack of each pool thread: the whole command runs on one of them.
pub const STACK_BYTES: usize = 64 << 20;

/// The thread count used when none is given: `RAYON_NUM_THREADS` when it is a positive
/// number, else one per core.
pub fn default_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(available_cores)
}

/// Checks a requested thread count: `None` is [`default_threads`]; 0 and more than
/// [`MAX_THREADS_PER_CORE`] per core are refused.
pub fn check_threads(requested: Option<usize>) -> Result<usize, ThreadsError> {
    let Some(requested) = requested else {
        return Ok(default_threads());
    };
    let cores = available_cores();
    let max = cores * MAX_THREADS_PER_CORE;
    if requested == 0 {
        return Err(ThreadsError::Zero);
    }
    if requested > max {
        return Err(ThreadsError::TooMany {
            requested,
            cores,
            max,
        });
    }
    Ok(requested)
}

/// Runs `f` on a pool of `threads` threads ([`check_threads`]), so every parallel loop inside
/// it uses that pool. Running on a pool thread matters at one thread too: parallel loops then
/// run inline, where called from outside a pool each would be handed to a worker thread.
pub fn run_in_pool<R: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> R + Send,
) -> Result<R, ThreadsError> {
    let count = check_threads(threads)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(count)
        .stack_size(STACK_BYTES)
        .thread_name(|i| format!("heaccel-{i}"))
        .build()
        .map_err(ThreadsError::Pool)?;
    Ok(pool.install(f))
}

/// Threads of the pool the caller runs in (the global pool's outside any).
pub fn current_threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_counts_are_refused_and_good_ones_run() {
        assert!(matches!(check_threads(Some(0)), Err(ThreadsError::Zero)));
        let too_many = available_cores() * MAX_THREADS_PER_CORE + 1;
        assert!(matches!(
            run_in_pool(Some(too_many), || ()),
            Err(ThreadsError::TooMany { requested, .. }) if requested == too_many
        ));
        assert_eq!(run_in_pool(Some(1), current_threads).unwrap(), 1);
        assert_eq!(run_in_pool(Some(2), current_threads).unwrap(), 2);
        assert!(check_threads(None).unwrap() >= 1);
    }
}
