//! Helpers of the co-simulation tests: a fresh output folder per check, and the verdict of a
//! tool run that must pass (or skip with a notice where the tool is absent).

#![allow(dead_code)] // each test binary uses some of these

use std::path::PathBuf;

use heaccel_hdl::verilog::ToolOutcome;

/// An empty folder `<CARGO_TARGET_TMPDIR>/<group>/<name>` (removed first if it exists).
pub fn out_dir(group: &str, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(group)
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Panics unless `o` passed or was skipped (a tool not installed: a notice is printed).
pub fn expect_pass(what: &str, o: ToolOutcome) {
    match o {
        ToolOutcome::Pass(s) => eprintln!("{what}: pass ({s})"),
        ToolOutcome::Skipped(s) => eprintln!("NOTICE: {what} skipped: {s}"),
        ToolOutcome::Fail(s) => panic!("{what} failed:\n{s}"),
    }
}

/// Panics if `o` passed: a negative control (a corrupted or missing vector file, a unit built
/// wrong on purpose) must be rejected, or skipped where the tool is absent.
pub fn expect_fail(what: &str, o: ToolOutcome) {
    match o {
        ToolOutcome::Fail(s) => eprintln!(
            "{what}: rejected as it must ({})",
            s.lines().last().unwrap_or("")
        ),
        ToolOutcome::Skipped(s) => eprintln!("NOTICE: {what} skipped: {s}"),
        ToolOutcome::Pass(s) => panic!("{what}: a negative control passed ({s})"),
    }
}

/// The co-run bundle of `prog` on the core `geo` (naming `command`) written to `dir`, and
/// its Verilator build.
pub fn verilator_build(
    geo: &heaccel_hdl::core::CoreGeometry,
    prog: &[heaccel_hdl::core::CoreInstr],
    loads: &[Vec<u64>],
    stores: &[Vec<u64>],
    cycles: usize,
    dir: &std::path::Path,
    command: &str,
) -> (
    heaccel_hdl::verilog::Bundle,
    heaccel_hdl::verilog::BundleFiles,
    std::path::PathBuf,
) {
    use heaccel_hdl::core::{build_verilator_core, core_bundle};
    let bundle = core_bundle(geo, prog, loads, stores, cycles, command).unwrap();
    let files = bundle.write(dir).unwrap();
    let exe = match build_verilator_core(&files) {
        Ok(exe) => exe,
        Err(o) => panic!("verilator build: {o:?}"),
    };
    (bundle, files, exe)
}
