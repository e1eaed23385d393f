//! Polynomials of `Z_Q[X] / (X^N + 1)` held as residue limbs, one per modulus of a basis.

use serde::{Deserialize, Serialize};

use rayon::prelude::*;

use crate::arith::modulus::unreduced_flag;
use crate::arith::{first_unreduced, Modulus};
use crate::automorphism::automorphism_coeff;
use crate::error::{Error, Mismatched, Result};
use crate::ntt::NttTable;
use crate::rns::{addsub, mulmod};

/// A polynomial in RNS form: `limbs[i][k]` is coefficient (or NTT slot) `k` modulo the `i`-th
/// modulus of the basis the polynomial lives in. Values are in `[0, q_i)`; in NTT form the
/// slots are in the bit-reversed order of [`crate::ntt`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RnsPoly {
    /// One limb per modulus, each of length `N`.
    pub limbs: Vec<Vec<u64>>,
    /// Whether the limbs hold NTT evaluations (bit-reversed) rather than coefficients.
    pub ntt_form: bool,
}

/// `count` zero limbs of length `n`, each allocated zeroed (`vec![vec![0; n]; count]` would
/// copy the first limb into the others, a memory copy of the whole polynomial).
pub fn zeroed_limbs(count: usize, n: usize) -> Vec<Vec<u64>> {
    (0..count).map(|_| vec![0; n]).collect()
}

impl RnsPoly {
    /// The zero polynomial with `limb_count` limbs of length `n`.
    pub fn zero(limb_count: usize, n: usize, ntt_form: bool) -> Self {
        RnsPoly {
            limbs: zeroed_limbs(limb_count, n),
            ntt_form,
        }
    }

    /// A polynomial from small signed coefficients (e.g. a secret or an error), reduced into
    /// every modulus; coefficient form.
    pub fn from_signed(coeffs: &[i64], moduli: &[Modulus]) -> Self {
        RnsPoly {
            limbs: moduli
                .iter()
                .map(|m| coeffs.iter().map(|&c| m.reduce_i64(c)).collect())
                .collect(),
            ntt_form: false,
        }
    }

    /// Number of limbs.
    pub fn limb_count(&self) -> usize {
        self.limbs.len()
    }

    /// Ring degree `N`.
    pub fn n(&self) -> usize {
        self.limbs.first().map_or(0, |l| l.len())
    }

    /// Checks the shape against a basis: one limb per table, each of length `N`, values reduced.
    pub fn check_shape(&self, tables: &[NttTable], what: &str) -> Result<()> {
        self.check_lengths(tables, what)?;
        // The limbs in parallel; the error names the first unreduced word (lowest limb, then
        // lowest coefficient), whatever the thread count.
        let first = self
            .limbs
            .par_iter()
            .zip(tables)
            .enumerate()
            .filter_map(|(i, (limb, t))| first_unreduced(limb, t.modulus().value()).map(|k| (i, k)))
            .min();
        if let Some((i, k)) = first {
            let q = tables[i].modulus().value();
            return Err(Error::out_of_range(
                format!("{what}: limb {i} coefficient {k}"),
                self.limbs[i][k],
                format!("< q = {q}"),
            ));
        }
        Ok(())
    }

    /// A copy of the first `tables.len()` limbs in coefficient form, each copied and
    /// transformed in parallel (only copied when already in coefficient form).
    pub fn to_coeff(&self, tables: &[NttTable]) -> RnsPoly {
        let limbs = self
            .limbs
            .par_iter()
            .zip(tables)
            .map(|(limb, t)| {
                let mut copy = limb.clone();
                if self.ntt_form {
                    t.inverse(&mut copy);
                }
                copy
            })
            .collect();
        RnsPoly {
            limbs,
            ntt_form: false,
        }
    }

