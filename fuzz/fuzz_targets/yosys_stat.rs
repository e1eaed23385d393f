//! Fuzzes the Yosys `stat` report parser (`heaccel_hdl::yosys::parse_stat`, the one of
//! `heaccel verify rtl` and `heaccel fpga estimate`): any text is parsed into a report whose
//! resources, total and instance counts stay within `MAX_CELLS` (so no later sum wraps), or
//! refused with an error naming a line of the log that holds the module or cell it names.
#![no_main]

use heaccel_hdl::yosys::{parse_stat, Counted, StatError, MAX_CELLS};
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
        Err(StatError::NoReport) => assert!(!log.contains("Printing statistics.")),
        Err(StatError::NoModule | StatError::NoHierarchy) => {}
        Err(e) => {
            let line = log
                .lines()
                .nth(e.line() - 1)
                .expect("the line is in the log");
            let field = e.field().expect("a line error names its module or cell");
            match e {
                StatError::TooMany {
                    counted: Counted::Cells(_) | Counted::Instances,
                    ..
                } => assert_eq!(line.split_whitespace().next(), Some(field), "{e}"),
                StatError::TooMany { .. } => {
                    let t = line.trim();
                    assert!(
                        t.starts_with("=== ") || t.starts_with("Number of cells:"),
                        "{e}"
                    );
                }
                _ => assert_eq!(line.trim(), format!("=== {field} ==="), "{e}"),
            }
        }
    }
});
