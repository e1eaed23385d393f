//! Lowering of CKKS operations to ISA v1 programs, bit-exact with `heaccel-verification`.
//!
//! Layout. The program's prime table is `q_0 .. q_L` followed by `p_0 .. p_{K-1}`. A ciphertext
//! part `i` of the operand of stem `name` ([`OperandStem`]) is the buffer `name.c{i}` with `level + 1` limbs in NTT form; a
//! plaintext is `name.m`; a switching key is, per digit `j`, the buffers `name.d{j}.b` and
//! `name.d{j}.a` of `L + 1 + K` limbs (all of `Q`, then `P`), streamed from off-chip memory
//! (role `key`). Results are written to the buffers of operand `out`.
//!
//! Key switching follows the reference exactly: per digit, the digit's limbs are brought to
//! coefficient form, converted (exact-centered basis conversion) to the other primes of
//! `Q_level` and to `P`, brought back to NTT form and multiply-accumulated with the key limbs;
//! ModDown converts the `P` limbs back (centered), subtracts and multiplies by `P^-1`. A rotation
//! key-switches `c_1` first, adds `c_0`, then permutes (the reference's order, which makes
//! hoisting exact).

use heaccel_sim::isa::{Buffer, BufferRole, Instruction, ModulusIndex, PolyForm, Program, Slot};
use heaccel_sim::Memory;
use heaccel_verification::ckks::{Ciphertext, Parameters, Plaintext, SwitchingKey};
use heaccel_verification::rns::RnsPoly;
use thiserror::Error;

mod operand;
pub use operand::{ciphertext_buffer, key_buffer, plaintext_buffer, BufferOperand, OperandStem};

