//! Tests of the timing model: costs, the scoreboard, both issue policies, overflow.

use super::costs::Costs;
use super::*;
use crate::isa::{Buffer, BufferRole, Instruction, PolyForm};
use heaccel_verification::arith::ntt_primes;

fn program(log_n: u32, slots: u32, instructions: Vec<Instruction>, limbs: u32) -> Program {
    let mut p = Program::new(log_n, ntt_primes(30, log_n, 2, &[]).unwrap(), slots);
    p.buffers = vec![Buffer {
        name: "x".into(),
        limbs,
        role: BufferRole::Input,
    }];
    p.instructions = instructions;
    p
}

#[test]
fn lone_ntt_takes_butterflies_over_throughput_plus_fill() {
    let config = HwConfig::preset("fpga-u280").unwrap();
    for log_n in [10u32, 12, 14, 16] {
        let n = 1u64 << log_n;
        // The slot is written by nothing: its value is ready at cycle 0.
        let p = program(
            log_n,
            1,
            vec![Instruction::Ntt {
                slot: 0,
                modulus: 0,
            }],
            1,
        );
        let r = simulate(&p, &config).unwrap();
        let bound = (n / 2 * log_n as u64).div_ceil(config.ntt.butterflies_per_unit as u64);
        assert_eq!(
            r.cycles,
            bound + config.ntt.pipeline_latency as u64,
            "log_n {log_n}"
        );
        assert_eq!(r.bound, Unit::Ntt);
    }
}

#[test]
fn memory_stream_takes_bytes_over_bandwidth() {
    for name in ["fpga-u280", "asic"] {
        let config = HwConfig::preset(name).unwrap();
        let log_n = 16;
        let limbs = 40u32;
        let loads = (0..limbs)
            .map(|l| Instruction::Load {
                dst: l % 4,
                buffer: 0,
                limb: l,
            })
            .collect();
        let p = program(log_n, 4, loads, limbs);
        let r = simulate(&p, &config).unwrap();
        let bytes = limbs as u64 * (1 << log_n) * config.word_bytes();
        assert_eq!(r.offchip_bytes, bytes);
        let bound_us = bytes as f64 / (config.memory.bandwidth_gb_s * 1e3);
        assert!(
            r.time_us >= bound_us,
            "{name}: {} us below the bandwidth bound {bound_us} us",
            r.time_us
        );
        // within one load's rounding and the access latency of the bound
        let slack_us = limbs as f64 / config.clock_mhz
            + config.memory.latency_ns / 1e3
            + 1.0 / config.clock_mhz;
        assert!(
            r.time_us <= bound_us + slack_us,
            "{name}: {} us vs bound {bound_us} us",
            r.time_us
        );
        assert_eq!(r.bound, Unit::Memory);
        assert!(r.busy(Unit::Memory) > 0.95);
    }
}

#[test]
fn dependencies_serialize_and_independent_units_overlap() {
    use Instruction::*;
    let config = HwConfig::preset("fpga-u280").unwrap();
    let log_n = 12;
    let ntt = Costs::new(&config, log_n).ntt + config.ntt.pipeline_latency as u64;
    let aut = Costs::new(&config, log_n).automorph + config.automorph.pipeline_latency as u64;
    // dependent: NTT then automorphism of its result
    let dep = program(
        log_n,
        2,
        vec![
            Ntt {
                slot: 0,
                modulus: 0,
            },
            Automorph {
                dst: 1,
                src: 0,
                galois: 5,
                form: PolyForm::Ntt,
                modulus: 0,
            },
        ],
        1,
    );
    assert_eq!(simulate(&dep, &config).unwrap().cycles, ntt + aut);
    // independent: they overlap
    let ind = program(
        log_n,
        2,
        vec![
            Ntt {
                slot: 0,
                modulus: 0,
            },
            Automorph {
                dst: 1,
                src: 1,
                galois: 5,
                form: PolyForm::Ntt,
                modulus: 0,
            },
        ],
        1,
    );
    assert_eq!(simulate(&ind, &config).unwrap().cycles, ntt.max(aut));
    // two NTT units run two independent NTTs at once; a third waits
    let three = program(
        log_n,
        3,
        (0..3)
            .map(|s| Ntt {
                slot: s,
                modulus: 0,
            })
            .collect(),
        1,
    );
    let base = Costs::new(&config, log_n).ntt;
    assert_eq!(
        simulate(&three, &config).unwrap().cycles,
        2 * base + config.ntt.pipeline_latency as u64
    );
    // write-after-read: overwriting a slot waits for its reader to finish
    let war = program(
        log_n,
        2,
        vec![
            Automorph {
                dst: 1,
                src: 0,
                galois: 5,
                form: PolyForm::Ntt,
                modulus: 0,
            },
            Ntt {
                slot: 0,
                modulus: 0,
            },
        ],
        1,
    );
    let r = simulate(&war, &config).unwrap();
    assert_eq!(r.cycles, Costs::new(&config, log_n).automorph + ntt);
}

