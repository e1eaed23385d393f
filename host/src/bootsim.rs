//! Bootstrapping on an accelerator: the operations of a bootstrapping (a [`ShapeTracer`] run of
//! [`Bootstrapper::plan`], the same operations in the same order as the reference run, see the
//! verification crate's tests) each lowered at its level through [`crate::lowering`] and timed
//! by [`heaccel_sim::simulate`], summed per stage.
//!
//! - **Words.** A parameter set whose primes do not fit the accelerator's words is costed with
//!   every prime capped at `word_bits - 2` bits ([`fit_to_words`]): the same `N`, levels,
//!   digits, slots and factorization, so the same key switches and transforms on the same
//!   limb counts (EvalMod may align a few more scales: a constant product and a rescale
//!   each). That is the shape SHARP bootstraps with at 36 bits. Precision is not claimed for
//!   the capped set; the reference's precision is measured on the uncapped one.
//! - **Hoisting.** A hoisted rotation set of `k` keys is one program (one decomposition, `k`
//!   key streams) when its accumulators fit the scratchpad; otherwise `t(1) + (k - 1) (t(2) -
//!   t(1))` from the one- and two-key programs, or `k t(1)` when even two do not fit (the
//!   rule of [`crate::netsim::OpCoster`]).
//! - **Level drops** cost nothing: the next operation reads only the limbs it needs.
//! - **Schedule.** As in [`crate::netsim`]: each operation reads its operands from off-chip
//!   memory, streams its keys and plaintexts, writes its result back, and operations do not
//!   overlap, so the figures are an upper estimate of a schedule that keeps values on chip.

use std::collections::{BTreeMap, HashMap};

use heaccel_sim::{HwConfig, Program, Unit};
use heaccel_verification::bootstrap::{BootstrapConfig, Bootstrapper};
use heaccel_verification::ckks::ops::{shape_ciphertext, OpRecord, ShapeTracer, TracedOp};
use heaccel_verification::ckks::{Parameters, ParametersLiteral};
use serde::Serialize;

use crate::lowering::{self, LowerError};

type Result<T> = std::result::Result<T, LowerError>;

/// `literal` with every prime's bit size capped at `word_bits - 2` (and the scale with them),
/// so that its primes fit `word_bits`-bit words; unchanged when they already fit. Explicit
/// primes that do not fit are an error (they cannot be resized).
pub fn fit_to_words(literal: &ParametersLiteral, word_bits: u32) -> Result<ParametersLiteral> {
    let cap = word_bits.saturating_sub(2).min(61);
    if let Some(p) = literal
        .q
        .iter()
        .chain(&literal.p)
        .find(|&&p| 64 - p.leading_zeros() > cap)
    {
        return Err(LowerError::PrimeTooWide {
            prime: *p,
            word_bits,
            cap,
        });
    }
    let mut out = literal.clone();
    for b in out.log_q.iter_mut().chain(out.log_p.iter_mut()) {
        *b = (*b).min(cap);
    }
    out.log_scale = out.log_scale.min(cap);
    Ok(out)
}

/// One operation kind within a stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpCost {
    /// Operations of this kind.
    pub count: usize,
    /// Their simulated time, microseconds.
    pub time_us: f64,
}

/// One stage of a simulated bootstrapping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageSim {
    /// `mod_raise`, `sub_sum`, `coeff_to_slot`, `eval_mod` or `slot_to_coeff`.
    pub name: String,
    /// Level of the stage's first operation's operands.
    pub level_in: usize,
    /// Operations.
    pub ops: usize,
    /// Key switches (automorphisms, counted per key, and relinearizations).
    pub key_switches: usize,
    /// Simulated time, microseconds.
    pub time_us: f64,
    /// Off-chip bytes read and written.
    pub offchip_bytes: u64,
    /// The unit bounding the largest share of the stage's time.
    pub bound: &'static str,
    /// `time_us` by the unit bounding each operation, by unit name.
    pub time_by_bound: BTreeMap<&'static str, f64>,
    /// `time_us` by operation name.
    pub by_op: BTreeMap<&'static str, OpCost>,
}

