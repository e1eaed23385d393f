//! The transform skeleton of the 64-bit-lane back ends (`ifma.rs`, `avx512.rs`), a macro
//! instantiated once per back end with its Shoup product; it is expanded inside the back end's
//! module, where its `use super::*` reaches the shared helpers of `mod.rs`.

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
