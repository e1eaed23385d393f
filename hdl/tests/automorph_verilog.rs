//! The automorphism unit's Verilog per routing (`AutomorphRouting`: crossbar, Omega
//! network): both forms (NTT domain against `automorphism_ntt`, coefficient form against
//! `automorphism_coeff` with the flagged words negated mod `q` by the testbench) under Icarus
//! from 1 to 32 lanes, lint, Verilator, the negative control of one switch's control
//! inverted (must fail by mismatching outputs), and the Yosys resources of both routings.
//!
//! The resource table of `docs/RTL.md`:
//! `cargo test -p heaccel-hdl --release --test automorph_verilog -- --ignored --nocapture`.

mod common;

use heaccel_hdl::automorph::{AutomorphGeometry, AutomorphRouting, AutomorphUnit};
use heaccel_hdl::blocks::{automorph_bundle_of, automorph_coeff_bundle_of};
use heaccel_hdl::verilog::{
    build_verilator, lint, run_icarus, run_verilator, synth, Bundle, BundleFiles, ToolOutcome,
};
use heaccel_hdl::yosys::Resources;
use heaccel_hdl::Prime;
use heaccel_verification::arith::ntt_primes;

use common::{expect_fail, expect_pass};

const COMMAND: &str = "cargo test -p heaccel-hdl --test automorph_verilog";

fn prime() -> Prime {
    Prime::new(ntt_primes(30, 14, 1, &[]).unwrap()[0]).unwrap()
}

fn bundle(unit: AutomorphUnit<32>, coeff: bool) -> Bundle {
    if coeff {
        automorph_coeff_bundle_of::<32>(prime(), unit, 1, COMMAND)
    } else {
        automorph_bundle_of::<32>(prime(), unit, 1, COMMAND)
    }
}

fn write(b: &Bundle, name: &str) -> BundleFiles {
    b.write(&common::out_dir("automorph_verilog", name))
        .unwrap()
}

/// The faulty unit must fail by mismatching outputs (not by a build or run error).
fn expect_mismatch(what: &str, o: ToolOutcome) {
    if let ToolOutcome::Fail(s) = &o {
        assert!(s.contains("MISMATCH"), "{what}: failed otherwise:\n{s}");
    }
    expect_fail(what, o);
}

#[test]
fn both_routings_both_forms_under_icarus_and_lint() {
    for (log_n, lanes) in [(3, 1), (4, 2), (5, 4), (6, 8), (7, 16), (7, 32)] {
        let geo = AutomorphGeometry::new(log_n, lanes).unwrap();
        for routing in [AutomorphRouting::Crossbar, AutomorphRouting::Omega] {
            for coeff in [false, true] {
                let b = bundle(AutomorphUnit::with_routing(geo, routing), coeff);
                let what = format!("{} N=2^{log_n} P={lanes} {routing:?}", b.name);
                let files = write(&b, &format!("{}-{log_n}-{lanes}-{routing:?}", b.name));
                expect_pass(
                    &format!("{what} icarus"),
                    run_icarus(&files, &files.vectors, b.records.len()),
                );
                if coeff {
                    expect_pass(&format!("{what} lint"), lint(&files));
                }
            }
        }
    }
}

/// Verilator on the Omega-routed unit (both forms), and the negative control: the unit with
/// one switch's control inverted, run on the good vectors, fails by `MISMATCH` under Icarus
/// (each stage, both forms) and Verilator (coefficient form).
#[test]
fn omega_unit_under_verilator_and_an_inverted_switch_fails() {
    let geo = AutomorphGeometry::new(6, 8).unwrap();
    for coeff in [false, true] {
        let b = bundle(
            AutomorphUnit::with_routing(geo, AutomorphRouting::Omega),
            coeff,
        );
        let files = write(&b, &format!("{}-verilator", b.name));
        match build_verilator(&files) {
            Ok(exe) => expect_pass(
                &format!("{} verilator", b.name),
                run_verilator(&exe, &files.vectors, b.records.len()),
            ),
            Err(o) => expect_pass(&format!("{} verilator build", b.name), o),
        }
        for stage in 0..3 {
            let unit = AutomorphUnit::with_routing(geo, AutomorphRouting::Omega)
                .with_inverted_switch(stage, 2);
            let bad = bundle(unit, coeff);
            let what = format!("{} switch {stage}.2 inverted", bad.name);
            let files = write(&bad, &format!("{}-inverted-{stage}", bad.name));
            expect_mismatch(
                &format!("{what} icarus"),
                run_icarus(&files, &files.vectors, bad.records.len()),
            );
            if coeff && stage == 1 {
                match build_verilator(&files) {
                    Ok(exe) => expect_mismatch(
                        &format!("{what} verilator"),
                        run_verilator(&exe, &files.vectors, bad.records.len()),
                    ),
                    Err(o) => expect_pass(&format!("{what} verilator build"), o),
                }
            }
        }
    }
}

/// Yosys `synth_xilinx` resources of the unit with each routing at `N = 2^12` and `lanes`.
fn resources(lanes: usize, routing: AutomorphRouting) -> Option<Resources> {
    let geo = AutomorphGeometry::new(12, lanes).unwrap();
    let b = automorph_bundle_of::<32>(
        prime(),
        AutomorphUnit::with_routing(geo, routing),
        0,
        COMMAND,
    );
    let files = write(&b, &format!("yosys-{lanes}-{routing:?}"));
    match synth(&files) {
        Ok(stat) => {
            let r = stat.total().unwrap();
            eprintln!(
                "| {lanes} | {routing:?} | {} | {} | {} | {} | {} |",
                r.lut,
                r.lutram,
                r.ff,
                r.dsp,
                r.bram36()
            );
            Some(r)
        }
        Err(o) => {
            expect_pass(&format!("automorph P={lanes} {routing:?} yosys"), o);
            None
        }
    }
}

/// The routing `AutomorphUnit::new` picks is not larger in logic LUTs than the other, at the
/// lane counts given.
fn chosen_routing_is_smaller(lanes_list: &[usize]) {
    eprintln!("| P | routing | LUT | LUTRAM | FF | DSP | BRAM36 |");
    for &lanes in lanes_list {
        let crossbar = resources(lanes, AutomorphRouting::Crossbar);
        let omega = resources(lanes, AutomorphRouting::Omega);
        if let (Some(c), Some(o)) = (crossbar, omega) {
            assert_eq!((c.dsp, c.bram36()), (o.dsp, o.bram36()), "P = {lanes}");
            match AutomorphRouting::for_lanes(lanes) {
                AutomorphRouting::Omega => assert!(o.lut < c.lut, "P = {lanes}: {o:?} {c:?}"),
                AutomorphRouting::Crossbar => assert!(c.lut <= o.lut, "P = {lanes}: {c:?} {o:?}"),
            }
        }
    }
}

#[test]
fn chosen_routing_is_smaller_at_one_to_eight_lanes() {
    chosen_routing_is_smaller(&[1, 2, 4, 8]);
}

#[test]
#[ignore = "slow (Yosys on crossbars of 16 and 32 lanes): cargo test -p heaccel-hdl --release --test automorph_verilog -- --ignored --nocapture"]
fn chosen_routing_is_smaller_at_16_and_32_lanes() {
    chosen_routing_is_smaller(&[16, 32]);
}
