//! `heaccel fpga estimate`: the design synthesized with Yosys at two lane counts
//! ([`synthesize`]), resources per block, the lanes that fit the U280 (linear in the lanes)
//! and optionally the matching simulator preset ([`estimate`], [`EstimateReport`]).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::design::{build_design, DesignKind, DesignParams};
use crate::fit::{core_preset_lanes, fit_lanes, preset_lanes, FitReport, PresetLanes, U280};
use crate::flow::{self, Target};
use crate::options::{build_command, design_files, DesignOptions};
use crate::preset::preset_toml;
use crate::yosys::{
    parse_stat, per_block, run_yosys, yosys_available, yosys_missing, BlockResources, Resources,
};
use crate::FpgaError;

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

/// The options of `heaccel fpga estimate`.
#[derive(Clone, Debug, PartialEq)]
pub struct EstimateOptions {
    /// The design; its lanes are the fit's first count.
    pub design: DesignOptions,
    /// Second lane count of the linear fit (`None`: twice the design's; must exceed them).
    pub fit_lanes: Option<u32>,
    /// Keep the Verilog, scripts and Yosys logs under this folder, one subfolder `pP` per
    /// lane count (`None`: a temporary folder, removed afterwards). A subfolder that already
    /// holds exactly these files and a complete `yosys.log` is reused without running Yosys.
    pub out: Option<PathBuf>,
    /// Write the simulator preset derived from the fit to this file.
    pub write_preset: Option<PathBuf>,
}

impl EstimateOptions {
    /// The second lane count of the fit.
    pub fn fit_lanes(&self) -> u32 {
        self.fit_lanes.unwrap_or(2 * self.design.lanes)
    }

    /// The `heaccel fpga estimate` command line of these options (the preset's header).
    pub fn command(&self) -> String {
        let o = &self.design;
        let mut s = format!(
            "heaccel fpga estimate {} --lanes {} --fit-lanes {} --log-n {} --clock-mhz {}",
            o.design_flags().unwrap_or_default(),
            o.lanes,
            self.fit_lanes(),
            o.log_n,
            o.clock_mhz
        );
        if let Some(q) = o.q {
            s += &format!(" --q {q}");
        }
        if let Some(p) = &self.write_preset {
            s += &format!(" --write-preset {}", p.display());
        }
        s
    }
}

/// Synthesizes the design of `o` at `p` with Yosys in `dir` (its four files for the U280
/// written there all or none, [`heaccel_files::write_all_or_nothing`]). With `keep`, a `dir` that already holds exactly these
/// files and a complete `yosys.log` is reused without running Yosys again, and the run
/// names its log.
pub fn synthesize(
    o: &DesignOptions,
    p: &DesignParams,
    dir: &Path,
    keep: bool,
) -> Result<SynthRun, FpgaError> {
    let design = build_design(o.kind()?, p)?;
    let command = build_command(Target::U280, o, p, dir)?;
    let files = design_files(Target::U280, o.clock_mhz, &design, &command)?;
    let log_path = dir.join("yosys.log");
    // A kept folder whose files are exactly these and whose Yosys log is complete is reused.
    let previous =
        keep && files.iter().all(|(name, text)| {
            std::fs::read_to_string(dir.join(name)).ok().as_ref() == Some(text)
        }) && std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains("End of script."));
    let log = if previous {
        std::fs::read_to_string(&log_path).map_err(|source| FpgaError::Read {
            path: log_path.clone(),
            source,
        })?
    } else {
        heaccel_files::write_all_or_nothing(dir, &files)?;
        run_yosys(dir, flow::YOSYS_FILE)?
    };
    let stat = parse_stat(&log).map_err(|source| FpgaError::Log {
        path: log_path.clone(),
        source,
    })?;
    let (blocks, total) = per_block(&design, &stat)?;
    Ok(SynthRun {
        lanes: p.lanes,
        blocks,
        total,
        log: keep.then_some(log_path),
        reused: previous,
    })
}

