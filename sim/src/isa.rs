//! ISA v1: the contract between the host compiler and the accelerator.
//!
//! A [`Program`] works on *limb vectors*: `N` words holding one polynomial modulo one prime of
//! the program's prime table. Vectors live in numbered scratchpad slots (`0 .. slots`) and in
//! named off-chip buffers of `limbs` vectors each. Arithmetic is the reference model's
//! (`heaccel-verification`), bit for bit:
//!
//! | op | meaning |
//! |---|---|
//! | `load` / `store` | copy one vector between buffer limb and slot |
//! | `ntt` / `intt` | in-place negacyclic NTT (standard in, bit-reversed out) / inverse, mod `moduli[modulus]` |
//! | `add`, `sub`, `mul` | element-wise `dst = a op b mod q` |
//! | `add_scalar`, `mul_scalar` | element-wise with a constant in `[0, q)` |
//! | `mac` | `acc = acc + a * b mod q` |
//! | `automorph` | `dst = src(X^galois)`, in NTT (bit-reversed) or coefficient form |
//! | `bconv` | fast basis conversion of coefficient-form vectors `src[i]` (mod `moduli[from[i]]`) into `dst[j]` (mod `moduli[to[j]]`), approximate or exact-centered |
//! | `copy` | `dst = src` |
//!
//! Element values are always reduced (`[0, q)`); an operation reads all its sources before it
//! writes, so `dst` may equal a source. Serialized as JSON (each instruction an object with one
//! key, the op: `{"mul": {"dst": 1, "a": 0, "b": 2, "modulus": 0}}`) or as a compact binary
//! form (magic `HEAX`, version, bincode body).

use serde::{Deserialize, Serialize};

use crate::error::{invalid, Result, SimError};
use heaccel_verification::arith::is_prime;

/// The ISA version this crate reads and writes.
pub const ISA_VERSION: u32 = 1;

/// Magic bytes that open the binary form.
pub const BINARY_MAGIC: [u8; 4] = *b"HEAX";

/// Index of a scratchpad slot, `0 .. Program::slots`.
pub type Slot = u32;
/// Index into [`Program::moduli`].
pub type ModulusIndex = u16;

/// What an off-chip buffer holds; the executor fills inputs and keys and reads outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BufferRole {
    /// Operands supplied by the host (ciphertexts, plaintexts).
    Input,
    /// Evaluation keys, streamed from off-chip memory.
    Key,
    /// Results read back by the host.
    Output,
    /// Spill space of the program itself.
    Temp,
}

/// An off-chip buffer of `limbs` vectors of `N` words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buffer {
    /// Unique name, e.g. `ct0.c1` or `rlk.digit3.b`.
    pub name: String,
    /// Number of limb vectors, at least 1.
    pub limbs: u32,
    /// What the buffer holds.
    pub role: BufferRole,
}

/// Form of the vectors an automorphism permutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolyForm {
    /// NTT evaluations in bit-reversed order.
    Ntt,
    /// Coefficients in standard order.
    Coeff,
}

/// One instruction. See the module documentation for the semantics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Instruction {
    /// `slot[dst] = buffer[buffer].limb[limb]`.
    Load { dst: Slot, buffer: u32, limb: u32 },
    /// `buffer[buffer].limb[limb] = slot[src]`.
    Store { src: Slot, buffer: u32, limb: u32 },
    /// Forward NTT of `slot` in place.
    Ntt { slot: Slot, modulus: ModulusIndex },
    /// Inverse NTT of `slot` in place (including `N^-1`).
    Intt { slot: Slot, modulus: ModulusIndex },
    /// `dst = a + b mod q`.
    Add {
        dst: Slot,
        a: Slot,
        b: Slot,
        modulus: ModulusIndex,
    },
    /// `dst = a - b mod q`.
    Sub {
        dst: Slot,
        a: Slot,
        b: Slot,
        modulus: ModulusIndex,
    },
    /// `dst = a * b mod q`, element-wise.
    Mul {
        dst: Slot,
        a: Slot,
        b: Slot,
        modulus: ModulusIndex,
    },
    /// `dst = a + scalar mod q` (`scalar` in `[0, q)`).
    AddScalar {
        dst: Slot,
        a: Slot,
        scalar: u64,
        modulus: ModulusIndex,
    },
    /// `dst = a * scalar mod q` (`scalar` in `[0, q)`).
    MulScalar {
        dst: Slot,
        a: Slot,
        scalar: u64,
        modulus: ModulusIndex,
    },
    /// `acc = acc + a * b mod q`.
    Mac {
        acc: Slot,
        a: Slot,
        b: Slot,
        modulus: ModulusIndex,
    },
    /// `dst = src(X^galois)`; `galois` odd in `[1, 2N)`.
    Automorph {
        dst: Slot,
        src: Slot,
        galois: u64,
        form: PolyForm,
        modulus: ModulusIndex,
    },
    /// Basis conversion of coefficient-form vectors; `src`/`from` and `dst`/`to` pair up.
    Bconv {
        src: Vec<Slot>,
        from: Vec<ModulusIndex>,
        dst: Vec<Slot>,
        to: Vec<ModulusIndex>,
        centered: bool,
    },
    /// `dst = src`.
    Copy { dst: Slot, src: Slot },
}

