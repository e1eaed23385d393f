//! Property-based fuzzing of the Yosys `stat` report parser ([`parse_stat`]) and the per-block
//! split ([`per_block`]): the recorded report of `tests/data`, a shared hierarchy and a
//! one-module report, with line- and token-level mutations (lines dropped, duplicated,
//! swapped, re-indented and replaced; counts changed to huge, negative, fractional or
//! non-numeric values; bytes edited) and random text.
//!
//! Each case asserts: no panic; no single allocation beyond
//! [`fuzz_support::text_allocation_limit`] of the log's length; a parsed report whose every
//! module's resources, total and instance count are within [`MAX_CELLS`] (so no later sum
//! wraps), and whose per-block rows add up to the total when `per_block` accepts it; errors
//! that name the line (within the log) and the module or cell.

use heaccel_testkit as fuzz_support;

use heaccel_fpga::yosys::{StatError, MAX_CELLS};
use heaccel_fpga::{build_design, parse_stat, per_block, DesignKind, DesignParams, FpgaError};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: fuzz_support::Counting = fuzz_support::Counting;

const RECORDED: &str = include_str!("data/yosys_stat_datapath_n4_p1.log");

/// A shared netlist's hierarchy (counts multiply down the tree).
const HIERARCHY: &str = "Printing statistics.\n\n=== top ===\n\n   Number of cells:  3\n     FDRE 1\n     \
     lane 2\n     aut 1\n\n=== lane ===\n\n   Number of cells:  4\n     DSP48E2 1\n     reg 3\n\n\
     === aut ===\n\n   Number of cells:  2\n     LUT2 5\n     RAM32M16 1\n     reg 1\n\n=== reg ===\n\n   \
     Number of cells:  1\n     FDRE 2\n\n=== design hierarchy ===\n\n   top                1\n     \
     lane             2\n       reg            3\n     aut              1\n       reg            \
     1\n\n   Number of cells:  14\n     DSP48E2 2\n     FDRE 15\n     LUT2 5\n     RAM32M16 1\n\n\
     End of script.\n";

/// A design of one module (no hierarchy section).
const ONE_MODULE: &str = "2.1. Printing statistics.\n\n=== top ===\n\n   Number of wires: 3\n   \
     Number of cells:  4\n     LUT6 10\n     FDRE 20\n     RAMB36E2 1\n     URAM288 2\n\n   \
     Estimated number of LCs: 10\n";

fn seeds() -> Vec<String> {
    // the recorded log from its last report on keeps each case's text short
    let last = &RECORDED[RECORDED.rfind("Printing statistics.").unwrap()..];
    vec![
        last.to_string(),
        RECORDED.to_string(),
        HIERARCHY.to_string(),
        ONE_MODULE.to_string(),
    ]
}

#[test]
fn seeds_parse() {
    let _serial = fuzz_support::exclusive();
    for seed in seeds() {
        let report = parse_stat(&seed).unwrap();
        report.total().unwrap();
    }
}

#[test]
fn fuzz_yosys_stat() {
    let design = build_design(
        DesignKind::Datapath,
        &DesignParams::with_default_prime(4, 1).unwrap(),
    )
    .unwrap();
    fuzz_support::run(
        || fuzz_support::mutated_text(seeds()),
        |log| {
            let (parsed, largest) = fuzz_support::measure(|| parse_stat(&log));
            prop_assert!(
                largest <= fuzz_support::text_allocation_limit(log.len()),
                "allocated {largest} bytes for {} bytes of log",
                log.len()
            );
            match parsed {
                Ok(report) => {
                    prop_assert!(!report.modules.is_empty());
                    for name in report.modules.keys() {
                        let r = report.module_resources(name);
                        prop_assert!(r.is_ok(), "{name}: {r:?}");
                    }
                    let total = report.total();
                    prop_assert!(total.is_ok(), "{total:?}");
                    prop_assert!(report.instances.values().all(|&k| k <= MAX_CELLS));
                    if let Ok((rows, total)) = per_block(&design, &report) {
                        let sum = rows
                            .iter()
                            .try_fold(heaccel_fpga::Resources::default(), |a, r| {
                                a.checked_plus(&r.resources)
                            });
                        prop_assert_eq!(sum, Some(total));
                    }
                }
                Err(FpgaError::Stat(StatError {
                    line,
                    field,
                    problem,
                })) => {
                    prop_assert!(
                        (1..=log.lines().count()).contains(&line),
                        "line {line}: {problem}"
                    );
                    prop_assert!(!field.is_empty() && !problem.is_empty());
                }
                Err(FpgaError::Yosys(message)) => prop_assert!(message.contains("`stat` report")),
                Err(other) => {
                    return Err(TestCaseError::fail(format!("unexpected error {other:?}")))
                }
            }
            Ok(())
        },
    );
}

/// Counts that would wrap: a cell count above `MAX_CELLS`, instance counts whose product
/// exceeds it, resource sums that exceed it, and a module listed twice.
#[test]
fn counts_beyond_max_cells_are_refused_with_their_line() {
    let _serial = fuzz_support::exclusive();
    let err = |log: &str| match parse_stat(log) {
        Err(FpgaError::Stat(e)) => e,
        other => panic!("expected a StatError, got {other:?}"),
    };
    // one count above the limit, on line 7
    let huge = ONE_MODULE.replace("LUT6 10", "LUT6 18446744073709551615");
    let e = err(&huge);
    assert_eq!((e.line, e.field.as_str()), (7, "LUT6"), "{e}");
    assert!(e.to_string().contains("line 7"), "{e}");
    // each count within the limit, their sum (x 8 LUTs per RAM32M16) beyond it
    let lutram = HIERARCHY.replace(
        "RAM32M16 1\n     reg 1",
        &format!("RAM32M16 {MAX_CELLS}\n     reg 1"),
    );
    let e = err(&lutram);
    assert_eq!(e.field, "RAM32M16", "{e}");
    assert_eq!(
        lutram.lines().nth(e.line - 1).unwrap().trim(),
        "=== aut ==="
    );
    // instances multiplied down the tree beyond the limit
    let deep = HIERARCHY
        .replace(
            "lane             2",
            &format!("lane             {}", 1u64 << 30),
        )
        .replace(
            "reg            3",
            &format!("reg            {}", 1u64 << 30),
        );
    let e = err(&deep);
    assert_eq!(e.field, "reg", "{e}");
    assert!(e.problem.contains("instances"), "{e}");
    // a module's section twice
    let twice = HIERARCHY.replace("=== aut ===", "=== lane ===");
    let e = err(&twice);
    assert_eq!(e.field, "lane", "{e}");
    assert!(e.problem.contains("second section"), "{e}");
    // within the limits the same shapes parse
    let report = parse_stat(HIERARCHY).unwrap();
    assert_eq!(report.instances["reg"], 7);
    assert_eq!(report.total().unwrap().lutram, 8);
}
