//! A network on an accelerator: model -> CKKS operation graph (per layer, levels tracked) ->
//! parameter set chosen to fit the depth -> ISA programs through [`crate::lowering`] -> timed
//! by the simulator on a hardware configuration.
//!
//! - Activations and pooling: [`ActivationChoice`] (`poly`, `relu-minimax:ALPHA`) and
//!   [`PoolChoice`] (`avg`, `maxpool-minimax:ALPHA`), `ALPHA` in `4..=14`, built into
//!   [`ReportOptions`] ([`report_options`]) for [`crate::pack::network_report_with`] (which documents their counts and
//!   level schedule).
//! - Parameters ([`select_parameters`]): `L` = the network's depth, primes of the
//!   `spencnn-n14` style (33-bit first and special primes, 31-bit others, scale `2^31`) capped
//!   at `word_bits - 2` bits so they fit the accelerator's words; the smallest `N` in
//!   `2^14 .. 2^16` and, for it, the smallest `dnum` (the least key traffic) whose
//!   `log2(PQ)` stays within the 128-bit HE-standard bound. Beyond `2^16` the network needs
//!   bootstrapping: the deep set is `N = 2^16` with a sparse secret (`h = 192`), the
//!   bootstrapping's own levels (CoeffToSlot, EvalMod, SlotToCoeff of the default
//!   configuration, primes of the widest size the words hold) above the network's `L`,
//!   `q_0` of that widest size too and the scale (and the network's primes) at most
//!   `q_0 / 2^8` (EvalMod's message ratio: a bootstrapping's input must fit it; `q_0` sits
//!   below its bit size, so the scale is one bit lower still: 36-bit words give `2^25`), `dnum = 3`, the largest `L` within the sparse-secret bound;
//!   layers are scheduled with
//!   refreshes (see [`simulate_network`]). `dnum` is then raised until a key switch at the
//!   top level fits the accelerator's scratchpad ([`fit_scratchpad`]).
//! - Bootstrapping ([`crate::bootsim`]): every refresh bootstraps each ciphertext of its
//!   layer's input, from level 0 through ModRaise to the top and down to `L`, costed by the
//!   simulated bootstrapping of the deep set on the configuration: it is part of every
//!   latency printed.
//! - Latency ([`OpCoster`]): every operation of a layer's profile is lowered at its level
//!   (`level_in - depth below the layer input`) and simulated alone with
//!   [`heaccel_sim::simulate`]; results are cached per `(kind, level)`. A group of `k`
//!   hoisted rotations costs `t(1) + (k - 1) (t(2) - t(1))` from the simulated one- and
//!   two-rotation programs (one decomposition, one more key per rotation; a `k`-key program
//!   would not fit a scratchpad), or `k t(1)` when even the two-rotation program does not fit
//!   the scratchpad. A layer's time is the sum of its operations' times: each
//!   operation reads its operands from off-chip memory, streams its keys and plaintexts and
//!   writes its result back, and operations do not overlap, so the figures are conservative
//!   (an upper estimate of a schedule that keeps values on chip and overlaps operations).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use heaccel_sim::{HwConfig, Program, Unit};
use heaccel_verification::automorphism::galois_element_for_rotation;
use heaccel_verification::bootstrap::BootstrapConfig;
use heaccel_verification::circuits::MinimaxActivation;
use heaccel_verification::ckks::ops::TracedOp;
use heaccel_verification::ckks::params::sparse_secret_bound;
use heaccel_verification::ckks::{Parameters, ParametersLiteral};
use heaccel_verification::minimax::CompositeSign;
use serde::Serialize;
use thiserror::Error;

use crate::lowering::{self, LowerError};
use crate::nn::Network;
use crate::pack::{
    network_report_with, OpCounts, PackError, Repack, ReportOptions, Strategy, TallyKind,
};

/// A network's whole dataflow, or why it does not compile into one program.
pub type FlowResult = std::result::Result<Arc<crate::stream::Dataflow>, String>;

/// A bootstrapping's plan (no keys) and its operations.
type BootstrapTrace = (
    Arc<heaccel_verification::bootstrap::Bootstrapper>,
    Arc<Vec<TracedOp>>,
);