/// A program of ISA v1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// Must be [`ISA_VERSION`].
    pub version: u32,
    /// `log2(N)`, in `[4, 17]`.
    pub log_n: u32,
    /// Prime table: NTT-friendly primes (`q = 1 mod 2N`, `q < 2^61`), distinct.
    pub moduli: Vec<u64>,
    /// Scratchpad slots the program uses, at least 1.
    pub slots: u32,
    /// Off-chip buffers, names unique.
    pub buffers: Vec<Buffer>,
    /// The instruction stream, executed in order (the timing model overlaps independent ones).
    pub instructions: Vec<Instruction>,
}

impl Instruction {
    /// The instruction's name as in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Instruction::Load { .. } => "load",
            Instruction::Store { .. } => "store",
            Instruction::Ntt { .. } => "ntt",
            Instruction::Intt { .. } => "intt",
            Instruction::Add { .. } => "add",
            Instruction::Sub { .. } => "sub",
            Instruction::Mul { .. } => "mul",
            Instruction::AddScalar { .. } => "add_scalar",
            Instruction::MulScalar { .. } => "mul_scalar",
            Instruction::Mac { .. } => "mac",
            Instruction::Automorph { .. } => "automorph",
            Instruction::Bconv { .. } => "bconv",
            Instruction::Copy { .. } => "copy",
        }
    }

    /// Slots read, in order.
    pub fn reads(&self) -> Vec<Slot> {
        use Instruction::*;
        match self {
            Load { .. } => vec![],
            Store { src, .. } => vec![*src],
            Ntt { slot, .. } | Intt { slot, .. } => vec![*slot],
            Add { a, b, .. } | Sub { a, b, .. } | Mul { a, b, .. } => vec![*a, *b],
            AddScalar { a, .. } | MulScalar { a, .. } => vec![*a],
            Mac { acc, a, b, .. } => vec![*acc, *a, *b],
            Automorph { src, .. } | Copy { src, .. } => vec![*src],
            Bconv { src, .. } => src.clone(),
        }
    }

    /// Slots written, in order.
    pub fn writes(&self) -> Vec<Slot> {
        use Instruction::*;
        match self {
            Load { dst, .. } => vec![*dst],
            Store { .. } => vec![],
            Ntt { slot, .. } | Intt { slot, .. } => vec![*slot],
            Add { dst, .. } | Sub { dst, .. } | Mul { dst, .. } => vec![*dst],
            AddScalar { dst, .. }
            | MulScalar { dst, .. }
            | Automorph { dst, .. }
            | Copy { dst, .. } => vec![*dst],
            Mac { acc, .. } => vec![*acc],
            Bconv { dst, .. } => dst.clone(),
        }
    }
}

impl Program {
    /// An empty program for `N = 2^log_n` over `moduli` with `slots` scratchpad slots.
    pub fn new(log_n: u32, moduli: Vec<u64>, slots: u32) -> Self {
        Program {
            version: ISA_VERSION,
            log_n,
            moduli,
            slots,
            buffers: Vec::new(),
            instructions: Vec::new(),
        }
    }

    /// Ring degree `N`.
    pub fn n(&self) -> usize {
        1 << self.log_n
    }