    /// [`RnsPoly::check_shape`] without the range check of the words: one limb per table,
    /// each of length `N`.
    pub fn check_lengths(&self, tables: &[NttTable], what: &str) -> Result<()> {
        if self.limbs.len() != tables.len() {
            return Err(Error::mismatch(
                what,
                Mismatched::LimbCount,
                self.limbs.len(),
                tables.len(),
            ));
        }
        for (i, (limb, t)) in self.limbs.iter().zip(tables).enumerate() {
            if limb.len() != t.n() {
                return Err(Error::mismatch(
                    format!("{what} limb {i}"),
                    Mismatched::Coefficients,
                    limb.len(),
                    format_args!("N = {}", t.n()),
                ));
            }
        }
        Ok(())
    }

    /// Forward NTT of every limb (`tables[i]` for limb `i`); no-op when already in NTT form.
    pub fn ntt(&mut self, tables: &[NttTable]) {
        if !self.ntt_form {
            self.limbs
                .par_iter_mut()
                .zip(tables)
                .for_each(|(limb, t)| t.forward(limb));
            self.ntt_form = true;
        }
    }

    /// Inverse NTT of every limb; no-op when already in coefficient form.
    pub fn intt(&mut self, tables: &[NttTable]) {
        if self.ntt_form {
            self.limbs
                .par_iter_mut()
                .zip(tables)
                .for_each(|(limb, t)| t.inverse(limb));
            self.ntt_form = false;
        }
    }

    fn zip_apply(
        &mut self,
        other: &RnsPoly,
        tables: &[NttTable],
        f: impl Fn(&Modulus, u64, u64) -> u64 + Sync,
    ) {
        assert_eq!(self.ntt_form, other.ntt_form, "operands in different forms");
        self.limbs
            .par_iter_mut()
            .zip(&other.limbs)
            .zip(tables)
            .for_each(|((a, b), t)| {
                let m = t.modulus();
                for (x, &y) in a.iter_mut().zip(b) {
                    *x = f(m, *x, y);
                }
            });
    }

    /// `f(a_k, b_k)` word by word into a new polynomial over `tables`' limbs, checking in the
    /// same pass that every word of `a` and `b` is reduced: `None` when one is not (the caller
    /// then reports it with [`RnsPoly::check_shape`]). `f` must accept any words without
    /// panicking; it is only trusted on reduced ones. Shapes must match (checked by the caller).
    pub fn zip_map_checked(
        a: &RnsPoly,
        b: &RnsPoly,
        tables: &[NttTable],
        f: impl Fn(&Modulus, u64, u64) -> u64 + Sync,
    ) -> Option<RnsPoly> {
        assert_eq!(a.ntt_form, b.ntt_form, "operands in different forms");
        let limbs: Option<Vec<Vec<u64>>> = a
            .limbs
            .par_iter()
            .zip(&b.limbs)
            .zip(tables)
            .map(|((x, y), t)| {
                let m = t.modulus();
                // Kept as an iterator: LLVM leaves its u128 products scalar, which is faster
                // than the baseline vectorization a counted loop gets.
                let q = m.value();
                let mut flags = 0u64;
                let limb: Vec<u64> = x
                    .iter()
                    .zip(y)
                    .map(|(&u, &v)| {
                        flags |= unreduced_flag(u, q) | unreduced_flag(v, q);
                        f(m, u, v)
                    })
                    .collect();
                (flags >> 63 == 0).then_some(limb)
            })
            .collect();
        let limbs = limbs?;
        Some(RnsPoly {
            limbs,
            ntt_form: a.ntt_form,
        })
    }

    /// `a + b` (or `a - b` when `subtract`) as [`RnsPoly::zip_map_checked`] does it, with the
    /// loop compiled for AVX-512 or AVX2 where the CPU has them (the same words on every path).
    pub fn add_or_sub_checked(
        a: &RnsPoly,
        b: &RnsPoly,
        tables: &[NttTable],
        subtract: bool,
    ) -> Option<RnsPoly> {
        let mut out = RnsPoly {
            limbs: Vec::new(),
            ntt_form: a.ntt_form,
        };
        Self::add_or_sub_checked_into(a, b, tables, subtract, &mut out).then_some(out)
    }

