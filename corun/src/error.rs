//! Errors of a co-run: each names the program (`file`) and, where one is at fault, the field or
//! the instruction index.

use std::path::PathBuf;

use heaccel_hdl::HdlError;
use heaccel_sim::SimError;

/// Why a co-run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoRunError {
    /// The program is invalid, or the simulator or functional executor refused it.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// A prime is wider than the core's word allows.
    #[error("{file}: moduli[{index}] = {value}: the core's primes must be below 2^{max_bits}")]
    ModulusTooWide {
        /// The program.
        file: String,
        /// Index into `moduli`.
        index: usize,
        /// The prime.
        value: u64,
        /// Primes must be below `2^max_bits`.
        max_bits: u32,
    },
    /// More queue entries than the core's queue holds.
    #[error(
        "{file}: {count} queue entries (a bconv takes one per seven slots more); the core's \
         instruction queue holds at most {max} (verify core runs programs of up to that many)"
    )]
    TooManyInstructions {
        /// The program.
        file: String,
        /// Its instructions.
        count: usize,
        /// The queue's depth.
        max: usize,
    },
    /// The program's buffers need more memory than a run here may take.
    #[error(
        "{file}: the buffers hold {words} words ({:.1} GiB; largest `{largest}` of {limbs} \
         limbs); running a program here takes at most {max} words (2 GiB)",
        *words as f64 * 8.0 / (1u64 << 30) as f64
    )]
    MemoryTooLarge {
        /// The program.
        file: String,
        /// Words of all buffers.
        words: u64,
        /// The largest buffer.
        largest: String,
        /// Its limbs.
        limbs: u32,
        /// [`crate::MAX_MEMORY_WORDS`].
        max: u64,
    },
    /// No core can be built for the program's `log_n`, lanes, primes or slots.
    #[error("{file}: the core for this program: {error}")]
    Geometry {
        /// The program.
        file: String,
        /// What the core's geometry refused.
        error: HdlError,
    },
    /// An instruction's operands are out of the core's range.
    #[error("{file}: instructions[{index}] ({name}): {error}")]
    Instruction {
        /// The program.
        file: String,
        /// Index into `instructions`.
        index: usize,
        /// The instruction's name.
        name: &'static str,
        /// What the core refused.
        error: HdlError,
    },
    /// The RTL model refused to build or run.
    #[error(transparent)]
    Hdl(#[from] HdlError),
    /// The core raised its error bit.
    #[error(
        "{file}: the core stopped with its error bit set at instructions[{index}] ({name}, \
         queue entry {entry})"
    )]
    CoreError {
        /// The program.
        file: String,
        /// Index into the program's `instructions` of the instruction the core stopped at.
        index: usize,
        /// Its name.
        name: &'static str,
        /// The queue entry (a `bconv` takes several).
        entry: usize,
    },
    /// `verify core --op` at a size the operation co-run does not build.
    #[error(
        "--log-n {log_n}: operation co-runs build cores for N = 2^{min} to 2^{max} (a core \
         holds every limb of the operation; larger N takes minutes per operation here)"
    )]
    OperationSize {
        /// The size asked for.
        log_n: u32,
        /// Smallest `log2(N)`.
        min: u32,
        /// Largest `log2(N)`.
        max: u32,
    },
    /// The operation's CKKS parameters could not be built.
    #[error("the operation's CKKS parameters: {0}")]
    Parameters(heaccel_verification::Error),
    /// The reference model refused a key generation, encryption or evaluation.
    #[error("the reference CKKS model: {0}")]
    Ckks(heaccel_verification::Error),
    /// The host lowering refused the operation.
    #[error("lowering the operation: {0}")]
    Lowering(Box<heaccel_host::lowering::LowerError>),
    /// The Verilator co-run's files could not be written.
    #[error("writing {}: {error}", path.display())]
    Write {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
}
