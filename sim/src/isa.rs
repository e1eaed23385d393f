//! ISA v2: the contract between the host compiler and the accelerator.
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
//! | `free` | allocation hint (v2): buffer `buffer`'s contents are dead; no later instruction reads it |
//!
//! **Versions.** v2 adds the buffer role `plaintext` (weights and other encoded constants, so
//! off-chip traffic can be told apart from ciphertexts) and the `free` hint, which a
//! whole-network program places after a value's last use so the scratchpad allocator
//! ([`crate::alloc`]) can drop its on-chip copy instead of writing it back. Executors and the
//! timing model treat `free` as a no-op. Readers take v1 and v2; a v1 program may use neither
//! addition. Writers write v2.
//!
//! Element values are always reduced (`[0, q)`); an operation reads all its sources before it
//! writes, so `dst` may equal a source. Serialized as JSON (each instruction an object with one
//! key, the op: `{"mul": {"dst": 1, "a": 0, "b": 2, "modulus": 0}}`) or as a compact binary
//! form (magic `HEAX`, version, bincode body).
//!
//! **Limits.** Every size a program's author controls has a documented limit, checked by
//! [`Program::validate`] before any work proportional to it (the readers also stop a list at
//! its limit while reading, before reading or allocating further elements):
//!
//! | size | limit |
//! |---|---|
//! | `log_n` | `[4, 17]` ([`MIN_LOG_N`], [`MAX_LOG_N`]) |
//! | primes in `moduli` | 1 to 1,024 ([`MAX_MODULI`]) |
//! | `slots` | 1 to 2^20 ([`MAX_SLOTS`]) |
//! | `buffers` | 2^20 ([`MAX_BUFFERS`]) |
//! | `limbs` of a buffer | 1 to 2^16 ([`MAX_LIMBS`]) |
//! | bytes of a buffer name | 1,024 ([`MAX_NAME_BYTES`]) |
//! | `instructions` | 2^24 ([`MAX_INSTRUCTIONS`]) |
//! | `src`/`from` and `dst`/`to` of a `bconv` | 1 to 1,024 each ([`MAX_MODULI`]) |
//!
//! They hold every program the lowering produces with room to spare (a rotation at
//! N = 2^16, L = 35 uses under 100 primes and slots), and bound what a program can cost: the
//! timing model's totals stay far inside 64 bits. A size over its limit is
//! [`SimError::Limit`].

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{invalid, Result, SimError};
use heaccel_verification::arith::is_prime;

/// The ISA version this crate writes; it reads this one and [`MIN_ISA_VERSION`].
pub const ISA_VERSION: u32 = 2;

/// The oldest ISA version this crate reads (v1: no `plaintext` role, no `free` hint).
pub const MIN_ISA_VERSION: u32 = 1;

/// Magic bytes that open the binary form.
pub const BINARY_MAGIC: [u8; 4] = *b"HEAX";

/// Bytes of the binary form's header: [`BINARY_MAGIC`] and the version (u32 little-endian).
pub const BINARY_HEADER_BYTES: usize = 8;

/// Smallest `log_n` (`N = 16`).
pub const MIN_LOG_N: u32 = 4;
/// Largest `log_n` (`N = 2^17`).
pub const MAX_LOG_N: u32 = 17;
/// Most primes in [`Program::moduli`], and most limbs a basis conversion reads or writes.
pub const MAX_MODULI: usize = 1024;
/// Most scratchpad slots ([`Program::slots`]).
pub const MAX_SLOTS: u32 = 1 << 20;
/// Most off-chip buffers ([`Program::buffers`]).
pub const MAX_BUFFERS: usize = 1 << 20;
/// Most limb vectors in one buffer ([`Buffer::limbs`]).
pub const MAX_LIMBS: u32 = 1 << 16;
/// Longest buffer name, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 1024;
/// Most instructions in a program ([`Program::instructions`]).
pub const MAX_INSTRUCTIONS: usize = 1 << 24;

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
    /// Spill space of the program itself, and intermediate values of a whole-network
    /// program.
    Temp,
    /// Encoded plaintexts (weights, masks, constants) supplied by the host (v2).
    Plaintext,
}