    /// [`RnsPoly::add_or_sub_checked`] written into `out`, whose limbs are reused (resized to
    /// `tables.len()` limbs of `a`'s length; no buffer is reallocated when `out` already has
    /// that shape, as with a destination reused across calls). Returns `false` when a word of
    /// `a` or `b` is unreduced; `out`'s words are then unspecified.
    pub fn add_or_sub_checked_into(
        a: &RnsPoly,
        b: &RnsPoly,
        tables: &[NttTable],
        subtract: bool,
        out: &mut RnsPoly,
    ) -> bool {
        assert_eq!(a.ntt_form, b.ntt_form, "operands in different forms");
        let n = a.n().min(b.n());
        out.limbs.truncate(tables.len());
        for limb in &mut out.limbs {
            limb.resize(n, 0);
        }
        out.limbs.resize_with(tables.len(), || vec![0; n]);
        out.ntt_form = a.ntt_form;
        // Streaming stores when the result cannot stay in cache anyway (see rns::addsub).
        let stream = tables.len() * n >= addsub::STREAM_WORDS;
        let flags = out
            .limbs
            .par_iter_mut()
            .zip(&a.limbs)
            .zip(&b.limbs)
            .zip(tables)
            .map(|(((o, x), y), t)| {
                addsub::add_or_sub_into(t.modulus().value(), x, y, o, subtract, stream)
            })
            .reduce(|| 0, |f, g| f | g);
        flags >> 63 == 0
    }

    /// `self += other` limb-wise over the first `tables.len()` limbs.
    pub fn add_assign(&mut self, other: &RnsPoly, tables: &[NttTable]) {
        self.zip_apply(other, tables, |m, x, y| m.add(x, y));
    }

    /// `self -= other` limb-wise.
    pub fn sub_assign(&mut self, other: &RnsPoly, tables: &[NttTable]) {
        self.zip_apply(other, tables, |m, x, y| m.sub(x, y));
    }

    /// `self *= other` slot-wise; both operands in NTT form.
    pub fn mul_assign(&mut self, other: &RnsPoly, tables: &[NttTable]) {
        assert!(self.ntt_form, "pointwise product needs NTT form");
        assert_eq!(self.ntt_form, other.ntt_form, "operands in different forms");
        self.limbs
            .par_iter_mut()
            .zip(&other.limbs)
            .zip(tables)
            .for_each(|((a, b), t)| {
                mulmod::mul_assign(t.modulus(), a, b);
            });
    }

    /// `a * b` slot-wise (both in NTT form), checking in the same pass that every word of `a`
    /// and `b` is reduced: `None` when one is not (report it with [`RnsPoly::check_shape`]).
    /// Shapes must match (checked by the caller).
    pub fn mul_checked(a: &RnsPoly, b: &RnsPoly, tables: &[NttTable]) -> Option<RnsPoly> {
        assert!(a.ntt_form && b.ntt_form, "pointwise product needs NTT form");
        let limbs: Option<Vec<Vec<u64>>> = limb_products(a, b, tables)
            .map(|(limb, flags)| (flags >> 63 == 0).then_some(limb))
            .collect();
        Some(RnsPoly {
            limbs: limbs?,
            ntt_form: true,
        })
    }

    /// `a0 * b0 + a1 * b1` slot-wise (all in NTT form, one shape): the middle term of a
    /// tensor product in one pass.
    pub fn mul_add(
        (a0, b0): (&RnsPoly, &RnsPoly),
        (a1, b1): (&RnsPoly, &RnsPoly),
        tables: &[NttTable],
    ) -> RnsPoly {
        assert!(
            [a0, b0, a1, b1].iter().all(|p| p.ntt_form),
            "pointwise product needs NTT form"
        );
        let limbs = (0..tables.len())
            .into_par_iter()
            .map(|i| {
                let mut limb = vec![0u64; a0.limbs[i].len()];
                mulmod::mul_add_into(
                    tables[i].modulus(),
                    (&a0.limbs[i], &b0.limbs[i]),
                    (&a1.limbs[i], &b1.limbs[i]),
                    &mut limb,
                );
                limb
            })
            .collect();
        RnsPoly {
            limbs,
            ntt_form: true,
        }
    }

