//! Timing-only simulation speed: `cargo bench -p heaccel-sim --bench timing`.
//! Criterion reports instructions per second (the floor: 10 million on one core).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use heaccel_sim::isa::{Buffer, BufferRole, Instruction, PolyForm, Program};
use heaccel_sim::{simulate, HwConfig};
use heaccel_verification::arith::ntt_primes;

/// A key-switching-like mix: loads, NTTs, MACs, automorphisms, basis conversions, stores.
fn mixed_program(instructions: usize) -> Program {
    use Instruction::*;
    let log_n = 16;
    let mut p = Program::new(log_n, ntt_primes(30, log_n, 4, &[]).unwrap(), 64);
    p.buffers = vec![Buffer {
        name: "key".into(),
        limbs: 1024,
        role: BufferRole::Key,
    }];
    let mut k = 0u32;
    while p.instructions.len() < instructions {
        let s = k % 60;
        let m = (k % 4) as u16;
        p.instructions.extend([
            Load {
                dst: s,
                buffer: 0,
                limb: k % 1024,
            },
            Ntt {
                slot: s,
                modulus: m,
            },
            Mac {
                acc: 60,
                a: s,
                b: s + 1,
                modulus: m,
            },
            Automorph {
                dst: s + 2,
                src: s,
                galois: 5,
                form: PolyForm::Ntt,
                modulus: m,
            },
            Bconv {
                src: vec![s],
                from: vec![m],
                dst: vec![61, 62],
                to: vec![(m + 1) % 4, (m + 2) % 4],
                centered: true,
            },
            Store {
                src: s + 2,
                buffer: 0,
                limb: (k + 1) % 1024,
            },
        ]);
        k += 1;
    }
    p.instructions.truncate(instructions);
    p
}

fn bench(c: &mut Criterion) {
    let config = HwConfig::preset("fpga-u280").unwrap();
    let count = 1_000_000;
    let program = mixed_program(count);
    let mut g = c.benchmark_group("sim");
    g.throughput(Throughput::Elements(count as u64));
    g.sample_size(10);
    g.bench_function("timing/mixed_1M_instructions", |b| {
        b.iter(|| simulate(&program, &config).unwrap())
    });
    g.finish();
}

criterion_group!(timing, bench);
criterion_main!(timing);
