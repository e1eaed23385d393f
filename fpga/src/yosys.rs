//! Yosys runs and the parser of their `stat` report: cells per module, instance counts of the
//! hierarchy, and FPGA resources per block and in total.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::Serialize;

use crate::design::Design;
use crate::FpgaError;

/// FPGA resources of a netlist mapped by `synth_xilinx` (UltraScale+ cells).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    /// Logic LUTs (`LUT1` .. `LUT6` cells, and `INV`, which is a LUT1).
    pub lut: u64,
    /// LUTs used as memory: distributed RAM and shift-register cells, counted in the LUTs
    /// each occupies (e.g. `RAM32M16` = 8, `RAM64X1D` = 2, `SRLC32E` = 1).
    pub lutram: u64,
    /// Flip-flops (`FDRE`, `FDSE`, `FDCE`, `FDPE`).
    pub ff: u64,
    /// `DSP48E2` slices.
    pub dsp: u64,
    /// `RAMB36E2` blocks.
    pub ramb36: u64,
    /// `RAMB18E2` blocks (two fit one RAMB36 site).
    pub ramb18: u64,
    /// `URAM288` blocks.
    pub uram: u64,
}

impl Resources {
    /// CLB LUTs: logic LUTs plus LUTs used as memory (the device's LUT budget counts both).
    pub fn clb_luts(&self) -> u64 {
        self.lut + self.lutram
    }
    /// Block RAM in RAMB36 sites: `ramb36 + ceil(ramb18 / 2)`.
    pub fn bram36(&self) -> u64 {
        self.ramb36 + self.ramb18.div_ceil(2)
    }
    fn add_scaled(&mut self, o: &Resources, k: u64) {
        self.lut += k * o.lut;
        self.lutram += k * o.lutram;
        self.ff += k * o.ff;
        self.dsp += k * o.dsp;
        self.ramb36 += k * o.ramb36;
        self.ramb18 += k * o.ramb18;
        self.uram += k * o.uram;
    }
    /// Sum of two resource counts.
    pub fn plus(&self, o: &Resources) -> Resources {
        let mut r = *self;
        r.add_scaled(o, 1);
        r
    }
}

/// LUTs occupied by a distributed-RAM or shift-register cell of UltraScale+ (UG974).
fn lutram_luts(cell: &str) -> Option<u64> {
    Some(match cell {
        "SRL16E" | "SRLC16E" | "SRLC32E" | "RAM32X1S" | "RAM64X1S" => 1,
        "RAM32X1D" | "RAM64X1D" | "RAM128X1S" => 2,
        "RAM32M" | "RAM64M" | "RAM128X1D" | "RAM256X1S" => 4,
        "RAM32M16" | "RAM64M8" | "RAM256X1D" | "RAM512X1S" => 8,
        _ => return None,
    })
}

/// The resources of a list of `(cell type, count)`; cell types that are neither a known
/// primitive nor in `modules` are returned as unknown (for the caller to report).
fn classify(cells: &[(String, u64)], modules: &BTreeMap<String, ModuleStat>) -> Resources {
    let mut r = Resources::default();
    for (cell, n) in cells {
        let n = *n;
        if modules.contains_key(cell) {
            continue;
        }
        if let Some(l) = lutram_luts(cell) {
            r.lutram += l * n;
        } else if cell.starts_with("LUT") || cell == "INV" {
            r.lut += n;
        } else if cell.starts_with("FD") {
            r.ff += n;
        } else if cell.starts_with("DSP48") {
            r.dsp += n;
        } else if cell.starts_with("RAMB36") {
            r.ramb36 += n;
        } else if cell.starts_with("RAMB18") {
            r.ramb18 += n;
        } else if cell.starts_with("URAM") {
            r.uram += n;
        }
    }
    r
}

/// One module's section of a `stat` report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleStat {
    /// `(cell type, count)` in the order printed; submodule instances appear under their
    /// module's name.
    pub cells: Vec<(String, u64)>,
}

/// A parsed `stat` report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatReport {
    /// Every module's own cells (not counting its submodules).
    pub modules: BTreeMap<String, ModuleStat>,
    /// Instances of each module in the whole design, 1 for the top: from the `design
    /// hierarchy` section, an indented tree whose counts are per instance of the parent (a
    /// module under several parents appears once under each), so a module's instances are
    /// the sum over its appearances of the product of the counts on the path to it.
    pub instances: BTreeMap<String, u64>,
    /// Cells of the whole design as Yosys summed them in the `design hierarchy` section.
    pub total_cells: Vec<(String, u64)>,
}

