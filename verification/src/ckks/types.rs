//! Plaintexts and ciphertexts.

use serde::{Deserialize, Serialize};

use super::params::Parameters;
use crate::error::{Error, Result};
use crate::rns::RnsPoly;

/// An encoded message: a polynomial in NTT form over `q_0 .. q_level`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plaintext {
    /// Fingerprint of the parameters it was made under ([`Parameters::id`]).
    pub params_id: u64,
    /// The message polynomial, NTT form, `level + 1` limbs.
    pub poly: RnsPoly,
    /// The scale `Delta` the slots were multiplied by.
    pub scale: f64,
    /// `log2` of the number of slots, in `[0, log_n - 1]`.
    pub log_slots: u32,
}

/// A ciphertext `(c_0, c_1[, c_2])` decrypting to `c_0 + c_1 s [+ c_2 s^2]`, each part in NTT
/// form over `q_0 .. q_level`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ciphertext {
    /// Fingerprint of the parameters it was made under ([`Parameters::id`]).
    pub params_id: u64,
    /// Identifier of the key set it is encrypted under (see [`crate::ckks::SecretKey::key_id`]).
    pub key_id: u64,
    /// Two parts, or three after a multiplication without relinearization.
    pub parts: Vec<RnsPoly>,
    /// The scale of the encrypted message.
    pub scale: f64,
    /// `log2` of the number of slots, in `[0, log_n - 1]`.
    pub log_slots: u32,
}

impl Plaintext {
    /// The level: the number of limbs minus one.
    pub fn level(&self) -> usize {
        self.poly.limb_count().saturating_sub(1)
    }

    /// Checks that the plaintext belongs to `params` and is well formed.
    pub fn validate(&self, params: &Parameters) -> Result<()> {
        self.validate_structure(params)?;
        self.poly
            .check_shape(&params.q_tables()[..=self.level()], "plaintext")
    }

    /// [`Plaintext::validate`] without the scan of every word (see
    /// [`Ciphertext::validate_structure`]).
    pub(crate) fn validate_structure(&self, params: &Parameters) -> Result<()> {
        params.check_id(self.params_id, "plaintext")?;
        check_common(
            params,
            self.poly.limb_count(),
            self.scale,
            self.log_slots,
            "plaintext",
        )?;
        if !self.poly.ntt_form {
            return Err(Error::malformed(
                "plaintext",
                "coefficient form",
                "NTT form",
            ));
        }
        self.poly
            .check_lengths(&params.q_tables()[..=self.level()], "plaintext")
    }
}

impl Ciphertext {
    /// The level: the number of limbs minus one.
    pub fn level(&self) -> usize {
        self.parts
            .first()
            .map_or(0, |p| p.limb_count().saturating_sub(1))
    }

    /// Degree in the secret: 1 for a fresh or relinearized ciphertext, 2 after a product.
    pub fn degree(&self) -> usize {
        self.parts.len().saturating_sub(1)
    }

    /// Checks that the ciphertext belongs to `params` and is well formed: 2 or 3 parts of equal
    /// level in NTT form, reduced coefficients, a finite positive scale, a valid slot count.
    pub fn validate(&self, params: &Parameters) -> Result<()> {
        self.validate_structure(params)?;
        let limbs = self.parts[0].limb_count();
        for (i, part) in self.parts.iter().enumerate() {
            part.check_shape(&params.q_tables()[..limbs], &format!("ciphertext part {i}"))?;
        }
        Ok(())
    }

    /// [`Ciphertext::validate`] without the scan of every word: parameters, part count, limb
    /// counts and lengths, scale, slot count and NTT form. For operations that check the words
    /// in the same pass that reads them ([`RnsPoly::zip_map_checked`]).
    pub(crate) fn validate_structure(&self, params: &Parameters) -> Result<()> {
        params.check_id(self.params_id, "ciphertext")?;
        if !(2..=3).contains(&self.parts.len()) {
            return Err(Error::malformed(
                "ciphertext",
                format!("{} parts", self.parts.len()),
                "2 or 3 parts",
            ));
        }
        let limbs = self.parts[0].limb_count();
        check_common(params, limbs, self.scale, self.log_slots, "ciphertext")?;
        for (i, part) in self.parts.iter().enumerate() {
            if !part.ntt_form {
                return Err(Error::malformed(
                    format!("ciphertext part {i}"),
                    "coefficient form",
                    "NTT form",
                ));
            }
            part.check_lengths(&params.q_tables()[..limbs], &format!("ciphertext part {i}"))?;
        }
        Ok(())
    }
}

fn check_common(
    params: &Parameters,
    limbs: usize,
    scale: f64,
    log_slots: u32,
    what: &str,
) -> Result<()> {
    if limbs == 0 || limbs > params.max_level() + 1 {
        return Err(Error::malformed(
            what,
            format!("{limbs} limbs"),
            format!("1..={} limbs", params.max_level() + 1),
        ));
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err(Error::malformed(
            what,
            format!("scale {scale}"),
            "a positive finite scale",
        ));
    }
    if log_slots >= params.log_n() {
        return Err(Error::malformed(
            what,
            format!("log_slots {log_slots}"),
            format!("log_slots in [0, {}]", params.log_n() - 1),
        ));
    }
    Ok(())
}
