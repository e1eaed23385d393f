//! The core's `bconv` instruction (rust-hdl simulation) against the reference
//! `BasisConverter` (`convert` and `convert_centered`, called here): three conversion tables
//! on a core of four primes (two sources to one target, centered; one source to two targets,
//! centered, the rescale's and ModRaise's shape; three sources to one, approximate), each on
//! random limbs plus the corners, destination slots overlapping a source slot, with the
//! cycle count equal to `program_cycles`; malformed `bconv` entries stop the run with the
//! error bit and `bconv_entries` refuses bad slot lists.

use heaccel_hdl::core::{
    bconv_entries, opcode, program_cycles, BconvRomFault, CoreConversion, CoreGeometry, CoreInstr,
    CoreSim,
};
use heaccel_verification::arith::{ntt_primes, Modulus};
use heaccel_verification::rns::BasisConverter;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;

/// The command the co-run bundles name.
const COMMAND: &str = "cargo test -p heaccel-hdl --test core_bconv";

fn conversions() -> Vec<CoreConversion> {
    vec![
        CoreConversion {
            from: vec![0, 1],
            to: vec![3],
            centered: true,
        },
        CoreConversion {
            from: vec![2],
            to: vec![0, 1],
            centered: true,
        },
        CoreConversion {
            from: vec![0, 1, 2],
            to: vec![3],
            centered: false,
        },
    ]
}

fn geometry(log_n: u32, lanes: usize) -> CoreGeometry {
    let mut primes = ntt_primes(30, log_n, 3, &[]).unwrap();
    // A narrower fourth prime: targets below some sources.
    primes.extend(ntt_primes(22, log_n, 1, &[]).unwrap());
    CoreGeometry::new(log_n, lanes, &primes, 6, 64)
        .unwrap()
        .with_conversions(conversions())
        .unwrap()
}

/// The reference conversion of `limbs` (one per source) by table `c`.
fn reference(geo: &CoreGeometry, c: &CoreConversion, limbs: &[Vec<u64>]) -> Vec<Vec<u64>> {
    let m = |idx: &[u32]| -> Vec<Modulus> {
        idx.iter()
            .map(|&i| Modulus::new(geo.primes()[i as usize].value()).unwrap())
            .collect()
    };
    let conv = BasisConverter::new(&m(&c.from), &m(&c.to)).unwrap();
    let inputs: Vec<&[u64]> = limbs.iter().map(|l| l.as_slice()).collect();
    let mut out = vec![vec![0u64; geo.n()]; c.to.len()];
    let mut outs: Vec<&mut [u64]> = out.iter_mut().map(|l| l.as_mut_slice()).collect();
    if c.centered {
        conv.convert_centered(&inputs, &mut outs);
    } else {
        conv.convert(&inputs, &mut outs);
    }
    out
}

#[test]
fn bconv_matches_the_reference_on_every_table() {
    for (log_n, lanes) in [(5, 2), (6, 1)] {
        let geo = geometry(log_n, lanes);
        let n = geo.n();
        let mut rng = ChaCha8Rng::seed_from_u64(0xbc + log_n as u64);
        for (t, c) in geo.conversions().to_vec().iter().enumerate() {
            let limbs: Vec<Vec<u64>> = c
                .from
                .iter()
                .map(|&m| {
                    let q = geo.primes()[m as usize].value();
                    // Corners first (0, 1, q - 1, the centering threshold), then random.
                    let mut v = vec![0, 1, q - 1, q / 2, q / 2 + 1];
                    v.extend((v.len()..n).map(|_| rng.gen_range(0..q)));
                    v
                })
                .collect();
            let want = reference(&geo, c, &limbs);
            let k = c.from.len() as u32;
            let src: Vec<u32> = (0..k).collect();
            // The first destination overwrites a source slot, the others are fresh.
            let dst: Vec<u32> = (0..c.to.len() as u32)
                .map(|p| if p == 0 { 0 } else { k + p })
                .collect();
            let mut prog: Vec<CoreInstr> = (0..k)
                .map(|s| CoreInstr::from_parts(&geo, opcode::LOAD, 0, s, 0, 0, 0).unwrap())
                .collect();
            prog.extend(bconv_entries(&geo, t as u32, &src, &dst).unwrap());
            for &s in &dst {
                prog.push(CoreInstr::from_parts(&geo, opcode::STORE, 0, 0, s, 0, 0).unwrap());
            }
            let mut sim = CoreSim::new(geo.clone()).unwrap();
            let run = sim.run(&prog, &limbs).unwrap();
            assert!(!run.error, "table {t}");
            assert_eq!(run.stores.len(), want.len());
            for (p, (got, w)) in run.stores.iter().zip(&want).enumerate() {
                assert!(
                    got == w,
                    "N = 2^{log_n}, table {t} target {p}: core differs from the reference"
                );
            }
            assert_eq!(run.cycles, program_cycles(&geo, &prog), "table {t}: cycles");
        }
    }
}

