//! The CKKS canonical embedding ("special FFT") between complex slots and real polynomial
//! coefficients, in `f64` / [`Complex64`].
//!
//! Conventions (those of Lattigo and SEAL, where a left rotation of the slots by `k` is the
//! automorphism `X -> X^(5^k mod 2N)`, see [`crate::automorphism`]):
//! - `N = 2^log_n` is the ring degree of `R[X] / (X^N + 1)`, `M = 2N`, and
//!   `zeta = exp(i * pi / N)` is a primitive `M`-th root of unity.
//! - `n = 2^log_slots` is the number of slots, `1 <= n <= N/2`; `n = N/2` is full packing.
//!   Let `gap = N / (2n)`.
//! - Slot `j` (for `j` in `[0, n)`) of a polynomial `m(X) = sum_k c_k X^k` is
//!   `m(zeta^(5^j mod M))`. Because `zeta^(5^j * N/2) = i`, for full packing this is
//!   `sum_{k < N/2} w_k zeta^(5^j k)` with `w_k = c_k + i c_{k + N/2}`.
//! - Sparse packing (`n < N/2`) uses the subring `R[X^gap]`: only the coefficients at
//!   multiples of `gap` are nonzero, `w_k = c_{gap k} + i c_{gap k + N/2}` for `k < n`, and
//!   slot `j` is `sum_{k < n} w_k zeta^(gap 5^j k)`. Equivalently, the `N/2` full-packing
//!   evaluations `m(zeta^(5^j))`, `j < N/2`, repeat with period `n`, and the slots are the
//!   first period.
//! - Encoding is the exact inverse: `w_k = (1/n) sum_{j < n} z_j zeta^(-gap 5^j k)`,
//!   `c_{gap k} = Re w_k`, `c_{gap k + N/2} = Im w_k`, every other coefficient `0`.
//!
//! Both directions are a radix-2 FFT of size `n` over the rotation group `{5^j mod M}`:
//! decoding loads `w` in bit-reversed order and runs Cooley-Tukey stages whose twiddle for
//! butterfly `j` of a stage of length `len` is `zeta_{4 len}^(5^j mod 4 len)`, read from the
//! table of `M`-th roots at index `(5^j mod 4 len) * M / (4 len)`; encoding runs the inverse
//! stages in reverse order, scales by `1/n` and bit-reverses. Values are unscaled: the caller
//! multiplies by the CKKS scale after [`SpecialFft::encode`] and divides by it around
//! [`SpecialFft::decode`].

use std::f64::consts::TAU;

use num_complex::Complex64;

use crate::arith::bit_reverse;
use crate::ntt::MAX_LOG_N;

/// Precomputed roots and rotation group for one `(N, slots)`.
#[derive(Clone, Debug)]
pub struct SpecialFft {
    /// `log2(N)`, in `[1, MAX_LOG_N]`.
    log_n: u32,
    /// `log2(n)`, in `[0, log_n - 1]`.
    log_slots: u32,
    /// `rot_group[j] = 5^j mod M` for `j` in `[0, n)`.
    rot_group: Vec<usize>,
    /// `roots[k] = exp(2 pi i k / M)` for `k` in `[0, M]` (`M + 1` entries, `roots[M] = 1`),
    /// so that `roots[M - k]` is the conjugate of `roots[k]` for every `k` in `[0, M]`.
    roots: Vec<Complex64>,
}

/// `exp(2 pi i k / m)` for `m` a power of two `>= 4`, evaluated in the first octant and
/// mapped by symmetry, so that `unit_root(m - k) = conj(unit_root(k))` holds exactly and
/// the quarter turns `1, i, -1, -i` are exact.
fn unit_root(k: usize, m: usize) -> Complex64 {
    let k = k & (m - 1);
    let quarter = m / 4;
    if k > m / 2 {
        return unit_root(m - k, m).conj();
    }
    if k > quarter {
        // exp(i (pi - a)) = -conj(exp(i a)).
        let b = unit_root(m / 2 - k, m);
        return Complex64::new(-b.re, b.im);
    }
    if 2 * k <= quarter {
        let a = TAU * k as f64 / m as f64;
        Complex64::new(a.cos(), a.sin())
    } else {
        // exp(i (pi/2 - a)) = sin a + i cos a.
        let a = TAU * (quarter - k) as f64 / m as f64;
        Complex64::new(a.sin(), a.cos())
    }
}

