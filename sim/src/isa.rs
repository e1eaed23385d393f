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
//!
//! One concern a file: this file holds the limits and the program's types (what an
//! instruction reads and writes); [`Program::validate`] is in `isa/validate.rs`, the JSON
//! format in `isa/json.rs`, the binary format in `isa/binary.rs`, the length-bounded list
//! readers both formats share in `isa/bounded.rs`.
//!
//! [`SimError::Limit`]: crate::error::SimError::Limit

use serde::{Deserialize, Serialize};

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
}

mod binary;
mod bounded;
mod json;
mod validate;

#[cfg(test)]
mod tests;
