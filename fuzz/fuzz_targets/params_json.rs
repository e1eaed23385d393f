//! Fuzzes the CKKS parameter literal's JSON reader (`ParametersLiteral::from_json`, what
//! `heaccel ... --params FILE.json` calls) and its checks: any text is read or refused with an
//! error; a literal that passes `check` is built when small (`log_n <= 13`, at most 16 primes),
//! and its refusals name a literal field.
#![no_main]

use heaccel_verification::ckks::ParametersLiteral;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(literal) = ParametersLiteral::from_json(text) else {
        return;
    };
    heaccel_fuzz::check_literal(&literal);
});
