//! FPGA flows of heaccel: the designs built from the hdl/ blocks ([`design`]), the Vivado,
//! XDC and Yosys scripts `heaccel fpga build` writes ([`flow`]), the Yosys runner and the
//! per-block split of its `stat` report ([`yosys`]; the report's parser is
//! `heaccel_hdl::yosys`, re-exported there), the lane fit against a device budget ([`fit`]),
//! the design options of `heaccel fpga build` and `estimate` checked into parameters
//! ([`options`]), and the estimate itself: two syntheses, the fit, the preset
//! ([`mod@estimate`]).

#![warn(missing_docs)]

pub mod datapath;
pub mod design;
pub mod estimate;
pub mod fit;
pub mod flow;
pub mod options;
pub mod preset;
pub mod yosys;

use std::path::PathBuf;

pub use design::{build_design, describe, Design, DesignKind, DesignParams};
pub use estimate::{estimate, synthesize, EstimateOptions, EstimateReport, SynthRun};
pub use fit::{
    core_preset_lanes, fit_lanes, lanes_within, preset_lanes, Budget, FitReport, PresetLanes,
    ResourceFit, U280,
};
pub use flow::{Target, U280_PART};
pub use options::{build_command, build_files, design_files, DesignChoice, DesignOptions};
pub use yosys::{parse_stat, per_block, BlockResources, Resources, StatReport};

/// Errors of the FPGA flows. Messages name the command line's option (`--lanes`, ...) or
/// the file, and what is allowed.
#[derive(Debug, thiserror::Error)]
pub enum FpgaError {
    /// A parameter out of range: `{field} {value}: {expected}`.
    #[error("{field} {value}: {expected}")]
    Parameter {
        /// The option, e.g. `--lanes`.
        field: &'static str,
        /// The value given, as shown.
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// An error of the design at another option's value, e.g. the second lane count of a fit
    /// (`--fit-lanes: --lanes 256: ...`).
    #[error("{field}")]
    Context {
        /// The option.
        field: &'static str,
        /// The error at its value.
        source: Box<FpgaError>,
    },
    /// No 30-bit prime `= 1 mod 2N` for the ring.
    #[error("no 30-bit prime for N = 2^{log_n}: {reason}")]
    NoPrime {
        /// log2(N).
        log_n: u32,
        /// The prime search's error.
        reason: heaccel_verification::Error,
    },
    /// Fewer 30-bit primes `= 1 mod 2N` than a core's limbs.
    #[error("{field} {count}: not enough 30-bit primes for N = 2^{log_n}: {reason}")]
    NotEnoughPrimes {
        /// The option (`--primes`).
        field: &'static str,
        /// Primes asked for.
        count: usize,
        /// log2(N).
        log_n: u32,
        /// The prime search's error.
        reason: heaccel_verification::Error,
    },
    /// A prime the blocks cannot use (`--q: ...`).
    #[error("{field}: {reason}")]
    InvalidPrime {
        /// The option (`--q`).
        field: &'static str,
        /// Why.
        reason: heaccel_hdl::HdlError,
    },
    /// The datapath's blocks refuse their parameters (the message names the parameter as an
    /// option: `--lanes = ...`).
    #[error("--{0}")]
    Datapath(heaccel_hdl::HdlError),
    /// The core refuses its geometry.
    #[error("the core: {0}")]
    Core(heaccel_hdl::HdlError),
    /// The generated Verilog does not pass the netlist sharing (a generator bug).
    #[error("the generated Verilog: {0}")]
    Netlist(#[from] heaccel_hdl::netlist::NetlistError),
    /// A core without primes.
    #[error("a core has at least one prime")]
    NoCorePrimes,
    /// Not one lane fits the device budget.
    #[error("no lane fits the device budget: no preset can be derived")]
    NoLaneFits,
    /// A tool is not installed.
    #[error("{tool} is not installed (or not on PATH): {purpose}; install it (Debian: apt-get install {package})")]
    ToolMissing {
        /// The program.
        tool: &'static str,
        /// What needs it.
        purpose: &'static str,
        /// The Debian package holding it.
        package: &'static str,
    },
    /// A tool could not be started.
    #[error("cannot run {tool}: {reason}")]
    Spawn {
        /// The program.
        tool: &'static str,
        /// The operating system's error.
        reason: std::io::Error,
    },
    /// Yosys failed (e.g. `check -assert`): its log's tail and its standard error.
    #[error("yosys failed (log {}):\n{tail}{stderr}", log.display())]
    YosysFailed {
        /// The log file.
        log: PathBuf,
        /// The log's last lines.
        tail: String,
        /// Yosys's standard error.
        stderr: String,
    },
    /// Yosys's report disagrees with itself: the per-module sum against the total.
    #[error("per-module resources sum to {sum:?} but Yosys's hierarchy total is {total:?}")]
    TotalMismatch {
        /// The sum of every module times its instances.
        sum: Resources,
        /// Yosys's hierarchy total.
        total: Resources,
    },
    /// A Yosys `stat` report is missing, malformed or out of range.
    #[error(transparent)]
    Stat(#[from] yosys::StatError),
    /// A Yosys log whose `stat` report is missing, malformed or out of range.
    #[error("reading {}", path.display())]
    Log {
        /// The log file.
        path: PathBuf,
        /// What is wrong with its report.
        source: yosys::StatError,
    },
    /// A file that cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Writing an output failed.
    #[error(transparent)]
    Output(#[from] heaccel_files::WriteError),
    /// No resource grows with the lanes, so the fit bounds nothing (and no preset follows).
    #[error("no resource grows with the lanes: the fit bounds nothing")]
    NoLaneBound,
    /// The derived preset does not validate as a simulator configuration.
    #[error("the derived preset does not validate: {0}")]
    Preset(heaccel_sim::SimError),
}