/// Errors of the lowering: an operation that does not apply (level, degree, key shape,
/// constant), or one of the models below.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LowerError {
    /// An operand level above the parameters' highest.
    #[error("lowering: level {level} is above the highest level {highest}")]
    LevelAbove {
        /// The level asked for.
        level: usize,
        /// The highest level `L` of the parameters.
        highest: usize,
    },
    /// A level drop that would go up.
    #[error("lowering: drop_level from level {from} to {to}: can only go down")]
    DropUpward {
        /// The operand's level.
        from: usize,
        /// The target level (above `from`).
        to: usize,
    },
    /// A rescale of a level-0 operand.
    #[error("lowering: rescale at level 0")]
    RescaleAtLevelZero,
    /// A monomial `X^k` with `k` outside `[0, 2N)`.
    #[error("lowering: monomial exponent {exponent} is outside [0, 2N = {two_n})")]
    MonomialExponent {
        /// The exponent `k`.
        exponent: usize,
        /// `2N`.
        two_n: usize,
    },
    /// A constant whose scaled value is not finite.
    #[error("lowering: constant {value} times scale {scale} is not finite")]
    NonFiniteConstant {
        /// The constant.
        value: f64,
        /// The scale it is encoded at.
        scale: f64,
    },
    /// A constant's scale below 1 (or NaN).
    #[error("lowering: constant scale {scale} is below 1")]
    ConstantScale {
        /// The scale given.
        scale: f64,
    },
    /// An inner product of no terms.
    #[error("lowering: inner product of no terms")]
    NoTerms,
    /// Automorphisms with no Galois element.
    #[error("lowering: no Galois element given")]
    NoGaloisElement,
    /// A switching key restricted to fewer levels than the chain.
    #[error(
        "lowering: a switching key restricted to levels up to {key_level} (the functional \
         executor takes keys over the whole chain, up to level {highest})"
    )]
    KeyLevels {
        /// The key's highest level.
        key_level: usize,
        /// The chain's highest level `L`.
        highest: usize,
    },
    /// The functional executor was given no relinearization key.
    #[error("lowering: functional executor: no relinearization key")]
    NoRelinearizationKey,
    /// The functional executor was given no key for a Galois element.
    #[error(
        "lowering: functional executor: no Galois key for element {element} ({})",
        heaccel_verification::bootstrap::describe_element(*element, *log_n)
    )]
    NoGaloisKey {
        /// The Galois element.
        element: u64,
        /// `log2 N` of the ring (to name the element's rotation).
        log_n: u32,
    },
    /// An operation given a ciphertext of the wrong degree.
    #[error(
        "lowering: functional executor: {operation} takes a degree-1 ciphertext, got {parts} parts"
    )]
    Degree {
        /// The operation.
        operation: &'static str,
        /// Parts of the ciphertext given (2 expected).
        parts: usize,
    },
    /// An explicit prime wider than the words allow.
    #[error(
        "lowering: explicit prime {prime} does not fit {word_bits}-bit words (at most {cap} \
         bits); give bit sizes (log_q, log_p) instead"
    )]
    PrimeTooWide {
        /// The prime.
        prime: u64,
        /// The word size.
        word_bits: u32,
        /// The widest prime the words hold, in bits (`word_bits - 2`, at most 61).
        cap: u32,
    },
    /// A whole-program stream's own error (binding, the network program), where the caller's
    /// errors are the lowering's.
    #[error("lowering: {0}")]
    Stream(Box<crate::stream::StreamError>),
    /// From the accelerator model.
    #[error(transparent)]
    Sim(#[from] heaccel_sim::SimError),
    /// From the reference model (a circuit's own checks, shapes of operands).
    #[error(transparent)]
    Ckks(#[from] heaccel_verification::Error),
}

type Result<T> = std::result::Result<T, LowerError>;

/// Emits instructions and hands out scratchpad slots.
struct Builder {
    program: Program,
    free: Vec<Slot>,
    next: Slot,
}

/// The prime table of every lowered program of `params`: `q_0 .. q_L`, then `p_0 ..
/// p_{K-1}` (see the module's layout).
pub fn prime_table(params: &Parameters) -> Vec<u64> {
    params
        .q_tables()
        .iter()
        .chain(params.p_tables())
        .map(|t| t.modulus().value())
        .collect()
}

impl Builder {
    fn new(params: &Parameters) -> Self {
        Builder {
            program: Program::new(params.log_n(), prime_table(params), 1),
            free: Vec::new(),
            next: 0,
        }
    }

    fn alloc(&mut self) -> Slot {
        self.free.pop().unwrap_or_else(|| {
            self.next += 1;
            self.next - 1
        })
    }

    fn release(&mut self, slots: impl IntoIterator<Item = Slot>) {
        self.free.extend(slots);
    }

    fn buffer(&mut self, name: String, limbs: usize, role: BufferRole) -> u32 {
        self.program.buffers.push(Buffer {
            name,
            limbs: limbs as u32,
            role,
        });
        (self.program.buffers.len() - 1) as u32
    }

    fn emit(&mut self, ins: Instruction) {
        self.program.instructions.push(ins);
    }

    fn store(&mut self, src: Slot, buffer: u32, limb: usize) {
        self.emit(Instruction::Store {
            src,
            buffer,
            limb: limb as u32,
        });
    }

    /// `dst = a + b mod q_i`.
    fn add_q(&mut self, dst: Slot, a: Slot, b: Slot, i: usize) {
        self.emit(Instruction::Add {
            dst,
            a,
            b,
            modulus: q_idx(i),
        });
    }

    fn load(&mut self, buffer: u32, limb: usize) -> Slot {
        let dst = self.alloc();
        self.emit(Instruction::Load {
            dst,
            buffer,
            limb: limb as u32,
        });
        dst
    }

    fn finish(mut self) -> Result<Program> {
        self.program.slots = self.next.max(1);
        self.program.validate("lowered program")?;
        Ok(self.program)
    }
}

/// Index of `q_i` in the prime table.
fn q_idx(i: usize) -> ModulusIndex {
    i as ModulusIndex
}

/// Index of `p_k` in the prime table.
fn p_idx(params: &Parameters, k: usize) -> ModulusIndex {
    (params.max_level() + 1 + k) as ModulusIndex
}

/// Buffers of a switching key: per digit, (b, a).
fn key_buffers(b: &mut Builder, params: &Parameters, stem: OperandStem) -> Vec<(u32, u32)> {
    let limbs = params.max_level() + 1 + params.p_tables().len();
    (0..params.dnum())
        .map(|j| {
            (
                b.buffer(key_buffer(stem, j, 0), limbs, BufferRole::Key),
                b.buffer(key_buffer(stem, j, 1), limbs, BufferRole::Key),
            )
        })
        .collect()
}

/// Limb index of a key buffer: `q_i` limbs first, then `p_k`.
fn key_limb(params: &Parameters, i: usize, is_p: bool) -> usize {
    if is_p {
        params.max_level() + 1 + i
    } else {
        i
    }
}

/// Key-switching accumulators: slots of `Q_level` then `P`, for both key halves.
struct Accumulators {
    half: [Vec<Slot>; 2],
}

/// Decomposes the polynomial in `src` (NTT form, `level + 1` limbs) and multiply-accumulates
/// each digit with every key in `keys`, one set of accumulators per key (hoisting: one
/// decomposition serves them all).
fn decompose_and_accumulate(
    b: &mut Builder,
    params: &Parameters,
    level: usize,
    src: u32,
    keys: &[Vec<(u32, u32)>],
) -> Vec<Accumulators> {
    let k_count = params.p_tables().len();
    let alpha = params.digit_size();
    let accs: Vec<Accumulators> = keys
        .iter()
        .map(|_| Accumulators {
            half: [0, 1].map(|_| (0..level + 1 + k_count).map(|_| b.alloc()).collect()),
        })
        .collect();
    let mut start = 0;
    let mut j = 0;
    while start <= level {
        let end = (start + alpha).min(level + 1);
        // The digit's limbs: NTT form as given, and in coefficient form for the conversion.
        let ntt_limbs: Vec<Slot> = (start..end).map(|i| b.load(src, i)).collect();
        let coeff_limbs: Vec<Slot> = (start..end)
            .map(|i| {
                let s = b.alloc();
                b.emit(Instruction::Copy {
                    dst: s,
                    src: ntt_limbs[i - start],
                });
                b.emit(Instruction::Intt {
                    slot: s,
                    modulus: q_idx(i),
                });
                s
            })
            .collect();
        // Targets: the other primes of Q_level in order, then P.
        let targets: Vec<(usize, bool)> = (0..=level)
            .filter(|i| !(start..end).contains(i))
            .map(|i| (i, false))
            .chain((0..k_count).map(|k| (k, true)))
            .collect();
        let target_index =
            |&(i, is_p): &(usize, bool)| if is_p { p_idx(params, i) } else { q_idx(i) };
        let converted: Vec<Slot> = targets.iter().map(|_| b.alloc()).collect();
        b.emit(Instruction::Bconv {
            src: coeff_limbs.clone(),
            from: (start..end).map(q_idx).collect(),
            dst: converted.clone(),
            to: targets.iter().map(target_index).collect(),
            centered: true,
        });
        b.release(coeff_limbs);
        for (t, &s) in targets.iter().zip(&converted) {
            b.emit(Instruction::Ntt {
                slot: s,
                modulus: target_index(t),
            });
        }
        // The digit polynomial over Q_level * P, limb by limb, times every key.
        let digit_limb = |i: usize, is_p: bool| -> Slot {
            if !is_p && (start..end).contains(&i) {
                ntt_limbs[i - start]
            } else {
                let pos = targets
                    .iter()
                    .position(|&t| t == (i, is_p))
                    .expect("a target");
                converted[pos]
            }
        };
        for (r, key) in keys.iter().enumerate() {
            let (kb, ka) = key[j];
            for (acc_pos, (i, is_p)) in (0..=level)
                .map(|i| (i, false))
                .chain((0..k_count).map(|k| (k, true)))
                .enumerate()
            {
                let d = digit_limb(i, is_p);
                let m = if is_p { p_idx(params, i) } else { q_idx(i) };
                for (h, buffer) in [kb, ka].into_iter().enumerate() {
                    let key_slot = b.load(buffer, key_limb(params, i, is_p));
                    let acc = accs[r].half[h][acc_pos];
                    if j == 0 {
                        b.emit(Instruction::Mul {
                            dst: acc,
                            a: d,
                            b: key_slot,
                            modulus: m,
                        });
                    } else {
                        b.emit(Instruction::Mac {
                            acc,
                            a: d,
                            b: key_slot,
                            modulus: m,
                        });
                    }
                    b.release([key_slot]);
                }
            }
        }
        b.release(ntt_limbs);
        b.release(converted);
        start = end;
        j += 1;
    }
    accs
}

/// ModDown of one accumulator half in place: its first `level + 1` slots become
/// `(x_q - [x_P]_Q) * P^-1`; the `P` slots are released.
fn mod_down(b: &mut Builder, params: &Parameters, level: usize, slots: &[Slot]) -> Vec<Slot> {
    let k_count = params.p_tables().len();
    let (q_slots, p_slots) = slots.split_at(level + 1);
    for (k, &s) in p_slots.iter().enumerate() {
        b.emit(Instruction::Intt {
            slot: s,
            modulus: p_idx(params, k),
        });
    }
    let converted: Vec<Slot> = (0..=level).map(|_| b.alloc()).collect();
    b.emit(Instruction::Bconv {
        src: p_slots.to_vec(),
        from: (0..k_count).map(|k| p_idx(params, k)).collect(),
        dst: converted.clone(),
        to: (0..=level).map(q_idx).collect(),
        centered: true,
    });
    b.release(p_slots.to_vec());
    for (i, (&x, &c)) in q_slots.iter().zip(&converted).enumerate() {
        let p_inv = params.p_inv_mod_q()[i];
        b.emit(Instruction::Ntt {
            slot: c,
            modulus: q_idx(i),
        });
        b.emit(Instruction::Sub {
            dst: x,
            a: x,
            b: c,
            modulus: q_idx(i),
        });
        b.emit(Instruction::MulScalar {
            dst: x,
            a: x,
            scalar: p_inv,
            modulus: q_idx(i),
        });
    }
    b.release(converted);
    q_slots.to_vec()
}

fn ciphertext_buffers(
    b: &mut Builder,
    stem: OperandStem,
    parts: usize,
    level: usize,
    role: BufferRole,
) -> Vec<u32> {
    (0..parts)
        .map(|i| b.buffer(ciphertext_buffer(stem, i), level + 1, role))
        .collect()
}

fn check_level(params: &Parameters, level: usize) -> Result<()> {
    if level > params.max_level() {
        return Err(LowerError::LevelAbove {
            level,
            highest: params.max_level(),
        });
    }
    Ok(())
}

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

/// Writes a ciphertext into the buffers `{stem}.c{i}` (an [`OperandStem`] for a lowered
/// operation, `v{value}` for a bound stream).
pub fn write_ciphertext(
    memory: &mut Memory,
    stem: impl std::fmt::Display,
    ct: &Ciphertext,
) -> Result<()> {
    for (i, part) in ct.parts.iter().enumerate() {
        let buffer = ciphertext_buffer(&stem, i);
        for (l, limb) in part.limbs.iter().enumerate() {
            memory.write(&buffer, l, limb)?;
        }
    }
    Ok(())
}

/// Writes a plaintext into the buffer `{stem}.m`.
pub fn write_plaintext(
    memory: &mut Memory,
    stem: impl std::fmt::Display,
    pt: &Plaintext,
) -> Result<()> {
    let buffer = plaintext_buffer(stem);
    for (l, limb) in pt.poly.limbs.iter().enumerate() {
        memory.write(&buffer, l, limb)?;
    }
    Ok(())
}

/// Refuses keys [`SwitchingKey::restricted`] to fewer levels: the lowered programs read
/// every key at the whole chain's limb positions.
pub fn check_whole_keys<'k>(
    params: &Parameters,
    keys: impl IntoIterator<Item = &'k SwitchingKey>,
) -> Result<()> {
    for key in keys {
        if key.max_level() != params.max_level() {
            return Err(LowerError::KeyLevels {
                key_level: key.max_level(),
                highest: params.max_level(),
            });
        }
    }
    Ok(())
}

