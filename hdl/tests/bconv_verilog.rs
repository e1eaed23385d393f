//! The basis-conversion unit's Verilog: a golden snapshot (insta) of a small unit, then the
//! emitted Verilog against the reference vectors (`BasisConverter::convert`) under Icarus and
//! Verilator, with three negative controls: a corrupted expected word, a missing vector file,
//! and a unit whose constant ROM holds one wrong word (each must fail); `verilator
//! --lint-only -Wall`; Yosys `synth_xilinx` + `check -assert` + no latches, with its
//! resources. Each tool step prints a notice and is skipped when its tool is not installed
//! (as `tests/cosim.rs`). W = 32 every check; W = 36 and 64 Icarus (with every negative
//! control) and lint.
//!
//! Snapshot update after an intended change of the emitted Verilog:
//! `INSTA_UPDATE=always cargo test -p heaccel-hdl --test bconv_verilog`, then review
//! `git diff hdl/tests/snapshots`.

mod common;

use std::path::PathBuf;

use heaccel_hdl::bconv::{bconv_bundle, BconvConstants, BconvUnit};
use heaccel_hdl::verilog::{
    build_verilator, corrupt_vectors, lint, run_icarus, run_verilator, synth, Bundle, BundleFiles,
    ToolOutcome,
};
use heaccel_hdl::{ModMul, Prime};
use heaccel_verification::arith::ntt_primes;

use common::{expect_fail, expect_pass};

const COMMAND: &str = "cargo test -p heaccel-hdl --test bconv_verilog";

fn out_dir(name: &str) -> PathBuf {
    common::out_dir("bconv", name)
}

/// The faulty unit must fail by mismatching outputs (not by a build or run error).
fn expect_mismatch(what: &str, o: ToolOutcome) {
    if let ToolOutcome::Fail(s) = &o {
        assert!(
            s.contains("MISMATCH record"),
            "{what}: failed otherwise:\n{s}"
        );
    }
    expect_fail(what, o);
}

fn constants<const W: usize>(from: &[u64], to: &[u64]) -> BconvConstants {
    let p =
        |qs: &[u64]| -> Vec<Prime> { qs.iter().map(|&q| Prime::for_word(q, W).unwrap()).collect() };
    BconvConstants::new(&p(from), &p(to), W).unwrap()
}

/// The good bundle and the one whose unit has ROM word `(K / 2, L - 1)` off by one (same
/// vectors).
fn bundles<const W: usize>(c: &BconvConstants, random: usize) -> (Bundle, Bundle) {
    let (i, j) = (c.from_primes().len() / 2, c.to_primes().len() - 1);
    let bad = c.with_rom_word(i, j, c.rom(i, j).0 + 1);
    let good = bconv_bundle::<W>(c, c, random, COMMAND).unwrap();
    let faulty = bconv_bundle::<W>(c, &bad, random, COMMAND).unwrap();
    assert_eq!(good.records, faulty.records);
    assert_ne!(good.verilog, faulty.verilog);
    (good, faulty)
}

fn write(b: &Bundle, name: &str) -> BundleFiles {
    let files = b.write(&out_dir(name)).unwrap();
    assert!(std::fs::read_to_string(&files.top)
        .unwrap()
        .contains(COMMAND));
    files
}

