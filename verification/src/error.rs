//! The error type of the reference model.

use std::fmt;
use std::ops::RangeInclusive;

use thiserror::Error;

/// Everything that can go wrong in the reference model. Messages name the offending field
/// and the range or shape that was expected.
#[non_exhaustive]
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
    /// Operands that do not belong together, or an operand that does not fit its operation:
    /// `what` names the property (level, scale, slot count, key set, ...) in which they differ.
    #[error("operand mismatch: {operation}: {what} {found}, expected {expected}")]
    Mismatch {
        /// The operation, or the object checked, e.g. `add`, `decrypt`, `ciphertext part 1`.
        operation: String,
        /// The property in which the operands differ.
        what: Mismatched,
        /// The property's value on the offending operand, e.g. `3` for a level, `2^10` for a
        /// slot count, a key-set or parameter fingerprint in hex.
        found: String,
        /// The value the operation expected (that of the other operand, or the one it takes).
        expected: String,
    },
    /// An operation needs a key (relinearization, Galois, one serving a level) that was not
    /// generated or given.
    #[error("missing key: {operation} needs the {key}{}", parenthesized(detail))]
    MissingKey {
        /// The operation that needs the key, e.g. `relinearize`, `rotation by 7`,
        /// `bootstrapping`.
        operation: String,
        /// The key that is missing.
        key: KeyKind,
        /// What else is known (e.g. which rotation a Galois element stands for, or the levels
        /// the key at hand serves); empty when nothing is.
        detail: String,
    },
    /// An operand at a level the operation cannot take: too low (e.g. a rescale at level 0, a
    /// polynomial deeper than the levels left), or other than the one it was prepared for.
    #[error(
        "level underflow: {operation} at level {level}; needs {}",
        describe_levels(allowed)
    )]
    Level {
        /// The operation, e.g. `rescale`, `bootstrapping`, `drop_level to 3`.
        operation: String,
        /// The level the operand is at (its limb count minus one), or was asked for.
        level: usize,
        /// The levels the operation accepts, both ends included (`usize::MAX` at the top:
        /// unbounded).
        allowed: RangeInclusive<usize>,
    },
    /// A value outside its allowed range (e.g. an unreduced word, `>= q`; a scale below 1; a
    /// minimax search that did not converge in its iteration budget).
    #[error("value out of range: {what} = {value}, expected {expected}")]
    OutOfRange {
        /// The quantity, naming where it sits, e.g. `ciphertext part 0: limb 2 coefficient 7`.
        what: String,
        /// The value found, as text (integers in decimal, reals as printed by `{:e}` or `{}`).
        value: String,
        /// The allowed range or condition, e.g. `< q = 1152921504606584833`, `>= 1`.
        expected: String,
    },
    /// Input that does not parse or has the wrong shape (serialized data, empty lists).
    #[error("malformed input: {what}: {found}, expected {expected}")]
    Malformed {
        /// The input, and the field within it where known, e.g. `plaintext`,
        /// ``parameters (JSON) field `log_q[2]` ``, `seeded switching key`.
        what: String,
        /// What was found, e.g. `2 digits`, `coefficient form`, a parser's message.
        found: String,
        /// The shape that was expected, e.g. `3 digits for levels up to 4`, `NTT form`.
        expected: String,
    },
}

/// The property in which operands differ ([`Error::Mismatch`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mismatched {
    /// The parameter set: the fingerprint of the `Parameters` an object was made under.
    Parameters,
    /// The key set: the fingerprint of the secret key an object belongs to.
    KeySet,
    /// The level (limb count minus one), in `[0, max_level]`.
    Level,
    /// The scale, beyond the relative tolerance of the evaluator.
    Scale,
    /// The slot count `2^log_slots`, `log_slots` in `[0, log_n - 1]`.
    Slots,
    /// The ciphertext degree (part count minus one): 1, or 2 after a product.
    Degree,
    /// The number of RNS limbs of a polynomial.
    LimbCount,
    /// The number of coefficients of a limb: the ring degree `N`.
    Coefficients,
}

impl fmt::Display for Mismatched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mismatched::Parameters => "parameter fingerprint",
            Mismatched::KeySet => "key set",
            Mismatched::Level => "level",
            Mismatched::Scale => "scale",
            Mismatched::Slots => "slot count",
            Mismatched::Degree => "degree",
            Mismatched::LimbCount => "limb count",
            Mismatched::Coefficients => "coefficient count",
        })
    }
}

/// A key an operation needs ([`Error::MissingKey`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// The relinearization key (switches `s^2` to `s`).
    Relinearization,
    /// The Galois key of the automorphism `X -> X^g`, `g` odd in `[1, 2N)`.
    Galois(u64),
    /// The Galois key of complex conjugation (`g = 2N - 1`).
    Conjugation,
    /// A key for the rotation by this many slots (positive: left), or for the power-of-two
    /// steps it decomposes into.
    Rotation(i64),
    /// A switching key that serves this level (a restricted key serves only the levels up to
    /// the one it was cut to).
    ForLevel(usize),
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::Relinearization => f.write_str("relinearization key"),
            KeyKind::Galois(g) => write!(f, "Galois key of element {g}"),
            KeyKind::Conjugation => f.write_str("conjugation key"),
            KeyKind::Rotation(step) => write!(f, "rotation key of step {step}"),
            KeyKind::ForLevel(level) => write!(f, "switching key for level {level}"),
        }
    }
}

