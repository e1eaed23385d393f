//! The prime a block is generated for, and its precomputed constants.

use heaccel_verification::arith::is_prime;

use crate::{MAX_Q_BITS, SUPPORTED_WORDS};

/// Errors of block construction (invalid parameters from the user).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum HdlError {
    /// The modulus is not an odd prime in `[3, 2^(W-2))`.
    #[error("modulus q = {q}: {reason}")]
    InvalidModulus {
        /// The offending value.
        q: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A structural parameter is out of range.
    #[error("{field} = {value}: {reason}")]
    InvalidParameter {
        /// Name of the parameter (as on the command line).
        field: String,
        /// The offending value.
        value: u64,
        /// The allowed range.
        reason: String,
    },
    /// Generated Verilog that a netlist pass cannot read (a generator bug, not an input).
    #[error("generated Verilog: {0}")]
    Netlist(#[from] crate::netlist::NetlistError),
}

/// An odd prime `q` in `[3, 2^(W-2))` for a machine word of `W` bits: the modulus of a
/// generated block (lazy sums in `[0, 2q)` fit a word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prime {
    q: u64,
    word: usize,
}

impl Prime {
    /// Validates `q` for the default word `W = 32`: an odd prime below `2^30`.
    pub fn new(q: u64) -> Result<Self, HdlError> {
        Self::for_word(q, 32)
    }

    /// Validates `q` for a machine word of `word` bits (one of [`SUPPORTED_WORDS`]): an odd
    /// prime below `2^(word - 2)`.
    pub fn for_word(q: u64, word: usize) -> Result<Self, HdlError> {
        if !SUPPORTED_WORDS.contains(&word) {
            return Err(HdlError::InvalidParameter {
                field: "word".into(),
                value: word as u64,
                reason: format!("supported machine words are {SUPPORTED_WORDS:?} bits"),
            });
        }
        let bits = word as u32 - 2;
        if q >> bits != 0 || q < 3 {
            return Err(HdlError::InvalidModulus {
                q,
                reason: format!("must lie in [3, 2^{bits}) for W = {word}"),
            });
        }
        if !is_prime(q) {
            return Err(HdlError::InvalidModulus {
                q,
                reason: "is not prime".into(),
            });
        }
        Ok(Prime { q, word })
    }

    /// The value of `q`.
    pub fn value(&self) -> u64 {
        self.q
    }

    /// The machine word `W` in bits this prime was validated for.
    pub fn word(&self) -> usize {
        self.word
    }

    /// The Shoup constant of the `W = 32` multiplier for a fixed operand `w` in `[0, q)`:
    /// `floor(w * 2^30 / q)`, in `[0, 2^30)`. Needs `q < 2^30`.
    pub fn shoup30(&self, w: u64) -> u64 {
        assert!(
            self.q >> MAX_Q_BITS == 0,
            "q = {} is not below 2^30",
            self.q
        );
        self.shoup_for(w, 32)
    }

    /// The Shoup constant of this prime's word (`W = self.word()`): see [`Prime::shoup_for`].
    pub fn shoup(&self, w: u64) -> u64 {
        self.shoup_for(w, self.word)
    }

    /// The Shoup constant of the `W`-bit multiplier for a fixed operand `w` in `[0, q)`:
    /// `floor(w * 2^(W-2) / q)`, in `[0, 2^(W-2))`.
    pub fn shoup_for(&self, w: u64, word: usize) -> u64 {
        assert!(w < self.q, "Shoup operand {w} not reduced mod {}", self.q);
        (((w as u128) << (word - 2)) / self.q as u128) as u64
    }
}
