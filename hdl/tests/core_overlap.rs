//! Overlapped issue on the core (rust-hdl simulation and Verilator): random programs of every
//! instruction kind, with the hazards random slot choices give (a slot read while another
//! engine writes it, written while read, named twice), must store exactly what the same core
//! stores one instruction at a time (itself checked against the reference instruction by
//! instruction in `core.rs` and `core_bconv.rs`); the cycles must equal `program_cycles` for
//! both issue policies, and overlap must save cycles. A core whose scoreboard ignores the
//! second source operand (`with_scoreboard_fault`) must be caught.

use heaccel_hdl::automorph::galois_inverse;
use heaccel_hdl::core::{
    bconv_entries, opcode, program_cycles, serial_cycles, CoreConversion, CoreGeometry, CoreInstr,
    CoreIssue, CoreRun, CoreSim, COEFF_FORM,
};
use heaccel_verification::arith::ntt_primes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;

const SLOTS: u32 = 6;

/// N = 2^5, P = 2, three primes (largest first, so every value any instruction leaves in a
/// slot is below prime 0, the one every one-entry instruction uses), six slots, two
/// conversion tables from prime 0 (to prime 1; centered to primes 1 and 2).
fn geometry(issue: CoreIssue) -> CoreGeometry {
    let mut primes = ntt_primes(30, 5, 3, &[]).unwrap();
    primes.sort_unstable_by(|a, b| b.cmp(a));
    CoreGeometry::new(5, 2, &primes, SLOTS as usize, 128)
        .unwrap()
        .with_conversions(vec![
            CoreConversion {
                from: vec![0],
                to: vec![1],
                centered: false,
            },
            CoreConversion {
                from: vec![0],
                to: vec![1, 2],
                centered: true,
            },
        ])
        .unwrap()
        .with_issue(issue)
}

/// A random program of about `len` instructions on `geo` (every slot loaded first, every slot
/// stored last) and its load vectors.
fn random_program(
    geo: &CoreGeometry,
    rng: &mut ChaCha8Rng,
    len: usize,
) -> (Vec<CoreInstr>, Vec<Vec<u64>>) {
    let q = geo.primes()[0].value();
    let n = geo.n();
    let one = |op, dst, a, b, imm| CoreInstr::from_parts(geo, op, 0, dst, a, b, imm).unwrap();
    let mut prog: Vec<CoreInstr> = (0..SLOTS).map(|s| one(opcode::LOAD, s, 0, 0, 0)).collect();
    let slot = |rng: &mut ChaCha8Rng| rng.gen_range(0..SLOTS);
    for _ in 0..len {
        let (d, a, b) = (slot(rng), slot(rng), slot(rng));
        let ins = match rng.gen_range(0..20) {
            0..=2 => vec![one(opcode::LOAD, d, 0, 0, 0)],
            3..=4 => vec![one(opcode::STORE, 0, a, 0, 0)],
            5 => vec![one(opcode::ADD, d, a, b, 0)],
            6 => vec![one(opcode::SUB, d, a, b, 0)],
            7 => vec![one(opcode::MUL, d, a, b, 0)],
            8 => vec![one(opcode::MAC, d, a, b, 0)],
            9 => vec![one(opcode::ADD_SCALAR, d, a, 0, rng.gen_range(0..q))],
            10 => vec![one(opcode::MUL_SCALAR, d, a, 0, rng.gen_range(0..q))],
            11 => vec![one(opcode::COPY, d, a, 0, 0)],
            12 => vec![one(opcode::NTT, a, a, 0, 0)],
            13 => vec![one(opcode::INTT, a, a, 0, 0)],
            14 => vec![one(
                opcode::AUTOMORPH,
                d,
                a,
                0,
                2 * rng.gen_range(0..n as u64) + 1,
            )],
            15 => {
                let g = 2 * rng.gen_range(0..n as u32) + 1;
                let inv = galois_inverse(g) & (2 * n as u32 - 1);
                vec![one(opcode::AUTOMORPH, d, a, 0, (inv | COEFF_FORM) as u64)]
            }
            16 => bconv_entries(geo, 0, &[a], &[d]).unwrap(),
            17 => {
                let e = (d + 1 + rng.gen_range(0..SLOTS - 1)) % SLOTS;
                bconv_entries(geo, 1, &[a], &[d, e]).unwrap()
            }
            // An engine's result read at once by another: the RAW hazard on `b`.
            _ => vec![one(opcode::NTT, b, b, 0, 0), one(opcode::ADD, d, a, b, 0)],
        };
        prog.extend(ins);
    }
    prog.extend((0..SLOTS).map(|s| one(opcode::STORE, 0, s, 0, 0)));
    let loads = prog
        .iter()
        .filter(|i| i.op == opcode::LOAD)
        .map(|_| (0..n).map(|_| rng.gen_range(0..q)).collect())
        .collect();
    (prog, loads)
}

fn run(geo: &CoreGeometry, prog: &[CoreInstr], loads: &[Vec<u64>]) -> CoreRun {
    let run = CoreSim::new(geo.clone()).unwrap().run(prog, loads).unwrap();
    assert!(!run.error, "{:?}: error bit", geo.issue());
    run
}

