//! The error type of the reference model.

use thiserror::Error;

/// Everything that can go wrong in the reference model. Messages name the offending field
/// and the range or shape that was expected.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// A modulus that cannot be used: outside `[2, 2^61)`, or, where an NTT needs it, not a
    /// prime `q = 1 mod 2N`.
    #[error("invalid modulus {q}: {reason}")]
    InvalidModulus {
        /// The modulus refused.
        q: u64,
        /// What it fails to be.
        reason: String,
    },
    /// A parameter (a field of a parameter literal, or an argument) out of its range.
    #[error("invalid parameter `{field}`: {reason}")]
    InvalidParameter {
        /// The parameter's name, e.g. `log_q[3]`.
        field: String,
        /// The range or shape that was expected.
        reason: String,
    },
    /// Parameters of a uniform ternary secret beyond the 128-bit HE-standard bound on
    /// `log2(PQ)`, without `allow_insecure`.
    #[error(
        "parameters exceed the 128-bit HE-standard bound: log2(PQ) = {log_pq:.1} > {bound} for N = 2^{log_n} \
         (first exceeded at `{field}`); set `allow_insecure` to opt in explicitly"
    )]
    Insecure {
        /// The literal's entry at which the running sum of `log2(PQ)` (`q`, then `p`) first
        /// exceeds the bound, e.g. `log_q[3]`; `log_n` when no bound is published for `N`.
        field: String,
        /// `log2(N)` of the parameters.
        log_n: u32,
        /// `log2(PQ)` as requested: bit sizes count in full, explicit primes by their `log2`.
        log_pq: f64,
        /// The bound (0 where none is published for `N`).
        bound: u32,
    },
    /// Parameters of a sparse secret (`hamming_weight = h`) beyond the published sparse-secret
    /// estimate for their `N` and `h`, or with none published, without `allow_insecure`.
    #[error(
        "parameters have no 128-bit estimate for a sparse secret of Hamming weight {hamming_weight} \
         at N = 2^{log_n}: log2(PQ) = {log_pq:.1}, published bound {}; set `allow_insecure` to opt in \
         explicitly",
        bound.map_or("none".to_string(), |b| b.to_string())
    )]
    InsecureSparse {
        /// `log2(N)` of the parameters.
        log_n: u32,
        /// The secret's Hamming weight `h`.
        hamming_weight: usize,
        /// `log2(PQ)` as requested.
        log_pq: f64,
        /// The published bound for this `N` and `h`, if any (`None`: no estimate published).
        bound: Option<u32>,
    },
    /// Fewer primes of `bits` bits with `q = 1 mod 2N` (searched downward from `2^bits`,
    /// excluding those already chosen) than were asked for.
    #[error("not enough NTT-friendly primes of {bits} bits for N = 2^{log_n}: wanted {wanted}, found {found}")]
    NotEnoughPrimes {
        /// Bit size of the primes searched.
        bits: u32,
        /// `log2(N)` of the ring.
        log_n: u32,
        /// Primes asked for.
        wanted: usize,
        /// Primes found.
        found: usize,
    },
    /// Operands that do not belong together (other parameters, another key set, different
    /// levels, scales or shapes).
    #[error("operand mismatch: {0}")]
    Mismatch(String),
    /// An operation needs a key (relinearization, Galois) that was not generated.
    #[error("missing key: {0}")]
    MissingKey(String),
    /// An operation needs more levels than the ciphertext has left (e.g. a rescale at level 0).
    #[error("level underflow: {0}")]
    Level(String),
    /// A value outside its allowed range (e.g. an unreduced word, `>= q`).
    #[error("value out of range: {0}")]
    OutOfRange(String),
    /// Input that does not parse or has the wrong shape (serialized data, empty lists).
    #[error("malformed input: {0}")]
    Malformed(String),
}

/// Result alias of the reference model.
pub type Result<T, E = Error> = std::result::Result<T, E>;
