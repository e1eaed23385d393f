//! Property-based fuzzing of the Yosys `stat` reader of `heaccel verify rtl`
//! ([`verilog::parse_stat`], issue 21 will merge it with `heaccel-fpga`'s): reports of the
//! form `synth_xilinx` prints, with line- and token-level mutations (lines dropped,
//! duplicated, swapped and replaced; counts changed to huge, negative, fractional or
//! non-numeric values; bytes edited) and random text. Also the vector-file reader of the
//! negative control ([`verilog::corrupt_vectors`]) on a malformed file.
//!
//! Each case asserts: no panic; no single allocation beyond
//! [`fuzz_support::text_allocation_limit`] of the log's length; counts that are the exact
//! sums of the report's lines when it parses (checked independently in `u128`), else an
//! error naming a line of the log and the cell type.

use heaccel_testkit as fuzz_support;

use heaccel_hdl::verilog::{self, Bench, Bundle, Resources, StatError};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: fuzz_support::Counting = fuzz_support::Counting;

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
    "Number of cells: 3\n  LUT1 5\n\n=== top ===\n   Number of cells:  3\n     \
     FDRE 1\n     sub 2\n=== sub ===\n   Number of cells:  2\n     LUT3 7\n     DSP48E2 1\n\n=== \
     design hierarchy ===\n   top 1\n     sub 2\n   Number of cells: 6\n     DSP48E2 2\n     FDRE \
     1\n     LUT3 14\n";

/// The sums [`verilog::parse_stat`] should give, in `u128` (from the last `Number of cells:`
/// on, the lines of two or more words whose second word is a count), or `None` where one
/// exceeds `u64`.
fn expected(log: &str) -> Option<Resources> {
    let start = log.rfind("Number of cells:")?;
    let (mut lut, mut ff, mut dsp, mut lutram, mut bram18) = (0u128, 0u128, 0u128, 0u128, 0u128);
    for line in log[start..].lines() {
        let mut it = line.split_whitespace();
        let (Some(cell), Some(n)) = (it.next(), it.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        let n = u128::from(n);
        if cell.starts_with("LUT") {
            lut += n;
        } else if cell.starts_with("FD") {
            ff += n;
        } else if cell.starts_with("DSP48") {
            dsp += n;
        } else if cell.starts_with("RAMB36") {
            bram18 += 2 * n;
        } else if cell.starts_with("RAMB18") {
            bram18 += n;
        } else if cell.starts_with("RAM") {
            lutram += n;
        }
    }
    let fit = |v: u128| u64::try_from(v).ok();
    Some(Resources {
        lut: fit(lut)?,
        ff: fit(ff)?,
        dsp: fit(dsp)?,
        bram36: fit(bram18.div_ceil(2))?,
        lutram: fit(lutram)?,
    })
    .filter(|_| fit(bram18).is_some())
}

#[test]
fn seeds_parse() {
    let _serial = fuzz_support::exclusive();
    let flat = verilog::parse_stat(FLAT).unwrap();
    // LUT2 + LUT6; RAM32M16 (SRL16E is not counted: it starts with neither LUT nor RAM);
    // RAMB36E2 = 2 x RAMB18, with 3 RAMB18E2: ceil(5 / 2) = 3
    assert_eq!(
        flat,
        Resources {
            lut: 21,
            ff: 40,
            dsp: 3,
            bram36: 3,
            lutram: 2,
        }
    );
    assert_eq!(Some(flat), expected(FLAT));
    let last = verilog::parse_stat(TWO_REPORTS).unwrap();
    assert_eq!((last.lut, last.ff, last.dsp), (14, 1, 2));
}

#[test]
fn fuzz_verilog_stat() {
    fuzz_support::run(
        || fuzz_support::mutated_text(vec![FLAT.to_string(), TWO_REPORTS.to_string()]),
        |log| {
            let (parsed, largest) = fuzz_support::measure(|| verilog::parse_stat(&log));
            prop_assert!(
                largest <= fuzz_support::text_allocation_limit(log.len()),
                "allocated {largest} bytes for {} bytes of log",
                log.len()
            );
            match (parsed, expected(&log)) {
                (Ok(r), want) => prop_assert_eq!(Some(r), want),
                (Err(StatError { line: 0, field, .. }), want) => {
                    prop_assert_eq!(field, "Number of cells");
                    prop_assert!(!log.contains("Number of cells:"));
                    prop_assert!(want.is_none());
                }
                (
                    Err(StatError {
                        line,
                        field,
                        problem,
                    }),
                    want,
                ) => {
                    prop_assert!(want.is_none(), "refused a report that fits: {problem}");
                    let text = log.lines().nth(line - 1);
                    prop_assert!(
                        text.is_some_and(|t| t.split_whitespace().next() == Some(field.as_str())),
                        "line {line} ({text:?}) does not hold `{field}`"
                    );
                }
            }
            Ok(())
        },
    );
}

/// Counts whose sum exceeds `u64` (or whose RAMB36 doubling does) are refused, naming the line
/// and the cell; they wrapped, or panicked with overflow checks, before.
#[test]
fn overflowing_counts_are_refused_with_their_line() {
    let _serial = fuzz_support::exclusive();
    let max = u64::MAX.to_string();
    let log = format!("Number of cells: 2\n  LUT1 {max}\n  LUT2 1\n");
    let e = verilog::parse_stat(&log).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (3, "LUT2"), "{e}");
    let log = format!("Number of cells: 1\n  RAMB36E2 {}\n", 1u64 << 63);
    let e = verilog::parse_stat(&log).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (2, "RAMB36E2"), "{e}");
    assert!(e.to_string().contains("line 2"), "{e}");
    let e = verilog::parse_stat("Yosys 0.23\nEnd of script.\n").unwrap_err();
    assert_eq!(e.field, "Number of cells");
}

/// The negative control's reader refuses a vector file whose target word is not hex (it
/// panicked before), naming the file.
#[test]
fn corrupt_vectors_refuses_a_malformed_word() {
    let _serial = fuzz_support::exclusive();
    let bundle = Bundle {
        name: "t".into(),
        command: "test".into(),
        verilog: String::new(),
        word: 32,
        bench: Bench::Custom(String::new()),
        records: vec![vec![1, 2], vec![3, 4]],
        record_words: 2,
        geometry: None,
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("corrupt_vectors");
    std::fs::create_dir_all(&dir).unwrap();
    let (good, bad, out) = (
        dir.join("good.hex"),
        dir.join("bad.hex"),
        dir.join("out.hex"),
    );
    std::fs::write(&good, bundle.vector_file()).unwrap();
    verilog::corrupt_vectors(&bundle, &good, &out, 1).unwrap();
    // record 1, word 1 is line 2 + 1 * 2 + 1 = 5 of the words (after the comments)
    let text = bundle.vector_file().replace("00000004\n", "zz\n");
    std::fs::write(&bad, text).unwrap();
    let err = verilog::corrupt_vectors(&bundle, &bad, &out, 1).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("bad.hex"), "{err}");
}