/// Errors of network compilation and simulation.
#[derive(Debug, Error)]
pub enum NetsimError {
    /// A choice the user made (activation, pooling, parameters) is out of range.
    #[error("{field}: {problem}")]
    Choice {
        /// The option or field.
        field: &'static str,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// From packing.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// From the lowering.
    #[error(transparent)]
    Lower(#[from] LowerError),
    /// From the simulator.
    #[error(transparent)]
    Sim(#[from] heaccel_sim::SimError),
    /// From the reference model (parameters, minimax).
    #[error(transparent)]
    Ckks(#[from] heaccel_verification::Error),
    /// From the whole-program stream.
    #[error(transparent)]
    Stream(#[from] crate::stream::StreamError),
}

type Result<T> = std::result::Result<T, NetsimError>;

/// Precision range of the minimax approximations (the degree table's).
pub const ALPHA_RANGE: std::ops::RangeInclusive<u32> = 4..=14;

/// Parses `plain` (`Ok(None)`) or `{prefix}ALPHA` (`Ok(Some(alpha))`, alpha in
/// [`ALPHA_RANGE`]); anything else is an error naming `field` and both forms.
fn parse_choice(
    field: &'static str,
    noun: &str,
    plain: &str,
    prefix: &str,
    s: &str,
) -> Result<Option<u32>> {
    let forms = format!("{plain}, {prefix}ALPHA");
    if s == plain {
        return Ok(None);
    }
    let Some(rest) = s.strip_prefix(prefix) else {
        return Err(NetsimError::Choice {
            field,
            problem: format!("unknown {noun} `{s}` (allowed: {forms})"),
        });
    };
    match rest.parse::<u32>() {
        Ok(a) if ALPHA_RANGE.contains(&a) => Ok(Some(a)),
        _ => Err(NetsimError::Choice {
            field,
            problem: format!(
                "`{s}`: ALPHA must be an integer in {}..={} (allowed: {forms})",
                ALPHA_RANGE.start(),
                ALPHA_RANGE.end()
            ),
        }),
    }
}

/// How activation layers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationChoice {
    /// The network's polynomial activations (`a x^2 + b x + c`).
    Poly,
    /// Precise ReLU from the composite minimax sign of precision `alpha` (in `4..=14`).
    ReluMinimax(u32),
}

impl FromStr for ActivationChoice {
    type Err = NetsimError;
    /// `poly` or `relu-minimax:ALPHA`.
    fn from_str(s: &str) -> Result<Self> {
        Ok(
            match parse_choice("--activation", "activation", "poly", "relu-minimax:", s)? {
                None => ActivationChoice::Poly,
                Some(a) => ActivationChoice::ReluMinimax(a),
            },
        )
    }
}

impl fmt::Display for ActivationChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActivationChoice::Poly => write!(f, "poly"),
            ActivationChoice::ReluMinimax(a) => write!(f, "relu-minimax:{a}"),
        }
    }
}

/// How pooling layers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolChoice {
    /// As the network says (average pooling; max pooling is refused).
    Avg,
    /// Windows 2 and 3 as max-pooling from the composite minimax sign of precision `alpha`.
    MaxMinimax(u32),
}

impl FromStr for PoolChoice {
    type Err = NetsimError;
    /// `avg` or `maxpool-minimax:ALPHA`.
    fn from_str(s: &str) -> Result<Self> {
        Ok(
            match parse_choice("--pool", "pooling", "avg", "maxpool-minimax:", s)? {
                None => PoolChoice::Avg,
                Some(a) => PoolChoice::MaxMinimax(a),
            },
        )
    }
}

impl fmt::Display for PoolChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolChoice::Avg => write!(f, "avg"),
            PoolChoice::MaxMinimax(a) => write!(f, "maxpool-minimax:{a}"),
        }
    }
}

/// The [`ReportOptions`] of two choices (runs the minimax construction once per alpha), with
/// pooled maps repacked as `repack_pooled` says.
pub fn report_options(
    activation: ActivationChoice,
    pool: PoolChoice,
    repack_pooled: Repack,
) -> Result<ReportOptions> {
    let make = |alpha: u32| -> Result<MinimaxActivation> {
        Ok(MinimaxActivation::new(CompositeSign::for_alpha(
            alpha, None,
        )?)?)
    };
    let relu = match activation {
        ActivationChoice::Poly => None,
        ActivationChoice::ReluMinimax(a) => Some((a, make(a)?)),
    };
    let max_pool = match pool {
        PoolChoice::Avg => None,
        PoolChoice::MaxMinimax(a) => match &relu {
            Some((ra, act)) if *ra == a => Some((a, act.clone())),
            _ => Some((a, make(a)?)),
        },
    };
    Ok(ReportOptions {
        relu,
        max_pool,
        repack_pooled,
        ..ReportOptions::default()
    })
}

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

