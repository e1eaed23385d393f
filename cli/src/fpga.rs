//! `heaccel fpga build` and `heaccel fpga estimate`: the Verilog of a design with its Vivado,
//! XDC and Yosys scripts; Yosys resources per block, the lanes that fit the U280, and the
//! simulator preset derived from that fit.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use heaccel_fpga::estimate::{EstimateOptions, EstimateReport};
use heaccel_fpga::flow::{self, Target};
use heaccel_fpga::{DesignChoice, DesignOptions, Resources};

use crate::output::write_all_or_nothing;

/// `heaccel fpga ...`.
#[derive(Debug, Subcommand)]
pub enum FpgaCommand {
    /// Write the design's Verilog, a Vivado non-project Tcl script, XDC constraints and a
    /// Yosys script.
    ///
    /// Example: heaccel fpga build --target u280 --lanes 8 --log-n 12 --out fpga-out
    Build(BuildArgs),
    /// Synthesize with Yosys at two lane counts: resources per block, lanes that fit the U280
    /// (linear in the lanes), and optionally the matching simulator preset.
    ///
    /// Example: heaccel fpga estimate --lanes 8 --fit-lanes 64 --log-n 12 --write-preset u280.toml
    Estimate(EstimateArgs),
}

/// Targets of `--target`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// Alveo U280 (xcu280-fsvh2892-2L-e).
    U280,
    /// Any part (given to the Tcl script); no part-specific constraints.
    Generic,
}

/// Designs of `--design`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DesignArg {
    /// The hdl/ blocks side by side: NTT unit (P butterflies), P modmul lanes, automorphism
    /// unit (P lanes).
    Datapath,
    /// The accelerator core (heaccel verify core): per prime an NTT unit of P butterflies and
    /// 2P element-wise lanes, an automorphism unit of 2P lanes, scratchpad, instruction queue,
    /// register file, AXI4-Stream ports.
    Core,
}

impl DesignOpts {
    /// The options as the FPGA flows take them (checked there).
    pub fn options(&self) -> DesignOptions {
        DesignOptions {
            design: match self.design {
                DesignArg::Datapath => DesignChoice::Datapath,
                DesignArg::Core => DesignChoice::Core,
            },
            lanes: self.lanes,
            log_n: self.log_n,
            clock_mhz: self.clock_mhz,
            q: self.q,
            primes: self.primes,
            slots: self.slots,
        }
    }
}

/// The design options shared by `build` and `estimate`.
#[derive(Debug, Args, Clone)]
pub struct DesignOpts {
    /// The design.
    #[arg(long, value_enum, default_value = "datapath")]
    pub design: DesignArg,
    /// Lanes P: a power of two in [1, 128] with N >= 4P.
    #[arg(long, default_value_t = 8, value_name = "P")]
    pub lanes: u32,
    /// log2(N), in [2, 16].
    #[arg(long = "log-n", default_value_t = 12, value_name = "K")]
    pub log_n: u32,
    /// Core clock in MHz, in [1, 1000].
    #[arg(long = "clock-mhz", default_value_t = 300.0, value_name = "F")]
    pub clock_mhz: f64,
    /// The prime (default: the largest 30-bit prime = 1 mod 2N); the core's first prime.
    #[arg(long)]
    pub q: Option<u64>,
    /// Primes (limbs) of the core, in [1, 16] (default 2): --q, then the largest other
    /// 30-bit primes = 1 mod 2N. Core only.
    #[arg(long, value_name = "M")]
    pub primes: Option<usize>,
    /// Scratchpad slots of the core, in [1, 256] (default 4). Core only.
    #[arg(long, value_name = "S")]
    pub slots: Option<usize>,
}

/// Arguments of `heaccel fpga build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Target device.
    #[arg(long, value_enum)]
    pub target: TargetArg,
    /// `--design`, `--lanes`, `--log-n`, `--clock-mhz`, `--primes`, `--slots`, `--q`.
    #[command(flatten)]
    pub design: DesignOpts,
    /// Output folder (created).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Arguments of `heaccel fpga estimate`.
#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// `--design`, `--lanes`, `--log-n`, `--clock-mhz`, `--primes`, `--slots`, `--q`.
    #[command(flatten)]
    pub design: DesignOpts,
    /// Second lane count of the linear fit (default 2P; must exceed --lanes).
    #[arg(long = "fit-lanes", value_name = "P2")]
    pub fit_lanes: Option<u32>,
    /// Keep the Verilog, scripts and Yosys logs under this folder, one subfolder per lane
    /// count (default: a temporary folder, removed afterwards). A subfolder that already holds
    /// exactly these files and a complete yosys.log is reused without running Yosys again.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write the simulator preset (HwConfig TOML) whose lane counts come from the fit: the
    /// datapath's P lanes as P butterflies and P multipliers, the core's as its per-prime NTT
    /// units and 2P element-wise lanes per prime (configs/fpga-u280.toml is the core's).
    #[arg(long = "write-preset", value_name = "FILE")]
    pub write_preset: Option<PathBuf>,
}

