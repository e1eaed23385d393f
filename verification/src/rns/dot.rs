//! Lane-wise dot products modulo one word prime with lazy reduction: the inner loop of key
//! switching (digits times key, summed over the digits) and of fast basis conversion (scaled
//! residues times constants, summed over the source primes).
//!
//! Every function reduces once per output word: products are summed unreduced and the sum is
//! reduced at the end (as SEAL and OpenFHE do). Two back ends compute the same words:
//! - [`DotPath::Ifma52`] on CPUs with AVX-512 IFMA when every operand is below `2^52`: the
//!   52-bit halves of each 104-bit product are summed in separate 64-bit lanes (exact for up to
//!   [`IFMA_MAX_TERMS`] terms), then each output's `hi * 2^52 + lo` is reduced by Barrett;
//! - [`DotPath::Scalar`] everywhere: `u128` sums, folded by a Barrett reduction every 32 terms.
//!
//! Outputs lie in `[0, q)`; the tests check both back ends word for word against `u128`
//! arithmetic.

use crate::arith::Modulus;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Most terms the IFMA back end sums before reducing: each 52-bit half-product is below
/// `2^52`, so `2^12` of them stay below `2^64`.
pub const IFMA_MAX_TERMS: usize = 1 << 12;

/// Which back end computes a dot product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DotPath {
    /// AVX-512 IFMA, 8 lanes of 52-bit products.
    Ifma52,
    /// Portable `u128` accumulation.
    Scalar,
}

impl DotPath {
    /// The back end that runs for operands below `bound` (exclusive) and `terms` terms on this
    /// CPU.
    pub fn select(bound: u64, terms: usize) -> DotPath {
        #[cfg(target_arch = "x86_64")]
        {
            if bound <= 1 << 52
                && terms <= IFMA_MAX_TERMS
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512ifma")
            {
                return DotPath::Ifma52;
            }
        }
        let _ = (bound, terms);
        DotPath::Scalar
    }
}

/// `(out0[k], out1[k]) = (sum_j xs[j][k] * ys0[j][k], sum_j xs[j][k] * ys1[j][k]) mod q` for
/// every `k`: two dot products sharing their left operands (a digit times both halves of a
/// switching key). Operands in `[0, q)`, all slices of one length; outputs in `[0, q)`.
pub fn dot2(
    m: &Modulus,
    xs: &[&[u64]],
    ys0: &[&[u64]],
    ys1: &[&[u64]],
    out0: &mut [u64],
    out1: &mut [u64],
) {
    dot2_with(
        DotPath::select(m.value(), xs.len()),
        m,
        xs,
        ys0,
        ys1,
        out0,
        out1,
    )
}

/// [`dot2`] on a chosen back end (a test hook; `Ifma52` must be supported by the CPU).
#[allow(clippy::too_many_arguments)]
pub(crate) fn dot2_with(
    path: DotPath,
    m: &Modulus,
    xs: &[&[u64]],
    ys0: &[&[u64]],
    ys1: &[&[u64]],
    out0: &mut [u64],
    out1: &mut [u64],
) {
    let n = out0.len();
    assert_eq!(out1.len(), n, "output length");
    assert!(ys0.len() == xs.len() && ys1.len() == xs.len(), "term count");
    for s in xs.iter().chain(ys0).chain(ys1) {
        assert_eq!(s.len(), n, "operand length");
    }
    match path {
        #[cfg(target_arch = "x86_64")]
        DotPath::Ifma52 => {
            assert!(m.value() <= 1 << 52 && xs.len() <= IFMA_MAX_TERMS);
            // SAFETY: the caller selected this path for a CPU with avx512f and avx512ifma.
            unsafe { ifma::dot2(m, xs, ys0, ys1, out0, out1) }
        }
        _ => scalar_dot2(m, xs, ys0, ys1, out0, out1),
    }
}

