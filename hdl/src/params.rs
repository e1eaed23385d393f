//! The prime a block is generated for, and its precomputed constants.

use heaccel_verification::arith::is_prime;

use crate::MAX_Q_BITS;

/// Errors of block construction (invalid parameters from the user).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HdlError {
    /// The modulus is not an odd prime in `[3, 2^30)`.
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
}

/// An odd prime `q` in `[3, 2^30)`: the modulus of a generated block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prime {
    q: u64,
}

impl Prime {
    /// Validates `q`: an odd prime below `2^30`.
    pub fn new(q: u64) -> Result<Self, HdlError> {
        if q >> MAX_Q_BITS != 0 || q < 3 {
            return Err(HdlError::InvalidModulus {
                q,
                reason: format!("must lie in [3, 2^{MAX_Q_BITS})"),
            });
        }
        if !is_prime(q) {
            return Err(HdlError::InvalidModulus {
                q,
                reason: "is not prime".into(),
            });
        }
        Ok(Prime { q })
    }

    /// The value of `q`.
    pub fn value(&self) -> u64 {
        self.q
    }

    /// The Shoup constant of the hardware multiplier for a fixed operand `w` in `[0, q)`:
    /// `floor(w * 2^30 / q)`, in `[0, 2^30)`.
    pub fn shoup30(&self, w: u64) -> u64 {
        assert!(w < self.q, "Shoup operand {w} not reduced mod {}", self.q);
        (w << MAX_Q_BITS) / self.q
    }
}
