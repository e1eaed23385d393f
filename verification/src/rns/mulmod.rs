//! Slot-wise modular products of limbs: the tensor product of HMult, PMult, and the pointwise
//! products of encryption and key generation.
//!
//! Two back ends compute the same words:
//! - AVX-512 IFMA for `q < 2^51`: each 104-bit product as its 52-bit halves
//!   (`vpmadd52{lo,hi}uq`), reduced in the lanes by the shared split reduction;
//! - scalar everywhere: `u128` products with Barrett reduction ([`Modulus::mul`]).
//!
//! Every function also returns the OR of [`unreduced_flag`] over both operands' words, whose
//! top bit is set exactly when some word is `>= q`: callers range-check in the pass that
//! multiplies (words not below `q` give unspecified results, never a panic). Outputs lie in
//! `[0, q)` for reduced operands; the tests check both back ends against `u128` arithmetic.

use crate::arith::modulus::unreduced_flag;
use crate::arith::Modulus;

/// Whether this CPU computes products of `m` on the IFMA back end.
pub fn uses_ifma(m: &Modulus) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        m.value() < 1 << 51
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512ifma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = m;
        false
    }
}

/// `out[k] = x[k] * y[k] mod q`; returns the unreduced flags of `x` and `y` (top bit set when
/// a word is `>= q`). All slices of one length.
pub fn mul_into(m: &Modulus, x: &[u64], y: &[u64], out: &mut [u64]) -> u64 {
    assert!(
        x.len() == out.len() && y.len() == out.len(),
        "operand length"
    );
    #[cfg(target_arch = "x86_64")]
    if uses_ifma(m) {
        // SAFETY: the CPU has avx512f and avx512ifma; the three slices hold out.len() words.
        return unsafe { ifma::mul(m, x.as_ptr(), y.as_ptr(), out.as_mut_ptr(), out.len()) };
    }
    // SAFETY: the three slices hold out.len() words.
    unsafe { scalar_mul(m, x.as_ptr(), y.as_ptr(), out.as_mut_ptr(), out.len()) }
}

/// `x[k] = x[k] * y[k] mod q`; returns the unreduced flags as [`mul_into`].
pub fn mul_assign(m: &Modulus, x: &mut [u64], y: &[u64]) -> u64 {
    assert_eq!(x.len(), y.len(), "operand length");
    let (n, out) = (x.len(), x.as_mut_ptr());
    #[cfg(target_arch = "x86_64")]
    if uses_ifma(m) {
        // SAFETY: as in mul_into; each word of x is read before the same word is written.
        return unsafe { ifma::mul(m, out, y.as_ptr(), out, n) };
    }
    // SAFETY: x and y hold n words.
    unsafe { scalar_mul(m, out, y.as_ptr(), out, n) }
}

/// `out[k] = x0[k] * y0[k] + x1[k] * y1[k] mod q` (the middle term of a tensor product);
/// returns the unreduced flags of all four operands. All slices of one length.
pub fn mul_add_into(
    m: &Modulus,
    (x0, y0): (&[u64], &[u64]),
    (x1, y1): (&[u64], &[u64]),
    out: &mut [u64],
) -> u64 {
    let n = out.len();
    assert!(
        [x0, y0, x1, y1].iter().all(|s| s.len() == n),
        "operand length"
    );
    #[cfg(target_arch = "x86_64")]
    if uses_ifma(m) {
        // SAFETY: the CPU has avx512f and avx512ifma; every slice holds n words.
        return unsafe { ifma::mul_add(m, [x0, y0, x1, y1], out) };
    }
    scalar_mul_add(m, [x0, y0, x1, y1], out)
}

/// The scalar back end of [`mul_add_into`] (and the IFMA one's tail).
fn scalar_mul_add(m: &Modulus, [x0, y0, x1, y1]: [&[u64]; 4], out: &mut [u64]) -> u64 {
    let q = m.value();
    let mut flags = 0;
    for k in 0..out.len() {
        flags |= unreduced_flag(x0[k], q)
            | unreduced_flag(y0[k], q)
            | unreduced_flag(x1[k], q)
            | unreduced_flag(y1[k], q);
        let sum = x0[k] as u128 * y0[k] as u128 + x1[k] as u128 * y1[k] as u128;
        out[k] = m.reduce_u128(sum);
    }
    flags
}

/// `x[k] = (x[k] - y[k]) * c mod q` for operands and `c` in `[0, q)` (ModDown's last step:
/// subtract the converted part, multiply by `P^-1`). `x` and `y` of one length.
pub fn sub_mul_const_assign(m: &Modulus, x: &mut [u64], y: &[u64], c: u64) {
    assert_eq!(x.len(), y.len(), "operand length");
    debug_assert!(c < m.value());
    #[cfg(target_arch = "x86_64")]
    if uses_ifma(m) {
        // SAFETY: the CPU has avx512f and avx512ifma; q < 2^51.
        return unsafe { ifma::sub_mul_const(m, x, y, c) };
    }
    scalar_sub_mul_const(m, x, y, c);
}

