//! Fuzzes the Yosys `stat` report parser of `heaccel fpga estimate` (`heaccel_fpga::parse_stat`):
//! any text is parsed into a report whose resources, total and instance counts stay within
//! `MAX_CELLS` (so no later sum wraps), or refused with an error naming the line and module.
#![no_main]

use heaccel_fpga::yosys::MAX_CELLS;
use heaccel_fpga::{parse_stat, FpgaError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(log) = std::str::from_utf8(data) else {
        return;
    };
    match parse_stat(log) {
        Ok(report) => {
            for name in report.modules.keys() {
                report
                    .module_resources(name)
                    .expect("checked by parse_stat");
            }
            report.total().expect("checked by parse_stat");
            assert!(report.instances.values().all(|&k| k <= MAX_CELLS));
        }
        Err(FpgaError::Stat(e)) => {
            assert!(e.line >= 1 && e.line <= log.lines().count(), "{e}");
            assert!(!e.field.is_empty());
        }
        Err(FpgaError::Yosys(message)) => assert!(message.contains("`stat` report")),
        Err(e) => panic!("unexpected error {e:?}"),
    }
});
