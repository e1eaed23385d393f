//! The special FFT of [`crate::ckks::embedding`] as a product of sparse matrices, in the
//! diagonal form that homomorphic linear transforms evaluate.
//!
//! A matrix on `d` slots is held by its nonzero diagonals: `out[i] = sum_s diag_s[i] *
//! in[(i + s) mod d]`, so diagonal `s` pairs with a left rotation by `s` (new slot `i` holds
//! old slot `i + s`, [`crate::ckks::Evaluator::rotate`]). Shifts are kept in `(-d/2, d/2]`,
//! which keeps the diagonals of a butterfly stage (shifts `0`, `+h`, `-h`) in one cluster for
//! the baby-step/giant-step split.
//!
//! Decoding (`SpecialFft::decode`) is `z = D (BR w)`: the coefficient vector `w` (`w_k =
//! c_(gap k) + i c_(gap k + N/2)`) in bit-reversed order, then `log2 n` Cooley-Tukey stages
//! `D = S_n ... S_4 S_2`. SlotToCoeff evaluates `D` on slots holding `BR w`, CoeffToSlot its
//! inverse `D^-1 = S_2^-1 ... S_n^-1`; the bit reversal cancels between the two because
//! EvalMod acts slot by slot, so neither transform permutes.

use std::collections::BTreeMap;

use num_complex::Complex64;

/// A linear map on `slots` complex values, by its diagonals (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct DiagonalMatrix {
    slots: usize,
    /// Diagonals by shift in `(-slots/2, slots/2]`, each of length `slots`.
    diagonals: BTreeMap<i64, Vec<Complex64>>,
}

impl DiagonalMatrix {
    /// The identity on `slots` values (`slots` a power of two >= 1).
    pub fn identity(slots: usize) -> Self {
        let mut diagonals = BTreeMap::new();
        diagonals.insert(0, vec![Complex64::new(1.0, 0.0); slots]);
        DiagonalMatrix { slots, diagonals }
    }

    /// The matrix with the given diagonals (shifts taken modulo `slots`, entries of equal
    /// shifts added); every diagonal must have `slots` entries.
    pub fn from_diagonals(
        slots: usize,
        diagonals: impl IntoIterator<Item = (i64, Vec<Complex64>)>,
    ) -> Self {
        let mut m = DiagonalMatrix::zero(slots);
        for (s, d) in diagonals {
            assert_eq!(d.len(), slots, "diagonal {s} length");
            for (i, v) in d.into_iter().enumerate() {
                m.add_entry(s, i, v);
            }
        }
        m
    }

    /// An empty (zero) matrix.
    fn zero(slots: usize) -> Self {
        DiagonalMatrix {
            slots,
            diagonals: BTreeMap::new(),
        }
    }

    /// The dimension.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The shifts of the nonzero diagonals, ascending, in `(-slots/2, slots/2]`.
    pub fn shifts(&self) -> Vec<i64> {
        self.diagonals.keys().copied().collect()
    }

    /// The diagonal of `shift` (any integer, taken modulo `slots`), if nonzero.
    pub fn diagonal(&self, shift: i64) -> Option<&[Complex64]> {
        self.diagonals
            .get(&self.canonical(shift))
            .map(|d| d.as_slice())
    }

    /// All diagonals by shift.
    pub fn diagonals(&self) -> &BTreeMap<i64, Vec<Complex64>> {
        &self.diagonals
    }

    /// `shift` taken into `(-slots/2, slots/2]`.
    fn canonical(&self, shift: i64) -> i64 {
        let d = self.slots as i64;
        let r = shift.rem_euclid(d);
        if 2 * r > d {
            r - d
        } else {
            r
        }
    }

    /// Adds `value` at row `i` of diagonal `shift`.
    fn add_entry(&mut self, shift: i64, i: usize, value: Complex64) {
        let key = self.canonical(shift);
        let slots = self.slots;
        self.diagonals
            .entry(key)
            .or_insert_with(|| vec![Complex64::new(0.0, 0.0); slots])[i] += value;
    }