/// An off-chip buffer of `limbs` vectors of `N` words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buffer {
    /// Unique name, e.g. `ct0.c1` or `rlk.digit3.b`; at most [`MAX_NAME_BYTES`] bytes.
    pub name: String,
    /// Number of limb vectors, `[1, MAX_LIMBS]` (at most 65,536).
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
    Load {
        /// Destination slot.
        dst: Slot,
        /// Buffer number (index into [`Program::buffers`]).
        buffer: u32,
        /// Limb of the buffer, `[0, limbs)`.
        limb: u32,
    },
    /// `buffer[buffer].limb[limb] = slot[src]`.
    Store {
        /// Source slot.
        src: Slot,
        /// Buffer number (index into [`Program::buffers`]).
        buffer: u32,
        /// Limb of the buffer, `[0, limbs)`.
        limb: u32,
    },
    /// Forward NTT of `slot` in place.
    Ntt {
        /// The slot transformed in place.
        slot: Slot,
        /// Index of the prime in [`Program::moduli`].
        modulus: ModulusIndex,
    },
    /// Inverse NTT of `slot` in place (including `N^-1`).
    Intt {
        /// The slot transformed in place.
        slot: Slot,
        /// Index of the prime in [`Program::moduli`].
        modulus: ModulusIndex,
    },
    /// `dst = a + b mod q`.
    Add {
        /// Destination slot.
        dst: Slot,
        /// First operand slot.
        a: Slot,
        /// Second operand slot.
        b: Slot,
        /// Index of the prime in [`Program::moduli`].
        modulus: ModulusIndex,
    },
    /// `dst = a - b mod q`.
    Sub {
        /// Destination slot.
        dst: Slot,
        /// First operand slot.
        a: Slot,
        /// Second operand slot.
        b: Slot,
        /// Index of the prime in [`Program::moduli`].
        modulus: ModulusIndex,
    },
    /// `dst = a * b mod q`, element-wise.
    Mul {
        /// Destination slot.
        dst: Slot,
        /// First operand slot.
        a: Slot,
        /// Second operand slot.
        b: Slot,
        /// Index of the prime in [`Program::moduli`].
        modulus: ModulusIndex,
    },
    /// `dst = a + scalar mod q` (`scalar` in `[0, q)`).
    AddScalar {
        /// Destination slot.
        dst: Slot,
        /// First operand slot.
        a: Slot,
        /// The scalar, in `[0, q)`.
        scalar: u64,
        /// Index of the prime in [`Program::moduli`].
        modulus: ModulusIndex,
    },
    /// `dst = a * scalar mod q` (`scalar` in `[0, q)`).
    MulScalar {
        /// Destination slot.
        dst: Slot,
        /// First operand slot.
        a: Slot,
        /// The scalar, in `[0, q)`.
        scalar: u64,
        /// Index of the prime in [`Program::moduli`].
        modulus: ModulusIndex,
    },
    /// `acc = acc + a * b mod q`.
    Mac {
        /// Accumulator slot, read and written.
        acc: Slot,
        /// First operand slot.
        a: Slot,
        /// Second operand slot.
        b: Slot,
        /// Index of the prime in [`Program::moduli`].
        modulus: ModulusIndex,
    },
    /// `dst = src(X^galois)`; `galois` odd in `[1, 2N)`.
    Automorph {
        /// Destination slot.
        dst: Slot,
        /// Source slot.
        src: Slot,
        /// Galois element, odd, in `[1, 2N)`.
        galois: u64,
        /// Form of the vectors permuted.
        form: PolyForm,
        /// Index of the prime in [`Program::moduli`].
        modulus: ModulusIndex,
    },
    /// Basis conversion of coefficient-form vectors; `src`/`from` and `dst`/`to` pair up,
    /// each list 1 to [`MAX_MODULI`] long.
    Bconv {
        #[serde(deserialize_with = "bounded::bconv_slots")]
        /// Source slots, one limb each (1 to [`MAX_MODULI`]).
        src: Vec<Slot>,
        #[serde(deserialize_with = "bounded::bconv_moduli")]
        /// Primes of the sources, one per `src` slot.
        from: Vec<ModulusIndex>,
        #[serde(deserialize_with = "bounded::bconv_slots")]
        /// Destination slots, one limb each (1 to [`MAX_MODULI`]).
        dst: Vec<Slot>,
        #[serde(deserialize_with = "bounded::bconv_moduli")]
        /// Primes of the destinations, one per `dst` slot.
        to: Vec<ModulusIndex>,
        /// Exact-centered conversion: each source residue is read in `(-q/2, q/2]` (else in
        /// `[0, q)`).
        centered: bool,
    },
    /// `dst = src`.
    Copy {
        /// Destination slot.
        dst: Slot,
        /// Source slot.
        src: Slot,
    },
    /// Allocation hint (v2): the contents of buffer `buffer` are dead from here on; no later
    /// instruction loads from it before storing to it again (a store makes it live: a
    /// buffer may be reused, e.g. an operation's temporary). No effect on results.
    Free {
        /// Buffer number (index into [`Program::buffers`]).
        buffer: u32,
    },
}

