//! `heaccel fpga build` and `heaccel fpga estimate`: the Verilog of a design with its Vivado,
//! XDC and Yosys scripts; Yosys resources per block, the lanes that fit the U280, and the
//! simulator preset derived from that fit.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use heaccel_fpga::flow::{self, Target};
use heaccel_fpga::yosys::{per_block, run_yosys};
use heaccel_fpga::{
    build_design, core_preset_lanes, fit_lanes, parse_stat, preset_lanes, BlockResources, Design,
    DesignKind, DesignParams, PresetLanes, ResourceFit, Resources, U280,
};
use heaccel_hdl::core::EwLane;
use heaccel_hdl::{AutomorphUnit, ModMul, NttUnit};
use heaccel_sim::config::HwConfig;
use serde::Serialize;

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

/// The lane fit of an estimate.
#[derive(Debug, Serialize)]
pub struct FitReport {
    /// The method, in words.
    pub method: String,
    /// Device.
    pub device: &'static str,
    /// The two lane counts.
    pub lanes: [usize; 2],
    /// Per resource kind.
    pub resources: Vec<ResourceFit>,
    /// Lanes within the DSP budget.
    pub lanes_fit_dsp: Option<u64>,
    /// Lanes within the LUT budget.
    pub lanes_fit_lut: Option<u64>,
    /// Lanes within every budget, and the binding resource.
    pub lanes_fit: Option<u64>,
    /// The resource that binds.
    pub binding: Option<String>,
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
    let get = |k: &str| {
        resources
            .iter()
            .find(|r| r.resource == k)
            .and_then(|r| r.lanes_fit)
    };
    let binding = resources
        .iter()
        .filter_map(|r| r.lanes_fit.map(|l| (l, r.resource.clone())))
        .min();
    let fit = FitReport {
        method: format!(
            "resources R(P) = fixed + per_lane * P through the Yosys totals at P = {} and P = \
             {} (assumes every resource grows linearly in the lanes at N = 2^{}); lanes fit = \
             largest P with R(P) <= the whole device's budget",
            p1.lanes, p2.lanes, o.log_n
        ),
        device: U280.name,
        lanes: [p1.lanes, p2.lanes],
        lanes_fit_dsp: get("dsp"),
        lanes_fit_lut: get("lut"),
        lanes_fit: binding.as_ref().map(|b| b.0),
        binding: binding.map(|b| b.1),
        resources,
    };
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
        let lanes = report
            .fit
            .lanes_fit
            .context("no resource grows with the lanes: the fit bounds nothing")?;
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

/// The simulator preset text; parsed back through [`HwConfig::from_toml`] before it is
/// returned.
pub fn preset_toml(r: &EstimateReport, p: &PresetLanes, command: &str) -> Result<String> {
    let f = |k: &str| {
        r.fit
            .resources
            .iter()
            .find(|x| x.resource == k)
            .expect("kind")
    };
    let (dsp, lut) = (f("dsp"), f("lut"));
    let lanes_str = |x: Option<u64>| x.map_or("unbounded".to_string(), |v| v.to_string());
    let (bpu, used) = (p.butterflies_per_unit, p.replicas * p.butterflies_per_unit);
    let (mapping, mm_comment, mm_lat) = match r.primes {
        None => (
            format!(
                "# {units} NTT unit(s) of {bpu} butterflies (128 is the largest RTL unit), each \
                 with {bpu} element-wise multiplier lanes and an automorphism unit of {bpu} \
                 lanes: {used} of the {lf} lanes.\n",
                units = p.ntt_units,
                lf = p.lanes_fit
            ),
            "# heaccel-hdl ModMul::LATENCY (the 32-bit Shoup RTL multiplier); \
             cli/tests/latency.rs fails\n# when they disagree.\n"
                .to_string(),
            <ModMul>::LATENCY,
        ),
        Some(primes) => (
            format!(
                "# {rep} core(s) of P = {bpu} (128 is the largest RTL NTT unit): per prime \
                 ({primes}) an NTT unit of {bpu}\n# butterflies and {ew} element-wise lanes, one \
                 automorphism unit of {ew} lanes; {used} of the {lf} lanes.\n# Each RTL NTT \
                 unit bakes one prime's twiddles into ROM; the preset's units serve any limb, \
                 which takes\n# twiddle RAM of the same size loaded per prime (not modelled).\n",
                rep = p.replicas,
                ew = 2 * bpu,
                lf = p.lanes_fit
            ),
            "# heaccel-hdl EwLane::LATENCY (the core's element-wise lane: a product of two \
             variables, split and\n# reduced by two Shoup steps); cli/tests/latency.rs fails \
             when they disagree.\n"
                .to_string(),
            EwLane::LATENCY,
        ),
    };
    let text = format!(
        "# Alveo U280 class FPGA accelerator (heaccel preset `fpga-u280`).\n\
         # Generated by `{command}`; regenerate with that command.\n\
         # {clock} MHz, 32-bit words (primes < 2^30), HBM2 at 460 GB/s.\n\
         # Lanes derived from Yosys synthesis (synth_xilinx -family xcup) of the `{design}` design \
         at N = 2^{log_n}:\n\
         # P = {p1} and P = {p2} lanes give {d1} and {d2} DSP48E2 ({dpl:.2} per lane), {l1} and \
         {l2} CLB LUTs ({lpl:.1} per lane).\n\
         # Linear in P, the XCU280's 9,024 DSP48E2 fit {fd} lanes and its 1,303,680 LUTs fit {fl} \
         lanes; binding: {bind} ({lf} lanes).\n\
         {mapping}\
         # Not derived from synthesis: bconv (no RTL unit yet; as many lanes as the element-wise \
         multipliers, whose\n\
         # DSPs a MAC would share, so this is optimistic), scratchpad (URAM + BRAM capacity), \
         memory (HBM2).\n\
         name = \"fpga-u280\"\n\
         clock_mhz = {clock:.1}\n\
         word_bits = 32\n\
         \n\
         [ntt]\n\
         units = {units}\n\
         butterflies_per_unit = {bpu}\n\
         # heaccel-hdl NttUnit::LATENCY: bank read, butterfly lane (6), write back. The RTL unit \
         also\n\
         # drains LATENCY - 1 cycles between its log2(N) stages (heaccel-hdl NttGeometry::cycles), \
         which\n\
         # this model does not charge. cli/tests/latency.rs fails when this disagrees with \
         heaccel-hdl.\n\
         pipeline_latency = {ntt_lat}\n\
         \n\
         [modmul]\n\
         lanes = {mm}\n\
         {mm_comment}\
         pipeline_latency = {mm_lat}\n\
         \n\
         [automorph]\n\
         units = {aut_units}\n\
         lanes = {aut_lanes}\n\
         # heaccel-hdl AutomorphUnit::LATENCY (source-address register, bank read); the RTL unit \
         is\n\
         # conflict-free for every odd Galois element, so N / lanes cycles plus this latency is \
         exact.\n\
         # cli/tests/latency.rs fails when this disagrees with heaccel-hdl.\n\
         pipeline_latency = {aut_lat}\n\
         \n\
         [bconv]\n\
         lanes = {mm}\n\
         pipeline_latency = 10\n\
         \n\
         [scratchpad]\n\
         # URAM (960 x 36 KiB) + BRAM (2,016 x 4.5 KiB), about 43 MiB\n\
         bytes = 44_630_016\n\
         banks = 64\n\
         \n\
         [memory]\n\
         bandwidth_gb_s = 460.0\n\
         latency_ns = 120.0\n",
        clock = r.clock_mhz,
        design = r.design,
        log_n = r.log_n,
        p1 = r.fit.lanes[0],
        p2 = r.fit.lanes[1],
        d1 = dsp.at_p1,
        d2 = dsp.at_p2,
        dpl = dsp.per_lane,
        l1 = lut.at_p1,
        l2 = lut.at_p2,
        lpl = lut.per_lane,
        fd = lanes_str(dsp.lanes_fit),
        fl = lanes_str(lut.lanes_fit),
        bind = r.fit.binding.as_deref().unwrap_or("none"),
        lf = p.lanes_fit,
        units = p.ntt_units,
        ntt_lat = <NttUnit>::LATENCY,
        mm = p.modmul_lanes,
        mm_lat = mm_lat,
        aut_units = p.automorph_units,
        aut_lanes = p.automorph_lanes,
        aut_lat = <AutomorphUnit>::LATENCY,
    );
    HwConfig::from_toml(&text, "the derived preset")
        .context("the derived preset does not validate")?;
    Ok(text)
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
