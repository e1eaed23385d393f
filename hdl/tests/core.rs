//! The core (rust-hdl simulation) against the reference model: each instruction kind on
//! random data (u128 arithmetic, `NttTable`, `ntt_index_map`), cycle counts equal to
//! `cycles_of` one at a time and to the `program_cycles` schedule overlapped, malformed
//! instructions stop the run with the error bit.

use heaccel_hdl::core::{
    opcode, program_cycles, run_cycles, CoreGeometry, CoreInstr, CoreIssue, CoreSim,
};
use heaccel_verification::arith::ntt_primes;
use heaccel_verification::automorphism::{automorphism_coeff, automorphism_ntt, ntt_index_map};
use heaccel_verification::ntt::NttTable;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn geometry(log_n: u32, lanes: usize) -> CoreGeometry {
    let primes = ntt_primes(30, log_n, 2, &[]).unwrap();
    CoreGeometry::new(log_n, lanes, &primes, 4, 64).unwrap()
}

#[test]
fn every_instruction_kind_is_bit_exact() {
    let geo = geometry(5, 2);
    let n = geo.n();
    let mut rng = ChaCha8Rng::seed_from_u64(0xc0de);
    for (m, prime) in geo.primes().iter().enumerate() {
        let q = prime.value();
        let random =
            |rng: &mut ChaCha8Rng| (0..n).map(|_| rng.gen_range(0..q)).collect::<Vec<u64>>();
        let (a, b, c) = (random(&mut rng), random(&mut rng), random(&mut rng));
        let s = rng.gen_range(0..q);
        let table = NttTable::new(q, geo.log_n()).unwrap();
        let ew = |f: &dyn Fn(usize) -> u128| {
            (0..n)
                .map(|i| (f(i) % q as u128) as u64)
                .collect::<Vec<u64>>()
        };
        let (a1, b1, c1) = (a.clone(), b.clone(), c.clone());
        let mut fwd = a.clone();
        table.forward(&mut fwd);
        let mut inv = a.clone();
        table.inverse(&mut inv);
        let g = 2 * rng.gen_range(0..n as u64) + 1;
        let aut = automorphism_ntt(&a, &ntt_index_map(g, geo.log_n()).unwrap());
        let aut_coeff = automorphism_coeff(
            &a,
            g,
            &heaccel_verification::arith::Modulus::new(q).unwrap(),
        )
        .unwrap();
        let qq = q as u128;
        let cases: Vec<(u32, u64, Vec<u64>)> = vec![
            (opcode::ADD, 0, ew(&|i| a1[i] as u128 + b1[i] as u128)),
            (opcode::SUB, 0, ew(&|i| a1[i] as u128 + qq - b1[i] as u128)),
            (opcode::MUL, 0, ew(&|i| a1[i] as u128 * b1[i] as u128)),
            (opcode::ADD_SCALAR, s, ew(&|i| a1[i] as u128 + s as u128)),
            (opcode::MUL_SCALAR, s, ew(&|i| a1[i] as u128 * s as u128)),
            (
                opcode::MAC,
                0,
                ew(&|i| c1[i] as u128 + a1[i] as u128 * b1[i] as u128),
            ),
            (opcode::COPY, 0, a.clone()),
            (opcode::NTT, 0, fwd),
            (opcode::INTT, 0, inv),
            (opcode::AUTOMORPH, g, aut),
            (
                opcode::AUTOMORPH,
                (heaccel_hdl::automorph::galois_inverse(g as u32) as u64 & (2 * n as u64 - 1))
                    | heaccel_hdl::core::COEFF_FORM as u64,
                aut_coeff,
            ),
        ];
        for ((op, imm, want), issue) in cases
            .into_iter()
            .flat_map(|c| [(c.clone(), CoreIssue::InOrder), (c, CoreIssue::Overlapped)])
        {
            let geo = geo.clone().with_issue(issue);
            let mut sim = CoreSim::new(geo.clone()).unwrap();
            let m = m as u32;
            let load = |dst| CoreInstr::from_parts(&geo, opcode::LOAD, m, dst, 0, 0, 0).unwrap();
            let (dst, a_slot) = match op {
                opcode::NTT | opcode::INTT => (0, 0),
                opcode::MAC => (2, 0),
                _ => (3, 0),
            };
            let prog = vec![
                load(0),
                load(1),
                load(2),
                CoreInstr::from_parts(&geo, op, m, dst, a_slot, 1, imm).unwrap(),
                CoreInstr::from_parts(&geo, opcode::STORE, m, 0, dst, 0, 0).unwrap(),
            ];
            let run = sim.run(&prog, &[a.clone(), b.clone(), c.clone()]).unwrap();
            assert!(!run.error);
            assert_eq!(run.stores.len(), 1);
            assert!(
                run.stores[0] == want,
                "op {op} prime {m}: core differs from the reference"
            );
            let serial = run_cycles(&geo, prog.iter().map(|i| i.op));
            let expect = match issue {
                CoreIssue::InOrder => serial,
                CoreIssue::Overlapped => program_cycles(&geo, &prog),
            };
            assert_eq!(run.cycles, expect, "op {op} {issue:?}: cycles");
            assert_eq!(
                program_cycles(&geo.clone().with_issue(CoreIssue::InOrder), &prog),
                serial
            );
            assert!(expect <= serial);
        }
    }
}

