//! Back end for `q < 2^61`: 64-bit products from 32-bit multiplies.

/// High 64 bits of the 128-bit products of the lanes of `a` and `b`.
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn mulhi_u64(a: __m512i, b: __m512i) -> __m512i {
    // Swapping the 32-bit halves (rather than shifting) moves the high halves where
    // `mul_epu32` reads; it also keeps LLVM from recognising a 64x64->128 multiply, which
    // it would scalarise (AVX-512 has no 64-bit high multiply).
    let a_hi = _mm512_shuffle_epi32::<0b1011_0001>(a);
    let b_hi = _mm512_shuffle_epi32::<0b1011_0001>(b);
    let ll = _mm512_mul_epu32(a, b);
    let lh = _mm512_mul_epu32(a, b_hi);
    let hl = _mm512_mul_epu32(a_hi, b);
    let hh = _mm512_mul_epu32(a_hi, b_hi);
    let mid = _mm512_add_epi64(lh, _mm512_srli_epi64::<32>(ll));
    let mid2 = _mm512_add_epi64(hl, _mm512_and_si512(mid, _mm512_set1_epi64(0xffff_ffff)));
    _mm512_add_epi64(
        _mm512_add_epi64(hh, _mm512_srli_epi64::<32>(mid)),
        _mm512_srli_epi64::<32>(mid2),
    )
}

/// Lazy Shoup product for any `a < 2^64`, `w < q`, `ws = floor(w 2^64 / q)`; result in
/// `[0, 2q)` (the scalar `Modulus::mul_shoup_lazy`, lane-wise).
#[inline]
#[target_feature(enable = "avx512f,avx512dq")]
fn mul_shoup64(a: __m512i, w: __m512i, ws: __m512i, q: __m512i) -> __m512i {
    let qhat = mulhi_u64(a, ws);
    _mm512_sub_epi64(_mm512_mullo_epi64(a, w), _mm512_mullo_epi64(qhat, q))
}

ntt_kernels!("avx512f,avx512dq", mul_shoup64);
