//! The cycle-approximate timing model.
//!
//! Each instruction occupies one instance of its unit for `ceil(work / throughput)` cycles and
//! its result is ready `pipeline_latency` cycles after that. Instructions are dispatched in
//! program order to per-unit queues (each unit instance runs its queue in order); different
//! units run concurrently. A scoreboard holds, per slot, the cycle its last write is ready
//! (read-after-write, write-after-write) and the cycle its last read ends (write-after-read).
//! All off-chip traffic shares one channel of `memory.bandwidth_gb_s`; a load's data arrives
//! `memory.latency_ns` after its transfer.
//!
//! That is the default issue policy, `[issue] policy = "overlapped"`. Under
//! `"in_order_blocking"` each instruction also waits until every earlier instruction's result
//! is ready (all units and the memory channel idle), so a program takes the sum of its
//! instructions' isolated times, `occupancy + latency` each: a core that runs one instruction
//! at a time. The overlapped time is never longer.
//!
//! | unit | work of one instruction | throughput per cycle and instance |
//! |---|---|---|
//! | `ntt` | `N/2 * log2(N)` butterflies | `ntt.butterflies_per_unit` |
//! | `modmul` | `N` elements (add, sub, mul, scalar ops, mac, copy) | `modmul.lanes` |
//! | `automorph` | `N` coefficients | `automorph.lanes` |
//! | `bconv` | `N * (s + s * t)` multiply-adds for `s` sources, `t` targets | `bconv.lanes` |
//! | `memory` | `N * word_bytes` bytes (load, store) | `bandwidth / clock` bytes |
//!
//! Every cycle and byte total is checked arithmetic: a total that would pass `u64::MAX` is
//! [`SimError::Overflow`], never a wrapped number. Within the configuration's documented
//! ranges and the ISA's limits no total gets near it: one instruction costs below 2^38 cycles
//! (a basis conversion of 1,024 to 1,024 limbs at N = 2^17 on one lane; the slowest load,
//! 2^20 bytes at 0.01 bytes a cycle, takes below 2^27) and a program holds at most 2^24
//! instructions, so totals stay below 2^62.

use serde::Serialize;

use crate::config::{HwConfig, IssuePolicy};
use crate::error::{invalid, Result, SimError};
use crate::isa::{BufferRole, Instruction, Program, Slot};

/// The units of the accelerator, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// NTT units.
    Ntt,
    /// Element-wise modular-multiplier lanes.
    Modmul,
    /// Automorphism units.
    Automorph,
    /// Basis-conversion lanes.
    Bconv,
    /// The off-chip memory channel.
    Memory,
}

/// All units, in report order.
pub const UNITS: [Unit; 5] = [
    Unit::Ntt,
    Unit::Modmul,
    Unit::Automorph,
    Unit::Bconv,
    Unit::Memory,
];

impl Unit {
    /// Lower-case name as in reports.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Ntt => "ntt",
            Unit::Modmul => "modmul",
            Unit::Automorph => "automorph",
            Unit::Bconv => "bconv",
            Unit::Memory => "memory",
        }
    }
}

/// Busy time of one unit kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnitReport {
    /// The unit.
    pub unit: Unit,
    /// Instances of the unit.
    pub instances: u32,
    /// Instructions it ran.
    pub instructions: u64,
    /// Cycles its instances were occupied, summed.
    pub busy_cycles: u64,
    /// `busy_cycles / (cycles * instances)`, in `[0, 1]`.
    pub busy: f64,
}

/// The result of a timing simulation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimingReport {
    /// Configuration name.
    pub config: String,
    /// Instructions simulated.
    pub instructions: u64,
    /// Cycles from the first dispatch to the last result.
    pub cycles: u64,
    /// `cycles / clock`, in microseconds.
    pub time_us: f64,
    /// Bytes loaded and stored off-chip.
    pub offchip_bytes: u64,
    /// `offchip_bytes` by [`TrafficClass`] name (every class listed).
    pub offchip_by_class: std::collections::BTreeMap<&'static str, u64>,
    /// `offchip_bytes / time`, in GB/s.
    pub achieved_bandwidth_gb_s: f64,
    /// The busiest unit (`memory` when the run is memory bound).
    pub bound: Unit,
    /// Busy fraction by unit name (the same figures as `units`, keyed for readers).
    pub busy: std::collections::BTreeMap<&'static str, f64>,
    /// Per-unit figures, in [`UNITS`] order.
    pub units: Vec<UnitReport>,
    /// The chain of instructions that decides `cycles`.
    pub critical_path: CriticalPath,
}

