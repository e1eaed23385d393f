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