/// Icarus on the good unit (pass), a corrupted expected word and a missing file (fail), and
/// the faulty unit on the good vectors (fail); Verilator on the good and faulty units when
/// `verilator`. Returns the good unit's files.
fn cosim<const W: usize>(c: &BconvConstants, random: usize, verilator: bool) -> BundleFiles {
    let (good, faulty) = bundles::<W>(c, random);
    let tag = format!(
        "w{W}-k{}-l{}{}",
        c.from_primes().len(),
        c.to_primes().len(),
        if c.is_centered() { "-centered" } else { "" }
    );
    let files = write(&good, &tag);
    let bad_files = write(&faulty, &format!("{tag}-rom-fault"));
    let n = good.records.len();
    expect_pass(
        &format!("bconv {tag} icarus"),
        run_icarus(&files, &files.vectors, n),
    );
    let corrupted = files.dir.join("corrupted.hex");
    corrupt_vectors(&good, &files.vectors, &corrupted, good.record_words - 1).unwrap();
    expect_fail(
        &format!("bconv {tag} icarus corrupted vector"),
        run_icarus(&files, &corrupted, n),
    );
    expect_fail(
        &format!("bconv {tag} icarus missing vector file"),
        run_icarus(&files, &files.dir.join("missing.hex"), n),
    );
    expect_mismatch(
        &format!("bconv {tag} icarus wrong ROM word"),
        run_icarus(&bad_files, &files.vectors, n),
    );
    if verilator {
        match build_verilator(&files) {
            Ok(exe) => {
                expect_pass(
                    &format!("bconv {tag} verilator"),
                    run_verilator(&exe, &files.vectors, n),
                );
                expect_fail(
                    &format!("bconv {tag} verilator corrupted vector"),
                    run_verilator(&exe, &corrupted, n),
                );
            }
            Err(o) => expect_pass(&format!("bconv {tag} verilator build"), o),
        }
        match build_verilator(&bad_files) {
            Ok(exe) => expect_mismatch(
                &format!("bconv {tag} verilator wrong ROM word"),
                run_verilator(&exe, &files.vectors, n),
            ),
            Err(o) => expect_pass(&format!("bconv {tag} verilator build (ROM fault)"), o),
        }
    }
    expect_pass(&format!("bconv {tag} lint"), lint(&files));
    files
}

/// Pinned primes (`ntt_primes(30, 14, 3, &[])`, `ntt_primes(17, 4, 1, &[])`), so a change of
/// the prime search cannot change the snapshot.
const Q30: [u64; 3] = [1_073_643_521, 1_073_479_681, 1_073_184_769];
const Q17: u64 = 131_041;

#[test]
fn pinned_primes_are_the_ntt_primes() {
    assert_eq!(ntt_primes(30, 14, 3, &[]).unwrap(), Q30);
    assert_eq!(ntt_primes(17, 4, 1, &[]).unwrap()[0], Q17);
}

#[test]
fn golden_verilog_k2_l2() {
    let c = constants::<32>(&Q30[..2], &[Q30[2], Q17]);
    let mut unit = BconvUnit::<32>::new(&c).unwrap();
    rust_hdl::prelude::Block::connect_all(&mut unit);
    insta::assert_snapshot!(
        "bconv_w32_k2_l2",
        rust_hdl::prelude::generate_verilog(&unit)
    );
}

/// Every check at W = 32, K = 3 sources (30, 25 and 17 bits), L = 2 targets; Yosys's figures
/// printed and held to the multipliers: 9 DSPs per Shoup multiplier, one less for a prime
/// `= 1 mod 2^15` (`ModMul` docs), `K + L` multipliers.
#[test]
fn w32_every_check_and_resources() {
    every_check_and_resources(false);
}

/// The same for the exact-centered variant (`BconvConstants::centered`, the key switch's and
/// rescale's conversion): the `K + L` Shoup multipliers plus the correction's `W x 64`-bit
/// product `y_i c_i`.
#[test]
fn w32_centered_every_check_and_resources() {
    every_check_and_resources(true);
}

fn every_check_and_resources(centered: bool) {
    let q30 = ntt_primes(30, 14, 3, &[]).unwrap();
    let q25 = ntt_primes(25, 4, 1, &[]).unwrap()[0];
    let q17 = ntt_primes(17, 4, 1, &[]).unwrap()[0];
    let approximate = constants::<32>(&[q30[0], q25, q17], &[q30[1], q30[2]]);
    let (c, latency, correction) = if centered {
        (
            approximate.centered(),
            BconvUnit::<32>::centered_latency_for(3),
            CORRECTION_DSPS_W32,
        )
    } else {
        (approximate, BconvUnit::<32>::latency_for(3), 0)
    };
    let files = cosim::<32>(&c, 60, true);
    match synth(&files) {
        Ok(stat) => {
            let r = stat.total().unwrap();
            let limbs = ModMul::<32>::LIMBS;
            let shoup: u64 = c
                .from_primes()
                .iter()
                .chain(c.to_primes())
                .map(|p| (ModMul::<32>::PARTIAL_PRODUCTS - limbs.folded_products(p.value())) as u64)
                .sum();
            eprintln!(
                "bconv{} W = 32, K = 3, L = 2 synth_xilinx: LUT {} FF {} DSP {} ({shoup} in the \
                 Shoup multipliers) BRAM36 {} LUTRAM {} (latency {latency})",
                if centered { " centered" } else { "" },
                stat.total_cells_with_prefix("LUT"),
                r.ff,
                r.dsp,
                r.bram36(),
                r.lutram,
            );
            assert_eq!(r.dsp, shoup + correction, "{r:?}");
            assert!(r.lut > 0 && r.ff > 0, "{r:?}");
        }
        Err(o) => expect_pass("bconv yosys", o),
    }
}

