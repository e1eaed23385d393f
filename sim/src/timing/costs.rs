//! The cost of one instruction on a configuration: the cycles it occupies its unit and the
//! latency until its result is ready, and the slots it reads and writes.

use crate::config::HwConfig;
use crate::isa::{Instruction, Slot};

/// Per-instruction costs of a configuration at one ring degree.
#[derive(Clone, Debug)]
pub(super) struct Costs {
    pub(super) ntt: u64,
    pub(super) elementwise: u64,
    pub(super) automorph: u64,
    pub(super) memory: u64,
    pub(super) memory_latency: u64,
    pub(super) bconv_lanes: u64,
    pub(super) n: u64,
    pub(super) latency: [u64; 5],
    pub(super) instances: [u32; 5],
}

impl Costs {
    /// The costs at `N = 2^log_n`. Within the configuration's ranges and `log_n <= 17` a load
    /// costs below 2^27 cycles (2^20 bytes at 0.01 bytes a cycle, plus 10^6 cycles of
    /// latency); a memory cost that does not fit 64 bits saturates to `u64::MAX` (Rust's
    /// float-to-integer conversion) and the checked totals of [`schedule`] then refuse it.
    pub(super) fn new(config: &HwConfig, log_n: u32) -> Self {
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
    pub(super) fn of(&self, ins: &Instruction) -> Option<(usize, u64, u64)> {
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
