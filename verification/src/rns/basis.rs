//! RNS bases: CRT composition and decomposition (num-bigint), and fast basis conversion.

use num_bigint::BigUint;
use num_traits::{One, ToPrimitive, Zero};
use rayon::prelude::*;

use crate::arith::modulus::reduce_once;
use crate::arith::Modulus;
use crate::error::{Error, Result};

use super::centered::CenteredCorrection;

/// A set of pairwise coprime word moduli `q_0 .. q_{k-1}` and the CRT constants of their
/// product `Q`.
#[derive(Clone, Debug)]
pub struct RnsBasis {
    moduli: Vec<Modulus>,
    product: BigUint,
    /// `Q / q_i`.
    q_hat: Vec<BigUint>,
    /// `(Q / q_i)^-1 mod q_i`.
    q_hat_inv: Vec<u64>,
}

impl RnsBasis {
    /// Builds a basis; moduli must be pairwise coprime and non-empty.
    pub fn new(moduli: &[Modulus]) -> Result<Self> {
        if moduli.is_empty() {
            return Err(Error::InvalidParameter {
                field: "rns basis".into(),
                reason: "needs at least one modulus".into(),
            });
        }
        let product = moduli.iter().fold(BigUint::one(), |acc, m| acc * m.value());
        let mut q_hat = Vec::with_capacity(moduli.len());
        let mut q_hat_inv = Vec::with_capacity(moduli.len());
        for m in moduli {
            let hat = &product / m.value();
            let hat_mod = (&hat % m.value()).to_u64().expect("below a u64 modulus");
            let inv = m.inv(hat_mod).ok_or_else(|| Error::InvalidParameter {
                field: "rns basis".into(),
                reason: format!("modulus {} is not coprime to the others", m.value()),
            })?;
            q_hat.push(hat);
            q_hat_inv.push(inv);
        }
        Ok(RnsBasis {
            moduli: moduli.to_vec(),
            product,
            q_hat,
            q_hat_inv,
        })
    }

    /// The moduli, in basis order.
    pub fn moduli(&self) -> &[Modulus] {
        &self.moduli
    }

    /// The product `Q` of the moduli.
    pub fn product(&self) -> &BigUint {
        &self.product
    }

    /// Residues of `x` (any size) modulo each `q_i`, each in `[0, q_i)`.
    pub fn decompose(&self, x: &BigUint) -> Vec<u64> {
        self.moduli
            .iter()
            .map(|m| (x % m.value()).to_u64().expect("below a u64 modulus"))
            .collect()
    }

    /// The unique `x` in `[0, Q)` with `x = residues[i] mod q_i` (residues in `[0, q_i)`).
    pub fn compose(&self, residues: &[u64]) -> BigUint {
        assert_eq!(residues.len(), self.moduli.len(), "residue count");
        let mut acc = BigUint::zero();
        for (i, m) in self.moduli.iter().enumerate() {
            let t = m.mul(residues[i], self.q_hat_inv[i]);
            acc += &self.q_hat[i] * t;
        }
        acc % &self.product
    }

    /// [`RnsBasis::compose`] mapped to the centered interval `(-Q/2, Q/2]`, as an `f64`
    /// (sign, magnitude rounded to the nearest double).
    pub fn compose_centered_f64(&self, residues: &[u64]) -> f64 {
        let x = self.compose(residues);
        let half = &self.product >> 1u32;
        if x > half {
            -(&self.product - x).to_f64().unwrap_or(f64::INFINITY)
        } else {
            x.to_f64().unwrap_or(f64::INFINITY)
        }
    }
}