/// Writes a switching key into the buffers `{stem}.d{j}.b` / `.a` (`Q` limbs, then `P`).
pub fn write_switching_key(
    memory: &mut Memory,
    stem: impl std::fmt::Display,
    key: &SwitchingKey,
) -> Result<()> {
    for (j, (kb, ka)) in key.digits.iter().enumerate() {
        for (half, poly) in [kb, ka].into_iter().enumerate() {
            let buffer = key_buffer(&stem, j, half);
            for (l, limb) in poly.q.limbs.iter().chain(&poly.p.limbs).enumerate() {
                memory.write(&buffer, l, limb)?;
            }
        }
    }
    Ok(())
}

/// Reads the ciphertext `stem` (two parts of `level + 1` limbs) with the metadata of `like`.
pub fn read_ciphertext(
    memory: &Memory,
    stem: impl std::fmt::Display,
    level: usize,
    scale: f64,
    like: &Ciphertext,
) -> Result<Ciphertext> {
    let parts = (0..2)
        .map(|i| {
            let buffer = ciphertext_buffer(&stem, i);
            let limbs = (0..=level)
                .map(|l| memory.read(&buffer, l).map(|s| s.to_vec()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(RnsPoly {
                limbs,
                ntt_form: true,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Ciphertext {
        params_id: like.params_id,
        key_id: like.key_id,
        parts,
        scale,
        log_slots: like.log_slots,
    })
}
