//! Lowering of CKKS operations to ISA programs, bit-exact with `heaccel-verification`.
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
//!
//! Files: `builder` (the program builder, prime table and key-limb indices), `elementwise`
//! (operations without key switching), `keyswitch` (decomposition, ModUp, inner product,
//! ModDown), `switched` (HMult with relinearization, automorphisms), `rescale` (rescale,
//! ModRaise), `memory` (operands in and out of off-chip memory), `operand` (buffer names),
//! `error`.

mod builder;
mod elementwise;
mod error;
mod keyswitch;
mod memory;
mod operand;
mod rescale;
mod switched;

pub use builder::prime_table;
pub use elementwise::{
    lower_add, lower_add_const, lower_add_plain, lower_drop_level, lower_inner_product,
    lower_mul_const, lower_mul_monomial, lower_neg, lower_pmult, lower_sub, monomial_limbs,
};
pub use error::LowerError;
pub use memory::{
    check_whole_keys, read_ciphertext, write_ciphertext, write_plaintext, write_switching_key,
};
pub use operand::{ciphertext_buffer, key_buffer, plaintext_buffer, BufferOperand, OperandStem};
pub use rescale::{lower_mod_raise, lower_rescale};
pub use switched::{lower_automorphisms, lower_hmult_relin};

type Result<T> = std::result::Result<T, LowerError>;