    /// The matrix applied to `v` (length `slots`), in plain complex arithmetic.
    pub fn apply(&self, v: &[Complex64]) -> Vec<Complex64> {
        assert_eq!(v.len(), self.slots, "vector length");
        let d = self.slots as i64;
        let mut out = vec![Complex64::new(0.0, 0.0); self.slots];
        for (&s, diag) in &self.diagonals {
            for (i, o) in out.iter_mut().enumerate() {
                *o += diag[i] * v[(i as i64 + s).rem_euclid(d) as usize];
            }
        }
        out
    }

    /// `self * other`: `other` applied first. Diagonal `s` of `self` and `t` of `other` give
    /// diagonal `s + t` with entries `a_s[i] b_t[i + s]`.
    pub fn compose(&self, other: &DiagonalMatrix) -> DiagonalMatrix {
        assert_eq!(self.slots, other.slots, "dimensions");
        let d = self.slots as i64;
        let mut out = DiagonalMatrix::zero(self.slots);
        for (&s, a) in &self.diagonals {
            for (&t, b) in &other.diagonals {
                for i in 0..self.slots {
                    let j = (i as i64 + s).rem_euclid(d) as usize;
                    out.add_entry(s + t, i, a[i] * b[j]);
                }
            }
        }
        out
    }

    /// Every entry multiplied by `c`.
    pub fn scaled(mut self, c: Complex64) -> DiagonalMatrix {
        for diag in self.diagonals.values_mut() {
            for x in diag.iter_mut() {
                *x *= c;
            }
        }
        self
    }

    /// The matrix on `2 slots` values that, on a periodic input `[x, x]`, returns
    /// `[M x, row_factor * M x]`: every diagonal keeps its shift, its entries repeated, the
    /// second half times `row_factor`. CoeffToSlot's last factor for sparse packing.
    pub fn periodic_to_halves(&self, row_factor: Complex64) -> DiagonalMatrix {
        let n = self.slots;
        let mut out = DiagonalMatrix::zero(2 * n);
        for (&s, diag) in &self.diagonals {
            for i in 0..2 * n {
                let f = if i < n {
                    Complex64::new(1.0, 0.0)
                } else {
                    row_factor
                };
                out.add_entry(s, i, diag[i % n] * f);
            }
        }
        out
    }

    /// The matrix on `2 slots` values that maps `[x, y]` to the periodic `[M (x + c y),
    /// M (x + c y)]` (`c = column_factor`). SlotToCoeff's first factor for sparse packing.
    pub fn halves_to_periodic(&self, column_factor: Complex64) -> DiagonalMatrix {
        let n = self.slots;
        let d = 2 * n as i64;
        let mut out = DiagonalMatrix::zero(2 * n);
        for (&s, diag) in &self.diagonals {
            // Entry (i, i + s mod n) of M feeds columns i + s and i + s + n of the wide matrix.
            for t in [s, s + n as i64] {
                for i in 0..2 * n {
                    let column = (i as i64 + t).rem_euclid(d) as usize;
                    let f = if column < n {
                        Complex64::new(1.0, 0.0)
                    } else {
                        column_factor
                    };
                    out.add_entry(t, i, diag[i % n] * f);
                }
            }
        }
        out
    }
}

/// `exp(2 pi i e / m)` for `e` in `[0, m)`, `m` a power of two `>= 4`.
fn root(e: usize, m: usize) -> Complex64 {
    let a = std::f64::consts::TAU * e as f64 / m as f64;
    Complex64::new(a.cos(), a.sin())
}

/// The twiddle of butterfly `j` of the stage of length `len`: `exp(2 pi i (5^j mod 4 len) /
/// (4 len))`, independent of the ring degree.
fn twiddle(j: usize, len: usize) -> Complex64 {
    let m = 4 * len;
    let mut g = 1usize;
    for _ in 0..j {
        g = g * 5 % m;
    }
    root(g, m)
}

