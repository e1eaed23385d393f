//! Operations without key switching or basis conversion: additions, negation, level drops,
//! monomials, plaintext and constant products, inner products.

use heaccel_sim::isa::{BufferRole, Instruction, Program};
use heaccel_verification::ckks::Parameters;

use super::builder::{check_level, ciphertext_buffers, q_idx, Builder};
use super::{plaintext_buffer, LowerError, OperandStem, Result};

/// `out = a + b` (degree 1, same level).
pub fn lower_add(params: &Parameters, level: usize) -> Result<Program> {
    check_level(params, level)?;
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, level, BufferRole::Input);
    let y = ciphertext_buffers(&mut b, OperandStem::B, 2, level, BufferRole::Input);
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, level, BufferRole::Output);
    for part in 0..2 {
        for i in 0..=level {
            let (s, t) = (b.load(x[part], i), b.load(y[part], i));
            b.add_q(s, s, t, i);
            b.store(s, out[part], i);
            b.release([s, t]);
        }
    }
    b.finish()
}

/// `out = a - b` (degree 1, same level).
pub fn lower_sub(params: &Parameters, level: usize) -> Result<Program> {
    check_level(params, level)?;
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, level, BufferRole::Input);
    let y = ciphertext_buffers(&mut b, OperandStem::B, 2, level, BufferRole::Input);
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, level, BufferRole::Output);
    for part in 0..2 {
        for i in 0..=level {
            let (s, t) = (b.load(x[part], i), b.load(y[part], i));
            b.emit(Instruction::Sub {
                dst: s,
                a: s,
                b: t,
                modulus: q_idx(i),
            });
            b.store(s, out[part], i);
            b.release([s, t]);
        }
    }
    b.finish()
}

/// `out = -a`: every limb times `q_i - 1` (exactly `-x mod q_i`, zero staying zero).
pub fn lower_neg(params: &Parameters, level: usize) -> Result<Program> {
    check_level(params, level)?;
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, level, BufferRole::Input);
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, level, BufferRole::Output);
    for part in 0..2 {
        for i in 0..=level {
            let q = params.q_tables()[i].modulus().value();
            let s = b.load(x[part], i);
            b.emit(Instruction::MulScalar {
                dst: s,
                a: s,
                scalar: q - 1,
                modulus: q_idx(i),
            });
            b.store(s, out[part], i);
            b.release([s]);
        }
    }
    b.finish()
}

/// `out` = the limbs `0..=to` of `a` at level `from >= to` (a copy through the scratchpad).
pub fn lower_drop_level(params: &Parameters, from: usize, to: usize) -> Result<Program> {
    check_level(params, from)?;
    if to > from {
        return Err(LowerError::DropUpward { from, to });
    }
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, from, BufferRole::Input);
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, to, BufferRole::Output);
    for part in 0..2 {
        for i in 0..=to {
            let s = b.load(x[part], i);
            b.store(s, out[part], i);
            b.release([s]);
        }
    }
    b.finish()
}

/// `out = a * X^k`: both parts times the plaintext `m` holding the monomial in NTT form
/// (see [`monomial_limbs`]).
pub fn lower_mul_monomial(params: &Parameters, level: usize) -> Result<Program> {
    lower_pmult(params, level)
}

/// The limbs (NTT form, `q_0 ..= q_level`) of the monomial `X^k`, `k` in `[0, 2N)`
/// (`X^N = -1`): the plaintext of [`lower_mul_monomial`].
pub fn monomial_limbs(params: &Parameters, level: usize, k: usize) -> Result<Vec<Vec<u64>>> {
    let n = params.n();
    if k >= 2 * n {
        return Err(LowerError::MonomialExponent {
            exponent: k,
            two_n: 2 * n,
        });
    }
    Ok(params.q_tables()[..=level]
        .iter()
        .map(|t| {
            let mut limb = vec![0u64; n];
            limb[k % n] = if k < n { 1 } else { t.modulus().neg(1) };
            t.forward(&mut limb);
            limb
        })
        .collect())
}

/// `out = sum_t x{t} * m{t}` over `terms >= 1` ciphertexts `x{t}` and plaintexts `m{t}`, all
/// at `level`: one multiply and `terms - 1` multiply-accumulates per limb and part (the
/// fused inner product of a baby-step/giant-step linear transform).
pub fn lower_inner_product(params: &Parameters, level: usize, terms: usize) -> Result<Program> {
    check_level(params, level)?;
    if terms == 0 {
        return Err(LowerError::NoTerms);
    }
    let mut b = Builder::new(params);
    let xs: Vec<Vec<u32>> = (0..terms)
        .map(|t| ciphertext_buffers(&mut b, OperandStem::X(t), 2, level, BufferRole::Input))
        .collect();
    let ms: Vec<u32> = (0..terms)
        .map(|t| {
            b.buffer(
                plaintext_buffer(OperandStem::MIndexed(t)),
                level + 1,
                BufferRole::Input,
            )
        })
        .collect();
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, level, BufferRole::Output);
    for i in 0..=level {
        let acc = [b.alloc(), b.alloc()];
        for (t, (x, &m)) in xs.iter().zip(&ms).enumerate() {
            let mi = b.load(m, i);
            for part in 0..2 {
                let s = b.load(x[part], i);
                b.emit(if t == 0 {
                    Instruction::Mul {
                        dst: acc[part],
                        a: s,
                        b: mi,
                        modulus: q_idx(i),
                    }
                } else {
                    Instruction::Mac {
                        acc: acc[part],
                        a: s,
                        b: mi,
                        modulus: q_idx(i),
                    }
                });
                b.release([s]);
            }
            b.release([mi]);
        }
        for (part, &a) in acc.iter().enumerate() {
            b.store(a, out[part], i);
        }
        b.release(acc);
    }
    b.finish()
}

