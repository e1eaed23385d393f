//! CKKS parameters: a serde literal, validated into [`Parameters`] with its primes and tables.
//!
//! One concern a file: this file holds the validated [`Parameters`]; the literal a user
//! writes and its checks are in `params/literal.rs`, the prime chains (checked, then
//! searched or tested) in `params/chain.rs`, the named presets in `params/presets.rs`, the
//! published security bounds in `params/security.rs`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::arith::Modulus;
use crate::error::{Error, Mismatched, Result};
use crate::ntt::NttTable;

mod chain;
mod literal;
mod presets;
mod security;

use chain::resolve_chain;
pub use chain::MAX_PRIMES;
pub use literal::{ParametersLiteral, MAX_LITERAL_BYTES};
pub use presets::{preset, INSECURE_PRESET_NAMES, PRESET_NAMES};
pub use security::{he_standard_bound, security_level, sparse_secret_bound, SPARSE_SECRET_BOUNDS};

fn invalid(field: &str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        field: field.into(),
        reason: reason.into(),
    }
}
/// Validated CKKS parameters with their primes and NTT tables. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Parameters {
    inner: Arc<ParametersInner>,
}

#[derive(Debug)]
struct ParametersInner {
    literal: ParametersLiteral,
    q_tables: Vec<NttTable>,
    p_tables: Vec<NttTable>,
    digit_size: usize,
    /// `P mod q_i` and `P^-1 mod q_i` for every prime of `Q`.
    p_mod_q: Vec<u64>,
    p_inv_mod_q: Vec<u64>,
    log_pq: f64,
    id: u64,
}

impl PartialEq for Parameters {
    fn eq(&self, other: &Self) -> bool {
        self.inner.id == other.inner.id && self.inner.literal == other.inner.literal
    }
}