impl SpecialFft {
    /// Precomputes the tables for `N = 2^log_n` and `n = 2^log_slots` slots.
    ///
    /// Returns `None` unless `1 <= log_n <= MAX_LOG_N` (17) and `log_slots <= log_n - 1`
    /// (i.e. `1 <= n <= N/2`).
    pub fn new(log_n: u32, log_slots: u32) -> Option<Self> {
        if !(1..=MAX_LOG_N).contains(&log_n) || log_slots > log_n - 1 {
            return None;
        }
        let m = 2usize << log_n;
        let n = 1usize << log_slots;
        let mut rot_group = Vec::with_capacity(n);
        let mut g = 1usize;
        for _ in 0..n {
            rot_group.push(g);
            g = (g * 5) & (m - 1);
        }
        let roots = (0..=m).map(|k| unit_root(k, m)).collect();
        Some(SpecialFft {
            log_n,
            log_slots,
            rot_group,
            roots,
        })
    }

    /// `log2(N)`.
    pub fn log_n(&self) -> u32 {
        self.log_n
    }

    /// `log2(n)`.
    pub fn log_slots(&self) -> u32 {
        self.log_slots
    }

    /// Number of slots `n = 2^log_slots`, in `[1, N/2]`.
    pub fn slots(&self) -> usize {
        1 << self.log_slots
    }

    /// Slots (length `n`, slot `j` is the evaluation at `zeta^(5^j)`) -> `N` real
    /// coefficients in standard order (unscaled: the caller multiplies by the scale).
    ///
    /// For sparse packing the result is zero off the multiples of `gap = N/(2n)`.
    ///
    /// # Panics
    /// If `slots.len() != n`.
    pub fn encode(&self, slots: &[Complex64]) -> Vec<f64> {
        let n = self.slots();
        assert_eq!(slots.len(), n, "encode: expected {n} slots");
        let ring = 1usize << self.log_n;
        let half = ring / 2;
        let gap = half / n;
        let m = self.roots.len() - 1;

        // Work in split form inside the output: Re w in out[0..n], Im w in out[N/2..N/2+n].
        let mut out = vec![0.0f64; ring];
        let (re, im) = out.split_at_mut(half);
        for (k, z) in slots.iter().enumerate() {
            re[k] = z.re;
            im[k] = z.im;
        }

        // Inverse Cooley-Tukey stages (len = n, ..., 2), twiddles conjugated; each stage
        // doubles the values, compensated by the final 1/n.
        let mut len = n;
        while len >= 2 {
            let h = len / 2;
            let mask = 4 * len - 1;
            let step = m / (4 * len);
            for start in (0..n).step_by(len) {
                for j in 0..h {
                    let w = self.roots[m - (self.rot_group[j] & mask) * step];
                    let (a, b) = (start + j, start + j + h);
                    let u = Complex64::new(re[a], im[a]);
                    let v = Complex64::new(re[b], im[b]);
                    let s = u + v;
                    let d = (u - v) * w;
                    re[a] = s.re;
                    im[a] = s.im;
                    re[b] = d.re;
                    im[b] = d.im;
                }
            }
            len >>= 1;
        }

        // Bit-reverse into natural order and scale by 1/n (exact: n is a power of two).
        let inv_n = 1.0 / n as f64;
        for k in 0..n {
            let r = bit_reverse(k, self.log_slots);
            if r > k {
                re.swap(k, r);
                im.swap(k, r);
            }
            // Position k now holds its final, not yet scaled, value.
            re[k] *= inv_n;
            im[k] *= inv_n;
        }

        // Sparse packing: move w_k from index k to gap * k (descending, so that no source
        // is overwritten before it moves; gap * k > k for k >= 1 when gap >= 2).
        if gap > 1 {
            for k in (1..n).rev() {
                let (vr, vi) = (re[k], im[k]);
                re[k] = 0.0;
                im[k] = 0.0;
                re[gap * k] = vr;
                im[gap * k] = vi;
            }
        }
        out
    }

