//! What the fuzz targets share.

#![warn(missing_docs)]

use heaccel_verification::ckks::ParametersLiteral;
use heaccel_verification::Error;

/// The properties of a parameter literal read from any text: one that passes `check` builds
/// when small (`log_n <= 13`, at most 16 primes) or is refused as invalid; a refusal names a
/// literal field.
pub fn check_literal(literal: &ParametersLiteral) {
    match literal.check() {
        Ok(()) => {
            let primes =
                literal.log_q.len() + literal.q.len() + literal.log_p.len() + literal.p.len();
            if literal.log_n <= 13 && primes <= 16 {
                if let Err(e) = literal.build() {
                    assert!(
                        matches!(
                            e,
                            Error::InvalidParameter { .. } | Error::NotEnoughPrimes { .. }
                        ),
                        "{e}"
                    );
                }
            }
        }
        Err(Error::InvalidParameter { field, .. } | Error::Insecure { field, .. }) => {
            assert!(!field.is_empty())
        }
        Err(Error::InsecureSparse { .. }) => {}
        Err(e) => panic!("unexpected error {e:?}"),
    }
}