/// `out = a * m` for a plaintext `m` (scales multiply; no rescale).
pub fn lower_pmult(params: &Parameters, level: usize) -> Result<Program> {
    check_level(params, level)?;
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, level, BufferRole::Input);
    let m = b.buffer(
        plaintext_buffer(OperandStem::M),
        level + 1,
        BufferRole::Input,
    );
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, level, BufferRole::Output);
    for i in 0..=level {
        let mi = b.load(m, i);
        for part in 0..2 {
            let s = b.load(x[part], i);
            b.emit(Instruction::Mul {
                dst: s,
                a: s,
                b: mi,
                modulus: q_idx(i),
            });
            b.store(s, out[part], i);
            b.release([s]);
        }
        b.release([mi]);
    }
    b.finish()
}

/// `out = a + m` for a plaintext `m` at the ciphertext's level and scale: `c_0 + m`, `c_1`
/// copied through.
pub fn lower_add_plain(params: &Parameters, level: usize) -> Result<Program> {
    check_level(params, level)?;
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, level, BufferRole::Input);
    let m = b.buffer(
        plaintext_buffer(OperandStem::M),
        level + 1,
        BufferRole::Input,
    );
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, level, BufferRole::Output);
    for i in 0..=level {
        let (s, t) = (b.load(x[0], i), b.load(m, i));
        b.add_q(s, s, t, i);
        b.store(s, out[0], i);
        let c1 = b.load(x[1], i);
        b.store(c1, out[1], i);
        b.release([s, t, c1]);
    }
    b.finish()
}

/// The integer `round(value * scale)` reduced modulo each prime of `Q_level`, as the
/// reference evaluator encodes constants; an error when the product is not finite.
fn constant_residues(
    params: &Parameters,
    level: usize,
    value: f64,
    scale: f64,
) -> Result<Vec<u64>> {
    let x = (value * scale).round();
    if !x.is_finite() {
        return Err(LowerError::NonFiniteConstant { value, scale });
    }
    Ok(params.q_tables()[..=level]
        .iter()
        .map(|t| heaccel_verification::ckks::encoder::reduce_f64(x, t.modulus()))
        .collect())
}

/// `out = a + value` in every slot, for a ciphertext at scale `scale`: `round(value * scale)`
/// added to every NTT point of `c_0` (a constant polynomial has the same value at every
/// evaluation point), as the reference's `add_const`.
pub fn lower_add_const(
    params: &Parameters,
    level: usize,
    value: f64,
    scale: f64,
) -> Result<Program> {
    check_level(params, level)?;
    let residues = constant_residues(params, level, value, scale)?;
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, level, BufferRole::Input);
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, level, BufferRole::Output);
    for (i, &r) in residues.iter().enumerate() {
        let s = b.load(x[0], i);
        b.emit(Instruction::AddScalar {
            dst: s,
            a: s,
            scalar: r,
            modulus: q_idx(i),
        });
        b.store(s, out[0], i);
        let c1 = b.load(x[1], i);
        b.store(c1, out[1], i);
        b.release([s, c1]);
    }
    b.finish()
}

/// `out = a * value` in every slot, the constant encoded as `round(value * const_scale)`
/// (`const_scale >= 1`; the scale becomes `scale * const_scale`), as the reference's
/// `mul_const`.
pub fn lower_mul_const(
    params: &Parameters,
    level: usize,
    value: f64,
    const_scale: f64,
) -> Result<Program> {
    check_level(params, level)?;
    if const_scale.is_nan() || const_scale < 1.0 {
        return Err(LowerError::ConstantScale { scale: const_scale });
    }
    let residues = constant_residues(params, level, value, const_scale)?;
    let mut b = Builder::new(params);
    let x = ciphertext_buffers(&mut b, OperandStem::A, 2, level, BufferRole::Input);
    let out = ciphertext_buffers(&mut b, OperandStem::Out, 2, level, BufferRole::Output);
    for (i, &r) in residues.iter().enumerate() {
        for part in 0..2 {
            let s = b.load(x[part], i);
            b.emit(Instruction::MulScalar {
                dst: s,
                a: s,
                scalar: r,
                modulus: q_idx(i),
            });
            b.store(s, out[part], i);
            b.release([s]);
        }
    }
    b.finish()
}
