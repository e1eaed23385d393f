//! The literal a user writes (JSON or TOML): parsing it, and every check made before a prime
//! is searched.

use serde::{Deserialize, Serialize};

use super::chain::{check_chain, Chain};
use super::security::{he_standard_bound, sparse_secret_bound};
use super::{invalid, Parameters, MAX_PRIMES};
use crate::error::{Error, Result};

/// Parameters as a user writes them (JSON or TOML, at most [`MAX_LITERAL_BYTES`] of text).
/// Each prime chain is given either by bit sizes (`log_q`, `log_p`: primes are then searched,
/// largest first below `2^bits`) or by explicit primes (`q`, `p`), never both; `Q` and `P`
/// together hold at most [`MAX_PRIMES`] primes. The security bound applies to `log2(PQ)` as
/// requested (a bit size counts in full), and it and every range and limit are checked before
/// any prime is searched ([`ParametersLiteral::check`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParametersLiteral {
    /// `log2(N)`, in `[4, 17]`.
    pub log_n: u32,
    /// Bit sizes of `q_0, q_1, ..., q_L` (each in `[log_n + 2, 61]`; 1 to [`MAX_PRIMES`]
    /// entries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_q: Vec<u32>,
    /// Explicit primes `q_0 .. q_L`, each below `2^61`, `= 1 mod 2N` and distinct.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub q: Vec<u64>,
    /// Bit sizes of the special primes `p_0 .. p_{K-1}` (each in `[log_n + 2, 61]`; at least
    /// one, at most [`MAX_PRIMES`] with `Q`'s).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_p: Vec<u32>,
    /// Explicit special primes, as `q`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub p: Vec<u64>,
    /// `log2` of the default scale, in `[1, 60]`.
    pub log_scale: u32,
    /// Number of key-switching digits, in `[1, L + 1]`; each digit holds
    /// `ceil((L + 1) / dnum)` consecutive primes of `Q`.
    pub dnum: usize,
    /// Hamming weight `h` of a sparse ternary secret (exactly `h` coefficients in `{-1, 1}`, in
    /// `[1, N]`); absent for a uniform ternary secret. Sparse secrets are checked against
    /// [`SPARSE_SECRET_BOUNDS`] instead of the HE-standard table.
    ///
    /// [`SPARSE_SECRET_BOUNDS`]: super::SPARSE_SECRET_BOUNDS
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hamming_weight: Option<usize>,
    /// Accept parameters beyond the 128-bit HE-standard bound. Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure: bool,
}
/// The longest literal text read (64 KiB), refused by its length before parsing: a literal of
/// [`MAX_PRIMES`] explicit primes takes under 6 KiB, and the TOML parser keeps a tree of
/// several hundred bytes per list entry of 2 to 4 bytes of text (so at most some 32 MiB).
pub const MAX_LITERAL_BYTES: usize = 64 << 10;

fn check_text_length(text: &str, format: &str) -> Result<()> {
    if text.len() > MAX_LITERAL_BYTES {
        return Err(Error::malformed(
            format!("parameters ({format})"),
            format!("{} bytes of {format}", text.len()),
            format!(
                "at most {MAX_LITERAL_BYTES} bytes (a literal of {MAX_PRIMES} explicit primes \
                 takes under 6 KiB)"
            ),
        ));
    }
    Ok(())
}

