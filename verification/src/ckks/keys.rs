//! Secret, public and key-switching keys, and their generation from a cryptographic RNG.

use std::collections::BTreeMap;

use rand::{CryptoRng, RngCore};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use super::params::Parameters;
use crate::automorphism::{galois_element_conjugate, galois_element_for_rotation, ntt_index_map};
use crate::error::{Error, Result};
use crate::ntt::NttTable;
use crate::rns::RnsPoly;
use crate::sampling::{gaussian, secure_rng, sparse_ternary, ternary, uniform};

/// A polynomial over `Q_L * P`: limbs of `q_0 .. q_L` and of `p_0 .. p_{K-1}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolyQP {
    /// Limbs modulo the primes of `Q`.
    pub q: RnsPoly,
    /// Limbs modulo the special primes `P`.
    pub p: RnsPoly,
}

/// The secret key: a ternary polynomial `s` (uniform, or sparse of the parameters' Hamming
/// weight), kept in NTT form over `Q_L * P`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecretKey {
    /// Fingerprint of the parameters.
    pub params_id: u64,
    /// A random identifier of this key set (drawn from the RNG, independent of `s`): every key,
    /// and every ciphertext encrypted under them, carries it, so that a wrong key is an error.
    pub key_id: u64,
    /// `s` in NTT form.
    pub s: PolyQP,
}

/// A public key `(b, a) = (-a s + e, a)` over `Q_L * P`, NTT form. Encryption runs over
/// `Q_l * P` and divides by `P` (as SEAL and Lattigo do), so fresh noise is rounding-sized.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublicKey {
    /// Fingerprint of the parameters.
    pub params_id: u64,
    /// Identifier of the key set.
    pub key_id: u64,
    /// `b = -a s + e`.
    pub b: PolyQP,
    /// Uniform `a`.
    pub a: PolyQP,
}

/// A hybrid key-switching key from a source secret `s'` to a target secret `t`: per digit `j`,
/// `(b_j, a_j)` over `Q_L * P` with `b_j = -a_j t + e_j + P * g_j * s'`, where the gadget
/// factor `g_j` is 1 modulo the primes of digit `j` and 0 modulo the other primes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwitchingKey {
    /// Fingerprint of the parameters.
    pub params_id: u64,
    /// Identifier of the key set.
    pub key_id: u64,
    /// `(b_j, a_j)` per digit, `dnum` entries.
    pub digits: Vec<(PolyQP, PolyQP)>,
    /// The seed every uniform half `a_j` was expanded from ([`expand_uniform_half`]), when the
    /// key was generated that way: [`SwitchingKey::seeded`] then stores it in half the words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<[u8; 32]>,
}

/// A switching key in its stored form (the standard compression): the `b_j` halves and the
/// 32-byte seed the uniform halves `a_j` expand from, half the words of [`SwitchingKey`].
/// The seed is public (it fixes only the uniform `a_j`); the secret stays in `b_j`'s noise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeededSwitchingKey {
    /// Fingerprint of the parameters.
    pub params_id: u64,
    /// Identifier of the key set.
    pub key_id: u64,
    /// The seed of the uniform halves.
    pub seed: [u8; 32],
    /// `b_j` per digit, `dnum` entries.
    pub b: Vec<PolyQP>,
}

/// The uniform half `a_j` of digit `j` expanded from `seed`: ChaCha20 keyed by the seed on
/// stream `j`, residues drawn limb by limb (`q_0 .. q_L`, then `p_0 ..`) by rejection-free
/// uniform sampling, taken as NTT evaluations.
pub fn expand_uniform_half(params: &Parameters, seed: &[u8; 32], j: usize) -> PolyQP {
    use rand::SeedableRng;
    let mut rng = ChaCha20Rng::from_seed(*seed);
    rng.set_stream(j as u64);
    PolyQP {
        q: uniform_poly(&mut rng, params.q_tables()),
        p: uniform_poly(&mut rng, params.p_tables()),
    }
}

impl SeededSwitchingKey {
    /// The full key: every `a_j` expanded from the seed. Errors when the fingerprint or the
    /// shape of `b` does not match `params`.
    pub fn expand(&self, params: &Parameters) -> Result<SwitchingKey> {
        let key = SwitchingKey {
            params_id: self.params_id,
            key_id: self.key_id,
            digits: self
                .b
                .iter()
                .enumerate()
                .map(|(j, b)| (b.clone(), expand_uniform_half(params, &self.seed, j)))
                .collect(),
            seed: Some(self.seed),
        };
        key.validate(params, "seeded switching key")?;
        Ok(key)
    }

