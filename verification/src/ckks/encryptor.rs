//! Public- and secret-key encryption, and decryption.

use rand::{CryptoRng, RngCore};
use rand_chacha::ChaCha20Rng;

use super::keys::{small_poly, uniform_poly, PolyQP, PublicKey, SecretKey};
use super::keyswitch::mod_down;
use super::params::Parameters;
use super::types::{Ciphertext, Plaintext};
use crate::error::{Error, Mismatched, Result};
use crate::sampling::{gaussian, secure_rng, ternary};

/// The key an [`Encryptor`] encrypts under.
#[derive(Clone, Debug)]
pub enum EncryptionKey {
    /// Public-key encryption: `(b u + e_0 + m, a u + e_1)`.
    Public(PublicKey),
    /// Secret-key encryption: `(-a s + e + m, a)`.
    Secret(SecretKey),
}

/// Encrypts plaintexts; randomness from a cryptographic RNG.
#[derive(Debug)]
pub struct Encryptor<R: RngCore + CryptoRng = ChaCha20Rng> {
    params: Parameters,
    key: EncryptionKey,
    rng: R,
}

impl Encryptor<ChaCha20Rng> {
    /// An encryptor seeded from the operating system's entropy source.
    pub fn new(params: &Parameters, key: EncryptionKey) -> Result<Self> {
        Encryptor::with_rng(params, key, secure_rng())
    }
}

impl<R: RngCore + CryptoRng> Encryptor<R> {
    /// An encryptor drawing from `rng`.
    pub fn with_rng(params: &Parameters, key: EncryptionKey, rng: R) -> Result<Self> {
        match &key {
            EncryptionKey::Public(pk) => params.check_id(pk.params_id, "public key")?,
            EncryptionKey::Secret(sk) => params.check_id(sk.params_id, "secret key")?,
        }
        Ok(Encryptor {
            params: params.clone(),
            key,
            rng,
        })
    }

    /// Encrypts `pt` at its own level and scale.
    pub fn encrypt(&mut self, pt: &Plaintext) -> Result<Ciphertext> {
        pt.validate(&self.params)?;
        let level = pt.level();
        let n = self.params.n();
        let params = self.params.clone();
        let tables = &params.q_tables()[..=level];
        let (mut c0, c1) = match &self.key {
            EncryptionKey::Public(pk) => {
                // (b u + e_0, a u + e_1) over Q_level * P, then divided by P.
                let pt_ = params.p_tables();
                let small_qp = |coeffs: &[i64]| PolyQP {
                    q: small_poly(coeffs, tables),
                    p: small_poly(coeffs, pt_),
                };
                let u = small_qp(&ternary(&mut self.rng, n));
                let e0 = small_qp(&gaussian(&mut self.rng, n));
                let e1 = small_qp(&gaussian(&mut self.rng, n));
                let halves = [(&pk.b, e0), (&pk.a, e1)].map(|(key, e)| {
                    let mut key_q = key.q.clone();
                    key_q.truncate(level + 1);
                    let mut q = key_q.mul(&u.q, tables);
                    q.add_assign(&e.q, tables);
                    let mut p = key.p.mul(&u.p, pt_);
                    p.add_assign(&e.p, pt_);
                    PolyQP { q, p }
                });
                let [h0, h1] = halves;
                let c1 = mod_down(&params, level, h1)?;
                let c0 = mod_down(&params, level, h0)?;
                (c0, c1)
            }
            EncryptionKey::Secret(sk) => {
                let mut s = sk.s.q.clone();
                s.truncate(level + 1);
                let a = uniform_poly(&mut self.rng, tables);
                let e = gaussian(&mut self.rng, n);
                let mut c0 = small_poly(&e, tables);
                c0.sub_assign(&a.mul(&s, tables), tables);
                (c0, a)
            }
        };
        c0.add_assign(&pt.poly, tables);
        let key_id = match &self.key {
            EncryptionKey::Public(pk) => pk.key_id,
            EncryptionKey::Secret(sk) => sk.key_id,
        };
        Ok(Ciphertext {
            params_id: self.params.id(),
            key_id,
            parts: vec![c0, c1],
            scale: pt.scale,
            log_slots: pt.log_slots,
        })
    }
}

/// Decrypts ciphertexts of degree 1 or 2 with the secret key.
#[derive(Debug)]
pub struct Decryptor {
    params: Parameters,
    sk: SecretKey,
}

impl Decryptor {
    /// A decryptor for `sk`.
    pub fn new(params: &Parameters, sk: &SecretKey) -> Result<Self> {
        params.check_id(sk.params_id, "secret key")?;
        Ok(Decryptor {
            params: params.clone(),
            sk: sk.clone(),
        })
    }

    /// `c_0 + c_1 s [+ c_2 s^2]` as a plaintext of the ciphertext's level and scale.
    pub fn decrypt(&self, ct: &Ciphertext) -> Result<Plaintext> {
        ct.validate(&self.params)?;
        if ct.key_id != self.sk.key_id {
            return Err(Error::mismatch(
                "decrypt",
                Mismatched::KeySet,
                format_args!("{:#018x}", ct.key_id),
                format_args!("{:#018x} (that of the secret key)", self.sk.key_id),
            ));
        }
        let level = ct.level();
        let tables = &self.params.q_tables()[..=level];
        let mut s = self.sk.s.q.clone();
        s.truncate(level + 1);
        // Horner: ((c_d s + c_{d-1}) s + ...) + c_0.
        let mut acc = ct.parts[ct.parts.len() - 1].clone();
        for part in ct.parts.iter().rev().skip(1) {
            acc.mul_assign(&s, tables);
            acc.add_assign(part, tables);
        }
        Ok(Plaintext {
            params_id: self.params.id(),
            poly: acc,
            scale: ct.scale,
            log_slots: ct.log_slots,
        })
    }
}