impl TimingReport {
    /// Busy fraction of one unit.
    pub fn busy(&self, unit: Unit) -> f64 {
        self.units
            .iter()
            .find(|u| u.unit == unit)
            .map_or(0.0, |u| u.busy)
    }
}

/// Per-instruction costs of a configuration at one ring degree.
#[derive(Clone, Debug)]
struct Costs {
    ntt: u64,
    elementwise: u64,
    automorph: u64,
    memory: u64,
    memory_latency: u64,
    bconv_lanes: u64,
    n: u64,
    latency: [u64; 5],
    instances: [u32; 5],
}

impl Costs {
    /// The costs at `N = 2^log_n`. Within the configuration's ranges and `log_n <= 17` a load
    /// costs below 2^27 cycles (2^20 bytes at 0.01 bytes a cycle, plus 10^6 cycles of
    /// latency); a memory cost that does not fit 64 bits saturates to `u64::MAX` (Rust's
    /// float-to-integer conversion) and the checked totals of [`schedule`] then refuse it.
    fn new(config: &HwConfig, log_n: u32) -> Self {
        let n = 1u64 << log_n;
        let word_bytes = config.word_bytes();
        let bytes_per_cycle = config.memory_bytes_per_cycle();
        Costs {
            ntt: (n / 2 * log_n as u64).div_ceil(config.ntt.butterflies_per_unit as u64),
            elementwise: n.div_ceil(config.modmul.lanes as u64),
            automorph: n.div_ceil(config.automorph.lanes as u64),
            memory: (n.saturating_mul(word_bytes) as f64 / bytes_per_cycle).ceil() as u64,
            memory_latency: (config.memory.latency_ns * config.clock_mhz / 1e3).ceil() as u64,
            bconv_lanes: config.bconv.lanes as u64,
            n,
            latency: [
                config.ntt.pipeline_latency as u64,
                config.modmul.pipeline_latency as u64,
                config.automorph.pipeline_latency as u64,
                config.bconv.pipeline_latency as u64,
                0,
            ],
            instances: [config.ntt.units, 1, config.automorph.units, 1, 1],
        }
    }

    /// (unit index, occupancy cycles, extra latency) of an instruction; `None` when the
    /// work of a basis conversion does not fit 64 bits. A `free` hint occupies nothing: the
    /// memory channel for no cycles.
    #[inline]
    fn of(&self, ins: &Instruction) -> Option<(usize, u64, u64)> {
        use Instruction::*;
        Some(match ins {
            Free { .. } => (4, 0, 0),
            Load { .. } => (4, self.memory, self.memory_latency),
            Store { .. } => (4, self.memory, 0),
            Ntt { .. } | Intt { .. } => (0, self.ntt, self.latency[0]),
            Add { .. }
            | Sub { .. }
            | Mul { .. }
            | AddScalar { .. }
            | MulScalar { .. }
            | Mac { .. }
            | Copy { .. } => (1, self.elementwise, self.latency[1]),
            Automorph { .. } => (2, self.automorph, self.latency[2]),
            Bconv { src, dst, .. } => {
                let (s, t) = (src.len() as u64, dst.len() as u64);
                let work = s.checked_mul(t)?.checked_add(s)?.checked_mul(self.n)?;
                (3, work.div_ceil(self.bconv_lanes), self.latency[3])
            }
        })
    }
}

