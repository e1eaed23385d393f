//! Word-level modular arithmetic: moduli, Barrett and Shoup products, primes and roots.

pub mod modulus;
pub mod prime;

pub use modulus::{first_unreduced, Modulus, MAX_MODULUS_BITS};
pub use prime::{is_prime, minimal_primitive_root, ntt_primes};

/// Reverses the low `bits` bits of `x` (`bits` in `[0, 64]`).
#[inline(always)]
pub fn bit_reverse(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits)
    }
}
