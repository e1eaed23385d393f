//! The Yosys `stat` report parser ([`yosys::parse_stat`], the workspace's one: `heaccel verify
//! rtl` and `heaccel fpga estimate` both read their reports with it) on recorded and
//! hand-written reports, and two property-based fuzzers of [`fuzz_support::CASES`] cases each:
//!
//! - `fuzz_yosys_stat`: the recorded report of `fpga/tests/data`, a flat `synth_xilinx`
//!   report, two reports in one log, a shared hierarchy and a one-module report, with line- and
//!   token-level mutations (lines dropped, duplicated, swapped, re-indented and replaced;
//!   counts changed to huge, negative, fractional or non-numeric values; bytes edited) and
//!   random text. Each case asserts: no panic; no single allocation beyond
//!   [`fuzz_support::text_allocation_limit`] of the log's length; a parsed report whose every
//!   module's resources, total and instance count are within [`MAX_CELLS`] (so no later sum
//!   wraps); errors that name a line of the log holding the module or cell they name.
//! - `generated_reports_parse_exactly`: random designs (modules with random cells and counts,
//!   up to `u64::MAX`, under a random shared hierarchy) printed as Yosys prints them. Each
//!   case asserts that the report is accepted exactly when every count, instance total and
//!   resource sum (computed independently in `u128`) is within [`MAX_CELLS`], and then that
//!   its cells, instances, per-module resources, total and LUT cells are the exact ones.
//!
//! The generated-reports fuzzer (its design model and printer) is in
//! `fuzz_yosys_stat/generated.rs`; the recorded and hand-written reports and the mutation
//! fuzzer are here.

use std::collections::BTreeMap;

use heaccel_testkit as fuzz_support;

use heaccel_hdl::yosys::{self, parse_stat, Counted, Resources, StatError, MAX_CELLS};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: fuzz_support::Counting = fuzz_support::Counting;

/// `yosys -s yosys.ys` on `heaccel fpga build --target u280 --lanes 1 --log-n 4` (Yosys 0.23),
/// from "Printing statistics." on: the report synth_xilinx prints, then the script's `stat`.
const RECORDED: &str = include_str!("../../fpga/tests/data/yosys_stat_datapath_n4_p1.log");

/// A flat `synth_xilinx` report (the form `verilog::synth` reads).
const FLAT: &str =
    "9. Printing statistics.\n\n=== top ===\n\n   Number of wires:                 42\n   \
     Number of wire bits:            612\n   Number of cells:                 97\n     BUFG     \
     1\n     CARRY8                          4\n     DSP48E2                         3\n     \
     FDRE                           40\n     LUT2                           12\n     LUT6        \
     9\n     RAM32M16                        2\n     RAMB18E2                        3\n     \
     RAMB36E2                        1\n     SRL16E                          5\n\n   Estimated \
     number of LCs:          21\n\nEnd of script.\n";

/// Two reports in one log (the last one counts) with a design hierarchy.
const TWO_REPORTS: &str =
    "1. Printing statistics.\n\n=== top ===\n   Number of cells: 3\n     LUT1 5\n\n2. Printing \
     statistics.\n\n=== top ===\n   Number of cells:  3\n     FDRE 1\n     sub 2\n=== sub ===\n   \
     Number of cells:  2\n     LUT3 7\n     DSP48E2 1\n\n=== design hierarchy ===\n   top 1\n     \
     sub 2\n   Number of cells: 6\n     DSP48E2 2\n     FDRE 1\n     LUT3 14\n";

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

fn last_report() -> &'static str {
    &RECORDED[RECORDED.rfind("Printing statistics.").unwrap()..]
}

fn seeds() -> Vec<String> {
    // the recorded log from its last report on keeps each case's text short
    [
        last_report(),
        RECORDED,
        FLAT,
        TWO_REPORTS,
        HIERARCHY,
        ONE_MODULE,
    ]
    .map(str::to_string)
    .to_vec()
}

