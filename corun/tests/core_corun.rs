//! `heaccel verify core`: ISA programs on the accelerator core (rust-hdl model; one small
//! Verilator co-run) against the functional executor, bit-exactly; every on-chip
//! instruction kind alone and random mixed sequences with dependencies; cycles of the core
//! against `heaccel_sim::simulate` on the derived core configuration; refusals.

use heaccel_corun::{core_hw_config, translate, verify_core_program, CoreIssue};
use heaccel_sim::config::IssuePolicy;
use heaccel_sim::isa::{Buffer, BufferRole, Instruction, PolyForm, Program};
use heaccel_verification::arith::ntt_primes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LOG_N: u32 = 5;
const LANES: usize = 2;

fn base(limbs: u32) -> Program {
    base_n(LOG_N, limbs)
}

fn base_n(log_n: u32, limbs: u32) -> Program {
    let moduli = ntt_primes(30, log_n, 2, &[]).unwrap();
    let mut p = Program::new(log_n, moduli, 4);
    for (name, role) in [
        ("x", BufferRole::Input),
        ("k", BufferRole::Key),
        ("y", BufferRole::Output),
    ] {
        p.buffers.push(Buffer {
            name: name.into(),
            limbs,
            role,
        });
    }
    p
}

fn load(dst: u32, buffer: u32, limb: u32) -> Instruction {
    Instruction::Load { dst, buffer, limb }
}

fn store(src: u32, limb: u32) -> Instruction {
    Instruction::Store {
        src,
        buffer: 2,
        limb,
    }
}

/// One instruction of each kind on slot 3 (or in place), per prime.
fn single(kind: usize, m: u16, scalar: u64) -> Instruction {
    use Instruction::*;
    match kind {
        0 => Add {
            dst: 3,
            a: 0,
            b: 1,
            modulus: m,
        },
        1 => Sub {
            dst: 3,
            a: 0,
            b: 1,
            modulus: m,
        },
        2 => Mul {
            dst: 3,
            a: 0,
            b: 1,
            modulus: m,
        },
        3 => AddScalar {
            dst: 3,
            a: 0,
            scalar,
            modulus: m,
        },
        4 => MulScalar {
            dst: 3,
            a: 0,
            scalar,
            modulus: m,
        },
        5 => Mac {
            acc: 2,
            a: 0,
            b: 1,
            modulus: m,
        },
        6 => Copy { dst: 3, src: 0 },
        7 => Ntt {
            slot: 0,
            modulus: m,
        },
        8 => Intt {
            slot: 0,
            modulus: m,
        },
        _ => Automorph {
            dst: 3,
            src: 0,
            galois: 2 * scalar % 64 + 1,
            form: PolyForm::Ntt,
            modulus: m,
        },
    }
}

#[test]
fn each_instruction_kind_alone_is_bit_exact() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    for kind in 0..10 {
        for m in 0..2u16 {
            let mut p = base(2);
            let q = p.moduli[m as usize];
            let ins = single(kind, m, rng.gen_range(0..q.min(1 << 20)));
            let out = ins.writes()[0];
            p.instructions = vec![
                load(0, 0, 0),
                load(1, 1, 0),
                load(2, 0, 1),
                ins.clone(),
                store(out, m as u32),
            ];
            let r = verify_core_program(
                &p,
                "single",
                LANES,
                kind as u64,
                None,
                CoreIssue::Overlapped,
            )
            .unwrap();
            assert!(
                r.rust_hdl_bit_exact,
                "{ins:?}: core differs from the functional executor"
            );
            assert!(r.pass);
        }
    }
}

