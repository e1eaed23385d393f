//! Fuzzes the ISA JSON reader (`Program::from_json`): any text is accepted or refused with an
//! error that names the source; an accepted program round-trips through JSON and the binary
//! form and times without panicking.
#![no_main]

use heaccel_sim::{simulate, HwConfig, Program};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Program::from_json(text, "fuzz.json") {
        Ok(program) => {
            let json = Program::from_json(&program.to_json(), "back.json");
            assert_eq!(json.as_ref(), Ok(&program));
            let binary = Program::from_binary(&program.to_binary(), "back.bin");
            assert_eq!(binary.as_ref(), Ok(&program));
            let config = HwConfig::preset("asic").expect("preset");
            if let Err(e) = simulate(&program, &config) {
                assert!(e.to_string().starts_with("program: "), "{e}");
            }
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.json: "), "{e}"),
    }
});
