//! Fuzzes the binary `HEAX` program reader (`Program::from_binary`): any bytes are accepted or
//! refused with an error that names the source; an accepted program re-encodes to the bytes
//! it was read from (trailing bytes aside), round-trips through JSON and times without
//! panicking.
#![no_main]

use heaccel_sim::{simulate, HwConfig, Program};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Program::from_binary(data, "fuzz.bin") {
        Ok(program) => {
            assert!(
                data.starts_with(&program.to_binary()),
                "re-encoding differs"
            );
            let json = Program::from_json(&program.to_json(), "back.json");
            assert_eq!(json.as_ref(), Ok(&program));
            let config = HwConfig::preset("asic").expect("preset");
            if let Err(e) = simulate(&program, &config) {
                assert!(e.to_string().starts_with("program: "), "{e}");
            }
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.bin: "), "{e}"),
    }
});