impl StatReport {
    /// Resources of module `name` alone (its own cells).
    pub fn module_resources(&self, name: &str) -> Resources {
        self.modules
            .get(name)
            .map(|m| classify(&m.cells, &self.modules))
            .unwrap_or_default()
    }
    /// Resources of the whole design as Yosys summed them.
    pub fn total(&self) -> Resources {
        classify(&self.total_cells, &self.modules)
    }
}

/// Parses the last `stat` report in a Yosys log: sections `=== NAME ===` with
/// `Number of cells:` followed by `CELL COUNT` lines, then `=== design hierarchy ===` with
/// `MODULE COUNT` lines and the design's summed cells.
pub fn parse_stat(log: &str) -> Result<StatReport, FpgaError> {
    let start = log.rfind("Printing statistics.").ok_or_else(|| {
        FpgaError::Yosys("no `stat` report (\"Printing statistics.\") in the log".into())
    })?;
    let mut report = StatReport::default();
    let mut section: Option<String> = None;
    let mut in_cells = false;
    let mut hierarchy = false;
    // The open path of the hierarchy tree: (indentation, instances in the whole design).
    let mut path: Vec<(usize, u64)> = Vec::new();
    for line in log[start..].lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("=== ").and_then(|r| r.strip_suffix(" ===")) {
            in_cells = false;
            if name == "design hierarchy" {
                hierarchy = true;
                section = None;
                path.clear();
            } else {
                hierarchy = false;
                report
                    .modules
                    .insert(name.to_string(), ModuleStat::default());
                section = Some(name.to_string());
            }
            continue;
        }
        if t.is_empty() {
            continue;
        }
        if t.starts_with("Number of cells:") {
            in_cells = true;
            continue;
        }
        if t.starts_with("Number of") || t.starts_with("Estimated") || t.starts_with("Chip area") {
            in_cells = false;
            continue;
        }
        let mut it = t.split_whitespace();
        let (Some(name), Some(count), None) = (it.next(), it.next(), it.next()) else {
            if in_cells || hierarchy {
                // A line of another form ends the current list (e.g. the end of the report).
                in_cells = false;
            }
            continue;
        };
        let Ok(count) = count.parse::<u64>() else {
            continue;
        };
        if hierarchy {
            if in_cells {
                report.total_cells.push((name.to_string(), count));
            } else {
                let indent = line.len() - line.trim_start().len();
                while path.last().is_some_and(|&(i, _)| i >= indent) {
                    path.pop();
                }
                let total = path.last().map_or(1, |&(_, k)| k) * count;
                *report.instances.entry(name.to_string()).or_insert(0) += total;
                path.push((indent, total));
            }
        } else if in_cells {
            if let Some(s) = &section {
                report
                    .modules
                    .get_mut(s)
                    .expect("section inserted")
                    .cells
                    .push((name.to_string(), count));
            }
        }
    }
    if report.modules.is_empty() {
        return Err(FpgaError::Yosys("the `stat` report lists no module".into()));
    }
    if report.instances.is_empty() {
        // A design of one module has no hierarchy section: its cells are the total.
        let (name, m) = report.modules.iter().next().expect("one module");
        if report.modules.len() > 1 {
            return Err(FpgaError::Yosys(
                "the `stat` report has several modules but no `design hierarchy` section".into(),
            ));
        }
        report.instances.insert(name.clone(), 1);
        report.total_cells = m.cells.clone();
    }
    Ok(report)
}

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
/// to the block that owns it; the top's own cells are `glue`, the last row) and in total. Fails when the per-module sum
/// disagrees with Yosys's own total.
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
        let r = report.module_resources(name);
        sum.add_scaled(&r, k);
        let i = match design.blocks.iter().find(|b| b.owns(&design.top, name)) {
            Some(b) => row_of(&b.label, &mut rows),
            None => glue,
        };
        rows[i].modules += 1;
        rows[i].resources.add_scaled(&r, k);
    }
    let total = report.total();
    if sum != total {
        return Err(FpgaError::Yosys(format!(
            "per-module resources sum to {sum:?} but Yosys's hierarchy total is {total:?}"
        )));
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

/// Runs `yosys -q -l yosys.log -s SCRIPT` in `dir`; returns the log text. Errors name the
/// log and show its tail when Yosys fails (e.g. `check -assert`).
pub fn run_yosys(dir: &Path, script: &str) -> Result<String, FpgaError> {
    if !yosys_available() {
        return Err(FpgaError::ToolMissing(
            "yosys is not installed (or not on PATH); install it (Debian: apt-get install \
             yosys) to run `heaccel fpga estimate`"
                .into(),
        ));
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
        .map_err(|e| FpgaError::Yosys(format!("cannot run yosys: {e}")))?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if !out.status.success() {
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        return Err(FpgaError::Yosys(format!(
            "yosys failed (log {}):\n{}{}",
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(text)
}
