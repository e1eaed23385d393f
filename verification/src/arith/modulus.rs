//! Word-sized prime moduli and their multiplication algorithms.
//!
//! Every value handed to a method is a `u64`; the documentation of each method states the
//! range it accepts and the range it returns. "Lazy" methods skip the final conditional
//! subtraction and return values in `[0, 2q)`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest supported modulus width in bits. Lazy NTT butterflies keep values in `[0, 4q)`,
/// which needs `4q < 2^64`; 61 bits leaves one bit of slack.
pub const MAX_MODULUS_BITS: u32 = 61;

/// A modulus `q` with `2 <= q < 2^61`, and the constants its reductions need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct Modulus {
    q: u64,
    /// `floor(2^128 / q)`, split into (low, high) 64-bit words: the Barrett constant for
    /// 128-bit inputs.
    barrett_lo: u64,
    barrett_hi: u64,
    bits: u32,
}

impl TryFrom<u64> for Modulus {
    type Error = Error;
    fn try_from(q: u64) -> Result<Self> {
        Modulus::new(q)
    }
}

impl From<Modulus> for u64 {
    fn from(m: Modulus) -> u64 {
        m.q
    }
}

/// `x mod q` for `x` in `[0, 2q)`, `q < 2^63`, without a branch: when `x < q` the subtraction
/// wraps to a value above `x`, so the minimum picks the right one.
#[inline(always)]
pub fn reduce_once(x: u64, q: u64) -> u64 {
    x.min(x.wrapping_sub(q))
}

/// `x | (q - 1 - x)`, whose top bit is set exactly when `x >= q` (`1 <= q < 2^61`): `x` in
/// `[q, 2^63)` wraps the difference, larger `x` has the bit itself. Branch-free, so an OR of
/// it over a slice checks the slice in one vectorizable pass.
#[inline(always)]
pub fn unreduced_flag(x: u64, q: u64) -> u64 {
    x | (q - 1).wrapping_sub(x)
}

/// Position of the first value `>= q` in `values`, or `None` when all are reduced
/// (`q < 2^61`). The common all-reduced case is one branch-free pass of [`unreduced_flag`].
pub fn first_unreduced(values: &[u64], q: u64) -> Option<usize> {
    let flags = values
        .iter()
        .fold(0u64, |acc, &x| acc | unreduced_flag(x, q));
    if flags >> 63 == 0 {
        None
    } else {
        values.iter().position(|&x| x >= q)
    }
}

impl Modulus {
    /// Builds the reduction constants of `q`; `q` must lie in `[2, 2^61)`.
    pub fn new(q: u64) -> Result<Self> {
        if q < 2 || q >> MAX_MODULUS_BITS != 0 {
            return Err(Error::InvalidModulus {
                q,
                reason: format!("must lie in [2, 2^{MAX_MODULUS_BITS})"),
            });
        }
        let ratio = u128::MAX / q as u128; // floor((2^128 - 1) / q) == floor(2^128 / q) for q not a power of two
        let ratio = if (q as u128).is_power_of_two() {
            ratio + 1
        } else {
            ratio
        };
        Ok(Modulus {
            q,
            barrett_lo: ratio as u64,
            barrett_hi: (ratio >> 64) as u64,
            bits: 64 - q.leading_zeros(),
        })
    }

    /// The modulus value.
    #[inline(always)]
    pub fn value(&self) -> u64 {
        self.q
    }

