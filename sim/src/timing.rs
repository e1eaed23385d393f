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
//!
//! One concern a file: this file holds the entry point [`simulate`] and what the model
//! reports; the per-instruction costs of a configuration are in `timing/costs.rs`, the
//! scoreboard that schedules a stream of instructions ([`Scheduler`]) in
//! `timing/scheduler.rs`.
//!
//! [`SimError::Overflow`]: crate::error::SimError::Overflow

use serde::Serialize;

use crate::config::HwConfig;
use crate::error::Result;
use crate::isa::{BufferRole, Program};

mod costs;
mod scheduler;

pub(crate) use costs::{for_reads, for_writes};
pub use scheduler::Scheduler;

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

#[cfg(test)]
mod tests;
