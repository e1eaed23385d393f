//! CKKS bootstrapping: ModRaise, CoeffToSlot, EvalMod, SlotToCoeff (Cheon-Han-Kim-Kim-Song
//! 2018, with the level-collapsed FFT of Chen-Chillotti-Song 2019 and the scale management of
//! Bossuat et al. 2021), for full (`N/2`) and sparse packing.
//!
//! The pipeline on a level-0 ciphertext of `n` slots at scale `Delta` (`q_0 / Delta` at least
//! the message ratio `2^log_message_ratio`; a smaller scale is raised by an integer factor):
//! 1. **ModRaise** to level `L`: it now decrypts to `t = m + q_0 I`; read at scale `q_0`.
//! 2. **SubSum** (sparse only): the trace onto `R[X^(N/2n)]`, which multiplies by `N/2n`.
//! 3. **CoeffToSlot**: `budget` merged stages of the inverse special FFT (the constant
//!    `1 / (2 K gap)` folded into the first), so the slots hold `BR w / (2K)`; then the
//!    conjugation trick: `Re = v + conj v` and `Im = -i (v - conj v)` in two ciphertexts (full
//!    packing), or, for sparse packing, one ciphertext of `2n` slots `[Re, Im]` (the last
//!    factor writes `[A x, -i A x]`, one conjugation adds the halves).
//! 4. **EvalMod** on each: `x - round(x)` for `x = t / q_0` in `[-K, K]`, i.e. `m / q_0`, at a
//!    scale `S`; read at scale `S Delta / q_0` the slots decode to `m / Delta`.
//! 5. **SlotToCoeff**: the special FFT in `budget` merged stages, landing on the default scale
//!    at level `L - depth`, where `depth` = both budgets + EvalMod's depth.
//!
//! Only the Galois keys of the rotations the factorization uses are needed
//! ([`Bootstrapper::galois_elements`]).

pub mod dft;
pub mod evalmod;
pub mod linear;
pub mod modraise;

use std::time::Instant;

use num_complex::Complex64;
use serde::{Deserialize, Serialize};

use crate::automorphism::galois_element_conjugate;
use crate::ckks::{Ciphertext, CkksOps, Encoder, Evaluator, Parameters};
use crate::error::{Error, KeyKind, Mismatched, Result};
pub use dft::DiagonalMatrix;
pub use evalmod::{k_for_secret, EvalMod, EvalModConfig};
pub use linear::{BsgsSplit, EncodedTransform};
pub use modraise::{mod_raise, sub_sum, sub_sum_elements};

/// Largest difference, in bits, between the primes EvalMod consumes.
pub const MAX_EVALMOD_PRIME_SPREAD_BITS: f64 = 0.05;

/// Largest level budget of CoeffToSlot and SlotToCoeff.
pub const MAX_BUDGET: usize = 5;

/// How to bootstrap: slot count, level budgets, EvalMod.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapConfig {
    /// `log2` of the slot count, in `[1, log_n - 1]` (`log_n - 1` is full packing).
    pub log_slots: u32,
    /// Levels of CoeffToSlot, in `[1, min(5, log_slots)]`.
    pub cts_budget: usize,
    /// Levels of SlotToCoeff, in `[1, min(5, log_slots)]`.
    pub stc_budget: usize,
    /// The modular reduction.
    pub evalmod: EvalModConfig,
}

/// `log2(q_0 / Delta)` of the default configuration (Lattigo's `LogMessageRatio`): inputs are
/// raised to the scale `q_0 / 2^8` before ModRaise.
pub const DEFAULT_LOG_MESSAGE_RATIO: u32 = 8;

/// Failure probability of the bound `K` per bootstrapping, `2^-FAILURE_BITS`.
pub const FAILURE_BITS: u32 = 30;

impl BootstrapConfig {
    /// The default for `params` and `2^log_slots` slots: budgets of 3, `K` from the secret's
    /// Hamming weight ([`k_for_secret`]; a uniform ternary secret counts as weight
    /// `2N/3 + 8 sqrt(2N/9)`, eight standard deviations above its mean), the double-angle count
    /// that gives the shallowest EvalMod, the message ratio `q_0 / Delta`, no arcsine.
    pub fn default_for(params: &Parameters, log_slots: u32) -> Result<Self> {
        Self::default_for_secret(params.n(), params.hamming_weight(), log_slots)
    }