/// In-order blocking issue: the cycles of a mixed program (loads, NTTs on two units,
/// element-wise, automorphism, store; dependent and independent instructions) are the
/// sum of each instruction simulated alone, and the overlapped policy is never slower.
#[test]
fn blocking_issue_sums_isolated_instruction_times() {
    use crate::config::IssuePolicy;
    use Instruction::*;
    for name in ["fpga-u280", "asic"] {
        let overlapped = HwConfig::preset(name).unwrap();
        let mut blocking = overlapped.clone().into_literal();
        blocking.issue.policy = IssuePolicy::InOrderBlocking;
        let blocking = HwConfig::new(blocking, name).unwrap();
        let log_n = 12;
        let instructions = vec![
            Load {
                dst: 0,
                buffer: 0,
                limb: 0,
            },
            Load {
                dst: 1,
                buffer: 0,
                limb: 1,
            },
            Ntt {
                slot: 0,
                modulus: 0,
            },
            Ntt {
                slot: 1,
                modulus: 1,
            },
            Mul {
                dst: 2,
                a: 0,
                b: 1,
                modulus: 0,
            },
            Automorph {
                dst: 3,
                src: 1,
                galois: 5,
                form: PolyForm::Ntt,
                modulus: 1,
            },
            AddScalar {
                dst: 1,
                a: 0,
                scalar: 7,
                modulus: 0,
            },
            Intt {
                slot: 2,
                modulus: 0,
            },
            Store {
                src: 2,
                buffer: 0,
                limb: 0,
            },
        ];
        let p = program(log_n, 4, instructions.clone(), 2);
        // Each instruction alone: occupancy + latency, from the same model.
        let alone: Vec<u64> = instructions
            .iter()
            .map(|ins| {
                simulate(&program(log_n, 4, vec![ins.clone()], 2), &overlapped)
                    .unwrap()
                    .cycles
            })
            .collect();
        // Against hand-written costs, so the sum below is not the model checking itself.
        let c = Costs::new(&overlapped, log_n);
        let hand = [
            c.memory + c.memory_latency,
            c.memory + c.memory_latency,
            c.ntt + c.latency[0],
            c.ntt + c.latency[0],
            c.elementwise + c.latency[1],
            c.automorph + c.latency[2],
            c.elementwise + c.latency[1],
            c.ntt + c.latency[0],
            c.memory,
        ];
        assert_eq!(alone, hand, "{name}");
        let sum: u64 = hand.iter().sum();
        let b = simulate(&p, &blocking).unwrap();
        let o = simulate(&p, &overlapped).unwrap();
        assert_eq!(b.cycles, sum, "{name}: blocking");
        assert!(o.cycles < b.cycles, "{name}: {} vs {}", o.cycles, b.cycles);
        // Busy cycles are the same work either way.
        for (ub, uo) in b.units.iter().zip(&o.units) {
            assert_eq!(ub.busy_cycles, uo.busy_cycles);
            assert_eq!(ub.instructions, uo.instructions);
        }
        // A fully dependent chain has nothing to overlap: both policies agree.
        let chain = program(
            log_n,
            2,
            vec![
                Load {
                    dst: 0,
                    buffer: 0,
                    limb: 0,
                },
                Ntt {
                    slot: 0,
                    modulus: 0,
                },
                Automorph {
                    dst: 1,
                    src: 0,
                    galois: 5,
                    form: PolyForm::Ntt,
                    modulus: 0,
                },
                Store {
                    src: 1,
                    buffer: 0,
                    limb: 0,
                },
            ],
            1,
        );
        assert_eq!(
            simulate(&chain, &blocking).unwrap().cycles,
            simulate(&chain, &overlapped).unwrap().cycles,
            "{name}: chain"
        );
    }
}

