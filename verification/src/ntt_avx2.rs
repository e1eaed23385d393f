//! The AVX2 path of the NTT of [`crate::ntt::NttTable`], for CPUs without AVX-512, selected at
//! run time.
//!
//! It computes, word for word, what the scalar path computes: Harvey's lazy butterflies (values
//! in `[0, 4q)` forward, `[0, 2q)` inverse) with Shoup products `y w - floor(y w' / 2^64) q`
//! (`w' = floor(w 2^64 / q)`), four 64-bit lanes at a time, the high product built from four
//! 32x32-bit multiplies. The same formulas in the same order give the same intermediate words,
//! not only the same reduced outputs; the tests compare against the scalar path bit for bit.
//!
//! Stages whose butterflies span at least four words (`t >= 4`) are vectorised (one twiddle per
//! run of `t` butterflies, broadcast); the last two forward stages and the first two inverse
//! stages (`t = 1, 2`, a quarter of a small transform, an eighth at `N = 2^16`) stay scalar.
//! Any `q < 2^62` (so `4q < 2^64`); used for `N >= 8`.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use crate::arith::modulus::reduce_once;
use crate::arith::Modulus;

/// Whether this CPU runs the AVX2 path.
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Forward NTT (input `[0, 4q)` standard order, output `[0, q)` bit-reversed), or `false`,
/// leaving `a` untouched, where AVX2 is absent or `N < 8`.
pub(crate) fn forward(a: &mut [u64], psi_rev: &[u64], psi_rev_shoup: &[u64], m: &Modulus) -> bool {
    if a.len() < 8 || !available() {
        return false;
    }
    assert!(a.len() == psi_rev.len() && a.len() == psi_rev_shoup.len());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `available()` detected avx2, the target feature of `x86::forward`.
    unsafe {
        x86::forward(a, psi_rev, psi_rev_shoup, m)
    };
    true
}

