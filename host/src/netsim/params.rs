//! Parameter selection: the CKKS set a network's depth needs on given words (the deep,
//! bootstrapped set beyond `N = 2^16`), and `dnum` raised until a key switch fits the
//! scratchpad.

use heaccel_sim::HwConfig;
use heaccel_verification::automorphism::galois_element_for_rotation;
use heaccel_verification::bootstrap::BootstrapConfig;
use heaccel_verification::ckks::params::sparse_secret_bound;
use heaccel_verification::ckks::{Parameters, ParametersLiteral};
use serde::Serialize;

use super::{NetsimError, Result};
use crate::lowering;

/// A CKKS parameter set chosen for a network (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParameterChoice {
    /// `log2(N)`, in `14..=16`.
    pub log_n: u32,
    /// Levels `L` the network computes in (`L + 1` primes in `Q` below the bootstrapping's):
    /// a fresh or bootstrapped ciphertext starts at level `L`.
    pub levels: usize,
    /// Levels above `L` that only bootstrapping consumes (ModRaise lifts to `L +
    /// bootstrap_levels`, SlotToCoeff lands on `L`); 0 without bootstrapping.
    pub bootstrap_levels: usize,
    /// Bits of each bootstrapping prime.
    pub bootstrap_bits: u32,
    /// Hamming weight of the sparse secret bootstrapping needs (`None`: uniform ternary).
    pub hamming_weight: Option<usize>,
    /// Key-switching digits, in `[1, L + 1]`.
    pub dnum: usize,
    /// Special primes `K = ceil((L + bootstrap_levels + 1) / dnum)`.
    pub special_primes: usize,
    /// Bits of `q_0`.
    pub first_bits: u32,
    /// Bits of `q_1 .. q_L` (and `log2` of the scale).
    pub bits: u32,
    /// Bits of each special prime.
    pub special_bits: u32,
    /// `log2(PQ)` by the bit sizes (the primes sit just below them).
    pub log_pq: u32,
    /// The 128-bit bound on `log2(PQ)` at this `N` (the HE standard's for a uniform ternary
    /// secret, the sparse-secret estimate for `hamming_weight`).
    pub bound: u32,
    /// The depth asked for; above `levels` when bootstrapping is needed.
    pub depth: usize,
    /// Whether the depth does not fit any `N <= 2^16` (the deep set, with refreshes).
    pub needs_bootstrapping: bool,
}

impl ParameterChoice {
    /// Slots per ciphertext, `N / 2`.
    pub fn slots(&self) -> usize {
        1 << (self.log_n - 1)
    }

    /// The top level `L + bootstrap_levels`.
    pub fn top_level(&self) -> usize {
        self.levels + self.bootstrap_levels
    }

    /// The literal the reference model builds: `q_0`, the network's `L` primes, then the
    /// bootstrapping's.
    pub fn literal(&self) -> ParametersLiteral {
        let mut log_q = vec![self.bits; self.levels + 1];
        log_q[0] = self.first_bits;
        log_q.extend(std::iter::repeat_n(
            self.bootstrap_bits,
            self.bootstrap_levels,
        ));
        ParametersLiteral {
            log_n: self.log_n,
            log_q,
            q: vec![],
            log_p: vec![self.special_bits; self.special_primes],
            p: vec![],
            log_scale: self.bits,
            dnum: self.dnum,
            hamming_weight: self.hamming_weight,
            allow_insecure: false,
        }
    }
}

/// The 128-bit HE-standard bound on `log2(PQ)` for `log2 N` in `13..=17`.
fn bound(log_n: u32) -> u32 {
    match log_n {
        13 => 218,
        14 => 438,
        15 => 881,
        16 => 1747,
        _ => 3523,
    }
}

