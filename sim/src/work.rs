//! The arithmetic work and off-chip traffic of a program, independent of any hardware
//! configuration: the inputs of a roofline.

use crate::isa::{Instruction, Program};

/// Work of a program, counted per coefficient. The counts saturate at `u64::MAX` rather than
/// wrap; a program within the ISA's limits stays below 2^62 (at most 2^24 instructions of at
/// most `N (s + s t) < 2^38` multiplications each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Work {
    /// Modular multiplications: `N/2 log2 N` per (inverse) NTT, `N` per element-wise product,
    /// scalar product or multiply-accumulate, `N (s + s t)` per basis conversion of `s` to `t`
    /// limbs (the `s` scalings and the `s t` products).
    pub modmuls: u64,
    /// Modular additions and subtractions: `N log2 N` per (inverse) NTT, `N` per element-wise
    /// add/sub, scalar add or multiply-accumulate, `N s t` per basis conversion.
    pub modadds: u64,
    /// Words loaded or stored off-chip (`N` per load or store).
    pub offchip_words: u64,
}

impl Work {
    /// Off-chip bytes at `word_bytes` bytes per word.
    pub fn offchip_bytes(&self, word_bytes: u64) -> u64 {
        self.offchip_words.saturating_mul(word_bytes)
    }
}

/// Counts the work of `program`'s instructions.
pub fn program_work(program: &Program) -> Work {
    // `checked_shl`: an unvalidated `log_n` of 64 or more saturates instead of panicking.
    let n = 1u64.checked_shl(program.log_n).unwrap_or(u64::MAX);
    let log_n = program.log_n as u64;
    let mut w = Work::default();
    let add = |total: &mut u64, x: u64| *total = total.saturating_add(x);
    for ins in &program.instructions {
        use Instruction::*;
        match ins {
            Load { .. } | Store { .. } => add(&mut w.offchip_words, n),
            Ntt { .. } | Intt { .. } => {
                add(&mut w.modmuls, (n / 2).saturating_mul(log_n));
                add(&mut w.modadds, n.saturating_mul(log_n));
            }
            Add { .. } | Sub { .. } | AddScalar { .. } => add(&mut w.modadds, n),
            Mul { .. } | MulScalar { .. } => add(&mut w.modmuls, n),
            Mac { .. } => {
                add(&mut w.modmuls, n);
                add(&mut w.modadds, n);
            }
            Automorph { .. } | Copy { .. } | Free { .. } => {}
            Bconv { src, dst, .. } => {
                let (s, t) = (src.len() as u64, dst.len() as u64);
                let st = s.saturating_mul(t);
                add(&mut w.modmuls, n.saturating_mul(s.saturating_add(st)));
                add(&mut w.modadds, n.saturating_mul(st));
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::{Buffer, BufferRole};

    #[test]
    fn work_counts_by_hand() {
        // N = 2^10: load, NTT, multiply, basis conversion 1 -> 2 limbs, store.
        let program = Program {
            version: crate::ISA_VERSION,
            log_n: 10,
            moduli: vec![12289, 40961, 65537],
            slots: 4,
            buffers: vec![Buffer {
                name: "x".into(),
                limbs: 1,
                role: BufferRole::Input,
            }],
            instructions: vec![
                Instruction::Load {
                    dst: 0,
                    buffer: 0,
                    limb: 0,
                },
                Instruction::Ntt {
                    slot: 0,
                    modulus: 0,
                },
                Instruction::Mul {
                    dst: 1,
                    a: 0,
                    b: 0,
                    modulus: 0,
                },
                Instruction::Bconv {
                    src: vec![1],
                    from: vec![0],
                    dst: vec![2, 3],
                    to: vec![1, 2],
                    centered: false,
                },
                Instruction::Store {
                    src: 1,
                    buffer: 0,
                    limb: 0,
                },
            ],
        };
        let w = program_work(&program);
        assert_eq!(w.modmuls, 512 * 10 + 1024 + 1024 * (1 + 2));
        assert_eq!(w.modadds, 1024 * 10 + 1024 * 2);
        assert_eq!(w.offchip_words, 2 * 1024);
        assert_eq!(w.offchip_bytes(4), 8192);
    }

    /// Issue 22: counts saturate, never wrap or panic, even on a program that would not
    /// validate (a `log_n` past 63, a huge basis conversion).
    #[test]
    fn counts_saturate_on_unvalidated_programs() {
        let mut program = crate::Program::new(70, vec![97], 1);
        program.instructions = vec![
            Instruction::Bconv {
                src: vec![0; 3],
                from: vec![0; 3],
                dst: vec![0; 5],
                to: vec![0; 5],
                centered: false,
            };
            2
        ];
        program.instructions.push(Instruction::Load {
            dst: 0,
            buffer: 0,
            limb: 0,
        });
        let w = program_work(&program);
        assert_eq!(
            (w.modmuls, w.modadds, w.offchip_words),
            (u64::MAX, u64::MAX, u64::MAX)
        );
        assert_eq!(w.offchip_bytes(8), u64::MAX);
        program.log_n = 17;
        let w = program_work(&program);
        assert_eq!(w.modmuls, 2 * (1 << 17) * (3 + 15));
    }
}
