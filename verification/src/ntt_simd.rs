//! AVX-512 paths of the NTT of [`crate::ntt::NttTable`], selected at run time.
//!
//! They compute exactly the same function as the scalar path: the forward transform returns
//! `out[i] = a(psi^(2 brev(i) + 1)) mod q` in `[0, q)`, bit-reversed order; the inverse returns
//! the coefficients in `[0, q)`, standard order, including `N^-1`. Both outputs are fully
//! reduced, so any correct evaluation order gives the same words; the test at the bottom checks
//! it bit for bit against the scalar path.
//!
//! Three back ends, all with Harvey's lazy butterflies (values in `[0, 4q)` in the forward
//! transform, `[0, 2q)` in the inverse) and Shoup products by twiddles; the fastest that applies
//! runs:
//! - [`Path::U32x16`] for `q < 2^30` (so `4q < 2^32`) and `N >= 32`: 16 lanes of 32 bits
//!   (AVX-512F) with Shoup constants `floor(w * 2^32 / q)`, on a per-thread 32-bit copy of the
//!   array (narrowed by the first stage, widened back by the last);
//! - [`Path::Ifma52`] for `q < 2^50` (so `4q < 2^52`) on CPUs with AVX-512 IFMA: 52-bit
//!   multiplies with Shoup constants `floor(w * 2^52 / q)`;
//! - [`Path::Avx512`] for every `q < 2^61`: AVX-512F/DQ, 64x64-bit high products built from
//!   32-bit multiplies, with the scalar Shoup constants `floor(w * 2^64 / q)`.
//!
//! Loop structure (both directions): stages whose butterflies span more than a cache block run
//! over the whole array; the remaining ones run block by block (a block is 32 KiB, it fits in
//! L1); the last three (64-bit lanes) or four (32-bit lanes) stages of the forward transform,
//! and the first ones of the inverse, run in registers with lane permutations. The inverse
//! folds `N^-1` into its last stage; the forward folds the final reduction into its last.
//!
//! Only `N >= 16` is vectorised; smaller transforms use the scalar path.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Words per cache block of the depth-first part of the transforms (32 KiB).
#[cfg(target_arch = "x86_64")]
const BLOCK: usize = 4096;

/// Which back end runs a transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// AVX-512F, 16 lanes of 32 bits (`avx512f`), `q < 2^30` and `N >= 32`.
    U32x16,
    /// AVX-512 IFMA (`avx512f`, `avx512ifma`), `q < 2^50`.
    Ifma52,
    /// AVX-512F/DQ (`avx512f`, `avx512dq`), any `q < 2^61`.
    Avx512,
}

/// Shoup constants `floor(w * 2^52 / q)` of the IFMA back end (`q < 2^50` only).
#[derive(Clone, Debug)]
struct Ifma52Consts {
    psi_rev_shoup: Vec<u64>,
    inv_psi_rev_shoup: Vec<u64>,
    n_inv_shoup: u64,
    w1_n_inv_shoup: u64,
}

/// Twiddles as `u32` and Shoup constants `floor(w * 2^32 / q)` of the 32-bit back end
/// (`q < 2^30`, `N >= 32` only).
#[derive(Clone, Debug)]
struct U32Consts {
    psi_rev: Vec<u32>,
    psi_rev_shoup: Vec<u32>,
    inv_psi_rev: Vec<u32>,
    inv_psi_rev_shoup: Vec<u32>,
    n_inv_shoup: u64,
    w1_n_inv_shoup: u64,
}

/// Precomputed constants of the vector paths of one table. The twiddles and their 64-bit
/// Shoup constants are the table's own, passed in at each call.
#[derive(Clone, Debug)]
pub(crate) struct SimdTables {
    q: u64,
    /// Last inverse stage: `N^-1` and `w1 * N^-1` (`w1 = inv_psi_rev[1]`) with their 64-bit
    /// Shoup constants.
    n_inv: u64,
    n_inv_shoup: u64,
    w1_n_inv: u64,
    w1_n_inv_shoup: u64,
    ifma: Option<Ifma52Consts>,
    u32: Option<U32Consts>,
}

impl SimdTables {
    /// Constants of the vector paths, or `None` when no vector path applies (`N < 16`, or a
    /// non-x86_64 target). The CPU is checked at each call, not here.
    pub(crate) fn new(
        modulus: &crate::arith::Modulus,
        psi_rev: &[u64],
        psi_rev_shoup: &[u64],
        inv_psi_rev: &[u64],
        inv_psi_rev_shoup: &[u64],
        n_inv: u64,
    ) -> Option<Self> {
        let n = psi_rev.len();
        if !cfg!(target_arch = "x86_64") || n < 16 {
            return None;
        }
        let q = modulus.value();
        let w1_n_inv = modulus.mul(inv_psi_rev[1], n_inv);
        let (n_inv_shoup, w1_n_inv_shoup) = (modulus.shoup(n_inv), modulus.shoup(w1_n_inv));
        // floor(w 2^k / q) = floor(floor(w 2^64 / q) / 2^(64 - k)).
        let ifma = (q < 1 << 50).then(|| Ifma52Consts {
            psi_rev_shoup: psi_rev_shoup.iter().map(|&x| x >> 12).collect(),
            inv_psi_rev_shoup: inv_psi_rev_shoup.iter().map(|&x| x >> 12).collect(),
            n_inv_shoup: n_inv_shoup >> 12,
            w1_n_inv_shoup: w1_n_inv_shoup >> 12,
        });
        let narrow = |v: &[u64], shift: u32| -> Vec<u32> {
            v.iter().map(|&x| (x >> shift) as u32).collect()
        };
        let u32 = (q < 1 << 30 && n >= 32).then(|| U32Consts {
            psi_rev: narrow(psi_rev, 0),
            psi_rev_shoup: narrow(psi_rev_shoup, 32),
            inv_psi_rev: narrow(inv_psi_rev, 0),
            inv_psi_rev_shoup: narrow(inv_psi_rev_shoup, 32),
            n_inv_shoup: n_inv_shoup >> 32,
            w1_n_inv_shoup: w1_n_inv_shoup >> 32,
        });
        Some(SimdTables {
            q,
            n_inv,
            n_inv_shoup,
            w1_n_inv,
            w1_n_inv_shoup,
            ifma,
            u32,
        })
    }

