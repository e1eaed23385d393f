//! `heaccel fpga build` and `heaccel fpga estimate`: the Verilog of a design with its Vivado,
//! XDC and Yosys scripts; Yosys resources per block, the lanes that fit the U280, and the
//! simulator preset derived from that fit.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use heaccel_fpga::estimate::{EstimateReport, SynthRun};
use heaccel_fpga::fit::FitReport;
use heaccel_fpga::flow::{self, Target};
use heaccel_fpga::preset::preset_toml;
use heaccel_fpga::yosys::{per_block, run_yosys};
use heaccel_fpga::{
    build_design, core_preset_lanes, fit_lanes, parse_stat, preset_lanes, Design, DesignKind,
    DesignParams, FpgaError, Resources, U280,
};

use crate::output::write_whole;

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

/// Defaults of the core's `--primes` and `--slots` (the two-limb program uses 4 slots).
const CORE_PRIMES: usize = 2;
const CORE_SLOTS: usize = 4;

impl DesignOpts {
    /// The design kind with its parameters; `--primes`/`--slots` are refused for the datapath.
    fn kind(&self) -> Result<DesignKind> {
        match self.design {
            DesignArg::Datapath => {
                if let Some(m) = self.primes {
                    bail!("--primes {m}: only for --design core (the datapath has one prime)");
                }
                if let Some(s) = self.slots {
                    bail!("--slots {s}: only for --design core (the datapath has no scratchpad)");
                }
                Ok(DesignKind::Datapath)
            }
            DesignArg::Core => Ok(DesignKind::Core {
                primes: self.primes.unwrap_or(CORE_PRIMES),
                slots: self.slots.unwrap_or(CORE_SLOTS),
            }),
        }
    }

    /// `--design NAME` and, for the core, `--primes M --slots S`, as on the command line.
    fn design_flags(&self) -> Result<String> {
        Ok(match self.kind()? {
            DesignKind::Datapath => "--design datapath".to_string(),
            DesignKind::Core { primes, slots } => {
                format!("--design core --primes {primes} --slots {slots}")
            }
        })
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

fn target(t: TargetArg) -> Target {
    match t {
        TargetArg::U280 => Target::U280,
        TargetArg::Generic => Target::Generic,
    }
}

fn design_params(o: &DesignOpts, lanes: u32) -> Result<DesignParams> {
    if let DesignKind::Core { primes, slots } = o.kind()? {
        if !(1..=16).contains(&primes) {
            bail!("--primes {primes}: a core holds 1 to 16 primes");
        }
        if !(1..=256).contains(&slots) {
            bail!("--slots {slots}: allowed range is [1, 256]");
        }
    }
    if !lanes.is_power_of_two() || lanes > 128 {
        bail!("--lanes {lanes}: must be a power of two in [1, 128]");
    }
    if !(2..=16).contains(&o.log_n) {
        bail!("--log-n {}: allowed range is [2, 16]", o.log_n);
    }
    if 4 * lanes as u64 > 1u64 << o.log_n {
        bail!(
            "--lanes {lanes}: the NTT unit needs N >= 4P (N = 2^{} allows at most {})",
            o.log_n,
            (1u64 << o.log_n) / 4
        );
    }
    flow::clock_period_ns(o.clock_mhz)?;
    let mut p = DesignParams::with_default_prime(o.log_n, lanes as usize)?;
    if let Some(q) = o.q {
        let two_n = 2u64 << o.log_n;
        if q % two_n != 1 {
            bail!(
                "--q {q}: must be 1 mod 2N = {two_n} for --log-n {}",
                o.log_n
            );
        }
        p.q = q;
    }
    Ok(p)
}

fn build_command(t: TargetArg, o: &DesignOpts, p: &DesignParams, out: &Path) -> Result<String> {
    Ok(format!(
        "heaccel fpga build --target {} {} --lanes {} --log-n {} --clock-mhz {} --q {} \
         --out {}",
        target(t).name(),
        o.design_flags()?,
        p.lanes,
        p.log_n,
        o.clock_mhz,
        p.q,
        out.display()
    ))
}

fn describe(d: &Design) -> String {
    let core = match d.kind {
        DesignKind::Datapath => String::new(),
        DesignKind::Core { primes, slots } => {
            format!(" (first of {primes} primes), {slots} slots")
        }
    };
    format!(
        "heaccel {} design (top module `{}`): N = 2^{}, P = {} lanes, q = {}{core}",
        d.kind.name(),
        d.top,
        d.params.log_n,
        d.params.lanes,
        d.params.q
    )
}

/// The four files of a design: `(file name, text)`.
fn design_files(
    t: TargetArg,
    o: &DesignOpts,
    design: &Design,
    command: &str,
) -> Result<Vec<(&'static str, String)>> {
    Ok(vec![
        (
            flow::VERILOG_FILE,
            flow::verilog_file(&describe(design), &design.verilog, command),
        ),
        (
            flow::VIVADO_FILE,
            flow::vivado_tcl(target(t), &design.top, command),
        ),
        (flow::XDC_FILE, flow::xdc(target(t), o.clock_mhz, command)?),
        (flow::YOSYS_FILE, flow::yosys_script(&design.top, command)),
    ])
}

/// Writes the four files of a design under `out`; returns their paths.
fn write_design(
    t: TargetArg,
    o: &DesignOpts,
    design: &Design,
    out: &Path,
    command: &str,
) -> Result<Vec<PathBuf>> {
    let files = design_files(t, o, design, command)?;
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (*n, t.clone())).collect();
    crate::output::write_all_or_nothing(out, &files)
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
    let p = design_params(&args.design, args.design.lanes)?;
    let design = build_design(args.design.kind()?, &p)?;
    let command = build_command(args.target, &args.design, &p, &args.out)?;
    write_design(args.target, &args.design, &design, &args.out, &command)
}

fn synthesize(o: &DesignOpts, p: &DesignParams, dir: &Path, keep: bool) -> Result<SynthRun> {
    let design = build_design(o.kind()?, p)?;
    let command = build_command(TargetArg::U280, o, p, dir)?;
    let files = design_files(TargetArg::U280, o, &design, &command)?;
    let log_path = dir.join("yosys.log");
    // A kept folder whose files are exactly these and whose Yosys log is complete is reused.
    let previous =
        keep && files.iter().all(|(name, text)| {
            std::fs::read_to_string(dir.join(name)).ok().as_ref() == Some(text)
        }) && std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains("End of script."));
    let log = if previous {
        std::fs::read_to_string(&log_path)
            .with_context(|| format!("cannot read {}", log_path.display()))?
    } else {
        write_design(TargetArg::U280, o, &design, dir, &command)?;
        run_yosys(dir, flow::YOSYS_FILE)?
    };
    let stat = parse_stat(&log).with_context(|| format!("reading {}", log_path.display()))?;
    let (blocks, total) = per_block(&design, &stat)?;
    Ok(SynthRun {
        lanes: p.lanes,
        blocks,
        total,
        log: keep.then_some(log_path),
        reused: previous,
    })
}