/// `heaccel fpga estimate`: the options checked, the design synthesized at both lane
/// counts ([`synthesize`]), the lane fit against the [`U280`] and, with
/// [`EstimateOptions::write_preset`], the simulator preset written whole
/// ([`heaccel_files::write_whole`]).
pub fn estimate(options: &EstimateOptions) -> Result<EstimateReport, FpgaError> {
    let o = &options.design;
    let p1 = o.params(o.lanes)?;
    let fit_lanes_arg = options.fit_lanes();
    if fit_lanes_arg <= o.lanes {
        return Err(FpgaError::Parameter {
            field: "--fit-lanes",
            value: fit_lanes_arg.to_string(),
            expected: format!("must be larger than --lanes {}", o.lanes),
        });
    }
    let p2 = o.params(fit_lanes_arg).map_err(|e| FpgaError::Context {
        field: "--fit-lanes",
        source: Box::new(e),
    })?;
    if !yosys_available() {
        return Err(yosys_missing());
    }
    let keep = options.out.is_some();
    let root = options.out.clone().unwrap_or_else(|| {
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
    let kind = o.kind()?;
    let mut report = EstimateReport {
        design: kind.name(),
        primes: match kind {
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
    if let Some(path) = &options.write_preset {
        let lanes = report.fit.lanes_fit.ok_or(FpgaError::NoLaneBound)?;
        let preset = match kind {
            DesignKind::Datapath => preset_lanes(lanes)?,
            DesignKind::Core { primes, .. } => core_preset_lanes(lanes, primes as u64)?,
        };
        let text = preset_toml(&report, &preset, &options.command())?;
        heaccel_files::write_whole(path, &text)?;
        report.preset = Some(preset);
        report.preset_file = Some(path.clone());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DesignChoice;

    fn options() -> EstimateOptions {
        EstimateOptions {
            design: DesignOptions {
                design: DesignChoice::Datapath,
                lanes: 4,
                log_n: 12,
                clock_mhz: 300.0,
                q: None,
                primes: None,
                slots: None,
            },
            fit_lanes: None,
            out: None,
            write_preset: None,
        }
    }

    #[test]
    fn the_fit_needs_more_lanes() {
        let o = EstimateOptions {
            fit_lanes: Some(2),
            ..options()
        };
        let e = estimate(&o).unwrap_err();
        assert!(
            matches!(
                e,
                FpgaError::Parameter {
                    field: "--fit-lanes",
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "--fit-lanes 2: must be larger than --lanes 4"
        );
    }

    #[test]
    fn the_fits_lanes_are_checked_as_lanes() {
        let o = EstimateOptions {
            design: DesignOptions {
                lanes: 128,
                ..options().design
            },
            ..options()
        };
        let e = estimate(&o).unwrap_err();
        let FpgaError::Context { field, source } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*field, "--fit-lanes");
        assert_eq!(
            source.to_string(),
            "--lanes 256: must be a power of two in [1, 128]"
        );
    }

    #[test]
    fn the_command_line_of_the_options() {
        let o = EstimateOptions {
            write_preset: Some(PathBuf::from("p.toml")),
            ..options()
        };
        assert_eq!(
            o.command(),
            "heaccel fpga estimate --design datapath --lanes 4 --fit-lanes 8 --log-n 12 \
             --clock-mhz 300 --write-preset p.toml"
        );
    }

    #[test]
    fn without_yosys_the_estimate_says_so() {
        if yosys_available() {
            return;
        }
        let e = estimate(&options()).unwrap_err();
        assert!(
            matches!(e, FpgaError::ToolMissing { tool: "yosys", .. }),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "yosys is not installed (or not on PATH): `heaccel fpga estimate` runs Yosys \
             synth_xilinx; install it (Debian: apt-get install yosys)"
        );
    }
}