    /// The back end this CPU runs for this table, if any: the fastest that applies, or only
    /// `only` when given (a test hook).
    pub(crate) fn path(&self, only: Option<Path>) -> Option<Path> {
        #[cfg(target_arch = "x86_64")]
        {
            let allowed = |p: Path| only.is_none_or(|o| o == p);
            if !is_x86_feature_detected!("avx512f") {
                return None;
            }
            if allowed(Path::U32x16) && self.u32.is_some() {
                return Some(Path::U32x16);
            }
            if allowed(Path::Ifma52)
                && self.ifma.is_some()
                && is_x86_feature_detected!("avx512ifma")
            {
                return Some(Path::Ifma52);
            }
            if allowed(Path::Avx512) && is_x86_feature_detected!("avx512dq") {
                return Some(Path::Avx512);
            }
            None
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = only;
            None
        }
    }

    /// Forward NTT in place (input in `[0, 4q)` standard order, output in `[0, q)` bit-reversed
    /// order) with the table's twiddles `psi_rev` and their Shoup constants `psi_rev_shoup`;
    /// returns `false`, leaving `a` untouched, when this CPU has no vector path (see
    /// [`SimdTables::path`] for `only`).
    pub(crate) fn forward(
        &self,
        a: &mut [u64],
        psi_rev: &[u64],
        psi_rev_shoup: &[u64],
        only: Option<Path>,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Some(path) = self.path(only) {
            assert!(a.len() == psi_rev.len() && a.len() == psi_rev_shoup.len());
            match (path, &self.ifma, &self.u32) {
                (Path::U32x16, _, Some(c)) => {
                    let tw = u32x16::Twiddles {
                        w: &c.psi_rev,
                        ws: &c.psi_rev_shoup,
                    };
                    // SAFETY: `path()` returns `U32x16` only after detecting avx512f, the
                    // target feature of `u32x16::forward`.
                    unsafe { u32x16::forward(a, &tw, self.q) }
                }
                // SAFETY: `path()` returns `Ifma52` only after detecting avx512f and
                // avx512ifma, the target features of `ifma::forward`.
                (Path::Ifma52, Some(c), _) => unsafe {
                    ifma::forward(a, psi_rev, &c.psi_rev_shoup, self.q)
                },
                // SAFETY: `path()` returns `Avx512` only after detecting avx512f and
                // avx512dq, the target features of `avx512::forward`.
                _ => unsafe { avx512::forward(a, psi_rev, psi_rev_shoup, self.q) },
            }
            return true;
        }
        let _ = (a, psi_rev, psi_rev_shoup, only);
        false
    }

    /// Inverse NTT in place (input in `[0, 2q)` bit-reversed order, output in `[0, q)` standard
    /// order, times `N^-1`) with the table's `inv_psi_rev` and `inv_psi_rev_shoup`; returns
    /// `false`, leaving `a` untouched, when this CPU has no vector path.
    pub(crate) fn inverse(
        &self,
        a: &mut [u64],
        inv_psi_rev: &[u64],
        inv_psi_rev_shoup: &[u64],
        only: Option<Path>,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Some(path) = self.path(only) {
            assert!(a.len() == inv_psi_rev.len() && a.len() == inv_psi_rev_shoup.len());
            let mut last = LastStage {
                n_inv: self.n_inv,
                n_inv_shoup: self.n_inv_shoup,
                w1_n_inv: self.w1_n_inv,
                w1_n_inv_shoup: self.w1_n_inv_shoup,
            };
            match (path, &self.ifma, &self.u32) {
                (Path::U32x16, _, Some(c)) => {
                    last.n_inv_shoup = c.n_inv_shoup;
                    last.w1_n_inv_shoup = c.w1_n_inv_shoup;
                    let tw = u32x16::Twiddles {
                        w: &c.inv_psi_rev,
                        ws: &c.inv_psi_rev_shoup,
                    };
                    // SAFETY: `path()` returns `U32x16` only after detecting avx512f, the
                    // target feature of `u32x16::inverse`.
                    unsafe { u32x16::inverse(a, &tw, self.q, last) }
                }
                (Path::Ifma52, Some(c), _) => {
                    last.n_inv_shoup = c.n_inv_shoup;
                    last.w1_n_inv_shoup = c.w1_n_inv_shoup;
                    // SAFETY: `path()` returns `Ifma52` only after detecting avx512f and
                    // avx512ifma, the target features of `ifma::inverse`.
                    unsafe { ifma::inverse(a, inv_psi_rev, &c.inv_psi_rev_shoup, self.q, last) }
                }
                // SAFETY: `path()` returns `Avx512` only after detecting avx512f and
                // avx512dq, the target features of `avx512::inverse`.
                _ => unsafe { avx512::inverse(a, inv_psi_rev, inv_psi_rev_shoup, self.q, last) },
            }
            return true;
        }
        let _ = (a, inv_psi_rev, inv_psi_rev_shoup, only);
        false
    }
}

/// Constants of the last inverse stage, which also multiplies by `N^-1`.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct LastStage {
    n_inv: u64,
    n_inv_shoup: u64,
    w1_n_inv: u64,
    w1_n_inv_shoup: u64,
}

/// Plain integer lanes that vector loads and stores may read and write.
#[cfg(target_arch = "x86_64")]
trait Lane: Copy {}
#[cfg(target_arch = "x86_64")]
impl Lane for u32 {}
#[cfg(target_arch = "x86_64")]
impl Lane for u64 {}

/// Unaligned load of the first 64 bytes of `src` (8 `u64` or 16 `u32`).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
fn load<T: Lane>(src: &[T]) -> __m512i {
    assert!(std::mem::size_of_val(src) >= 64);
    // SAFETY: `src` holds at least 64 initialised bytes (checked above) of plain integers;
    // `loadu` has no alignment requirement.
    unsafe { _mm512_loadu_si512(src.as_ptr().cast()) }
}