    /// Bytes of the stored form at 8 bytes a word (the seed included).
    pub fn bytes(&self) -> usize {
        32 + self
            .b
            .iter()
            .flat_map(|b| b.q.limbs.iter().chain(&b.p.limbs))
            .map(|l| l.len() * 8)
            .sum::<usize>()
    }
}

/// The relinearization key: switches `s^2` to `s`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RelinKey {
    /// The switching key.
    pub key: SwitchingKey,
}

/// Galois keys by Galois element `g`. The key of `g` switches `s` to `sigma_g^-1(s)`, so that a
/// ciphertext is key-switched first and permuted after (which makes hoisting exact).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GaloisKeys {
    /// Fingerprint of the parameters.
    pub params_id: u64,
    /// Identifier of the key set.
    pub key_id: u64,
    /// Keys by Galois element.
    pub keys: BTreeMap<u64, SwitchingKey>,
}

impl SwitchingKey {
    /// The stored form (`b_j` and the seed), when the key was generated from a seed.
    pub fn seeded(&self) -> Option<SeededSwitchingKey> {
        Some(SeededSwitchingKey {
            params_id: self.params_id,
            key_id: self.key_id,
            seed: self.seed?,
            b: self.digits.iter().map(|(b, _)| b.clone()).collect(),
        })
    }

    /// Bytes in memory at 8 bytes a word (both halves of every digit).
    pub fn bytes(&self) -> usize {
        self.digits
            .iter()
            .flat_map(|(b, a)| [b, a])
            .flat_map(|p| p.q.limbs.iter().chain(&p.p.limbs))
            .map(|l| l.len() * 8)
            .sum()
    }

    /// The highest ciphertext level the key switches: `L` for a whole key, `level` for one
    /// [`SwitchingKey::restricted`] to it.
    pub fn max_level(&self) -> usize {
        self.digits
            .first()
            .map_or(0, |(b, _)| b.q.limbs.len().saturating_sub(1))
    }

    /// The key for ciphertexts at levels `<= level` only: the digits those levels decompose
    /// into (`ceil((level + 1) / alpha)`) over `q_0 .. q_level` and `P`. Key switching reads no
    /// other word, so the results are bit for bit those of the whole key; at `N = 2^16` a key
    /// for the 10 levels left after bootstrapping is a fifth of the whole. Restricted keys have
    /// no seeded form. Errors: `level` above the key's.
    pub fn restricted(&self, params: &Parameters, level: usize) -> Result<SwitchingKey> {
        if level > self.max_level() {
            return Err(Error::level(
                "restricting a switching key",
                level,
                0..=self.max_level(),
            ));
        }
        let digits = (level + 1).div_ceil(params.digit_size());
        let cut = |x: &PolyQP| PolyQP {
            q: RnsPoly {
                limbs: x.q.limbs[..=level].to_vec(),
                ntt_form: x.q.ntt_form,
            },
            p: x.p.clone(),
        };
        Ok(SwitchingKey {
            params_id: self.params_id,
            key_id: self.key_id,
            digits: self.digits[..digits]
                .iter()
                .map(|(b, a)| (cut(b), cut(a)))
                .collect(),
            seed: None,
        })
    }

    /// Checks the key's fingerprint and shape against `params`: `dnum` digits over every
    /// prime, or (a [`SwitchingKey::restricted`] key) the digits of `q_0 .. q_l` over those.
    pub fn validate(&self, params: &Parameters, what: &str) -> Result<()> {
        params.check_id(self.params_id, what)?;
        let level = self.max_level();
        let expected = if level == params.max_level() {
            params.dnum()
        } else {
            (level + 1).div_ceil(params.digit_size())
        };
        if self.digits.len() != expected {
            return Err(Error::malformed(
                what,
                format!("{} digits", self.digits.len()),
                format!("{expected} digits for levels up to {level}"),
            ));
        }
        for (j, (b, a)) in self.digits.iter().enumerate() {
            for (poly, name) in [(b, "b"), (a, "a")] {
                poly.q.check_shape(
                    &params.q_tables()[..=level],
                    &format!("{what} digit {j} {name} (Q)"),
                )?;
                poly.p
                    .check_shape(params.p_tables(), &format!("{what} digit {j} {name} (P)"))?;
            }
        }
        Ok(())
    }
}