#[test]
fn seeds_parse() {
    let _serial = fuzz_support::exclusive();
    for seed in seeds() {
        let report = parse_stat(&seed).unwrap();
        report.total().unwrap();
    }
    let flat = parse_stat(FLAT).unwrap();
    // LUT2 + LUT6; RAM32M16 (8 LUTs each) + SRL16E (1 LUT each); BUFG and CARRY8 count for
    // nothing.
    assert_eq!(
        flat.total().unwrap(),
        Resources {
            lut: 21,
            lutram: 2 * 8 + 5,
            ff: 40,
            dsp: 3,
            ramb36: 1,
            ramb18: 3,
            uram: 0,
        }
    );
    // RAMB36E2 + ceil(3 RAMB18E2 / 2)
    assert_eq!(flat.total().unwrap().bram36(), 3);
    assert_eq!(flat.instances["top"], 1);
    let last = parse_stat(TWO_REPORTS).unwrap().total().unwrap();
    assert_eq!((last.lut, last.ff, last.dsp), (14, 1, 2));
    let one = parse_stat(ONE_MODULE).unwrap().total().unwrap();
    assert_eq!((one.lut, one.ff, one.ramb36, one.uram), (10, 20, 1, 2));
}

#[test]
fn recorded_stat_gives_hand_summed_totals() {
    let report = parse_stat(RECORDED).unwrap();
    let total = report.total().unwrap();
    // Summed by hand from the `design hierarchy` section of the recorded log:
    // LUT1..LUT6 = 58 + 579 + 723 + 201 + 88 + 660, INV = 155.
    assert_eq!(total.lut, 58 + 579 + 723 + 201 + 88 + 660 + 155);
    // The LUT figure of `heaccel verify rtl`: the LUT1..LUT6 cells alone.
    assert_eq!(
        report.total_cells_with_prefix("LUT"),
        58 + 579 + 723 + 201 + 88 + 660
    );
    // RAM32M16 (8 LUTs each) x 9 + SRL16E x 40.
    assert_eq!(total.lutram, 9 * 8 + 40);
    assert_eq!(total.clb_luts(), 2464 + 112);
    assert_eq!(total.ff, 2083 + 3);
    // Three Shoup multipliers (two in the butterfly, one element-wise) of 9 DSPs each.
    assert_eq!(total.dsp, 27);
    assert_eq!((total.ramb36, total.ramb18, total.uram), (0, 0, 0));
    // 1 top + aut + mm$0 with 14 registers + ntt + its lane with 2 x (1 + 14) multiplier
    // modules, add + out, sub + out and 9 delay registers.
    assert_eq!(report.modules.len(), 1 + 1 + 15 + 1 + 1 + 30 + 4 + 9);
    assert!(report.instances.values().all(|&k| k == 1));
    assert_eq!(report.instances["top$ntt$lanes$0$mul_b$s_prod_sum"], 1);
}

/// A shared netlist's hierarchy (the form Yosys 0.23 prints: indented, counts per instance of
/// the parent, a module listed under each parent): instances multiply down the tree and add
/// across parents, and the per-module sum equals the printed total.
#[test]
fn hierarchy_counts_multiply_down_the_tree() {
    let r = parse_stat(HIERARCHY).unwrap();
    let want: Vec<(&str, u64)> = vec![("aut", 1), ("lane", 2), ("reg", 2 * 3 + 1), ("top", 1)];
    let got: Vec<(&str, u64)> = r.instances.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(got, want);
    // 1 + 7 x 2 flip-flops, 2 DSPs, 5 LUTs, one RAM32M16 of 8 LUTs: the printed total.
    let total = r.total().unwrap();
    assert_eq!(
        (total.ff, total.dsp, total.lut, total.lutram),
        (15, 2, 5, 8)
    );
    let mut sum = Resources::default();
    for (name, k) in &r.instances {
        for _ in 0..*k {
            sum = sum
                .checked_plus(&r.module_resources(name).unwrap())
                .unwrap();
        }
    }
    assert_eq!(sum, total);
}