/// A program of ISA v1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    /// Must be [`ISA_VERSION`].
    pub version: u32,
    /// `log2(N)`, in `[MIN_LOG_N, MAX_LOG_N]` = `[4, 17]`.
    pub log_n: u32,
    /// Prime table: NTT-friendly primes (`q = 1 mod 2N`, `q < 2^61`), distinct; 1 to
    /// [`MAX_MODULI`] (1,024) of them.
    #[serde(deserialize_with = "bounded::moduli")]
    pub moduli: Vec<u64>,
    /// Scratchpad slots the program uses, `[1, MAX_SLOTS]` (at most 2^20).
    pub slots: u32,
    /// Off-chip buffers, names unique; at most [`MAX_BUFFERS`] (2^20).
    #[serde(deserialize_with = "bounded::buffers")]
    pub buffers: Vec<Buffer>,
    /// The instruction stream, executed in order (the timing model overlaps independent ones);
    /// at most [`MAX_INSTRUCTIONS`] (2^24).
    #[serde(deserialize_with = "bounded::instructions")]
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
            Instruction::Free { .. } => "free",
        }
    }

    /// Slots read, in order.
    pub fn reads(&self) -> Vec<Slot> {
        use Instruction::*;
        match self {
            Load { .. } | Free { .. } => vec![],
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
            Store { .. } | Free { .. } => vec![],
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
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend(bincode::serialize(self).expect("programs serialize"));
        out
    }

    /// Parses and validates the binary form. Errors name `source_name`: a file shorter than
    /// the header, a wrong magic or version, a list longer than its limit (refused when its
    /// length is read), a length or value that runs past the end of the file
    /// ([`SimError::Truncated`]) and any other malformation.
    pub fn from_binary(bytes: &[u8], source_name: &str) -> Result<Self> {
        let parse = |reason: String| SimError::Parse {
            source_name: source_name.to_string(),
            reason,
        };
        if bytes.len() < BINARY_HEADER_BYTES {
            return Err(parse(format!(
                "{} bytes; a HEAX program starts with an {BINARY_HEADER_BYTES}-byte header \
                 (magic `HEAX`, version)",
                bytes.len()
            )));
        }
        if bytes[..4] != BINARY_MAGIC {
            return Err(parse(
                "not a heaccel binary program (missing `HEAX` magic)".into(),
            ));
        }
        let version = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
        if !(MIN_ISA_VERSION..=ISA_VERSION).contains(&version) {
            return Err(parse(format!(
                "binary program version {version}; this reader takes {MIN_ISA_VERSION} to \
                 {ISA_VERSION}"
            )));
        }
        // bincode as `to_binary` writes it (fixed-size little-endian integers), read through
        // a reader that refuses any length or value running past the end of the file before
        // allocating for it; lists stop at their limits (`bounded`).
        use bincode::Options;
        let reader = BodyReader {
            bytes,
            pos: BINARY_HEADER_BYTES,
        };
        let program: Program = bincode::DefaultOptions::new()
            .with_fixint_encoding()
            .allow_trailing_bytes()
            .deserialize_from_custom(reader)
            .map_err(|e| {
                if let bincode::ErrorKind::Io(io) = &*e {
                    if let Some(past) = io.get_ref().and_then(|e| e.downcast_ref::<PastEnd>()) {
                        return SimError::Truncated {
                            source_name: source_name.to_string(),
                            what: past.what,
                            needed: past.needed as u64,
                            offset: past.offset as u64,
                            file_bytes: bytes.len() as u64,
                        };
                    }
                }
                parse(format!("malformed binary program: {e}"))
            })?;
        if program.version != version {
            return Err(parse(format!(
                "the header says version {version}, the body version {}",
                program.version
            )));
        }
        program.validate(source_name)?;
        Ok(program)
    }
}