/// Chooses the parameters for a network of multiplicative `depth` on an accelerator with
/// `word_bits`-bit words (see the module docs). Errors when the words are too narrow for
/// NTT-friendly primes at `N = 2^16` (`word_bits - 2 < 18`).
pub fn select_parameters(depth: usize, word_bits: u32) -> Result<ParameterChoice> {
    let cap = word_bits.saturating_sub(2);
    if cap < 18 {
        return Err(NetsimError::Choice {
            field: "word_bits",
            problem: format!(
                "{word_bits}-bit words leave {cap}-bit primes; at least 20-bit words are needed"
            ),
        });
    }
    let (first_bits, bits, special_bits) = (cap.min(33), cap.min(31), cap.min(33));
    let levels = depth.max(1);
    let choice = |log_n: u32, levels: usize, dnum: usize| {
        let special_primes = (levels + 1).div_ceil(dnum);
        let log_pq = first_bits + bits * levels as u32 + special_bits * special_primes as u32;
        ParameterChoice {
            log_n,
            levels,
            bootstrap_levels: 0,
            bootstrap_bits: 0,
            hamming_weight: None,
            dnum,
            special_primes,
            first_bits,
            bits,
            special_bits,
            log_pq,
            bound: bound(log_n),
            depth,
            needs_bootstrapping: false,
        }
    };
    for log_n in 14..=16 {
        if let Some(c) = (1..=levels + 1)
            .map(|dnum| choice(log_n, levels, dnum))
            .find(|c| c.log_pq <= c.bound)
        {
            return Ok(c);
        }
    }
    // The deep set: N = 2^16 with the sparse secret bootstrapping needs, its levels (of the
    // widest primes the words hold) above the network's, the most network levels in the
    // sparse-secret bound.
    let boot = BootstrapConfig::default_for_secret(1 << 16, Some(BOOTSTRAP_HAMMING_WEIGHT), 15)?;
    let bootstrap_levels = boot.depth()?;
    let bootstrap_bits = cap.min(61);
    // EvalMod needs q_0 / scale >= 2^log_message_ratio: q_0 of the widest size the words
    // hold (a prime just below 2^bits), the scale (and the network's primes) one bit more
    // than that ratio below it
    let deep_first_bits = cap.min(61);
    let deep_bits = bits.min(deep_first_bits.saturating_sub(boot.evalmod.log_message_ratio + 1));
    if deep_bits < 20 {
        return Err(NetsimError::Choice {
            field: "word_bits",
            problem: format!(
                "{word_bits}-bit words leave a {deep_bits}-bit scale below bootstrapping's                  2^{} message ratio; at least 20 bits are needed",
                boot.evalmod.log_message_ratio
            ),
        });
    }
    let bound = sparse_secret_bound(16, BOOTSTRAP_HAMMING_WEIGHT).expect("a published bound");
    // narrow scales have few NTT-friendly primes at N = 2^16 (25 bits: 18 of them)
    let available = match heaccel_verification::arith::ntt_primes(deep_bits, 16, levels, &[]) {
        Ok(primes) => primes.len(),
        Err(heaccel_verification::Error::NotEnoughPrimes { found, .. }) => found,
        Err(e) => return Err(e.into()),
    };
    if available < 2 {
        return Err(NetsimError::Choice {
            field: "word_bits",
            problem: format!(
                "{word_bits}-bit words: bootstrapping needs q_0 >= scale * 2^{} with q_0 of at \
                 most {deep_first_bits} bits, so a {deep_bits}-bit scale, and N = 2^16 has \
                 {available} NTT-friendly primes of {deep_bits} bits for the network's levels (a \
                 base modulus of several primes, as narrow-word designs use, is not modelled)",
                boot.evalmod.log_message_ratio + 1
            ),
        });
    }
    let deep = (1..=levels.min(available))
        .rev()
        .map(|l| {
            with_dnum(
                &ParameterChoice {
                    bootstrap_levels,
                    bootstrap_bits,
                    hamming_weight: Some(BOOTSTRAP_HAMMING_WEIGHT),
                    bound,
                    needs_bootstrapping: true,
                    first_bits: deep_first_bits,
                    bits: deep_bits,
                    ..choice(16, l, 3)
                },
                3,
            )
        })
        .find(|c| c.log_pq <= c.bound)
        .ok_or_else(|| NetsimError::Choice {
            field: "word_bits",
            problem: format!(
                "no network level fits N = 2^16 beside the {bootstrap_levels} bootstrapping levels \
                 within the {bound}-bit bound"
            ),
        })?;
    Ok(deep)
}

/// Hamming weight of the sparse secret of the deep (bootstrapped) set: Lattigo's default and
/// `n16-boot`'s, with the 128-bit estimate of [`sparse_secret_bound`].
pub const BOOTSTRAP_HAMMING_WEIGHT: usize = 192;

/// `choice` with `dnum` digits (fewer special primes, a smaller `log2(PQ)`).
fn with_dnum(choice: &ParameterChoice, dnum: usize) -> ParameterChoice {
    let special_primes = (choice.top_level() + 1).div_ceil(dnum);
    ParameterChoice {
        dnum,
        special_primes,
        log_pq: choice.first_bits
            + choice.bits * choice.levels as u32
            + choice.bootstrap_bits * choice.bootstrap_levels as u32
            + choice.special_bits * special_primes as u32,
        ..choice.clone()
    }
}

/// Raises `dnum` from `choice`'s until a key switch at the top level (a rotation, the
/// largest lowered program) fits `config`'s scratchpad; returns the choice and its built
/// parameters. Errors when none does.
pub fn fit_scratchpad(
    choice: ParameterChoice,
    config: &HwConfig,
) -> Result<(ParameterChoice, Parameters)> {
    fit_scratchpad_with(choice, config, build_with_key_switch_words)
}

/// A candidate parameter set built, with the size of its top-level key switch.
#[derive(Debug, Clone)]
pub(super) struct BuiltParameters {
    /// The built parameters.
    pub(super) params: Parameters,
    /// Words of the top-level key switch's working set (scratchpad slots times `N`).
    pub(super) key_switch_words: u64,
}

/// `choice` built, with the words of the top-level key switch's working set.
pub(super) fn build_with_key_switch_words(choice: &ParameterChoice) -> Result<BuiltParameters> {
    let params = choice.literal().build()?;
    let g = galois_element_for_rotation(1, params.log_n());
    let program = lowering::lower_automorphisms(&params, choice.top_level(), &[g])?;
    Ok(BuiltParameters {
        key_switch_words: program.slots as u64 * program.n() as u64,
        params,
    })
}

/// [`fit_scratchpad`] with `build` making each candidate's parameters and key-switch words.
pub(super) fn fit_scratchpad_with(
    choice: ParameterChoice,
    config: &HwConfig,
    mut build: impl FnMut(&ParameterChoice) -> Result<BuiltParameters>,
) -> Result<(ParameterChoice, Parameters)> {
    let mut last = 0;
    for dnum in choice.dnum..=choice.top_level() + 1 {
        let c = with_dnum(&choice, dnum);
        if c.special_primes == last {
            continue; // same primes, same program size
        }
        last = c.special_primes;
        let built = build(&c)?;
        let need = built.key_switch_words * config.word_bytes();
        if need <= config.scratchpad.bytes {
            return Ok((c, built.params));
        }
    }
    Err(NetsimError::Choice {
        field: "scratchpad.bytes",
        problem: format!(
            "a key switch at N = 2^{}, level {} does not fit the {} bytes of `{}` for any dnum",
            choice.log_n,
            choice.top_level(),
            config.scratchpad.bytes,
            config.name
        ),
    })
}