/// Dependent chains (each instruction reads what the previous one wrote, so the simulator
/// has nothing to overlap) at N = 2^8, P = 2: the core's cycles and the simulator's on the
/// derived core configuration agree within 10% for every instruction kind.
#[test]
fn cycles_agree_with_the_simulator_on_dependent_chains() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x71e);
    for kind in 0..10 {
        let mut p = base_n(8, 1);
        let q = p.moduli[0];
        let ins = single(kind, 0, rng.gen_range(0..q.min(1 << 20)));
        let reads = ins.reads();
        p.instructions = reads.iter().map(|&s| load(s, s % 2, 0)).collect();
        p.instructions.dedup();
        let out = ins.writes()[0];
        p.instructions.extend([ins.clone(), store(out, 0)]);
        let r =
            verify_core_program(&p, "chain", LANES, kind as u64, None, CoreIssue::InOrder).unwrap();
        assert!(r.rust_hdl_bit_exact, "{ins:?}");
        let derived = &r.simulator[1];
        eprintln!(
            "{:<12} core {:>5} cycles, simulator {:>5} derived ({:+.1}%), {:>5} plain ({:+.1}%)",
            ins.name(),
            r.core_cycles,
            derived.simulator,
            derived.difference_percent,
            r.simulator[0].simulator,
            r.simulator[0].difference_percent
        );
        assert!(
            derived.difference_percent.abs() <= 10.0,
            "{ins:?}: core {} cycles, simulator {} ({:+.1}%)",
            r.core_cycles,
            derived.simulator,
            derived.difference_percent
        );
        assert_derived_blocking_is_exact_but_stores(&r);
    }
}

/// The derived blocking configuration charges every instruction its whole core cost except
/// two cycles of each `store` (the fetch and the row read before the first beat, which the
/// simulator's store has no latency field for) and the 2 cycles a run adds: the identity
/// `core = simulator + 2 stores + 2`, exact.
fn assert_derived_blocking_is_exact_but_stores(r: &heaccel_corun::VerifyCoreReport) {
    let derived = &r.simulator[1];
    assert!(derived.config.ends_with("-derived"), "{}", derived.config);
    assert_eq!(
        r.core_cycles,
        derived.simulator + 2 * r.stores as u64 + 2,
        "{}: core {} cycles, derived blocking simulator {}",
        r.program,
        r.core_cycles,
        derived.simulator
    );
}

/// The issue's program (`examples/core/mul_rotate_n1024.json`: plaintext multiply then
/// rotation by one slot, N = 2^10, two limbs) at P = 4, rust-hdl only (the Verilator co-run
/// of a smaller program is below): bit-exact, and the core's cycles within 10% of the
/// simulator's on the derived configuration with in-order blocking issue, as the core runs.
/// The overlapped policy on the same units is faster (the limbs' chains overlap), the plain
/// configuration slower than the core (no NTT drains and bank copies).
#[test]
fn issue_program_cycles_agree_with_the_blocking_simulator() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/core/mul_rotate_n1024.json"
    );
    let program = Program::from_json(&std::fs::read_to_string(path).unwrap(), path).unwrap();
    assert_eq!((program.log_n, program.moduli.len()), (10, 2));
    let r = verify_core_program(
        &program,
        "mul_rotate_n1024.json",
        4,
        1,
        None,
        CoreIssue::InOrder,
    )
    .unwrap();
    assert!(r.rust_hdl_bit_exact && r.pass);
    assert_eq!(r.stores, 2);
    let (plain, derived, overlapped) = (&r.simulator[0], &r.simulator[1], &r.simulator[3]);
    for c in &r.simulator {
        eprintln!(
            "{:<32} core {} cycles, simulator {} ({:+.1}%)",
            c.config, r.core_cycles, c.simulator, c.difference_percent
        );
    }
    assert!(
        derived.difference_percent.abs() <= 10.0,
        "core {} cycles, derived blocking simulator {} ({:+.1}%)",
        r.core_cycles,
        derived.simulator,
        derived.difference_percent
    );
    assert_derived_blocking_is_exact_but_stores(&r);
    assert!(overlapped.config.ends_with("-derived-overlapped"));
    assert!(overlapped.simulator < derived.simulator);
    assert!(plain.simulator < derived.simulator);
}