/// A read past the end of a binary program (carried through bincode's I/O error).
#[derive(Debug)]
struct PastEnd {
    what: &'static str,
    needed: usize,
    offset: usize,
}

impl std::fmt::Display for PastEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} bytes at byte {} runs past the end",
            self.what, self.needed, self.offset
        )
    }
}

impl std::error::Error for PastEnd {}

/// The body of a binary program: the whole file and the position in it, so errors give file
/// offsets.
struct BodyReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BodyReader<'a> {
    /// The next `needed` bytes, or a [`PastEnd`] error (nothing allocated) when the file ends
    /// before them.
    fn take(&mut self, needed: usize, what: &'static str) -> std::io::Result<&'a [u8]> {
        let rest = &self.bytes[self.pos..];
        if needed > rest.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                PastEnd {
                    what,
                    needed,
                    offset: self.pos,
                },
            ));
        }
        self.pos += needed;
        Ok(&rest[..needed])
    }
}

impl std::io::Read for BodyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let data = self.take(out.len(), "a value")?;
        out.copy_from_slice(data);
        Ok(out.len())
    }

    fn read_exact(&mut self, out: &mut [u8]) -> std::io::Result<()> {
        self.read(out).map(|_| ())
    }
}

impl<'a> bincode::BincodeRead<'a> for BodyReader<'a> {
    fn forward_read_str<V: serde::de::Visitor<'a>>(
        &mut self,
        length: usize,
        visitor: V,
    ) -> bincode::Result<V::Value> {
        let data = self.take(length, "a string")?;
        let text = std::str::from_utf8(data)
            .map_err(|e| Box::new(bincode::ErrorKind::InvalidUtf8Encoding(e)))?;
        visitor.visit_borrowed_str(text)
    }

    fn get_byte_buffer(&mut self, length: usize) -> bincode::Result<Vec<u8>> {
        Ok(self.take(length, "a string")?.to_vec())
    }

    fn forward_read_bytes<V: serde::de::Visitor<'a>>(
        &mut self,
        length: usize,
        visitor: V,
    ) -> bincode::Result<V::Value> {
        visitor.visit_borrowed_bytes(self.take(length, "a byte string")?)
    }
}

/// Deserializers of the program's lists that stop at the list's limit: a declared length
/// (binary) over the limit is refused before any element is read, and a list (JSON) is
/// refused at its first element past the limit.
mod bounded {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{Deserialize, Deserializer, Error, SeqAccess, Visitor};

    use super::{Buffer, Instruction, ModulusIndex, Slot};
    use super::{MAX_BUFFERS, MAX_INSTRUCTIONS, MAX_MODULI};

