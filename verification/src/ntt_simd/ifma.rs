//! Back end for `q < 2^50`: IFMA 52-bit products.

/// Lazy Shoup product for `a < 2^52`, `w < q < 2^50`, `ws = floor(w 2^52 / q)`: the
/// quotient estimate `floor(a ws / 2^52)` is at most one below `floor(a w / q)`, so
/// `a w - qhat q` lies in `[0, 2q)` and equals its value mod 2^52.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn mul_shoup52(a: __m512i, w: __m512i, ws: __m512i, q: __m512i) -> __m512i {
    let zero = _mm512_setzero_si512();
    let qhat = _mm512_madd52hi_epu64(zero, a, ws);
    let aw_lo = _mm512_madd52lo_epu64(zero, a, w);
    let qq_lo = _mm512_madd52lo_epu64(zero, qhat, q);
    _mm512_and_si512(
        _mm512_sub_epi64(aw_lo, qq_lo),
        _mm512_set1_epi64((1i64 << 52) - 1),
    )
}

ntt_kernels!("avx512f,avx512ifma", mul_shoup52);
