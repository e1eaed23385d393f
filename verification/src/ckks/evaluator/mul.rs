//! Ciphertext multiplication and relinearization, and the level changes: rescale by the last
//! prime, drop limbs.

use super::Evaluator;
use crate::arith::modulus::reduce_once;
use crate::ckks::keyswitch::switch_poly;
use crate::ckks::types::Ciphertext;
use crate::error::{Error, KeyKind, Mismatched, Result};
use crate::rns::RnsPoly;
use rayon::prelude::*;

impl Evaluator {
    /// The tensor product `(a_0 b_0, a_0 b_1 + a_1 b_0, a_1 b_1)` of two degree-1 ciphertexts
    /// at the same level and slot count; scales multiply.
    pub fn mul(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        a.validate(&self.params)?;
        b.validate(&self.params)?;
        if a.degree() != 1 || b.degree() != 1 {
            return Err(Error::mismatch(
                "mul",
                Mismatched::Degree,
                a.degree().max(b.degree()),
                "1 (relinearize first)",
            ));
        }
        self.same_shape(a, b.level(), a.scale, b.log_slots, "mul")?;
        if a.key_id != b.key_id {
            return Err(Error::mismatch(
                "mul",
                Mismatched::KeySet,
                format_args!("{:#018x}", a.key_id),
                format_args!("{:#018x}", b.key_id),
            ));
        }
        let tables = self.tables(a.level());
        let d0 = a.parts[0].mul(&b.parts[0], tables);
        let d1 = RnsPoly::mul_add(
            (&a.parts[0], &b.parts[1]),
            (&a.parts[1], &b.parts[0]),
            tables,
        );
        let d2 = a.parts[1].mul(&b.parts[1], tables);
        Ok(Ciphertext {
            params_id: a.params_id,
            key_id: a.key_id,
            parts: vec![d0, d1, d2],
            scale: a.scale * b.scale,
            log_slots: a.log_slots,
        })
    }

    /// Relinearizes a degree-2 ciphertext with the relinearization key.
    pub fn relinearize(&self, a: &Ciphertext) -> Result<Ciphertext> {
        a.validate(&self.params)?;
        self.relinearize_valid(a)
    }

    /// [`Evaluator::relinearize`] of a ciphertext already validated or just computed here (its
    /// words are not scanned again).
    fn relinearize_valid(&self, a: &Ciphertext) -> Result<Ciphertext> {
        if a.degree() != 2 {
            return Err(Error::mismatch(
                "relinearize",
                Mismatched::Degree,
                a.degree(),
                2,
            ));
        }
        self.check_key(a, "relinearize")?;
        let rk = self
            .relin
            .as_ref()
            .ok_or_else(|| Error::missing_key("relinearize", KeyKind::Relinearization, ""))?;
        let level = a.level();
        let (mut k0, mut k1) = switch_poly(&self.params, level, &a.parts[2], &rk.key)?;
        let tables = self.tables(level);
        k0.add_assign(&a.parts[0], tables);
        k1.add_assign(&a.parts[1], tables);
        Ok(Ciphertext {
            params_id: a.params_id,
            key_id: a.key_id,
            parts: vec![k0, k1],
            scale: a.scale,
            log_slots: a.log_slots,
        })
    }

    /// `relinearize(mul(a, b))`.
    pub fn mul_relin(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        // mul validated both operands; its product's words are reduced by construction.
        self.relinearize_valid(&self.mul(a, b)?)
    }

    /// Divides by the last prime `q_level` with rounding, dropping one level; the scale is
    /// divided by `q_level`.
    pub fn rescale(&self, a: &Ciphertext) -> Result<Ciphertext> {
        a.validate(&self.params)?;
        let level = a.level();
        if level == 0 {
            return Err(Error::level("rescale", 0, 1..=usize::MAX));
        }
        let qt = self.params.q_tables();
        let q_last = qt[level].modulus().value();
        let half = q_last / 2;
        // Per target prime q_i: -q_last mod q_i (the shift of centered values) and
        // q_last^-1 mod q_i with its Shoup constant.
        let constants: Vec<(u64, u64, u64)> = qt[..level]
            .iter()
            .map(|t| {
                let m = t.modulus();
                let inv = m.inv(q_last).expect("distinct primes");
                (m.neg(m.reduce(q_last)), inv, m.shoup(inv))
            })
            .collect();
        let mut out = a.clone();
        let n = self.params.n();
        for part in &mut out.parts {
            let mut last = part
                .limbs
                .pop()
                .expect("level >= 1 means two limbs or more");
            qt[level].inverse(&mut last);
            part.limbs
                .par_iter_mut()
                .zip(&constants)
                .zip(qt)
                .for_each_init(
                    || vec![0u64; n],
                    |tmp, ((limb, &(minus_q_last, inv, inv_s)), t)| {
                        let (q_last, half) = (q_last, half);
                        let m = *t.modulus();
                        let q = m.value();
                        // [centered(last)]_{q_i}: values above q_last/2 stand for last - q_last.
                        if q_last < q {
                            for (t, &x) in tmp.iter_mut().zip(&last) {
                                // add -q_last exactly when x > q_last / 2: the sign of half - x
                                // (both below 2^63), arithmetic so the loop vectorizes
                                let shift =
                                    minus_q_last & ((half.wrapping_sub(x) as i64 >> 63) as u64);
                                *t = reduce_once(x + shift, q);
                            }
                        } else {
                            for (t, &x) in tmp.iter_mut().zip(&last) {
                                let shift =
                                    minus_q_last & ((half.wrapping_sub(x) as i64 >> 63) as u64);
                                *t = reduce_once(m.reduce(x) + shift, q);
                            }
                        }
                        t.forward(tmp);
                        for (x, &y) in limb.iter_mut().zip(tmp.iter()) {
                            *x = m.mul_shoup(reduce_once(*x + q - y, q), inv, inv_s);
                        }
                    },
                );
        }
        out.scale = a.scale / q_last as f64;
        Ok(out)
    }

    /// Drops limbs down to `level` (no division: the scale is unchanged).
    pub fn drop_level(&self, a: &Ciphertext, level: usize) -> Result<Ciphertext> {
        a.validate(&self.params)?;
        if level > a.level() {
            return Err(Error::level(
                format!("drop_level to {level}"),
                a.level(),
                level..=usize::MAX,
            ));
        }
        let mut out = a.clone();
        for p in &mut out.parts {
            p.truncate(level + 1);
        }
        Ok(out)
    }
}