#[test]
fn malformed_bconv_sets_the_error_bit() {
    let geo = geometry(5, 2);
    let entries = bconv_entries(&geo, 0, &[0, 1], &[2]).unwrap();
    assert_eq!(entries.len(), 2);
    // A table the core does not hold.
    let mut bad_table = entries.clone();
    bad_table[0].modulus = 3;
    // An extension entry with a slot beyond the six.
    let mut bad_slot = entries.clone();
    bad_slot[1].a = 6;
    // The head without its extension entry (the next entry is not EXT).
    let store = CoreInstr::from_parts(&geo, opcode::STORE, 0, 0, 2, 0, 0).unwrap();
    let missing = vec![entries[0], store];
    // An extension entry fetched as an instruction.
    let lone = vec![entries[1]];
    // The PC names the entry the core stopped at: the head, or the bad extension entry.
    for (name, prog, entry) in [
        ("table", bad_table, 0),
        ("slot", bad_slot, 1),
        ("missing", missing, 1),
        ("lone", lone, 0),
    ] {
        let mut sim = CoreSim::new(geo.clone()).unwrap();
        let run = sim.run(&prog, &[]).unwrap();
        assert!(run.error, "{name}: the core ran a malformed bconv");
        assert_eq!(run.error_entry, Some(entry), "{name}");
    }
    let err = |r: Result<Vec<CoreInstr>, heaccel_hdl::HdlError>| r.unwrap_err().to_string();
    assert!(err(bconv_entries(&geo, 3, &[0, 1], &[2])).contains("3 conversions"));
    assert!(err(bconv_entries(&geo, 0, &[0], &[2])).contains("takes 2 source"));
    assert!(err(bconv_entries(&geo, 0, &[0, 9], &[2])).contains("6 slots"));
    assert!(err(bconv_entries(&geo, 1, &[0], &[3, 3])).contains("appears twice"));
    // Geometry validation: an index beyond the primes, a repeated target.
    let base = CoreGeometry::new(
        5,
        2,
        geo.primes()
            .iter()
            .map(|p| p.value())
            .collect::<Vec<_>>()
            .as_slice(),
        6,
        64,
    )
    .unwrap();
    let conv = |from: Vec<u32>, to: Vec<u32>| CoreConversion {
        from,
        to,
        centered: true,
    };
    assert!(base
        .clone()
        .with_conversions(vec![conv(vec![0], vec![4])])
        .is_err());
    assert!(base
        .clone()
        .with_conversions(vec![conv(vec![0], vec![1, 1])])
        .is_err());
    assert!(base
        .with_conversions(vec![conv(vec![0], vec![1]); 17])
        .is_err());
}

/// One program using every table (loads, `bconv`, stores per table) and its expected stores.
fn all_tables_program(
    geo: &CoreGeometry,
    seed: u64,
) -> (Vec<CoreInstr>, Vec<Vec<u64>>, Vec<Vec<u64>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut prog, mut loads, mut stores) = (Vec::new(), Vec::new(), Vec::new());
    for (t, c) in geo.conversions().iter().enumerate() {
        let limbs: Vec<Vec<u64>> = c
            .from
            .iter()
            .map(|&m| {
                let q = geo.primes()[m as usize].value();
                (0..geo.n()).map(|_| rng.gen_range(0..q)).collect()
            })
            .collect();
        stores.extend(reference(geo, c, &limbs));
        let k = c.from.len() as u32;
        for s in 0..k {
            prog.push(CoreInstr::from_parts(geo, opcode::LOAD, 0, s, 0, 0, 0).unwrap());
        }
        loads.extend(limbs);
        let dst: Vec<u32> = (0..c.to.len() as u32).map(|p| 5 - p).collect();
        prog.extend(bconv_entries(geo, t as u32, &(0..k).collect::<Vec<_>>(), &dst).unwrap());
        for &s in &dst {
            prog.push(CoreInstr::from_parts(geo, opcode::STORE, 0, 0, s, 0, 0).unwrap());
        }
    }
    (prog, loads, stores)
}