#[test]
fn malformed_instruction_sets_the_error_bit() {
    let geo = geometry(5, 2);
    let mut sim = CoreSim::new(geo.clone()).unwrap();
    let mut bad = CoreInstr::from_parts(&geo, opcode::COPY, 0, 1, 0, 0, 0).unwrap();
    bad.dst = 9; // beyond the 4 slots
    let run = sim.run(&[bad], &[]).unwrap();
    assert!(run.error);
    assert_eq!(run.error_entry, Some(0));
    assert!(CoreInstr::from_parts(&geo, opcode::COPY, 0, 9, 0, 0, 0).is_err());
    assert!(CoreInstr::from_parts(&geo, opcode::AUTOMORPH, 0, 1, 0, 0, 4).is_err());
    assert!(CoreInstr::from_parts(&geo, opcode::COPY, 2, 1, 0, 0, 0).is_err());
}

/// The core's Verilog passes `verilator --lint-only -Wall` with the justified waivers of
/// `LINT_WAIVERS` only (the Verilator co-run against the functional executor is in
/// `corun/tests/core_corun.rs`). Skips with a notice when Verilator is absent.
#[test]
fn verilator_lint_is_clean() {
    use heaccel_hdl::core::core_bundle;
    use heaccel_hdl::verilog::{lint, tool_available, ToolOutcome};
    if !tool_available("verilator") {
        eprintln!("notice: verilator not installed; core lint skipped");
        return;
    }
    for (log_n, lanes) in [(5, 2), (6, 1)] {
        let geo = geometry(log_n, lanes);
        let bundle = core_bundle(
            &geo,
            &[],
            &[],
            &[],
            2,
            "cargo test -p heaccel-hdl --test core",
        )
        .unwrap();
        let dir =
            std::env::temp_dir().join(format!("heaccel-core-lint-{}-{log_n}", std::process::id()));
        let files = bundle.write(&dir).unwrap();
        let outcome = lint(&files);
        assert!(matches!(outcome, ToolOutcome::Pass(_)), "{outcome:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Yosys `synth_xilinx` + `check -assert` + no latches on the core (N = 2^5, P = 2, two
/// primes): about 30 s measured on 2 shared cores.
#[test]
fn yosys_synthesizes_the_core() {
    use heaccel_hdl::core::core_bundle;
    use heaccel_hdl::verilog::{synth, tool_available};
    if !tool_available("yosys") {
        eprintln!("notice: yosys not installed; core synthesis skipped");
        return;
    }
    let geo = geometry(5, 2);
    let bundle = core_bundle(
        &geo,
        &[],
        &[],
        &[],
        2,
        "cargo test -p heaccel-hdl --test core",
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("heaccel-core-yosys-{}", std::process::id()));
    let files = bundle.write(&dir).unwrap();
    let r = synth(&files).unwrap().total().unwrap();
    eprintln!("core resources: {r:?}");
    assert!(r.dsp > 0 && r.lut > 0 && r.ff > 0, "{r:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
