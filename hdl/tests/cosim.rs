//! The emitted Verilog against the same reference vectors under Icarus Verilog and
//! Verilator, with a corrupted-vector negative control, `verilator --lint-only -Wall` and
//! Yosys `synth_xilinx` + `check -assert`. Each step prints a notice and is skipped when its
//! tool is not installed (`scripts/test.sh` installs them, so CI runs them). Every block at
//! the default word W = 32 and at W = 36 (units at small sizes); at W = 64 the multiplier under
//! Icarus and lint, every check of every block with `-- --ignored`. Also the vector-file reader
//! of the negative control ([`corrupt_vectors`]) on a malformed file.

mod common;

use std::path::PathBuf;

use heaccel_hdl::blocks::{butterfly_bundle, modmul_bundle};
use heaccel_hdl::verilog::{
    build_verilator, corrupt_vectors, lint, run_icarus, run_verilator, synth, Bench, Bundle,
};
use heaccel_hdl::Prime;
use heaccel_verification::arith::ntt_primes;

use common::{expect_fail, expect_pass};

fn out_dir(name: &str) -> PathBuf {
    common::out_dir("cosim", name)
}

/// Every check of the bundle; `verilator` adds the (slow to build) Verilator co-simulation.
fn check_bundle(b: &Bundle, verilator: bool) {
    let dir = out_dir(&format!("{}-w{}", b.name, b.word));
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
    match synth(&files).map(|stat| stat.total().unwrap()) {
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

/// The largest NTT prime (N = 2^14) of word `W`: `min(W - 2, 61)` bits.
fn prime_w<const W: usize>() -> Prime {
    let bits = (W as u32 - 2).min(61);
    Prime::for_word(ntt_primes(bits, 14, 1, &[]).unwrap()[0], W).unwrap()
}

/// Every check of the multiplier at word `W`, then its DSP count for two primes: the
/// partial products, less those Yosys folds into shifts because their constant factor (a
/// limb of q or a sum of two) is a power of two, as the low limb 1 when q = 1 mod 2^k.
fn modmul_verilog_at<const W: usize>(random: usize, second: u64) {
    let cmd = "cargo test -p heaccel-hdl --test cosim";
    let b = modmul_bundle::<W>(prime_w::<W>(), 8, random, cmd);
    check_bundle(&b, true);
    let k = heaccel_hdl::ModMul::<W>::LIMBS.limb_bits;
    for q in [prime_w::<W>().value(), second] {
        let b = modmul_bundle::<W>(Prime::for_word(q, W).unwrap(), 8, 0, cmd);
        let files = b.write(&out_dir(&format!("modmul-dsp-{W}-{q}"))).unwrap();
        if let Ok(r) = synth(&files).map(|stat| stat.total().unwrap()) {
            let limbs = heaccel_hdl::ModMul::<W>::LIMBS;
            let all = heaccel_hdl::ModMul::<W>::PARTIAL_PRODUCTS as u64;
            let folded = limbs.folded_products(q) as u64;
            assert!(folded >= (q & ((1 << k) - 1) == 1) as u64);
            eprintln!("W = {W}, q = {q}: {} DSPs ({folded} powers of two)", r.dsp);
            if W == 32 {
                assert_eq!(r.dsp, all - folded, "W = {W}, q = {q}: {r:?}");
            } else {
                // Wider words: a constant factor 2^t c whose product is only needed below
                // bit W may also become shifts and adds (measured: q_l0 + q_l2 = 5 * 2^9 at
                // W = 36); every product of a variable pair stays a DSP.
                let min = all - limbs.constant_products() as u64;
                assert!(
                    (min..=all - folded).contains(&r.dsp),
                    "W = {W}, q = {q}: {r:?}, want [{min}, {}]",
                    all - folded
                );
            }
        }
    }
}

#[test]
fn modmul_verilog() {
    // Nine 16x16 products; eight when q = 1 mod 2^15 (all NTT primes of N >= 2^14).
    modmul_verilog_at::<32>(300, ntt_primes(30, 10, 2, &[]).unwrap()[1]);
}

#[test]
fn modmul_verilog_w36() {
    // Sixteen 16x16 products, fewer for the limbs of q that are powers of two.
    modmul_verilog_at::<36>(200, ntt_primes(34, 8, 2, &[]).unwrap()[1]);
}

/// The W = 64 multiplier under Icarus (with its negative controls) and lint; every check
/// with its DSP counts (a few minutes: 2,600-LUT syntheses) is the ignored test below.
#[test]
fn modmul_verilog_w64_icarus_and_lint() {
    let b = modmul_bundle::<64>(
        prime_w::<64>(),
        8,
        200,
        "cargo test -p heaccel-hdl --test cosim",
    );
    let dir = out_dir("modmul-w64-icarus");
    let files = b.write(&dir).unwrap();
    let n = b.records.len();
    expect_pass("modmul w64 icarus", run_icarus(&files, &files.vectors, n));
    let bad = dir.join("corrupted.hex");
    corrupt_vectors(&b, &files.vectors, &bad, b.record_words - 1).unwrap();
    expect_fail("modmul w64 icarus corrupted", run_icarus(&files, &bad, n));
    expect_pass("modmul w64 lint", lint(&files));
}

#[test]
#[ignore = "slow (W = 64 syntheses): cargo test -p heaccel-hdl --test cosim -- --ignored"]
fn modmul_verilog_w64() {
    // 37 16x16 products, fewer for the limbs of q that are powers of two.
    modmul_verilog_at::<64>(200, ntt_primes(61, 8, 2, &[]).unwrap()[1]);
}

#[test]
fn ct_butterfly_verilog() {
    check_bundle(
        &butterfly_bundle::<32>(
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
        &butterfly_bundle::<32>(
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
        &heaccel_hdl::blocks::ntt_bundle::<32>(prime(), small, 2, cmd),
        true,
    );
    let geo = heaccel_hdl::NttGeometry::new(8, 4).unwrap();
    let b = heaccel_hdl::blocks::ntt_bundle::<32>(prime(), geo, 2, cmd);
    let dir = out_dir("ntt-8-4");
    let files = b.write(&dir).unwrap();
    let n = b.records.len();
    expect_pass("ntt 2^8 icarus", run_icarus(&files, &files.vectors, n));
    let bad = dir.join("corrupted.hex");
    corrupt_vectors(&b, &files.vectors, &bad, b.record_words - 1).unwrap();
    expect_fail("ntt 2^8 icarus corrupted", run_icarus(&files, &bad, n));
}

/// The NTT unit's routing (XOR networks and stage-selected permutations) under Icarus at the
/// corners of the geometry: one lane (one-stage XOR network), `N = 4P` (a single window),
/// `log_n` a multiple of `p` and not (windows rotating onto the bank bits), up to 16 lanes.
#[test]
fn ntt_unit_verilog_geometries() {
    let cmd = "cargo test -p heaccel-hdl --test cosim";
    for (log_n, lanes) in [(2, 1), (6, 1), (5, 8), (8, 8), (9, 8), (7, 16)] {
        let geo = heaccel_hdl::NttGeometry::new(log_n, lanes).unwrap();
        let b = heaccel_hdl::blocks::ntt_bundle::<32>(prime(), geo, 1, cmd);
        let dir = out_dir(&format!("ntt-geo-{log_n}-{lanes}"));
        let files = b.write(&dir).unwrap();
        let n = b.records.len();
        expect_pass(
            &format!("ntt 2^{log_n} P = {lanes} icarus"),
            run_icarus(&files, &files.vectors, n),
        );
    }
}

#[test]
#[ignore = "slow (Verilator and Yosys builds of four lanes): cargo test -p heaccel-hdl --test cosim -- --ignored"]
fn ntt_unit_verilog_n256_p4_every_check() {
    let geo = heaccel_hdl::NttGeometry::new(8, 4).unwrap();
    check_bundle(
        &heaccel_hdl::blocks::ntt_bundle::<32>(
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
        &heaccel_hdl::blocks::automorph_bundle::<32>(
            prime(),
            geo,
            1,
            "cargo test -p heaccel-hdl --test cosim",
        ),
        true,
    );
}

/// Both butterflies, the NTT unit (N = 2^5, P = 2: every check, Verilator included) and the
/// automorphism unit (N = 2^6, P = 2) at word `W`.
fn units_verilog_at<const W: usize>() {
    let cmd = "cargo test -p heaccel-hdl --test cosim";
    let q = prime_w::<W>();
    for inverse in [false, true] {
        check_bundle(&butterfly_bundle::<W>(q, 6, inverse, 100, cmd), true);
    }
    let geo = heaccel_hdl::NttGeometry::new(5, 2).unwrap();
    check_bundle(&heaccel_hdl::blocks::ntt_bundle::<W>(q, geo, 2, cmd), true);
    let geo = heaccel_hdl::AutomorphGeometry::new(6, 2).unwrap();
    check_bundle(
        &heaccel_hdl::blocks::automorph_bundle::<W>(q, geo, 1, cmd),
        true,
    );
}

#[test]
fn units_verilog_w36() {
    units_verilog_at::<36>();
}

#[test]
#[ignore = "slow (W = 64 Verilator builds and syntheses): cargo test -p heaccel-hdl --test cosim -- --ignored"]
fn units_verilog_w64() {
    units_verilog_at::<64>();
}

/// The negative control's reader refuses a vector file whose target word is not hex (it
/// panicked before), naming the file.
#[test]
fn corrupt_vectors_refuses_a_malformed_word() {
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
    corrupt_vectors(&bundle, &good, &out, 1).unwrap();
    // record 1, word 1 is line 2 + 1 * 2 + 1 = 5 of the words (after the comments)
    let text = bundle.vector_file().replace("00000004\n", "zz\n");
    std::fs::write(&bad, text).unwrap();
    let err = corrupt_vectors(&bundle, &bad, &out, 1).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("bad.hex"), "{err}");
}