    /// `N` real coefficients in standard order (unscaled: the caller divides by the scale
    /// before or after) -> `n` slots, slot `j` being the evaluation at `zeta^(5^j)`.
    ///
    /// Only the coefficients at multiples of `gap = N/(2n)` are read. For a polynomial of the
    /// subring `R[X^gap]` (the image of [`SpecialFft::encode`]) slot `j` is exactly
    /// `m(zeta^(5^j))`; for any other polynomial it is that of its projection onto the
    /// subring, which equals the mean of `m(zeta^(5^(j + t n)))` over `t` in `[0, gap)`.
    ///
    /// # Panics
    /// If `coeffs.len() != N`.
    pub fn decode(&self, coeffs: &[f64]) -> Vec<Complex64> {
        let ring = 1usize << self.log_n;
        assert_eq!(coeffs.len(), ring, "decode: expected {ring} coefficients");
        let n = self.slots();
        let half = ring / 2;
        let gap = half / n;
        let m = self.roots.len() - 1;

        // Load w in bit-reversed order (bit reversal is an involution).
        let mut out: Vec<Complex64> = (0..n)
            .map(|t| {
                let k = bit_reverse(t, self.log_slots) * gap;
                Complex64::new(coeffs[k], coeffs[half + k])
            })
            .collect();

        // Cooley-Tukey stages len = 2, ..., n: a block of length len holds a transform of
        // size len over the primitive 4len-th root, evaluated at exponents 5^j mod 4len.
        let mut len = 2;
        while len <= n {
            let h = len / 2;
            let mask = 4 * len - 1;
            let step = m / (4 * len);
            for block in out.chunks_exact_mut(len) {
                let (lo, hi) = block.split_at_mut(h);
                for (j, (u, v)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
                    let t = *v * self.roots[(self.rot_group[j] & mask) * step];
                    *v = *u - t;
                    *u += t;
                }
            }
            len <<= 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `exp(2 pi i e / M)` computed directly, independently of the table.
    fn root(e: u64, m: u64) -> Complex64 {
        let a = TAU * (e % m) as f64 / m as f64;
        Complex64::new(a.cos(), a.sin())
    }

    fn pow5(j: usize, m: u64) -> u64 {
        (0..j).fold(1u64, |acc, _| acc * 5 % m)
    }

    /// `m(zeta^e)` over all `N` coefficients, exponents reduced exactly mod `M`.
    fn eval(coeffs: &[f64], e: u64) -> Complex64 {
        let m = 2 * coeffs.len() as u64;
        coeffs
            .iter()
            .enumerate()
            .map(|(k, &c)| root(e * k as u64 % m, m) * c)
            .sum()
    }

    fn naive_decode(coeffs: &[f64], n: usize) -> Vec<Complex64> {
        let m = 2 * coeffs.len() as u64;
        (0..n).map(|j| eval(coeffs, pow5(j, m))).collect()
    }

    fn naive_encode(z: &[Complex64], log_n: u32) -> Vec<f64> {
        let ring = 1usize << log_n;
        let m = 2 * ring as u64;
        let n = z.len();
        let gap = ring / (2 * n);
        let mut c = vec![0.0; ring];
        for k in 0..n {
            let w: Complex64 = z
                .iter()
                .enumerate()
                .map(|(j, &zj)| zj * root(m - gap as u64 * pow5(j, m) * k as u64 % m, m))
                .sum::<Complex64>()
                / n as f64;
            c[gap * k] = w.re;
            c[gap * k + ring / 2] = w.im;
        }
        c
    }

    fn random_slots(rng: &mut ChaCha8Rng, n: usize) -> Vec<Complex64> {
        (0..n)
            .map(|_| Complex64::from_polar(rng.gen::<f64>().sqrt(), rng.gen_range(0.0..TAU)))
            .collect()
    }

    /// Random coefficients in `[-1, 1)` on the multiples of `gap`, zero elsewhere.
    fn random_subring_coeffs(rng: &mut ChaCha8Rng, log_n: u32, log_slots: u32) -> Vec<f64> {
        let ring = 1usize << log_n;
        let gap = ring >> (log_slots + 1);
        (0..ring)
            .map(|k| {
                if k % gap == 0 {
                    rng.gen_range(-1.0..1.0)
                } else {
                    0.0
                }
            })
            .collect()
    }

    fn max_err_c(a: &[Complex64], b: &[Complex64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).norm())
            .fold(0.0, f64::max)
    }

    fn max_err_r(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    fn mag_c(a: &[Complex64]) -> f64 {
        a.iter().map(|x| x.norm()).fold(1.0, f64::max)
    }

    /// `m(X^g) mod X^N + 1` on real coefficients.
    fn automorphism(c: &[f64], g: u64) -> Vec<f64> {
        let ring = c.len();
        let m = 2 * ring as u64;
        let mut out = vec![0.0; ring];
        for (i, &x) in c.iter().enumerate() {
            let e = (i as u64 * g % m) as usize;
            if e < ring {
                out[e] = x;
            } else {
                out[e - ring] = -x;
            }
        }
        out
    }

    fn all_params() -> impl Iterator<Item = (u32, u32)> {
        (2..=10u32).flat_map(|log_n| (0..log_n).map(move |ls| (log_n, ls)))
    }

    const TOL: f64 = 1e-9;

    #[test]
    fn new_validates_ranges() {
        assert!(SpecialFft::new(0, 0).is_none());
        assert!(SpecialFft::new(1, 1).is_none());
        assert!(SpecialFft::new(5, 5).is_none());
        assert!(SpecialFft::new(MAX_LOG_N + 1, 0).is_none());
        let f = SpecialFft::new(1, 0).unwrap();
        assert_eq!(f.slots(), 1);
        let f = SpecialFft::new(MAX_LOG_N, MAX_LOG_N - 1).unwrap();
        assert_eq!(f.slots(), 1 << (MAX_LOG_N - 1));
        assert_eq!((f.log_n(), f.log_slots()), (MAX_LOG_N, MAX_LOG_N - 1));
    }

    #[test]
    fn tables() {
        for log_n in [1u32, 2, 3, 7, 12] {
            let f = SpecialFft::new(log_n, log_n - 1).unwrap();
            let m = 2usize << log_n;
            assert_eq!(f.roots.len(), m + 1);
            assert_eq!(f.rot_group.len(), f.slots());
            for (j, &g) in f.rot_group.iter().enumerate() {
                assert_eq!(g as u64, pow5(j, m as u64));
            }
            for (k, r) in f.roots.iter().enumerate() {
                assert!((r - root(k as u64, m as u64)).norm() < 1e-15, "k = {k}");
                assert_eq!(*r, f.roots[m - k].conj(), "k = {k}");
            }
            assert_eq!(f.roots[0], Complex64::new(1.0, 0.0));
            assert_eq!(f.roots[m / 4], Complex64::new(0.0, 1.0));
            assert_eq!(f.roots[m / 2], Complex64::new(-1.0, 0.0));
            assert_eq!(f.roots[m], Complex64::new(1.0, 0.0));
        }
    }

    #[test]
    fn decode_matches_naive_evaluation() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (log_n, log_slots) in all_params() {
            let f = SpecialFft::new(log_n, log_slots).unwrap();
            let n = f.slots();
            let c = random_subring_coeffs(&mut rng, log_n, log_slots);
            let want = naive_decode(&c, n);
            let got = f.decode(&c);
            let err = max_err_c(&got, &want);
            assert!(
                err < TOL * mag_c(&want),
                "log_n {log_n} log_slots {log_slots}: err {err}"
            );
            // The N/2 full-packing evaluations repeat with period n.
            let full = naive_decode(&c, 1 << (log_n - 1));
            for (j, v) in full.iter().enumerate() {
                assert!((v - want[j % n]).norm() < TOL * mag_c(&want));
            }
        }
    }

    #[test]
    fn full_packing_decode_is_w_formula() {
        // slot j = sum_{k < N/2} (c_k + i c_{k+N/2}) zeta^(5^j k), spelled out.
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for log_n in 1..=9u32 {
            let ring = 1usize << log_n;
            let m = 2 * ring as u64;
            let f = SpecialFft::new(log_n, log_n - 1).unwrap();
            let c: Vec<f64> = (0..ring).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let want: Vec<Complex64> = (0..ring / 2)
                .map(|j| {
                    (0..ring / 2)
                        .map(|k| {
                            Complex64::new(c[k], c[k + ring / 2])
                                * root(pow5(j, m) * k as u64 % m, m)
                        })
                        .sum()
                })
                .collect();
            let err = max_err_c(&f.decode(&c), &want);
            assert!(err < TOL * mag_c(&want), "log_n {log_n}: err {err}");
        }
    }

    #[test]
    fn encode_matches_naive_inverse() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (log_n, log_slots) in all_params() {
            let f = SpecialFft::new(log_n, log_slots).unwrap();
            let n = f.slots();
            let ring = 1usize << log_n;
            let gap = ring / (2 * n);
            let z = random_slots(&mut rng, n);
            let got = f.encode(&z);
            let want = naive_encode(&z, log_n);
            let err = max_err_r(&got, &want);
            assert!(
                err < TOL * mag_c(&z),
                "log_n {log_n} log_slots {log_slots}: err {err}"
            );
            for (k, &x) in got.iter().enumerate() {
                if k % gap != 0 {
                    assert_eq!(x, 0.0, "nonzero coefficient {k} off the subring");
                }
            }
            // Defining property, independent of the inverse formula.
            let back = naive_decode(&got, n);
            let err = max_err_c(&back, &z);
            assert!(err < TOL * mag_c(&z), "naive decode of encode: err {err}");
        }
    }

