//! The scoreboard: a stream of instructions dispatched in order to per-unit queues, each
//! started when its operands, its unit instance and (blocking) every earlier result are ready;
//! under the `scoreboard` policy also after the previous instruction's start, and after every
//! instruction naming one of its slots has its result (unit instances held until then).

use super::costs::{for_reads, for_writes, Costs};
use super::{CriticalPath, TimingReport, TrafficClass, Unit, UnitReport, TRAFFIC_CLASSES, UNITS};
use crate::config::{HwConfig, IssuePolicy};
use crate::error::{invalid, Result, SimError};
use crate::isa::{BufferRole, Instruction};

/// Per-unit occupancy (indices as [`UNITS`]), latency, and instruction count of a chain.
type Chain = [u64; 7];
const CHAIN_LATENCY: usize = 5;
const CHAIN_COUNT: usize = 6;
/// The timing model over a stream of instructions (see the module docs): instructions are
/// pushed one at a time in program order, so a program of any length is timed in memory
/// proportional to its slots and buffers, never to its length. [`simulate`] is this over a
/// whole [`Program`]; a whole-network stream pushes its instructions as they are generated.
/// Instructions must be valid for the stream's slots and buffers (as [`Program::validate`]
/// checks); an out-of-range slot or buffer is an error naming the instruction.
///
/// [`simulate`]: super::simulate
/// [`Program`]: crate::isa::Program
/// [`Program::validate`]: crate::isa::Program::validate
#[derive(Debug)]
pub struct Scheduler {
    config: HwConfig,
    costs: Costs,
    roles: Vec<BufferRole>,
    free: Vec<Vec<(u64, Chain)>>,
    busy: [u64; 5],
    count: [u64; 5],
    ready: Vec<(u64, Chain)>,
    last_read: Vec<(u64, Chain)>,
    end: (u64, Chain),
    offchip: [u64; 5],
    vector_bytes: u64,
    blocking: bool,
    /// Scoreboard policy: the earliest next issue, and each slot's release (the result of
    /// the last instruction naming it).
    scoreboard: bool,
    next_issue: (u64, Chain),
    held: Vec<(u64, Chain)>,
    pushed: u64,
}

impl Scheduler {
    /// A scheduler for `N = 2^log_n` over `moduli` with `slots` scratchpad slots and buffers
    /// of `roles` (indexed by buffer number); `config` is valid by construction. Errors: the
    /// slots exceed the scratchpad, a prime wider than the machine word.
    pub fn new(
        config: &HwConfig,
        log_n: u32,
        moduli: &[u64],
        slots: u32,
        roles: Vec<BufferRole>,
    ) -> Result<Self> {
        let n = 1u64 << log_n;
        // Saturating: a product past 2^64 is over any scratchpad (and unreachable within limits).
        let need = (slots as u64)
            .saturating_mul(n)
            .saturating_mul(config.word_bytes());
        if need > config.scratchpad.bytes {
            return Err(invalid(
                "program",
                "slots",
                format!(
                    "{slots} slots of N = {n} words of {} bytes need {need} bytes; the scratchpad of `{}` holds {}",
                    config.word_bytes(),
                    config.name,
                    config.scratchpad.bytes
                ),
            ));
        }
        if let Some((i, q)) = moduli
            .iter()
            .enumerate()
            .find(|(_, &q)| 64 - q.leading_zeros() > config.word_bits)
        {
            return Err(invalid(
                "program",
                format!("moduli[{i}]"),
                format!(
                    "{q} needs {} bits; `{}` has {}-bit words",
                    64 - q.leading_zeros(),
                    config.name,
                    config.word_bits
                ),
            ));
        }
        Ok(Self::with_costs(
            config,
            Costs::new(config, log_n),
            slots,
            roles,
        ))
    }

