//! Homomorphic operations on ciphertexts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::encoder::reduce_f64;
use super::keys::{GaloisKeys, PolyQP, RelinKey, SwitchingKey};
use super::keyswitch::{decompose, switch, switch_poly};
use super::params::Parameters;
use super::types::{Ciphertext, Plaintext};
use crate::arith::modulus::reduce_once;
use crate::automorphism::{galois_element_conjugate, galois_element_for_rotation, ntt_index_map};
use crate::error::{Error, KeyKind, Mismatched, Result};
use crate::rns::RnsPoly;
use rayon::prelude::*;

/// Largest relative difference of two scales that addition accepts.
pub const SCALE_TOLERANCE: f64 = 1e-9;

/// Evaluates operations on ciphertexts of one parameter set, with optional relinearization and
/// Galois keys.
#[derive(Debug)]
pub struct Evaluator {
    params: Parameters,
    /// Identifier of the key set of the evaluation keys, if any were given.
    key_id: Option<u64>,
    relin: Option<RelinKey>,
    galois: GaloisKeys,
    index_maps: Mutex<HashMap<u64, Arc<Vec<usize>>>>,
}

impl Evaluator {
    /// An evaluator; keys are checked against `params`.
    pub fn new(
        params: &Parameters,
        relin: Option<RelinKey>,
        galois: Option<GaloisKeys>,
    ) -> Result<Self> {
        let mut key_id = None;
        let mut note_key = |id: u64, what: &str| -> Result<()> {
            match key_id {
                Some(k) if k != id => Err(Error::mismatch(
                    what,
                    Mismatched::KeySet,
                    format_args!("{id:#018x}"),
                    format_args!("{k:#018x} (that of the other keys)"),
                )),
                _ => {
                    key_id = Some(id);
                    Ok(())
                }
            }
        };
        if let Some(rk) = &relin {
            rk.key.validate(params, "relinearization key")?;
            note_key(rk.key.key_id, "relinearization key")?;
        }
        if let Some(gk) = &galois {
            params.check_id(gk.params_id, "galois keys")?;
            note_key(gk.key_id, "galois keys")?;
            for (g, key) in &gk.keys {
                key.validate(params, &format!("galois key {g}"))?;
                note_key(key.key_id, &format!("galois key {g}"))?;
            }
        }
        let galois = galois.unwrap_or(GaloisKeys {
            params_id: params.id(),
            key_id: key_id.unwrap_or(0),
            keys: Default::default(),
        });
        Ok(Evaluator {
            params: params.clone(),
            key_id,
            relin,
            galois,
            index_maps: Mutex::new(HashMap::new()),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// Whether the evaluator holds the Galois key of element `g`.
    pub fn has_galois_key(&self, g: u64) -> bool {
        self.galois.keys.contains_key(&g)
    }

    /// Whether the evaluator holds a relinearization key.
    pub fn has_relin_key(&self) -> bool {
        self.relin.is_some()
    }

    fn tables(&self, level: usize) -> &[crate::ntt::NttTable] {
        &self.params.q_tables()[..=level]
    }

    /// Checks that `a` is encrypted under the key set of the evaluation keys.
    fn check_key(&self, a: &Ciphertext, what: &str) -> Result<()> {
        match self.key_id {
            Some(k) if k != a.key_id => Err(Error::mismatch(
                what,
                Mismatched::KeySet,
                format_args!("{:#018x}", a.key_id),
                format_args!("{k:#018x} (that of the evaluation keys)"),
            )),
            _ => Ok(()),
        }
    }

    fn same_shape(
        &self,
        a: &Ciphertext,
        b_level: usize,
        b_scale: f64,
        b_log_slots: u32,
        what: &str,
    ) -> Result<()> {
        if a.level() != b_level {
            return Err(Error::mismatch(what, Mismatched::Level, a.level(), b_level));
        }
        if ((a.scale - b_scale) / a.scale).abs() > SCALE_TOLERANCE {
            return Err(Error::mismatch(
                what,
                Mismatched::Scale,
                format_args!("{:e}", a.scale),
                format_args!("{b_scale:e}"),
            ));
        }
        if a.log_slots != b_log_slots {
            return Err(Error::mismatch(
                what,
                Mismatched::Slots,
                format_args!("2^{}", a.log_slots),
                format_args!("2^{b_log_slots}"),
            ));
        }
        Ok(())
    }

    fn binary(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        what: &str,
        subtract: bool,
    ) -> Result<Ciphertext> {
        let mut out = Ciphertext {
            params_id: a.params_id,
            key_id: a.key_id,
            parts: Vec::new(),
            scale: a.scale,
            log_slots: a.log_slots,
        };
        self.binary_into(a, b, what, subtract, &mut out)?;
        Ok(out)
    }

    /// [`Evaluator::binary`] into `out`, reusing its buffers.
    fn binary_into(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        what: &str,
        subtract: bool,
        out: &mut Ciphertext,
    ) -> Result<()> {
        a.validate_structure(&self.params)?;
        b.validate_structure(&self.params)?;
        self.same_shape(a, b.level(), b.scale, b.log_slots, what)?;
        if a.key_id != b.key_id {
            return Err(Error::mismatch(
                what,
                Mismatched::KeySet,
                format_args!("{:#018x}", a.key_id),
                format_args!("{:#018x}", b.key_id),
            ));
        }
        let tables = self.tables(a.level());
        // The words of the common parts are range-checked in the pass that adds them, the
        // others (a degree-2 operand's last part) before they are copied.
        let common = a.parts.len().min(b.parts.len());
        for (i, extra) in (common..).zip(a.parts[common..].iter().chain(&b.parts[common..])) {
            extra.check_shape(tables, &format!("ciphertext part {i}"))?;
        }
        let part_count = a.parts.len().max(b.parts.len());
        out.parts.truncate(part_count);
        let ntt_form = a.parts.first().is_none_or(|p| p.ntt_form);
        out.parts.resize_with(part_count, || RnsPoly {
            limbs: Vec::new(),
            ntt_form,
        });
        for ((x, y), o) in a.parts.iter().zip(&b.parts).zip(&mut out.parts) {
            if !RnsPoly::add_or_sub_checked_into(x, y, tables, subtract, o) {
                a.validate(&self.params)?;
                b.validate(&self.params)?;
                return Err(Error::out_of_range(
                    format!("{what}: an operand word"),
                    "unreduced",
                    "< q",
                ));
            }
        }
        for (x, o) in a.parts[common..].iter().zip(&mut out.parts[common..]) {
            o.clone_from(x);
        }
        for (y, o) in b.parts[common..].iter().zip(&mut out.parts[common..]) {
            o.clone_from(y);
            if subtract {
                o.neg_assign(tables);
            }
        }
        out.params_id = a.params_id;
        out.key_id = a.key_id;
        out.scale = a.scale;
        out.log_slots = a.log_slots;
        Ok(())
    }

    /// `a + b`: same level, scale and slot count.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.binary(a, b, "add", false)
    }

    /// `a + b` into `out` (any ciphertext: its buffers are reused, so a destination kept across
    /// calls costs no allocation, as SEAL's `Evaluator::add(a, b, dst)` and Lattigo's
    /// `Add(op0, op1, opOut)`). Errors as [`Evaluator::add`]; `out` is left unchanged by them
    /// except by an unreduced word, found while adding, after which its words are unspecified.
    pub fn add_into(&self, a: &Ciphertext, b: &Ciphertext, out: &mut Ciphertext) -> Result<()> {
        self.binary_into(a, b, "add", false, out)
    }

    /// `a - b`: same level, scale and slot count.
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.binary(a, b, "sub", true)
    }

    /// `a - b` into `out`, as [`Evaluator::add_into`].
    pub fn sub_into(&self, a: &Ciphertext, b: &Ciphertext, out: &mut Ciphertext) -> Result<()> {
        self.binary_into(a, b, "sub", true, out)
    }

    /// `-a`.
    pub fn neg(&self, a: &Ciphertext) -> Result<Ciphertext> {
        a.validate(&self.params)?;
        let mut out = a.clone();
        for p in &mut out.parts {
            p.neg_assign(self.tables(a.level()));
        }
        Ok(out)
    }

    /// `a + pt`: same level, scale and slot count.
    pub fn add_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext> {
        a.validate(&self.params)?;
        pt.validate(&self.params)?;
        self.same_shape(a, pt.level(), pt.scale, pt.log_slots, "add_plain")?;
        let mut out = a.clone();
        out.parts[0].add_assign(&pt.poly, self.tables(a.level()));
        Ok(out)
    }

    /// `a * pt` slot-wise: same level and slot count; the scale becomes the product of scales.
    pub fn mul_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext> {
        a.validate_structure(&self.params)?;
        pt.validate_structure(&self.params)?;
        self.same_shape(a, pt.level(), a.scale, pt.log_slots, "mul_plain")?;
        let tables = self.tables(a.level());
        // Words range-checked in the pass that multiplies them.
        let parts: Option<Vec<RnsPoly>> = a
            .parts
            .iter()
            .map(|p| RnsPoly::mul_checked(p, &pt.poly, tables))
            .collect();
        let Some(parts) = parts else {
            a.validate(&self.params)?;
            pt.validate(&self.params)?;
            return Err(Error::out_of_range(
                "mul_plain: an operand word",
                "unreduced",
                "< q",
            ));
        };
        Ok(Ciphertext {
            params_id: a.params_id,
            key_id: a.key_id,
            parts,
            scale: a.scale * pt.scale,
            log_slots: a.log_slots,
        })
    }

    /// Adds the real constant `c` to every slot (scale unchanged).
    pub fn add_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext> {
        a.validate(&self.params)?;
        let x = (c * a.scale).round();
        if !x.is_finite() {
            return Err(Error::out_of_range(
                format!("add_const: constant {c} times scale"),
                x,
                "a finite number",
            ));
        }
        let mut out = a.clone();
        for (limb, t) in out.parts[0].limbs.iter_mut().zip(self.tables(a.level())) {
            let m = t.modulus();
            let r = reduce_f64(x, m);
            // A constant polynomial has the same value at every evaluation point.
            for v in limb.iter_mut() {
                *v = m.add(*v, r);
            }
        }
        Ok(out)
    }

    /// Multiplies every slot by the real constant `c`, encoded as `round(c * const_scale)`; the
    /// scale becomes `scale * const_scale`.
    pub fn mul_const(&self, a: &Ciphertext, c: f64, const_scale: f64) -> Result<Ciphertext> {
        a.validate(&self.params)?;
        let x = (c * const_scale).round();
        if const_scale.is_nan() || const_scale < 1.0 {
            return Err(Error::out_of_range(
                "mul_const: constant scale",
                const_scale,
                ">= 1",
            ));
        }
        if !x.is_finite() {
            return Err(Error::out_of_range(
                format!("mul_const: constant {c} times scale {const_scale}"),
                x,
                "a finite number",
            ));
        }
        let tables = self.tables(a.level());
        let scalars: Vec<u64> = tables.iter().map(|t| reduce_f64(x, t.modulus())).collect();
        let mut out = a.clone();
        for p in &mut out.parts {
            p.mul_scalars(&scalars, tables);
        }
        out.scale = a.scale * const_scale;
        Ok(out)
    }

    /// Multiplies by the monomial `X^k` (`k` in `[0, 2N)`; `X^N = -1`): exact, no level spent.
    /// `X^(N/2)` multiplies every slot by the imaginary unit `i` (see [`Evaluator::mul_i`]).
    pub fn mul_monomial(&self, a: &Ciphertext, k: usize) -> Result<Ciphertext> {
        a.validate(&self.params)?;
        let n = self.params.n();
        if k >= 2 * n {
            return Err(Error::out_of_range(
                "mul_monomial: exponent",
                k,
                format!("in [0, 2N = {})", 2 * n),
            ));
        }
        let tables = self.tables(a.level());
        let monomial = RnsPoly {
            limbs: tables
                .iter()
                .map(|t| {
                    let mut limb = vec![0u64; n];
                    let m = t.modulus();
                    limb[k % n] = if k < n { 1 } else { m.neg(1) };
                    t.forward(&mut limb);
                    limb
                })
                .collect(),
            ntt_form: true,
        };
        let mut out = a.clone();
        for p in &mut out.parts {
            p.mul_assign(&monomial, tables);
        }
        Ok(out)
    }

    /// Multiplies every slot by `i` (the monomial `X^(N/2)`, whose value at every slot's root
    /// `zeta^(5^j)` is `zeta^(5^j N/2) = i`): exact, no level spent.
    pub fn mul_i(&self, a: &Ciphertext) -> Result<Ciphertext> {
        self.mul_monomial(a, self.params.n() / 2)
    }

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