/// Generates keys. Every random choice comes from the generator's cryptographic RNG.
#[derive(Debug)]
pub struct KeyGenerator<R: RngCore + CryptoRng = ChaCha20Rng> {
    params: Parameters,
    rng: R,
}

impl KeyGenerator<ChaCha20Rng> {
    /// A generator seeded from the operating system's entropy source.
    pub fn new(params: &Parameters) -> Self {
        KeyGenerator {
            params: params.clone(),
            rng: secure_rng(),
        }
    }
}

pub(crate) fn uniform_poly<R: RngCore + CryptoRng>(rng: &mut R, tables: &[NttTable]) -> RnsPoly {
    // Uniform residues are uniform in either form; they are taken as NTT evaluations.
    RnsPoly {
        limbs: tables
            .iter()
            .map(|t| uniform(rng, t.n(), t.modulus()))
            .collect(),
        ntt_form: true,
    }
}

/// Small signed coefficients reduced into every prime of `tables`, in NTT form.
pub(crate) fn small_poly(coeffs: &[i64], tables: &[NttTable]) -> RnsPoly {
    let moduli: Vec<_> = tables.iter().map(|t| *t.modulus()).collect();
    let mut p = RnsPoly::from_signed(coeffs, &moduli);
    p.ntt(tables);
    p
}

impl<R: RngCore + CryptoRng> KeyGenerator<R> {
    /// A generator drawing from `rng` (which must be cryptographic; tests may seed one).
    pub fn with_rng(params: &Parameters, rng: R) -> Self {
        KeyGenerator {
            params: params.clone(),
            rng,
        }
    }

    /// The parameters keys are made for.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    /// A fresh secret key: coefficients uniform in `{-1, 0, 1}`, or, when the parameters name a
    /// Hamming weight `h`, exactly `h` coefficients in `{-1, 1}` at random positions.
    pub fn gen_secret_key(&mut self) -> SecretKey {
        let coeffs = match self.params.hamming_weight() {
            None => ternary(&mut self.rng, self.params.n()),
            Some(h) => sparse_ternary(&mut self.rng, self.params.n(), h),
        };
        SecretKey {
            params_id: self.params.id(),
            key_id: self.rng.next_u64(),
            s: PolyQP {
                q: small_poly(&coeffs, self.params.q_tables()),
                p: small_poly(&coeffs, self.params.p_tables()),
            },
        }
    }

    fn check_secret(&self, sk: &SecretKey) -> Result<()> {
        self.params.check_id(sk.params_id, "secret key")?;
        sk.s.q
            .check_shape(self.params.q_tables(), "secret key (Q)")?;
        sk.s.p.check_shape(self.params.p_tables(), "secret key (P)")
    }

    /// An RLWE sample `(b, a) = (-a t + e, a)` over `Q_L * P` under the secret `t`, NTT form.
    fn rlwe_sample_qp(&mut self, t: &PolyQP) -> (PolyQP, PolyQP) {
        let (qt, pt) = (self.params.q_tables(), self.params.p_tables());
        let a = PolyQP {
            q: uniform_poly(&mut self.rng, qt),
            p: uniform_poly(&mut self.rng, pt),
        };
        self.rlwe_sample_with(t, a)
    }

    /// `(b, a)` with `b = -a t + e` for a given uniform `a` and fresh noise `e`.
    fn rlwe_sample_with(&mut self, t: &PolyQP, a: PolyQP) -> (PolyQP, PolyQP) {
        let (qt, pt) = (self.params.q_tables(), self.params.p_tables());
        let e = gaussian(&mut self.rng, self.params.n());
        let mut b = PolyQP {
            q: small_poly(&e, qt),
            p: small_poly(&e, pt),
        };
        b.q.sub_assign(&a.q.mul(&t.q, qt), qt);
        b.p.sub_assign(&a.p.mul(&t.p, pt), pt);
        (b, a)
    }

    /// The public key of `sk`.
    pub fn gen_public_key(&mut self, sk: &SecretKey) -> Result<PublicKey> {
        self.check_secret(sk)?;
        let (b, a) = self.rlwe_sample_qp(&sk.s);
        Ok(PublicKey {
            params_id: self.params.id(),
            key_id: sk.key_id,
            b,
            a,
        })
    }

