//! Fuzzes the Yosys `stat` reader of `heaccel verify rtl` (`heaccel_hdl::verilog::parse_stat`):
//! any text is summed without wrapping, or refused with an error naming the line and cell.
#![no_main]

use heaccel_hdl::verilog::parse_stat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(log) = std::str::from_utf8(data) else {
        return;
    };
    match parse_stat(log) {
        Ok(r) => assert!(r.bram36 <= u64::MAX / 2 + 1),
        Err(e) if e.line == 0 => assert!(!log.contains("Number of cells:"), "{e}"),
        Err(e) => {
            let line = log.lines().nth(e.line - 1).expect("the line is in the log");
            assert_eq!(
                line.split_whitespace().next(),
                Some(e.field.as_str()),
                "{e}"
            );
        }
    }
});
