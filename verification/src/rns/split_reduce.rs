//! Vector reduction of IFMA sums: `hi * 2^52 + lo` (the 52-bit halves of products summed in
//! 64-bit lanes by `vpmadd52{lo,hi}uq`) modulo a prime below `2^51`, all in AVX-512 lanes.
//! Shared by the lazy dot products ([`super::dot`]) and the slot-wise products
//! ([`super::mulmod`]).

use std::arch::x86_64::*;

use crate::arith::Modulus;

use super::dot::IFMA_MAX_TERMS;

/// Vector reduction of `hi * 2^52 + lo` (the IFMA sums) modulo `q < 2^51`.
#[derive(Clone, Copy)]
pub(crate) struct SplitReducer {
    q: __m512i,
    two_q: __m512i,
    /// `2^52 mod q` and its 52-bit Shoup constant `floor(c * 2^52 / q)`.
    c: __m512i,
    c_shoup: __m512i,
    /// `floor(2^52 / q)`, the Barrett constant of 52-bit inputs.
    mu: __m512i,
    /// Most terms whose sums [`SplitReducer::reduce`] takes: `hi + (lo >> 52)` must stay
    /// below `2^52`, which holds for `terms * ((q - 1)^2 + 2^52) < 2^104`.
    pub(crate) max_terms: usize,
}

impl SplitReducer {
    /// The reducer of `m`, or `None` for `q >= 2^51` (the sums are then reduced in
    /// scalar `u128` arithmetic).
    #[target_feature(enable = "avx512f")]
    pub(crate) fn new(m: &Modulus) -> Option<SplitReducer> {
        let q = m.value();
        if q >= 1 << 51 {
            return None;
        }
        let c = (1u128 << 52) % q as u128;
        let c_shoup = (c << 52) / q as u128;
        let mu = (1u128 << 52) / q as u128;
        let per_term = (q as u128 - 1) * (q as u128 - 1) + (1u128 << 52);
        let max_terms = (((1u128 << 104) - 1) / per_term).min(IFMA_MAX_TERMS as u128);
        let set = |v: u128| _mm512_set1_epi64(v as i64);
        Some(SplitReducer {
            q: set(q as u128),
            two_q: set(2 * q as u128),
            c: set(c),
            c_shoup: set(c_shoup),
            mu: set(mu),
            max_terms: max_terms as usize,
        })
    }

    /// `hi * 2^52 + lo mod q` in `[0, q)`, for sums of at most `max_terms` IFMA terms.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(crate) fn reduce(&self, hi: __m512i, lo: __m512i) -> __m512i {
        let zero = _mm512_setzero_si512();
        let mask52 = _mm512_set1_epi64(((1u64 << 52) - 1) as i64);
        // hi * 2^52 + lo = h * 2^52 + l with l < 2^52 and (by max_terms) h < 2^52.
        let h = _mm512_add_epi64(hi, _mm512_srli_epi64::<52>(lo));
        let l = _mm512_and_si512(lo, mask52);
        // h * (2^52 mod q) by Shoup in [0, 2q); 2q <= 2^52, so its low 52 bits are exact.
        let quotient = _mm512_madd52hi_epu64(zero, h, self.c_shoup);
        let r1 = _mm512_and_si512(
            _mm512_sub_epi64(
                _mm512_madd52lo_epu64(zero, h, self.c),
                _mm512_madd52lo_epu64(zero, quotient, self.q),
            ),
            mask52,
        );
        // l mod q by Barrett in [0, 2q): the quotient is at most one short.
        let quotient = _mm512_madd52hi_epu64(zero, l, self.mu);
        let r2 = _mm512_sub_epi64(l, _mm512_madd52lo_epu64(zero, quotient, self.q));
        // [0, 4q) -> [0, 2q) -> [0, q): a wrapped difference is larger than the value.
        let s = _mm512_add_epi64(r1, r2);
        let s = _mm512_min_epu64(s, _mm512_sub_epi64(s, self.two_q));
        _mm512_min_epu64(s, _mm512_sub_epi64(s, self.q))
    }

    /// `a + b mod q` for `a, b` in `[0, q)`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(crate) fn add(&self, a: __m512i, b: __m512i) -> __m512i {
        let s = _mm512_add_epi64(a, b);
        _mm512_min_epu64(s, _mm512_sub_epi64(s, self.q))
    }
}
