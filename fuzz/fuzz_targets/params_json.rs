//! Fuzzes the CKKS parameter literal's JSON reader (`ParametersLiteral::from_json`, what
//! `heaccel ... --params FILE.json` calls) and its checks: any text is read or refused with an
//! error; a literal that passes `check` is built when small (`log_n <= 13`, at most 16 primes),
//! and its refusals name a literal field.
#![no_main]

use heaccel_verification::ckks::ParametersLiteral;
use heaccel_verification::Error;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(literal) = ParametersLiteral::from_json(text) else {
        return;
    };
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
});