/// `heaccel fpga estimate`.
pub fn estimate(args: &EstimateArgs) -> Result<EstimateReport> {
    if let Some(path) = &args.write_preset {
        crate::output::check_output_file(path).context("--write-preset")?;
    }
    let o = &args.design;
    let p1 = design_params(o, o.lanes)?;
    let fit_lanes_arg = args.fit_lanes.unwrap_or(2 * o.lanes);
    if fit_lanes_arg <= o.lanes {
        bail!(
            "--fit-lanes {fit_lanes_arg}: must be larger than --lanes {}",
            o.lanes
        );
    }
    let p2 = design_params(o, fit_lanes_arg).context("--fit-lanes")?;
    if !heaccel_fpga::yosys::yosys_available() {
        bail!(
            "yosys is not installed (or not on PATH): `heaccel fpga estimate` runs Yosys \
             synth_xilinx; install it (Debian: apt-get install yosys)"
        );
    }
    let keep = args.out.is_some();
    let root = args.out.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("heaccel-fpga-estimate-{}", std::process::id()))
    });
    let mut runs = Vec::new();
    for p in [&p1, &p2] {
        let dir = root.join(format!("p{}", p.lanes));
        runs.push(synthesize(o, p, &dir, keep)?);
    }
    if !keep {
        let _ = std::fs::remove_dir_all(&root);
    }
    let resources = fit_lanes(
        p1.lanes as u64,
        &runs[0].total,
        p2.lanes as u64,
        &runs[1].total,
        &U280,
    )?;
    let fit = FitReport::new([p1.lanes, p2.lanes], o.log_n, resources, &U280);
    let mut report = EstimateReport {
        design: o.kind()?.name(),
        primes: match o.kind()? {
            DesignKind::Core { primes, .. } => Some(primes),
            DesignKind::Datapath => None,
        },
        log_n: o.log_n,
        q: p1.q,
        clock_mhz: o.clock_mhz,
        synthesis: "yosys synth_xilinx -family xcup (hierarchy kept), check -assert",
        runs,
        preset: None,
        preset_file: None,
        fit,
    };
    if let Some(path) = &args.write_preset {
        let lanes = report.fit.lanes_fit.ok_or(FpgaError::NoLaneBound)?;
        let preset = match o.kind()? {
            DesignKind::Datapath => preset_lanes(lanes)?,
            DesignKind::Core { primes, .. } => core_preset_lanes(lanes, primes as u64)?,
        };
        let text = preset_toml(&report, &preset, &estimate_command(args))?;
        write_whole(path, &text)?;
        report.preset = Some(preset);
        report.preset_file = Some(path.clone());
    }
    Ok(report)
}

fn estimate_command(args: &EstimateArgs) -> String {
    let o = &args.design;
    let mut s = format!(
        "heaccel fpga estimate {} --lanes {} --fit-lanes {} --log-n {} --clock-mhz {}",
        o.design_flags().unwrap_or_default(),
        o.lanes,
        args.fit_lanes.unwrap_or(2 * o.lanes),
        o.log_n,
        o.clock_mhz
    );
    if let Some(q) = o.q {
        s += &format!(" --q {q}");
    }
    if let Some(p) = &args.write_preset {
        s += &format!(" --write-preset {}", p.display());
    }
    s
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
