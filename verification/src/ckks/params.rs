//! CKKS parameters: a serde literal, validated into [`Parameters`] with its primes and tables.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::arith::{is_prime, ntt_primes, Modulus};
use crate::error::{Error, Mismatched, Result};
use crate::ntt::NttTable;

/// Largest `log2(P * Q)` for 128/192/256-bit security with a uniform ternary secret
/// (HomomorphicEncryption.org standard; `2^16` and `2^17` give the 128-bit bound only).
/// Indexed by `log_n`; `None` where no bound is published.
pub fn he_standard_bound(log_n: u32, security_bits: u32) -> Option<u32> {
    let row: [Option<u32>; 3] = match log_n {
        10 => [Some(27), Some(19), Some(14)],
        11 => [Some(54), Some(37), Some(29)],
        12 => [Some(109), Some(75), Some(58)],
        13 => [Some(218), Some(152), Some(118)],
        14 => [Some(438), Some(305), Some(237)],
        15 => [Some(881), Some(611), Some(476)],
        16 => [Some(1747), None, None],
        17 => [Some(3523), None, None],
        _ => [None, None, None],
    };
    match security_bits {
        128 => row[0],
        192 => row[1],
        256 => row[2],
        _ => None,
    }
}

/// The highest standard security level (256, 192 or 128 bits) whose bound `log_pq` meets, or
/// `None` when it exceeds even the 128-bit bound.
pub fn security_level(log_n: u32, log_pq: f64) -> Option<u32> {
    [256, 192, 128]
        .into_iter()
        .find(|&bits| he_standard_bound(log_n, bits).is_some_and(|bound| log_pq <= bound as f64))
}

/// Sparse ternary secrets with a published 128-bit security estimate: `(log_n, smallest
/// Hamming weight h, largest log2(PQ))`. A denser secret of the same ring is at least as hard,
/// so a weight `>= h` inherits the bound.
///
/// - `N = 2^16`, `h = 192`, `log2(PQ) <= 1550`: Lattigo v6 states that "LogN = 16 with H = 192"
///   is "at least 128-bit if LogQP <= 1550" (`examples/singleparty/ckks_bootstrapping/basics/
///   main.go`, estimated with the lattice-estimator per its `SECURITY.md`); its default
///   bootstrapping set `N16QP1546H192H32` has 1546 bits.
pub const SPARSE_SECRET_BOUNDS: [(u32, usize, u32); 1] = [(16, 192, 1550)];

/// The largest `log2(PQ)` with a 128-bit estimate for a sparse ternary secret of Hamming weight
/// `h` at `N = 2^log_n` (see [`SPARSE_SECRET_BOUNDS`]), or `None` where none is published.
pub fn sparse_secret_bound(log_n: u32, h: usize) -> Option<u32> {
    SPARSE_SECRET_BOUNDS
        .iter()
        .find(|&&(n, min_h, _)| n == log_n && h >= min_h)
        .map(|&(_, _, bound)| bound)
}

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hamming_weight: Option<usize>,
    /// Accept parameters beyond the 128-bit HE-standard bound. Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure: bool,
}