    /// A key switching `source` (NTT form over `Q_L`) to the secret `target` (over `Q_L * P`),
    /// labelled with `key_id`.
    pub fn gen_switching_key(
        &mut self,
        source: &RnsPoly,
        target: &PolyQP,
        key_id: u64,
    ) -> SwitchingKey {
        let params = self.params.clone();
        let qt = params.q_tables();
        let alpha = params.digit_size();
        let level_count = qt.len();
        let p_mod_q = params.p_mod_q();
        // The uniform halves expand from one fresh seed (the stored form keeps only it).
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let digits = (0..params.dnum())
            .map(|j| {
                let a = expand_uniform_half(&params, &seed, j);
                let (mut b, a) = self.rlwe_sample_with(target, a);
                for i in (j * alpha)..((j + 1) * alpha).min(level_count) {
                    let m = qt[i].modulus();
                    let f = p_mod_q[i];
                    for (x, &s) in b.q.limbs[i].iter_mut().zip(&source.limbs[i]) {
                        *x = m.add(*x, m.mul(f, s));
                    }
                }
                (b, a)
            })
            .collect();
        SwitchingKey {
            params_id: self.params.id(),
            key_id,
            digits,
            seed: Some(seed),
        }
    }

    /// The relinearization key of `sk` (switches `s^2` to `s`).
    pub fn gen_relin_key(&mut self, sk: &SecretKey) -> Result<RelinKey> {
        self.check_secret(sk)?;
        let s2 = sk.s.q.mul(&sk.s.q, self.params.q_tables());
        Ok(RelinKey {
            key: self.gen_switching_key(&s2, &sk.s, sk.key_id),
        })
    }

    /// The key of Galois element `g` (odd, in `[1, 2N)`): switches `s` to `sigma_g^-1(s)`.
    pub fn gen_galois_key(&mut self, sk: &SecretKey, g: u64) -> Result<SwitchingKey> {
        self.check_secret(sk)?;
        let two_n = 2 * self.params.n() as u64;
        if g.is_multiple_of(2) || g >= two_n {
            return Err(Error::InvalidParameter {
                field: "galois element".into(),
                reason: format!("{g} must be odd and below 2N = {two_n}"),
            });
        }
        let g_inv = inverse_mod_power_of_two(g, two_n);
        let idx = ntt_index_map(g_inv, self.params.log_n())?;
        let target = PolyQP {
            q: sk.s.q.automorphism(g_inv, &idx, self.params.q_tables())?,
            p: sk.s.p.automorphism(g_inv, &idx, self.params.p_tables())?,
        };
        Ok(self.gen_switching_key(&sk.s.q, &target, sk.key_id))
    }

    /// Galois keys for left rotations by each of `steps` (taken modulo `N/2`) and, when
    /// `conjugate`, for complex conjugation.
    pub fn gen_galois_keys(
        &mut self,
        sk: &SecretKey,
        steps: &[i64],
        conjugate: bool,
    ) -> Result<GaloisKeys> {
        let log_n = self.params.log_n();
        let mut elements: Vec<u64> = steps
            .iter()
            .map(|&k| galois_element_for_rotation(k, log_n))
            .filter(|&g| g != 1)
            .collect();
        if conjugate {
            elements.push(galois_element_conjugate(log_n));
        }
        let mut keys = BTreeMap::new();
        for g in elements {
            if let std::collections::btree_map::Entry::Vacant(e) = keys.entry(g) {
                e.insert(self.gen_galois_key(sk, g)?);
            }
        }
        Ok(GaloisKeys {
            params_id: self.params.id(),
            key_id: sk.key_id,
            keys,
        })
    }

    /// Galois keys for rotations by every power of two below `N/2` (so any step is reachable
    /// by composition) and conjugation.
    pub fn gen_power_of_two_galois_keys(&mut self, sk: &SecretKey) -> Result<GaloisKeys> {
        let steps: Vec<i64> = (0..self.params.log_n() - 1).map(|b| 1i64 << b).collect();
        self.gen_galois_keys(sk, &steps, true)
    }
}

/// Inverse of odd `g` modulo the power of two `m`.
pub(crate) fn inverse_mod_power_of_two(g: u64, m: u64) -> u64 {
    // Newton iteration: each step doubles the number of correct low bits.
    let mut x = g; // correct to 3 bits for odd g
    for _ in 0..6 {
        x = x.wrapping_mul(2u64.wrapping_sub(g.wrapping_mul(x)));
    }
    x & (m - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_inverse_modulo_power_of_two() {
        for m in [4u64, 64, 1 << 17] {
            for g in (1..m.min(4096)).step_by(2) {
                assert_eq!(g * inverse_mod_power_of_two(g, m) % m, 1, "g={g} m={m}");
            }
        }
    }
}
