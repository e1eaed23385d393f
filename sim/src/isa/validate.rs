//! Validation: [`Program::validate`] checks every field of a program against the ISA's rules
//! and limits before an executor or the timing model touches it.

use std::collections::HashSet;

use super::{BufferRole, Instruction, ModulusIndex, Program, Slot};
use super::{ISA_VERSION, MAX_BUFFERS, MAX_INSTRUCTIONS, MAX_LIMBS, MAX_LOG_N, MAX_MODULI};
use super::{MAX_NAME_BYTES, MAX_SLOTS, MIN_ISA_VERSION, MIN_LOG_N};
use crate::error::{invalid, Result, SimError};
use heaccel_verification::arith::is_prime;

impl Program {
    /// Checks every field; `source_name` (a file name, say) starts every error message. The
    /// sizes (see the module's limits) are checked first, before any per-element work; the
    /// checks are linear in the program's size.
    pub fn validate(&self, source_name: &str) -> Result<()> {
        let err = |field: String, reason: String| Err(invalid(source_name, field, reason));
        let limit = |field: &str, value: usize, limit: usize| {
            if value > limit {
                Err(SimError::Limit {
                    source_name: source_name.to_string(),
                    field: field.to_string(),
                    value: value as u64,
                    limit: limit as u64,
                })
            } else {
                Ok(())
            }
        };
        if !(MIN_ISA_VERSION..=ISA_VERSION).contains(&self.version) {
            return err(
                "version".into(),
                format!(
                    "{} is not supported; this reader takes versions {MIN_ISA_VERSION} to \
                     {ISA_VERSION}",
                    self.version
                ),
            );
        }
        if !(MIN_LOG_N..=MAX_LOG_N).contains(&self.log_n) {
            return err(
                "log_n".into(),
                format!("{} is outside [{MIN_LOG_N}, {MAX_LOG_N}]", self.log_n),
            );
        }
        if self.moduli.is_empty() {
            return err("moduli".into(), "needs at least 1 prime".into());
        }
        limit("moduli", self.moduli.len(), MAX_MODULI)?;
        if self.slots == 0 {
            return err("slots".into(), "must be at least 1".into());
        }
        limit("slots", self.slots as usize, MAX_SLOTS as usize)?;
        limit("buffers", self.buffers.len(), MAX_BUFFERS)?;
        limit("instructions", self.instructions.len(), MAX_INSTRUCTIONS)?;
        let mut names = HashSet::with_capacity(self.buffers.len());
        for (i, b) in self.buffers.iter().enumerate() {
            if b.limbs == 0 {
                return err(format!("buffers[{i}].limbs"), "must be at least 1".into());
            }
            if self.version < 2 && b.role == BufferRole::Plaintext {
                return err(
                    format!("buffers[{i}].role"),
                    "`plaintext` needs version 2 or later".into(),
                );
            }
            limit(
                &format!("buffers[{i}].limbs"),
                b.limbs as usize,
                MAX_LIMBS as usize,
            )?;
            if b.name.len() > MAX_NAME_BYTES {
                return err(
                    format!("buffers[{i}].name"),
                    format!(
                        "{} bytes long; a name holds at most {MAX_NAME_BYTES} bytes",
                        b.name.len()
                    ),
                );
            }
            if !names.insert(b.name.as_str()) {
                return err(
                    format!("buffers[{i}].name"),
                    format!("`{}` is declared twice", b.name),
                );
            }
        }
        let two_n = 2u64 << self.log_n;
        let mut primes = HashSet::with_capacity(self.moduli.len());
        for (i, &q) in self.moduli.iter().enumerate() {
            if q >> 61 != 0 || q % two_n != 1 || !is_prime(q) {
                return err(
                    format!("moduli[{i}]"),
                    format!("{q} must be a prime below 2^61 congruent to 1 mod 2N = {two_n}"),
                );
            }
            if !primes.insert(q) {
                return err(format!("moduli[{i}]"), format!("{q} appears twice"));
            }
        }
        for (k, ins) in self.instructions.iter().enumerate() {
            self.validate_instruction(k, ins)
                .map_err(|(field, reason)| {
                    invalid(
                        source_name,
                        format!("instructions[{k}].{field}"),
                        format!("{} ({})", reason, ins.name()),
                    )
                })?;
        }
        Ok(())
    }