/// Issue 22: cycle and byte totals are checked; one that does not fit 64 bits is an
/// error naming the instruction, never a wrapped (small) number. No configuration within
/// the documented ranges gets there, so the costs are set by hand.
#[test]
fn totals_that_overflow_are_errors_not_wrapped_numbers() {
    use Instruction::*;
    let config = HwConfig::preset("asic").unwrap();
    let loads = |k: u32| {
        (0..k)
            .map(|l| Load {
                dst: l % 2,
                buffer: 0,
                limb: 0,
            })
            .collect::<Vec<_>>()
    };
    let mut costs = Costs::new(&config, 10);
    costs.memory = 1 << 63;
    // One such load fits; its cycles are exactly occupancy + latency.
    let r = schedule(&program(10, 2, loads(1), 1), &config, &costs).unwrap();
    assert_eq!(r.cycles, (1 << 63) + costs.memory_latency);
    // The second one, queued behind it on the one channel, does not.
    let e = schedule(&program(10, 2, loads(2), 1), &config, &costs).unwrap_err();
    assert!(
        matches!(e, crate::SimError::Overflow { instruction: 1, .. }),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("instructions[1]") && text.contains("asic"),
        "{text}"
    );
    // Latency alone past the end of the range.
    costs.memory = 1;
    costs.memory_latency = u64::MAX;
    let e = schedule(&program(10, 2, loads(1), 1), &config, &costs).unwrap_err();
    assert!(
        matches!(e, crate::SimError::Overflow { instruction: 0, .. }),
        "{e:?}"
    );
}

/// The critical path's cycles are the program's, and its shares are the units and
/// latencies of a chain found by hand; off-chip bytes split by the buffers' roles.
#[test]
fn critical_path_and_traffic_classes() {
    use Instruction::*;
    let config = HwConfig::preset("fpga-u280").unwrap();
    let log_n = 12;
    let c = Costs::new(&config, log_n);
    let mut p = program(
        log_n,
        3,
        vec![
            Load {
                dst: 0,
                buffer: 0,
                limb: 0,
            },
            Load {
                dst: 1,
                buffer: 1,
                limb: 0,
            },
            Ntt {
                slot: 0,
                modulus: 0,
            },
            Mul {
                dst: 2,
                a: 0,
                b: 1,
                modulus: 0,
            },
            Free { buffer: 1 },
            Store {
                src: 2,
                buffer: 2,
                limb: 0,
            },
            Store {
                src: 2,
                buffer: 3,
                limb: 0,
            },
        ],
        1,
    );
    for (name, role) in [
        ("k", BufferRole::Key),
        ("out", BufferRole::Output),
        ("spill", BufferRole::Temp),
    ] {
        p.buffers.push(Buffer {
            name: name.into(),
            limbs: 1,
            role,
        });
    }
    let r = simulate(&p, &config).unwrap();
    // load x -> NTT -> mul -> the second store (queued behind the first on the channel).
    let hand = c.memory
        + c.memory_latency
        + c.ntt
        + c.latency[0]
        + c.elementwise
        + c.latency[1]
        + 2 * c.memory;
    assert_eq!(r.cycles, hand);
    let cp = &r.critical_path;
    assert_eq!(cp.cycles, r.cycles);
    assert_eq!(cp.by_unit["ntt"], c.ntt);
    assert_eq!(cp.by_unit["modmul"], c.elementwise);
    assert_eq!(cp.by_unit["memory"], 3 * c.memory);
    assert_eq!(
        cp.latency_cycles,
        c.memory_latency + c.latency[0] + c.latency[1]
    );
    assert_eq!(cp.instructions, 5);
    let v = 4096 * config.word_bytes();
    assert_eq!(r.offchip_by_class["ciphertext"], v);
    assert_eq!(r.offchip_by_class["key"], v);
    assert_eq!(r.offchip_by_class["output"], v);
    assert_eq!(r.offchip_by_class["spill"], v);
    assert_eq!(r.offchip_by_class["plaintext"], 0);
    assert_eq!(r.offchip_bytes, 4 * v);
    assert_eq!(r.instructions, 7);
    // A streamed run pushes the same instructions to the same report.
    let roles = p.buffers.iter().map(|b| b.role).collect();
    let mut s = Scheduler::new(&config, log_n, &p.moduli, p.slots, roles).unwrap();
    for ins in &p.instructions {
        s.push(ins).unwrap();
    }
    assert_eq!(s.finish(), r);
    // An out-of-range slot or buffer in a stream is an error naming the instruction.
    let roles = p.buffers.iter().map(|b| b.role).collect();
    let mut s = Scheduler::new(&config, log_n, &p.moduli, p.slots, roles).unwrap();
    let e = s.push(&Copy { dst: 3, src: 0 }).unwrap_err().to_string();
    assert!(e.contains("instructions[0]") && e.contains("slot 3"), "{e}");
    let e = s.push(&Free { buffer: 4 }).unwrap_err().to_string();
    assert!(
        e.contains("instructions[1].buffer") && e.contains("buffer 4"),
        "{e}"
    );
}