    /// [`BootstrapConfig::default_for`] from the ring degree `n` and the secret's Hamming
    /// weight (`None`: uniform ternary) alone, before any parameters exist (to size a chain).
    pub fn default_for_secret(
        n: usize,
        hamming_weight: Option<usize>,
        log_slots: u32,
    ) -> Result<Self> {
        let weight = hamming_weight.unwrap_or_else(|| {
            let mean = 2.0 * n as f64 / 3.0;
            (mean + 8.0 * (2.0 * n as f64 / 9.0).sqrt()).ceil() as usize
        });
        let k = k_for_secret(weight, n, FAILURE_BITS);
        let log_message_ratio = DEFAULT_LOG_MESSAGE_RATIO;
        let mut best: Option<(usize, usize, EvalModConfig)> = None;
        for r in 0..=10u32 {
            if std::f64::consts::TAU * k / 2f64.powi(r as i32) > 80.0 {
                continue;
            }
            let cfg = EvalModConfig {
                k,
                double_angle: r,
                degree: None,
                interpolation_bits: (35 + 2 * r).min(46),
                arcsine_degree: 0,
                log_message_ratio,
            };
            let Ok(em) = EvalMod::new(&cfg) else { continue };
            let key = (em.depth(), em.ct_mults());
            if best.as_ref().is_none_or(|(d, m, _)| key < (*d, *m)) {
                best = Some((key.0, key.1, cfg));
            }
        }
        let evalmod = best
            .ok_or_else(|| Error::InvalidParameter {
                field: "evalmod.k".into(),
                reason: format!("no EvalMod configuration reaches K = {k}"),
            })?
            .2;
        let budget = 3.min(log_slots as usize).max(1);
        Ok(BootstrapConfig {
            log_slots,
            cts_budget: budget,
            stc_budget: budget,
            evalmod,
        })
    }

    /// Levels a bootstrapping with this configuration consumes (both budgets and EvalMod's
    /// depth); an error when the EvalMod configuration is invalid.
    pub fn depth(&self) -> Result<usize> {
        Ok(self.cts_budget + EvalMod::new(&self.evalmod)?.depth() + self.stc_budget)
    }
}

/// One stage of a bootstrapping run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    /// `mod_raise`, `sub_sum`, `coeff_to_slot`, `eval_mod`, `slot_to_coeff`.
    pub name: String,
    /// Level before and after.
    pub level_in: usize,
    /// Level after.
    pub level_out: usize,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// A bootstrapping key set's shape and the precomputed transforms.
#[derive(Debug)]
pub struct Bootstrapper {
    params: Parameters,
    config: BootstrapConfig,
    evalmod: EvalMod,
    cts: Vec<EncodedTransform>,
    stc: Vec<EncodedTransform>,
    /// Level of the EvalMod input.
    evalmod_level: usize,
    /// Level of the output.
    level_after: usize,
    /// Galois elements needed, ascending.
    galois: Vec<u64>,
}

fn budget_error(field: &str, budget: usize, log_slots: u32) -> Error {
    Error::InvalidParameter {
        field: field.into(),
        reason: format!(
            "{budget} is outside [1, {}] (at most {MAX_BUDGET}, and at most log2(slots) = {log_slots})",
            MAX_BUDGET.min(log_slots as usize)
        ),
    }
}

impl Bootstrapper {
    /// Checks `config` against `params` and precomputes the encoded transforms.
    pub fn new(params: &Parameters, config: &BootstrapConfig) -> Result<Self> {
        Self::build(params, config, true)
    }

    /// The same checks and structure as [`Bootstrapper::new`] with shape-only diagonals (no
    /// encoding, a few MB at any `N`): for [`Bootstrapper::bootstrap_with`] on a
    /// [`crate::ckks::ops::ShapeTracer`], which traces and costs bootstrapping without running
    /// it. A real backend refuses its diagonals.
    pub fn plan(params: &Parameters, config: &BootstrapConfig) -> Result<Self> {
        Self::build(params, config, false)
    }