/// The decoding stage `S_len` on `n` slots (`len` in `2, 4, .., n`), or its inverse: on each
/// block of `len` values and `j < len/2`, `(u, v) -> (u + w v, u - w v)`; the inverse maps
/// `(u', v') -> ((u' + v') / 2, (u' - v') / (2 w))`.
pub fn stage(n: usize, len: usize, inverse: bool) -> DiagonalMatrix {
    assert!(len >= 2 && len <= n && len.is_power_of_two() && n.is_power_of_two());
    let h = len / 2;
    let one = Complex64::new(1.0, 0.0);
    let half = Complex64::new(0.5, 0.0);
    let mut m = DiagonalMatrix::zero(n);
    for i in 0..n {
        let p = i % len;
        let (j, low) = if p < h { (p, true) } else { (p - h, false) };
        let w = twiddle(j, len);
        match (inverse, low) {
            // out[i] = in[i] + w in[i + h]
            (false, true) => {
                m.add_entry(0, i, one);
                m.add_entry(h as i64, i, w);
            }
            // out[i] = in[i - h] - w in[i]
            (false, false) => {
                m.add_entry(-(h as i64), i, one);
                m.add_entry(0, i, -w);
            }
            // out[i] = (in[i] + in[i + h]) / 2
            (true, true) => {
                m.add_entry(0, i, half);
                m.add_entry(h as i64, i, half);
            }
            // out[i] = (in[i - h] - in[i]) conj(w) / 2
            (true, false) => {
                m.add_entry(-(h as i64), i, w.conj() * half);
                m.add_entry(0, i, -w.conj() * half);
            }
        }
    }
    m
}

/// Splits `stages` into `budget` consecutive groups as evenly as possible, the larger groups
/// last (groups evaluated later run at lower levels, where rotations are cheaper).
pub fn split_stages(stages: usize, budget: usize) -> Vec<usize> {
    let budget = budget.clamp(1, stages.max(1));
    let base = stages / budget;
    let extra = stages % budget;
    (0..budget)
        .map(|g| base + usize::from(g >= budget - extra))
        .collect()
}

/// Stages of lengths `lens` (in the order applied, `inverse` or not) merged into groups of
/// [`split_stages`]`(log2 n, budget)` consecutive stages.
fn merged_stages(
    n: usize,
    budget: usize,
    mut lens: impl Iterator<Item = usize>,
    inverse: bool,
) -> Vec<DiagonalMatrix> {
    split_stages(n.trailing_zeros() as usize, budget)
        .into_iter()
        .map(|count| {
            lens.by_ref()
                .take(count)
                .fold(DiagonalMatrix::identity(n), |m, len| {
                    stage(n, len, inverse).compose(&m)
                })
        })
        .collect()
}

/// The factors of `D = S_n ... S_2` (SlotToCoeff) on `n` slots merged into `budget` matrices,
/// in the order they are applied: the first merges `S_2, S_4, ..`.
pub fn slot_to_coeff_factors(n: usize, budget: usize) -> Vec<DiagonalMatrix> {
    let log_n = n.trailing_zeros();
    merged_stages(n, budget, (1..=log_n).map(|k| 1usize << k), false)
}