    /// Checks every field; `source_name` (a file name, say) starts every error message.
    pub fn validate(&self, source_name: &str) -> Result<()> {
        let err = |field: String, reason: String| Err(invalid(source_name, field, reason));
        if self.version != ISA_VERSION {
            return err(
                "version".into(),
                format!(
                    "{} is not supported; this reader takes version {ISA_VERSION}",
                    self.version
                ),
            );
        }
        if !(4..=17).contains(&self.log_n) {
            return err("log_n".into(), format!("{} is outside [4, 17]", self.log_n));
        }
        if self.moduli.is_empty() || self.moduli.len() > ModulusIndex::MAX as usize {
            return err(
                "moduli".into(),
                format!(
                    "needs 1 to {} primes, found {}",
                    ModulusIndex::MAX,
                    self.moduli.len()
                ),
            );
        }
        let two_n = 2u64 << self.log_n;
        for (i, &q) in self.moduli.iter().enumerate() {
            if q >> 61 != 0 || q % two_n != 1 || !is_prime(q) {
                return err(
                    format!("moduli[{i}]"),
                    format!("{q} must be a prime below 2^61 congruent to 1 mod 2N = {two_n}"),
                );
            }
            if self.moduli[..i].contains(&q) {
                return err(format!("moduli[{i}]"), format!("{q} appears twice"));
            }
        }
        if self.slots == 0 {
            return err("slots".into(), "must be at least 1".into());
        }
        for (i, b) in self.buffers.iter().enumerate() {
            if b.limbs == 0 {
                return err(format!("buffers[{i}].limbs"), "must be at least 1".into());
            }
            if self.buffers[..i].iter().any(|other| other.name == b.name) {
                return err(
                    format!("buffers[{i}].name"),
                    format!("`{}` is declared twice", b.name),
                );
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
                for (i, &s) in src.iter().enumerate() {
                    slot(&format!("src[{i}]"), s)?;
                }
                for (i, &s) in dst.iter().enumerate() {
                    slot(&format!("dst[{i}]"), s)?;
                }
                for (i, &m) in from.iter().enumerate() {
                    modulus(&format!("from[{i}]"), m)?;
                    if from[..i].contains(&m) {
                        return Err((
                            format!("from[{i}]"),
                            format!("modulus index {m} appears twice"),
                        ));
                    }
                }
                for (i, &m) in to.iter().enumerate() {
                    modulus(&format!("to[{i}]"), m)?;
                    if from.contains(&m) {
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
        }
    }

    /// Parses and validates a program from JSON text; errors name `source_name` and the field.
    pub fn from_json(text: &str, source_name: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let program: Program =
            serde_path_to_error::deserialize(de).map_err(|e| SimError::Parse {
                source_name: source_name.to_string(),
                reason: format!("field `{}`: {}", e.path(), e.inner()),
            })?;
        program.validate(source_name)?;
        Ok(program)
    }

    /// The JSON text of the program.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("programs serialize")
    }

    /// The compact binary form: `HEAX`, version (u32 little-endian), bincode body.
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = BINARY_MAGIC.to_vec();
        out.extend_from_slice(&ISA_VERSION.to_le_bytes());
        out.extend(bincode::serialize(self).expect("programs serialize"));
        out
    }

    /// Parses and validates the binary form.
    pub fn from_binary(bytes: &[u8], source_name: &str) -> Result<Self> {
        let parse = |reason: String| SimError::Parse {
            source_name: source_name.to_string(),
            reason,
        };
        if bytes.len() < 8 || bytes[..4] != BINARY_MAGIC {
            return Err(parse(
                "not a heaccel binary program (missing `HEAX` magic)".into(),
            ));
        }
        let version = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
        if version != ISA_VERSION {
            return Err(parse(format!(
                "binary program version {version}; this reader takes {ISA_VERSION}"
            )));
        }
        // bincode with a size limit, so a corrupt length cannot allocate without bound.
        use bincode::Options;
        let program: Program = bincode::DefaultOptions::new()
            .with_fixint_encoding()
            .allow_trailing_bytes()
            .with_limit(bytes.len() as u64 * 8 + 1024)
            .deserialize(&bytes[8..])
            .map_err(|e| parse(format!("malformed binary program: {e}")))?;
        program.validate(source_name)?;
        Ok(program)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use heaccel_verification::arith::ntt_primes;

    fn sample() -> Program {
        let moduli = ntt_primes(30, 10, 2, &[]).unwrap();
        let mut p = Program::new(10, moduli, 4);
        p.buffers.push(Buffer {
            name: "x".into(),
            limbs: 2,
            role: BufferRole::Input,
        });
        p.buffers.push(Buffer {
            name: "y".into(),
            limbs: 2,
            role: BufferRole::Output,
        });
        use Instruction::*;
        p.instructions = vec![
            Load {
                dst: 0,
                buffer: 0,
                limb: 0,
            },
            Ntt {
                slot: 0,
                modulus: 0,
            },
            Mul {
                dst: 1,
                a: 0,
                b: 0,
                modulus: 0,
            },
            MulScalar {
                dst: 1,
                a: 1,
                scalar: 3,
                modulus: 0,
            },
            Mac {
                acc: 1,
                a: 0,
                b: 0,
                modulus: 0,
            },
            Automorph {
                dst: 2,
                src: 1,
                galois: 5,
                form: PolyForm::Ntt,
                modulus: 0,
            },
            Intt {
                slot: 2,
                modulus: 0,
            },
            Bconv {
                src: vec![2],
                from: vec![0],
                dst: vec![3],
                to: vec![1],
                centered: true,
            },
            Copy { dst: 0, src: 3 },
            Store {
                src: 0,
                buffer: 1,
                limb: 1,
            },
        ];
        p
    }

    #[test]
    fn json_and_binary_round_trip() {
        let p = sample();
        p.validate("sample").unwrap();
        let text = p.to_json();
        assert!(text.contains("\"mul_scalar\": {"), "{text}");
        assert_eq!(Program::from_json(&text, "sample.json").unwrap(), p);
        let bytes = p.to_binary();
        assert_eq!(&bytes[..4], b"HEAX");
        assert!(
            bytes.len() < text.len() / 2,
            "binary {} vs json {}",
            bytes.len(),
            text.len()
        );
        assert_eq!(Program::from_binary(&bytes, "sample.bin").unwrap(), p);
    }

    #[test]
    fn reads_and_writes() {
        let p = sample();
        assert_eq!(p.instructions[4].reads(), vec![1, 0, 0]);
        assert_eq!(p.instructions[4].writes(), vec![1]);
        assert_eq!(p.instructions[7].writes(), vec![3]);
        assert!(p.instructions[9].writes().is_empty());
    }

    #[test]
    fn malformed_programs_name_the_field() {
        let check = |p: Program, field: &str| {
            let e = p.validate("prog.json").unwrap_err();
            let text = e.to_string();
            assert!(text.starts_with("prog.json"), "{text}");
            assert!(text.contains(field), "expected `{field}` in: {text}");
        };
        let mut p = sample();
        p.version = 2;
        check(p, "version");
        let mut p = sample();
        p.moduli[1] = 97;
        check(p, "moduli[1]");
        let mut p = sample();
        p.instructions[2] = Instruction::Mul {
            dst: 9,
            a: 0,
            b: 0,
            modulus: 0,
        };
        check(p, "instructions[2].dst");
        let mut p = sample();
        p.instructions[3] = Instruction::MulScalar {
            dst: 1,
            a: 1,
            scalar: u64::MAX,
            modulus: 0,
        };
        check(p, "instructions[3].scalar");
        let mut p = sample();
        p.instructions[5] = Instruction::Automorph {
            dst: 2,
            src: 1,
            galois: 4,
            form: PolyForm::Ntt,
            modulus: 0,
        };
        check(p, "instructions[5].galois");
        let mut p = sample();
        p.instructions[0] = Instruction::Load {
            dst: 0,
            buffer: 0,
            limb: 2,
        };
        check(p, "instructions[0].limb");
        let mut p = sample();
        p.instructions[7] = Instruction::Bconv {
            src: vec![2],
            from: vec![0],
            dst: vec![3],
            to: vec![0],
            centered: false,
        };
        check(p, "instructions[7].to[0]");
        let mut p = sample();
        p.buffers[1].name = "x".into();
        check(p, "buffers[1].name");
    }

    #[test]
    fn bad_text_and_bytes_are_errors() {
        let text = sample().to_json().replacen("\"dst\": 1", "\"dts\": 1", 1);
        let e = Program::from_json(&text, "p.json").unwrap_err().to_string();
        assert!(e.contains("p.json") && e.contains("dts"), "{e}");
        let e = Program::from_json("{\"version\": \"one\"}", "p.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("version"), "{e}");
        assert!(Program::from_binary(b"nope", "p.bin").is_err());
        let mut bytes = sample().to_binary();
        bytes.truncate(bytes.len() / 2);
        assert!(Program::from_binary(&bytes, "p.bin").is_err());
        let mut bytes = sample().to_binary();
        for b in bytes.iter_mut().skip(8).step_by(7) {
            *b ^= 0xa5;
        }
        // Corrupt bytes give an error (parse or validation), never a panic or a huge allocation.
        let _ = Program::from_binary(&bytes, "p.bin");
    }
}
