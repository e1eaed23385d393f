//! The scratchpad allocator against the functional executor: random streams of chunks (loads
//! of inputs, keys, plaintexts and earlier results, arithmetic, stores, frees) allocated onto
//! few slots run to the same buffers as the unallocated stream, word for word; deleting one
//! spill of the allocated stream changes the result (the negative control).

use heaccel_sim::isa::{Buffer, BufferRole, Instruction, PolyForm, Program};
use heaccel_sim::{AllocOptions, AllocStats, Allocator, FunctionalExecutor, Memory, SimError};
use heaccel_verification::arith::ntt_primes;

const LOG_N: u32 = 4;
const LIMBS: u32 = 3;

/// splitmix64: a seeded stream of words (no dependency on a generator crate).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Stream {
    moduli: Vec<u64>,
    buffers: Vec<Buffer>,
    chunks: Vec<(Vec<Instruction>, u32)>,
    freed: Vec<bool>,
}

/// A random stream: 4 inputs, 2 keys, 2 plaintexts, `chunks` operations each reading one or
/// two earlier values (or inputs) and a key or plaintext, writing a new value (and sometimes an
/// output), half of them through a shared temporary buffer freed and reused; values are freed
/// after their last use.
fn stream(seed: u64, chunks: usize) -> Stream {
    let mut rng = Rng(seed);
    let moduli = ntt_primes(20, LOG_N, LIMBS as usize, &[]).unwrap();
    let mut buffers = Vec::new();
    let mut add = |name: String, role| {
        buffers.push(Buffer {
            name,
            limbs: LIMBS,
            role,
        });
        buffers.len() as u32 - 1
    };
    let inputs: Vec<u32> = (0..4)
        .map(|k| add(format!("in{k}"), BufferRole::Input))
        .collect();
    let keys: Vec<u32> = (0..2)
        .map(|k| add(format!("key{k}"), BufferRole::Key))
        .collect();
    let plains: Vec<u32> = (0..2)
        .map(|k| add(format!("pt{k}"), BufferRole::Plaintext))
        .collect();
    // An operation's temporary, reused by every chunk that passes its result through it and
    // freed at the chunk's end (a store makes it live again).
    let tmp = add("tmp".into(), BufferRole::Temp);
    let mut live: Vec<u32> = inputs.clone();
    let mut out = Vec::new();
    for c in 0..chunks {
        let through_tmp = rng.below(2) == 0;
        let a = live[rng.below(live.len())];
        let b = live[rng.below(live.len())];
        let k = if rng.below(2) == 0 {
            keys[rng.below(2)]
        } else {
            plains[rng.below(2)]
        };
        let v = add(format!("v{c}"), BufferRole::Temp);
        let o = (rng.below(4) == 0).then(|| add(format!("out{c}"), BufferRole::Output));
        let mut ins = Vec::new();
        for i in 0..LIMBS {
            let m = i as u16;
            ins.push(Instruction::Load {
                dst: 0,
                buffer: a,
                limb: i,
            });
            ins.push(Instruction::Load {
                dst: 1,
                buffer: b,
                limb: i,
            });
            ins.push(Instruction::Load {
                dst: 2,
                buffer: k,
                limb: i,
            });
            match rng.below(6) {
                0 => ins.push(Instruction::Mul {
                    dst: 3,
                    a: 0,
                    b: 2,
                    modulus: m,
                }),
                1 => {
                    ins.push(Instruction::Ntt {
                        slot: 0,
                        modulus: m,
                    });
                    ins.push(Instruction::Add {
                        dst: 3,
                        a: 0,
                        b: 1,
                        modulus: m,
                    });
                }
                2 => {
                    ins.push(Instruction::Copy { dst: 3, src: 1 });
                    ins.push(Instruction::Mac {
                        acc: 3,
                        a: 0,
                        b: 2,
                        modulus: m,
                    });
                }
                3 => ins.push(Instruction::Automorph {
                    dst: 3,
                    src: 1,
                    galois: 5,
                    form: PolyForm::Ntt,
                    modulus: m,
                }),
                4 => {
                    // Multiply-accumulate in place on a loaded value (copy on write).
                    ins.push(Instruction::Mac {
                        acc: 1,
                        a: 0,
                        b: 2,
                        modulus: m,
                    });
                    ins.push(Instruction::Sub {
                        dst: 3,
                        a: 1,
                        b: 0,
                        modulus: m,
                    });
                }
                _ => {
                    ins.push(Instruction::Intt {
                        slot: 1,
                        modulus: m,
                    });
                    ins.push(Instruction::MulScalar {
                        dst: 3,
                        a: 1,
                        scalar: 3,
                        modulus: m,
                    });
                }
            }
            if through_tmp {
                ins.push(Instruction::Store {
                    src: 3,
                    buffer: tmp,
                    limb: i,
                });
                ins.push(Instruction::Load {
                    dst: 3,
                    buffer: tmp,
                    limb: i,
                });
            }
            ins.push(Instruction::Store {
                src: 3,
                buffer: v,
                limb: i,
            });
            if let Some(o) = o {
                ins.push(Instruction::Store {
                    src: 3,
                    buffer: o,
                    limb: i,
                });
            }
        }
        if through_tmp {
            ins.push(Instruction::Free { buffer: tmp });
        }
        // Sometimes a value is never used again: free it.
        if live.len() > 3 && rng.below(3) == 0 {
            let k = rng.below(live.len());
            let dead = live.swap_remove(k);
            ins.push(Instruction::Free { buffer: dead });
        }
        live.push(v);
        out.push((ins, 4));
    }
    let freed = {
        let mut f = vec![false; buffers.len()];
        for (chunk, _) in &out {
            for ins in chunk {
                if let Instruction::Free { buffer } = ins {
                    f[*buffer as usize] = true;
                }
            }
        }
        f
    };
    Stream {
        moduli,
        buffers,
        chunks: out,
        freed,
    }
}