/// The scalar back end of [`sub_mul_const_assign`] (and the IFMA one's tail).
fn scalar_sub_mul_const(m: &Modulus, x: &mut [u64], y: &[u64], c: u64) {
    let c_shoup = m.shoup(c);
    for (v, &w) in x.iter_mut().zip(y) {
        *v = m.mul_shoup(m.sub(*v, w), c, c_shoup);
    }
}

/// The scalar back end of [`mul_into`] and [`mul_assign`]: `out` may equal `x`.
///
/// # Safety
/// The pointers address `n` words each.
unsafe fn scalar_mul(m: &Modulus, x: *const u64, y: *const u64, out: *mut u64, n: usize) -> u64 {
    let q = m.value();
    let mut flags = 0;
    for k in 0..n {
        // SAFETY: n words behind each pointer; word k of x is read before word k of out
        // (possibly the same word) is written.
        unsafe {
            let (u, v) = (*x.add(k), *y.add(k));
            flags |= unreduced_flag(u, q) | unreduced_flag(v, q);
            *out.add(k) = m.reduce_u128(u as u128 * v as u128);
        }
    }
    flags
}

#[cfg(target_arch = "x86_64")]
mod ifma {
    use std::arch::x86_64::*;

    use super::*;
    use crate::rns::split_reduce::SplitReducer;

    /// Lanes per vector.
    const L: usize = 8;

