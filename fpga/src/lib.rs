//! FPGA flows of heaccel: the designs built from the hdl/ blocks ([`design`]), the Vivado,
//! XDC and Yosys scripts `heaccel fpga build` writes ([`flow`]), the Yosys runner and the
//! per-block split of its `stat` report ([`yosys`]; the report's parser is
//! `heaccel_hdl::yosys`, re-exported there), and the lane fit against a device budget ([`fit`]).

#![warn(missing_docs)]

pub mod datapath;
pub mod design;
pub mod estimate;
pub mod fit;
pub mod flow;
pub mod preset;
pub mod yosys;

pub use design::{build_design, Design, DesignKind, DesignParams};
pub use fit::{
    core_preset_lanes, fit_lanes, lanes_within, preset_lanes, Budget, FitReport, PresetLanes,
    ResourceFit, U280,
};
pub use flow::{Target, U280_PART};
pub use yosys::{parse_stat, per_block, BlockResources, Resources, StatReport};

/// Errors of the FPGA flows.
#[derive(Debug, thiserror::Error)]
pub enum FpgaError {
    /// A parameter out of range (the message names the option and the allowed range).
    #[error("{0}")]
    Parameter(String),
    /// A tool is not installed.
    #[error("{0}")]
    ToolMissing(String),
    /// Yosys failed, or its report disagrees with itself (the per-module sum against the
    /// total).
    #[error("{0}")]
    Yosys(String),
    /// A Yosys `stat` report is missing, malformed or out of range.
    #[error(transparent)]
    Stat(#[from] yosys::StatError),
    /// No resource grows with the lanes, so the fit bounds nothing (and no preset follows).
    #[error("no resource grows with the lanes: the fit bounds nothing")]
    NoLaneBound,
    /// The derived preset does not validate as a simulator configuration.
    #[error("the derived preset does not validate: {0}")]
    Preset(heaccel_sim::SimError),
}
