//! The crate's errors: each names the file or the option and what was expected.

use std::path::PathBuf;

use thiserror::Error;

/// Errors of sharding, partial files, merging and Slurm scripts.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ShardError {
    /// `--shard I/N` is malformed or out of range.
    #[error("--shard `{given}`: {problem} (expected I/N with 1 <= I <= N, e.g. 2/8)")]
    Spec {
        /// What the user gave.
        given: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error (in the message, printed once).
        error: std::io::Error,
    },
    /// A partial file is not what a shard writes.
    #[error("{path}, line {line}: {problem}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What was expected.
        problem: String,
    },
    /// Partial files that belong to different runs were given to one merge.
    #[error(
        "{path} is from another run ({field} {found}, the others have {expected}): merge \
         only the shards of one run"
    )]
    Mixed {
        /// The odd file.
        path: PathBuf,
        /// The field that differs (kind, job hash, heaccel version, shard count).
        field: &'static str,
        /// Its value there.
        found: String,
        /// The value of the first file read.
        expected: String,
    },
    /// Shards are missing or present twice.
    #[error("{problem}")]
    Incomplete {
        /// Which shards (and files) are missing or duplicated.
        problem: String,
    },
    /// No partial file in the folders given.
    #[error("no partial results (*.partial.jsonl) in {0}")]
    Empty(String),
    /// A Slurm option is out of range, or `sbatch` failed.
    #[error("{0}")]
    Slurm(String),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, ShardError>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ShardError {
    let path = path.into();
    move |error| ShardError::Io { path, error }
}
