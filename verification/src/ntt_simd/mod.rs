//! AVX-512 paths of the NTT of [`crate::ntt::NttTable`], selected at run time.
//!
//! They compute exactly the same function as the scalar path: the forward transform returns
//! `out[i] = a(psi^(2 brev(i) + 1)) mod q` in `[0, q)`, bit-reversed order; the inverse returns
//! the coefficients in `[0, q)`, standard order, including `N^-1`. Both outputs are fully
//! reduced, so any correct evaluation order gives the same words; the test in `tests.rs` checks
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
//!
//! One file per instruction set: this file holds the dispatch ([`SimdTables`], [`Path`]) and
//! the AVX-512F helpers every back end shares; `kernels.rs` the transform skeleton of the two
//! 64-bit-lane back ends, instantiated in `ifma.rs` (AVX-512 IFMA) and `avx512.rs`
//! (AVX-512F/DQ); `u32x16.rs` the 32-bit-lane back end (AVX-512F); `tests.rs` the comparison
//! with the scalar path. The AVX2 path is `crate::ntt_avx2`.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

// `kernels` first: its `ntt_kernels!` macro is textually scoped (`#[macro_use]`) and used
// by `ifma` and `avx512`.
#[cfg(target_arch = "x86_64")]
#[macro_use]
mod kernels;

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod ifma;
#[cfg(target_arch = "x86_64")]
mod u32x16;

#[cfg(test)]
mod tests;

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