/// `out[k] = sum_i xs[i][k] * ws[i] mod q` for every `k`: a dot product with constant right
/// operands (fast basis conversion). `xs[i]` below `2^61` (any residues, not necessarily
/// mod `q`), `ws[i]` in `[0, q)`; output in `[0, q)`.
pub fn dot_const(m: &Modulus, xs: &[&[u64]], ws: &[u64], x_bound: u64, out: &mut [u64]) {
    let path = DotPath::select(x_bound.max(m.value()), xs.len());
    dot_const_with(path, m, xs, ws, out)
}

/// [`dot_const`] on a chosen back end (a test hook; `Ifma52` needs every operand below `2^52`).
pub(crate) fn dot_const_with(
    path: DotPath,
    m: &Modulus,
    xs: &[&[u64]],
    ws: &[u64],
    out: &mut [u64],
) {
    let n = out.len();
    assert_eq!(ws.len(), xs.len(), "term count");
    for s in xs {
        assert_eq!(s.len(), n, "operand length");
    }
    match path {
        #[cfg(target_arch = "x86_64")]
        DotPath::Ifma52 => {
            assert!(m.value() <= 1 << 52 && xs.len() <= IFMA_MAX_TERMS);
            // SAFETY: the caller selected this path for a CPU with avx512f and avx512ifma,
            // operands below 2^52.
            unsafe { ifma::dot_const(m, xs, ws, out) }
        }
        _ => scalar_dot_const(m, xs, ws, out),
    }
}

/// Words per block of [`scalar_dot2`]: its two rows of `u128` sums (8 KiB) stay in L1 while
/// every term's three operands stream through in order (word by word across all terms would
/// walk `3 * terms` arrays at once, more streams than the prefetchers follow).
const SCALAR_BLOCK: usize = 256;

fn scalar_dot2(
    m: &Modulus,
    xs: &[&[u64]],
    ys0: &[&[u64]],
    ys1: &[&[u64]],
    out0: &mut [u64],
    out1: &mut [u64],
) {
    let n = out0.len();
    let (mut rows0, mut rows1) = ([0u128; SCALAR_BLOCK], [0u128; SCALAR_BLOCK]);
    for start in (0..n).step_by(SCALAR_BLOCK) {
        let end = (start + SCALAR_BLOCK).min(n);
        let (acc0, acc1) = (&mut rows0[..end - start], &mut rows1[..end - start]);
        acc0.fill(0);
        acc1.fill(0);
        for (j, ((x, y0), y1)) in xs.iter().zip(ys0).zip(ys1).enumerate() {
            let terms = x[start..end]
                .iter()
                .zip(&y0[start..end])
                .zip(&y1[start..end]);
            for ((s0, s1), ((&x, &y0), &y1)) in acc0.iter_mut().zip(acc1.iter_mut()).zip(terms) {
                *s0 += x as u128 * y0 as u128;
                *s1 += x as u128 * y1 as u128;
            }
            // Each term is below 2^122: fold every 32 terms to stay below 2^128.
            if j % 32 == 31 {
                for s in acc0.iter_mut().chain(acc1.iter_mut()) {
                    *s = m.reduce_u128(*s) as u128;
                }
            }
        }
        for (o, &s) in out0[start..end].iter_mut().zip(acc0.iter()) {
            *o = m.reduce_u128(s);
        }
        for (o, &s) in out1[start..end].iter_mut().zip(acc1.iter()) {
            *o = m.reduce_u128(s);
        }
    }
}

fn scalar_dot_const(m: &Modulus, xs: &[&[u64]], ws: &[u64], out: &mut [u64]) {
    for (k, o) in out.iter_mut().enumerate() {
        let mut acc = 0u128;
        for (i, (x, &w)) in xs.iter().zip(ws).enumerate() {
            acc += x[k] as u128 * w as u128;
            // Each term is below 2^125 (x < 2^64, w < 2^61): fold every 8 terms.
            if i % 8 == 7 {
                acc = m.reduce_u128(acc) as u128;
            }
        }
        *o = m.reduce_u128(acc);
    }
}