/// `choice` built, with the words of the top-level key switch's working set (scratchpad
/// slots times `N`).
fn build_with_key_switch_words(choice: &ParameterChoice) -> Result<(Parameters, u64)> {
    let params = choice.literal().build()?;
    let g = galois_element_for_rotation(1, params.log_n());
    let program = lowering::lower_automorphisms(&params, choice.top_level(), &[g])?;
    Ok((params, program.slots as u64 * program.n() as u64))
}

/// [`fit_scratchpad`] with `build` making each candidate's parameters and key-switch words.
fn fit_scratchpad_with(
    choice: ParameterChoice,
    config: &HwConfig,
    mut build: impl FnMut(&ParameterChoice) -> Result<(Parameters, u64)>,
) -> Result<(ParameterChoice, Parameters)> {
    let mut last = 0;
    for dnum in choice.dnum..=choice.top_level() + 1 {
        let c = with_dnum(&choice, dnum);
        if c.special_primes == last {
            continue; // same primes, same program size
        }
        last = c.special_primes;
        let (params, words) = build(&c)?;
        let need = words * config.word_bytes();
        if need <= config.scratchpad.bytes {
            return Ok((c, params));
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

/// A simulated program's microseconds and bounding unit.
type Timed = (f64, Unit);

/// The unused second entry of a non-rotation operation.
const NONE: Timed = (0.0, Unit::Memory);

/// Simulated time of single CKKS operations at given levels (see the module docs).
#[derive(Debug)]
pub struct OpCoster {
    params: Parameters,
    config: HwConfig,
    /// `(kind, level)` -> the time and bound of one operation and of two (rotations) or
    /// zero (others).
    cache: HashMap<(TallyKind, usize), (Timed, Timed)>,
}

impl OpCoster {
    /// A coster for `params` on `config`.
    pub fn new(params: Parameters, config: HwConfig) -> Self {
        OpCoster {
            params,
            config,
            cache: HashMap::new(),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &Parameters {
        &self.params
    }

    fn fits(&self, program: &Program) -> bool {
        program.slots as u64 * program.n() as u64 * self.config.word_bytes()
            <= self.config.scratchpad.bytes
    }

    fn time(&self, program: &Program) -> Result<(f64, Unit)> {
        let report = heaccel_sim::simulate(program, &self.config)?;
        Ok((report.time_us, report.bound))
    }

    /// Simulated microseconds of one `kind` operation whose operands are at `level`
    /// (`level <= L`; `>= 1` for a rescale).
    pub fn time_us(&mut self, kind: TallyKind, level: usize) -> Result<f64> {
        let ((t1, _), (t2, _)) = self.entry(kind, level)?;
        Ok(match kind {
            TallyKind::Rotations { count } => t1 + count.saturating_sub(1) as f64 * (t2 - t1),
            _ => t1,
        })
    }

    /// [`OpCoster::time_us`] split by the unit that bounds each simulated program: a
    /// rotation group's first rotation by the one-rotation program's bound, each further one
    /// (`t(2) - t(1)`) by the two-rotation program's.
    pub fn time_by_bound(&mut self, kind: TallyKind, level: usize) -> Result<Vec<(Unit, f64)>> {
        let ((t1, b1), (t2, b2)) = self.entry(kind, level)?;
        Ok(match kind {
            TallyKind::Rotations { count } if count > 1 => {
                vec![(b1, t1), (b2, (count - 1) as f64 * (t2 - t1))]
            }
            _ => vec![(b1, t1)],
        })
    }

    fn entry(&mut self, kind: TallyKind, level: usize) -> Result<(Timed, Timed)> {
        let key = match kind {
            TallyKind::Rotations { .. } => (TallyKind::Rotations { count: 1 }, level),
            k => (k, level),
        };
        Ok(match self.cache.get(&key) {
            Some(&t) => t,
            None => {
                let p = &self.params;
                let scale = p.default_scale();
                let t = match kind {
                    TallyKind::Rotations { .. } => {
                        let g1 = galois_element_for_rotation(1, p.log_n());
                        let g2 = galois_element_for_rotation(2, p.log_n());
                        let one = self.time(&lowering::lower_automorphisms(p, level, &[g1])?)?;
                        let two = lowering::lower_automorphisms(p, level, &[g1, g2])?;
                        if self.fits(&two) {
                            (one, self.time(&two)?)
                        } else {
                            // no room for two keys' accumulators: no hoisting benefit
                            (one, (2.0 * one.0, one.1))
                        }
                    }
                    TallyKind::PMult => (self.time(&lowering::lower_pmult(p, level)?)?, NONE),
                    TallyKind::AddPlain => {
                        (self.time(&lowering::lower_add_plain(p, level)?)?, NONE)
                    }
                    TallyKind::Add => (self.time(&lowering::lower_add(p, level)?)?, NONE),
                    TallyKind::MulRelin => {
                        (self.time(&lowering::lower_hmult_relin(p, level)?)?, NONE)
                    }
                    TallyKind::Rescale => (self.time(&lowering::lower_rescale(p, level)?)?, NONE),
                    TallyKind::AddConst => (
                        self.time(&lowering::lower_add_const(p, level, 1.0, scale)?)?,
                        NONE,
                    ),
                    TallyKind::MulConst => (
                        self.time(&lowering::lower_mul_const(p, level, 1.0, scale)?)?,
                        NONE,
                    ),
                };
                self.cache.insert(key, t);
                t
            }
        })
    }
}

/// One layer of a [`NetworkSim`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerSim {
    /// `#path kind 'name'` in the folded network.
    pub name: String,
    /// Layer kind.
    pub kind: &'static str,
    /// The activation or pooling approximation, if any.
    pub approximation: Option<String>,
    /// Ciphertexts in.
    pub ciphertexts: usize,
    /// Rotations.
    pub rotations: usize,
    /// Plaintext multiplications.
    pub pmults: usize,
    /// Ciphertext multiplications.
    pub hmults: usize,
    /// Ciphertext, plaintext and constant additions.
    pub additions: usize,
    /// Constant multiplications.
    pub const_mults: usize,
    /// Rescales.
    pub rescales: usize,
    /// Key switches (rotations + relinearizations).
    pub key_switches: usize,
    /// Levels this layer consumes.
    pub depth: usize,
    /// Level of the layer's input (after a refresh when `refreshed`).
    pub level_in: usize,
    /// Level of its output.
    pub level_out: usize,
    /// Whether a refresh (a bootstrapping of each input ciphertext) precedes this layer.
    pub refreshed: bool,
    /// Simulated time of that refresh, microseconds (`ciphertexts` bootstrappings; included
    /// in `time_us`), 0 without one.
    pub bootstrap_us: f64,
    /// Whether a pooling repacked its output into fewer ciphertexts (counted in this row).
    pub repacked: bool,
    /// Simulated time, microseconds.
    pub time_us: f64,
    /// `time_us` split by the unit that bounds each operation ([`OpCoster::time_by_bound`];
    /// the shares sum to `time_us` up to rounding), by unit name.
    pub time_by_bound: BTreeMap<&'static str, f64>,
}

/// Totals of a [`NetworkSim`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalSim {
    /// Rotations.
    pub rotations: usize,
    /// Plaintext multiplications.
    pub pmults: usize,
    /// Ciphertext multiplications.
    pub hmults: usize,
    /// Ciphertext, plaintext and constant additions.
    pub additions: usize,
    /// Constant multiplications.
    pub const_mults: usize,
    /// Rescales.
    pub rescales: usize,
    /// Key switches.
    pub key_switches: usize,
    /// The network's multiplicative depth (residual branches in parallel).
    pub depth: usize,
    /// Refreshes the schedule needs (each bootstraps every ciphertext of its layer's input).
    pub refreshes: usize,
    /// Ciphertext bootstrappings of all refreshes.
    pub bootstrappings: usize,
    /// Their simulated time, microseconds (included in `per_op_sum_us`).
    pub bootstrap_us: f64,
    /// Simulated latency, microseconds: the whole program's
    /// ([`NetworkSim::whole_program`]) when the network compiles into one, else
    /// `per_op_sum_us`.
    pub time_us: f64,
    /// The sum of the layers' times, each operation simulated alone (bootstrapping
    /// included), microseconds.
    pub per_op_sum_us: f64,
    /// Off-chip bytes of the whole program (`None` without one).
    pub offchip_bytes: Option<u64>,
    /// Its compulsory traffic: every key, plaintext and input limb read once and every
    /// output limb written once, bytes (`None` without a whole program).
    pub offchip_lower_bound_bytes: Option<u64>,
}

/// A network compiled and simulated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkSim {
    /// Network name.
    pub network: String,
    /// `dense` or `spencnn`.
    pub strategy: String,
    /// The activation choice.
    pub activation: String,
    /// The pooling choice.
    pub pool: String,
    /// Hardware configuration name.
    pub config: String,
    /// The parameters.
    pub params: ParameterChoice,
    /// Slots per ciphertext.
    pub slots: usize,
    /// One simulated bootstrapping of a ciphertext on the deep set (its stages at their real
    /// levels, [`crate::bootsim`]), when the schedule refreshes.
    pub bootstrap: Option<crate::bootsim::BootstrapCost>,
    /// Rows in execution order (each operation simulated alone).
    pub layers: Vec<LayerSim>,
    /// Sums.
    pub total: TotalSim,
    /// The network as one allocated instruction stream, timed as a whole
    /// ([`crate::stream`]), when it compiles into one program.
    pub whole_program: Option<crate::stream::WholeProgramSim>,
    /// Why there is no whole program (a layer the compiler counts but does not compile,
    /// e.g. minimax max-pooling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whole_program_unavailable: Option<String>,
}

fn strategy_name(s: &Strategy) -> &'static str {
    match s {
        Strategy::Dense => "dense",
        Strategy::Spencnn(_) => "spencnn",
    }
}

fn layer_sim(
    row: &crate::pack::LayerReport,
    level_in: usize,
    refreshed: bool,
    time_us: f64,
) -> LayerSim {
    let c: &OpCounts = &row.counts;
    LayerSim {
        name: row.location.clone(),
        kind: row.kind,
        approximation: row.approximation.clone(),
        ciphertexts: row.ciphertexts_in,
        rotations: c.rotations,
        pmults: c.pmults,
        hmults: c.hmults,
        additions: c.adds + c.plain_adds,
        const_mults: c.const_mults,
        rescales: c.rescales,
        key_switches: c.key_switches,
        depth: c.depth,
        level_in,
        level_out: level_in - c.depth,
        refreshed,
        bootstrap_us: 0.0,
        repacked: row.repacked,
        time_us,
        time_by_bound: BTreeMap::new(),
    }
}

/// A network compiled for accelerators with `word_bits`-bit words: its packing report and its
/// parameter choice (before [`fit_scratchpad`]), which depend on the words only; shared by
/// every configuration with those words ([`simulate_compiled`]).
/// The parameters are built once per `dnum` the configurations' scratchpads ask for (the
/// prime search and NTT tables dominate a configuration's simulation otherwise).
#[derive(Debug, Clone)]
pub struct CompiledNetwork {
    /// What was compiled: the network, the strategy and the nonlinear options.
    source: Arc<(Network, Strategy, ReportOptions)>,
    /// `dnum` -> the whole network's dataflow, or why it does not compile into one program.
    flows: Arc<Mutex<HashMap<usize, FlowResult>>>,
    names: (ActivationChoice, PoolChoice),
    word_bits: u32,
    report: crate::pack::NetworkReport,
    params: ParameterChoice,
    /// `dnum` -> the built parameters and the key-switch words.
    built: Arc<Mutex<HashMap<usize, (Parameters, u64)>>>,
    /// `dnum` -> the plan and operations of one bootstrapping (deep sets only).
    traces: Arc<Mutex<HashMap<usize, BootstrapTrace>>>,
}

impl CompiledNetwork {
    /// The word size it was compiled for.
    pub fn word_bits(&self) -> u32 {
        self.word_bits
    }

    /// The parameter choice before the scratchpad fit.
    pub fn params(&self) -> &ParameterChoice {
        &self.params
    }

    /// The parameters fitted to `config`'s scratchpad ([`fit_scratchpad`]), built once per
    /// `dnum`. Errors: `config`'s words differ from the compiled ones, parameters.
    pub fn fitted(&self, config: &HwConfig) -> Result<(ParameterChoice, Parameters)> {
        if config.word_bits != self.word_bits {
            return Err(NetsimError::Choice {
                field: "word_bits",
                problem: format!(
                    "`{}` has {}-bit words; the network was compiled for {}",
                    config.name, config.word_bits, self.word_bits
                ),
            });
        }
        fit_scratchpad_with(self.params.clone(), config, |c| {
            cached(&self.built, c.dnum, || build_with_key_switch_words(c))
        })
    }

    /// The whole network's dataflow on `config` ([`crate::stream`]): the fitted parameters,
    /// built, and the dataflow under them, or why the network does not compile into one
    /// program.
    pub fn fitted_dataflow(
        &self,
        config: &HwConfig,
    ) -> Result<(ParameterChoice, Parameters, FlowResult)> {
        let (params, built) = self.fitted(config)?;
        let flow = self.dataflow(&params, &built)?;
        Ok((params, built, flow))
    }

    /// The dataflow of the whole network under `built` (the fitted `params`), traced once per
    /// `dnum`: `Err` with the reason when the network does not compile into one program.
    fn dataflow(&self, params: &ParameterChoice, built: &Parameters) -> Result<FlowResult> {
        cached(&self.flows, params.dnum, || {
            self.trace_dataflow(params, built)
        })
    }

    /// [`CompiledNetwork::dataflow`], uncached.
    fn trace_dataflow(&self, params: &ParameterChoice, built: &Parameters) -> Result<FlowResult> {
        let (network, strategy, nonlinear) = &*self.source;
        let options = ReportOptions {
            bootstrap_levels: params.needs_bootstrapping.then_some(params.levels),
            relu_bounds: Vec::new(),
            ..nonlinear.clone()
        };
        let compiled =
            match crate::pack::compile_he_structure(network, strategy, params.slots(), &options) {
                Ok(compiled) => compiled,
                Err(e) => return Ok(Err(e.to_string())),
            };
        let plan = if params.needs_bootstrapping {
            let log_slots = params.slots().trailing_zeros();
            Some(self.bootstrap_trace(built, params.dnum, log_slots)?.0)
        } else {
            None
        };
        let expansions = crate::stream::Expansions {
            relu: options.relu.as_ref().map(|(_, act)| act),
            bootstrapper: plan.as_deref(),
        };
        let flow =
            crate::stream::trace_program(built, &compiled.program, params.levels, expansions)?;
        Ok(Ok(Arc::new(flow)))
    }

    /// The operations of one bootstrapping of `2^log_slots` slots under `built` (the deep set
    /// with `dnum` digits), traced once per `dnum` and shared by every configuration.
    fn bootstrap_trace(
        &self,
        built: &Parameters,
        dnum: usize,
        log_slots: u32,
    ) -> Result<BootstrapTrace> {
        cached(&self.traces, dnum, || {
            let (plan, trace) = crate::bootsim::bootstrap_trace(built, None, log_slots)?;
            Ok((Arc::new(plan), Arc::new(trace)))
        })
    }
}

/// `map[key]`, made by `make` the first time (under the lock, so it is made once).
fn cached<V: Clone>(
    map: &Mutex<HashMap<usize, V>>,
    key: usize,
    make: impl FnOnce() -> Result<V>,
) -> Result<V> {
    // a poisoned lock only means another thread panicked; the map is still valid
    let mut cache = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(hit) = cache.get(&key) {
        return Ok(hit.clone());
    }
    let made = make()?;
    cache.insert(key, made.clone());
    Ok(made)
}

/// Compiles `network` with `strategy` and `nonlinear` (named `activation`, `pool` in the
/// result) and chooses its parameters for `word_bits`-bit words. Errors: packing (naming the
/// layer), parameters.
pub fn compile_network(
    network: &Network,
    strategy: &Strategy,
    nonlinear: &ReportOptions,
    names: (ActivationChoice, PoolChoice),
    word_bits: u32,
) -> Result<CompiledNetwork> {
    let first_slots = 1 << 13;
    let mut report = network_report_with(network, strategy, first_slots, nonlinear)?;
    let params = select_parameters(report.total.depth, word_bits)?;
    if params.slots() != first_slots {
        report = network_report_with(network, strategy, params.slots(), nonlinear)?;
    }
    Ok(CompiledNetwork {
        source: Arc::new((network.clone(), *strategy, nonlinear.clone())),
        flows: Arc::default(),
        names,
        word_bits,
        report,
        params,
        built: Arc::default(),
        traces: Arc::default(),
    })
}

/// Compiles `network` with `strategy` and `nonlinear` (named `activation`, `pool` in the
/// result), chooses its parameters for `config`'s words and simulates every layer
/// ([`compile_network`], then [`simulate_compiled`]).
pub fn simulate_network(
    network: &Network,
    strategy: &Strategy,
    nonlinear: &ReportOptions,
    names: (ActivationChoice, PoolChoice),
    config: &HwConfig,
) -> Result<NetworkSim> {
    let compiled = compile_network(network, strategy, nonlinear, names, config.word_bits)?;
    simulate_compiled(&compiled, config)
}

/// Fits a compiled network's parameters to `config`'s scratchpad and simulates every layer.
///
/// Levels: the network input starts at level `L`; a layer starts at `L` minus the depth
/// consumed before it on its path. When bootstrapping is needed, layers are placed greedily
/// in execution order: a refresh (each input ciphertext bootstrapped back to level `L`, its
/// simulated time counted in the layer's) precedes a layer that would end below level 0; a layer that starts before the last
/// refresh (a residual shortcut) is costed at level `L` (conservative). Errors: `config`'s
/// words differ from the compiled ones, parameters, a layer deeper than `L`.
pub fn simulate_compiled(compiled: &CompiledNetwork, config: &HwConfig) -> Result<NetworkSim> {
    let report = &compiled.report;
    let (params, built) = compiled.fitted(config)?;
    let bootstrap = if params.needs_bootstrapping {
        let log_slots = params.slots().trailing_zeros();
        let (_, trace) = compiled.bootstrap_trace(&built, params.dnum, log_slots)?;
        let cost = crate::bootsim::BootstrapCost::of(&built, config, &trace)?;
        if cost.level_after != params.levels {
            return Err(NetsimError::Choice {
                field: "params",
                problem: format!(
                    "bootstrapping lands on level {}, the network starts at {}",
                    cost.level_after, params.levels
                ),
            });
        }
        Some(cost)
    } else {
        None
    };
    let (whole_program, whole_program_unavailable) = match compiled.dataflow(&params, &built)? {
        Ok(flow) => (
            Some(crate::stream::simulate_dataflow(
                &built,
                &flow,
                config,
                &crate::stream::StreamOptions::default(),
            )?),
            None,
        ),
        Err(reason) => (None, Some(reason)),
    };
    let mut coster = OpCoster::new(built, config.clone());
    let top = params.levels;
    let mut last_refresh = 0;
    let mut refreshes = 0;
    let mut layers = Vec::with_capacity(report.layers.len());
    for row in &report.layers {
        let d = row.counts.depth;
        if d > top {
            return Err(NetsimError::Choice {
                field: "params",
                problem: format!(
                    "layer {} needs {d} levels; the parameter set has {top}",
                    row.location
                ),
            });
        }
        let mut refreshed = false;
        let level_in = if row.start_depth < last_refresh {
            top
        } else if row.start_depth - last_refresh + d > top {
            last_refresh = row.start_depth;
            refreshes += 1;
            refreshed = true;
            top
        } else {
            top - (row.start_depth - last_refresh)
        };
        let mut time = 0.0;
        let mut by_bound = BTreeMap::new();
        for t in &row.profile {
            time += t.count as f64 * coster.time_us(t.kind, level_in - t.depth)?;
            for (unit, us) in coster.time_by_bound(t.kind, level_in - t.depth)? {
                *by_bound.entry(unit.name()).or_insert(0.0) += t.count as f64 * us;
            }
        }
        let mut boot_us = 0.0;
        if refreshed {
            let b = bootstrap
                .as_ref()
                .expect("refreshes only on the deep set, which has a bootstrapping");
            boot_us = row.ciphertexts_in as f64 * b.time_us;
            for (unit, us) in &b.time_by_bound {
                *by_bound.entry(*unit).or_insert(0.0) += row.ciphertexts_in as f64 * us;
            }
        }
        let mut layer = layer_sim(row, level_in, refreshed, time + boot_us);
        layer.bootstrap_us = boot_us;
        layer.time_by_bound = by_bound;
        layers.push(layer);
    }
    let sum = |f: fn(&LayerSim) -> usize| layers.iter().map(f).sum::<usize>();
    let per_op_sum_us: f64 = layers.iter().map(|l| l.time_us).sum();
    let whole = whole_program.as_ref();
    let total = TotalSim {
        rotations: sum(|l| l.rotations),
        pmults: sum(|l| l.pmults),
        hmults: sum(|l| l.hmults),
        additions: sum(|l| l.additions),
        const_mults: sum(|l| l.const_mults),
        rescales: sum(|l| l.rescales),
        key_switches: sum(|l| l.key_switches),
        depth: report.total.depth,
        refreshes,
        bootstrappings: whole.map_or_else(
            || {
                layers
                    .iter()
                    .filter(|l| l.refreshed)
                    .map(|l| l.ciphertexts)
                    .sum()
            },
            |w| w.bootstrappings,
        ),
        bootstrap_us: layers.iter().map(|l| l.bootstrap_us).sum(),
        time_us: whole.map_or(per_op_sum_us, |w| w.time_us),
        per_op_sum_us,
        offchip_bytes: whole.map(|w| w.offchip_bytes),
        offchip_lower_bound_bytes: whole.map(|w| w.offchip_lower_bound_bytes),
    };
    Ok(NetworkSim {
        network: compiled.source.0.name.clone(),
        strategy: strategy_name(&compiled.source.1).into(),
        activation: compiled.names.0.to_string(),
        pool: compiled.names.1.to_string(),
        config: config.name.clone(),
        slots: params.slots(),
        params,
        bootstrap,
        layers,
        total,
        whole_program,
        whole_program_unavailable,
    })
}

/// Poolings of `network` (all depths, execution order).
fn pool_count(network: &Network) -> usize {
    let mut n = 0;
    network.visit_layers(|_, l| {
        if matches!(l, crate::nn::Layer::Pool(_)) {
            n += 1;
        }
    });
    n
}

/// [`simulate_network`] for every choice of repacked poolings (each subset for up to 4
/// poolings, else all or none), keeping the fastest (ties: the fewer repacks, by mask
/// order): repacking saves ciphertexts downstream but adds a level to everything upstream.
pub fn simulate_network_best_repack(
    network: &Network,
    strategy: &Strategy,
    options: &ReportOptions,
    names: (ActivationChoice, PoolChoice),
    config: &HwConfig,
) -> Result<NetworkSim> {
    let choices = compile_repack_choices(network, strategy, options, names, config.word_bits)?;
    simulate_fastest(&choices, config)
}

/// [`compile_network`] for every choice of repacked poolings of
/// [`simulate_network_best_repack`], in its order.
pub fn compile_repack_choices(
    network: &Network,
    strategy: &Strategy,
    options: &ReportOptions,
    names: (ActivationChoice, PoolChoice),
    word_bits: u32,
) -> Result<Vec<CompiledNetwork>> {
    let pools = pool_count(network);
    let choices: Vec<Repack> = if pools <= 4 {
        (0..1u64 << pools).map(Repack::Mask).collect()
    } else {
        vec![Repack::Never, Repack::Always]
    };
    choices
        .into_iter()
        .map(|repack| {
            let opts = ReportOptions {
                repack_pooled: repack,
                ..options.clone()
            };
            compile_network(network, strategy, &opts, names, word_bits)
        })
        .collect()
}

/// The fastest of `choices` simulated on `config` (ties: the first). Errors: the first
/// choice that fails, or no choices.
pub fn simulate_fastest(choices: &[CompiledNetwork], config: &HwConfig) -> Result<NetworkSim> {
    let mut best: Option<NetworkSim> = None;
    for compiled in choices {
        let sim = simulate_compiled(compiled, config)?;
        if best
            .as_ref()
            .is_none_or(|b| sim.total.time_us < b.total.time_us)
        {
            best = Some(sim);
        }
    }
    best.ok_or(NetsimError::Choice {
        field: "repack",
        problem: "no repacking choice to simulate".into(),
    })
}
