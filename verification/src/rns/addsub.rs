//! Slot-wise `x + y` and `x - y` modulo `q`, range-checking both operands in the same pass,
//! with non-temporal stores for results too large to stay in cache.
//!
//! A ciphertext sum at `N = 2^16` and 26 limbs writes 27 MB: more than a last-level cache keeps
//! beside its two operands, so every line of the result is first read from memory only to be
//! overwritten (the read for ownership). Streaming stores write around the cache and save that
//! read, a third of the traffic of an addition, which is memory bound. Small results are stored
//! normally: the next operation finds them in cache. Every path computes the same words.

use crate::arith::modulus::{reduce_once, unreduced_flag};

/// Results of at least this many words are written with streaming stores where the CPU has
/// AVX-512 (8 MiB of `u64`: a quarter of a 32 MiB last-level cache, so operands and result
/// together exceed it).
pub const STREAM_WORDS: usize = 1 << 20;

/// `out[k] = x[k] + y[k] mod q` (or `x[k] - y[k]` when `subtract`), all three of one length,
/// `1 <= q < 2^61`. Returns the OR of [`unreduced_flag`] over both operands' words: its top
/// bit is set exactly when one of them is `>= q` (`out`'s words are then unspecified). Runs
/// AVX-512 or AVX2 code where the CPU has it; with `stream`, the AVX-512 path writes `out` with
/// non-temporal stores (same words).
pub fn add_or_sub_into(
    q: u64,
    x: &[u64],
    y: &[u64],
    out: &mut [u64],
    subtract: bool,
    stream: bool,
) -> u64 {
    assert!(
        x.len() == out.len() && y.len() == out.len(),
        "operand length"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has avx512f, the only feature the function enables; the slices
            // have one length (asserted above).
            return unsafe { avx512::add_or_sub_into(q, x, y, out, subtract, stream) };
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has avx2, the only feature the function enables.
            return unsafe { scalar_avx2(q, x, y, out, subtract) };
        }
    }
    scalar(q, x, y, out, subtract)
}

/// [`scalar`] compiled for AVX2 (the baseline build emulates 64-bit minima in SSE2); call only
/// where the CPU has it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn scalar_avx2(q: u64, x: &[u64], y: &[u64], out: &mut [u64], subtract: bool) -> u64 {
    scalar(q, x, y, out, subtract)
}

