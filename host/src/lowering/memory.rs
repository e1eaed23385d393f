//! Moving ciphertexts, plaintexts and keys in and out of the executor's off-chip memory in
//! the layout of the lowered programs.

use heaccel_sim::Memory;
use heaccel_verification::ckks::{Ciphertext, Parameters, Plaintext, SwitchingKey};
use heaccel_verification::rns::RnsPoly;

use super::{ciphertext_buffer, key_buffer, plaintext_buffer, LowerError, Result};

/// Writes a ciphertext into the buffers `{stem}.c{i}` (an [`OperandStem`](super::OperandStem) for a lowered
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
