//! Homomorphic operations on ciphertexts.
//!
//! One concern a file: this file holds the [`Evaluator`], its shape checks and the operations
//! that need no key (additions, plaintext and constant products, monomials); ciphertext
//! multiplication, relinearization and the level changes (rescale, drop) are in
//! `evaluator/mul.rs`, automorphisms and rotations in `evaluator/rotate.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::encoder::reduce_f64;
use super::keys::{GaloisKeys, RelinKey};
use super::params::Parameters;
use super::types::{Ciphertext, Plaintext};
use crate::error::{Error, Mismatched, Result};
use crate::rns::RnsPoly;

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
}

mod mul;
mod rotate;