/// The word-by-word definition (and the tails of the vector path).
#[inline(always)]
fn scalar(q: u64, x: &[u64], y: &[u64], out: &mut [u64], subtract: bool) -> u64 {
    let mut flags = 0u64;
    for ((o, &u), &v) in out.iter_mut().zip(x).zip(y) {
        flags |= unreduced_flag(u, q) | unreduced_flag(v, q);
        *o = if subtract {
            reduce_once(u.wrapping_add(q).wrapping_sub(v), q)
        } else {
            reduce_once(u.wrapping_add(v), q)
        };
    }
    flags
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// [`super::add_or_sub_into`] eight words at a time; the words before `out`'s first
    /// 64-byte boundary and after its last whole vector go through [`super::scalar`].
    ///
    /// # Safety
    /// The CPU must have avx512f; `x`, `y` and `out` must have one length.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn add_or_sub_into(
        q: u64,
        x: &[u64],
        y: &[u64],
        out: &mut [u64],
        subtract: bool,
        stream: bool,
    ) -> u64 {
        let n = out.len();
        // Words up to the first 64-byte-aligned one of `out` (streaming stores need it).
        let head = out.as_ptr().align_offset(64).min(n);
        let body = head + (n - head) / 8 * 8;
        let mut flags = super::scalar(q, &x[..head], &y[..head], &mut out[..head], subtract);
        flags |= super::scalar(q, &x[body..], &y[body..], &mut out[body..], subtract);
        let qv = _mm512_set1_epi64(q as i64);
        let q_minus_1 = _mm512_set1_epi64((q - 1) as i64);
        let mut acc = _mm512_setzero_si512();
        let (xp, yp, op) = (x.as_ptr(), y.as_ptr(), out.as_mut_ptr());
        let mut k = head;
        while k < body {
            // SAFETY: k + 8 <= body <= n, so the loads and the store are in bounds; out + k is
            // 64-byte aligned (head aligns it, k advances by 64 bytes).
            unsafe {
                let u = _mm512_loadu_si512(xp.add(k).cast());
                let v = _mm512_loadu_si512(yp.add(k).cast());
                let fu = _mm512_or_si512(u, _mm512_sub_epi64(q_minus_1, u));
                let fv = _mm512_or_si512(v, _mm512_sub_epi64(q_minus_1, v));
                acc = _mm512_or_si512(acc, _mm512_or_si512(fu, fv));
                let s = if subtract {
                    _mm512_sub_epi64(_mm512_add_epi64(u, qv), v)
                } else {
                    _mm512_add_epi64(u, v)
                };
                let r = _mm512_min_epu64(s, _mm512_sub_epi64(s, qv));
                if stream {
                    _mm512_stream_si512(op.add(k).cast(), r);
                } else {
                    _mm512_store_si512(op.add(k).cast(), r);
                }
            }
            k += 8;
        }
        if stream {
            // Order the streaming stores before any later store or read of `out`.
            _mm_sfence();
        }
        let mut lanes = [0u64; 8];
        // SAFETY: `lanes` holds eight words.
        unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), acc) };
        lanes.iter().fold(flags, |f, &w| f | w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(seed: u64, len: usize, q: u64) -> Vec<u64> {
        (0..len as u64)
            .map(|k| {
                (k ^ seed)
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .rotate_left(17)
                    % q
            })
            .collect()
    }

    #[test]
    fn every_path_adds_and_subtracts_as_u128() {
        for q in [3u64, 65537, (1 << 31) - 1, (1 << 50) - 27, (1 << 61) - 1] {
            // Lengths around the vector width and offsets that misalign the output.
            for len in [0usize, 1, 7, 8, 9, 63, 64, 65, 1000] {
                for offset in 0..3 {
                    let mut x = words(1, len, q);
                    let mut y = words(2, len, q);
                    if len > 2 {
                        // corners: 0 and q - 1 in both operands
                        (x[0], y[0], x[len - 1], y[len - 1]) = (q - 1, q - 1, 0, q - 1);
                        (x[1], y[1]) = (0, 0);
                    }
                    for subtract in [false, true] {
                        let want: Vec<u64> = x
                            .iter()
                            .zip(&y)
                            .map(|(&u, &v)| {
                                let (u, v, q) = (u as u128, v as u128, q as u128);
                                (if subtract { u + q - v } else { u + v } % q) as u64
                            })
                            .collect();
                        for stream in [false, true] {
                            let mut buf = vec![7u64; len + offset];
                            let out = &mut buf[offset..];
                            let flags = add_or_sub_into(q, &x, &y, out, subtract, stream);
                            assert_eq!(flags >> 63, 0, "q {q} len {len}");
                            assert_eq!(out, &want[..], "q {q} len {len} sub {subtract}");
                            let mut plain = vec![0u64; len];
                            assert_eq!(scalar(q, &x, &y, &mut plain, subtract) >> 63, 0);
                            assert_eq!(plain, want, "scalar: q {q} len {len}");
                            #[cfg(target_arch = "x86_64")]
                            if is_x86_feature_detected!("avx2") {
                                // SAFETY: the CPU has avx2.
                                let f = unsafe { scalar_avx2(q, &x, &y, &mut plain, subtract) };
                                assert_eq!((f >> 63, &plain), (0, &want), "avx2: q {q} len {len}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn an_unreduced_word_anywhere_is_flagged() {
        let q = (1u64 << 50) - 27;
        let len = 77;
        for k in [0, 5, 8, 40, 76] {
            for bad in [q, u64::MAX] {
                for in_x in [true, false] {
                    let (mut x, mut y) = (words(3, len, q), words(4, len, q));
                    if in_x {
                        x[k] = bad;
                    } else {
                        y[k] = bad;
                    }
                    let mut out = vec![0u64; len];
                    for stream in [false, true] {
                        let flags = add_or_sub_into(q, &x, &y, &mut out, false, stream);
                        assert_eq!(flags >> 63, 1, "word {k} = {bad}");
                    }
                }
            }
        }
    }
}
