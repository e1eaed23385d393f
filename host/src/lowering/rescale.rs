//! Level changes by basis conversion: rescale (divide by the last prime) and ModRaise.

use heaccel_sim::isa::{BufferRole, Instruction, Program};
use heaccel_verification::ckks::Parameters;

use super::builder::{check_level, ciphertext_buffers, q_idx, Builder};
use super::{LowerError, OperandStem, Result};

/// ModRaise: `a` at level 0 to `out` at `to`: each part's limb brought to coefficient form,
/// converted exactly and centered to every `q_i` (`|x| < q_0 / 2`), back to NTT form.
pub fn lower_mod_raise(params: &Parameters, to: usize) -> Result<Program> {
    check_level(params, to)?;
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, 0, BufferRole::Input);
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, to, BufferRole::Output);
    for part in 0..2 {
        let ntt = b.load(x[part], 0);
        let coeff = b.alloc();
        b.emit(Instruction::Copy {
            dst: coeff,
            src: ntt,
        });
        b.emit(Instruction::Intt {
            slot: coeff,
            modulus: q_idx(0),
        });
        b.store(ntt, out[part], 0);
        b.release([ntt]);
        for i in 1..=to {
            let t = b.alloc();
            b.emit(Instruction::Bconv {
                src: vec![coeff],
                from: vec![q_idx(0)],
                dst: vec![t],
                to: vec![q_idx(i)],
                centered: true,
            });
            b.emit(Instruction::Ntt {
                slot: t,
                modulus: q_idx(i),
            });
            b.store(t, out[part], i);
            b.release([t]);
        }
        b.release([coeff]);
    }
    b.finish()
}

/// `out = rescale(a)`: divides by `q_level` with rounding, dropping one level.
pub fn lower_rescale(params: &Parameters, level: usize) -> Result<Program> {
    check_level(params, level)?;
    if level == 0 {
        return Err(LowerError::RescaleAtLevelZero);
    }
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, level, BufferRole::Input);
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, level - 1, BufferRole::Output);
    let q_last = params.q_tables()[level].modulus().value();
    for part in 0..2 {
        let last = b.load(x[part], level);
        b.emit(Instruction::Intt {
            slot: last,
            modulus: q_idx(level),
        });
        for i in 0..level {
            let m = params.q_tables()[i].modulus();
            let inv = m.inv(q_last).expect("distinct primes");
            let t = b.alloc();
            b.emit(Instruction::Bconv {
                src: vec![last],
                from: vec![q_idx(level)],
                dst: vec![t],
                to: vec![q_idx(i)],
                centered: true,
            });
            b.emit(Instruction::Ntt {
                slot: t,
                modulus: q_idx(i),
            });
            let s = b.load(x[part], i);
            b.emit(Instruction::Sub {
                dst: s,
                a: s,
                b: t,
                modulus: q_idx(i),
            });
            b.emit(Instruction::MulScalar {
                dst: s,
                a: s,
                scalar: inv,
                modulus: q_idx(i),
            });
            b.store(s, out[part], i);
            b.release([s, t]);
        }
        b.release([last]);
    }
    b.finish()
}