/// Calls `f` on every slot an instruction reads, without allocating.
#[inline]
pub(crate) fn for_reads(ins: &Instruction, mut f: impl FnMut(Slot)) {
    use Instruction::*;
    match ins {
        Load { .. } | Free { .. } => {}
        Store { src, .. } | Automorph { src, .. } | Copy { src, .. } => f(*src),
        Ntt { slot, .. } | Intt { slot, .. } => f(*slot),
        Add { a, b, .. } | Sub { a, b, .. } | Mul { a, b, .. } => {
            f(*a);
            f(*b)
        }
        AddScalar { a, .. } | MulScalar { a, .. } => f(*a),
        Mac { acc, a, b, .. } => {
            f(*acc);
            f(*a);
            f(*b)
        }
        Bconv { src, .. } => src.iter().for_each(|&s| f(s)),
    }
}

/// Calls `f` on every slot an instruction writes, without allocating.
#[inline]
pub(crate) fn for_writes(ins: &Instruction, mut f: impl FnMut(Slot)) {
    use Instruction::*;
    match ins {
        Store { .. } | Free { .. } => {}
        Load { dst, .. }
        | Add { dst, .. }
        | Sub { dst, .. }
        | Mul { dst, .. }
        | AddScalar { dst, .. }
        | MulScalar { dst, .. }
        | Automorph { dst, .. }
        | Copy { dst, .. } => f(*dst),
        Ntt { slot, .. } | Intt { slot, .. } => f(*slot),
        Mac { acc, .. } => f(*acc),
        Bconv { dst, .. } => dst.iter().for_each(|&s| f(s)),
    }
}

/// What an off-chip transfer carries, by the role of its buffer (for reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrafficClass {
    /// Switching keys (role `key`).
    Key,
    /// Encoded plaintexts (role `plaintext`).
    Plaintext,
    /// Ciphertexts the host supplied (role `input`) or results read back (loads of `output`).
    Ciphertext,
    /// Results written back for the host (stores to role `output`).
    Output,
    /// The program's own intermediate values (role `temp`): spills and reloads.
    Spill,
}

impl TrafficClass {
    /// Lower-case name as in reports.
    pub fn name(self) -> &'static str {
        match self {
            TrafficClass::Key => "key",
            TrafficClass::Plaintext => "plaintext",
            TrafficClass::Ciphertext => "ciphertext",
            TrafficClass::Output => "output",
            TrafficClass::Spill => "spill",
        }
    }

    /// The class of a load (`store = false`) or store of a buffer of `role`.
    pub fn of(role: BufferRole, store: bool) -> Self {
        match role {
            BufferRole::Key => TrafficClass::Key,
            BufferRole::Plaintext => TrafficClass::Plaintext,
            BufferRole::Input => TrafficClass::Ciphertext,
            BufferRole::Output if store => TrafficClass::Output,
            BufferRole::Output => TrafficClass::Ciphertext,
            BufferRole::Temp => TrafficClass::Spill,
        }
    }
}

/// All traffic classes, in report order.
pub const TRAFFIC_CLASSES: [TrafficClass; 5] = [
    TrafficClass::Key,
    TrafficClass::Plaintext,
    TrafficClass::Ciphertext,
    TrafficClass::Output,
    TrafficClass::Spill,
];

/// The chain of instructions that decides a program's time: each instruction on it started
/// when its predecessor on the chain (a producer, a reader it had to wait for, or the previous
/// instruction of its unit instance) finished. Its cycles sum to the program's.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CriticalPath {
    /// Instructions on the chain.
    pub instructions: u64,
    /// Cycles on the chain: the program's cycles.
    pub cycles: u64,
    /// Occupancy cycles on the chain, by unit name (every unit listed).
    pub by_unit: std::collections::BTreeMap<&'static str, u64>,
    /// Pipeline and memory-access latency cycles on the chain.
    pub latency_cycles: u64,
}

/// Per-unit occupancy (indices as [`UNITS`]), latency, and instruction count of a chain.
type Chain = [u64; 7];
const CHAIN_LATENCY: usize = 5;
const CHAIN_COUNT: usize = 6;