#[test]
fn w36_icarus_and_lint() {
    let q34 = ntt_primes(34, 4, 3, &[]).unwrap();
    let q20 = ntt_primes(20, 4, 1, &[]).unwrap()[0];
    let c = constants::<36>(&[q34[0], q20], &[q34[1], q34[2]]);
    cosim::<36>(&c, 30, false);
}

#[test]
fn w64_icarus_and_lint() {
    let q61 = ntt_primes(61, 4, 4, &[]).unwrap();
    let c = constants::<64>(&q61[..2], &q61[2..]);
    cosim::<64>(&c, 30, false);
}

/// One source (`K = 1`: no reduction step, the ROM of one row) and five (three steps) under
/// Icarus with the ROM fault.
#[test]
fn w32_one_and_five_sources_icarus() {
    let q = ntt_primes(30, 4, 7, &[]).unwrap();
    cosim::<32>(&constants::<32>(&q[..1], &q[1..3]), 30, false);
    cosim::<32>(&constants::<32>(&q[..5], &q[5..]), 30, false);
}

/// The figures of `docs/RTL.md` and `docs/RESULTS.md`: Yosys on the unit at W = 32 for
/// `K = L = 4` and `K = 8, L = 4` (30-bit primes = 1 mod 2^15, and the 17-bit ones), printed;
/// the DSPs held to the multipliers' count.
#[test]
#[ignore = "slow (Yosys, about a minute): cargo test -p heaccel-hdl --test bconv_verilog -- --ignored --nocapture"]
fn resources_w32() {
    let q = ntt_primes(30, 14, 12, &[]).unwrap();
    for (k, l) in [(4, 4), (8, 4)] {
        let c = constants::<32>(&q[..k], &q[k..k + l]);
        let b = bconv_bundle::<32>(&c, &c, 0, COMMAND).unwrap();
        let files = write(&b, &format!("resources-k{k}-l{l}"));
        match synth(&files) {
            Ok(stat) => {
                let r = stat.total().unwrap();
                eprintln!(
                    "bconv W = 32, K = {k}, L = {l}: LUT {} FF {} DSP {} BRAM36 {} LUTRAM {} \
                     (latency {})",
                    stat.total_cells_with_prefix("LUT"),
                    r.ff,
                    r.dsp,
                    r.bram36(),
                    r.lutram,
                    BconvUnit::<32>::latency_for(k)
                );
                assert_eq!(r.dsp as usize, 8 * (k + l), "{r:?}");
            }
            Err(o) => expect_pass("bconv yosys", o),
        }
    }
}

/// DSP48E2s of the centered correction's `32 x 64`-bit product at `W = 32`, two by four
/// 17-bit unsigned pieces (Yosys 0.23
/// `synth_xilinx`, measured by `w32_centered_every_check_and_resources`).
const CORRECTION_DSPS_W32: u64 = 8;

/// The centered variant with one source (`u = [x >= q_0 / 2]`, no reduction step) and five,
/// under Icarus; and at `W = 64` (a 128-bit correction sum) under Icarus and lint.
#[test]
fn centered_one_five_sources_and_w64_icarus() {
    let q = ntt_primes(30, 4, 7, &[]).unwrap();
    cosim::<32>(&constants::<32>(&q[..1], &q[1..3]).centered(), 30, false);
    cosim::<32>(&constants::<32>(&q[..5], &q[5..]).centered(), 30, false);
    let q61 = ntt_primes(61, 4, 4, &[]).unwrap();
    cosim::<64>(&constants::<64>(&q61[..2], &q61[2..]).centered(), 30, false);
}