/// The core's Verilog with conversion tables: `verilator --lint-only -Wall` (standard waivers
/// only) and a Verilator run of a program using every table, bit-exact with the reference and
/// in the rust-hdl model's cycles; a corrupted expected word fails it. Skips with a notice
/// when Verilator is absent.
#[test]
fn verilator_runs_bconv_bit_exact() {
    use heaccel_hdl::verilog::{corrupt_vectors, lint, run_verilator, tool_available, ToolOutcome};
    if !tool_available("verilator") {
        eprintln!("notice: verilator not installed; core bconv co-run skipped");
        return;
    }
    let geo = geometry(5, 2);
    let (prog, loads, stores) = all_tables_program(&geo, 0x5eed);
    let run = CoreSim::new(geo.clone())
        .unwrap()
        .run(&prog, &loads)
        .unwrap();
    assert!(!run.error);
    assert!(
        run.stores == stores,
        "rust-hdl core differs from the reference"
    );
    let dir = std::env::temp_dir().join(format!("heaccel-core-bconv-{}", std::process::id()));
    let (bundle, files, exe) =
        common::verilator_build(&geo, &prog, &loads, &stores, run.cycles, &dir, COMMAND);
    let outcome = lint(&files);
    assert!(matches!(outcome, ToolOutcome::Pass(_)), "{outcome:?}");
    let outcome = run_verilator(&exe, &files.vectors, 1);
    assert!(matches!(outcome, ToolOutcome::Pass(_)), "{outcome:?}");
    let bad = dir.join("corrupt.hex");
    corrupt_vectors(&bundle, &files.vectors, &bad, bundle.record_words - 1).unwrap();
    let outcome = run_verilator(&exe, &bad, 1);
    assert!(
        outcome.is_fail(),
        "corrupted vectors must fail: {outcome:?}"
    );
    // Negative control: the core built with one wrong word in table 0's ROM, on the same
    // expected stores, must fail (rust-hdl and Verilator).
    let faulty = geo
        .clone()
        .with_rom_fault(BconvRomFault {
            table: 0,
            source: 1,
            target: 0,
        })
        .unwrap();
    let run = CoreSim::new(faulty.clone())
        .unwrap()
        .run(&prog, &loads)
        .unwrap();
    assert!(
        run.stores != stores,
        "the faulty rust-hdl core matched the reference"
    );
    let (_, files, exe) = common::verilator_build(
        &faulty,
        &prog,
        &loads,
        &stores,
        run.cycles,
        &dir.join("rom-fault"),
        COMMAND,
    );
    let outcome = run_verilator(&exe, &files.vectors, 1);
    assert!(outcome.is_fail(), "the faulty core must fail: {outcome:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Yosys `synth_xilinx` + `check -assert` + no latches on the core with its three conversion
/// tables (N = 2^5, P = 2, four primes): the bconv units' DSPs on top of the core's.
#[test]
fn yosys_synthesizes_the_core_with_conversions() {
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
        "cargo test -p heaccel-hdl --test core_bconv",
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("heaccel-core-bconv-yosys-{}", std::process::id()));
    let files = bundle.write(&dir).unwrap();
    let stat = synth(&files).unwrap();
    let r = stat.total().unwrap();
    eprintln!("core with 3 conversion tables: {r:?}");
    // Every table's 2P units are kept: at least 9 DSPs per Shoup multiplier less one per
    // prime = 1 mod 2^15, (K + L) multipliers per unit, plus the centered correction's 8.
    let units: u64 = geo
        .conversions()
        .iter()
        .map(|c| (c.from.len() + c.to.len()) as u64 * 8 + if c.centered { 8 } else { 0 })
        .sum::<u64>()
        * geo.width() as u64;
    assert!(
        r.dsp >= units,
        "{r:?}: fewer DSPs than the bconv units' {units}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
