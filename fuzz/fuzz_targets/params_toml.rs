//! Fuzzes the CKKS parameter literal's TOML reader (`ParametersLiteral::from_toml`, what
//! `heaccel ... --params FILE.toml` calls) and its checks: any text is read or refused with an
//! error; a literal that passes `check` is built when small (`log_n <= 13`, at most 16 primes),
//! and its refusals name a literal field.
#![no_main]

use heaccel_verification::ckks::ParametersLiteral;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(literal) = ParametersLiteral::from_toml(text) else {
        return;
    };
    heaccel_fuzz::check_literal(&literal);
});
