//! The CKKS encoder: complex slots <-> scaled integer polynomials in RNS/NTT form.

use std::sync::OnceLock;

use num_complex::Complex64;
use rayon::prelude::*;

use super::embedding::SpecialFft;
use super::params::Parameters;
use super::types::Plaintext;
use crate::arith::Modulus;
use crate::error::{Error, Result};
use crate::rns::{RnsBasis, RnsPoly};

/// Encodes slot vectors (length a power of two up to `N/2`) and decodes plaintexts.
#[derive(Debug)]
pub struct Encoder {
    params: Parameters,
    ffts: Vec<OnceLock<SpecialFft>>,
}

/// Reduces an integer-valued `f64` (already rounded, finite) modulo `m`, exactly, for any
/// magnitude: values beyond `2^63` are split into mantissa and power of two.
pub fn reduce_f64(x: f64, m: &Modulus) -> u64 {
    debug_assert!(x.is_finite() && x.fract() == 0.0);
    if x.abs() < 9.2e18 {
        return m.reduce_i64(x as i64);
    }
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1075;
    let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let r = m.mul(m.reduce(mantissa), m.pow(2, exponent as u64));
    if x < 0.0 {
        m.neg(r)
    } else {
        r
    }
}

impl Encoder {
    /// An encoder for `params`.
    pub fn new(params: &Parameters) -> Self {
        Encoder {
            params: params.clone(),
            ffts: (0..params.log_n()).map(|_| OnceLock::new()).collect(),
        }
    }

    fn fft(&self, log_slots: u32) -> &SpecialFft {
        self.ffts[log_slots as usize].get_or_init(|| {
            SpecialFft::new(self.params.log_n(), log_slots).expect("log_slots validated")
        })
    }

    fn log_slots_of(&self, len: usize) -> Result<u32> {
        if len == 0 || !len.is_power_of_two() || len > self.params.max_slots() {
            return Err(Error::InvalidParameter {
                field: "slots".into(),
                reason: format!(
                    "{len} values: expected a power of two in [1, N/2 = {}]",
                    self.params.max_slots()
                ),
            });
        }
        Ok(len.trailing_zeros())
    }

    /// Encodes `values` at `level` (in `[0, L]`) with `scale`: the slots are multiplied by
    /// `scale`, mapped through the inverse canonical embedding and rounded.
    pub fn encode(&self, values: &[Complex64], level: usize, scale: f64) -> Result<Plaintext> {
        let log_slots = self.log_slots_of(values.len())?;
        if level > self.params.max_level() {
            return Err(Error::level("encode", level, 0..=self.params.max_level()));
        }
        if !(scale.is_finite() && scale >= 1.0) {
            return Err(Error::out_of_range(
                "encode: scale",
                scale,
                "a finite number >= 1",
            ));
        }
        let coeffs = self.fft(log_slots).encode(values);
        let mut rounded = Vec::with_capacity(coeffs.len());
        for (k, c) in coeffs.iter().enumerate() {
            let x = (c * scale).round();
            if !x.is_finite() {
                return Err(Error::out_of_range(
                    format!("encode: coefficient {k} at scale {scale}"),
                    x,
                    "a finite number (values too large for the scale)",
                ));
            }
            rounded.push(x);
        }
        let tables = &self.params.q_tables()[..=level];
        let mut poly = RnsPoly {
            limbs: tables
                .par_iter()
                .map(|t| {
                    rounded
                        .iter()
                        .map(|&x| reduce_f64(x, t.modulus()))
                        .collect()
                })
                .collect(),
            ntt_form: false,
        };
        poly.ntt(tables);
        Ok(Plaintext {
            params_id: self.params.id(),
            poly,
            scale,
            log_slots,
        })
    }

    /// Encodes real values (imaginary parts zero). See [`Encoder::encode`].
    pub fn encode_real(&self, values: &[f64], level: usize, scale: f64) -> Result<Plaintext> {
        let complex: Vec<Complex64> = values.iter().map(|&x| Complex64::new(x, 0.0)).collect();
        self.encode(&complex, level, scale)
    }

    /// Decodes a plaintext into its `2^log_slots` complex slots (divided by its scale).
    pub fn decode(&self, pt: &Plaintext) -> Result<Vec<Complex64>> {
        pt.validate(&self.params)?;
        let level = pt.level();
        let tables = &self.params.q_tables()[..=level];
        let mut poly = pt.poly.clone();
        poly.intt(tables);
        let coeffs: Vec<f64> = if level == 0 {
            let m = tables[0].modulus();
            poly.limbs[0].iter().map(|&x| m.center(x) as f64).collect()
        } else {
            let basis = RnsBasis::new(&self.params.q_moduli(level))?;
            (0..poly.n())
                .into_par_iter()
                .map_init(
                    || vec![0u64; level + 1],
                    |residues, k| {
                        for (r, limb) in residues.iter_mut().zip(&poly.limbs) {
                            *r = limb[k];
                        }
                        basis.compose_centered_f64(residues)
                    },
                )
                .collect()
        };
        let scaled: Vec<f64> = coeffs.iter().map(|c| c / pt.scale).collect();
        Ok(self.fft(pt.log_slots).decode(&scaled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_f64_is_exact_for_huge_values() {
        let m = Modulus::new(1_099_511_922_689).unwrap();
        let x = 2f64.powi(80) * 3.0;
        let expected = m.mul(m.pow(2, 80), 3);
        assert_eq!(reduce_f64(x, &m), expected);
        assert_eq!(reduce_f64(-x, &m), m.neg(expected));
        assert_eq!(reduce_f64(-5.0, &m), m.value() - 5);
    }
}