    pub(super) fn with_costs(
        config: &HwConfig,
        costs: Costs,
        slots: u32,
        roles: Vec<BufferRole>,
    ) -> Self {
        let zero = (0u64, Chain::default());
        Scheduler {
            free: costs
                .instances
                .iter()
                .map(|&k| vec![zero; k as usize])
                .collect(),
            vector_bytes: costs.n.saturating_mul(config.word_bytes()),
            config: config.clone(),
            costs,
            roles,
            busy: [0; 5],
            count: [0; 5],
            ready: vec![zero; slots as usize],
            last_read: vec![zero; slots as usize],
            end: zero,
            offchip: [0; 5],
            blocking: config.issue.policy == IssuePolicy::InOrderBlocking,
            scoreboard: config.issue.policy == IssuePolicy::Scoreboard,
            next_issue: zero,
            held: vec![zero; slots as usize],
            pushed: 0,
        }
    }

    /// Instructions pushed so far.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Cycle at which every result pushed so far is ready.
    pub fn cycles(&self) -> u64 {
        self.end.0
    }

    /// Times one more instruction. Every cycle and byte total is checked: one that would
    /// pass `u64::MAX` is [`SimError::Overflow`], never a wrapped or saturated figure.
    pub fn push(&mut self, ins: &Instruction) -> Result<()> {
        let k = self.pushed;
        self.pushed += 1;
        let overflow = |quantity: &'static str| SimError::Overflow {
            source_name: "program".to_string(),
            config: self.config.name.clone(),
            instruction: k,
            quantity,
        };
        let class = match ins {
            Instruction::Free { .. } => return self.check_buffer(k, ins, None),
            Instruction::Load { buffer, .. } => Some((*buffer, false)),
            Instruction::Store { buffer, .. } => Some((*buffer, true)),
            _ => None,
        };
        let class = match class {
            Some((b, store)) => {
                let role = self
                    .check_buffer(k, ins, Some(b))
                    .map(|_| self.roles[b as usize])?;
                Some(TrafficClass::of(role, store))
            }
            None => None,
        };
        let slots = self.ready.len() as u32;
        let mut bad = None;
        for_reads(ins, |s| bad = bad.or((s >= slots).then_some(s)));
        for_writes(ins, |s| bad = bad.or((s >= slots).then_some(s)));
        if let Some(s) = bad {
            return Err(invalid(
                "program",
                format!("instructions[{k}]"),
                format!("slot {s} is outside [0, {slots}) ({})", ins.name()),
            ));
        }
        let (unit, occupancy, latency) = self
            .costs
            .of(ins)
            .ok_or_else(|| overflow("basis-conversion work"))?;
        // Blocking: after every earlier result (`end`); that also covers every dependency
        // and every unit instance, each free by its last result.
        let mut start = if self.blocking {
            self.end
        } else {
            (0, Chain::default())
        };
        let later = |start: &mut (u64, Chain), t: &(u64, Chain)| {
            if t.0 > start.0 {
                *start = *t;
            }
        };
        for_reads(ins, |s| later(&mut start, &self.ready[s as usize]));
        for_writes(ins, |s| {
            later(&mut start, &self.ready[s as usize]);
            later(&mut start, &self.last_read[s as usize]);
        });
        if self.scoreboard {
            later(&mut start, &self.next_issue);
            for_reads(ins, |s| later(&mut start, &self.held[s as usize]));
            for_writes(ins, |s| later(&mut start, &self.held[s as usize]));
        }
        // Earliest-free instance of the unit.
        let instances = &mut self.free[unit];
        let idx = instances
            .iter()
            .enumerate()
            .min_by_key(|(_, t)| t.0)
            .map(|(i, _)| i)
            .expect("every unit has an instance");
        later(&mut start, &instances[idx]);
        let done = start
            .0
            .checked_add(occupancy)
            .ok_or_else(|| overflow("cycles"))?;
        let result = done
            .checked_add(latency)
            .ok_or_else(|| overflow("cycles"))?;
        let mut done_chain = start.1;
        done_chain[unit] += occupancy;
        done_chain[CHAIN_COUNT] += 1;
        let mut result_chain = done_chain;
        result_chain[CHAIN_LATENCY] += latency;
        // Scoreboard: the unit instance is held until the result.
        instances[idx] = if self.scoreboard {
            (result, result_chain)
        } else {
            (done, done_chain)
        };
        if self.scoreboard {
            self.next_issue = (start.0 + 1, start.1);
            let held = &mut self.held;
            for_reads(ins, |s| held[s as usize] = (result, result_chain));
            for_writes(ins, |s| held[s as usize] = (result, result_chain));
        }
        let last_read = &mut self.last_read;
        for_reads(ins, |s| {
            if done > last_read[s as usize].0 {
                last_read[s as usize] = (done, done_chain);
            }
        });
        let ready = &mut self.ready;
        for_writes(ins, |s| ready[s as usize] = (result, result_chain));
        self.busy[unit] = self.busy[unit]
            .checked_add(occupancy)
            .ok_or_else(|| overflow("busy cycles"))?;
        self.count[unit] += 1;
        if result > self.end.0 {
            self.end = (result, result_chain);
        }
        if let Some(class) = class {
            let c = class as usize;
            self.offchip[c] = self.offchip[c]
                .checked_add(self.vector_bytes)
                .ok_or_else(|| overflow("off-chip bytes"))?;
        }
        Ok(())
    }

    fn check_buffer(&self, k: u64, ins: &Instruction, buffer: Option<u32>) -> Result<()> {
        let b = match (ins, buffer) {
            (Instruction::Free { buffer }, _) => *buffer,
            (_, Some(b)) => b,
            _ => return Ok(()),
        };
        if b as usize >= self.roles.len() {
            return Err(invalid(
                "program",
                format!("instructions[{k}].buffer"),
                format!(
                    "buffer {b} is outside [0, {}) ({})",
                    self.roles.len(),
                    ins.name()
                ),
            ));
        }
        Ok(())
    }

    /// The report of everything pushed.
    pub fn finish(self) -> TimingReport {
        let cycles = self.end.0;
        let config = &self.config;
        let time_us = cycles as f64 / config.clock_mhz;
        let units: Vec<UnitReport> = UNITS
            .iter()
            .enumerate()
            .map(|(i, &unit)| UnitReport {
                unit,
                instances: self.costs.instances[i],
                instructions: self.count[i],
                busy_cycles: self.busy[i],
                busy: if cycles == 0 {
                    0.0
                } else {
                    self.busy[i] as f64 / (cycles as f64 * self.costs.instances[i] as f64)
                },
            })
            .collect();
        let bound = units
            .iter()
            .max_by(|a, b| a.busy.total_cmp(&b.busy))
            .map_or(Unit::Memory, |u| u.unit);
        // Each class's total is checked; their sum is at most the pushed loads and stores
        // times one vector, below 2^62 within the ISA's limits.
        let offchip: u64 = self.offchip.iter().sum();
        let chain = self.end.1;
        TimingReport {
            config: config.name.clone(),
            instructions: self.pushed,
            cycles,
            time_us,
            offchip_bytes: offchip,
            offchip_by_class: TRAFFIC_CLASSES
                .iter()
                .map(|c| (c.name(), self.offchip[*c as usize]))
                .collect(),
            achieved_bandwidth_gb_s: if time_us > 0.0 {
                offchip as f64 / (time_us * 1e3)
            } else {
                0.0
            },
            bound,
            busy: units.iter().map(|u| (u.unit.name(), u.busy)).collect(),
            units,
            critical_path: CriticalPath {
                instructions: chain[CHAIN_COUNT],
                cycles: chain[..CHAIN_COUNT].iter().sum(),
                by_unit: UNITS
                    .iter()
                    .enumerate()
                    .map(|(i, u)| (u.name(), chain[i]))
                    .collect(),
                latency_cycles: chain[CHAIN_LATENCY],
            },
        }
    }
}
