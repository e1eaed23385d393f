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
    /// Writing a file failed or its path was refused (nothing is left half-written).
    #[error(transparent)]
    Write(#[from] heaccel_files::WriteError),
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
    /// No partial file in the folders (or files) given; none given: "the inputs".
    #[error("no partial results (*.partial.jsonl) in {}", list(.folders))]
    Empty {
        /// The folders and files searched.
        folders: Vec<PathBuf>,
    },
    /// A Slurm option's value is not of the form Slurm takes.
    #[error("{option} `{value}`: expected {expected}")]
    SlurmOption {
        /// The option (`--partition`, `--time`).
        option: &'static str,
        /// What the user gave.
        value: String,
        /// The forms it takes.
        expected: &'static str,
    },
    /// `sbatch` is not on `PATH`.
    #[error(
        "--submit: `sbatch` is not installed (not on PATH); install Slurm's client \
         (Debian: slurm-client) or submit {} yourself with sbatch",
        .script.display()
    )]
    SbatchMissing {
        /// The script that was to be submitted.
        script: PathBuf,
    },
    /// `sbatch` could not be started.
    #[error("--submit: cannot run sbatch: {error}")]
    SbatchSpawn {
        /// The OS error.
        error: std::io::Error,
    },
    /// `sbatch` exited unsuccessfully.
    #[error("sbatch {} failed ({status}): {stderr}", .script.display())]
    SbatchFailed {
        /// The script submitted.
        script: PathBuf,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// `sbatch --parsable` printed something other than a job id.
    #[error("sbatch {} printed `{printed}`, not a job id", .script.display())]
    SbatchOutput {
        /// The script submitted.
        script: PathBuf,
        /// What it printed, trimmed.
        printed: String,
    },
}

/// The folders of [`ShardError::Empty`], comma-separated.
fn list(folders: &[PathBuf]) -> String {
    if folders.is_empty() {
        return "the inputs".into();
    }
    let names: Vec<String> = folders.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, ShardError>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ShardError {
    let path = path.into();
    move |error| ShardError::Io { path, error }
}