/// `hi * 2^52 + lo mod q` for the two 64-bit sums of the IFMA back end.
#[inline(always)]
fn reduce_split(m: &Modulus, hi: u64, lo: u64) -> u64 {
    m.reduce_u128(((hi as u128) << 52) + lo as u128)
}

#[cfg(target_arch = "x86_64")]
mod ifma {
    use super::*;
    use crate::rns::split_reduce::SplitReducer;

    /// Lanes per vector.
    const L: usize = 8;

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load(s: &[u64], k: usize) -> __m512i {
        debug_assert!(k + L <= s.len());
        // SAFETY: k + 8 <= s.len(), checked by the callers' loop bounds.
        unsafe { _mm512_loadu_si512(s.as_ptr().add(k) as *const _) }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn store(v: __m512i) -> [u64; L] {
        let mut out = [0u64; L];
        // SAFETY: out holds 8 words.
        unsafe { _mm512_storeu_si512(out.as_mut_ptr() as *mut _, v) };
        out
    }

    /// Words per block of [`dot2`]: its four accumulator rows (`4 * BLOCK * 8` bytes) stay in
    /// L1 while every term streams one block of each of its three operands, so the loads run
    /// as three sequential streams instead of one stream per term.
    const BLOCK: usize = 256;

    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn dot2(
        m: &Modulus,
        xs: &[&[u64]],
        ys0: &[&[u64]],
        ys1: &[&[u64]],
        out0: &mut [u64],
        out1: &mut [u64],
    ) {
        let n = out0.len();
        let body = n - n % L;
        let terms = xs.len();
        let zero = _mm512_setzero_si512();
        let reducer = SplitReducer::new(m);
        // Terms summed before one reduction: all of them on the scalar reduction.
        let chunk = reducer.map_or(terms.max(1), |r| r.max_terms);
        const V: usize = BLOCK / L;
        let (mut lo0, mut hi0, mut lo1, mut hi1) = ([zero; V], [zero; V], [zero; V], [zero; V]);
        let (mut res0, mut res1) = ([zero; V], [zero; V]);
        for kb in (0..body).step_by(BLOCK) {
            let vecs = (body - kb).min(BLOCK) / L;
            let mut start = 0;
            loop {
                let end = (start + chunk).min(terms);
                for v in 0..vecs {
                    (lo0[v], hi0[v], lo1[v], hi1[v]) = (zero, zero, zero, zero);
                }
                for j in start..end {
                    let (x, y0, y1) = (xs[j], ys0[j], ys1[j]);
                    for v in 0..vecs {
                        let k = kb + v * L;
                        let (xv, y0v, y1v) = (load(x, k), load(y0, k), load(y1, k));
                        lo0[v] = _mm512_madd52lo_epu64(lo0[v], xv, y0v);
                        hi0[v] = _mm512_madd52hi_epu64(hi0[v], xv, y0v);
                        lo1[v] = _mm512_madd52lo_epu64(lo1[v], xv, y1v);
                        hi1[v] = _mm512_madd52hi_epu64(hi1[v], xv, y1v);
                    }
                }
                match &reducer {
                    Some(r) => {
                        for v in 0..vecs {
                            let (r0, r1) = (r.reduce(hi0[v], lo0[v]), r.reduce(hi1[v], lo1[v]));
                            if start == 0 {
                                (res0[v], res1[v]) = (r0, r1);
                            } else {
                                (res0[v], res1[v]) = (r.add(res0[v], r0), r.add(res1[v], r1));
                            }
                        }
                    }
                    None => {
                        // One chunk holds every term: reduce each lane's sums in u128.
                        for v in 0..vecs {
                            let k = kb + v * L;
                            let (l0, h0) = (store(lo0[v]), store(hi0[v]));
                            let (l1, h1) = (store(lo1[v]), store(hi1[v]));
                            for l in 0..L {
                                out0[k + l] = reduce_split(m, h0[l], l0[l]);
                                out1[k + l] = reduce_split(m, h1[l], l1[l]);
                            }
                        }
                    }
                }
                start = end;
                if start >= terms {
                    break;
                }
            }
            if reducer.is_some() {
                for v in 0..vecs {
                    let k = kb + v * L;
                    out0[k..k + L].copy_from_slice(&store(res0[v]));
                    out1[k..k + L].copy_from_slice(&store(res1[v]));
                }
            }
        }
        fn tail<'a>(s: &[&'a [u64]], from: usize) -> Vec<&'a [u64]> {
            s.iter().map(|x| &x[from..]).collect()
        }
        scalar_dot2(
            m,
            &tail(xs, body),
            &tail(ys0, body),
            &tail(ys1, body),
            &mut out0[body..],
            &mut out1[body..],
        );
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn dot_const(m: &Modulus, xs: &[&[u64]], ws: &[u64], out: &mut [u64]) {
        let n = out.len();
        let body = n - n % L;
        let zero = _mm512_setzero_si512();
        let wv: Vec<__m512i> = ws.iter().map(|&w| _mm512_set1_epi64(w as i64)).collect();
        for k in (0..body).step_by(L) {
            let (mut lo, mut hi) = (zero, zero);
            for (x, &w) in xs.iter().zip(&wv) {
                let x = load(x, k);
                lo = _mm512_madd52lo_epu64(lo, x, w);
                hi = _mm512_madd52hi_epu64(hi, x, w);
            }
            let (lo, hi) = (store(lo), store(hi));
            for l in 0..L {
                out[k + l] = reduce_split(m, hi[l], lo[l]);
            }
        }
        let tail: Vec<&[u64]> = xs.iter().map(|x| &x[body..]).collect();
        scalar_dot_const(m, &tail, ws, &mut out[body..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::ntt_primes;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `sum_j x_j y_j mod q` in u128 arithmetic, one product reduced at a time.
    fn oracle(q: u64, xs: &[u64], ys: &[u64]) -> u64 {
        xs.iter().zip(ys).fold(0u64, |acc, (&x, &y)| {
            ((acc as u128 + (x as u128 * y as u128) % q as u128) % q as u128) as u64
        })
    }

    fn refs(v: &[Vec<u64>]) -> Vec<&[u64]> {
        v.iter().map(|x| x.as_slice()).collect()
    }

    fn paths() -> Vec<DotPath> {
        let mut p = vec![DotPath::Scalar];
        if DotPath::select(2, 1) == DotPath::Ifma52 {
            p.push(DotPath::Ifma52);
        } else {
            eprintln!("notice: no AVX-512 IFMA on this CPU: only the scalar dot product is tested");
        }
        p
    }

    /// Random operands in [0, q), with whole rows of q - 1 (the largest products) and zeros.
    fn operands(rng: &mut ChaCha8Rng, q: u64, terms: usize, n: usize) -> Vec<Vec<u64>> {
        (0..terms)
            .map(|j| match j % 5 {
                3 => vec![q - 1; n],
                4 if j > 5 => vec![0; n],
                _ => (0..n).map(|_| rng.gen_range(0..q)).collect(),
            })
            .collect()
    }

    #[test]
    fn dot2_matches_u128_oracle_on_every_path() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        // 51 bits: the largest primes of the vector reduction (3 terms per reduction); 50
        // bits: 15 terms per reduction, so 33 and 70 terms sum reduced chunks.
        for bits in [20u32, 31, 33, 40, 50, 51, 52, 55, 61] {
            let q = ntt_primes(bits.min(61), 4, 1, &[]).unwrap()[0];
            let m = Modulus::new(q).unwrap();
            // 37: one partial block and a scalar tail; 600: two whole blocks, a partial one
            // and a tail.
            for (terms, n) in [0usize, 1, 2, 3, 4, 13, 33, 70]
                .into_iter()
                .flat_map(|t| [(t, 37), (t, 600)])
            {
                let xs = operands(&mut rng, q, terms, n);
                let ys0 = operands(&mut rng, q, terms, n);
                let ys1 = operands(&mut rng, q, terms, n);
                for path in paths() {
                    if path == DotPath::Ifma52 && q > 1 << 52 {
                        continue;
                    }
                    let (mut o0, mut o1) = (vec![0; n], vec![0; n]);
                    dot2_with(
                        path,
                        &m,
                        &refs(&xs),
                        &refs(&ys0),
                        &refs(&ys1),
                        &mut o0,
                        &mut o1,
                    );
                    for k in 0..n {
                        let col = |v: &[Vec<u64>]| -> Vec<u64> { v.iter().map(|x| x[k]).collect() };
                        assert_eq!(
                            o0[k],
                            oracle(q, &col(&xs), &col(&ys0)),
                            "{path:?} {bits} bits {terms} terms k {k}"
                        );
                        assert_eq!(
                            o1[k],
                            oracle(q, &col(&xs), &col(&ys1)),
                            "{path:?} {bits} bits {terms} terms k {k}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn ifma_sums_the_most_terms_exactly() {
        if DotPath::select(2, 1) != DotPath::Ifma52 {
            eprintln!("notice: no AVX-512 IFMA on this CPU: test skipped");
            return;
        }
        // 2^12 products of (q - 1)^2 at the largest q the path accepts: each half-sum reaches
        // its bound.
        let q = ntt_primes(52, 4, 1, &[]).unwrap()[0];
        let m = Modulus::new(q).unwrap();
        let n = 8;
        let xs = vec![vec![q - 1; n]; IFMA_MAX_TERMS];
        let r: Vec<&[u64]> = xs.iter().map(|x| x.as_slice()).collect();
        let (mut o0, mut o1) = (vec![0; n], vec![0; n]);
        dot2_with(DotPath::Ifma52, &m, &r, &r, &r, &mut o0, &mut o1);
        let want = oracle(
            q,
            &vec![q - 1; IFMA_MAX_TERMS],
            &vec![q - 1; IFMA_MAX_TERMS],
        );
        assert_eq!(o0, vec![want; n]);
        assert_eq!(o1, vec![want; n]);
        assert_eq!(DotPath::select(q, IFMA_MAX_TERMS + 1), DotPath::Scalar);
        assert_eq!(DotPath::select((1 << 52) + 1, 2), DotPath::Scalar);
    }

    #[test]
    fn dot_const_matches_u128_oracle_on_every_path() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        for (x_bits, bits) in [(31u32, 33u32), (50, 40), (52, 52), (61, 50), (40, 61)] {
            let q = ntt_primes(bits, 4, 1, &[]).unwrap()[0];
            let m = Modulus::new(q).unwrap();
            let x_bound = 1u64 << x_bits;
            for terms in [1usize, 2, 7, 9, 17] {
                let n = 21;
                let xs: Vec<Vec<u64>> = (0..terms)
                    .map(|j| {
                        (0..n)
                            .map(|k| {
                                if (j + k) % 7 == 0 {
                                    x_bound - 1
                                } else {
                                    rng.gen_range(0..x_bound)
                                }
                            })
                            .collect()
                    })
                    .collect();
                let ws: Vec<u64> = (0..terms)
                    .map(|j| if j == 0 { q - 1 } else { rng.gen_range(0..q) })
                    .collect();
                let r: Vec<&[u64]> = xs.iter().map(|x| x.as_slice()).collect();
                for path in paths() {
                    if path == DotPath::Ifma52 && x_bound.max(q) > 1 << 52 {
                        continue;
                    }
                    let mut out = vec![0; n];
                    dot_const_with(path, &m, &r, &ws, &mut out);
                    for k in 0..n {
                        let col: Vec<u64> = xs.iter().map(|x| x[k]).collect();
                        assert_eq!(
                            out[k],
                            oracle(q, &col, &ws),
                            "{path:?} x<2^{x_bits} q {bits} bits {terms} terms k {k}"
                        );
                    }
                }
            }
        }
    }
}