/// The factors of `D^-1 = S_2^-1 ... S_n^-1` (CoeffToSlot) on `n` slots merged into `budget`
/// matrices, in the order they are applied: the first merges `S_n^-1, S_(n/2)^-1, ..`.
pub fn coeff_to_slot_factors(n: usize, budget: usize) -> Vec<DiagonalMatrix> {
    let log_n = n.trailing_zeros();
    merged_stages(n, budget, (1..=log_n).rev().map(|k| 1usize << k), true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::bit_reverse;
    use crate::ckks::embedding::SpecialFft;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random_vector(rng: &mut ChaCha8Rng, n: usize) -> Vec<Complex64> {
        (0..n)
            .map(|_| Complex64::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)))
            .collect()
    }

    fn worst(a: &[Complex64], b: &[Complex64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).norm())
            .fold(0.0, f64::max)
    }

    fn apply_all(factors: &[DiagonalMatrix], v: &[Complex64]) -> Vec<Complex64> {
        factors.iter().fold(v.to_vec(), |acc, m| m.apply(&acc))
    }

    /// The coefficients of `w` placed as `SpecialFft` reads them (`c_(gap k)`, `c_(gap k + N/2)`).
    fn coefficients(w: &[Complex64], log_n: u32) -> Vec<f64> {
        let ring = 1usize << log_n;
        let gap = ring / 2 / w.len();
        let mut c = vec![0.0; ring];
        for (k, x) in w.iter().enumerate() {
            c[gap * k] = x.re;
            c[gap * k + ring / 2] = x.im;
        }
        c
    }

    #[test]
    fn slot_to_coeff_is_the_decoding_fft_of_bit_reversed_coefficients() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (log_n, log_slots) in [(4u32, 3u32), (6, 5), (6, 3), (9, 8), (9, 4)] {
            let n = 1usize << log_slots;
            let fft = SpecialFft::new(log_n, log_slots).unwrap();
            let w = random_vector(&mut rng, n);
            let want = fft.decode(&coefficients(&w, log_n));
            let reversed: Vec<Complex64> = (0..n).map(|t| w[bit_reverse(t, log_slots)]).collect();
            for budget in 1..=log_slots as usize {
                let got = apply_all(&slot_to_coeff_factors(n, budget), &reversed);
                assert!(worst(&want, &got) < 1e-12, "N=2^{log_n} n={n} b={budget}");
            }
        }
    }

    #[test]
    fn coeff_to_slot_inverts_slot_to_coeff() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for log_slots in [1u32, 2, 5, 8] {
            let n = 1usize << log_slots;
            let z = random_vector(&mut rng, n);
            for budget in 1..=log_slots as usize {
                let v = apply_all(&coeff_to_slot_factors(n, budget), &z);
                let back = apply_all(&slot_to_coeff_factors(n, budget), &v);
                assert!(worst(&z, &back) < 1e-12, "n={n} b={budget}");
                // and CoeffToSlot is the encoder's inverse FFT, bit-reversed
                let fft = SpecialFft::new(log_slots + 1, log_slots).unwrap();
                let coeffs = fft.encode(&z);
                let half = n;
                for t in 0..n {
                    let k = bit_reverse(t, log_slots);
                    let want = Complex64::new(coeffs[k], coeffs[half + k]);
                    assert!((v[t] - want).norm() < 1e-12, "n={n} t={t}");
                }
            }
        }
    }

    #[test]
    fn merged_factors_have_the_expected_diagonals() {
        // A group of k stages below the top has 2^(k+1) - 1 diagonals (shifts -(2^k - 1) h ..
        // (2^k - 1) h in steps of h); S_2 alone has 3 at n >= 4 (shifts -1, 0, 1), the top
        // stage 2 (0 and n/2 = -n/2), so the top group of 3 has 8 (-3 64 .. 4 64).
        assert_eq!(stage(16, 2, false).shifts(), vec![-1, 0, 1]);
        assert_eq!(stage(16, 16, false).shifts(), vec![0, 8]);
        let f = slot_to_coeff_factors(1 << 9, 3);
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].shifts(), (-7..=7).collect::<Vec<i64>>());
        assert_eq!(f[1].shifts(), (-7..=7).map(|s| 8 * s).collect::<Vec<i64>>());
        assert_eq!(
            f[2].shifts(),
            (-3..=4).map(|s| 64 * s).collect::<Vec<i64>>()
        );
        assert_eq!(split_stages(11, 3), vec![3, 4, 4]);
        assert_eq!(split_stages(4, 9), vec![1, 1, 1, 1]);
    }

    #[test]
    fn wide_matrices_act_on_halves() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 8;
        let m = slot_to_coeff_factors(n, 1).remove(0);
        let x = random_vector(&mut rng, n);
        let y = random_vector(&mut rng, n);
        let c = Complex64::new(0.0, 1.0);
        // [x, x] -> [M x, c M x]
        let periodic: Vec<Complex64> = x.iter().chain(&x).copied().collect();
        let mx = m.apply(&x);
        let got = m.periodic_to_halves(c).apply(&periodic);
        let want: Vec<Complex64> = mx.iter().copied().chain(mx.iter().map(|v| v * c)).collect();
        assert!(worst(&want, &got) < 1e-12);
        // [x, y] -> [M (x + c y), M (x + c y)]
        let halves: Vec<Complex64> = x.iter().chain(&y).copied().collect();
        let sum: Vec<Complex64> = x.iter().zip(&y).map(|(a, b)| a + c * b).collect();
        let ms = m.apply(&sum);
        let want: Vec<Complex64> = ms.iter().chain(&ms).copied().collect();
        let got = m.halves_to_periodic(c).apply(&halves);
        assert!(worst(&want, &got) < 1e-12);
    }
}
