//! Back end for `q < 2^30` (so `4q < 2^32`): 16 lanes of 32 bits, on a per-thread 32-bit
//! copy of the array (narrowed in the first stage, widened back in the last).

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
fn fwd_bf_final(c: Consts, x: __m512i, y: __m512i, w: __m512i, ws: __m512i) -> (__m512i, __m512i) {
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
        for ((x, y), (u, v)) in words.zip(d_lo.chunks_exact_mut(16).zip(d_hi.chunks_exact_mut(16)))
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
        for ((x, y), (u, v)) in halves.zip(a_lo.chunks_exact_mut(16).zip(a_hi.chunks_exact_mut(16)))
        {
            let (x, y) = (load(x), load(y));
            let s = _mm512_add_epi32(x, y);
            let d = _mm512_sub_epi32(_mm512_add_epi32(x, c.two_q), y);
            store_widen(u, reduce_once(mul_shoup32(s, n_inv, n_inv_s, c.q), c.q));
            store_widen(v, reduce_once(mul_shoup32(d, w1, w1s, c.q), c.q));
        }
    });
}