fn invalid(field: &str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        field: field.into(),
        reason: reason.into(),
    }
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

    fn checked_chains(&self) -> Result<(Chain<'_>, Chain<'_>)> {
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

/// Named parameter sets.
pub const PRESET_NAMES: [&str; 8] = [
    "test-n13",
    "spencnn-n14",
    "n14-ks",
    "n15-deep",
    "n16-deep",
    "n16-boot",
    "boot-test",
    "boot-test-deep",
];

/// Presets below the 128-bit bound, for functional tests only: [`Parameters::preset`] refuses
/// them; set `allow_insecure` on the literal to opt in.
pub const INSECURE_PRESET_NAMES: [&str; 2] = ["boot-test", "boot-test-deep"];

/// The literal of a named preset (see [`PRESET_NAMES`]).
///
/// - `test-n13`: `N = 2^13`, `Q` = 45 + 3 x 35 bits, `P` = 50 bits, scale `2^35`, dnum 4 (fast tests).
/// - `spencnn-n14`: `N = 2^14`, 33 + 12 x 31 bits, one 33-bit special prime, scale `2^31`,
///   dnum 13: SpENCNN's (HEAR/SEAL) setting, 438 bits, exactly the 128-bit bound.
/// - `n14-ks`: `N = 2^14`, 50 + 7 x 40 bits, two 50-bit special primes, scale `2^40`, dnum 4:
///   two primes per digit,
///   hybrid key switching as in Lattigo/OpenFHE.
/// - `n15-deep`: `N = 2^15`, 50 + 17 x 40 bits, 3 x 50-bit special primes, scale `2^40`, dnum 6.
/// - `n16-deep`: `N = 2^16`, 55 + 32 x 40 bits, 7 x 55-bit special primes, scale `2^40`, dnum 5.
/// - `n16-boot`: `N = 2^16` for bootstrapping 2^15 slots, sparse secret `h = 192`: `q_0` 60 bits,
///   9 x 40 (left after bootstrapping), 3 x 50 (SlotToCoeff), 9 x 61 (EvalMod), 3 x 61
///   (CoeffToSlot); 4 x 61-bit special primes, dnum 7 (digits of 4 primes, at most `P`); 1546
///   bits, within the 1550 of [`SPARSE_SECRET_BOUNDS`].
/// - `boot-test`: **insecure** (refused unless `allow_insecure`), `N = 2^12`, `h = 192`, the
///   same chain shape with 2 x 40 left: bootstrapping in seconds for tests.
/// - `boot-test-deep`: **insecure**, `n16-boot`'s chain (9 x 40 left) at `N = 2^12`: the
///   encrypted networks of `heaccel infer-boot` in seconds, for tests.
pub fn preset(name: &str) -> Result<ParametersLiteral> {
    let lit = |log_n, log_q: Vec<u32>, log_p: Vec<u32>, log_scale, dnum| ParametersLiteral {
        log_n,
        log_q,
        q: vec![],
        log_p,
        p: vec![],
        log_scale,
        dnum,
        hamming_weight: None,
        allow_insecure: false,
    };
    let chain = |first: u32, rest: u32, count: usize| {
        std::iter::once(first)
            .chain(std::iter::repeat_n(rest, count))
            .collect::<Vec<_>>()
    };
    Ok(match name {
        "test-n13" => lit(13, chain(45, 35, 3), vec![50], 35, 4),
        "spencnn-n14" => lit(14, chain(33, 31, 12), vec![33], 31, 13),
        "n14-ks" => lit(14, chain(50, 40, 7), vec![50, 50], 40, 4),
        "n15-deep" => lit(15, chain(50, 40, 17), vec![50; 3], 40, 6),
        "n16-deep" => lit(16, chain(55, 40, 32), vec![55; 7], 40, 5),
        "n16-boot" => ParametersLiteral {
            hamming_weight: Some(192),
            ..lit(16, boot_chain(9), vec![61; 4], 40, 7)
        },
        "boot-test" => ParametersLiteral {
            hamming_weight: Some(192),
            ..lit(12, boot_chain(2), vec![61; 5], 40, 5)
        },
        "boot-test-deep" => ParametersLiteral {
            hamming_weight: Some(192),
            ..lit(12, boot_chain(9), vec![61; 4], 40, 7)
        },
        other => {
            return Err(invalid(
                "preset",
                format!(
                    "unknown preset `{other}`; known: {}",
                    PRESET_NAMES.join(", ")
                ),
            ))
        }
    })
}

/// The bootstrapping chain: `q_0` of 60 bits, `left` x 40 bits for the circuit after
/// bootstrapping, 3 x 50 (SlotToCoeff), 9 x 61 (EvalMod: a degree-54 cosine and 3 double angles
/// for `K = 34`), 3 x 61 (CoeffToSlot). The transforms' primes are large because each
/// diagonal is encoded at about the prime it is rescaled by: with 42-bit SlotToCoeff and 56-bit
/// CoeffToSlot primes `n16-boot` measured 21.9 bits of mean precision, with these 24.5.
fn boot_chain(left: usize) -> Vec<u32> {
    std::iter::once(60)
        .chain(std::iter::repeat_n(40, left))
        .chain(std::iter::repeat_n(50, 3))
        .chain(std::iter::repeat_n(61, 12))
        .collect()
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

/// Most primes in `Q` and `P` together. More than any set within the 128-bit bound at any
/// supported `N` (at `N = 2^17` the bound is 3523 bits and a prime has at least
/// `log_n + 2 = 19` bits: at most 185 primes), and enforced with `allow_insecure` too, before
/// any prime is searched or table allocated (a table takes `4 N` words: 4 MiB at `N = 2^17`).
pub const MAX_PRIMES: usize = 256;

/// Which of the two fields gives a chain, and its entries (checked for shape and range).
#[derive(Clone, Copy)]
enum Chain<'a> {
    /// Bit sizes, each in `[log_n + 2, 61]`.
    Bits(&'a [u32]),
    /// Explicit primes, each below `2^61` and `= 1 mod 2N` (primality is checked later).
    Primes(&'a [u64]),
}

impl<'a> Chain<'a> {
    fn len(&self) -> usize {
        match self {
            Chain::Bits(b) => b.len(),
            Chain::Primes(p) => p.len(),
        }
    }

    /// `(field, index, requested log2)` of every entry; `field` is `bits` or `primes`.
    fn entries(
        self,
        bits: &'static str,
        primes: &'static str,
    ) -> impl Iterator<Item = (&'static str, usize, f64)> + Clone + 'a {
        let name = match self {
            Chain::Bits(_) => bits,
            Chain::Primes(_) => primes,
        };
        (0..self.len()).map(move |i| (name, i, self.requested_log2(i)))
    }

    /// `log2` of entry `i` as requested: a bit size counts in full (an upper bound on the
    /// `log2` of the prime searched for it), an explicit prime by its own `log2`.
    fn requested_log2(&self, i: usize) -> f64 {
        match self {
            Chain::Bits(b) => f64::from(b[i]),
            Chain::Primes(p) => (p[i] as f64).log2(),
        }
    }
}

/// The chain of `field_bits` / `field_primes`, with every entry's range checked: cheap checks
/// only (no primality test, no search), linear in the entries.
fn check_chain<'a>(
    (field_bits, field_primes): (&str, &str),
    bits: &'a [u32],
    explicit: &'a [u64],
    log_n: u32,
) -> Result<Chain<'a>> {
    match (bits.is_empty(), explicit.is_empty()) {
        (false, false) => Err(invalid(
            field_bits,
            format!("give either `{field_bits}` or `{field_primes}`, not both"),
        )),
        (true, true) => Err(invalid(
            field_bits,
            format!("needs at least one prime (`{field_bits}` or `{field_primes}`)"),
        )),
        (false, true) => {
            if let Some((i, &b)) = bits
                .iter()
                .enumerate()
                .find(|&(_, &b)| b < log_n + 2 || b > 61)
            {
                return Err(invalid(
                    &format!("{field_bits}[{i}]"),
                    format!(
                        "{b} bits is outside [{}, 61] for log_n = {log_n}",
                        log_n + 2
                    ),
                ));
            }
            Ok(Chain::Bits(bits))
        }
        (true, false) => {
            let order = 2u64 << log_n;
            if let Some((i, &p)) = explicit
                .iter()
                .enumerate()
                .find(|&(_, &p)| p >> 61 != 0 || p % order != 1)
            {
                return Err(not_ntt_prime(field_primes, i, p, order));
            }
            Ok(Chain::Primes(explicit))
        }
    }
}

fn not_ntt_prime(field_primes: &str, i: usize, p: u64, order: u64) -> Error {
    invalid(
        &format!("{field_primes}[{i}]"),
        format!("{p} must be a prime below 2^61 congruent to 1 mod 2N = {order}"),
    )
}

/// The primes of a checked chain: explicit ones tested for primality and distinctness, bit
/// sizes searched (largest first below `2^bits`, skipping primes already `taken`), one search
/// per distinct size, so the cost is linear in the candidates scanned.
fn resolve_chain(
    field_primes: &str,
    chain: Chain<'_>,
    log_n: u32,
    taken: &mut Vec<u64>,
) -> Result<Vec<u64>> {
    match chain {
        Chain::Bits(bits) => {
            // The k-th request of size b gets the k-th largest free prime of b bits: the same
            // primes as searching each entry from the top in turn.
            let mut sizes: Vec<(u32, usize)> = Vec::new();
            for &b in bits {
                match sizes.iter_mut().find(|(s, _)| *s == b) {
                    Some((_, count)) => *count += 1,
                    None => sizes.push((b, 1)),
                }
            }
            let mut found: Vec<(u32, std::vec::IntoIter<u64>)> = Vec::with_capacity(sizes.len());
            for &(b, count) in &sizes {
                found.push((b, ntt_primes(b, log_n, count, taken)?.into_iter()));
            }
            let mut out = Vec::with_capacity(bits.len());
            for &b in bits {
                let (_, primes) = found
                    .iter_mut()
                    .find(|(s, _)| *s == b)
                    .expect("every size was searched");
                let p = primes.next().expect("the search found `count` primes");
                taken.push(p);
                out.push(p);
            }
            Ok(out)
        }
        Chain::Primes(explicit) => {
            let order = 2u64 << log_n;
            for (i, &p) in explicit.iter().enumerate() {
                if !is_prime(p) {
                    return Err(not_ntt_prime(field_primes, i, p, order));
                }
                if taken.contains(&p) {
                    return Err(invalid(
                        &format!("{field_primes}[{i}]"),
                        format!("{p} appears twice"),
                    ));
                }
                taken.push(p);
            }
            Ok(explicit.to_vec())
        }
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
mod tests {
    use super::*;

    #[test]
    fn presets_build_and_are_secure() {
        for name in PRESET_NAMES {
            if INSECURE_PRESET_NAMES.contains(&name) {
                let err = Parameters::preset(name).unwrap_err();
                assert!(matches!(err, Error::InsecureSparse { .. }), "{name}: {err}");
                let mut lit = preset(name).unwrap();
                lit.allow_insecure = true;
                assert_eq!(lit.build().unwrap().security_bits(), None, "{name}");
                continue;
            }
            let p = Parameters::preset(name).unwrap();
            let bound = match p.hamming_weight() {
                None => he_standard_bound(p.log_n(), 128).unwrap(),
                Some(h) => sparse_secret_bound(p.log_n(), h).unwrap(),
            } as f64;
            assert!(p.log_pq() <= bound, "{name}: {} > {bound}", p.log_pq());
            assert_eq!(p.security_bits(), Some(128), "{name}");
            let again = p.literal().build().unwrap();
            assert_eq!(again, p);
        }
        let b = Parameters::preset("n16-boot").unwrap();
        assert_eq!(
            (b.max_level(), b.dnum(), b.hamming_weight()),
            (24, 7, Some(192))
        );
        assert!((1545.0..1547.0).contains(&b.log_pq()), "{}", b.log_pq());
        // key-switching digits are at most P (within 2^-20: the EvalMod primes were searched
        // first, so 4 of them exceed the 4 special primes by a hair), so the key-switching
        // noise, multiplied by Q_j / P, is not amplified
        let p_bits: f64 = b.p_moduli().iter().map(|m| (m.value() as f64).log2()).sum();
        for digit in b.q_moduli(b.max_level()).chunks(b.digit_size()) {
            let bits: f64 = digit.iter().map(|m| (m.value() as f64).log2()).sum();
            assert!(bits < p_bits + 1e-6, "digit of {bits} bits > P of {p_bits}");
        }
        let s = Parameters::preset("spencnn-n14").unwrap();
        assert_eq!(s.max_level(), 12);
        assert_eq!(s.q_tables()[0].modulus().bits(), 33);
        assert!(s.q_tables()[1..].iter().all(|t| t.modulus().bits() == 31));
        assert_eq!(s.p_tables()[0].modulus().bits(), 33);
    }

    #[test]
    fn insecure_needs_opt_in() {
        let mut lit = preset("test-n13").unwrap();
        lit.log_q.push(40); // 240 bits > 218
        let err = lit.build().unwrap_err();
        assert!(matches!(err, Error::Insecure { bound: 218, .. }), "{err}");
        assert!(err.to_string().contains("allow_insecure"));
        lit.allow_insecure = true;
        let p = lit.build().unwrap();
        assert_eq!(p.security_bits(), None);
    }

    #[test]
    fn field_errors_name_the_field() {
        let base = preset("test-n13").unwrap();
        let cases: Vec<(ParametersLiteral, &str)> = vec![
            (
                ParametersLiteral {
                    log_n: 20,
                    ..base.clone()
                },
                "log_n",
            ),
            (
                ParametersLiteral {
                    dnum: 0,
                    ..base.clone()
                },
                "dnum",
            ),
            (
                ParametersLiteral {
                    dnum: 9,
                    ..base.clone()
                },
                "dnum",
            ),
            (
                ParametersLiteral {
                    log_scale: 0,
                    ..base.clone()
                },
                "log_scale",
            ),
            (
                ParametersLiteral {
                    log_q: vec![45, 62],
                    ..base.clone()
                },
                "log_q[1]",
            ),
            (
                ParametersLiteral {
                    q: vec![17],
                    ..base.clone()
                },
                "log_q",
            ),
            (
                ParametersLiteral {
                    log_q: vec![],
                    q: vec![97],
                    ..base.clone()
                },
                "q[0]",
            ),
            (
                ParametersLiteral {
                    log_p: vec![],
                    ..base.clone()
                },
                "log_p",
            ),
        ];
        for (lit, field) in cases {
            let err = lit.build().unwrap_err();
            assert!(
                matches!(&err, Error::InvalidParameter { field: f, .. } if f == field),
                "expected field {field}, got {err}"
            );
        }
    }

    #[test]
    fn json_round_trip_and_malformed_input() {
        let p = Parameters::preset("test-n13").unwrap();
        let text = serde_json::to_string(&p).unwrap();
        let back: Parameters = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
        let err = ParametersLiteral::from_json(r#"{"log_n": 13, "log_q": [40], "log_p": [40], "log_scale": 30, "dnum": 1, "colour": 1}"#)
            .unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = ParametersLiteral::from_json(r#"{"log_n": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("log_n"), "{err}");
        let toml_text = "log_n = 13\nlog_q = [45, 35]\nlog_p = [50]\nlog_scale = 35\ndnum = 2\n";
        let lit = ParametersLiteral::from_toml(toml_text).unwrap();
        assert_eq!(lit.build().unwrap().max_level(), 1);
        let err = ParametersLiteral::from_toml("log_n = 13\nlog_scael = 3\n").unwrap_err();
        assert!(err.to_string().contains("log_scael"), "{err}");
    }
}
