//! The emitted Verilog against the same reference vectors under Icarus Verilog and
//! Verilator, with a corrupted-vector negative control, `verilator --lint-only -Wall` and
//! Yosys `synth_xilinx` + `check -assert`. Each step prints a notice and is skipped when its
//! tool is not installed (`scripts/test.sh` installs them, so CI runs them).

use std::path::PathBuf;

use heaccel_hdl::blocks::{butterfly_bundle, modmul_bundle};
use heaccel_hdl::verilog::{
    build_verilator, corrupt_vectors, lint, run_icarus, run_verilator, synth, Bundle, ToolOutcome,
};
use heaccel_hdl::Prime;
use heaccel_verification::arith::ntt_primes;

fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn expect_pass(what: &str, o: ToolOutcome) {
    match o {
        ToolOutcome::Pass(s) => eprintln!("{what}: pass ({s})"),
        ToolOutcome::Skipped(s) => eprintln!("NOTICE: {what} skipped: {s}"),
        ToolOutcome::Fail(s) => panic!("{what} failed:\n{s}"),
    }
}

fn expect_fail(what: &str, o: ToolOutcome) {
    match o {
        ToolOutcome::Fail(s) => eprintln!(
            "{what}: rejected as it must ({})",
            s.lines().last().unwrap_or("")
        ),
        ToolOutcome::Skipped(s) => eprintln!("NOTICE: {what} skipped: {s}"),
        ToolOutcome::Pass(s) => panic!("{what}: a corrupted or missing vector file passed ({s})"),
    }
}

/// Every check of the bundle; `verilator` adds the (slow to build) Verilator co-simulation.
fn check_bundle(b: &Bundle, verilator: bool) {
    let dir = out_dir(&b.name);
    let files = b.write(&dir).unwrap();
    let n = b.records.len();
    // The generated files carry the regeneration command.
    assert!(std::fs::read_to_string(&files.top)
        .unwrap()
        .contains(&b.command));
    expect_pass(
        &format!("{} icarus", b.name),
        run_icarus(&files, &files.vectors, n),
    );
    let bad = dir.join("corrupted.hex");
    corrupt_vectors(b, &files.vectors, &bad, b.record_words - 1).unwrap();
    expect_fail(
        &format!("{} icarus corrupted", b.name),
        run_icarus(&files, &bad, n),
    );
    let missing = dir.join("missing.hex");
    expect_fail(
        &format!("{} icarus missing file", b.name),
        run_icarus(&files, &missing, n),
    );
    if verilator {
        match build_verilator(&files) {
            Ok(exe) => {
                expect_pass(
                    &format!("{} verilator", b.name),
                    run_verilator(&exe, &files.vectors, n),
                );
                expect_fail(
                    &format!("{} verilator corrupted", b.name),
                    run_verilator(&exe, &bad, n),
                );
            }
            Err(o) => expect_pass(&format!("{} verilator build", b.name), o),
        }
    }
    expect_pass(&format!("{} lint", b.name), lint(&files));
    match synth(&files) {
        Ok(r) => {
            eprintln!("{} synth_xilinx: {r:?}", b.name);
            assert!(r.lut > 0 && r.ff > 0, "synthesis produced no logic: {r:?}");
        }
        Err(o) => expect_pass(&format!("{} yosys", b.name), o),
    }
}

fn prime() -> Prime {
    Prime::new(ntt_primes(30, 14, 1, &[]).unwrap()[0]).unwrap()
}

#[test]
fn modmul_verilog() {
    let b = modmul_bundle(prime(), 8, 300, "cargo test -p heaccel-hdl --test cosim");
    check_bundle(&b, true);
    // Nine 16x16 products; Yosys folds the product by the low limb of q when it is 1, as
    // for every q = 1 mod 2^15 (all NTT primes of N >= 2^14), leaving eight DSPs.
    for q in [prime().value(), ntt_primes(30, 10, 2, &[]).unwrap()[1]] {
        let b = modmul_bundle(
            Prime::new(q).unwrap(),
            8,
            0,
            "cargo test -p heaccel-hdl --test cosim",
        );
        if let Ok(r) = synth(&b.write(&out_dir(&format!("modmul-dsp-{q}"))).unwrap()) {
            let want = heaccel_hdl::ModMul::PARTIAL_PRODUCTS as u64 - (q & 0x7fff == 1) as u64;
            assert_eq!(r.dsp, want, "q = {q}: {r:?}");
        }
    }
}

#[test]
fn ct_butterfly_verilog() {
    check_bundle(
        &butterfly_bundle(
            prime(),
            8,
            false,
            300,
            "cargo test -p heaccel-hdl --test cosim",
        ),
        true,
    );
}

#[test]
fn gs_butterfly_verilog() {
    check_bundle(
        &butterfly_bundle(
            prime(),
            8,
            true,
            300,
            "cargo test -p heaccel-hdl --test cosim",
        ),
        true,
    );
}

/// The NTT unit at N = 2^5 with P = 2 (every check, Verilator included: rust-hdl duplicates
/// each submodule per instance, so Verilator and Yosys builds grow with P), then Icarus with
/// its negative controls at N = 2^8, P = 4. Every check at N = 2^8, P = 4 (minutes):
/// `cargo test -p heaccel-hdl --test cosim -- --ignored`, or `heaccel verify rtl`.
#[test]
fn ntt_unit_verilog() {
    let cmd = "cargo test -p heaccel-hdl --test cosim";
    let small = heaccel_hdl::NttGeometry::new(5, 2).unwrap();
    check_bundle(
        &heaccel_hdl::blocks::ntt_bundle(prime(), small, 2, cmd),
        true,
    );
    let geo = heaccel_hdl::NttGeometry::new(8, 4).unwrap();
    let b = heaccel_hdl::blocks::ntt_bundle(prime(), geo, 2, cmd);
    let dir = out_dir("ntt-8-4");
    let files = b.write(&dir).unwrap();
    let n = b.records.len();
    expect_pass("ntt 2^8 icarus", run_icarus(&files, &files.vectors, n));
    let bad = dir.join("corrupted.hex");
    corrupt_vectors(&b, &files.vectors, &bad, b.record_words - 1).unwrap();
    expect_fail("ntt 2^8 icarus corrupted", run_icarus(&files, &bad, n));
}

#[test]
#[ignore = "slow (Verilator and Yosys builds of four lanes): cargo test -p heaccel-hdl --test cosim -- --ignored"]
fn ntt_unit_verilog_n256_p4_every_check() {
    let geo = heaccel_hdl::NttGeometry::new(8, 4).unwrap();
    check_bundle(
        &heaccel_hdl::blocks::ntt_bundle(
            prime(),
            geo,
            2,
            "cargo test -p heaccel-hdl --test cosim -- --ignored",
        ),
        true,
    );
}

#[test]
fn automorph_unit_verilog() {
    let geo = heaccel_hdl::AutomorphGeometry::new(8, 4).unwrap();
    check_bundle(
        &heaccel_hdl::blocks::automorph_bundle(
            prime(),
            geo,
            1,
            "cargo test -p heaccel-hdl --test cosim",
        ),
        true,
    );
}