/// A simulated bootstrapping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapSim {
    /// Hardware configuration name.
    pub config: String,
    /// `log2(N)`.
    pub log_n: u32,
    /// Slots bootstrapped.
    pub slots: usize,
    /// Bits of the largest prime costed (after [`fit_to_words`]).
    pub prime_bits: u32,
    /// Whether the primes were capped to fit the words.
    pub primes_capped: bool,
    /// Top level `L` (ModRaise's target).
    pub level_top: usize,
    /// Level of the bootstrapped ciphertext.
    pub levels_after: usize,
    /// Key-switching digits.
    pub dnum: usize,
    /// Galois keys the factorization uses (conjugation and SubSum included).
    pub galois_keys: usize,
    /// Stages in order.
    pub stages: Vec<StageSim>,
    /// Simulated time, microseconds (sum of the stages').
    pub time_us: f64,
    /// Off-chip bytes (sum of the stages').
    pub offchip_bytes: u64,
    /// Key switches (sum of the stages').
    pub key_switches: usize,
    /// Operations (sum of the stages').
    pub ops: usize,
    /// The bootstrapping as one allocated instruction stream timed as a whole
    /// ([`crate::stream`]): operands stay on chip between operations, keys and plaintexts are
    /// reused while they stay, memory traffic overlaps compute.
    pub whole_program: crate::stream::WholeProgramSim,
}

/// Time, off-chip bytes and bound of one simulated program or program combination.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cost {
    time_us: f64,
    bytes: f64,
    bound: Unit,
}

/// Costs operations of one parameter set on one configuration, cached by shape.
#[derive(Debug)]
pub struct TraceCoster<'a> {
    params: &'a Parameters,
    config: &'a HwConfig,
    cache: HashMap<OpRecord, Cost>,
}

impl<'a> TraceCoster<'a> {
    /// A coster of `params`' operations on `config`.
    pub fn new(params: &'a Parameters, config: &'a HwConfig) -> Self {
        TraceCoster {
            params,
            config,
            cache: HashMap::new(),
        }
    }

    fn fits(&self, program: &Program) -> bool {
        program.slots as u64 * program.n() as u64 * self.config.word_bytes()
            <= self.config.scratchpad.bytes
    }

    fn simulate(&self, program: &Program) -> Result<Cost> {
        let r = heaccel_sim::simulate(program, self.config)?;
        Ok(Cost {
            time_us: r.time_us,
            bytes: r.offchip_bytes as f64,
            bound: r.bound,
        })
    }

    /// The cache key: what decides the cost (the Galois elements do not, only their count;
    /// a monomial's exponent does not).
    fn key(op: &OpRecord) -> OpRecord {
        match op {
            OpRecord::Automorphisms { level, galois } => OpRecord::Automorphisms {
                level: *level,
                galois: (1..=galois.len() as u64).collect(),
            },
            OpRecord::MulMonomial { level, .. } => OpRecord::MulMonomial {
                level: *level,
                k: 0,
            },
            other => other.clone(),
        }
    }

    fn hoisted(&mut self, level: usize, count: usize) -> Result<Cost> {
        let p = self.params;
        let elements = |k: usize| -> Vec<u64> {
            (1..=k as i64)
                .map(|s| {
                    heaccel_verification::automorphism::galois_element_for_rotation(s, p.log_n())
                })
                .collect()
        };
        let all = lowering::lower_automorphisms(p, level, &elements(count))?;
        if self.fits(&all) {
            return self.simulate(&all);
        }
        let one = self.cost(&OpRecord::Automorphisms {
            level,
            galois: vec![1],
        })?;
        let two = lowering::lower_automorphisms(p, level, &elements(2))?;
        let extra = if self.fits(&two) {
            let two = self.simulate(&two)?;
            Cost {
                time_us: two.time_us - one.time_us,
                bytes: two.bytes - one.bytes,
                bound: two.bound,
            }
        } else {
            one
        };
        let more = (count - 1) as f64;
        Ok(Cost {
            time_us: one.time_us + more * extra.time_us,
            bytes: one.bytes + more * extra.bytes,
            bound: one.bound,
        })
    }