/// Simulates the timing of `program` on `config`. The program is validated; its slots must
/// fit the scratchpad (`slots * N * word_bytes <= scratchpad.bytes`), and its primes must fit
/// the machine word.
pub fn simulate(program: &Program, config: &HwConfig) -> Result<TimingReport> {
    program.validate("program")?;
    let roles: Vec<BufferRole> = program.buffers.iter().map(|b| b.role).collect();
    let mut scheduler =
        Scheduler::new(config, program.log_n, &program.moduli, program.slots, roles)?;
    for ins in &program.instructions {
        scheduler.push(ins)?;
    }
    Ok(scheduler.finish())
}

/// The timing model over a stream of instructions (see the module docs): instructions are
/// pushed one at a time in program order, so a program of any length is timed in memory
/// proportional to its slots and buffers, never to its length. [`simulate`] is this over a
/// whole [`Program`]; a whole-network stream pushes its instructions as they are generated.
/// Instructions must be valid for the stream's slots and buffers (as [`Program::validate`]
/// checks); an out-of-range slot or buffer is an error naming the instruction.
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

    fn with_costs(config: &HwConfig, costs: Costs, slots: u32, roles: Vec<BufferRole>) -> Self {
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
        instances[idx] = (done, done_chain);
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

/// Runs the scoreboard over `program` with per-instruction `costs` (tests set costs by hand).
#[cfg(test)]
fn schedule(program: &Program, config: &HwConfig, costs: &Costs) -> Result<TimingReport> {
    let roles = program.buffers.iter().map(|b| b.role).collect();
    let mut scheduler = Scheduler::with_costs(config, costs.clone(), program.slots, roles);
    for ins in &program.instructions {
        scheduler.push(ins)?;
    }
    Ok(scheduler.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::{Buffer, BufferRole, PolyForm};
    use heaccel_verification::arith::ntt_primes;

    fn program(log_n: u32, slots: u32, instructions: Vec<Instruction>, limbs: u32) -> Program {
        let mut p = Program::new(log_n, ntt_primes(30, log_n, 2, &[]).unwrap(), slots);
        p.buffers = vec![Buffer {
            name: "x".into(),
            limbs,
            role: BufferRole::Input,
        }];
        p.instructions = instructions;
        p
    }

    #[test]
    fn lone_ntt_takes_butterflies_over_throughput_plus_fill() {
        let config = HwConfig::preset("fpga-u280").unwrap();
        for log_n in [10u32, 12, 14, 16] {
            let n = 1u64 << log_n;
            // The slot is written by nothing: its value is ready at cycle 0.
            let p = program(
                log_n,
                1,
                vec![Instruction::Ntt {
                    slot: 0,
                    modulus: 0,
                }],
                1,
            );
            let r = simulate(&p, &config).unwrap();
            let bound = (n / 2 * log_n as u64).div_ceil(config.ntt.butterflies_per_unit as u64);
            assert_eq!(
                r.cycles,
                bound + config.ntt.pipeline_latency as u64,
                "log_n {log_n}"
            );
            assert_eq!(r.bound, Unit::Ntt);
        }
    }

    #[test]
    fn memory_stream_takes_bytes_over_bandwidth() {
        for name in ["fpga-u280", "asic"] {
            let config = HwConfig::preset(name).unwrap();
            let log_n = 16;
            let limbs = 40u32;
            let loads = (0..limbs)
                .map(|l| Instruction::Load {
                    dst: l % 4,
                    buffer: 0,
                    limb: l,
                })
                .collect();
            let p = program(log_n, 4, loads, limbs);
            let r = simulate(&p, &config).unwrap();
            let bytes = limbs as u64 * (1 << log_n) * config.word_bytes();
            assert_eq!(r.offchip_bytes, bytes);
            let bound_us = bytes as f64 / (config.memory.bandwidth_gb_s * 1e3);
            assert!(
                r.time_us >= bound_us,
                "{name}: {} us below the bandwidth bound {bound_us} us",
                r.time_us
            );
            // within one load's rounding and the access latency of the bound
            let slack_us = limbs as f64 / config.clock_mhz
                + config.memory.latency_ns / 1e3
                + 1.0 / config.clock_mhz;
            assert!(
                r.time_us <= bound_us + slack_us,
                "{name}: {} us vs bound {bound_us} us",
                r.time_us
            );
            assert_eq!(r.bound, Unit::Memory);
            assert!(r.busy(Unit::Memory) > 0.95);
        }
    }

    #[test]
    fn dependencies_serialize_and_independent_units_overlap() {
        use Instruction::*;
        let config = HwConfig::preset("fpga-u280").unwrap();
        let log_n = 12;
        let ntt = Costs::new(&config, log_n).ntt + config.ntt.pipeline_latency as u64;
        let aut = Costs::new(&config, log_n).automorph + config.automorph.pipeline_latency as u64;
        // dependent: NTT then automorphism of its result
        let dep = program(
            log_n,
            2,
            vec![
                Ntt {
                    slot: 0,
                    modulus: 0,
                },
                Automorph {
                    dst: 1,
                    src: 0,
                    galois: 5,
                    form: PolyForm::Ntt,
                    modulus: 0,
                },
            ],
            1,
        );
        assert_eq!(simulate(&dep, &config).unwrap().cycles, ntt + aut);
        // independent: they overlap
        let ind = program(
            log_n,
            2,
            vec![
                Ntt {
                    slot: 0,
                    modulus: 0,
                },
                Automorph {
                    dst: 1,
                    src: 1,
                    galois: 5,
                    form: PolyForm::Ntt,
                    modulus: 0,
                },
            ],
            1,
        );
        assert_eq!(simulate(&ind, &config).unwrap().cycles, ntt.max(aut));
        // two NTT units run two independent NTTs at once; a third waits
        let three = program(
            log_n,
            3,
            (0..3)
                .map(|s| Ntt {
                    slot: s,
                    modulus: 0,
                })
                .collect(),
            1,
        );
        let base = Costs::new(&config, log_n).ntt;
        assert_eq!(
            simulate(&three, &config).unwrap().cycles,
            2 * base + config.ntt.pipeline_latency as u64
        );
        // write-after-read: overwriting a slot waits for its reader to finish
        let war = program(
            log_n,
            2,
            vec![
                Automorph {
                    dst: 1,
                    src: 0,
                    galois: 5,
                    form: PolyForm::Ntt,
                    modulus: 0,
                },
                Ntt {
                    slot: 0,
                    modulus: 0,
                },
            ],
            1,
        );
        let r = simulate(&war, &config).unwrap();
        assert_eq!(r.cycles, Costs::new(&config, log_n).automorph + ntt);
    }

    /// In-order blocking issue: the cycles of a mixed program (loads, NTTs on two units,
    /// element-wise, automorphism, store; dependent and independent instructions) are the
    /// sum of each instruction simulated alone, and the overlapped policy is never slower.
    #[test]
    fn blocking_issue_sums_isolated_instruction_times() {
        use crate::config::IssuePolicy;
        use Instruction::*;
        for name in ["fpga-u280", "asic"] {
            let overlapped = HwConfig::preset(name).unwrap();
            let mut blocking = overlapped.clone().into_literal();
            blocking.issue.policy = IssuePolicy::InOrderBlocking;
            let blocking = HwConfig::new(blocking, name).unwrap();
            let log_n = 12;
            let instructions = vec![
                Load {
                    dst: 0,
                    buffer: 0,
                    limb: 0,
                },
                Load {
                    dst: 1,
                    buffer: 0,
                    limb: 1,
                },
                Ntt {
                    slot: 0,
                    modulus: 0,
                },
                Ntt {
                    slot: 1,
                    modulus: 1,
                },
                Mul {
                    dst: 2,
                    a: 0,
                    b: 1,
                    modulus: 0,
                },
                Automorph {
                    dst: 3,
                    src: 1,
                    galois: 5,
                    form: PolyForm::Ntt,
                    modulus: 1,
                },
                AddScalar {
                    dst: 1,
                    a: 0,
                    scalar: 7,
                    modulus: 0,
                },
                Intt {
                    slot: 2,
                    modulus: 0,
                },
                Store {
                    src: 2,
                    buffer: 0,
                    limb: 0,
                },
            ];
            let p = program(log_n, 4, instructions.clone(), 2);
            // Each instruction alone: occupancy + latency, from the same model.
            let alone: Vec<u64> = instructions
                .iter()
                .map(|ins| {
                    simulate(&program(log_n, 4, vec![ins.clone()], 2), &overlapped)
                        .unwrap()
                        .cycles
                })
                .collect();
            // Against hand-written costs, so the sum below is not the model checking itself.
            let c = Costs::new(&overlapped, log_n);
            let hand = [
                c.memory + c.memory_latency,
                c.memory + c.memory_latency,
                c.ntt + c.latency[0],
                c.ntt + c.latency[0],
                c.elementwise + c.latency[1],
                c.automorph + c.latency[2],
                c.elementwise + c.latency[1],
                c.ntt + c.latency[0],
                c.memory,
            ];
            assert_eq!(alone, hand, "{name}");
            let sum: u64 = hand.iter().sum();
            let b = simulate(&p, &blocking).unwrap();
            let o = simulate(&p, &overlapped).unwrap();
            assert_eq!(b.cycles, sum, "{name}: blocking");
            assert!(o.cycles < b.cycles, "{name}: {} vs {}", o.cycles, b.cycles);
            // Busy cycles are the same work either way.
            for (ub, uo) in b.units.iter().zip(&o.units) {
                assert_eq!(ub.busy_cycles, uo.busy_cycles);
                assert_eq!(ub.instructions, uo.instructions);
            }
            // A fully dependent chain has nothing to overlap: both policies agree.
            let chain = program(
                log_n,
                2,
                vec![
                    Load {
                        dst: 0,
                        buffer: 0,
                        limb: 0,
                    },
                    Ntt {
                        slot: 0,
                        modulus: 0,
                    },
                    Automorph {
                        dst: 1,
                        src: 0,
                        galois: 5,
                        form: PolyForm::Ntt,
                        modulus: 0,
                    },
                    Store {
                        src: 1,
                        buffer: 0,
                        limb: 0,
                    },
                ],
                1,
            );
            assert_eq!(
                simulate(&chain, &blocking).unwrap().cycles,
                simulate(&chain, &overlapped).unwrap().cycles,
                "{name}: chain"
            );
        }
    }

    /// Issue 22: cycle and byte totals are checked; one that does not fit 64 bits is an
    /// error naming the instruction, never a wrapped (small) number. No configuration within
    /// the documented ranges gets there, so the costs are set by hand.
    #[test]
    fn totals_that_overflow_are_errors_not_wrapped_numbers() {
        use Instruction::*;
        let config = HwConfig::preset("asic").unwrap();
        let loads = |k: u32| {
            (0..k)
                .map(|l| Load {
                    dst: l % 2,
                    buffer: 0,
                    limb: 0,
                })
                .collect::<Vec<_>>()
        };
        let mut costs = Costs::new(&config, 10);
        costs.memory = 1 << 63;
        // One such load fits; its cycles are exactly occupancy + latency.
        let r = schedule(&program(10, 2, loads(1), 1), &config, &costs).unwrap();
        assert_eq!(r.cycles, (1 << 63) + costs.memory_latency);
        // The second one, queued behind it on the one channel, does not.
        let e = schedule(&program(10, 2, loads(2), 1), &config, &costs).unwrap_err();
        assert!(
            matches!(e, crate::SimError::Overflow { instruction: 1, .. }),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(
            text.contains("instructions[1]") && text.contains("asic"),
            "{text}"
        );
        // Latency alone past the end of the range.
        costs.memory = 1;
        costs.memory_latency = u64::MAX;
        let e = schedule(&program(10, 2, loads(1), 1), &config, &costs).unwrap_err();
        assert!(
            matches!(e, crate::SimError::Overflow { instruction: 0, .. }),
            "{e:?}"
        );
    }

    /// The critical path's cycles are the program's, and its shares are the units and
    /// latencies of a chain found by hand; off-chip bytes split by the buffers' roles.
    #[test]
    fn critical_path_and_traffic_classes() {
        use Instruction::*;
        let config = HwConfig::preset("fpga-u280").unwrap();
        let log_n = 12;
        let c = Costs::new(&config, log_n);
        let mut p = program(
            log_n,
            3,
            vec![
                Load {
                    dst: 0,
                    buffer: 0,
                    limb: 0,
                },
                Load {
                    dst: 1,
                    buffer: 1,
                    limb: 0,
                },
                Ntt {
                    slot: 0,
                    modulus: 0,
                },
                Mul {
                    dst: 2,
                    a: 0,
                    b: 1,
                    modulus: 0,
                },
                Free { buffer: 1 },
                Store {
                    src: 2,
                    buffer: 2,
                    limb: 0,
                },
                Store {
                    src: 2,
                    buffer: 3,
                    limb: 0,
                },
            ],
            1,
        );
        for (name, role) in [
            ("k", BufferRole::Key),
            ("out", BufferRole::Output),
            ("spill", BufferRole::Temp),
        ] {
            p.buffers.push(Buffer {
                name: name.into(),
                limbs: 1,
                role,
            });
        }
        let r = simulate(&p, &config).unwrap();
        // load x -> NTT -> mul -> the second store (queued behind the first on the channel).
        let hand = c.memory
            + c.memory_latency
            + c.ntt
            + c.latency[0]
            + c.elementwise
            + c.latency[1]
            + 2 * c.memory;
        assert_eq!(r.cycles, hand);
        let cp = &r.critical_path;
        assert_eq!(cp.cycles, r.cycles);
        assert_eq!(cp.by_unit["ntt"], c.ntt);
        assert_eq!(cp.by_unit["modmul"], c.elementwise);
        assert_eq!(cp.by_unit["memory"], 3 * c.memory);
        assert_eq!(
            cp.latency_cycles,
            c.memory_latency + c.latency[0] + c.latency[1]
        );
        assert_eq!(cp.instructions, 5);
        let v = 4096 * config.word_bytes();
        assert_eq!(r.offchip_by_class["ciphertext"], v);
        assert_eq!(r.offchip_by_class["key"], v);
        assert_eq!(r.offchip_by_class["output"], v);
        assert_eq!(r.offchip_by_class["spill"], v);
        assert_eq!(r.offchip_by_class["plaintext"], 0);
        assert_eq!(r.offchip_bytes, 4 * v);
        assert_eq!(r.instructions, 7);
        // A streamed run pushes the same instructions to the same report.
        let roles = p.buffers.iter().map(|b| b.role).collect();
        let mut s = Scheduler::new(&config, log_n, &p.moduli, p.slots, roles).unwrap();
        for ins in &p.instructions {
            s.push(ins).unwrap();
        }
        assert_eq!(s.finish(), r);
        // An out-of-range slot or buffer in a stream is an error naming the instruction.
        let roles = p.buffers.iter().map(|b| b.role).collect();
        let mut s = Scheduler::new(&config, log_n, &p.moduli, p.slots, roles).unwrap();
        let e = s.push(&Copy { dst: 3, src: 0 }).unwrap_err().to_string();
        assert!(e.contains("instructions[0]") && e.contains("slot 3"), "{e}");
        let e = s.push(&Free { buffer: 4 }).unwrap_err().to_string();
        assert!(
            e.contains("instructions[1].buffer") && e.contains("buffer 4"),
            "{e}"
        );
    }

    #[test]
    fn over_full_programs_and_narrow_words_are_errors() {
        let config = HwConfig::preset("fpga-u280").unwrap();
        let p = program(16, 100_000, vec![], 1);
        let e = simulate(&p, &config).unwrap_err().to_string();
        assert!(e.contains("slots") && e.contains("scratchpad"), "{e}");
        let mut p = program(12, 1, vec![], 1);
        p.moduli = ntt_primes(40, 12, 1, &[]).unwrap();
        let e = simulate(&p, &config).unwrap_err().to_string();
        assert!(e.contains("moduli[0]") && e.contains("32-bit"), "{e}");
    }
}