/// Memory with every input, key and plaintext limb random and reduced.
fn memory(s: &Stream, program: &Program, seed: u64) -> Memory {
    let mut rng = Rng(seed ^ 0x5eed);
    let mut memory = Memory::for_program(program);
    for b in &s.buffers {
        if matches!(
            b.role,
            BufferRole::Input | BufferRole::Key | BufferRole::Plaintext
        ) {
            for l in 0..b.limbs as usize {
                let q = s.moduli[l];
                let limb: Vec<u64> = (0..1 << LOG_N).map(|_| rng.next() % q).collect();
                memory.write(&b.name, l, &limb).unwrap();
            }
        }
    }
    memory
}

fn run(s: &Stream, slots: u32, instructions: Vec<Instruction>, seed: u64) -> Memory {
    let mut program = Program::new(LOG_N, s.moduli.clone(), slots);
    program.buffers = s.buffers.clone();
    program.instructions = instructions;
    let mut m = memory(s, &program, seed);
    FunctionalExecutor::new(&program)
        .unwrap()
        .run(&mut m)
        .unwrap();
    m
}

fn allocate(
    s: &Stream,
    slots: u32,
    prefetch: usize,
) -> Result<(Vec<Instruction>, AllocStats), SimError> {
    allocate_with(s, slots, prefetch, 64)
}

fn allocate_with(
    s: &Stream,
    slots: u32,
    prefetch: usize,
    lookahead: usize,
) -> Result<(Vec<Instruction>, AllocStats), SimError> {
    let options = AllocOptions {
        slots,
        lookahead,
        prefetch_chunks: prefetch,
        config: "test".into(),
    };
    let mut a = Allocator::new(s.buffers.clone(), options, Vec::new())?;
    for (chunk, local) in &s.chunks {
        a.push_chunk(chunk.clone(), *local)?;
    }
    a.finish()
}

/// Every buffer that is not freed holds the same words.
fn same_live_buffers(s: &Stream, a: &Memory, b: &Memory) -> bool {
    s.buffers
        .iter()
        .enumerate()
        .filter(|(i, _)| !s.freed[*i])
        .all(|(_, buf)| {
            (0..buf.limbs as usize)
                .all(|l| a.read(&buf.name, l).unwrap() == b.read(&buf.name, l).unwrap())
        })
}

#[test]
fn allocated_streams_compute_the_same_buffers() {
    let mut spills_seen = 0;
    for seed in 0..24u64 {
        let s = stream(seed, 40);
        let reference = run(
            &s,
            4,
            s.chunks.iter().flat_map(|c| c.0.clone()).collect(),
            seed,
        );
        for (slots, prefetch) in [(6u32, 0usize), (8, 1), (13, 1), (64, 2), (400, 1)] {
            // The roomy case looks at the whole stream.
            let lookahead = if slots == 400 { 1 << 20 } else { 64 };
            let (physical, stats) = allocate_with(&s, slots, prefetch, lookahead).unwrap();
            assert!(stats.peak_slots <= slots);
            let got = run(&s, slots, physical, seed);
            assert!(
                same_live_buffers(&s, &reference, &got),
                "seed {seed}, {slots} slots, prefetch {prefetch}: {stats:?}"
            );
            spills_seen += stats.spills;
            if slots == 400 {
                // Everything fits and the whole stream is in view: nothing spills, and every
                // input, key and plaintext limb is loaded exactly once.
                assert_eq!(stats.spills, 0, "{stats:?}");
                let loads_issued =
                    stats.loads - stats.load_hits - stats.dead_loads + stats.prefetches;
                assert_eq!(
                    loads_issued,
                    stats.compulsory_vectors - outputs(&s),
                    "{stats:?}"
                );
            }
        }
    }
    assert!(spills_seen > 0, "small scratchpads must spill");
}