    fn cost(&mut self, op: &OpRecord) -> Result<Cost> {
        let key = Self::key(op);
        if let Some(&c) = self.cache.get(&key) {
            return Ok(c);
        }
        let p = self.params;
        let scale = p.default_scale();
        let c = match key {
            OpRecord::Add { level } => self.simulate(&lowering::lower_add(p, level)?)?,
            OpRecord::Sub { level } => self.simulate(&lowering::lower_sub(p, level)?)?,
            OpRecord::Neg { level } => self.simulate(&lowering::lower_neg(p, level)?)?,
            OpRecord::AddConst { level } => {
                self.simulate(&lowering::lower_add_const(p, level, 1.0, scale)?)?
            }
            OpRecord::MulConst { level } => {
                self.simulate(&lowering::lower_mul_const(p, level, 1.0, scale)?)?
            }
            OpRecord::MulRelin { level } => {
                self.simulate(&lowering::lower_hmult_relin(p, level)?)?
            }
            OpRecord::Rescale { level } => self.simulate(&lowering::lower_rescale(p, level)?)?,
            // Free: the next operation reads only the limbs it needs (the functional
            // executor copies them, which an accelerator does not).
            OpRecord::DropLevel { .. } => Cost {
                time_us: 0.0,
                bytes: 0.0,
                bound: Unit::Memory,
            },
            OpRecord::MulMonomial { level, .. } => {
                self.simulate(&lowering::lower_mul_monomial(p, level)?)?
            }
            OpRecord::Automorphisms { level, ref galois } if galois.len() == 1 => {
                let g =
                    heaccel_verification::automorphism::galois_element_for_rotation(1, p.log_n());
                self.simulate(&lowering::lower_automorphisms(p, level, &[g])?)?
            }
            OpRecord::Automorphisms { level, ref galois } => self.hoisted(level, galois.len())?,
            OpRecord::InnerProduct { level, terms } => {
                self.simulate(&lowering::lower_inner_product(p, level, terms)?)?
            }
            OpRecord::ModRaise { to } => self.simulate(&lowering::lower_mod_raise(p, to)?)?,
        };
        self.cache.insert(key, c);
        Ok(c)
    }

    /// Costs `trace` stage by stage (stages in order of first appearance).
    pub fn stages(&mut self, trace: &[TracedOp]) -> Result<Vec<StageSim>> {
        let mut stages: Vec<StageSim> = Vec::new();
        let mut bytes: Vec<f64> = Vec::new();
        for t in trace {
            let c = self.cost(&t.op)?;
            let i = match stages.iter().position(|s| s.name == t.stage) {
                Some(i) => i,
                None => {
                    stages.push(StageSim {
                        name: t.stage.clone(),
                        level_in: op_level(&t.op),
                        ops: 0,
                        key_switches: 0,
                        time_us: 0.0,
                        offchip_bytes: 0,
                        bound: "",
                        time_by_bound: BTreeMap::new(),
                        by_op: BTreeMap::new(),
                    });
                    bytes.push(0.0);
                    stages.len() - 1
                }
            };
            let s = &mut stages[i];
            s.ops += 1;
            s.key_switches += match &t.op {
                OpRecord::Automorphisms { galois, .. } => galois.len(),
                OpRecord::MulRelin { .. } => 1,
                _ => 0,
            };
            s.time_us += c.time_us;
            bytes[i] += c.bytes;
            *s.time_by_bound.entry(c.bound.name()).or_insert(0.0) += c.time_us;
            let e = s.by_op.entry(t.op.name()).or_insert(OpCost {
                count: 0,
                time_us: 0.0,
            });
            e.count += 1;
            e.time_us += c.time_us;
        }
        for (s, b) in stages.iter_mut().zip(bytes) {
            s.offchip_bytes = b.round() as u64;
            s.bound = s
                .time_by_bound
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or("memory", |(u, _)| *u);
        }
        Ok(stages)
    }
}

fn op_level(op: &OpRecord) -> usize {
    match *op {
        OpRecord::Add { level }
        | OpRecord::Sub { level }
        | OpRecord::Neg { level }
        | OpRecord::AddConst { level }
        | OpRecord::MulConst { level }
        | OpRecord::MulRelin { level }
        | OpRecord::Rescale { level }
        | OpRecord::MulMonomial { level, .. }
        | OpRecord::Automorphisms { level, .. }
        | OpRecord::InnerProduct { level, .. } => level,
        OpRecord::DropLevel { from, .. } => from,
        OpRecord::ModRaise { .. } => 0,
    }
}