impl EstimateArgs {
    /// The options as [`heaccel_fpga::estimate()`] takes them.
    pub fn options(&self) -> EstimateOptions {
        EstimateOptions {
            design: self.design.options(),
            fit_lanes: self.fit_lanes,
            out: self.out.clone(),
            write_preset: self.write_preset.clone(),
        }
    }
}

fn target(t: TargetArg) -> Target {
    match t {
        TargetArg::U280 => Target::U280,
        TargetArg::Generic => Target::Generic,
    }
}

/// `heaccel fpga build`: returns the files written.
pub fn build(args: &BuildArgs) -> Result<Vec<PathBuf>> {
    crate::output::check_outputs(
        &args.out,
        &[
            flow::VERILOG_FILE,
            flow::VIVADO_FILE,
            flow::XDC_FILE,
            flow::YOSYS_FILE,
        ],
    )
    .context("--out")?;
    let files = heaccel_fpga::build_files(target(args.target), &args.design.options(), &args.out)?;
    Ok(write_all_or_nothing(&args.out, &files)?)
}

/// `heaccel fpga estimate`.
pub fn estimate(args: &EstimateArgs) -> Result<EstimateReport> {
    if let Some(path) = &args.write_preset {
        crate::output::check_output_file(path).context("--write-preset")?;
    }
    Ok(heaccel_fpga::estimate(&args.options())?)
}

fn resource_row(name: &str, r: &Resources) -> String {
    format!(
        "  {:<14} {:>9} {:>8} {:>9} {:>6} {:>7} {:>7} {:>5}\n",
        name, r.lut, r.lutram, r.ff, r.dsp, r.ramb36, r.ramb18, r.uram
    )
}

/// The tables of an estimate.
pub fn format_estimate(r: &EstimateReport) -> String {
    let mut s = String::new();
    for run in &r.runs {
        s += &format!(
            "{} design at N = 2^{}, P = {} (q = {}; {})\n  {:<14} {:>9} {:>8} {:>9} {:>6} {:>7} \
             {:>7} {:>5}\n",
            r.design,
            r.log_n,
            run.lanes,
            r.q,
            r.synthesis,
            "block",
            "LUT",
            "LUTRAM",
            "FF",
            "DSP",
            "RAMB36",
            "RAMB18",
            "URAM"
        );
        for b in &run.blocks {
            s += &resource_row(&b.block, &b.resources);
        }
        s += &resource_row("total", &run.total);
        s += "\n";
    }
    s += &format!(
        "Lanes that fit the {} ({}):\n  {:<8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}\n",
        r.fit.device,
        r.fit.method,
        "resource",
        format!("P={}", r.fit.lanes[0]),
        format!("P={}", r.fit.lanes[1]),
        "per lane",
        "fixed",
        "budget",
        "lanes"
    );
    for f in &r.fit.resources {
        s += &format!(
            "  {:<8} {:>10} {:>10} {:>10.2} {:>10.1} {:>10} {:>8}\n",
            f.resource,
            f.at_p1,
            f.at_p2,
            f.per_lane,
            f.fixed,
            f.budget,
            f.lanes_fit.map_or("-".to_string(), |l| l.to_string())
        );
    }
    s += &format!(
        "  by DSP: {}   by LUT: {}   binding: {} ({} lanes)\n",
        r.fit.lanes_fit_dsp.map_or("-".into(), |l| l.to_string()),
        r.fit.lanes_fit_lut.map_or("-".into(), |l| l.to_string()),
        r.fit.binding.as_deref().unwrap_or("none"),
        r.fit.lanes_fit.map_or("-".into(), |l| l.to_string()),
    );
    if let (Some(p), Some(path)) = (&r.preset, &r.preset_file) {
        s += &format!(
            "wrote {}: {} NTT unit(s) x {} butterflies, {} modmul lanes, {} automorphism unit(s) \
             x {} lanes, {} bconv lanes\n",
            path.display(),
            p.ntt_units,
            p.butterflies_per_unit,
            p.modmul_lanes,
            p.automorph_units,
            p.automorph_lanes,
            p.modmul_lanes
        );
    }
    s
}