/// A random program over 4 slots: load every slot, `len` random instructions (one prime per
/// program), store every slot.
fn random_program(rng: &mut ChaCha8Rng, len: usize) -> Program {
    let mut p = base(4);
    let m = rng.gen_range(0..2u16);
    let q = p.moduli[m as usize];
    p.instructions = (0..4).map(|s| load(s, rng.gen_range(0..2), s)).collect();
    for _ in 0..len {
        let (dst, a, b) = (
            rng.gen_range(0..4),
            rng.gen_range(0..4),
            rng.gen_range(0..4),
        );
        use Instruction::*;
        p.instructions.push(match rng.gen_range(0..10) {
            0 => Add {
                dst,
                a,
                b,
                modulus: m,
            },
            1 => Sub {
                dst,
                a,
                b,
                modulus: m,
            },
            2 => Mul {
                dst,
                a,
                b,
                modulus: m,
            },
            3 => AddScalar {
                dst,
                a,
                scalar: rng.gen_range(0..q),
                modulus: m,
            },
            4 => MulScalar {
                dst,
                a,
                scalar: rng.gen_range(0..q),
                modulus: m,
            },
            5 => Mac {
                acc: dst,
                a,
                b,
                modulus: m,
            },
            6 => Copy { dst, src: a },
            7 => Ntt {
                slot: a,
                modulus: m,
            },
            8 => Intt {
                slot: a,
                modulus: m,
            },
            _ => Automorph {
                dst,
                src: a,
                galois: 2 * rng.gen_range(0..32) + 1,
                // Both forms: coefficient form negates mod the prime as it writes back.
                form: if rng.gen() {
                    PolyForm::Coeff
                } else {
                    PolyForm::Ntt
                },
                modulus: m,
            },
        });
    }
    p.instructions.extend((0..4).map(|s| store(s, s)));
    p
}

#[test]
fn random_mixed_programs_are_bit_exact() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xc0e);
    for k in 0..6 {
        let p = random_program(&mut rng, 12);
        let r = verify_core_program(&p, "random", LANES, k, None, CoreIssue::InOrder).unwrap();
        assert!(r.rust_hdl_bit_exact, "random program {k}:\n{}", p.to_json());
        assert_eq!(r.stores, 4);
        assert_derived_blocking_is_exact_but_stores(&r);
        assert!(r.simulator[3].simulator <= r.simulator[1].simulator);
        // The overlapped core: the same stores, never slower, and within the tolerance of
        // the scoreboard configuration that describes it.
        let o = verify_core_program(&p, "random", LANES, k, None, CoreIssue::Overlapped).unwrap();
        assert!(o.rust_hdl_bit_exact, "random program {k} overlapped");
        assert!(o.core_cycles <= r.core_cycles);
        let matched = &o.simulator[2];
        assert_eq!(matched.config, o.simulator_match);
        assert!(matched.config.ends_with("-derived-scoreboard"));
        assert!(
            matched.difference_percent.abs() <= heaccel_corun::CYCLE_TOLERANCE_PERCENT,
            "random program {k}: core {} cycles, scoreboard simulator {}",
            o.core_cycles,
            matched.simulator
        );
    }
}

