//! The lowering's errors.

use thiserror::Error;

/// Errors of the lowering: an operation that does not apply (level, degree, key shape,
/// constant), or one of the models below.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LowerError {
    /// An operand level above the parameters' highest.
    #[error("lowering: level {level} is above the highest level {highest}")]
    LevelAbove {
        /// The level asked for.
        level: usize,
        /// The highest level `L` of the parameters.
        highest: usize,
    },
    /// A level drop that would go up.
    #[error("lowering: drop_level from level {from} to {to}: can only go down")]
    DropUpward {
        /// The operand's level.
        from: usize,
        /// The target level (above `from`).
        to: usize,
    },
    /// A rescale of a level-0 operand.
    #[error("lowering: rescale at level 0")]
    RescaleAtLevelZero,
    /// A monomial `X^k` with `k` outside `[0, 2N)`.
    #[error("lowering: monomial exponent {exponent} is outside [0, 2N = {two_n})")]
    MonomialExponent {
        /// The exponent `k`.
        exponent: usize,
        /// `2N`.
        two_n: usize,
    },
    /// A constant whose scaled value is not finite.
    #[error("lowering: constant {value} times scale {scale} is not finite")]
    NonFiniteConstant {
        /// The constant.
        value: f64,
        /// The scale it is encoded at.
        scale: f64,
    },
    /// A constant's scale below 1 (or NaN).
    #[error("lowering: constant scale {scale} is below 1")]
    ConstantScale {
        /// The scale given.
        scale: f64,
    },
    /// An inner product of no terms.
    #[error("lowering: inner product of no terms")]
    NoTerms,
    /// Automorphisms with no Galois element.
    #[error("lowering: no Galois element given")]
    NoGaloisElement,
    /// A switching key restricted to fewer levels than the chain.
    #[error(
        "lowering: a switching key restricted to levels up to {key_level} (the functional \
         executor takes keys over the whole chain, up to level {highest})"
    )]
    KeyLevels {
        /// The key's highest level.
        key_level: usize,
        /// The chain's highest level `L`.
        highest: usize,
    },
    /// The functional executor was given no relinearization key.
    #[error("lowering: functional executor: no relinearization key")]
    NoRelinearizationKey,
    /// The functional executor was given no key for a Galois element.
    #[error(
        "lowering: functional executor: no Galois key for element {element} ({})",
        heaccel_verification::bootstrap::describe_element(*element, *log_n)
    )]
    NoGaloisKey {
        /// The Galois element.
        element: u64,
        /// `log2 N` of the ring (to name the element's rotation).
        log_n: u32,
    },
    /// An operation given a ciphertext of the wrong degree.
    #[error(
        "lowering: functional executor: {operation} takes a degree-1 ciphertext, got {parts} parts"
    )]
    Degree {
        /// The operation.
        operation: &'static str,
        /// Parts of the ciphertext given (2 expected).
        parts: usize,
    },
    /// An explicit prime wider than the words allow.
    #[error(
        "lowering: explicit prime {prime} does not fit {word_bits}-bit words (at most {cap} \
         bits); give bit sizes (log_q, log_p) instead"
    )]
    PrimeTooWide {
        /// The prime.
        prime: u64,
        /// The word size.
        word_bits: u32,
        /// The widest prime the words hold, in bits (`word_bits - 2`, at most 61).
        cap: u32,
    },
    /// A whole-program stream's own error (binding, the network program), where the caller's
    /// errors are the lowering's.
    #[error("lowering: {0}")]
    Stream(Box<crate::stream::StreamError>),
    /// From the accelerator model.
    #[error(transparent)]
    Sim(#[from] heaccel_sim::SimError),
    /// From the reference model (a circuit's own checks, shapes of operands).
    #[error(transparent)]
    Ckks(#[from] heaccel_verification::Error),
}