fn parenthesized(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

fn describe_levels(allowed: &RangeInclusive<usize>) -> String {
    match (*allowed.start(), *allowed.end()) {
        (lo, hi) if lo == hi => format!("level {lo}"),
        (lo, usize::MAX) => format!("a level >= {lo}"),
        (lo, hi) => format!("a level in [{lo}, {hi}]"),
    }
}

impl Error {
    /// [`Error::Mismatch`] of `operation` in the property `what`.
    pub(crate) fn mismatch(
        operation: impl Into<String>,
        what: Mismatched,
        found: impl ToString,
        expected: impl ToString,
    ) -> Self {
        Error::Mismatch {
            operation: operation.into(),
            what,
            found: found.to_string(),
            expected: expected.to_string(),
        }
    }

    /// [`Error::MissingKey`] of `operation` for `key`.
    pub(crate) fn missing_key(
        operation: impl Into<String>,
        key: KeyKind,
        detail: impl Into<String>,
    ) -> Self {
        Error::MissingKey {
            operation: operation.into(),
            key,
            detail: detail.into(),
        }
    }

    /// [`Error::Level`] of `operation` on an operand at `level`.
    pub(crate) fn level(
        operation: impl Into<String>,
        level: usize,
        allowed: RangeInclusive<usize>,
    ) -> Self {
        Error::Level {
            operation: operation.into(),
            level,
            allowed,
        }
    }

    /// [`Error::OutOfRange`] of `what`.
    pub(crate) fn out_of_range(
        what: impl Into<String>,
        value: impl ToString,
        expected: impl Into<String>,
    ) -> Self {
        Error::OutOfRange {
            what: what.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// [`Error::Malformed`] of the input `what`.
    pub(crate) fn malformed(
        what: impl Into<String>,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        Error::Malformed {
            what: what.into(),
            found: found.into(),
            expected: expected.into(),
        }
    }
}

/// Result alias of the reference model.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_every_field() {
        let cases = [
            (
                Error::mismatch("add", Mismatched::Scale, "1e10", "2e10"),
                &["operand mismatch", "add", "scale", "1e10", "2e10"][..],
            ),
            (
                Error::missing_key("rotation by 7", KeyKind::Rotation(7), "nor for [1, 2, 4]"),
                &[
                    "missing key",
                    "rotation by 7",
                    "rotation key of step 7",
                    "nor for [1, 2, 4]",
                ],
            ),
            (
                Error::missing_key("relinearize", KeyKind::Relinearization, ""),
                &["missing key", "relinearize", "relinearization key"],
            ),
            (
                Error::level("rescale", 0, 1..=usize::MAX),
                &["level underflow", "rescale", "at level 0", "a level >= 1"],
            ),
            (
                Error::level("encode", 9, 0..=4),
                &[
                    "level underflow",
                    "encode",
                    "at level 9",
                    "a level in [0, 4]",
                ],
            ),
            (
                Error::level("bootstrapping", 3, 0..=0),
                &[
                    "level underflow",
                    "bootstrapping",
                    "at level 3",
                    "needs level 0",
                ],
            ),
            (
                Error::out_of_range("plaintext: limb 1 coefficient 5", 99, "< q = 97"),
                &[
                    "value out of range",
                    "limb 1 coefficient 5",
                    "99",
                    "< q = 97",
                ],
            ),
            (
                Error::malformed("seeded switching key", "2 digits", "3 digits"),
                &[
                    "malformed input",
                    "seeded switching key",
                    "2 digits",
                    "expected 3 digits",
                ],
            ),
        ];
        for (err, needles) in cases {
            let message = err.to_string();
            for needle in needles {
                assert!(message.contains(needle), "{needle:?} not in {message:?}");
            }
        }
        assert_eq!(
            Error::missing_key("relinearize", KeyKind::Relinearization, "").to_string(),
            "missing key: relinearize needs the relinearization key"
        );
        for (what, name) in [
            (Mismatched::Parameters, "parameter fingerprint"),
            (Mismatched::KeySet, "key set"),
            (Mismatched::Level, "level"),
            (Mismatched::Slots, "slot count"),
            (Mismatched::Degree, "degree"),
            (Mismatched::LimbCount, "limb count"),
            (Mismatched::Coefficients, "coefficient count"),
        ] {
            let message = Error::mismatch("op", what, 1, 2).to_string();
            assert_eq!(
                message,
                format!("operand mismatch: op: {name} 1, expected 2")
            );
        }
        for (key, name) in [
            (KeyKind::Galois(5), "Galois key of element 5"),
            (KeyKind::Conjugation, "conjugation key"),
            (KeyKind::ForLevel(3), "switching key for level 3"),
        ] {
            let message = Error::missing_key("op", key, "").to_string();
            assert!(message.ends_with(name), "{message}");
        }
    }
}