/// Unaligned store into the first 64 bytes of `dst` (8 `u64` or 16 `u32`).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
fn store<T: Lane>(dst: &mut [T], v: __m512i) {
    assert!(std::mem::size_of_val(dst) >= 64);
    // SAFETY: `dst` holds at least 64 bytes (checked above), borrowed exclusively, of plain
    // integers for which every bit pattern is valid; `storeu` has no alignment requirement.
    unsafe { _mm512_storeu_si512(dst.as_mut_ptr().cast(), v) }
}

/// `x - m` where `x >= m`, else `x` (unsigned): maps `[0, 2m)` onto `[0, m)`.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
fn reduce_once(x: __m512i, m: __m512i) -> __m512i {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, m))
}

/// Lane index vector.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
fn idx(i: [i64; 8]) -> __m512i {
    _mm512_setr_epi64(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7])
}

/// The transform skeleton, instantiated once per back end: `$mul` is the lazy Shoup product
/// `(a, w, w_shoup, q) -> a * w mod q` in `[0, 2q)` for `a` in `[0, 4q)`.
#[cfg(target_arch = "x86_64")]
macro_rules! ntt_kernels {
    ($features:literal, $mul:ident) => {
        use super::*;

        /// Constants broadcast to all lanes.
        #[derive(Clone, Copy)]
        struct Consts {
            q: __m512i,
            two_q: __m512i,
        }

        /// Forward (Cooley-Tukey) butterfly, inputs and outputs in `[0, 4q)`.
        #[inline]
        #[target_feature(enable = $features)]
        fn fwd_bf(
            c: Consts,
            x: __m512i,
            y: __m512i,
            w: __m512i,
            ws: __m512i,
        ) -> (__m512i, __m512i) {
            let x = reduce_once(x, c.two_q);
            let t = $mul(y, w, ws, c.q);
            (
                _mm512_add_epi64(x, t),
                _mm512_sub_epi64(_mm512_add_epi64(x, c.two_q), t),
            )
        }

        /// Forward butterfly with outputs reduced into `[0, q)`.
        #[inline]
        #[target_feature(enable = $features)]
        fn fwd_bf_final(
            c: Consts,
            x: __m512i,
            y: __m512i,
            w: __m512i,
            ws: __m512i,
        ) -> (__m512i, __m512i) {
            let x = reduce_once(reduce_once(x, c.two_q), c.q);
            let t = reduce_once($mul(y, w, ws, c.q), c.q);
            (
                reduce_once(_mm512_add_epi64(x, t), c.q),
                reduce_once(_mm512_sub_epi64(_mm512_add_epi64(x, c.q), t), c.q),
            )
        }

        /// Inverse (Gentleman-Sande) butterfly, inputs and outputs in `[0, 2q)`.
        #[inline]
        #[target_feature(enable = $features)]
        fn inv_bf(
            c: Consts,
            x: __m512i,
            y: __m512i,
            w: __m512i,
            ws: __m512i,
        ) -> (__m512i, __m512i) {
            let s = reduce_once(_mm512_add_epi64(x, y), c.two_q);
            let d = _mm512_sub_epi64(_mm512_add_epi64(x, c.two_q), y);
            (s, $mul(d, w, ws, c.q))
        }

        /// One forward stage with butterfly span `t >= 8` over `data`, a block of the array
        /// starting at word `offset`: group `g` of the block uses twiddle `(n + offset) / 2t + g`.
        #[inline]
        #[target_feature(enable = $features)]
        fn fwd_stage(c: Consts, data: &mut [u64], t: usize, tw: &[u64], tws: &[u64]) {
            for ((chunk, &w), &ws) in data.chunks_exact_mut(2 * t).zip(tw).zip(tws) {
                let (lo, hi) = chunk.split_at_mut(t);
                let w = _mm512_set1_epi64(w as i64);
                let ws = _mm512_set1_epi64(ws as i64);
                for (x, y) in lo.chunks_exact_mut(8).zip(hi.chunks_exact_mut(8)) {
                    let (u, v) = fwd_bf(c, load(x), load(y), w, ws);
                    store(x, u);
                    store(y, v);
                }
            }
        }

        /// One inverse stage with butterfly span `t >= 8`; twiddles as in [`fwd_stage`].
        #[inline]
        #[target_feature(enable = $features)]
        fn inv_stage(c: Consts, data: &mut [u64], t: usize, tw: &[u64], tws: &[u64]) {
            for ((chunk, &w), &ws) in data.chunks_exact_mut(2 * t).zip(tw).zip(tws) {
                let (lo, hi) = chunk.split_at_mut(t);
                let w = _mm512_set1_epi64(w as i64);
                let ws = _mm512_set1_epi64(ws as i64);
                for (x, y) in lo.chunks_exact_mut(8).zip(hi.chunks_exact_mut(8)) {
                    let (u, v) = inv_bf(c, load(x), load(y), w, ws);
                    store(x, u);
                    store(y, v);
                }
            }
        }

        /// The last three forward stages (spans 4, 2, 1) of a block starting at word `offset`,
        /// in registers, 16 words at a time; outputs reduced into `[0, q)`.
        #[inline]
        #[target_feature(enable = $features)]
        fn fwd_last3(
            c: Consts,
            data: &mut [u64],
            n: usize,
            offset: usize,
            tw: &[u64],
            tws: &[u64],
        ) {
            // Block words x0..x15 held in A = x0..x7, B = x8..x15.
            let split4 = (
                idx([0, 1, 2, 3, 8, 9, 10, 11]),
                idx([4, 5, 6, 7, 12, 13, 14, 15]),
            );
            let split2 = (
                idx([0, 1, 8, 9, 4, 5, 12, 13]),
                idx([2, 3, 10, 11, 6, 7, 14, 15]),
            );
            let split1 = (
                idx([0, 8, 2, 10, 4, 12, 6, 14]),
                idx([1, 9, 3, 11, 5, 13, 7, 15]),
            );
            let merge = (
                idx([0, 8, 1, 9, 2, 10, 3, 11]),
                idx([4, 12, 5, 13, 6, 14, 7, 15]),
            );
            let bcast4 = idx([0, 0, 0, 0, 1, 1, 1, 1]);
            let bcast2 = idx([0, 0, 1, 1, 2, 2, 3, 3]);
            for (k, chunk) in data.chunks_exact_mut(16).enumerate() {
                let e = n + offset + 16 * k;
                let (lo, hi) = chunk.split_at_mut(8);
                let (a, b) = (load(lo), load(hi));
                // Span 4: x0..x3 / x4..x7 (group e/8), x8..x11 / x12..x15 (group e/8 + 1).
                let z0 = _mm512_permutex2var_epi64(a, split4.0, b);
                let z1 = _mm512_permutex2var_epi64(a, split4.1, b);
                let w = _mm512_permutexvar_epi64(bcast4, load(&tw[e / 8..]));
                let ws = _mm512_permutexvar_epi64(bcast4, load(&tws[e / 8..]));
                let (z0, z1) = fwd_bf(c, z0, z1, w, ws);
                // Span 2: z0 = x0 x1 x2 x3 x8 x9 x10 x11, z1 = x4 x5 x6 x7 x12 x13 x14 x15.
                let y0 = _mm512_permutex2var_epi64(z0, split2.0, z1);
                let y1 = _mm512_permutex2var_epi64(z0, split2.1, z1);
                let w = _mm512_permutexvar_epi64(bcast2, load(&tw[e / 4..]));
                let ws = _mm512_permutexvar_epi64(bcast2, load(&tws[e / 4..]));
                let (y0, y1) = fwd_bf(c, y0, y1, w, ws);
                // Span 1: y0 = x0 x1 x4 x5 x8 x9 x12 x13, y1 = x2 x3 x6 x7 x10 x11 x14 x15.
                let v0 = _mm512_permutex2var_epi64(y0, split1.0, y1);
                let v1 = _mm512_permutex2var_epi64(y0, split1.1, y1);
                let (v0, v1) = fwd_bf_final(c, v0, v1, load(&tw[e / 2..]), load(&tws[e / 2..]));
                // v0 = x0 x2 .. x14, v1 = x1 x3 .. x15.
                store(lo, _mm512_permutex2var_epi64(v0, merge.0, v1));
                store(hi, _mm512_permutex2var_epi64(v0, merge.1, v1));
            }
        }

        /// The first three inverse stages (spans 1, 2, 4) of a block starting at word
        /// `offset`, in registers, 16 words at a time.
        #[inline]
        #[target_feature(enable = $features)]
        fn inv_first3(
            c: Consts,
            data: &mut [u64],
            n: usize,
            offset: usize,
            tw: &[u64],
            tws: &[u64],
        ) {
            let split1 = (
                idx([0, 2, 4, 6, 8, 10, 12, 14]),
                idx([1, 3, 5, 7, 9, 11, 13, 15]),
            );
            let split2 = (
                idx([0, 8, 2, 10, 4, 12, 6, 14]),
                idx([1, 9, 3, 11, 5, 13, 7, 15]),
            );
            let split4 = (
                idx([0, 1, 8, 9, 4, 5, 12, 13]),
                idx([2, 3, 10, 11, 6, 7, 14, 15]),
            );
            let merge = (
                idx([0, 1, 2, 3, 8, 9, 10, 11]),
                idx([4, 5, 6, 7, 12, 13, 14, 15]),
            );
            let bcast4 = idx([0, 0, 0, 0, 1, 1, 1, 1]);
            let bcast2 = idx([0, 0, 1, 1, 2, 2, 3, 3]);
            for (k, chunk) in data.chunks_exact_mut(16).enumerate() {
                let e = n + offset + 16 * k;
                let (lo, hi) = chunk.split_at_mut(8);
                let (a, b) = (load(lo), load(hi));
                // Span 1: even / odd words, group e/2 + lane.
                let z0 = _mm512_permutex2var_epi64(a, split1.0, b);
                let z1 = _mm512_permutex2var_epi64(a, split1.1, b);
                let (z0, z1) = inv_bf(c, z0, z1, load(&tw[e / 2..]), load(&tws[e / 2..]));
                // Span 2: z0 = x0 x2 .. x14, z1 = x1 x3 .. x15 -> x0 x1 x4 x5 .. / x2 x3 x6 x7 ..
                let y0 = _mm512_permutex2var_epi64(z0, split2.0, z1);
                let y1 = _mm512_permutex2var_epi64(z0, split2.1, z1);
                let w = _mm512_permutexvar_epi64(bcast2, load(&tw[e / 4..]));
                let ws = _mm512_permutexvar_epi64(bcast2, load(&tws[e / 4..]));
                let (y0, y1) = inv_bf(c, y0, y1, w, ws);
                // Span 4: -> x0..x3 x8..x11 / x4..x7 x12..x15.
                let v0 = _mm512_permutex2var_epi64(y0, split4.0, y1);
                let v1 = _mm512_permutex2var_epi64(y0, split4.1, y1);
                let w = _mm512_permutexvar_epi64(bcast4, load(&tw[e / 8..]));
                let ws = _mm512_permutexvar_epi64(bcast4, load(&tws[e / 8..]));
                let (v0, v1) = inv_bf(c, v0, v1, w, ws);
                store(lo, _mm512_permutex2var_epi64(v0, merge.0, v1));
                store(hi, _mm512_permutex2var_epi64(v0, merge.1, v1));
            }
        }

        /// Forward NTT of `a` (`N = a.len() >= 16`, a power of two): input in `[0, 4q)`,
        /// output in `[0, q)`, bit-reversed order.
        #[target_feature(enable = $features)]
        pub(super) fn forward(a: &mut [u64], tw: &[u64], tws: &[u64], q: u64) {
            let n = a.len();
            debug_assert!(n >= 16 && n.is_power_of_two());
            let c = Consts {
                q: _mm512_set1_epi64(q as i64),
                two_q: _mm512_set1_epi64(2 * q as i64),
            };
            let block = n.min(BLOCK);
            // Breadth first while a butterfly spans more than a block.
            let mut t = n / 2;
            while 2 * t > block {
                let m = n / (2 * t);
                fwd_stage(c, a, t, &tw[m..2 * m], &tws[m..2 * m]);
                t /= 2;
            }
            // Depth first, one block at a time.
            for (bi, data) in a.chunks_exact_mut(block).enumerate() {
                let offset = bi * block;
                let mut t = block / 2;
                while t >= 8 {
                    let base = (n + offset) / (2 * t);
                    let groups = block / (2 * t);
                    fwd_stage(
                        c,
                        data,
                        t,
                        &tw[base..base + groups],
                        &tws[base..base + groups],
                    );
                    t /= 2;
                }
                fwd_last3(c, data, n, offset, tw, tws);
            }
        }

        /// Inverse NTT of `a` (`N = a.len() >= 16`): input in `[0, 2q)` bit-reversed order,
        /// output in `[0, q)` standard order, times `N^-1`.
        #[target_feature(enable = $features)]
        pub(super) fn inverse(a: &mut [u64], tw: &[u64], tws: &[u64], q: u64, last: LastStage) {
            let n = a.len();
            debug_assert!(n >= 16 && n.is_power_of_two());
            let c = Consts {
                q: _mm512_set1_epi64(q as i64),
                two_q: _mm512_set1_epi64(2 * q as i64),
            };
            let block = n.min(BLOCK);
            // Depth first, one block at a time, up to span min(block / 2, n / 4).
            let t_end = (block / 2).min(n / 4);
            for (bi, data) in a.chunks_exact_mut(block).enumerate() {
                let offset = bi * block;
                inv_first3(c, data, n, offset, tw, tws);
                let mut t = 8;
                while t <= t_end {
                    let base = (n + offset) / (2 * t);
                    let groups = block / (2 * t);
                    inv_stage(
                        c,
                        data,
                        t,
                        &tw[base..base + groups],
                        &tws[base..base + groups],
                    );
                    t *= 2;
                }
            }
            // Breadth first up to span n / 4.
            let mut t = (t_end * 2).max(8);
            while t <= n / 4 {
                let m = n / (2 * t);
                inv_stage(c, a, t, &tw[m..2 * m], &tws[m..2 * m]);
                t *= 2;
            }
            // Last stage (span n / 2), times N^-1, outputs in [0, q):
            // x' = (x + y) N^-1, y' = (x - y) w1 N^-1.
            let n_inv = _mm512_set1_epi64(last.n_inv as i64);
            let n_inv_s = _mm512_set1_epi64(last.n_inv_shoup as i64);
            let w1 = _mm512_set1_epi64(last.w1_n_inv as i64);
            let w1s = _mm512_set1_epi64(last.w1_n_inv_shoup as i64);
            let (lo, hi) = a.split_at_mut(n / 2);
            for (x, y) in lo.chunks_exact_mut(8).zip(hi.chunks_exact_mut(8)) {
                let (u, v) = (load(x), load(y));
                let s = _mm512_add_epi64(u, v);
                let d = _mm512_sub_epi64(_mm512_add_epi64(u, c.two_q), v);
                store(x, reduce_once($mul(s, n_inv, n_inv_s, c.q), c.q));
                store(y, reduce_once($mul(d, w1, w1s, c.q), c.q));
            }
        }
    };
}

