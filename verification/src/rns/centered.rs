//! The correction of the exact-centered basis conversion in fixed point: the integer `u` with
//! `sum_i y_i (Q/q_i) - u Q` the centered representative of `x`, where `y_i = [x_i (Q/q_i)^-1]_{q_i}`.
//!
//! `u = round(sum_i y_i / q_i)` (HPS) is computed as `(sum_i y_i c_i + 2^(F-1)) >> F` with the
//! constants `c_i = round(2^F / q_i)` below `2^64` and the sum below `2^128`: integer
//! arithmetic, so the software reference and the RTL basis-conversion unit
//! (`heaccel_hdl::bconv`) share one bit-exact definition (a floating-point estimate would
//! depend on the order of the additions).
//!
//! **Precision.** Each term is off by at most `y_i / 2 < q_i / 2` units of `2^-F`, so `u` is the
//! exact rounding unless `x` lies within `K q_max 2^-(F+1) Q` of `Q/2` (then `x` or `x - Q`
//! is taken, both correct mod `Q`). The rounding is always exact when `2^F > K q_max Q`, for
//! example two sources below `2^30` (`F >= 92`); with 30-bit primes the band is `K 2^-63 Q`
//! wide, with 61-bit primes about `K 2^-62 Q` (narrower than an `f64` estimate's `K 2^-53 Q`).

/// Fixed-point constants of the centered correction for source primes `from` (each odd,
/// `2 < q_i < 2^62`, 1 to 2^20 of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CenteredCorrection {
    shift: u32,
    constants: Vec<u64>,
}

impl CenteredCorrection {
    /// `F = min(63 + floor(log2 q_min), 126 - ceil(log2(K + 1)))` and `c_i = round(2^F / q_i)`:
    /// `c_i <= 2^63`, and `sum_i y_i c_i + 2^(F-1) < 2^128` for residues `y_i < q_i`.
    ///
    /// # Panics
    /// When `from` is empty or a prime is outside `(2, 2^62)` (callers validate moduli).
    pub fn new(from: &[u64]) -> Self {
        assert!(!from.is_empty(), "a conversion has at least one source");
        let q_min = *from.iter().min().expect("non-empty");
        let q_max = *from.iter().max().expect("non-empty");
        assert!(q_min > 2 && q_max < 1 << 62, "source primes in (2, 2^62)");
        let k = from.len() as u64;
        let count_bits = u64::BITS - k.leading_zeros(); // ceil(log2(K + 1)) for K >= 1
        let shift = (63 + q_min.ilog2()).min(126 - count_bits);
        let one = 1u128 << shift;
        let constants = from
            .iter()
            .map(|&q| {
                let q = q as u128;
                let c = (one + q / 2) / q;
                u64::try_from(c).expect("2^F / q_min <= 2^63")
            })
            .collect();
        CenteredCorrection { shift, constants }
    }

    /// The fixed-point shift `F`.
    pub fn shift(&self) -> u32 {
        self.shift
    }

    /// `c_i = round(2^F / q_i)`, in source order.
    pub fn constants(&self) -> &[u64] {
        &self.constants
    }

    /// `u = (sum_i y_i c_i + 2^(F-1)) >> F` for the scaled residues `y_i < q_i` in source
    /// order; `u` lies in `[0, K]`.
    #[inline]
    pub fn correction(&self, scaled: impl IntoIterator<Item = u64>) -> u64 {
        let sum: u128 = scaled
            .into_iter()
            .zip(&self.constants)
            .map(|(y, &c)| y as u128 * c as u128)
            .sum();
        ((sum + (1u128 << (self.shift - 1))) >> self.shift) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::ntt_primes;
    use num_bigint::BigUint;
    use num_traits::ToPrimitive;

    #[test]
    fn constants_respect_their_bounds() {
        for (bits, count) in [
            (20u32, 1usize),
            (30, 2),
            (30, 16),
            (50, 7),
            (61, 3),
            (61, 1000),
        ] {
            let from = ntt_primes(bits, 4, count, &[]).unwrap();
            let c = CenteredCorrection::new(&from);
            let q_max = *from.iter().max().unwrap();
            // The largest possible sum plus the rounding half stays below 2^128.
            let worst: u128 = from
                .iter()
                .zip(c.constants())
                .map(|(&q, &ci)| (q - 1) as u128 * ci as u128)
                .sum();
            assert!(worst.checked_add(1u128 << (c.shift() - 1)).is_some());
            assert!(c.constants().iter().all(|&ci| ci <= 1 << 63));
            // The band of the module documentation, K q_max 2^-(F+1) Q, is at most
            // K 2^-62 Q: never wider than an f64 estimate's.
            assert!(c.shift() >= q_max.ilog2() + 62 || c.shift() >= 115);
        }
    }

    /// Two 30-bit sources: `2^F > K q_max Q`, so the rounding is exact even at the ties
    /// `x = (Q - 1)/2` and `(Q + 1)/2`, against big-integer arithmetic.
    #[test]
    fn exact_at_the_ties_when_the_shift_allows() {
        let from = ntt_primes(30, 4, 2, &[]).unwrap();
        let c = CenteredCorrection::new(&from);
        let q: BigUint = from.iter().map(|&p| BigUint::from(p)).product();
        assert!(BigUint::from(1u8) << c.shift() > &q * from.len() * from[1].max(from[0]));
        let two = BigUint::from(2u8);
        let half_down = (&q - 1u8) / &two;
        for x in [
            BigUint::from(0u8),
            BigUint::from(1u8),
            half_down.clone(),
            &half_down + 1u8,
            &q - 1u8,
        ] {
            let scaled: Vec<u64> = from
                .iter()
                .enumerate()
                .map(|(i, &qi)| {
                    let m = crate::arith::Modulus::new(qi).unwrap();
                    let inv = m.inv(from[1 - i] % qi).unwrap();
                    m.mul((&x % qi).to_u64().unwrap(), inv)
                })
                .collect();
            // sum y_i (Q/q_i) = x + u0 Q; the centered representative subtracts one more Q
            // exactly when x > Q/2.
            let sum: BigUint = scaled
                .iter()
                .enumerate()
                .map(|(i, &y)| BigUint::from(y) * from[1 - i])
                .sum();
            let u0 = (&sum - &x) / &q;
            let want = u0.to_u64().unwrap() + u64::from(x > half_down);
            assert_eq!(c.correction(scaled), want, "x = {x}");
        }
    }
}