    /// OR of the eight lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn or_lanes(v: __m512i) -> u64 {
        _mm512_reduce_or_epi64(v) as u64
    }

    /// `x | (q - 1 - x)` per lane: [`unreduced_flag`] of eight words.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn flag(v: __m512i, q_minus_1: __m512i) -> __m512i {
        _mm512_or_si512(v, _mm512_sub_epi64(q_minus_1, v))
    }

    /// The IFMA back end of [`mul_into`] / [`mul_assign`] (`out` may equal `x`); the scalar
    /// back end finishes the last `n % 8` words.
    ///
    /// # Safety
    /// The CPU has avx512f and avx512ifma, `q < 2^51`, and the pointers address `n` words.
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) unsafe fn mul(
        m: &Modulus,
        x: *const u64,
        y: *const u64,
        out: *mut u64,
        n: usize,
    ) -> u64 {
        let r = SplitReducer::new(m).expect("the caller checked q < 2^51");
        let zero = _mm512_setzero_si512();
        let q_minus_1 = _mm512_set1_epi64(m.value() as i64 - 1);
        let body = n - n % L;
        let mut flags = zero;
        for k in (0..body).step_by(L) {
            // SAFETY: k + 8 <= n words behind each pointer.
            let (u, v) = unsafe {
                (
                    _mm512_loadu_si512(x.add(k) as *const _),
                    _mm512_loadu_si512(y.add(k) as *const _),
                )
            };
            flags = _mm512_or_si512(
                flags,
                _mm512_or_si512(flag(u, q_minus_1), flag(v, q_minus_1)),
            );
            let product = r.reduce(
                _mm512_madd52hi_epu64(zero, u, v),
                _mm512_madd52lo_epu64(zero, u, v),
            );
            // SAFETY: as above.
            unsafe { _mm512_storeu_si512(out.add(k) as *mut _, product) };
        }
        // SAFETY: the remaining n - body words behind each pointer.
        let tail = unsafe { scalar_mul(m, x.add(body), y.add(body), out.add(body), n - body) };
        or_lanes(flags) | tail
    }

    /// The IFMA back end of [`sub_mul_const_assign`].
    ///
    /// # Safety
    /// The CPU has avx512f and avx512ifma and `q < 2^51`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) unsafe fn sub_mul_const(m: &Modulus, x: &mut [u64], y: &[u64], c: u64) {
        let r = SplitReducer::new(m).expect("the caller checked q < 2^51");
        let zero = _mm512_setzero_si512();
        let (q, cv) = (
            _mm512_set1_epi64(m.value() as i64),
            _mm512_set1_epi64(c as i64),
        );
        let n = x.len();
        let body = n - n % L;
        for k in (0..body).step_by(L) {
            // SAFETY: k + 8 <= n words of x and y.
            let (u, v) = unsafe {
                (
                    _mm512_loadu_si512(x.as_ptr().add(k) as *const _),
                    _mm512_loadu_si512(y.as_ptr().add(k) as *const _),
                )
            };
            // u - v in [0, q): when u < v the difference wraps and adding q brings it back.
            let d = _mm512_sub_epi64(u, v);
            let d = _mm512_min_epu64(d, _mm512_add_epi64(d, q));
            let product = r.reduce(
                _mm512_madd52hi_epu64(zero, d, cv),
                _mm512_madd52lo_epu64(zero, d, cv),
            );
            // SAFETY: as above.
            unsafe { _mm512_storeu_si512(x.as_mut_ptr().add(k) as *mut _, product) };
        }
        scalar_sub_mul_const(m, &mut x[body..], &y[body..], c);
    }

    /// The IFMA back end of [`mul_add_into`].
    ///
    /// # Safety
    /// The CPU has avx512f and avx512ifma and `q < 2^51`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) unsafe fn mul_add(
        m: &Modulus,
        [x0, y0, x1, y1]: [&[u64]; 4],
        out: &mut [u64],
    ) -> u64 {
        let r = SplitReducer::new(m).expect("the caller checked q < 2^51");
        debug_assert!(r.max_terms >= 2);
        let zero = _mm512_setzero_si512();
        let q = m.value();
        let q_minus_1 = _mm512_set1_epi64(q as i64 - 1);
        let n = out.len();
        let body = n - n % L;
        let load = |s: &[u64], k: usize| {
            debug_assert!(k + L <= s.len());
            // SAFETY: k + 8 <= n = s.len() (checked by the caller).
            unsafe { _mm512_loadu_si512(s.as_ptr().add(k) as *const _) }
        };
        let mut flags = zero;
        for k in (0..body).step_by(L) {
            let (a, b, c, d) = (load(x0, k), load(y0, k), load(x1, k), load(y1, k));
            flags = _mm512_or_si512(
                flags,
                _mm512_or_si512(
                    _mm512_or_si512(flag(a, q_minus_1), flag(b, q_minus_1)),
                    _mm512_or_si512(flag(c, q_minus_1), flag(d, q_minus_1)),
                ),
            );
            let lo = _mm512_madd52lo_epu64(_mm512_madd52lo_epu64(zero, a, b), c, d);
            let hi = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(zero, a, b), c, d);
            // SAFETY: k + 8 <= n words of out.
            unsafe { _mm512_storeu_si512(out.as_mut_ptr().add(k) as *mut _, r.reduce(hi, lo)) };
        }
        let tail = scalar_mul_add(
            m,
            [&x0[body..], &y0[body..], &x1[body..], &y1[body..]],
            &mut out[body..],
        );
        or_lanes(flags) | tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::ntt_primes;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn mulmod(q: u64, a: u64, b: u64) -> u64 {
        (a as u128 * b as u128 % q as u128) as u64
    }

    /// Random words in `[0, q)` with the corners 0, 1 and q - 1 at fixed places.
    fn words(rng: &mut ChaCha8Rng, q: u64, n: usize) -> Vec<u64> {
        (0..n)
            .map(|k| match k % 7 {
                0 => q - 1,
                3 => 0,
                5 if k < 20 => 1,
                _ => rng.gen_range(0..q),
            })
            .collect()
    }

    /// Every width on both sides of the IFMA bound (the 51-bit primes are the largest it
    /// takes), lengths with and without a scalar tail.
    #[test]
    fn products_match_u128_on_every_width() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        for bits in [17u32, 31, 33, 45, 50, 51, 52, 60, 61] {
            let q = ntt_primes(bits, 4, 1, &[]).unwrap()[0];
            let m = Modulus::new(q).unwrap();
            for n in [0usize, 5, 8, 64, 203] {
                let (x, y) = (words(&mut rng, q, n), words(&mut rng, q, n));
                let (x1, y1) = (words(&mut rng, q, n), words(&mut rng, q, n));
                let want: Vec<u64> = (0..n).map(|k| mulmod(q, x[k], y[k])).collect();
                let mut out = vec![0; n];
                assert_eq!(mul_into(&m, &x, &y, &mut out) >> 63, 0);
                assert_eq!(out, want, "mul_into, {bits} bits, n = {n}");
                let mut inplace = x.clone();
                assert_eq!(mul_assign(&m, &mut inplace, &y) >> 63, 0);
                assert_eq!(inplace, want, "mul_assign, {bits} bits, n = {n}");
                let want: Vec<u64> = (0..n)
                    .map(|k| (mulmod(q, x[k], y[k]) + mulmod(q, x1[k], y1[k])) % q)
                    .collect();
                assert_eq!(mul_add_into(&m, (&x, &y), (&x1, &y1), &mut out) >> 63, 0);
                assert_eq!(out, want, "mul_add_into, {bits} bits, n = {n}");
                let c = y.last().copied().unwrap_or(q - 1);
                let want: Vec<u64> = (0..n)
                    .map(|k| mulmod(q, (x[k] + q - x1[k]) % q, c))
                    .collect();
                let mut diff = x.clone();
                sub_mul_const_assign(&m, &mut diff, &x1, c);
                assert_eq!(diff, want, "sub_mul_const_assign, {bits} bits, n = {n}");
            }
        }
    }

    /// A word at or above q in either operand, in the vector body or the tail, sets the flag.
    #[test]
    fn unreduced_words_are_flagged() {
        let q = ntt_primes(31, 4, 1, &[]).unwrap()[0];
        let m = Modulus::new(q).unwrap();
        for (place, bad) in [(3usize, q), (17, u64::MAX), (20, 1 << 60)] {
            for operand in 0..4 {
                let mut ops = vec![vec![1u64; 21]; 4];
                ops[operand][place] = bad;
                let mut out = vec![0; 21];
                if operand < 2 {
                    assert_ne!(mul_into(&m, &ops[0], &ops[1], &mut out) >> 63, 0);
                }
                let flags = mul_add_into(&m, (&ops[0], &ops[1]), (&ops[2], &ops[3]), &mut out);
                assert_ne!(flags >> 63, 0, "operand {operand} word {place}");
            }
        }
    }
}
