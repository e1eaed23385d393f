//! The simulation's report types (serialized by `heaccel simulate --model --json`): per-layer
//! rows, totals and the whole network's result.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ParameterChoice;
use crate::pack::{OpCounts, Strategy};

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
    ///
    /// [`OpCoster::time_by_bound`]: super::OpCoster::time_by_bound
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

pub(super) fn strategy_name(s: &Strategy) -> &'static str {
    match s {
        Strategy::Dense => "dense",
        Strategy::Spencnn(_) => "spencnn",
    }
}

pub(super) fn layer_sim(
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
