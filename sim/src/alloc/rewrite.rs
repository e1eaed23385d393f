//! Per-chunk analysis and rewriting of instructions: which sources die where (liveness),
//! operand names for errors, and instructions renamed onto physical slots.

use crate::isa::{Instruction, Slot};
use crate::timing::{for_reads, for_writes};

/// The name of the `k`-th source operand of `ins` (as [`for_reads`] visits them).
pub(super) fn read_operand(ins: &Instruction, k: usize) -> String {
    use Instruction::*;
    match ins {
        Store { .. } | Copy { .. } | Automorph { .. } => "src".into(),
        Ntt { .. } | Intt { .. } => "slot".into(),
        Add { .. } | Sub { .. } | Mul { .. } => ["a", "b"][k.min(1)].into(),
        AddScalar { .. } | MulScalar { .. } => "a".into(),
        Mac { .. } => ["acc", "a", "b"][k.min(2)].into(),
        Bconv { .. } => format!("src[{k}]"),
        Load { .. } | Free { .. } => String::new(),
    }
}

/// `ins` with its sources replaced by `sources` and its destinations by `targets`, both in
/// the order [`for_reads`] and [`for_writes`] visit them.
pub(super) fn remap(ins: &Instruction, sources: &[Slot], targets: &[Slot]) -> Instruction {
    use Instruction::*;
    let (r, w) = (sources, targets);
    match ins.clone() {
        Ntt { modulus, .. } => Ntt {
            slot: w[0],
            modulus,
        },
        Intt { modulus, .. } => Intt {
            slot: w[0],
            modulus,
        },
        Add { modulus, .. } => Add {
            dst: w[0],
            a: r[0],
            b: r[1],
            modulus,
        },
        Sub { modulus, .. } => Sub {
            dst: w[0],
            a: r[0],
            b: r[1],
            modulus,
        },
        Mul { modulus, .. } => Mul {
            dst: w[0],
            a: r[0],
            b: r[1],
            modulus,
        },
        AddScalar {
            scalar, modulus, ..
        } => AddScalar {
            dst: w[0],
            a: r[0],
            scalar,
            modulus,
        },
        MulScalar {
            scalar, modulus, ..
        } => MulScalar {
            dst: w[0],
            a: r[0],
            scalar,
            modulus,
        },
        Mac { modulus, .. } => Mac {
            acc: w[0],
            a: r[1],
            b: r[2],
            modulus,
        },
        Automorph {
            galois,
            form,
            modulus,
            ..
        } => Automorph {
            dst: w[0],
            src: r[0],
            galois,
            form,
            modulus,
        },
        Bconv {
            from, to, centered, ..
        } => Bconv {
            src: r.to_vec(),
            from,
            dst: w.to_vec(),
            to,
            centered,
        },
        Copy { .. } => Copy {
            dst: w[0],
            src: r[0],
        },
        other @ (Load { .. } | Store { .. } | Free { .. }) => other,
    }
}

/// Per instruction of a chunk: which sources die there and which destinations are never read.
#[derive(Debug)]
pub(super) struct Liveness {
    read_start: Vec<u32>,
    dies: Vec<bool>,
    write_start: Vec<u32>,
    dead_writes: Vec<bool>,
}

impl Liveness {
    pub(super) fn of(instructions: &[Instruction], slots: usize) -> Self {
        let (mut read_start, mut write_start) = (Vec::new(), Vec::new());
        let (mut reads, mut writes) = (0u32, 0u32);
        for ins in instructions {
            read_start.push(reads);
            write_start.push(writes);
            for_reads(ins, |_| reads += 1);
            for_writes(ins, |_| writes += 1);
        }
        let mut dies = vec![false; reads as usize];
        let mut dead_writes = vec![false; writes as usize];
        let mut live = vec![false; slots];
        let mut written = Vec::new();
        for (i, ins) in instructions.iter().enumerate().rev() {
            written.clear();
            for_writes(ins, |s| written.push(s));
            for (k, &s) in written.iter().enumerate() {
                dead_writes[write_start[i] as usize + k] = !live[s as usize];
            }
            let mut k = read_start[i] as usize;
            for_reads(ins, |s| {
                dies[k] = written.contains(&s) || !live[s as usize];
                k += 1;
            });
            for &s in &written {
                live[s as usize] = false;
            }
            for_reads(ins, |s| live[s as usize] = true);
        }
        Liveness {
            read_start,
            dies,
            write_start,
            dead_writes,
        }
    }

    pub(super) fn dies(&self, i: usize, k: usize) -> bool {
        self.dies[self.read_start[i] as usize + k]
    }

    pub(super) fn dead_write(&self, i: usize, k: usize) -> bool {
        self.dead_writes[self.write_start[i] as usize + k]
    }
}