/// Fast (approximate) basis conversion from basis `Q = {q_i}` to basis `B = {b_j}`:
/// `y_j = sum_i [x_i * (Q/q_i)^-1]_{q_i} * (Q/q_i) mod b_j`, which equals `x + u Q` for an integer
/// `0 <= u < len(Q)` (no correction of the `u Q` overflow, as in HPS/BEHZ and hybrid key switching).
#[derive(Clone, Debug)]
pub struct BasisConverter {
    from: Vec<Modulus>,
    to: Vec<Modulus>,
    /// `(Q/q_i)^-1 mod q_i` and its Shoup constant.
    q_hat_inv: Vec<(u64, u64)>,
    /// `(Q/q_i) mod b_j`, indexed `[j][i]`.
    q_hat_mod_b: Vec<Vec<u64>>,
    /// `Q mod b_j`.
    q_mod_b: Vec<u64>,
    /// Fixed-point constants of the centered correction.
    correction: CenteredCorrection,
}

impl BasisConverter {
    /// Conversion constants from `from` to `to`; the moduli of `from` must be pairwise coprime.
    pub fn new(from: &[Modulus], to: &[Modulus]) -> Result<Self> {
        let mut q_hat_inv = Vec::with_capacity(from.len());
        for (i, mi) in from.iter().enumerate() {
            let hat = from
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != i)
                .fold(1u64 % mi.value(), |acc, (_, mk)| mi.mul(acc, mk.value()));
            let inv = mi.inv(hat).ok_or_else(|| Error::InvalidParameter {
                field: "basis conversion".into(),
                reason: format!("modulus {} is not coprime to the others", mi.value()),
            })?;
            q_hat_inv.push((inv, mi.shoup(inv)));
        }
        let q_hat_mod_b = to
            .iter()
            .map(|mj| {
                (0..from.len())
                    .map(|i| {
                        from.iter()
                            .enumerate()
                            .filter(|&(k, _)| k != i)
                            .fold(1u64 % mj.value(), |acc, (_, mk)| mj.mul(acc, mk.value()))
                    })
                    .collect()
            })
            .collect();
        let q_mod_b = to
            .iter()
            .map(|mj| {
                from.iter()
                    .fold(1u64 % mj.value(), |acc, mk| mj.mul(acc, mk.value()))
            })
            .collect();
        let correction =
            CenteredCorrection::new(&from.iter().map(|m| m.value()).collect::<Vec<_>>());
        Ok(BasisConverter {
            from: from.to_vec(),
            to: to.to_vec(),
            q_hat_inv,
            q_hat_mod_b,
            q_mod_b,
            correction,
        })
    }

    /// Source moduli.
    pub fn from_moduli(&self) -> &[Modulus] {
        &self.from
    }

    /// Target moduli.
    pub fn to_moduli(&self) -> &[Modulus] {
        &self.to
    }

    /// Converts coefficient-form limbs `input[i]` (mod `from[i]`, values in `[0, from[i])`, all
    /// of length `n`) into `output[j]` (mod `to[j]`, values in `[0, to[j])`): the approximate
    /// conversion, `x + u Q` with `0 <= u < len(from)`.
    pub fn convert(&self, input: &[&[u64]], output: &mut [&mut [u64]]) {
        self.convert_impl(input, output, false);
    }

    /// Exact conversion of the centered representative: `output[j] = x' mod to[j]` where `x'`
    /// is the representative of `x` in `[-Q/2, Q/2)` (up to ties within `K q_max 2^-(F+1) Q`
    /// of `Q/2`, at most `K 2^-62 Q`, where `x' = x - Q` or `x` may be chosen; both are
    /// correct mod `Q`). The correction `u = round(sum_i y_i / q_i)` (HPS) is computed in
    /// fixed point ([`CenteredCorrection`]), the definition the RTL unit shares.
    pub fn convert_centered(&self, input: &[&[u64]], output: &mut [&mut [u64]]) {
        self.convert_impl(input, output, true);
    }

    fn convert_impl(&self, input: &[&[u64]], output: &mut [&mut [u64]], centered: bool) {
        assert_eq!(output.len(), self.to.len(), "target limb count");
        let prepared = self.prepare(input, centered);
        output
            .par_iter_mut()
            .enumerate()
            .for_each(|(j, out)| self.convert_to(&prepared, j, out));
    }

    /// The work of a conversion shared by every target: the scaled residues and, when
    /// `centered`, the corrections of [`BasisConverter::convert_centered`]. Finish it per
    /// target with [`BasisConverter::convert_to`] (the same words as converting all at once).
    pub fn prepare<'a>(&self, input: &'a [&'a [u64]], centered: bool) -> PreparedConversion<'a> {
        assert_eq!(input.len(), self.from.len(), "source limb count");
        let n = input.first().map_or(0, |l| l.len());
        if self.from.len() == 1 {
            // One source prime: Q/q_0 = 1, so y = x and u = 0 (centered: u = [x >= q_0/2]).
            return PreparedConversion {
                input,
                centered,
                scaled: Vec::new(),
                corrections: Vec::new(),
            };
        }
        // Scaled residues y_i = [x_i * (Q/q_i)^-1]_{q_i}, one limb per source modulus.
        let scaled: Vec<Vec<u64>> = input
            .par_iter()
            .zip(&self.from)
            .zip(&self.q_hat_inv)
            .map(|((limb, m), &(w, ws))| limb.iter().map(|&x| m.mul_shoup(x, w, ws)).collect())
            .collect();
        // sum_i y_i (Q/q_i) = x + u Q with u = floor(sum_i y_i / q_i); rounding instead of
        // flooring subtracts one more Q exactly when x >= Q/2.
        let corrections: Vec<u64> = if centered {
            (0..n)
                .into_par_iter()
                .map(|c| self.correction.correction(scaled.iter().map(|s| s[c])))
                .collect()
        } else {
            Vec::new()
        };
        PreparedConversion {
            input,
            centered,
            scaled,
            corrections,
        }
    }

    /// Target `j`'s limb (mod `to[j]`, in `[0, to[j])`) of a prepared conversion.
    pub fn convert_to(&self, prepared: &PreparedConversion<'_>, j: usize, out: &mut [u64]) {
        let n = prepared.input.first().map_or(0, |l| l.len());
        assert_eq!(out.len(), n, "target limb length");
        let mj = self.to[j];
        if self.from.len() == 1 {
            let (q0, x) = (self.from[0].value(), prepared.input[0]);
            // Values at or above `threshold` stand for x - q_0 (none when not centered: every
            // value is below 2^61).
            let threshold = if prepared.centered {
                q0.div_ceil(2)
            } else {
                1 << 63
            };
            let p = mj.value();
            // -q_0 mod p, added (branch-free) to the residue of the values taken as x - q_0.
            let minus_q = mj.neg(self.q_mod_b[j]);
            let shift = move |v: u64, r: u64| {
                // All ones exactly when v >= threshold (both below 2^63): the sign of
                // threshold - 1 - v, as arithmetic, so the loop has no branch to vectorize.
                let mask = ((threshold - 1).wrapping_sub(v) as i64 >> 63) as u64;
                reduce_once(r + (minus_q & mask), p)
            };
            if q0 <= p {
                // Residues mod q_0 are already reduced mod p.
                super::wide::map_into(x, out, &|v| shift(v, v));
            } else if q0 <= 2 * p {
                // Residues below 2p: one conditional subtraction (vectorizes, unlike the
                // 128-bit Barrett product below).
                super::wide::map_into(x, out, &|v| shift(v, reduce_once(v, p)));
            } else {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = shift(v, mj.reduce(v));
                }
            }
            return;
        }
        let scaled_refs: Vec<&[u64]> = prepared.scaled.iter().map(|s| s.as_slice()).collect();
        let x_bound = self.from.iter().map(|m| m.value()).max().unwrap_or(0);
        super::dot::dot_const(&mj, &scaled_refs, &self.q_hat_mod_b[j], x_bound, out);
        if prepared.centered {
            // u Q mod b_j for every correction u in [0, len(from)].
            let u_q: Vec<u64> = (0..=self.from.len() as u64)
                .map(|u| mj.mul(u, self.q_mod_b[j]))
                .collect();
            for (o, &u) in out.iter_mut().zip(&prepared.corrections) {
                *o = mj.sub(*o, u_q[u as usize]);
            }
        }
    }
}

