//! The program builder every lowering uses (instructions, slots, buffers) and the
//! layout's indices (prime table, key limbs).

use heaccel_sim::isa::{Buffer, BufferRole, Instruction, ModulusIndex, Program, Slot};
use heaccel_verification::ckks::Parameters;

use super::{ciphertext_buffer, key_buffer, LowerError, OperandStem, Result};

/// Emits instructions and hands out scratchpad slots.
pub(super) struct Builder {
    pub(super) program: Program,
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
    pub(super) fn new(params: &Parameters) -> Self {
        Builder {
            program: Program::new(params.log_n(), prime_table(params), 1),
            free: Vec::new(),
            next: 0,
        }
    }

    pub(super) fn alloc(&mut self) -> Slot {
        self.free.pop().unwrap_or_else(|| {
            self.next += 1;
            self.next - 1
        })
    }

    pub(super) fn release(&mut self, slots: impl IntoIterator<Item = Slot>) {
        self.free.extend(slots);
    }

    pub(super) fn buffer(&mut self, name: String, limbs: usize, role: BufferRole) -> u32 {
        self.program.buffers.push(Buffer {
            name,
            limbs: limbs as u32,
            role,
        });
        (self.program.buffers.len() - 1) as u32
    }

    pub(super) fn emit(&mut self, ins: Instruction) {
        self.program.instructions.push(ins);
    }

    pub(super) fn store(&mut self, src: Slot, buffer: u32, limb: usize) {
        self.emit(Instruction::Store {
            src,
            buffer,
            limb: limb as u32,
        });
    }

    /// `dst = a + b mod q_i`.
    pub(super) fn add_q(&mut self, dst: Slot, a: Slot, b: Slot, i: usize) {
        self.emit(Instruction::Add {
            dst,
            a,
            b,
            modulus: q_idx(i),
        });
    }

    pub(super) fn load(&mut self, buffer: u32, limb: usize) -> Slot {
        let dst = self.alloc();
        self.emit(Instruction::Load {
            dst,
            buffer,
            limb: limb as u32,
        });
        dst
    }

    pub(super) fn finish(mut self) -> Result<Program> {
        self.program.slots = self.next.max(1);
        self.program.validate("lowered program")?;
        Ok(self.program)
    }
}

/// Index of `q_i` in the prime table.
pub(super) fn q_idx(i: usize) -> ModulusIndex {
    i as ModulusIndex
}

/// Index of `p_k` in the prime table.
pub(super) fn p_idx(params: &Parameters, k: usize) -> ModulusIndex {
    (params.max_level() + 1 + k) as ModulusIndex
}

/// Buffers of a switching key: per digit, (b, a).
pub(super) fn key_buffers(
    b: &mut Builder,
    params: &Parameters,
    stem: OperandStem,
) -> Vec<(u32, u32)> {
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
pub(super) fn key_limb(params: &Parameters, i: usize, is_p: bool) -> usize {
    if is_p {
        params.max_level() + 1 + i
    } else {
        i
    }
}

pub(super) fn ciphertext_buffers(
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

pub(super) fn check_level(params: &Parameters, level: usize) -> Result<()> {
    if level > params.max_level() {
        return Err(LowerError::LevelAbove {
            level,
            highest: params.max_level(),
        });
    }
    Ok(())
}