/// Inverse NTT (input `[0, 2q)` bit-reversed, output `[0, q)` standard order, times `N^-1`),
/// or `false`, leaving `a` untouched, where AVX2 is absent or `N < 8`.
pub(crate) fn inverse(
    a: &mut [u64],
    inv_psi_rev: &[u64],
    inv_psi_rev_shoup: &[u64],
    n_inv: (u64, u64),
    m: &Modulus,
) -> bool {
    if a.len() < 8 || !available() {
        return false;
    }
    assert!(a.len() == inv_psi_rev.len() && a.len() == inv_psi_rev_shoup.len());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `available()` detected avx2, the target feature of `x86::inverse`.
    unsafe {
        x86::inverse(a, inv_psi_rev, inv_psi_rev_shoup, n_inv, m)
    };
    true
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;

    /// Four `u64` from `src[..4]`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn load(src: &[u64]) -> __m256i {
        assert!(src.len() >= 4);
        // SAFETY: `src` holds at least 4 initialised words (checked); `loadu` is unaligned.
        unsafe { _mm256_loadu_si256(src.as_ptr().cast()) }
    }

    /// Four `u64` into `dst[..4]`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn store(dst: &mut [u64], v: __m256i) {
        assert!(dst.len() >= 4);
        // SAFETY: `dst` holds at least 4 words (checked), borrowed exclusively; unaligned.
        unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), v) }
    }

    /// `x - m` where `x >= m`, else `x`, for lanes below `2^63` (signed compare is then
    /// unsigned).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn reduce(x: __m256i, m: __m256i, m_minus_one: __m256i) -> __m256i {
        let ge = _mm256_cmpgt_epi64(x, m_minus_one);
        _mm256_sub_epi64(x, _mm256_and_si256(ge, m))
    }

    /// The low 64 bits of `x y` per lane, given `y` split as `(y, y >> 32)`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn mul_lo(x: __m256i, y: __m256i, y_hi: __m256i) -> __m256i {
        let x_hi = _mm256_srli_epi64::<32>(x);
        let ll = _mm256_mul_epu32(x, y);
        let cross = _mm256_add_epi64(_mm256_mul_epu32(x, y_hi), _mm256_mul_epu32(x_hi, y));
        _mm256_add_epi64(ll, _mm256_slli_epi64::<32>(cross))
    }

    /// The high 64 bits of `x y` per lane, given `y` split as `(y, y >> 32)`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn mul_hi(x: __m256i, y: __m256i, y_hi: __m256i) -> __m256i {
        let low32 = _mm256_set1_epi64x(0xffff_ffff);
        let x_hi = _mm256_srli_epi64::<32>(x);
        let ll = _mm256_mul_epu32(x, y);
        let lh = _mm256_mul_epu32(x, y_hi);
        let hl = _mm256_mul_epu32(x_hi, y);
        let hh = _mm256_mul_epu32(x_hi, y_hi);
        let mid = _mm256_add_epi64(
            _mm256_srli_epi64::<32>(ll),
            _mm256_add_epi64(_mm256_and_si256(lh, low32), _mm256_and_si256(hl, low32)),
        );
        _mm256_add_epi64(
            _mm256_add_epi64(hh, _mm256_srli_epi64::<32>(mid)),
            _mm256_add_epi64(_mm256_srli_epi64::<32>(lh), _mm256_srli_epi64::<32>(hl)),
        )
    }

    /// A twiddle, its Shoup constant and `q`, each split for the multiplies.
    #[derive(Clone, Copy)]
    struct Shoup {
        w: __m256i,
        w_hi: __m256i,
        ws: __m256i,
        ws_hi: __m256i,
        q: __m256i,
        q_hi: __m256i,
    }

    impl Shoup {
        #[inline]
        #[target_feature(enable = "avx2")]
        fn new(w: u64, ws: u64, q: u64) -> Self {
            Shoup {
                w: _mm256_set1_epi64x(w as i64),
                w_hi: _mm256_set1_epi64x((w >> 32) as i64),
                ws: _mm256_set1_epi64x(ws as i64),
                ws_hi: _mm256_set1_epi64x((ws >> 32) as i64),
                q: _mm256_set1_epi64x(q as i64),
                q_hi: _mm256_set1_epi64x((q >> 32) as i64),
            }
        }

        /// `y w - floor(y w' / 2^64) q` (wrapping), in `[0, 2q)`: `Modulus::mul_shoup_lazy`.
        #[inline]
        #[target_feature(enable = "avx2")]
        fn mul_lazy(&self, y: __m256i) -> __m256i {
            let quotient = mul_hi(y, self.ws, self.ws_hi);
            _mm256_sub_epi64(
                mul_lo(y, self.w, self.w_hi),
                mul_lo(quotient, self.q, self.q_hi),
            )
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn forward(a: &mut [u64], tw: &[u64], tws: &[u64], m: &Modulus) {
        let n = a.len();
        let q = m.value();
        let two_q = 2 * q;
        let v2q = _mm256_set1_epi64x(two_q as i64);
        let v2q1 = _mm256_set1_epi64x(two_q as i64 - 1);
        let mut t = n;
        let mut groups = 1;
        while groups < n {
            t >>= 1;
            for i in 0..groups {
                let (w, ws) = (tw[groups + i], tws[groups + i]);
                let (lo, hi) = a[2 * i * t..2 * i * t + 2 * t].split_at_mut(t);
                if t >= 4 {
                    let s = Shoup::new(w, ws, q);
                    for (x, y) in lo.chunks_exact_mut(4).zip(hi.chunks_exact_mut(4)) {
                        let u = reduce(load(x), v2q, v2q1);
                        let v = s.mul_lazy(load(y));
                        store(x, _mm256_add_epi64(u, v));
                        store(y, _mm256_sub_epi64(_mm256_add_epi64(u, v2q), v));
                    }
                } else {
                    for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                        let u = reduce_once(*x, two_q);
                        let v = m.mul_shoup_lazy(*y, w, ws);
                        *x = u + v;
                        *y = u + two_q - v;
                    }
                }
            }
            groups <<= 1;
        }
        let vq = _mm256_set1_epi64x(q as i64);
        let vq1 = _mm256_set1_epi64x(q as i64 - 1);
        for x in a.chunks_exact_mut(4) {
            store(x, reduce(reduce(load(x), v2q, v2q1), vq, vq1));
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn inverse(
        a: &mut [u64],
        tw: &[u64],
        tws: &[u64],
        (n_inv, n_inv_shoup): (u64, u64),
        m: &Modulus,
    ) {
        let n = a.len();
        let q = m.value();
        let two_q = 2 * q;
        let v2q = _mm256_set1_epi64x(two_q as i64);
        let v2q1 = _mm256_set1_epi64x(two_q as i64 - 1);
        let mut t = 1;
        let mut h = n >> 1;
        while h >= 1 {
            for i in 0..h {
                let (w, ws) = (tw[h + i], tws[h + i]);
                let (lo, hi) = a[2 * i * t..2 * i * t + 2 * t].split_at_mut(t);
                if t >= 4 {
                    let s = Shoup::new(w, ws, q);
                    for (x, y) in lo.chunks_exact_mut(4).zip(hi.chunks_exact_mut(4)) {
                        let (u, v) = (load(x), load(y));
                        store(x, reduce(_mm256_add_epi64(u, v), v2q, v2q1));
                        store(y, s.mul_lazy(_mm256_sub_epi64(_mm256_add_epi64(u, v2q), v)));
                    }
                } else {
                    for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                        let (u, v) = (*x, *y);
                        *x = reduce_once(u + v, two_q);
                        *y = m.mul_shoup_lazy(u + two_q - v, w, ws);
                    }
                }
            }
            t <<= 1;
            h >>= 1;
        }
        let s = Shoup::new(n_inv, n_inv_shoup, q);
        let vq = _mm256_set1_epi64x(q as i64);
        let vq1 = _mm256_set1_epi64x(q as i64 - 1);
        for x in a.chunks_exact_mut(4) {
            store(x, reduce(s.mul_lazy(load(x)), vq, vq1));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::arith::ntt_primes;
    use crate::ntt::NttTable;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn matches_the_scalar_path_word_for_word() {
        if !super::available() {
            eprintln!("notice: no AVX2 on this CPU; the AVX2 NTT path is not tested here");
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for log_n in [3u32, 4, 5, 8, 12, 16] {
            for bits in [20u32, 30, 50, 60, 61] {
                if bits < log_n + 2 {
                    continue;
                }
                let q = ntt_primes(bits, log_n, 1, &[]).unwrap()[0];
                let t = NttTable::new(q, log_n).unwrap();
                let n = 1usize << log_n;
                // forward input in [0, 4q), with the corners 0, q - 1, 4q - 1
                let mut a: Vec<u64> = (0..n).map(|_| rng.gen_range(0..4 * q)).collect();
                a[0] = 0;
                a[1] = q - 1;
                a[2] = 4 * q - 1;
                let mut want = a.clone();
                t.forward_scalar(&mut want);
                let mut got = a.clone();
                assert!(super::forward(
                    &mut got,
                    t.psi_rev(),
                    t.psi_rev_shoup(),
                    t.modulus()
                ));
                assert_eq!(got, want, "forward N = 2^{log_n}, {bits}-bit q");
                // inverse input in [0, 2q)
                let mut b: Vec<u64> = (0..n).map(|_| rng.gen_range(0..2 * q)).collect();
                b[3] = 2 * q - 1;
                let mut want = b.clone();
                t.inverse_scalar(&mut want);
                let mut got = b.clone();
                assert!(super::inverse(
                    &mut got,
                    t.inv_psi_rev(),
                    t.inv_psi_rev_shoup(),
                    (t.n_inv(), t.modulus().shoup(t.n_inv())),
                    t.modulus()
                ));
                assert_eq!(got, want, "inverse N = 2^{log_n}, {bits}-bit q");
            }
        }
    }
}