/// Back end for `q < 2^50`: IFMA 52-bit products.
#[cfg(target_arch = "x86_64")]
mod ifma {
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
}

/// Back end for `q < 2^61`: 64-bit products from 32-bit multiplies.
#[cfg(target_arch = "x86_64")]
mod avx512 {
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
}

/// Back end for `q < 2^30` (so `4q < 2^32`): 16 lanes of 32 bits, on a per-thread 32-bit
/// copy of the array (narrowed in the first stage, widened back in the last).
#[cfg(target_arch = "x86_64")]
mod u32x16 {
    use super::*;

    /// Words per cache block of the depth-first part (32 KiB of `u32`).
    const BLOCK32: usize = 8192;

    /// Twiddles and Shoup constants `floor(w * 2^32 / q)` of the 32-bit back end.
    pub(super) struct Twiddles<'a> {
        pub(super) w: &'a [u32],
        pub(super) ws: &'a [u32],
    }

    /// Constants broadcast to all lanes.
    #[derive(Clone, Copy)]
    struct Consts {
        q: __m512i,
        two_q: __m512i,
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn idx(i: [i32; 16]) -> __m512i {
        _mm512_setr_epi32(
            i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], i[8], i[9], i[10], i[11], i[12], i[13],
            i[14], i[15],
        )
    }

    /// `x - m` where `x >= m`, else `x` (unsigned 32-bit lanes).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn reduce_once(x: __m512i, m: __m512i) -> __m512i {
        _mm512_min_epu32(x, _mm512_sub_epi32(x, m))
    }

    /// Lazy Shoup product for `a < 2^32`, `w < q < 2^30`, `ws = floor(w 2^32 / q)`: the
    /// quotient estimate `floor(a ws / 2^32)` is at most one below `floor(a w / q)`, so
    /// `a w - qhat q` lies in `[0, 2q)` and equals its value mod 2^32.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn mul_shoup32(a: __m512i, w: __m512i, ws: __m512i, q: __m512i) -> __m512i {
        // High halves of the 64-bit products, even lanes then odd lanes.
        let even = _mm512_mul_epu32(a, ws);
        let odd = _mm512_mul_epu32(_mm512_srli_epi64::<32>(a), _mm512_srli_epi64::<32>(ws));
        let qhat = _mm512_mask_blend_epi32(0xaaaa, _mm512_srli_epi64::<32>(even), odd);
        _mm512_sub_epi32(_mm512_mullo_epi32(a, w), _mm512_mullo_epi32(qhat, q))
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn fwd_bf(c: Consts, x: __m512i, y: __m512i, w: __m512i, ws: __m512i) -> (__m512i, __m512i) {
        let x = reduce_once(x, c.two_q);
        let t = mul_shoup32(y, w, ws, c.q);
        (
            _mm512_add_epi32(x, t),
            _mm512_sub_epi32(_mm512_add_epi32(x, c.two_q), t),
        )
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn fwd_bf_final(
        c: Consts,
        x: __m512i,
        y: __m512i,
        w: __m512i,
        ws: __m512i,
    ) -> (__m512i, __m512i) {
        let x = reduce_once(reduce_once(x, c.two_q), c.q);
        let t = reduce_once(mul_shoup32(y, w, ws, c.q), c.q);
        (
            reduce_once(_mm512_add_epi32(x, t), c.q),
            reduce_once(_mm512_sub_epi32(_mm512_add_epi32(x, c.q), t), c.q),
        )
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn inv_bf(c: Consts, x: __m512i, y: __m512i, w: __m512i, ws: __m512i) -> (__m512i, __m512i) {
        let s = reduce_once(_mm512_add_epi32(x, y), c.two_q);
        let d = _mm512_sub_epi32(_mm512_add_epi32(x, c.two_q), y);
        (s, mul_shoup32(d, w, ws, c.q))
    }

    /// Loads 16 words (each below 2^32) as 16 lanes of 32 bits.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load_narrow(src: &[u64]) -> __m512i {
        let lo = _mm512_cvtepi64_epi32(load(src));
        let hi = _mm512_cvtepi64_epi32(load(&src[8..]));
        _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi)
    }

    /// Stores 16 lanes of 32 bits as 16 words.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn store_widen(dst: &mut [u64], v: __m512i) {
        store(dst, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(v)));
        store(
            &mut dst[8..],
            _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64::<1>(v)),
        );
    }

    thread_local! {
        /// Per-thread 32-bit working copy of the array being transformed.
        static SCRATCH: std::cell::Cell<Vec<u32>> = const { std::cell::Cell::new(Vec::new()) };
    }

    /// Runs `f` with a scratch buffer of `n` words of 32 bits (contents unspecified).
    fn with_scratch(n: usize, f: impl FnOnce(&mut [u32])) {
        let mut buf = SCRATCH.take();
        if buf.len() < n {
            buf.resize(n, 0);
        }
        f(&mut buf[..n]);
        SCRATCH.set(buf);
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn fwd_stage(c: Consts, data: &mut [u32], t: usize, tw: &[u32], tws: &[u32]) {
        for ((chunk, &w), &ws) in data.chunks_exact_mut(2 * t).zip(tw).zip(tws) {
            let (lo, hi) = chunk.split_at_mut(t);
            let w = _mm512_set1_epi32(w as i32);
            let ws = _mm512_set1_epi32(ws as i32);
            for (x, y) in lo.chunks_exact_mut(16).zip(hi.chunks_exact_mut(16)) {
                let (u, v) = fwd_bf(c, load(x), load(y), w, ws);
                store(x, u);
                store(y, v);
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn inv_stage(c: Consts, data: &mut [u32], t: usize, tw: &[u32], tws: &[u32]) {
        for ((chunk, &w), &ws) in data.chunks_exact_mut(2 * t).zip(tw).zip(tws) {
            let (lo, hi) = chunk.split_at_mut(t);
            let w = _mm512_set1_epi32(w as i32);
            let ws = _mm512_set1_epi32(ws as i32);
            for (x, y) in lo.chunks_exact_mut(16).zip(hi.chunks_exact_mut(16)) {
                let (u, v) = inv_bf(c, load(x), load(y), w, ws);
                store(x, u);
                store(y, v);
            }
        }
    }

    /// Lane layouts of a 32-word chunk (A = x0..x15, B = x16..x31) for the stages with spans
    /// 8, 4, 2, 1: `SPLIT[s]` maps the layout of the previous step to pairs (`z0`, `z1`) with
    /// `z0` lane `l` the `l`-th word `j` with `j & t == 0` and `z1` lane `l` the word `j + t`.
    const FWD_SPLIT: [[[i32; 16]; 2]; 4] = [
        [
            [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23],
            [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31],
        ],
        [
            [0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27],
            [4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31],
        ],
        [
            [0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29],
            [2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31],
        ],
        [
            [0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30],
            [1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31],
        ],
    ];
    /// From the span-1 layout back to A, B.
    const FWD_MERGE: [[i32; 16]; 2] = [
        [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23],
        [8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31],
    ];
    /// Inverse: spans 1, 2, 4, 8, same layouts as the forward ones.
    const INV_SPLIT: [[[i32; 16]; 2]; 4] = [
        [
            [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30],
            [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31],
        ],
        [
            [0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30],
            [1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31],
        ],
        [
            [0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29],
            [2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31],
        ],
        [
            [0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27],
            [4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31],
        ],
    ];
    const INV_MERGE: [[i32; 16]; 2] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23],
        [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31],
    ];
    /// Twiddle lane patterns (group of each lane) for spans 8, 4, 2.
    const GROUPS8: [i32; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
    const GROUPS4: [i32; 16] = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3];
    const GROUPS2: [i32; 16] = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7];

    /// Twiddles of span `t` for the chunk starting at word `e - n` of the array.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn twiddles(tw: &Twiddles, e: usize, t: usize, groups: Option<__m512i>) -> (__m512i, __m512i) {
        let (w, ws) = (load(&tw.w[e / (2 * t)..]), load(&tw.ws[e / (2 * t)..]));
        match groups {
            Some(g) => (
                _mm512_permutexvar_epi32(g, w),
                _mm512_permutexvar_epi32(g, ws),
            ),
            None => (w, ws),
        }
    }

    /// The last four forward stages (spans 8, 4, 2, 1) of the block `src` of the scratch
    /// array starting at word `offset`, in registers, 32 words at a time; outputs reduced into
    /// `[0, q)` and widened into `dst`, the same block of the words.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn fwd_last4(c: Consts, src: &[u32], dst: &mut [u64], n: usize, offset: usize, tw: &Twiddles) {
        let split = FWD_SPLIT.map(|[a, b]| (idx(a), idx(b)));
        let merge = (idx(FWD_MERGE[0]), idx(FWD_MERGE[1]));
        let groups = [
            Some(idx(GROUPS8)),
            Some(idx(GROUPS4)),
            Some(idx(GROUPS2)),
            None,
        ];
        for (k, (chunk, out)) in src
            .chunks_exact(32)
            .zip(dst.chunks_exact_mut(32))
            .enumerate()
        {
            let e = n + offset + 32 * k;
            let (mut z0, mut z1) = (load(chunk), load(&chunk[16..]));
            for s in 0..4 {
                let (y0, y1) = (
                    _mm512_permutex2var_epi32(z0, split[s].0, z1),
                    _mm512_permutex2var_epi32(z0, split[s].1, z1),
                );
                let (w, ws) = twiddles(tw, e, 8 >> s, groups[s]);
                (z0, z1) = if s < 3 {
                    fwd_bf(c, y0, y1, w, ws)
                } else {
                    fwd_bf_final(c, y0, y1, w, ws)
                };
            }
            let (lo, hi) = out.split_at_mut(16);
            store_widen(lo, _mm512_permutex2var_epi32(z0, merge.0, z1));
            store_widen(hi, _mm512_permutex2var_epi32(z0, merge.1, z1));
        }
    }

    /// The first four inverse stages (spans 1, 2, 4, 8) of the block `src` of the words
    /// starting at word `offset`, narrowed to 32 bits, in registers, 32 words at a time; the
    /// results go to `dst`, the same block of the scratch array.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn inv_first4(c: Consts, src: &[u64], dst: &mut [u32], n: usize, offset: usize, tw: &Twiddles) {
        let split = INV_SPLIT.map(|[a, b]| (idx(a), idx(b)));
        let merge = (idx(INV_MERGE[0]), idx(INV_MERGE[1]));
        let groups = [
            None,
            Some(idx(GROUPS2)),
            Some(idx(GROUPS4)),
            Some(idx(GROUPS8)),
        ];
        for (k, (chunk, out)) in src
            .chunks_exact(32)
            .zip(dst.chunks_exact_mut(32))
            .enumerate()
        {
            let e = n + offset + 32 * k;
            let (mut z0, mut z1) = (load_narrow(chunk), load_narrow(&chunk[16..]));
            for s in 0..4 {
                let (y0, y1) = (
                    _mm512_permutex2var_epi32(z0, split[s].0, z1),
                    _mm512_permutex2var_epi32(z0, split[s].1, z1),
                );
                let (w, ws) = twiddles(tw, e, 1 << s, groups[s]);
                (z0, z1) = inv_bf(c, y0, y1, w, ws);
            }
            let (lo, hi) = out.split_at_mut(16);
            store(lo, _mm512_permutex2var_epi32(z0, merge.0, z1));
            store(hi, _mm512_permutex2var_epi32(z0, merge.1, z1));
        }
    }

    /// Forward NTT of `a` (`N = a.len() >= 32`, `q < 2^30`): input in `[0, 4q)` standard
    /// order, output in `[0, q)` bit-reversed order. The first stage narrows the words into
    /// the 32-bit scratch array, the last four widen them back.
    #[target_feature(enable = "avx512f")]
    pub(super) fn forward(a: &mut [u64], tw: &Twiddles, q: u64) {
        let n = a.len();
        debug_assert!(n >= 32 && n.is_power_of_two() && q < 1 << 30);
        let c = Consts {
            q: _mm512_set1_epi32(q as i32),
            two_q: _mm512_set1_epi32(2 * q as i32),
        };
        with_scratch(n, |data| {
            // Span n / 2 (twiddle index 1), from the words into the scratch array.
            let (w, ws) = (
                _mm512_set1_epi32(tw.w[1] as i32),
                _mm512_set1_epi32(tw.ws[1] as i32),
            );
            let (a_lo, a_hi) = a.split_at(n / 2);
            let (d_lo, d_hi) = data.split_at_mut(n / 2);
            let words = a_lo.chunks_exact(16).zip(a_hi.chunks_exact(16));
            for ((x, y), (u, v)) in
                words.zip(d_lo.chunks_exact_mut(16).zip(d_hi.chunks_exact_mut(16)))
            {
                let (s, d) = fwd_bf(c, load_narrow(x), load_narrow(y), w, ws);
                store(u, s);
                store(v, d);
            }
            let block = n.min(BLOCK32);
            let mut t = n / 4;
            while 2 * t > block {
                let m = n / (2 * t);
                fwd_stage(c, data, t, &tw.w[m..2 * m], &tw.ws[m..2 * m]);
                t /= 2;
            }
            let blocks = data.chunks_exact_mut(block).zip(a.chunks_exact_mut(block));
            for (bi, (blk, out)) in blocks.enumerate() {
                let offset = bi * block;
                let mut t = t.min(block / 2);
                while t >= 16 {
                    let base = (n + offset) / (2 * t);
                    let groups = block / (2 * t);
                    fwd_stage(
                        c,
                        blk,
                        t,
                        &tw.w[base..base + groups],
                        &tw.ws[base..base + groups],
                    );
                    t /= 2;
                }
                fwd_last4(c, blk, out, n, offset, tw);
            }
        });
    }

    /// Inverse NTT of `a` (`N = a.len() >= 32`, `q < 2^30`): input in `[0, 2q)` bit-reversed
    /// order, output in `[0, q)` standard order, times `N^-1`. `last` holds 32-bit Shoup
    /// constants. The first four stages narrow the words into the 32-bit scratch array, the
    /// last one widens them back.
    #[target_feature(enable = "avx512f")]
    pub(super) fn inverse(a: &mut [u64], tw: &Twiddles, q: u64, last: LastStage) {
        let n = a.len();
        debug_assert!(n >= 32 && n.is_power_of_two() && q < 1 << 30);
        let c = Consts {
            q: _mm512_set1_epi32(q as i32),
            two_q: _mm512_set1_epi32(2 * q as i32),
        };
        with_scratch(n, |data| {
            let block = n.min(BLOCK32);
            let t_end = (block / 2).min(n / 4);
            let blocks = data.chunks_exact_mut(block).zip(a.chunks_exact(block));
            for (bi, (blk, src)) in blocks.enumerate() {
                let offset = bi * block;
                inv_first4(c, src, blk, n, offset, tw);
                let mut t = 16;
                while t <= t_end {
                    let base = (n + offset) / (2 * t);
                    let groups = block / (2 * t);
                    inv_stage(
                        c,
                        blk,
                        t,
                        &tw.w[base..base + groups],
                        &tw.ws[base..base + groups],
                    );
                    t *= 2;
                }
            }
            let mut t = (t_end * 2).max(16);
            while t <= n / 4 {
                let m = n / (2 * t);
                inv_stage(c, data, t, &tw.w[m..2 * m], &tw.ws[m..2 * m]);
                t *= 2;
            }
            // Span n / 2, times N^-1, from the scratch array back into the words.
            let n_inv = _mm512_set1_epi32(last.n_inv as i32);
            let n_inv_s = _mm512_set1_epi32(last.n_inv_shoup as i32);
            let w1 = _mm512_set1_epi32(last.w1_n_inv as i32);
            let w1s = _mm512_set1_epi32(last.w1_n_inv_shoup as i32);
            let (d_lo, d_hi) = data.split_at(n / 2);
            let (a_lo, a_hi) = a.split_at_mut(n / 2);
            let halves = d_lo.chunks_exact(16).zip(d_hi.chunks_exact(16));
            for ((x, y), (u, v)) in
                halves.zip(a_lo.chunks_exact_mut(16).zip(a_hi.chunks_exact_mut(16)))
            {
                let (x, y) = (load(x), load(y));
                let s = _mm512_add_epi32(x, y);
                let d = _mm512_sub_epi32(_mm512_add_epi32(x, c.two_q), y);
                store_widen(u, reduce_once(mul_shoup32(s, n_inv, n_inv_s, c.q), c.q));
                store_widen(v, reduce_once(mul_shoup32(d, w1, w1s, c.q), c.q));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::Path;
    use crate::arith::ntt_primes;
    use crate::ntt::NttTable;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Inputs of size `n`: corner ones (zero, `q - 1`, the top of each accepted range,
    /// monomials `X^k` and `(q - 1) X^k`) and random ones over `[0, q)`, `[0, 2q)`, `[0, 4q)`;
    /// each with the bound `r` of its range in multiples of `q`.
    fn inputs(n: usize, q: u64, rng: &mut ChaCha8Rng) -> Vec<(Vec<u64>, u64)> {
        let mut inputs: Vec<(Vec<u64>, u64)> = vec![
            (vec![0; n], 1),
            (vec![q - 1; n], 1),
            (vec![2 * q - 1; n], 2),
            (vec![4 * q - 1; n], 4),
        ];
        for k in [0, 1, n / 2, n - 1] {
            let mut v = vec![0u64; n];
            v[k] = 1;
            inputs.push((v.clone(), 1));
            v[k] = q - 1;
            inputs.push((v, 1));
        }
        for r in [1, 2, 4] {
            for _ in 0..2 {
                inputs.push(((0..n).map(|_| rng.gen_range(0..r * q)).collect(), r));
            }
        }
        inputs
    }

    /// Every vector back end this CPU has equals the scalar path bit for bit, for every size
    /// 2^1..2^14 and prime widths 20..61, on corner and random inputs over the whole accepted
    /// input range (`[0, 4q)` forward, `[0, 2q)` inverse); and so does the dispatching
    /// transform.
    #[test]
    fn vector_paths_equal_scalar_path() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x51_3d);
        let (mut u32_runs, mut ifma_runs, mut avx512_runs) = (0, 0, 0);
        // Forward (table, input) cases with N >= 16, those with q < 2^50, and those with
        // q < 2^30 and N >= 32.
        let (mut vector_cases, mut q50_cases, mut q30_cases) = (0, 0, 0);
        for log_n in 1..=14u32 {
            let n = 1usize << log_n;
            for bits in [20u32, 30, 31, 40, 49, 50, 51, 52, 55, 60, 61] {
                if bits < log_n + 2 {
                    continue;
                }
                for q in ntt_primes(bits, log_n, 2, &[]).unwrap() {
                    let table = NttTable::new(q, log_n).unwrap();
                    for (a, r) in inputs(n, q, &mut rng) {
                        if n >= 16 {
                            vector_cases += 1;
                            q50_cases += usize::from(q < 1 << 50);
                            q30_cases += usize::from(q < 1 << 30 && n >= 32);
                        }
                        let mut expected = a.clone();
                        table.forward_scalar(&mut expected);
                        let mut got = a.clone();
                        table.forward(&mut got);
                        assert_eq!(got, expected, "forward, N={n}, q={q}, input < {r}q");
                        for only in [Path::U32x16, Path::Ifma52, Path::Avx512] {
                            let mut got = a.clone();
                            match table.forward_vector(&mut got, only) {
                                Some(Path::U32x16) => u32_runs += 1,
                                Some(Path::Ifma52) => ifma_runs += 1,
                                Some(Path::Avx512) => avx512_runs += 1,
                                None => continue,
                            }
                            assert_eq!(
                                got, expected,
                                "forward vector ({only:?}), N={n}, q={q}, input < {r}q"
                            );
                        }
                        if r > 2 {
                            continue;
                        }
                        let mut expected = a.clone();
                        table.inverse_scalar(&mut expected);
                        let mut got = a.clone();
                        table.inverse(&mut got);
                        assert_eq!(got, expected, "inverse, N={n}, q={q}, input < {r}q");
                        for only in [Path::U32x16, Path::Ifma52, Path::Avx512] {
                            let mut got = a.clone();
                            if table.inverse_vector(&mut got, only).is_some() {
                                assert_eq!(
                                    got, expected,
                                    "inverse vector ({only:?}), N={n}, q={q}, input < {r}q"
                                );
                            }
                        }
                    }
                }
            }
        }
        // Guard: each back end the CPU has ran on every case it applies to.
        if std::is_x86_feature_detected!("avx512f") {
            assert_eq!(u32_runs, q30_cases);
            if std::is_x86_feature_detected!("avx512ifma") {
                assert_eq!(ifma_runs, q50_cases);
            }
            if std::is_x86_feature_detected!("avx512dq") {
                assert_eq!(avx512_runs, vector_cases);
            }
            assert!(q30_cases > 0 && q50_cases > q30_cases && vector_cases > q50_cases);
        }
    }
}