    /// Bit width of `q`.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// `(a + b) mod q` for `a, b` in `[0, q)`; result in `[0, q)`.
    #[inline(always)]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        debug_assert!(a < self.q && b < self.q);
        reduce_once(a + b, self.q)
    }

    /// `(a - b) mod q` for `a, b` in `[0, q)`; result in `[0, q)`.
    #[inline(always)]
    pub fn sub(&self, a: u64, b: u64) -> u64 {
        debug_assert!(a < self.q && b < self.q);
        reduce_once(a + self.q - b, self.q)
    }

    /// `-a mod q` for `a` in `[0, q)`; result in `[0, q)`.
    #[inline(always)]
    pub fn neg(&self, a: u64) -> u64 {
        debug_assert!(a < self.q);
        if a == 0 {
            0
        } else {
            self.q - a
        }
    }

    /// Barrett reduction of a 128-bit value `x` (any `x < 2^128`) into `[0, 2q)`.
    #[inline(always)]
    pub fn reduce_u128_lazy(&self, x: u128) -> u64 {
        let x_lo = x as u64;
        let x_hi = (x >> 64) as u64;
        // floor(x * ratio / 2^128) computed exactly from the partial products (the low word
        // of x_lo * ratio_lo cannot carry into bit 128); it is at most one below
        // floor(x / q) because ratio = floor(2^128 / q), so the remainder lands in [0, 2q).
        let lo_lo_hi = ((x_lo as u128 * self.barrett_lo as u128) >> 64) as u64;
        let lo_hi = x_lo as u128 * self.barrett_hi as u128 + lo_lo_hi as u128;
        let hi_lo = x_hi as u128 * self.barrett_lo as u128 + (lo_hi as u64) as u128;
        let quotient = x_hi
            .wrapping_mul(self.barrett_hi)
            .wrapping_add((lo_hi >> 64) as u64)
            .wrapping_add((hi_lo >> 64) as u64);
        x_lo.wrapping_sub(quotient.wrapping_mul(self.q))
    }

    /// Barrett reduction of a 128-bit value into `[0, q)`.
    #[inline(always)]
    pub fn reduce_u128(&self, x: u128) -> u64 {
        reduce_once(self.reduce_u128_lazy(x), self.q)
    }

    /// Reduction of any `u64` into `[0, q)`: single-word Barrett with `floor(2^64 / q)` (the
    /// high word of the 128-bit constant), whose quotient estimate is at most one short.
    #[inline(always)]
    pub fn reduce(&self, x: u64) -> u64 {
        let quotient = ((x as u128 * self.barrett_hi as u128) >> 64) as u64;
        reduce_once(x.wrapping_sub(quotient.wrapping_mul(self.q)), self.q)
    }

    /// Reduction of a signed value into `[0, q)`.
    #[inline(always)]
    pub fn reduce_i64(&self, x: i64) -> u64 {
        let r = self.reduce(x.unsigned_abs());
        if x < 0 {
            self.neg(r)
        } else {
            r
        }
    }

    /// Barrett product `a * b mod q` for `a, b < 2^64` with `a * b < 2^128`; result in `[0, 2q)`.
    #[inline(always)]
    pub fn mul_lazy(&self, a: u64, b: u64) -> u64 {
        self.reduce_u128_lazy(a as u128 * b as u128)
    }

    /// Barrett product `a * b mod q` for any `a, b < 2^64`; result in `[0, q)`.
    #[inline(always)]
    pub fn mul(&self, a: u64, b: u64) -> u64 {
        self.reduce_u128(a as u128 * b as u128)
    }

    /// The Shoup constant `floor(w * 2^64 / q)` of a fixed operand `w` in `[0, q)`.
    #[inline(always)]
    pub fn shoup(&self, w: u64) -> u64 {
        debug_assert!(w < self.q);
        (((w as u128) << 64) / self.q as u128) as u64
    }

    /// Shoup product `a * w mod q` for any `a < 2^64`, `w` in `[0, q)` with
    /// `w_shoup = self.shoup(w)`; result in `[0, 2q)`.
    #[inline(always)]
    pub fn mul_shoup_lazy(&self, a: u64, w: u64, w_shoup: u64) -> u64 {
        let quotient = ((a as u128 * w_shoup as u128) >> 64) as u64;
        a.wrapping_mul(w)
            .wrapping_sub(quotient.wrapping_mul(self.q))
    }

    /// Shoup product `a * w mod q`; result in `[0, q)`. See [`Modulus::mul_shoup_lazy`].
    #[inline(always)]
    pub fn mul_shoup(&self, a: u64, w: u64, w_shoup: u64) -> u64 {
        reduce_once(self.mul_shoup_lazy(a, w, w_shoup), self.q)
    }

    /// `base^exp mod q` for `base` any `u64`; result in `[0, q)`.
    pub fn pow(&self, base: u64, mut exp: u64) -> u64 {
        let mut base = self.reduce(base);
        let mut acc = 1 % self.q;
        while exp > 0 {
            if exp & 1 == 1 {
                acc = self.mul(acc, base);
            }
            base = self.mul(base, base);
            exp >>= 1;
        }
        acc
    }

    /// Multiplicative inverse of `a mod q`, or `None` when `gcd(a, q) != 1`.
    pub fn inv(&self, a: u64) -> Option<u64> {
        let (mut old_r, mut r) = (self.reduce(a) as i128, self.q as i128);
        let (mut old_s, mut s) = (1i128, 0i128);
        while r != 0 {
            let quotient = old_r / r;
            (old_r, r) = (r, old_r - quotient * r);
            (old_s, s) = (s, old_s - quotient * s);
        }
        if old_r != 1 {
            return None;
        }
        Some(old_s.rem_euclid(self.q as i128) as u64)
    }

    /// Centered representative of `a` in `[0, q)`: a value in `(-q/2, q/2]`.
    #[inline(always)]
    pub fn center(&self, a: u64) -> i64 {
        if a > self.q / 2 {
            a as i64 - self.q as i64
        } else {
            a as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn moduli() -> impl Strategy<Value = u64> {
        prop_oneof![
            2u64..1000,
            (1u64 << 20)..(1u64 << 31),
            (1u64 << 50)..(1u64 << 61),
            Just((1u64 << 61) - 1),
            Just(1u64 << 60),
        ]
    }

    proptest! {
        #[test]
        fn barrett_matches_u128(q in moduli(), a: u64, b: u64) {
            let m = Modulus::new(q).unwrap();
            let expected = (a as u128 * b as u128 % q as u128) as u64;
            prop_assert_eq!(m.mul(a, b), expected);
            let lazy = m.mul_lazy(a, b);
            prop_assert!(lazy < 2 * q);
            prop_assert_eq!(lazy % q, expected);
        }

        #[test]
        fn reduce_u128_matches(q in moduli(), x: u128) {
            let m = Modulus::new(q).unwrap();
            prop_assert_eq!(m.reduce_u128(x) as u128, x % q as u128);
        }

        #[test]
        fn shoup_matches_u128(q in moduli(), a: u64, w: u64) {
            let m = Modulus::new(q).unwrap();
            let w = w % q;
            let expected = (a as u128 * w as u128 % q as u128) as u64;
            let ws = m.shoup(w);
            let lazy = m.mul_shoup_lazy(a, w, ws);
            prop_assert!(lazy < 2 * q);
            prop_assert_eq!(lazy % q, expected);
            prop_assert_eq!(m.mul_shoup(a, w, ws), expected);
        }

        #[test]
        fn add_sub_neg(q in moduli(), a: u64, b: u64) {
            let m = Modulus::new(q).unwrap();
            let (a, b) = (a % q, b % q);
            prop_assert_eq!(m.add(a, b) as u128, (a as u128 + b as u128) % q as u128);
            prop_assert_eq!(m.sub(a, b) as u128, (a as u128 + q as u128 - b as u128) % q as u128);
            prop_assert_eq!(m.add(m.neg(a), a), 0);
        }

        #[test]
        fn inverse(q in (3u64..(1u64 << 61)).prop_filter("odd", |q| q % 2 == 1), a: u64) {
            let m = Modulus::new(q).unwrap();
            if let Some(ai) = m.inv(a) {
                prop_assert_eq!(m.mul(a, ai), 1 % q);
            }
        }

        #[test]
        fn reduce_word(q in moduli(), x: u64) {
            let m = Modulus::new(q).unwrap();
            prop_assert_eq!(m.reduce(x), x % q);
        }

        #[test]
        fn reduce_signed(q in moduli(), x: i64) {
            let m = Modulus::new(q).unwrap();
            prop_assert_eq!(m.reduce_i64(x) as i128, (x as i128).rem_euclid(q as i128));
        }
    }

    #[test]
    fn corner_operands() {
        for q in [2u64, 3, 65537, (1 << 31) - 1, (1 << 61) - 1, 1 << 60] {
            let m = Modulus::new(q).unwrap();
            for x in [0, 1, q - 1, q, q + 1, u64::MAX, u64::MAX - 1] {
                assert_eq!(m.reduce(x), x % q, "q={q} x={x}");
            }
            for a in [0, 1, q - 1, u64::MAX] {
                for b in [0, 1, q - 1, u64::MAX] {
                    let expected = (a as u128 * b as u128 % q as u128) as u64;
                    assert_eq!(m.mul(a, b), expected, "q={q} a={a} b={b}");
                }
            }
        }
    }

    #[test]
    fn rejects_out_of_range() {
        assert!(Modulus::new(0).is_err());
        assert!(Modulus::new(1).is_err());
        assert!(Modulus::new(1 << 61).is_err());
    }
}
