//! Operations with key switching: multiplication with relinearization and automorphisms
//! (rotations, conjugation; hoisted when several share one decomposition).

use heaccel_sim::isa::{BufferRole, Instruction, PolyForm, Program};
use heaccel_verification::ckks::Parameters;

use super::builder::{check_level, ciphertext_buffers, key_buffers, q_idx, Builder};
use super::keyswitch::{decompose_and_accumulate, mod_down};
use super::{LowerError, OperandStem, Result};

/// `out = relinearize(a * b)`: tensor product, key switch of `d_2` with the key `rlk`.
pub fn lower_hmult_relin(params: &Parameters, level: usize) -> Result<Program> {
    check_level(params, level)?;
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, level, BufferRole::Input);
    let y = ciphertext_buffers(&mut b, OperandStem::B, 2, level, BufferRole::Input);
    let d2 = b.buffer("tmp.d2".into(), level + 1, BufferRole::Temp);
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, level, BufferRole::Output);
    let key = key_buffers(&mut b, params, OperandStem::Rlk);
    // Tensor: d0 = a0 b0 and d1 = a0 b1 + a1 b0 go to the output; d2 = a1 b1 to a temporary.
    for i in 0..=level {
        let m = q_idx(i);
        let (a0, a1, b0, b1) = (
            b.load(x[0], i),
            b.load(x[1], i),
            b.load(y[0], i),
            b.load(y[1], i),
        );
        let (d0, d1, d2s) = (b.alloc(), b.alloc(), b.alloc());
        b.emit(Instruction::Mul {
            dst: d0,
            a: a0,
            b: b0,
            modulus: m,
        });
        b.emit(Instruction::Mul {
            dst: d1,
            a: a0,
            b: b1,
            modulus: m,
        });
        b.emit(Instruction::Mac {
            acc: d1,
            a: a1,
            b: b0,
            modulus: m,
        });
        b.emit(Instruction::Mul {
            dst: d2s,
            a: a1,
            b: b1,
            modulus: m,
        });
        b.store(d0, out[0], i);
        b.store(d1, out[1], i);
        b.store(d2s, d2, i);
        b.release([a0, a1, b0, b1, d0, d1, d2s]);
    }
    let accs = decompose_and_accumulate(&mut b, params, level, d2, &[key]);
    for (part, half) in accs[0].half.iter().enumerate() {
        let result = mod_down(&mut b, params, level, half);
        for (i, &s) in result.iter().enumerate() {
            let d = b.load(out[part], i);
            b.add_q(s, s, d, i);
            b.store(s, out[part], i);
            b.release([d, s]);
        }
    }
    b.finish()
}

/// Rotations (or any automorphisms) of `a` by each Galois element of `galois`, sharing one
/// decomposition of `c_1`; the key of element `g` is read from `gk{g}`, the result written to
/// `out{r}` for the `r`-th element. One element is a plain rotation.
pub fn lower_automorphisms(params: &Parameters, level: usize, galois: &[u64]) -> Result<Program> {
    check_level(params, level)?;
    if galois.is_empty() {
        return Err(LowerError::NoGaloisElement);
    }
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, level, BufferRole::Input);
    let keys: Vec<Vec<(u32, u32)>> = galois
        .iter()
        .map(|g| key_buffers(&mut b, params, OperandStem::Galois(*g)))
        .collect();
    let outs: Vec<Vec<u32>> = (0..galois.len())
        .map(|r| {
            ciphertext_buffers(
                &mut b,
                OperandStem::OutIndexed(r),
                2,
                level,
                BufferRole::Output,
            )
        })
        .collect();
    let accs = decompose_and_accumulate(&mut b, params, level, x[1], &keys);
    for (r, (acc, &g)) in accs.iter().zip(galois).enumerate() {
        for (part, half) in acc.half.iter().enumerate() {
            let result = mod_down(&mut b, params, level, half);
            for (i, &s) in result.iter().enumerate() {
                if part == 0 {
                    let c0 = b.load(x[0], i);
                    b.add_q(s, s, c0, i);
                    b.release([c0]);
                }
                let t = b.alloc();
                b.emit(Instruction::Automorph {
                    dst: t,
                    src: s,
                    galois: g,
                    form: PolyForm::Ntt,
                    modulus: q_idx(i),
                });
                b.store(t, outs[r][part], i);
                b.release([s, t]);
            }
        }
    }
    b.finish()
}