impl Serialize for Parameters {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.inner.literal.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let literal = ParametersLiteral::deserialize(d)?;
        Parameters::new(&literal).map_err(serde::de::Error::custom)
    }
}
fn fnv1a(words: impl Iterator<Item = u64>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for w in words {
        for b in w.to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

impl Parameters {
    /// Validates a literal: ranges of every field, the 128-bit security bound (unless
    /// `allow_insecure`) and [`MAX_PRIMES`], all before any prime is searched or table built
    /// ([`ParametersLiteral::check`]); then distinct NTT-friendly primes.
    pub fn new(literal: &ParametersLiteral) -> Result<Self> {
        let (q_chain, p_chain) = literal.checked_chains()?;
        let log_n = literal.log_n;
        let mut taken = Vec::with_capacity(q_chain.len() + p_chain.len());
        let q = resolve_chain("q", q_chain, log_n, &mut taken)?;
        let p = resolve_chain("p", p_chain, log_n, &mut taken)?;
        let log_pq: f64 = q.iter().chain(&p).map(|&x| (x as f64).log2()).sum();
        let tables = |primes: &[u64]| {
            primes
                .iter()
                .map(|&x| NttTable::new(x, log_n))
                .collect::<Result<Vec<_>>>()
        };
        let resolved = ParametersLiteral {
            log_q: vec![],
            q: q.clone(),
            log_p: vec![],
            p: p.clone(),
            ..literal.clone()
        };
        let id = fnv1a(
            [log_n as u64, literal.dnum as u64, literal.log_scale as u64]
                .into_iter()
                .chain(q.iter().copied())
                .chain([u64::MAX])
                .chain(p.iter().copied())
                // the secret's weight, only when sparse (uniform secrets keep their fingerprints)
                .chain(literal.hamming_weight.map(|h| h as u64)),
        );
        let mut p_mod_q = Vec::with_capacity(q.len());
        let mut p_inv_mod_q = Vec::with_capacity(q.len());
        for &qi in &q {
            let m = Modulus::new(qi)?;
            let p_mod = p.iter().fold(1u64, |acc, &pk| m.mul(acc, pk));
            p_mod_q.push(p_mod);
            p_inv_mod_q.push(m.inv(p_mod).expect("distinct primes are coprime"));
        }
        Ok(Parameters {
            inner: Arc::new(ParametersInner {
                digit_size: q.len().div_ceil(literal.dnum),
                p_mod_q,
                p_inv_mod_q,
                q_tables: tables(&q)?,
                p_tables: tables(&p)?,
                literal: resolved,
                log_pq,
                id,
            }),
        })
    }

    /// A named preset, validated (see [`preset`]).
    pub fn preset(name: &str) -> Result<Self> {
        preset(name)?.build()
    }

    /// The literal with explicit primes: building it again gives equal parameters.
    pub fn literal(&self) -> &ParametersLiteral {
        &self.inner.literal
    }

    /// `log2(N)`.
    pub fn log_n(&self) -> u32 {
        self.inner.literal.log_n
    }

    /// Ring degree `N`.
    pub fn n(&self) -> usize {
        1 << self.log_n()
    }

    /// Maximum number of complex slots, `N/2`.
    pub fn max_slots(&self) -> usize {
        self.n() / 2
    }

    /// Highest level `L` (a ciphertext at level `l` has `l + 1` limbs).
    pub fn max_level(&self) -> usize {
        self.inner.q_tables.len() - 1
    }

    /// NTT tables of `q_0 .. q_L`.
    pub fn q_tables(&self) -> &[NttTable] {
        &self.inner.q_tables
    }

    /// NTT tables of the special primes `p_0 .. p_{K-1}`.
    pub fn p_tables(&self) -> &[NttTable] {
        &self.inner.p_tables
    }

    /// Moduli of `q_0 .. q_level`.
    pub fn q_moduli(&self, level: usize) -> Vec<Modulus> {
        self.inner.q_tables[..=level]
            .iter()
            .map(|t| *t.modulus())
            .collect()
    }

    /// Moduli of the special primes.
    pub fn p_moduli(&self) -> Vec<Modulus> {
        self.inner.p_tables.iter().map(|t| *t.modulus()).collect()
    }

    /// Default scale `2^log_scale`.
    pub fn default_scale(&self) -> f64 {
        2f64.powi(self.inner.literal.log_scale as i32)
    }

    /// Number of key-switching digits.
    pub fn dnum(&self) -> usize {
        self.inner.literal.dnum
    }

    /// Primes of `Q` per digit: `ceil((L + 1) / dnum)`; the last digit may hold fewer.
    pub fn digit_size(&self) -> usize {
        self.inner.digit_size
    }

    /// `P mod q_i` for `i` in `[0, L]`, `P` the product of the special primes.
    pub fn p_mod_q(&self) -> &[u64] {
        &self.inner.p_mod_q
    }

    /// `P^-1 mod q_i` for `i` in `[0, L]` (the factor of ModDown).
    pub fn p_inv_mod_q(&self) -> &[u64] {
        &self.inner.p_inv_mod_q
    }

    /// `log2(P * Q)` of the whole chain.
    pub fn log_pq(&self) -> f64 {
        self.inner.log_pq
    }

    /// Highest security level met: the HE-standard table for a uniform ternary secret (see
    /// [`security_level`]), 128 for a sparse secret within [`sparse_secret_bound`], else `None`.
    pub fn security_bits(&self) -> Option<u32> {
        match self.hamming_weight() {
            None => security_level(self.log_n(), self.inner.log_pq),
            Some(h) => sparse_secret_bound(self.log_n(), h)
                .filter(|&b| self.inner.log_pq <= b as f64)
                .map(|_| 128),
        }
    }

    /// Hamming weight of the sparse ternary secret, `None` for a uniform ternary secret.
    pub fn hamming_weight(&self) -> Option<usize> {
        self.inner.literal.hamming_weight
    }

    /// A fingerprint of `N`, the primes, `dnum` and the scale: keys and ciphertexts carry it so
    /// that operands from other parameters are refused.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// Checks that an object made under parameters `id` belongs to these parameters.
    pub fn check_id(&self, id: u64, what: &str) -> Result<()> {
        if id != self.inner.id {
            return Err(Error::mismatch(
                what,
                Mismatched::Parameters,
                format_args!("{id:#018x}"),
                format_args!("{:#018x}", self.inner.id),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
