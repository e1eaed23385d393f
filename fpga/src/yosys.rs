//! Yosys runs and the per-block split of their `stat` report. The report's parser is
//! `heaccel_hdl::yosys` (the workspace's one, re-exported here): cells per module, instance
//! counts of the hierarchy, and FPGA resources per module and in total.

use std::path::Path;
use std::process::Command;

use serde::Serialize;

pub use heaccel_hdl::yosys::{
    parse_stat, Counted, ModuleStat, Resources, StatError, StatReport, MAX_CELLS,
};

use crate::design::Design;
use crate::FpgaError;

/// Resources of one block of a design.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlockResources {
    /// The block's label (`ntt`, `modmul lanes`, ..., or `glue` for the top's own cells).
    pub block: String,
    /// Modules counted for it.
    pub modules: usize,
    /// Its resources.
    pub resources: Resources,
}

/// Resources per block label of `design` (every module times its instance count, assigned
/// to the block that owns it; the top's own cells are `glue`, the last row) and in total.
/// Fails when the per-module sum disagrees with Yosys's own total, or when a sum would exceed
/// [`MAX_CELLS`].
pub fn per_block(
    design: &Design,
    report: &StatReport,
) -> Result<(Vec<BlockResources>, Resources), FpgaError> {
    fn row_of(label: &str, rows: &mut Vec<BlockResources>) -> usize {
        match rows.iter().position(|r| r.block == label) {
            Some(i) => i,
            None => {
                rows.push(BlockResources {
                    block: label.to_string(),
                    modules: 0,
                    resources: Resources::default(),
                });
                rows.len() - 1
            }
        }
    }
    let mut rows: Vec<BlockResources> = Vec::new();
    for b in &design.blocks {
        row_of(&b.label, &mut rows);
    }
    let glue = row_of("glue", &mut rows);
    let mut sum = Resources::default();
    for name in report.modules.keys() {
        let k = *report.instances.get(name).unwrap_or(&0);
        let r = report.module_resources(name)?;
        let exceeded = || StatError::TooMany {
            line: 0,
            field: name.clone(),
            counted: Counted::ScaledResources { instances: k },
        };
        sum = sum.checked_add_scaled(&r, k).ok_or_else(exceeded)?;
        let i = match design.blocks.iter().find(|b| b.owns(&design.top, name)) {
            Some(b) => row_of(&b.label, &mut rows),
            None => glue,
        };
        rows[i].modules += 1;
        rows[i].resources = rows[i]
            .resources
            .checked_add_scaled(&r, k)
            .ok_or_else(exceeded)?;
    }
    let total = report.total()?;
    if sum != total {
        return Err(FpgaError::TotalMismatch { sum, total });
    }
    Ok((rows, total))
}

/// `true` when `yosys` runs.
pub fn yosys_available() -> bool {
    Command::new("yosys")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// The error when Yosys is not installed.
pub fn yosys_missing() -> FpgaError {
    FpgaError::ToolMissing {
        tool: "yosys",
        purpose: "`heaccel fpga estimate` runs Yosys synth_xilinx",
        package: "yosys",
    }
}

/// Runs `yosys -q -l yosys.log -s SCRIPT` in `dir`; returns the log text. Errors name the
/// log and show its tail when Yosys fails (e.g. `check -assert`).
pub fn run_yosys(dir: &Path, script: &str) -> Result<String, FpgaError> {
    if !yosys_available() {
        return Err(yosys_missing());
    }
    let log = dir.join("yosys.log");
    let out = Command::new("yosys")
        .current_dir(dir)
        .arg("-q")
        .arg("-l")
        .arg("yosys.log")
        .arg("-s")
        .arg(script)
        .output()
        .map_err(|reason| FpgaError::Spawn {
            tool: "yosys",
            reason,
        })?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if !out.status.success() {
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        return Err(FpgaError::YosysFailed {
            log,
            tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(text)
}