/// A conversion's work shared by its targets ([`BasisConverter::prepare`]).
#[derive(Debug)]
pub struct PreparedConversion<'a> {
    input: &'a [&'a [u64]],
    centered: bool,
    /// `[x_i * (Q/q_i)^-1]_{q_i}` per source limb (empty for one source).
    scaled: Vec<Vec<u64>>,
    /// The centered corrections `u` per coefficient (empty unless centered with two or more
    /// sources).
    corrections: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::ntt_primes;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn basis(bits: u32, count: usize) -> Vec<Modulus> {
        ntt_primes(bits, 4, count, &[])
            .unwrap()
            .into_iter()
            .map(|q| Modulus::new(q).unwrap())
            .collect()
    }

    proptest! {
        #[test]
        fn crt_round_trip(count in 1usize..12, bits in prop_oneof![Just(30u32), Just(45), Just(61)], seed: u64) {
            let moduli = basis(bits, count);
            let b = RnsBasis::new(&moduli).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let words: Vec<u32> = (0..count * 2 + 1).map(|_| rng.gen()).collect();
            let x = BigUint::from_slice(&words) % b.product();
            let residues = b.decompose(&x);
            for (r, m) in residues.iter().zip(&moduli) {
                prop_assert_eq!(*r, (&x % m.value()).to_u64().unwrap());
            }
            prop_assert_eq!(b.compose(&residues), x);
        }

        #[test]
        fn fast_conversion_is_x_plus_small_multiple_of_q(from_count in 1usize..8, seed: u64) {
            let all = basis(50, from_count + 3);
            let (from, to) = all.split_at(from_count);
            let b = RnsBasis::new(from).unwrap();
            let conv = BasisConverter::new(from, to).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let n = 4;
            let xs: Vec<BigUint> = (0..n).map(|_| {
                let words: Vec<u32> = (0..from_count * 2 + 1).map(|_| rng.gen()).collect();
                BigUint::from_slice(&words) % b.product()
            }).collect();
            let limbs: Vec<Vec<u64>> = from.iter().map(|m| xs.iter().map(|x| (x % m.value()).to_u64().unwrap()).collect()).collect();
            let inputs: Vec<&[u64]> = limbs.iter().map(|l| l.as_slice()).collect();
            let mut out = crate::rns::poly::zeroed_limbs(to.len(), n);
            let mut outs: Vec<&mut [u64]> = out.iter_mut().map(|l| l.as_mut_slice()).collect();
            conv.convert(&inputs, &mut outs);
            for (c, x) in xs.iter().enumerate() {
                let candidates: Vec<BigUint> = (0..from_count as u32).map(|u| x + b.product() * u).collect();
                let found = candidates.iter().any(|y| to.iter().enumerate().all(|(j, m)| (y % m.value()).to_u64().unwrap() == out[j][c]));
                prop_assert!(found, "coefficient {} is not x + uQ for a small u", c);
            }
        }
    }

    proptest! {
        #[test]
        fn centered_conversion_is_exact(from_count in 1usize..8, seed: u64) {
            let all = basis(50, from_count + 3);
            let (from, to) = all.split_at(from_count);
            let b = RnsBasis::new(from).unwrap();
            let conv = BasisConverter::new(from, to).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let q = b.product().clone();
            let half = &q >> 1u32;
            // random values plus the corners 0, 1, Q/2 - 1, Q/2 + 1, Q - 1
            let mut xs: Vec<BigUint> = (0..6).map(|_| {
                let words: Vec<u32> = (0..from_count * 2 + 1).map(|_| rng.gen()).collect();
                BigUint::from_slice(&words) % &q
            }).collect();
            // strict corners: 0, 1, Q/4, 3Q/4, Q - 1; tie corners: Q/2 - 1, Q/2, Q/2 + 1
            let strict_count = xs.len() + 5;
            xs.extend([BigUint::zero(), BigUint::one(), &q >> 2u32, (&q * 3u32) >> 2u32, &q - 1u32]);
            xs.extend([&half - 1u32, half.clone(), &half + 1u32]);
            let n = xs.len();
            let limbs: Vec<Vec<u64>> = from.iter().map(|m| xs.iter().map(|x| (x % m.value()).to_u64().unwrap()).collect()).collect();
            let inputs: Vec<&[u64]> = limbs.iter().map(|l| l.as_slice()).collect();
            let mut out = crate::rns::poly::zeroed_limbs(to.len(), n);
            let mut outs: Vec<&mut [u64]> = out.iter_mut().map(|l| l.as_mut_slice()).collect();
            conv.convert_centered(&inputs, &mut outs);
            for (c, x) in xs.iter().enumerate() {
                for (j, m) in to.iter().enumerate() {
                    let p = m.value();
                    let plain = (x % p).to_u64().unwrap();
                    let minus_q = m.sub(plain, (&q % p).to_u64().unwrap());
                    if c < strict_count {
                        let want = if x >= &half { minus_q } else { plain };
                        prop_assert_eq!(out[j][c], want, "coefficient {} target {}", c, j);
                    } else {
                        // within the documented fixed-point tie band around Q/2
                        prop_assert!(out[j][c] == plain || out[j][c] == minus_q, "tie coefficient {} target {}", c, j);
                    }
                }
            }
        }
    }

    /// One source prime (the key switch's digits at dnum = L + 1) into targets narrower,
    /// equal and wider: each branch of the one-source conversion against `u128` arithmetic.
    #[test]
    fn one_source_conversion_on_every_width() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (from_bits, to_bits) in [(61u32, 30u32), (40, 30), (33, 31), (31, 31), (30, 61)] {
            let q0 = basis(from_bits, 1)[0];
            let to = basis(to_bits, 3);
            let (q, half) = (q0.value(), q0.value().div_ceil(2));
            let mut x: Vec<u64> = (0..61).map(|_| rng.gen_range(0..q)).collect();
            x.extend([0, 1, half - 1, half, half + 1, q - 1]);
            for centered in [false, true] {
                let mut out = crate::rns::poly::zeroed_limbs(to.len(), x.len());
                let mut outs: Vec<&mut [u64]> = out.iter_mut().map(|l| l.as_mut_slice()).collect();
                let conv = BasisConverter::new(&[q0], &to).unwrap();
                conv.convert_impl(&[&x], &mut outs, centered);
                for (j, m) in to.iter().enumerate() {
                    let p = m.value() as i128;
                    for (c, &v) in x.iter().enumerate() {
                        let signed = if centered && v >= half {
                            v as i128 - q as i128
                        } else {
                            v as i128
                        };
                        let want = signed.rem_euclid(p) as u64;
                        assert_eq!(
                            out[j][c], want,
                            "{from_bits} -> {to_bits} bits, centered {centered}, x = {v}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn centered_composition() {
        let moduli = basis(40, 3);
        let b = RnsBasis::new(&moduli).unwrap();
        let minus_five: Vec<u64> = moduli.iter().map(|m| m.value() - 5).collect();
        assert_eq!(b.compose_centered_f64(&minus_five), -5.0);
        let seven: Vec<u64> = vec![7; 3];
        assert_eq!(b.compose_centered_f64(&seven), 7.0);
    }

    #[test]
    fn non_coprime_basis_is_refused() {
        let m = Modulus::new(97).unwrap();
        assert!(RnsBasis::new(&[m, m]).is_err());
        assert!(BasisConverter::new(&[m, m], &[m]).is_err());
        assert!(RnsBasis::new(&[]).is_err());
    }
}