    struct Bounded<T> {
        field: &'static str,
        limit: usize,
        marker: PhantomData<T>,
    }

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Bounded<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a list of at most {} elements", self.limit)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let declared = seq.size_hint();
            if let Some(n) = declared.filter(|&n| n > self.limit) {
                return Err(A::Error::custom(format!(
                    "`{}` declares {n} elements, more than the limit of {}",
                    self.field, self.limit
                )));
            }
            // Never more capacity up front than the limit or a few pages.
            let mut out = Vec::with_capacity(declared.unwrap_or(0).min(self.limit).min(4096));
            while let Some(x) = seq.next_element()? {
                if out.len() == self.limit {
                    return Err(A::Error::custom(format!(
                        "`{}` has more than the limit of {} elements",
                        self.field, self.limit
                    )));
                }
                out.push(x);
            }
            Ok(out)
        }
    }

    fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
        field: &'static str,
        limit: usize,
    ) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(Bounded {
            field,
            limit,
            marker: PhantomData,
        })
    }

    pub(super) fn moduli<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        list(d, "moduli", MAX_MODULI)
    }

    pub(super) fn buffers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Buffer>, D::Error> {
        list(d, "buffers", MAX_BUFFERS)
    }

    pub(super) fn instructions<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<Instruction>, D::Error> {
        list(d, "instructions", MAX_INSTRUCTIONS)
    }

    pub(super) fn bconv_slots<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Slot>, D::Error> {
        list(d, "bconv slots", MAX_MODULI)
    }

    pub(super) fn bconv_moduli<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<ModulusIndex>, D::Error> {
        list(d, "bconv moduli", MAX_MODULI)
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

    /// v2 adds the `plaintext` role and the `free` hint; v1 programs still read, and may use
    /// neither; both forms round-trip with their version.
    #[test]
    fn version_two_additions_and_version_one_programs() {
        let mut p = sample();
        p.buffers.push(Buffer {
            name: "w".into(),
            limbs: 1,
            role: BufferRole::Plaintext,
        });
        p.instructions.push(Instruction::Free { buffer: 0 });
        assert_eq!(p.version, 2);
        let text = p.to_json();
        assert!(text.contains("\"free\": {"), "{text}");
        assert!(text.contains("\"plaintext\""), "{text}");
        assert_eq!(Program::from_json(&text, "v2.json").unwrap(), p);
        assert_eq!(Program::from_binary(&p.to_binary(), "v2.bin").unwrap(), p);
        assert!(p.instructions.last().unwrap().reads().is_empty());
        assert!(p.instructions.last().unwrap().writes().is_empty());
        // Freeing a buffer that does not exist names the field.
        let mut bad = p.clone();
        bad.instructions.push(Instruction::Free { buffer: 9 });
        let e = bad.validate("v2.json").unwrap_err().to_string();
        assert!(e.contains(".buffer") && e.contains("buffer 9"), "{e}");
        // v1: the sample without additions reads, in both forms, with its version kept.
        let mut v1 = sample();
        v1.version = 1;
        assert_eq!(Program::from_json(&v1.to_json(), "v1.json").unwrap(), v1);
        let bytes = v1.to_binary();
        assert_eq!(bytes[4..8], 1u32.to_le_bytes());
        assert_eq!(Program::from_binary(&bytes, "v1.bin").unwrap(), v1);
        // ... and refuses each v2 addition, naming it.
        let mut role = p.clone();
        role.version = 1;
        role.instructions.pop();
        let e = role.validate("v1.json").unwrap_err().to_string();
        assert!(
            e.contains("buffers[2].role") && e.contains("version 2"),
            "{e}"
        );
        let mut free = sample();
        free.version = 1;
        free.instructions.push(Instruction::Free { buffer: 0 });
        let e = free.validate("v1.json").unwrap_err().to_string();
        assert!(e.contains("free") && e.contains("version 2"), "{e}");
        // Versions outside [1, 2] are refused in both forms.
        for v in [0u32, 3] {
            let mut q = sample();
            q.version = v;
            assert!(q.validate("q").unwrap_err().to_string().contains("version"));
            let mut bytes = sample().to_binary();
            bytes[4..8].copy_from_slice(&v.to_le_bytes());
            assert!(Program::from_binary(&bytes, "q.bin")
                .unwrap_err()
                .to_string()
                .contains("version"));
        }
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
        p.version = ISA_VERSION + 1;
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
