//! Fuzzes the JSON network-input reader (`heaccel_cli::infer::parse_input_json`, what `heaccel
//! infer --input FILE.json` reads) for a 1 x 2 x 3 input: any text is read or refused with an
//! error naming the file; an accepted input holds exactly 6 finite values.
#![no_main]

use heaccel_cli::infer::parse_input_json;
use heaccel_host::nn::Shape;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let shape = Shape {
        channels: 1,
        height: 2,
        width: 3,
    };
    match parse_input_json(text, "fuzz.json", shape) {
        Ok(map) => {
            assert_eq!(map.data().len(), 6);
            assert!(map.data().iter().all(|x| x.is_finite()));
        }
        Err(e) => assert!(format!("{e:#}").contains("fuzz.json")),
    }
});