/// The operations of one bootstrapping of `2^log_slots` slots under `params` with `config`
/// (the default configuration when `None`), traced without arithmetic, and the plan.
pub fn bootstrap_trace(
    params: &Parameters,
    config: Option<&BootstrapConfig>,
    log_slots: u32,
) -> Result<(Bootstrapper, Vec<TracedOp>)> {
    let config = match config {
        Some(c) => c.clone(),
        None => BootstrapConfig::default_for(params, log_slots)?,
    };
    let plan = Bootstrapper::plan(params, &config)?;
    let tracer = ShapeTracer::new(params);
    let input = shape_ciphertext(params, 0, plan.max_input_scale(), config.log_slots);
    plan.bootstrap_with(&tracer, &input)?;
    Ok((plan, tracer.into_trace()))
}

/// Simulates one bootstrapping of `2^log_slots` slots of the parameter set `literal` (fitted
/// to `hw`'s words, [`fit_to_words`]) on `hw`, with the default bootstrapping configuration
/// of the fitted set.
pub fn simulate_bootstrap(
    literal: &ParametersLiteral,
    log_slots: u32,
    hw: &HwConfig,
) -> Result<BootstrapSim> {
    let fitted = fit_to_words(literal, hw.word_bits)?;
    let params = fitted.build()?;
    let (plan, trace) = bootstrap_trace(&params, None, log_slots)?;
    let stages = TraceCoster::new(&params, hw).stages(&trace)?;
    let flow = crate::stream::trace_bootstrap(&params, &plan, log_slots)?;
    let whole_program = crate::stream::simulate_dataflow(
        &params,
        &flow,
        hw,
        &crate::stream::StreamOptions::default(),
    )?;
    let max_bits = |l: &ParametersLiteral| l.log_q.iter().chain(&l.log_p).copied().max();
    Ok(BootstrapSim {
        config: hw.name.clone(),
        log_n: params.log_n(),
        slots: 1 << log_slots,
        prime_bits: max_bits(&fitted).unwrap_or(0),
        primes_capped: max_bits(&fitted) != max_bits(literal),
        level_top: params.max_level(),
        levels_after: plan.level_after(),
        dnum: params.dnum(),
        galois_keys: plan.galois_elements().len(),
        time_us: stages.iter().map(|s| s.time_us).sum(),
        offchip_bytes: stages.iter().map(|s| s.offchip_bytes).sum(),
        key_switches: stages.iter().map(|s| s.key_switches).sum(),
        ops: stages.iter().map(|s| s.ops).sum(),
        stages,
        whole_program,
    })
}

/// One bootstrapping's simulated time and its split by bounding unit: what
/// [`crate::netsim`] charges per ciphertext at every refresh.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapCost {
    /// Level ModRaise lifts to.
    pub level_top: usize,
    /// Level the result lands on.
    pub level_after: usize,
    /// Simulated time, microseconds.
    pub time_us: f64,
    /// `time_us` by bounding unit, by unit name.
    pub time_by_bound: BTreeMap<&'static str, f64>,
    /// Per stage: name and microseconds.
    pub stages: Vec<(String, f64)>,
}

impl BootstrapCost {
    /// Costs `trace` (a bootstrapping under `params`) on `hw`.
    pub fn of(params: &Parameters, hw: &HwConfig, trace: &[TracedOp]) -> Result<Self> {
        let stages = TraceCoster::new(params, hw).stages(trace)?;
        let mut time_by_bound = BTreeMap::new();
        for s in &stages {
            for (u, us) in &s.time_by_bound {
                *time_by_bound.entry(*u).or_insert(0.0) += us;
            }
        }
        let level_after = trace
            .iter()
            .rev()
            .find_map(|t| match t.op {
                OpRecord::Rescale { level } => Some(level - 1),
                _ => None,
            })
            .unwrap_or(0);
        Ok(BootstrapCost {
            level_top: params.max_level(),
            level_after,
            time_us: stages.iter().map(|s| s.time_us).sum(),
            time_by_bound,
            stages: stages.iter().map(|s| (s.name.clone(), s.time_us)).collect(),
        })
    }
}
