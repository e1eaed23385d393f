//! The error type of the reference model.

use thiserror::Error;

/// Everything that can go wrong in the reference model. Messages name the offending field
/// and the range or shape that was expected.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    #[error("invalid modulus {q}: {reason}")]
    InvalidModulus { q: u64, reason: String },
    #[error("invalid parameter `{field}`: {reason}")]
    InvalidParameter { field: String, reason: String },
    #[error(
        "parameters exceed the 128-bit HE-standard bound: log2(PQ) = {log_pq:.1} > {bound} for N = 2^{log_n} \
         (first exceeded at `{field}`); set `allow_insecure` to opt in explicitly"
    )]
    Insecure {
        /// The literal's entry at which the running sum of `log2(PQ)` (`q`, then `p`) first
        /// exceeds the bound, e.g. `log_q[3]`; `log_n` when no bound is published for `N`.
        field: String,
        log_n: u32,
        /// `log2(PQ)` as requested: bit sizes count in full, explicit primes by their `log2`.
        log_pq: f64,
        /// The bound (0 where none is published for `N`).
        bound: u32,
    },
    #[error(
        "parameters have no 128-bit estimate for a sparse secret of Hamming weight {hamming_weight} \
         at N = 2^{log_n}: log2(PQ) = {log_pq:.1}, published bound {}; set `allow_insecure` to opt in \
         explicitly",
        bound.map_or("none".to_string(), |b| b.to_string())
    )]
    InsecureSparse {
        log_n: u32,
        hamming_weight: usize,
        log_pq: f64,
        bound: Option<u32>,
    },
    #[error("not enough NTT-friendly primes of {bits} bits for N = 2^{log_n}: wanted {wanted}, found {found}")]
    NotEnoughPrimes {
        bits: u32,
        log_n: u32,
        wanted: usize,
        found: usize,
    },
    #[error("operand mismatch: {0}")]
    Mismatch(String),
    #[error("missing key: {0}")]
    MissingKey(String),
    #[error("level underflow: {0}")]
    Level(String),
    #[error("value out of range: {0}")]
    OutOfRange(String),
    #[error("malformed input: {0}")]
    Malformed(String),
}

/// Result alias of the reference model.
pub type Result<T, E = Error> = std::result::Result<T, E>;