impl ParametersLiteral {
    /// Parses a literal from JSON text of at most [`MAX_LITERAL_BYTES`].
    pub fn from_json(text: &str) -> Result<Self> {
        check_text_length(text, "JSON")?;
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::malformed(
                format!("parameters (JSON) field `{path}`"),
                e.into_inner().to_string(),
                "a parameter literal",
            )
        })
    }

    /// Parses a literal from TOML text of at most [`MAX_LITERAL_BYTES`].
    pub fn from_toml(text: &str) -> Result<Self> {
        check_text_length(text, "TOML")?;
        toml::from_str(text).map_err(|e: toml::de::Error| {
            Error::malformed("parameters (TOML)", e.to_string(), "a parameter literal")
        })
    }

    /// Validates the literal, searching primes where bit sizes were given.
    pub fn build(&self) -> Result<Parameters> {
        Parameters::new(self)
    }

    /// Every check [`ParametersLiteral::build`] makes before it searches primes or allocates:
    /// `log_n` in `[4, 17]`; each chain given one way, bit sizes in `[log_n + 2, 61]`,
    /// explicit primes below `2^61` and `= 1 mod 2N`; `log_scale`, `dnum` and
    /// `hamming_weight` in range; `log2(PQ)` as requested (bit sizes counted in full) within
    /// the 128-bit bound unless `allow_insecure`; at most [`MAX_PRIMES`] primes. Linear in the
    /// number of entries. Primality and distinctness of explicit primes are checked by `build`.
    pub fn check(&self) -> Result<()> {
        self.checked_chains().map(|_| ())
    }

    pub(super) fn checked_chains(&self) -> Result<(Chain<'_>, Chain<'_>)> {
        let log_n = self.log_n;
        if !(4..=17).contains(&log_n) {
            return Err(invalid("log_n", format!("{log_n} is outside [4, 17]")));
        }
        let q = check_chain(("log_q", "q"), &self.log_q, &self.q, log_n)?;
        let p = check_chain(("log_p", "p"), &self.log_p, &self.p, log_n)?;
        if !(1..=60).contains(&self.log_scale) {
            return Err(invalid(
                "log_scale",
                format!("{} is outside [1, 60]", self.log_scale),
            ));
        }
        if self.dnum == 0 || self.dnum > q.len() {
            return Err(invalid(
                "dnum",
                format!(
                    "{} is outside [1, {}] (the number of primes in Q)",
                    self.dnum,
                    q.len()
                ),
            ));
        }
        if let Some(h) = self.hamming_weight {
            if h == 0 || h > 1 << log_n {
                return Err(invalid(
                    "hamming_weight",
                    format!("{h} is outside [1, N = {}]", 1u64 << log_n),
                ));
            }
        }
        if !self.allow_insecure {
            self.check_bound(q, p)?;
        }
        let field = |chain: Chain<'_>, bits: &str, primes: &str| match chain {
            Chain::Bits(_) => bits.to_string(),
            Chain::Primes(_) => primes.to_string(),
        };
        if q.len() > MAX_PRIMES {
            return Err(invalid(
                &field(q, "log_q", "q"),
                format!("{} primes, at most {MAX_PRIMES}", q.len()),
            ));
        }
        if q.len() + p.len() > MAX_PRIMES {
            return Err(invalid(
                &field(p, "log_p", "p"),
                format!(
                    "{} special primes after {} in Q, at most {MAX_PRIMES} in Q and P together",
                    p.len(),
                    q.len()
                ),
            ));
        }
        Ok((q, p))
    }

    /// The security bound on `log2(PQ)` as requested: the HE-standard table for a uniform
    /// ternary secret, [`SPARSE_SECRET_BOUNDS`] for a sparse one.
    ///
    /// [`SPARSE_SECRET_BOUNDS`]: super::SPARSE_SECRET_BOUNDS
    fn check_bound(&self, q: Chain<'_>, p: Chain<'_>) -> Result<()> {
        let log_n = self.log_n;
        let all = q.entries("log_q", "q").chain(p.entries("log_p", "p"));
        let log_pq: f64 = all.clone().map(|(_, _, bits)| bits).sum();
        if let Some(h) = self.hamming_weight {
            return match sparse_secret_bound(log_n, h) {
                Some(bound) if log_pq <= bound as f64 => Ok(()),
                bound => Err(Error::InsecureSparse {
                    log_n,
                    hamming_weight: h,
                    log_pq,
                    bound,
                }),
            };
        }
        let Some(bound) = he_standard_bound(log_n, 128) else {
            return Err(Error::Insecure {
                field: "log_n".into(),
                log_n,
                log_pq,
                bound: 0,
            });
        };
        if log_pq <= bound as f64 {
            return Ok(());
        }
        let mut sum = 0.0;
        let field = all
            .map(|(name, i, bits)| {
                sum += bits;
                (name, i, sum)
            })
            .find(|&(_, _, sum)| sum > bound as f64)
            .map_or_else(
                || "log_q".to_string(),
                |(name, i, _)| format!("{name}[{i}]"),
            );
        Err(Error::Insecure {
            field,
            log_n,
            log_pq,
            bound,
        })
    }
}