    fn validate_instruction(
        &self,
        _k: usize,
        ins: &Instruction,
    ) -> std::result::Result<(), (String, String)> {
        use Instruction::*;
        if self.version < 2 && matches!(ins, Free { .. }) {
            return Err((
                "free".into(),
                "the `free` hint needs version 2 or later".into(),
            ));
        }
        let slot = |name: &str, s: Slot| {
            if s < self.slots {
                Ok(())
            } else {
                Err((
                    name.to_string(),
                    format!("slot {s} is outside [0, {})", self.slots),
                ))
            }
        };
        let modulus = |name: &str, m: ModulusIndex| {
            if (m as usize) < self.moduli.len() {
                Ok(self.moduli[m as usize])
            } else {
                Err((
                    name.to_string(),
                    format!("modulus index {m} is outside [0, {})", self.moduli.len()),
                ))
            }
        };
        let memory = |buffer: u32, limb: u32| {
            let b = self.buffers.get(buffer as usize).ok_or_else(|| {
                (
                    "buffer".to_string(),
                    format!("buffer {buffer} is outside [0, {})", self.buffers.len()),
                )
            })?;
            if limb >= b.limbs {
                return Err((
                    "limb".to_string(),
                    format!(
                        "limb {limb} is outside [0, {}) of buffer `{}`",
                        b.limbs, b.name
                    ),
                ));
            }
            Ok(())
        };
        match ins {
            Load { dst, buffer, limb } => {
                slot("dst", *dst)?;
                memory(*buffer, *limb)
            }
            Store { src, buffer, limb } => {
                slot("src", *src)?;
                memory(*buffer, *limb)
            }
            Ntt {
                slot: s,
                modulus: m,
            }
            | Intt {
                slot: s,
                modulus: m,
            } => {
                slot("slot", *s)?;
                modulus("modulus", *m).map(|_| ())
            }
            Add {
                dst,
                a,
                b,
                modulus: m,
            }
            | Sub {
                dst,
                a,
                b,
                modulus: m,
            }
            | Mul {
                dst,
                a,
                b,
                modulus: m,
            } => {
                slot("dst", *dst)?;
                slot("a", *a)?;
                slot("b", *b)?;
                modulus("modulus", *m).map(|_| ())
            }
            AddScalar {
                dst,
                a,
                scalar,
                modulus: m,
            }
            | MulScalar {
                dst,
                a,
                scalar,
                modulus: m,
            } => {
                slot("dst", *dst)?;
                slot("a", *a)?;
                let q = modulus("modulus", *m)?;
                if *scalar >= q {
                    return Err(("scalar".into(), format!("{scalar} is not below q = {q}")));
                }
                Ok(())
            }
            Mac {
                acc,
                a,
                b,
                modulus: m,
            } => {
                slot("acc", *acc)?;
                slot("a", *a)?;
                slot("b", *b)?;
                modulus("modulus", *m).map(|_| ())
            }
            Automorph {
                dst,
                src,
                galois,
                modulus: m,
                ..
            } => {
                slot("dst", *dst)?;
                slot("src", *src)?;
                modulus("modulus", *m)?;
                let two_n = 2u64 << self.log_n;
                if galois % 2 == 0 || *galois >= two_n {
                    return Err((
                        "galois".into(),
                        format!("{galois} must be odd and below 2N = {two_n}"),
                    ));
                }
                Ok(())
            }
            Bconv {
                src, from, dst, to, ..
            } => {
                if src.is_empty() || src.len() != from.len() {
                    return Err((
                        "from".into(),
                        format!(
                            "needs one modulus per source slot ({} slots, {} moduli, at least 1)",
                            src.len(),
                            from.len()
                        ),
                    ));
                }
                if dst.is_empty() || dst.len() != to.len() {
                    return Err((
                        "to".into(),
                        format!(
                            "needs one modulus per target slot ({} slots, {} moduli, at least 1)",
                            dst.len(),
                            to.len()
                        ),
                    ));
                }
                for (name, list) in [("src", src), ("dst", dst)] {
                    if list.len() > MAX_MODULI {
                        return Err((
                            name.into(),
                            format!(
                                "{} slots exceed the limit of {MAX_MODULI} limbs a basis \
                                 conversion reads or writes",
                                list.len()
                            ),
                        ));
                    }
                    // Linear; the field name is formatted only for the slot at fault.
                    if let Some((i, &s)) = list.iter().enumerate().find(|(_, &s)| s >= self.slots) {
                        slot(&format!("{name}[{i}]"), s)?;
                    }
                }
                // Which moduli `from` names: a bit per index (all below MAX_MODULI).
                let mut sources = [0u64; MAX_MODULI / 64];
                for (i, &m) in from.iter().enumerate() {
                    if m as usize >= self.moduli.len() {
                        modulus(&format!("from[{i}]"), m)?;
                    }
                    let (word, bit) = (m as usize / 64, 1u64 << (m % 64));
                    if sources[word] & bit != 0 {
                        return Err((
                            format!("from[{i}]"),
                            format!("modulus index {m} appears twice"),
                        ));
                    }
                    sources[word] |= bit;
                }
                for (i, &m) in to.iter().enumerate() {
                    if m as usize >= self.moduli.len() {
                        modulus(&format!("to[{i}]"), m)?;
                    }
                    if sources[m as usize / 64] & (1u64 << (m % 64)) != 0 {
                        return Err((
                            format!("to[{i}]"),
                            format!("modulus index {m} is also a source modulus"),
                        ));
                    }
                }
                Ok(())
            }
            Copy { dst, src } => {
                slot("dst", *dst)?;
                slot("src", *src)
            }
            Free { buffer } => {
                if *buffer as usize >= self.buffers.len() {
                    return Err((
                        "buffer".to_string(),
                        format!("buffer {buffer} is outside [0, {})", self.buffers.len()),
                    ));
                }
                Ok(())
            }
        }
    }
}