    fn build(params: &Parameters, config: &BootstrapConfig, encode: bool) -> Result<Self> {
        let log_slots = config.log_slots;
        if log_slots == 0 || log_slots >= params.log_n() {
            return Err(Error::InvalidParameter {
                field: "log_slots".into(),
                reason: format!(
                    "{log_slots} is outside [1, {}]: the slots must be a power of two dividing N/2 = {}",
                    params.log_n() - 1,
                    params.max_slots()
                ),
            });
        }
        for (field, b) in [
            ("cts_budget", config.cts_budget),
            ("stc_budget", config.stc_budget),
        ] {
            if b == 0 || b > MAX_BUDGET.min(log_slots as usize) {
                return Err(budget_error(field, b, log_slots));
            }
        }
        let evalmod = EvalMod::new(&config.evalmod)?;
        let depth = config.cts_budget + evalmod.depth() + config.stc_budget;
        let top = params.max_level();
        if depth > top {
            return Err(Error::InvalidParameter {
                field: "levels".into(),
                reason: format!(
                    "bootstrapping needs {depth} levels (CoeffToSlot {}, EvalMod {}, SlotToCoeff {}) \
                     above level 0; the parameters have {top}",
                    config.cts_budget,
                    evalmod.depth(),
                    config.stc_budget
                ),
            });
        }
        // EvalMod squares its way down: a scale S rescaled by q becomes S^2 / q, so every prime
        // it consumes must equal its working scale (the first of them) to within a hair, or
        // the scales run away (the deviation doubles per level).
        let evalmod_level = top - config.cts_budget;
        let work_bits = (params.q_tables()[evalmod_level].modulus().value() as f64).log2();
        for level in (evalmod_level + 1 - evalmod.depth())..=evalmod_level {
            let bits = (params.q_tables()[level].modulus().value() as f64).log2();
            if (bits - work_bits).abs() > MAX_EVALMOD_PRIME_SPREAD_BITS {
                return Err(Error::InvalidParameter {
                    field: "log_q".into(),
                    reason: format!(
                        "EvalMod consumes levels {} down to {} and needs primes of one size \
                         (within {MAX_EVALMOD_PRIME_SPREAD_BITS} bits of q_{evalmod_level}, \
                         {work_bits:.2} bits): q_{level} has {bits:.2} bits; give the chain {} \
                         primes of that size below the {} CoeffToSlot primes",
                        evalmod_level,
                        evalmod_level + 1 - evalmod.depth(),
                        evalmod.depth(),
                        config.cts_budget
                    ),
                });
            }
        }
        let encoder = encode.then(|| Encoder::new(params));
        let transform =
            |m: &DiagonalMatrix, level: usize, in_scale: f64, out_scale: f64| match &encoder {
                Some(e) => EncodedTransform::new(params, e, m, level, in_scale, out_scale),
                None => EncodedTransform::shape_only(params, m, level, in_scale, out_scale),
            };
        let n = 1usize << log_slots;
        let sparse = log_slots < params.log_n() - 1;
        let gap = (params.max_slots() / n) as f64;
        let q0 = params.q_tables()[0].modulus().value() as f64;
        let work_scale = params.q_tables()[evalmod_level].modulus().value() as f64;
        let out_scale = params.default_scale();

        // CoeffToSlot: the constant 1 / (2 K gap) on the first factor; for sparse packing the
        // last factor widened to 2n slots, writing [A x, -i A x].
        let mut factors = dft::coeff_to_slot_factors(n, config.cts_budget);
        factors[0] = factors[0]
            .clone()
            .scaled(Complex64::new(1.0 / (2.0 * config.evalmod.k * gap), 0.0));
        if sparse {
            let last = factors.pop().expect("budget >= 1");
            factors.push(last.periodic_to_halves(Complex64::new(0.0, -1.0)));
        }
        let mut cts = Vec::with_capacity(factors.len());
        let mut in_scale = q0;
        for (k, m) in factors.iter().enumerate() {
            cts.push(transform(m, top - k, in_scale, work_scale)?);
            in_scale = work_scale;
        }

        // SlotToCoeff: for sparse packing the first factor reads [x, y] as x + i y. Its input
        // is EvalMod's output read at the message's scale: the working scale over the message
        // ratio. The scale comes down to the default geometrically, the same factor per level,
        // so that every factor's diagonals are encoded at the same, largest possible, scale
        // (landing at once would encode the first at `q Delta / in_scale`, ~2^29 here).
        let mut factors = dft::slot_to_coeff_factors(n, config.stc_budget);
        if sparse {
            factors[0] = factors[0].halves_to_periodic(Complex64::new(0.0, 1.0));
        }
        let stc_level = evalmod_level - evalmod.depth();
        let stc_in = work_scale / 2f64.powi(config.evalmod.log_message_ratio as i32);
        let step = (out_scale / stc_in).powf(1.0 / factors.len() as f64);
        let mut in_scale = stc_in;
        let mut stc = Vec::with_capacity(factors.len());
        for (k, m) in factors.iter().enumerate() {
            let target = if k + 1 == factors.len() {
                out_scale
            } else {
                in_scale * step
            };
            stc.push(transform(m, stc_level - k, in_scale, target)?);
            in_scale = target;
        }

        let log_n = params.log_n();
        let mut galois: Vec<u64> = cts
            .iter()
            .chain(&stc)
            .flat_map(|t| t.galois_elements(log_n))
            .chain([galois_element_conjugate(log_n)])
            .chain(if sparse {
                sub_sum_elements(log_n, log_slots)
            } else {
                vec![]
            })
            .collect();
        galois.sort_unstable();
        galois.dedup();
        Ok(Bootstrapper {
            params: params.clone(),
            config: config.clone(),
            evalmod,
            cts,
            stc,
            evalmod_level,
            level_after: stc_level - config.stc_budget,
            galois,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &BootstrapConfig {
        &self.config
    }

    /// The EvalMod plan.
    pub fn evalmod(&self) -> &EvalMod {
        &self.evalmod
    }

    /// The level of bootstrapped ciphertexts.
    pub fn level_after(&self) -> usize {
        self.level_after
    }

    /// Levels consumed by bootstrapping.
    pub fn depth(&self) -> usize {
        self.params.max_level() - self.level_after
    }

    /// The Galois elements whose keys bootstrapping uses (rotations of both transforms,
    /// conjugation, the sparse trace), ascending.
    pub fn galois_elements(&self) -> &[u64] {
        &self.galois
    }

    /// CoeffToSlot's encoded factors, in the order applied.
    pub fn coeff_to_slot(&self) -> &[EncodedTransform] {
        &self.cts
    }

    /// SlotToCoeff's encoded factors, in the order applied.
    pub fn slot_to_coeff(&self) -> &[EncodedTransform] {
        &self.stc
    }

    /// The scale a level-0 input must have at most: `q_0 / 2^log_message_ratio`.
    pub fn max_input_scale(&self) -> f64 {
        self.params.q_tables()[0].modulus().value() as f64
            / 2f64.powi(self.config.evalmod.log_message_ratio as i32)
    }

    /// Checks that `eval` holds every Galois key bootstrapping uses and a relinearization key.
    pub fn check_keys(&self, eval: &Evaluator) -> Result<()> {
        for &g in &self.galois {
            if !eval.has_galois_key(g) {
                let key = if g == galois_element_conjugate(self.params.log_n()) {
                    KeyKind::Conjugation
                } else {
                    KeyKind::Galois(g)
                };
                return Err(Error::missing_key(
                    "bootstrapping",
                    key,
                    describe_element(g, self.params.log_n()),
                ));
            }
        }
        if !eval.has_relin_key() {
            return Err(Error::missing_key(
                "bootstrapping (EvalMod)",
                KeyKind::Relinearization,
                "",
            ));
        }
        Ok(())
    }

    /// Bootstraps a level-0 ciphertext of `2^log_slots` slots: the result holds the same
    /// slots at level [`Bootstrapper::level_after`] with the default scale.
    pub fn bootstrap(
        &self,
        eval: &Evaluator,
        ct: &Ciphertext,
    ) -> Result<(Ciphertext, Vec<StageReport>)> {
        ct.validate(&self.params)?;
        self.check_keys(eval)?;
        self.bootstrap_with(eval, ct)
    }

    /// [`Bootstrapper::bootstrap`] on any backend (the reference evaluator, the accelerator's
    /// functional executor, a [`crate::ckks::ops::ShapeTracer`] with a
    /// [`Bootstrapper::plan`]): the same operations in the same order, each stage announced by
    /// [`CkksOps::begin_stage`] with the name of its report. The backend checks its keys.
    pub fn bootstrap_with<B: CkksOps + ?Sized>(
        &self,
        eval: &B,
        ct: &Ciphertext,
    ) -> std::result::Result<(Ciphertext, Vec<StageReport>), B::Error> {
        if ct.log_slots != self.config.log_slots {
            return Err(Error::mismatch(
                "bootstrapping",
                Mismatched::Slots,
                format_args!("2^{}", ct.log_slots),
                format_args!("2^{} (as set up)", self.config.log_slots),
            )
            .into());
        }
        if ct.level() != 0 {
            return Err(Error::level("bootstrapping", ct.level(), 0..=0).into());
        }
        let max_scale = self.max_input_scale();
        if ct.scale > max_scale * (1.0 + 1e-9) {
            return Err(Error::out_of_range(
                "bootstrapping: input scale",
                format_args!("{:e}", ct.scale),
                format!(
                    "<= q_0 / 2^{} = {max_scale:e} (beyond it the message leaves EvalMod's range)",
                    self.config.evalmod.log_message_ratio
                ),
            )
            .into());
        }
        let mut stages = Vec::new();
        let mut timed = |name: &str, level_in: usize, start: Instant, out: &Ciphertext| {
            stages.push(StageReport {
                name: name.into(),
                level_in,
                level_out: out.level(),
                seconds: start.elapsed().as_secs_f64(),
            });
        };
        // Raise the scale to the message ratio by an integer factor (exact, no level).
        let factor = (max_scale / ct.scale).floor();
        eval.begin_stage("mod_raise");
        let input = if factor >= 2.0 {
            eval.mul_const(ct, 1.0, factor)?
        } else {
            ct.clone()
        };
        let delta_in = input.scale;
        let q0 = self.params.q_tables()[0].modulus().value() as f64;

        let start = Instant::now();
        let mut raised = eval.mod_raise(&input)?;
        raised.scale = q0;
        timed("mod_raise", 0, start, &raised);
        let top = raised.level();
        let sparse = self.config.log_slots < self.params.log_n() - 1;
        if sparse {
            let start = Instant::now();
            eval.begin_stage("sub_sum");
            raised = sub_sum(eval, &raised)?;
            timed("sub_sum", top, start, &raised);
        }

        let start = Instant::now();
        eval.begin_stage("coeff_to_slot");
        let mut v = raised;
        for (k, t) in self.cts.iter().enumerate() {
            if sparse && k + 1 == self.cts.len() {
                v.log_slots += 1; // the last factor works on the 2n-slot view
            }
            v = t.evaluate(eval, &v)?;
        }
        let conj = eval.conjugate(&v)?;
        let halves = if sparse {
            vec![eval.add(&v, &conj)?]
        } else {
            let re = eval.add(&v, &conj)?;
            let im = eval.mul_i(&eval.neg(&eval.sub(&v, &conj)?)?)?;
            vec![re, im]
        };
        timed("coeff_to_slot", top, start, &halves[0]);

        // EvalMod's output decodes to m / q_0 at scale S; read at scale S Delta_in / q_0 it
        // decodes to m / Delta_in. S is chosen so that this is the working scale over the
        // message ratio, SlotToCoeff's input scale: S = work max_scale / Delta_in, in [work,
        // 2 work) (a high scale: EvalMod's last rescale adds little noise).
        let start = Instant::now();
        eval.begin_stage("eval_mod");
        let work_scale = self.params.q_tables()[self.evalmod_level].modulus().value() as f64;
        let ratio = 2f64.powi(self.config.evalmod.log_message_ratio as i32);
        let evalmod_scale = work_scale * max_scale / delta_in;
        let mut reduced = halves
            .iter()
            .map(|h| {
                let mut r = self.evalmod.evaluate(eval, h, evalmod_scale)?;
                r.scale = work_scale / ratio;
                Ok(r)
            })
            .collect::<std::result::Result<Vec<_>, B::Error>>()?;
        timed("eval_mod", self.evalmod_level, start, &reduced[0]);

        let start = Instant::now();
        eval.begin_stage("slot_to_coeff");
        let mut w = if sparse {
            reduced.remove(0)
        } else {
            let im = eval.mul_i(&reduced[1])?;
            eval.add(&reduced[0], &im)?
        };
        let level_in = w.level();
        for (k, t) in self.stc.iter().enumerate() {
            w = t.evaluate(eval, &w)?;
            if sparse && k == 0 {
                w.log_slots -= 1; // back to the n-slot view
            }
        }
        timed("slot_to_coeff", level_in, start, &w);
        Ok((w, stages))
    }
}

/// `"rotation by k"` or `"conjugation"` for a Galois element.
pub fn describe_element(g: u64, log_n: u32) -> String {
    if g == galois_element_conjugate(log_n) {
        return "conjugation".into();
    }
    let two_n = 2u64 << log_n;
    let mut acc = 1u64;
    for k in 0..(1u64 << (log_n - 1)) {
        if acc == g {
            return format!("rotation by {k}");
        }
        acc = acc * 5 % two_n;
    }
    "not a rotation".into()
}
