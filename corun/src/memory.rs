//! Memory of a co-run: its size limit and seeded contents.

use heaccel_sim::functional::Memory;
use heaccel_sim::isa::{BufferRole, Program};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::CoRunError;

/// Most words of off-chip memory a program run here (core co-run, functional executor) may
/// declare: 2^28 words, 2 GiB.
pub const MAX_MEMORY_WORDS: u64 = 1 << 28;

/// Refuses a program whose buffers need more than [`MAX_MEMORY_WORDS`] words of memory to run
/// here, before anything is allocated, naming the largest buffer.
pub fn check_memory(program: &Program, source: &str) -> Result<(), CoRunError> {
    let n = program.n() as u64;
    let words = program
        .buffers
        .iter()
        .map(|b| b.limbs as u64 * n)
        .fold(0u64, u64::saturating_add);
    if words > MAX_MEMORY_WORDS {
        let largest = program
            .buffers
            .iter()
            .max_by_key(|b| b.limbs)
            .expect("validated programs have buffers");
        return Err(CoRunError::MemoryTooLarge {
            file: source.into(),
            words,
            largest: largest.name.clone(),
            limbs: largest.limbs,
            max: MAX_MEMORY_WORDS,
        });
    }
    Ok(())
}

/// Random inputs and keys below the smallest prime of the program (valid under every
/// modulus), from a seeded RNG.
pub fn random_memory(program: &Program, seed: u64) -> Result<Memory, CoRunError> {
    let mut memory = Memory::for_program(program);
    let q_min = *program
        .moduli
        .iter()
        .min()
        .expect("validated: at least one prime");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for b in &program.buffers {
        if matches!(b.role, BufferRole::Input | BufferRole::Key) {
            for limb in 0..b.limbs as usize {
                let data: Vec<u64> = (0..program.n()).map(|_| rng.gen_range(0..q_min)).collect();
                memory.write(&b.name, limb, &data)?;
            }
        }
    }
    Ok(memory)
}