#[test]
fn unsupported_instructions_are_refused_by_name() {
    let mut p = base(2);
    // A conversion the core cannot hold: the same target prime twice.
    p.instructions = vec![
        load(0, 0, 0),
        Instruction::Bconv {
            src: vec![0],
            from: vec![0],
            dst: vec![1, 2],
            to: vec![1, 1],
            centered: false,
        },
    ];
    let e = translate(&p, LANES, "prog.json").unwrap_err().to_string();
    assert!(
        e.contains("prog.json") && e.contains("to = 1") && e.contains("twice"),
        "{e}"
    );
    // Coefficient-form automorphisms run on the core (negations mod the prime), bit-exact.
    p.instructions[1] = Instruction::Automorph {
        dst: 1,
        src: 0,
        galois: 5,
        form: PolyForm::Coeff,
        modulus: 1,
    };
    p.instructions.push(store(1, 0));
    let r = verify_core_program(&p, "coeff.json", LANES, 9, None, CoreIssue::Overlapped).unwrap();
    assert!(r.rust_hdl_bit_exact && r.pass, "coefficient-form automorph");
    let mut wide = base(1);
    wide.moduli = ntt_primes(40, LOG_N, 1, &[]).unwrap();
    let e = translate(&wide, LANES, "wide.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("moduli[0]") && e.contains("2^30"), "{e}");
    // A load of a limb stored before streams back what was stored (a spill).
    let mut spill = base(2);
    spill.instructions = vec![load(0, 0, 0), store(0, 0), load(1, 2, 0), store(1, 1)];
    let cp = translate(&spill, LANES, "spill.json").unwrap();
    assert_eq!(cp.loads.len(), 2);
    assert!(!cp.loads[0].1 && cp.loads[1].1);
    let r =
        verify_core_program(&spill, "spill.json", LANES, 5, None, CoreIssue::Overlapped).unwrap();
    assert!(r.rust_hdl_bit_exact && r.pass);
    let e = translate(&base(1), 3, "p.json").unwrap_err().to_string();
    assert!(e.contains("lanes"), "{e}");
}

#[test]
fn derived_config_is_a_valid_simulator_config() {
    let p = base(1);
    let cp = translate(&p, LANES, "p").unwrap();
    for (derived, policy) in [
        (false, IssuePolicy::InOrderBlocking),
        (true, IssuePolicy::InOrderBlocking),
        (true, IssuePolicy::Scoreboard),
        (true, IssuePolicy::Overlapped),
    ] {
        let c = core_hw_config(&cp.geometry, derived, policy).unwrap();
        assert_eq!(c.issue.policy, policy);
        assert_eq!(c.modmul.lanes as usize, 2 * LANES);
        assert_eq!(c.ntt.butterflies_per_unit as usize, LANES);
    }
}

/// One Verilator co-run (a mixed program at N = 2^5, P = 2, two primes, with automorphisms in
/// both forms): the emitted Verilog
/// stores exactly what the functional executor computes, in the rust-hdl model's cycles.
/// Skips with a notice when Verilator is absent.
#[test]
fn verilator_corun_is_bit_exact_with_the_functional_executor() {
    if !heaccel_hdl::verilog::tool_available("verilator") {
        eprintln!("notice: verilator not installed; core co-run skipped");
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x7e5);
    let mut p = random_program(&mut rng, 10);
    // At least one automorphism of each form, after the four loads.
    for (k, form) in [PolyForm::Coeff, PolyForm::Ntt].into_iter().enumerate() {
        p.instructions.insert(
            4 + k,
            Instruction::Automorph {
                dst: 1 + k as u32,
                src: k as u32,
                galois: 2 * 7 + 1,
                form,
                modulus: 1,
            },
        );
    }
    let dir = std::env::temp_dir().join(format!("heaccel-cli-core-corun-{}", std::process::id()));
    let r = verify_core_program(&p, "corun", LANES, 3, Some(&dir), CoreIssue::Overlapped).unwrap();
    assert!(r.rust_hdl_bit_exact);
    assert_eq!(r.verilator, "pass", "{}", r.verilator_detail);
    // Negative control: one expected store word flipped must fail the same executable.
    let bundle_vectors = dir.join("vectors.hex");
    let text = std::fs::read_to_string(&bundle_vectors).unwrap();
    let mut words: Vec<String> = text.lines().map(String::from).collect();
    let last_data = words.len() - 2; // the word before the end marker: the last store word
    let v = u32::from_str_radix(words[last_data].trim(), 16).unwrap();
    words[last_data] = format!("{:08x}", v ^ 1);
    let bad = dir.join("corrupt.hex");
    std::fs::write(&bad, words.join("\n") + "\n").unwrap();
    let outcome = heaccel_hdl::verilog::run_verilator(&dir.join("verilator/Vtb"), &bad, 1);
    assert!(
        outcome.is_fail(),
        "corrupted vectors must fail: {outcome:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