    #[test]
    fn round_trips() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for (log_n, log_slots) in all_params() {
            let f = SpecialFft::new(log_n, log_slots).unwrap();
            let z = random_slots(&mut rng, f.slots());
            let err = max_err_c(&f.decode(&f.encode(&z)), &z);
            assert!(err < TOL, "encode->decode {log_n}/{log_slots}: err {err}");
            let c = random_subring_coeffs(&mut rng, log_n, log_slots);
            let err = max_err_r(&f.encode(&f.decode(&c)), &c);
            assert!(err < TOL, "decode->encode {log_n}/{log_slots}: err {err}");
        }
    }

    #[test]
    fn rotation_and_conjugation_are_automorphisms() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (log_n, log_slots) in all_params() {
            let f = SpecialFft::new(log_n, log_slots).unwrap();
            let n = f.slots();
            let m = 2u64 << log_n;
            let z = random_slots(&mut rng, n);
            let c = f.encode(&z);
            let mut steps = vec![0, 1, n - 1, n, n + 1, 3 * n / 2, rng.gen_range(0..4 * n)];
            steps.dedup();
            for k in steps {
                let rotated = f.decode(&automorphism(&c, pow5(k, m)));
                let want: Vec<Complex64> = (0..n).map(|j| z[(j + k) % n]).collect();
                let err = max_err_c(&rotated, &want);
                assert!(err < TOL, "{log_n}/{log_slots} rotate by {k}: err {err}");
            }
            let conj = f.decode(&automorphism(&c, m - 1));
            let want: Vec<Complex64> = z.iter().map(|x| x.conj()).collect();
            let err = max_err_c(&conj, &want);
            assert!(err < TOL, "{log_n}/{log_slots} conjugate: err {err}");
        }
    }

    #[test]
    fn rotation_matches_crate_galois_elements() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for log_n in 2..=8u32 {
            let f = SpecialFft::new(log_n, log_n - 1).unwrap();
            let n = f.slots() as i64;
            let z = random_slots(&mut rng, f.slots());
            let c = f.encode(&z);
            for step in [-3i64, -1, 1, 2, 5] {
                let g = crate::automorphism::galois_element_for_rotation(step, log_n);
                let got = f.decode(&automorphism(&c, g));
                let want: Vec<Complex64> = (0..n)
                    .map(|j| z[(j + step).rem_euclid(n) as usize])
                    .collect();
                assert!(max_err_c(&got, &want) < TOL, "log_n {log_n} step {step}");
            }
        }
    }

    #[test]
    fn sparse_decode_of_non_subring_is_mean_over_period() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (log_n, log_slots) in all_params() {
            let ring = 1usize << log_n;
            let f = SpecialFft::new(log_n, log_slots).unwrap();
            let n = f.slots();
            let gap = ring / (2 * n);
            let c: Vec<f64> = (0..ring).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let full = naive_decode(&c, ring / 2);
            let want: Vec<Complex64> = (0..n)
                .map(|j| (0..gap).map(|t| full[j + t * n]).sum::<Complex64>() / gap as f64)
                .collect();
            let err = max_err_c(&f.decode(&c), &want);
            assert!(err < TOL * mag_c(&full), "{log_n}/{log_slots}: err {err}");
            if gap > 1 {
                // and that really differs from evaluating the first n points.
                let first = naive_decode(&c, n);
                assert!(max_err_c(&first, &want) > 1e-3);
            }
        }
    }

    #[test]
    fn large_degrees_are_accurate() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for log_n in [14u32, 16] {
            for log_slots in [log_n - 1, log_n - 4, 3] {
                let f = SpecialFft::new(log_n, log_slots).unwrap();
                let n = f.slots();
                let z = random_slots(&mut rng, n);
                let c = f.encode(&z);
                let err = max_err_c(&f.decode(&c), &z);
                assert!(err < 1e-6, "{log_n}/{log_slots}: round trip err {err}");
                // Absolute accuracy on a sample of slots against direct evaluation.
                let m = 2u64 << log_n;
                for _ in 0..8 {
                    let j = rng.gen_range(0..n);
                    let err = (eval(&c, pow5(j, m)) - z[j]).norm();
                    assert!(err < 1e-6, "{log_n}/{log_slots}: slot {j} err {err}");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "expected 4 slots")]
    fn encode_rejects_wrong_length() {
        SpecialFft::new(3, 2)
            .unwrap()
            .encode(&[Complex64::new(0.0, 0.0); 3]);
    }

    #[test]
    #[should_panic(expected = "expected 8 coefficients")]
    fn decode_rejects_wrong_length() {
        SpecialFft::new(3, 2).unwrap().decode(&[0.0; 4]);
    }
}
