//! The simulator configuration of a core.

use heaccel_hdl::core::{bconv_cycles, cycles_of, opcode, CoreGeometry, EwLane};
use heaccel_hdl::{AutomorphUnit, NttUnit};
use heaccel_sim::config::{
    AutomorphConfig, HwConfig, HwConfigLiteral, IssueConfig, IssuePolicy, LanesConfig,
    MemoryConfig, NttConfig, ScratchpadConfig,
};
use heaccel_sim::SimError;

/// The simulator configuration describing the core `geo` (clock 250 MHz, 32-bit words):
/// one NTT unit of `P` butterflies, `2P` element-wise lanes, one automorphism unit of `2P`
/// lanes, a memory channel of `2P` words per cycle, the scratchpad of the core's slots.
///
/// `derived = false`: unit latencies are the blocks' pipeline latencies (`NttUnit::LATENCY`,
/// `EwLane::LATENCY`, `AutomorphUnit::LATENCY`), no memory latency. `derived = true`: each
/// latency is the core's whole per-instruction cost beyond the simulator's occupancy
/// (`heaccel_hdl::core::cycles_of` minus `work / throughput`): the NTT unit's stage drains,
/// the copies into and out of the unit's banks, the fetch and the scratchpad read/write.
///
/// Basis conversion: the core has one unit per conversion table and row lane, each taking one
/// residue per cycle and doing `1 + L` multiplications with it (the scaling and `L`
/// multiply-accumulates), so a `bconv` occupies `D K` cycles; the simulator's occupancy is
/// `N (K L + K) / lanes`, equal for `lanes = 2P (L + 1)`. The tables' largest `L` sets the
/// lanes (exact for programs whose conversions share `L`, such as rescale; a table of
/// smaller `L` is simulated faster than the core runs it); the latency is the plain unit's
/// (`BconvUnit` latency) or the derived `bconv_cycles - D K` of that table. Without tables:
/// one lane, latency 0 (the core runs no `bconv`).
///
/// `policy`: [`IssuePolicy::InOrderBlocking`] describes a core built in order,
/// [`IssuePolicy::Scoreboard`] an overlapped one (its scoreboard of slot owners);
/// [`IssuePolicy::Overlapped`] gives what the same units would take with the simulator's
/// dataflow issue. The name ends in `-scoreboard` or `-overlapped` for the latter two.
///
/// Errors: a core too large for the simulator's ranges (e.g. more than 4,096 butterflies),
/// naming the field.
pub fn core_hw_config(
    geo: &CoreGeometry,
    derived: bool,
    policy: IssuePolicy,
) -> Result<HwConfig, SimError> {
    let (n, d, p, log_n) = (geo.n(), geo.depth(), geo.lanes(), geo.log_n() as usize);
    let clock_mhz = 250.0;
    let extra = |op: u32, occupancy: usize| (cycles_of(geo, op) - occupancy) as u32;
    let (ntt_lat, ew_lat, aut_lat, mem_ns) = if derived {
        (
            extra(opcode::NTT, log_n * d),
            extra(opcode::ADD, d),
            extra(opcode::AUTOMORPH, d),
            // One cycle: the fetch of a load (4 ns at 250 MHz).
            (cycles_of(geo, opcode::LOAD) - d) as f64 * 1e3 / clock_mhz,
        )
    } else {
        (
            <NttUnit>::LATENCY as u32,
            EwLane::LATENCY as u32,
            <AutomorphUnit>::LATENCY as u32,
            0.0,
        )
    };
    let widest = geo
        .conversions()
        .iter()
        .max_by_key(|c| (c.to.len(), c.from.len()));
    let bconv = match widest {
        None => LanesConfig {
            lanes: 1,
            pipeline_latency: 0,
        },
        Some(c) => LanesConfig {
            lanes: (2 * p * (c.to.len() + 1)) as u32,
            pipeline_latency: if derived {
                (bconv_cycles(geo, c) - d * c.from.len()) as u32
            } else {
                c.latency() as u32
            },
        },
    };
    let literal = HwConfigLiteral {
        name: format!(
            "core-n{}-p{}{}{}",
            geo.log_n(),
            p,
            if derived { "-derived" } else { "" },
            match policy {
                IssuePolicy::InOrderBlocking => "",
                IssuePolicy::Scoreboard => "-scoreboard",
                IssuePolicy::Overlapped => "-overlapped",
            }
        ),
        clock_mhz,
        word_bits: 32,
        ntt: NttConfig {
            units: 1,
            butterflies_per_unit: p as u32,
            pipeline_latency: ntt_lat,
        },
        modmul: LanesConfig {
            lanes: 2 * p as u32,
            pipeline_latency: ew_lat,
        },
        automorph: AutomorphConfig {
            units: 1,
            lanes: 2 * p as u32,
            pipeline_latency: aut_lat,
        },
        bconv,
        scratchpad: ScratchpadConfig {
            bytes: ((geo.slots() * n * 4) as u64).max(1024),
            banks: (geo.slots() * 2 * p) as u32,
        },
        memory: MemoryConfig {
            bandwidth_gb_s: 8.0 * p as f64 * clock_mhz / 1e3,
            latency_ns: mem_ns,
        },
        issue: IssueConfig { policy },
    };
    let source = literal.name.clone();
    HwConfig::new(literal, &source)
}