#[test]
fn overlapped_issue_stores_what_in_order_issue_stores_in_fewer_cycles() {
    let serial_geo = geometry(CoreIssue::InOrder);
    let geo = geometry(CoreIssue::Overlapped);
    let faulty = geo.clone().with_scoreboard_fault();
    let mut rng = ChaCha8Rng::seed_from_u64(0x0c7e);
    let (mut serial_total, mut overlapped_total, mut caught) = (0, 0, 0);
    let programs = 12;
    for k in 0..programs {
        let (prog, loads) = random_program(&geo, &mut rng, 24);
        let reference = run(&serial_geo, &prog, &loads);
        assert_eq!(
            reference.cycles,
            serial_cycles(&serial_geo, &prog),
            "program {k}"
        );
        assert_eq!(
            reference.cycles,
            program_cycles(&serial_geo, &prog),
            "program {k}"
        );
        let overlapped = run(&geo, &prog, &loads);
        assert!(
            overlapped.stores == reference.stores,
            "program {k}: overlapped issue stored other values"
        );
        assert_eq!(
            overlapped.cycles,
            program_cycles(&geo, &prog),
            "program {k}"
        );
        serial_total += reference.cycles;
        overlapped_total += overlapped.cycles;
        if run(&faulty, &prog, &loads).stores != reference.stores {
            caught += 1;
        }
    }
    eprintln!(
        "{programs} random programs: {serial_total} cycles in order, {overlapped_total} \
         overlapped; the broken scoreboard caught on {caught}"
    );
    assert!(overlapped_total < serial_total, "overlap saved nothing");
    assert!(caught > 0, "the broken scoreboard was never caught");
}

/// A load streaming into one slot while the NTT engine transforms another: the two overlap
/// exactly (the schedule's figure), and the NTT's result is read only when written.
#[test]
fn independent_engines_overlap_and_dependent_ones_wait() {
    let geo = geometry(CoreIssue::Overlapped);
    let one = |op, dst, a, b| CoreInstr::from_parts(&geo, op, 0, dst, a, b, 0).unwrap();
    let prog = vec![
        one(opcode::LOAD, 0, 0, 0),
        one(opcode::NTT, 0, 0, 0),
        one(opcode::LOAD, 1, 0, 0),
        one(opcode::MUL, 2, 0, 1),
        one(opcode::STORE, 0, 2, 0),
    ];
    let d = geo.depth();
    // The second load runs under the NTT; the product waits for the NTT (its later input).
    let ntt = heaccel_hdl::core::cycles_of(&geo, opcode::NTT) - 1;
    let load = d;
    let mul = heaccel_hdl::core::cycles_of(&geo, opcode::MUL) - 1;
    let store = d + 1;
    // Dispatch cycles: load 1, ntt at the load's end, load 2 one later, mul at the ntt's end,
    // store at the mul's end; the run ends the cycle after the store's engine is idle.
    let t_ntt = 1 + load + 1;
    let t_mul = t_ntt + ntt + 1;
    let t_store = t_mul + mul + 1;
    let expect = t_store + store + 1 + 1;
    assert_eq!(program_cycles(&geo, &prog), expect);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let q = geo.primes()[0].value();
    let loads: Vec<Vec<u64>> = (0..2)
        .map(|_| (0..geo.n()).map(|_| rng.gen_range(0..q)).collect())
        .collect();
    let serial = run(&geometry(CoreIssue::InOrder), &prog, &loads);
    let overlapped = run(&geo, &prog, &loads);
    assert_eq!(overlapped.cycles, expect);
    assert_eq!(
        serial.cycles - overlapped.cycles,
        d + 1,
        "the second load's cycles saved"
    );
    assert!(overlapped.stores == serial.stores);
}

/// The overlapped core's Verilog under Verilator runs a random program bit-exactly in the
/// rust-hdl model's cycles; the broken scoreboard's Verilog fails on the same expected stores.
/// Skips with a notice when Verilator is absent.
#[test]
fn verilator_runs_an_overlapped_program() {
    use heaccel_hdl::verilog::{run_verilator, tool_available};
    if !tool_available("verilator") {
        eprintln!("notice: verilator not installed; overlapped core co-run skipped");
        return;
    }
    let geo = geometry(CoreIssue::Overlapped);
    let mut rng = ChaCha8Rng::seed_from_u64(0x7e57);
    let (prog, loads) = random_program(&geo, &mut rng, 24);
    let reference = run(&geometry(CoreIssue::InOrder), &prog, &loads);
    let overlapped = run(&geo, &prog, &loads);
    assert!(overlapped.stores == reference.stores);
    let dir = common::out_dir("core_overlap", "verilator");
    let command = "cargo test -p heaccel-hdl --test core_overlap";
    let (_, files, exe) = common::verilator_build(
        &geo,
        &prog,
        &loads,
        &reference.stores,
        overlapped.cycles,
        &dir,
        command,
    );
    common::expect_pass("overlapped core", run_verilator(&exe, &files.vectors, 1));
    let faulty = geo.with_scoreboard_fault();
    let bad = run(&faulty, &prog, &loads);
    assert!(
        bad.stores != reference.stores,
        "pick a seed the fault shows on"
    );
    let (_, files, exe) = common::verilator_build(
        &faulty,
        &prog,
        &loads,
        &reference.stores,
        bad.cycles,
        &dir.join("fault"),
        command,
    );
    common::expect_fail("broken scoreboard", run_verilator(&exe, &files.vectors, 1));
}
