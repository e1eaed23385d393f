//! Automorphisms and rotations: single, by power-of-two steps, and hoisted (one decomposition
//! shared by several rotations).

use std::sync::Arc;

use super::Evaluator;
use crate::automorphism::{galois_element_conjugate, galois_element_for_rotation, ntt_index_map};
use crate::ckks::keys::{PolyQP, SwitchingKey};
use crate::ckks::keyswitch::{decompose, switch, switch_poly};
use crate::ckks::types::Ciphertext;
use crate::error::{Error, KeyKind, Mismatched, Result};
use crate::rns::RnsPoly;
use rayon::prelude::*;

impl Evaluator {
    fn index_map(&self, g: u64) -> Result<Arc<Vec<usize>>> {
        let mut maps = self.index_maps.lock().expect("index map cache poisoned");
        if let Some(m) = maps.get(&g) {
            return Ok(m.clone());
        }
        let m = Arc::new(ntt_index_map(g, self.params.log_n())?);
        maps.insert(g, m.clone());
        Ok(m)
    }

    fn galois_key(&self, g: u64, what: &str) -> Result<&SwitchingKey> {
        self.galois.keys.get(&g).ok_or_else(|| {
            let key = if g == galois_element_conjugate(self.params.log_n()) {
                KeyKind::Conjugation
            } else {
                KeyKind::Galois(g)
            };
            Error::missing_key(what, key, "")
        })
    }

    /// Key-switches the decomposition of `c_1` with the key of `g`, adds `c_0`, then applies
    /// `X -> X^g` to both parts.
    fn automorphism_from_digits(
        &self,
        a: &Ciphertext,
        digits: &[PolyQP],
        g: u64,
        key: &SwitchingKey,
    ) -> Result<Ciphertext> {
        let switched = switch(&self.params, a.level(), digits, key)?;
        self.automorphism_of_switched(a, switched, g)
    }

    /// `(k_0 + c_0, k_1)` for the key-switched `c_1`, then `X -> X^g` on both parts.
    fn automorphism_of_switched(
        &self,
        a: &Ciphertext,
        (mut k0, k1): (RnsPoly, RnsPoly),
        g: u64,
    ) -> Result<Ciphertext> {
        let tables = self.tables(a.level());
        k0.add_assign(&a.parts[0], tables);
        let idx = self.index_map(g)?;
        Ok(Ciphertext {
            params_id: a.params_id,
            key_id: a.key_id,
            parts: vec![
                k0.automorphism(g, &idx, tables)?,
                k1.automorphism(g, &idx, tables)?,
            ],
            scale: a.scale,
            log_slots: a.log_slots,
        })
    }

    /// Applies the automorphism `X -> X^g` to a degree-1 ciphertext (needs the key of `g`).
    pub fn automorphism(&self, a: &Ciphertext, g: u64) -> Result<Ciphertext> {
        a.validate(&self.params)?;
        self.automorphism_of_valid(a, g)
    }

    /// [`Evaluator::automorphism`] of a ciphertext already validated (every word scanned once
    /// per operation, not once per step of a composed rotation).
    fn automorphism_of_valid(&self, a: &Ciphertext, g: u64) -> Result<Ciphertext> {
        if a.degree() != 1 {
            return Err(Error::mismatch(
                "automorphism",
                Mismatched::Degree,
                a.degree(),
                1,
            ));
        }
        self.check_key(a, "automorphism")?;
        let key = self.galois_key(g, "automorphism")?;
        let switched = switch_poly(&self.params, a.level(), &a.parts[1], key)?;
        self.automorphism_of_switched(a, switched, g)
    }

    /// Rotates the slots left by `step` (new slot `j` = old slot `j + step`, modulo the slot
    /// count). Uses the key of that rotation if present; otherwise composes rotations by the
    /// powers of two in `step` (each must have a key).
    pub fn rotate(&self, a: &Ciphertext, step: i64) -> Result<Ciphertext> {
        a.validate(&self.params)?;
        let slots = 1i64 << a.log_slots;
        let k = step.rem_euclid(slots);
        if k == 0 {
            return Ok(a.clone());
        }
        let log_n = self.params.log_n();
        let g = galois_element_for_rotation(k, log_n);
        if self.galois.keys.contains_key(&g) {
            return self.automorphism_of_valid(a, g);
        }
        let missing: Vec<i64> = (0..a.log_slots)
            .filter(|b| k >> b & 1 == 1)
            .map(|b| 1i64 << b)
            .filter(|&s| {
                !self
                    .galois
                    .keys
                    .contains_key(&galois_element_for_rotation(s, log_n))
            })
            .collect();
        if !missing.is_empty() {
            return Err(Error::missing_key(
                format!("rotation by {step}"),
                KeyKind::Rotation(step),
                format!("or those of the power-of-two steps {missing:?}"),
            ));
        }
        let mut out = a.clone();
        for b in (0..a.log_slots).filter(|b| k >> b & 1 == 1) {
            out = self.automorphism_of_valid(&out, galois_element_for_rotation(1 << b, log_n))?;
        }
        Ok(out)
    }

    /// Complex conjugation of every slot.
    pub fn conjugate(&self, a: &Ciphertext) -> Result<Ciphertext> {
        self.automorphism(a, galois_element_conjugate(self.params.log_n()))
    }

    /// Rotations of one ciphertext by each of `steps`, sharing one decomposition of `c_1`
    /// (hoisting). Each result is bit-for-bit the ciphertext [`Evaluator::automorphism`] gives
    /// for that rotation's key; every step needs its own key.
    pub fn rotate_hoisted(&self, a: &Ciphertext, steps: &[i64]) -> Result<Vec<Ciphertext>> {
        a.validate(&self.params)?;
        if a.degree() != 1 {
            return Err(Error::mismatch(
                "hoisted rotation",
                Mismatched::Degree,
                a.degree(),
                1,
            ));
        }
        self.check_key(a, "hoisted rotation")?;
        let slots = 1i64 << a.log_slots;
        let log_n = self.params.log_n();
        let elements: Vec<Option<u64>> = steps
            .iter()
            .map(|&s| {
                let k = s.rem_euclid(slots);
                (k != 0).then(|| galois_element_for_rotation(k, log_n))
            })
            .collect();
        for (g, s) in elements.iter().zip(steps) {
            if let Some(g) = g {
                self.galois_key(*g, &format!("hoisted rotation by {s}"))?;
            }
        }
        let digits = decompose(&self.params, a.level(), &a.parts[1])?;
        elements
            .par_iter()
            .map(|g| match g {
                None => Ok(a.clone()),
                Some(g) => self.automorphism_from_digits(
                    a,
                    &digits,
                    *g,
                    self.galois_key(*g, "hoisted rotation")?,
                ),
            })
            .collect()
    }
}