    /// `self = -self`.
    pub fn neg_assign(&mut self, tables: &[NttTable]) {
        self.limbs.par_iter_mut().zip(tables).for_each(|(a, t)| {
            let m = t.modulus();
            for x in a.iter_mut() {
                *x = m.neg(*x);
            }
        });
    }

    /// `self *= c_i` with one scalar per limb (`scalars[i]` in `[0, q_i)`).
    pub fn mul_scalars(&mut self, scalars: &[u64], tables: &[NttTable]) {
        self.limbs
            .par_iter_mut()
            .zip(scalars)
            .zip(tables)
            .for_each(|((a, &c), t)| {
                let m = t.modulus();
                let cs = m.shoup(c);
                for x in a.iter_mut() {
                    *x = m.mul_shoup(*x, c, cs);
                }
            });
    }

    /// The product of two polynomials in NTT form, as a new polynomial.
    pub fn mul(&self, other: &RnsPoly, tables: &[NttTable]) -> RnsPoly {
        assert!(self.ntt_form, "pointwise product needs NTT form");
        assert_eq!(self.ntt_form, other.ntt_form, "operands in different forms");
        assert!(
            self.limbs.len() == tables.len() && other.limbs.len() == tables.len(),
            "one limb per table"
        );
        let limbs = limb_products(self, other, tables)
            .map(|(limb, _)| limb)
            .collect();
        RnsPoly {
            limbs,
            ntt_form: true,
        }
    }

    /// Keeps only the first `count` limbs.
    pub fn truncate(&mut self, count: usize) {
        self.limbs.truncate(count);
    }

    /// The automorphism `X -> X^g` of every limb, in whichever form the polynomial is
    /// (`ntt_index` is [`crate::automorphism::ntt_index_map`] of `g`, used in NTT form).
    pub fn automorphism(
        &self,
        g: u64,
        ntt_index: &[usize],
        tables: &[NttTable],
    ) -> Result<RnsPoly> {
        let limbs = if self.ntt_form {
            self.limbs
                .par_iter()
                .map(|l| ntt_index.iter().map(|&j| l[j]).collect())
                .collect()
        } else {
            self.limbs
                .par_iter()
                .zip(tables)
                .map(|(l, t)| automorphism_coeff(l, g, t.modulus()))
                .collect::<Result<_>>()?
        };
        Ok(RnsPoly {
            limbs,
            ntt_form: self.ntt_form,
        })
    }
}

