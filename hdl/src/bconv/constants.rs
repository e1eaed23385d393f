//! [`BconvConstants`]: the primes of a conversion, validated, and its precomputed constants.

use heaccel_verification::rns::CenteredCorrection;

use crate::params::{HdlError, Prime};

/// `a b mod m` by u128 arithmetic (every prime of every supported word is below `2^62`).
fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    (a as u128 * b as u128 % m as u128) as u64
}

/// `a^e mod m`.
fn pow_mod(mut a: u64, mut e: u64, m: u64) -> u64 {
    let mut r = 1 % m;
    a %= m;
    while e > 0 {
        if e & 1 == 1 {
            r = mul_mod(r, a, m);
        }
        a = mul_mod(a, a, m);
        e >>= 1;
    }
    r
}

/// The constants of a conversion from `K` source primes `q_i` to `L` target primes `b_j` on
/// `W`-bit words: the scaling constants `(Q/q_i)^-1 mod q_i` and the constant ROM
/// `Q/q_i mod b_j` (row `i`, word `j`), each with its Shoup constant
/// ([`Prime::shoup_for`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BconvConstants {
    word: usize,
    from: Vec<Prime>,
    to: Vec<Prime>,
    scale: Vec<(u64, u64)>,
    rom: Vec<Vec<(u64, u64)>>,
    centered: Option<CenteredConstants>,
}

/// The constants of the exact-centered variant: the fixed-point correction
/// (`heaccel_verification::rns::CenteredCorrection`) and, per target, `u Q mod b_j` for every
/// correction `u` in `[0, K]`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CenteredConstants {
    correction: CenteredCorrection,
    /// `[j][u] = u Q mod b_j`.
    u_q: Vec<Vec<u64>>,
}

impl BconvConstants {
    /// Largest number of source primes `K`: the accumulator of `K` residues is `W + 2` bits.
    pub const MAX_FROM: usize = 16;
    /// Largest number of target primes `L`.
    pub const MAX_TO: usize = 64;

    /// Validates and precomputes: `from` holds 1 to [`BconvConstants::MAX_FROM`] distinct
    /// primes, `to` 1 to [`BconvConstants::MAX_TO`] primes (a target may equal a source), all
    /// validated for machine word `word` ([`Prime::for_word`]).
    pub fn new(from: &[Prime], to: &[Prime], word: usize) -> Result<Self, HdlError> {
        let count = |field: &str, n: usize, max: usize| {
            if n == 0 || n > max {
                Err(HdlError::InvalidParameter {
                    field: field.into(),
                    value: n as u64,
                    reason: format!("must lie in [1, {max}] primes"),
                })
            } else {
                Ok(())
            }
        };
        count("from", from.len(), Self::MAX_FROM)?;
        count("to", to.len(), Self::MAX_TO)?;
        for p in from.iter().chain(to) {
            if p.word() != word {
                return Err(HdlError::InvalidModulus {
                    q: p.value(),
                    reason: format!("validated for W = {}, not W = {word}", p.word()),
                });
            }
        }
        for (i, p) in from.iter().enumerate() {
            if from[..i].contains(p) {
                return Err(HdlError::InvalidModulus {
                    q: p.value(),
                    reason: "appears twice among the source primes".into(),
                });
            }
        }
        // Q/q_i mod m: the product of the other source primes.
        let hat = |i: usize, m: u64| {
            from.iter()
                .enumerate()
                .filter(|&(k, _)| k != i)
                .fold(1 % m, |acc, (_, q)| mul_mod(acc, q.value(), m))
        };
        let scale = from
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let qv = q.value();
                // Fermat: q_i is prime and coprime to the others.
                let inv = pow_mod(hat(i, qv), qv - 2, qv);
                (inv, q.shoup_for(inv, word))
            })
            .collect();
        let rom = (0..from.len())
            .map(|i| {
                to.iter()
                    .map(|b| {
                        let c = hat(i, b.value());
                        (c, b.shoup_for(c, word))
                    })
                    .collect()
            })
            .collect();
        Ok(BconvConstants {
            word,
            from: from.to_vec(),
            to: to.to_vec(),
            scale,
            rom,
            centered: None,
        })
    }

    /// The exact-centered variant of the same conversion (bit-exact with
    /// `BasisConverter::convert_centered`): each output is the conversion of the
    /// representative of `x` in `[-Q/2, Q/2)`, `x + u0 Q - u Q` with the fixed-point
    /// correction `u` of `heaccel_verification::rns::CenteredCorrection` (the key switch's
    /// ModUp and ModDown and the rescale use it).
    pub fn centered(mut self) -> Self {
        let qs: Vec<u64> = self.from.iter().map(|p| p.value()).collect();
        let correction = CenteredCorrection::new(&qs);
        let u_q = self
            .to
            .iter()
            .map(|b| {
                let q_mod_b = qs
                    .iter()
                    .fold(1 % b.value(), |acc, &q| mul_mod(acc, q, b.value()));
                (0..=qs.len() as u64)
                    .map(|u| mul_mod(u, q_mod_b, b.value()))
                    .collect()
            })
            .collect();
        self.centered = Some(CenteredConstants { correction, u_q });
        self
    }

    /// Whether these are the constants of the exact-centered variant.
    pub fn is_centered(&self) -> bool {
        self.centered.is_some()
    }

    /// The fixed-point correction of the centered variant (`None` for the approximate one).
    pub fn correction(&self) -> Option<&CenteredCorrection> {
        self.centered.as_ref().map(|c| &c.correction)
    }

    /// `u Q mod b_j` of the centered variant for `u` in `[0, K]`, `j` in `[0, L)` (`None` for
    /// the approximate variant; panics beyond the ranges).
    pub fn u_q(&self, j: usize, u: usize) -> Option<u64> {
        self.centered.as_ref().map(|c| c.u_q[j][u])
    }

    /// Machine word `W` in bits.
    pub fn word(&self) -> usize {
        self.word
    }
    /// Source primes `q_i` (`K` of them).
    pub fn from_primes(&self) -> &[Prime] {
        &self.from
    }
    /// Target primes `b_j` (`L` of them).
    pub fn to_primes(&self) -> &[Prime] {
        &self.to
    }
    /// `((Q/q_i)^-1 mod q_i, its Shoup constant)` for `i` in `[0, K)` (panics beyond).
    pub fn scale(&self, i: usize) -> (u64, u64) {
        self.scale[i]
    }
    /// ROM word `(Q/q_i mod b_j, its Shoup constant)`, `i` in `[0, K)`, `j` in `[0, L)`
    /// (panics beyond).
    pub fn rom(&self, i: usize, j: usize) -> (u64, u64) {
        self.rom[i][j]
    }
    /// The same constants with ROM word `(i, j)` replaced by `value` (reduced mod `b_j`, with
    /// its own Shoup constant): a unit built from them is wrong on purpose, the fault
    /// injection of the negative controls. Panics unless `i < K` and `j < L`.
    pub fn with_rom_word(&self, i: usize, j: usize, value: u64) -> Self {
        let b = self.to[j];
        let v = value % b.value();
        let mut out = self.clone();
        out.rom[i][j] = (v, b.shoup_for(v, self.word));
        out
    }
}