#[test]
fn over_full_programs_and_narrow_words_are_errors() {
    let config = HwConfig::preset("fpga-u280").unwrap();
    let p = program(16, 100_000, vec![], 1);
    let e = simulate(&p, &config).unwrap_err().to_string();
    assert!(e.contains("slots") && e.contains("scratchpad"), "{e}");
    let mut p = program(12, 1, vec![], 1);
    p.moduli = ntt_primes(40, 12, 1, &[]).unwrap();
    let e = simulate(&p, &config).unwrap_err().to_string();
    assert!(e.contains("moduli[0]") && e.contains("32-bit"), "{e}");
}

/// Runs the scoreboard over `program` with per-instruction `costs` (tests set costs by hand).
fn schedule(program: &Program, config: &HwConfig, costs: &Costs) -> Result<TimingReport> {
    let roles = program.buffers.iter().map(|b| b.role).collect();
    let mut scheduler = Scheduler::with_costs(config, costs.clone(), program.slots, roles);
    for ins in &program.instructions {
        scheduler.push(ins)?;
    }
    Ok(scheduler.finish())
}

/// The scoreboard policy against a hand-computed schedule: in-order issue one a cycle, unit
/// instances and slots held until the result, so two readers of one slot do not overlap
/// (they do under the overlapped policy) while instructions on disjoint slots do.
#[test]
fn scoreboard_issue_holds_slots_and_units_until_the_result() {
    use crate::config::IssuePolicy;
    use Instruction::*;
    let overlapped = HwConfig::preset("fpga-u280").unwrap();
    let mut literal = overlapped.clone().into_literal();
    literal.issue.policy = IssuePolicy::Scoreboard;
    let scoreboard = HwConfig::new(literal, "fpga-u280").unwrap();
    let log_n = 12;
    let c = Costs::new(&scoreboard, log_n);
    let load = |dst, limb| Load {
        dst,
        buffer: 0,
        limb,
    };
    let instructions = vec![
        load(0, 0),
        load(1, 1),
        Ntt {
            slot: 0,
            modulus: 0,
        },
        Mul {
            dst: 2,
            a: 0,
            b: 1,
            modulus: 0,
        },
        Store {
            src: 2,
            buffer: 0,
            limb: 0,
        },
    ];
    let mem = c.memory + c.memory_latency;
    let load1 = mem; // the memory channel is held until the first load's result
    let ntt = (load1 + 1).max(mem); // after load 1's issue and slot 0's release
    let mul = (ntt + c.ntt + c.latency[0]).max(load1 + mem);
    let store = mul + c.elementwise + c.latency[1];
    let want = store + c.memory;
    let p = program(log_n, 3, instructions, 2);
    assert_eq!(simulate(&p, &scoreboard).unwrap().cycles, want);
    // Two readers of slot 0 (an automorphism and a copy) after its load: in turn on the
    // scoreboard, at once overlapped.
    let readers = program(
        log_n,
        3,
        vec![
            load(0, 0),
            Automorph {
                dst: 1,
                src: 0,
                galois: 5,
                form: PolyForm::Ntt,
                modulus: 0,
            },
            Copy { dst: 2, src: 0 },
        ],
        1,
    );
    let aut = c.automorph + c.latency[2];
    let copy = c.elementwise + c.latency[1];
    assert_eq!(
        simulate(&readers, &scoreboard).unwrap().cycles,
        mem + aut + copy
    );
    assert_eq!(
        simulate(&readers, &overlapped).unwrap().cycles,
        mem + aut.max(copy)
    );
}