/// Each limb's slot-wise product `a_i * b_i` ([`mulmod::mul_into`]) with the unreduced flags
/// of its operands, limbs in order (as many as the shortest of `a`, `b`, `tables`).
fn limb_products<'a>(
    a: &'a RnsPoly,
    b: &'a RnsPoly,
    tables: &'a [NttTable],
) -> impl IndexedParallelIterator<Item = (Vec<u64>, u64)> + 'a {
    a.limbs
        .par_iter()
        .zip(&b.limbs)
        .zip(tables)
        .map(|((x, y), t)| {
            let mut limb = vec![0u64; x.len()];
            let flags = mulmod::mul_into(t.modulus(), x, y, &mut limb);
            (limb, flags)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::ntt_primes;
    use crate::automorphism::ntt_index_map;
    use crate::ntt::negacyclic_schoolbook;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn checked_sums_and_products_match_u128_and_flag_unreduced_words() {
        let log_n = 7;
        let tables: Vec<NttTable> = [30u32, 50, 60]
            .iter()
            .map(|&bits| NttTable::new(ntt_primes(bits, log_n, 1, &[]).unwrap()[0], log_n).unwrap())
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let poly = |rng: &mut ChaCha8Rng| RnsPoly {
            limbs: tables
                .iter()
                .map(|t| {
                    let q = t.modulus().value();
                    // random words with the corners 0 and q - 1
                    (0..128)
                        .map(|k| match k % 9 {
                            0 => 0,
                            1 => q - 1,
                            _ => rng.gen_range(0..q),
                        })
                        .collect()
                })
                .collect(),
            ntt_form: true,
        };
        let (a, b) = (poly(&mut rng), poly(&mut rng));
        let sum = RnsPoly::add_or_sub_checked(&a, &b, &tables, false).unwrap();
        let diff = RnsPoly::add_or_sub_checked(&a, &b, &tables, true).unwrap();
        let prod = RnsPoly::zip_map_checked(&a, &b, &tables, |m, u, v| m.mul(u, v)).unwrap();
        for (i, t) in tables.iter().enumerate() {
            let q = t.modulus().value() as u128;
            for k in 0..128 {
                let (x, y) = (a.limbs[i][k] as u128, b.limbs[i][k] as u128);
                assert_eq!(sum.limbs[i][k] as u128, (x + y) % q);
                assert_eq!(diff.limbs[i][k] as u128, (x + q - y) % q);
                assert_eq!(prod.limbs[i][k] as u128, x * y % q);
            }
        }
        // an unreduced word in either operand, first or last position, is flagged
        for (which, pos) in [(0, 0), (1, 127), (0, 127)] {
            let mut bad = if which == 0 { a.clone() } else { b.clone() };
            bad.limbs[2][pos] = tables[2].modulus().value();
            let (x, y) = if which == 0 { (&bad, &b) } else { (&a, &bad) };
            assert!(RnsPoly::add_or_sub_checked(x, y, &tables, false).is_none());
            assert!(RnsPoly::add_or_sub_checked(x, y, &tables, true).is_none());
            assert!(RnsPoly::zip_map_checked(x, y, &tables, |m, u, v| m.mul(u, v)).is_none());
        }
    }

    #[test]
    fn ring_operations_match_limbwise_oracles() {
        let log_n = 6;
        let tables: Vec<NttTable> = ntt_primes(40, log_n, 3, &[])
            .unwrap()
            .into_iter()
            .map(|q| NttTable::new(q, log_n).unwrap())
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let coeffs_a: Vec<i64> = (0..64).map(|_| rng.gen_range(-1000..1000)).collect();
        let coeffs_b: Vec<i64> = (0..64).map(|_| rng.gen_range(-1000..1000)).collect();
        let moduli: Vec<Modulus> = tables.iter().map(|t| *t.modulus()).collect();
        let a = RnsPoly::from_signed(&coeffs_a, &moduli);
        let b = RnsPoly::from_signed(&coeffs_b, &moduli);
        let mut fa = a.clone();
        fa.ntt(&tables);
        let mut fb = b.clone();
        fb.ntt(&tables);
        let mut prod = fa.mul(&fb, &tables);
        prod.intt(&tables);
        for i in 0..3 {
            assert_eq!(
                prod.limbs[i],
                negacyclic_schoolbook(&a.limbs[i], &b.limbs[i], &moduli[i])
            );
        }
        let mut sum = a.clone();
        sum.add_assign(&b, &tables);
        sum.sub_assign(&b, &tables);
        assert_eq!(sum, a);
        // automorphism commutes with the NTT
        let g = 5u64.pow(3) % 128;
        let idx = ntt_index_map(g, log_n).unwrap();
        let mut via_coeff = a.automorphism(g, &idx, &tables).unwrap();
        via_coeff.ntt(&tables);
        assert_eq!(fa.automorphism(g, &idx, &tables).unwrap(), via_coeff);
        assert!(a.check_shape(&tables, "a").is_ok());
        assert!(a.check_shape(&tables[..2], "a").is_err());
        // every out-of-range class is caught: q, q + 1, 2^61, 2^63 - 1, 2^63, u64::MAX
        let q = tables[0].modulus().value();
        for bad in [q, q + 1, 1 << 61, (1 << 63) - 1, 1 << 63, u64::MAX] {
            let mut b = a.clone();
            b.limbs[0][17] = bad;
            let err = b.check_shape(&tables, "b").unwrap_err();
            assert!(err.to_string().contains("coefficient 17"), "{bad}: {err}");
        }
        let mut edge = a.clone();
        edge.limbs[0][3] = q - 1;
        assert!(edge.check_shape(&tables, "edge").is_ok());
    }
}
