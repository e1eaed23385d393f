//! Errors of the accelerator model. Messages name the file (when there is one), the field and
//! what was expected.

use thiserror::Error;

/// Everything that can be wrong with a program or a hardware configuration.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SimError {
    /// A field of a program or configuration is out of range or inconsistent.
    #[error("{source_name}: field `{field}`: {reason}")]
    Invalid {
        /// The file or object the field belongs to.
        source_name: String,
        /// Path of the field, e.g. `instructions[3].modulus`.
        field: String,
        /// What was expected.
        reason: String,
    },
    /// The text or bytes could not be parsed.
    #[error("{source_name}: {reason}")]
    Parse {
        /// The file or object being parsed.
        source_name: String,
        /// The parser's message, with the field path where known.
        reason: String,
    },
    /// A size a user controls (instructions, buffers, limbs, slots, primes, ...) exceeds its
    /// documented limit (see the limits of [`crate::isa`]); checked before any work
    /// proportional to it.
    #[error("{source_name}: field `{field}`: {value} exceeds the limit of {limit}")]
    Limit {
        /// The file or object the field belongs to.
        source_name: String,
        /// Path of the field, e.g. `buffers[2].limbs`.
        field: String,
        /// The size found (or declared).
        value: u64,
        /// The largest size allowed.
        limit: u64,
    },
    /// The binary form declares more data than the file holds.
    #[error(
        "{source_name}: the program body needs {needed} bytes for {what} at byte {offset}, \
         beyond the file's {file_bytes} bytes (truncated or corrupt)"
    )]
    Truncated {
        /// The file being read.
        source_name: String,
        /// What was being read: `a value` (a number, tag or length), `a string` (the bytes its
        /// length prefix declares) or `a byte string`.
        what: &'static str,
        /// Bytes the read needs (a declared length, or a value's size).
        needed: u64,
        /// Byte offset in the file where the read starts.
        offset: u64,
        /// Size of the whole file in bytes.
        file_bytes: u64,
    },
    /// A cycle or byte total of the timing model does not fit 64 bits (never reached within
    /// the documented ranges of the configuration and the limits of the ISA).
    #[error(
        "{source_name}: instructions[{instruction}]: the {quantity} total overflows 64 bits \
         on `{config}`"
    )]
    Overflow {
        /// The program being simulated.
        source_name: String,
        /// The configuration's name.
        config: String,
        /// Index of the instruction whose cost overflowed the total.
        instruction: u64,
        /// The total: `cycles`, `busy cycles`, `off-chip bytes` or `basis-conversion work`.
        quantity: &'static str,
    },
    /// A whole-program stream reads a slot whose value was never written (or died).
    #[error(
        "{source_name}: instructions[{instruction}].{operand}: slot {slot} is read before it \
         is written"
    )]
    Unwritten {
        /// The stream.
        source_name: String,
        /// Index of the instruction in the stream (0-based, `free` hints counted).
        instruction: u64,
        /// The operand, e.g. `a` or `src[2]`.
        operand: String,
        /// The slot (the chunk's own numbering).
        slot: u32,
    },
    /// A whole-program stream loads from a buffer after a `free` of it.
    #[error(
        "{source_name}: instructions[{instruction}].buffer: loads `{buffer}` after it was freed"
    )]
    ReadAfterFree {
        /// The stream.
        source_name: String,
        /// Index of the instruction in the stream.
        instruction: u64,
        /// The buffer's name.
        buffer: String,
    },
    /// The values one instruction needs at once do not fit the scratchpad.
    #[error(
        "{source_name}: instructions[{instruction}]: its operands and the values still in use \
         need more than the {slots} scratchpad slots of `{config}`"
    )]
    ScratchpadFull {
        /// The stream.
        source_name: String,
        /// Index of the instruction in the stream.
        instruction: u64,
        /// Physical slots available.
        slots: u32,
        /// The configuration.
        config: String,
    },
}

/// Result alias of the accelerator model.
pub type Result<T, E = SimError> = std::result::Result<T, E>;

pub(crate) fn invalid(
    source_name: &str,
    field: impl Into<String>,
    reason: impl Into<String>,
) -> SimError {
    SimError::Invalid {
        source_name: source_name.to_string(),
        field: field.into(),
        reason: reason.into(),
    }
}