/// Output limbs written (their stores count as compulsory).
fn outputs(s: &Stream) -> u64 {
    s.buffers
        .iter()
        .filter(|b| b.role == BufferRole::Output)
        .map(|b| b.limbs as u64)
        .sum()
}

/// Negative control: an allocated stream with one spill removed computes something else, so
/// the equality above is a real check of the spills.
#[test]
fn a_lost_spill_is_caught() {
    let mut caught = 0;
    for seed in 0..8u64 {
        let s = stream(seed, 40);
        let reference = run(
            &s,
            4,
            s.chunks.iter().flat_map(|c| c.0.clone()).collect(),
            seed,
        );
        let (physical, stats) = allocate(&s, 6, 0).unwrap();
        if stats.spills == 0 {
            continue;
        }
        // The first store whose limb is loaded again later: a spill.
        let spill = physical.iter().enumerate().find_map(|(k, ins)| match ins {
            Instruction::Store { buffer, limb, .. } => physical[k + 1..]
                .iter()
                .any(|later| matches!(later, Instruction::Load { buffer: b, limb: l, .. } if b == buffer && l == limb))
                .then_some(k),
            _ => None,
        });
        let Some(k) = spill else { continue };
        let mut broken = physical.clone();
        broken.remove(k);
        let got = run(&s, 6, broken, seed);
        assert!(
            !same_live_buffers(&s, &reference, &got),
            "seed {seed}: removing spill {k} went unnoticed"
        );
        caught += 1;
    }
    assert!(caught >= 4, "only {caught} streams had a spill to remove");
}

#[test]
fn bad_streams_are_errors_naming_the_instruction() {
    let s = stream(1, 4);
    // Too few slots for one operation's values.
    let e = allocate(&s, 2, 0).unwrap_err();
    assert!(
        matches!(e, SimError::ScratchpadFull { slots: 2, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("instructions["), "{e}");
    // A read of a slot never written names the operand.
    let options = AllocOptions {
        slots: 8,
        lookahead: 4,
        prefetch_chunks: 1,
        config: "test".into(),
    };
    let mut a = Allocator::new(s.buffers.clone(), options.clone(), Vec::new()).unwrap();
    a.push_chunk(
        vec![
            Instruction::Load {
                dst: 0,
                buffer: 0,
                limb: 0,
            },
            Instruction::Add {
                dst: 2,
                a: 0,
                b: 1,
                modulus: 0,
            },
        ],
        3,
    )
    .unwrap();
    let e = a.finish().unwrap_err();
    assert_eq!(
        e.to_string(),
        "stream: instructions[1].b: slot 1 is read before it is written"
    );
    // A load after a free, a slot outside the chunk, a limb outside the buffer.
    let mut a = Allocator::new(s.buffers.clone(), options.clone(), Vec::new()).unwrap();
    let e = a
        .push_chunk(
            vec![
                Instruction::Free { buffer: 1 },
                Instruction::Load {
                    dst: 0,
                    buffer: 1,
                    limb: 0,
                },
            ],
            1,
        )
        .unwrap_err();
    assert!(
        matches!(e, SimError::ReadAfterFree { instruction: 1, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("`in1`"), "{e}");
    let mut a = Allocator::new(s.buffers.clone(), options.clone(), Vec::new()).unwrap();
    let e = a
        .push_chunk(vec![Instruction::Copy { dst: 5, src: 0 }], 2)
        .unwrap_err()
        .to_string();
    assert!(e.contains("instructions[0]") && e.contains("slot 5"), "{e}");
    let mut a = Allocator::new(s.buffers.clone(), options, Vec::new()).unwrap();
    let e = a
        .push_chunk(
            vec![Instruction::Load {
                dst: 0,
                buffer: 0,
                limb: 7,
            }],
            1,
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("instructions[0].limb") && e.contains("limb 7"),
        "{e}"
    );
}
