//! The report of an estimate: Yosys runs at two lane counts, the lane fit, the preset.

use std::path::PathBuf;

use serde::Serialize;

use crate::fit::{FitReport, PresetLanes};
use crate::yosys::{BlockResources, Resources};

/// One synthesis of an estimate.
#[derive(Debug, Serialize)]
pub struct SynthRun {
    /// Lanes P.
    pub lanes: usize,
    /// Resources per block (the last row, `glue`, is the top's own cells).
    pub blocks: Vec<BlockResources>,
    /// Resources of the whole design.
    pub total: Resources,
    /// Where the Yosys log is (when kept).
    pub log: Option<PathBuf>,
    /// `true` when `--out` already held this design's files and a complete Yosys log, which
    /// was read instead of running Yosys again.
    pub reused: bool,
}

/// JSON report of `heaccel fpga estimate`.
#[derive(Debug, Serialize)]
pub struct EstimateReport {
    /// The design.
    pub design: &'static str,
    /// Primes of the core (`null` for the datapath, which has one).
    pub primes: Option<usize>,
    /// log2(N).
    pub log_n: u32,
    /// The prime.
    pub q: u64,
    /// Clock of the preset.
    pub clock_mhz: f64,
    /// The synthesis flow.
    pub synthesis: &'static str,
    /// The two runs, lanes ascending.
    pub runs: Vec<SynthRun>,
    /// The fit.
    pub fit: FitReport,
    /// Preset lane counts derived from the fit.
    pub preset: Option<PresetLanes>,
    /// The preset file written.
    pub preset_file: Option<PathBuf>,
}