#[test]
fn logs_without_a_complete_report_are_refused() {
    let e = parse_stat("Yosys 0.23\nEnd of script.\n").unwrap_err();
    assert_eq!(e, StatError::NoReport);
    assert_eq!(
        e.to_string(),
        "no `stat` report (\"Printing statistics.\") in the log"
    );
    // The script's report cut before its `design hierarchy` section: several modules and no
    // instance counts.
    let last = last_report();
    let cut = &last[..last.find("=== design hierarchy ===").unwrap()];
    let e = parse_stat(cut).unwrap_err();
    assert_eq!(e, StatError::NoHierarchy);
    assert!(e.to_string().contains("design hierarchy"), "{e}");
    // Cut before its first module.
    assert_eq!(parse_stat(&last[..25]).unwrap_err(), StatError::NoModule);
    assert_eq!((e.line(), e.field()), (0, None));
}

/// Counts that would wrap: a cell count above `MAX_CELLS`, instance counts whose product
/// exceeds it, resource sums that exceed it, and a module listed twice; each error names its
/// line and the cell or module.
#[test]
fn counts_beyond_max_cells_are_refused_with_their_line() {
    let _serial = fuzz_support::exclusive();
    let err = |log: &str| parse_stat(log).unwrap_err();
    // one count above the limit, on line 7
    let huge = ONE_MODULE.replace("LUT6 10", "LUT6 18446744073709551615");
    let e = err(&huge);
    assert_eq!((e.line(), e.field()), (7, Some("LUT6")), "{e}");
    assert_eq!(
        e.to_string(),
        "Yosys `stat` report, line 7: `LUT6`: 18446744073709551615 cells exceed \
         281474976710656 (MAX_CELLS)"
    );
    // the same in a flat report, and a RAMB36 count whose doubling would wrap a u64
    let log = format!(
        "Printing statistics.\n=== top ===\nNumber of cells: 2\n  LUT1 {}\n  LUT2 1\n",
        u64::MAX
    );
    assert_eq!(err(&log).line(), 4);
    let log = format!(
        "Printing statistics.\n=== top ===\nNumber of cells: 1\n  RAMB36E2 {}\n",
        1u64 << 63
    );
    let e = err(&log);
    assert_eq!((e.line(), e.field()), (4, Some("RAMB36E2")), "{e}");
    assert!(e.to_string().contains("line 4"), "{e}");
    // each count within the limit, their sum beyond it: refused at the module's header
    let log = format!(
        "Printing statistics.\n=== top ===\nNumber of cells: 2\n  LUT1 {MAX_CELLS}\n  LUT2 1\n"
    );
    let e = err(&log);
    assert_eq!(
        e,
        StatError::TooMany {
            line: 2,
            field: "LUT2".into(),
            counted: Counted::Resources
        }
    );
    // each count within the limit, their sum (x 8 LUTs per RAM32M16) beyond it
    let lutram = HIERARCHY.replace(
        "RAM32M16 1\n     reg 1",
        &format!("RAM32M16 {MAX_CELLS}\n     reg 1"),
    );
    let e = err(&lutram);
    assert_eq!(e.field(), Some("RAM32M16"), "{e}");
    assert_eq!(
        lutram.lines().nth(e.line() - 1).unwrap().trim(),
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
    assert!(
        matches!(&e, StatError::TooMany { field, counted: Counted::Instances, .. } if field == "reg"),
        "{e}"
    );
    assert!(e.to_string().contains("instances"), "{e}");
    // a module's section twice
    let twice = HIERARCHY.replace("=== aut ===", "=== lane ===");
    let e = err(&twice);
    assert!(
        matches!(&e, StatError::SecondSection { module, first: 10, .. } if module == "lane"),
        "{e:?}"
    );
    assert!(e.to_string().contains("second section"), "{e}");
    // within the limits the same shapes parse
    let report = parse_stat(HIERARCHY).unwrap();
    assert_eq!(report.instances["reg"], 7);
    assert_eq!(report.total().unwrap().lutram, 8);
}

/// Where an error of `parse_stat` on `log` points: a line of the log, holding the cell or
/// module it names (its first word, or its `=== MODULE ===` header), or a `Number of cells:`
/// line for the design's total.
fn check_error(log: &str, e: &StatError) -> Result<(), TestCaseError> {
    let tail = log.rfind("Printing statistics.").map(|start| &log[start..]);
    let headers = || {
        tail.into_iter().flat_map(str::lines).filter(|l| {
            l.trim()
                .strip_prefix("=== ")
                .and_then(|r| r.strip_suffix(" ==="))
                .is_some_and(|name| name != "design hierarchy")
        })
    };
    let text = log.lines().nth(e.line().wrapping_sub(1)).map(str::trim);
    let first_word = text.and_then(|t| t.split_whitespace().next());
    match e {
        StatError::NoReport => prop_assert!(tail.is_none()),
        StatError::NoModule => prop_assert_eq!(headers().count(), 0),
        StatError::NoHierarchy => prop_assert!(headers().count() > 1),
        StatError::SecondSection { module, first, .. } => {
            let header = format!("=== {module} ===");
            prop_assert_eq!(text, Some(header.as_str()), "{}", e);
            let first = log.lines().nth(first - 1).map(str::trim);
            prop_assert_eq!(first, Some(header.as_str()), "{}", e);
        }
        StatError::TooMany {
            field,
            counted: Counted::Cells(_) | Counted::Instances,
            ..
        } => prop_assert_eq!(first_word, Some(field.as_str()), "{}", e),
        StatError::TooMany {
            counted: Counted::Resources,
            ..
        } => prop_assert!(
            text.is_some_and(|t| t.starts_with("Number of cells:")
                || (t.starts_with("=== ") && t.ends_with(" ==="))),
            "{e}: line {:?}",
            text
        ),
        StatError::TooMany { .. } => {
            return Err(TestCaseError::fail(format!("unexpected error {e:?}")))
        }
    }
    Ok(())
}

#[test]
fn fuzz_yosys_stat() {
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
                    // each of these cells is within MAX_CELLS, so the sum never saturates
                    let luts: u128 = report
                        .total_cells
                        .iter()
                        .filter(|(c, _)| c.starts_with("LUT"))
                        .map(|&(_, n)| u128::from(n))
                        .sum();
                    prop_assert_eq!(
                        u128::from(report.total_cells_with_prefix("LUT")),
                        luts.min(u128::from(u64::MAX))
                    );
                }
                Err(e) => check_error(&log, &e)?,
            }
            Ok(())
        },
    );
}

/// The resources [`yosys::StatReport::total`] gives for a report built by hand are those of
/// its cells; a count beyond `MAX_CELLS` is refused on line 0 (no line of a log).
#[test]
fn hand_built_reports() {
    let mut report = yosys::StatReport {
        total_cells: vec![("LUT4".into(), 3), ("INV".into(), 2), ("SRLC32E".into(), 4)],
        ..Default::default()
    };
    let r = report.total().unwrap();
    assert_eq!((r.lut, r.lutram, r.clb_luts()), (5, 4, 9));
    assert_eq!(report.total_cells_with_prefix("LUT"), 3);
    report.total_cells.push(("LUT5".into(), MAX_CELLS));
    let e = report.total().unwrap_err();
    assert_eq!((e.line(), e.field()), (0, Some("LUT5")));
    assert_eq!(
        e.to_string(),
        "Yosys `stat` report: `LUT5`: the resources counted up to this cell type exceed \
         281474976710656 (MAX_CELLS)"
    );
}

#[path = "fuzz_yosys_stat/generated.rs"]
mod generated;
