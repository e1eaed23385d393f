//! The parser of Yosys `stat` reports (the one of the workspace: `heaccel verify rtl` reads the
//! report of [`crate::verilog::synth`] with it, `heaccel fpga estimate` the one of its
//! `yosys.ys` through `heaccel_fpga::yosys`): cells per module, instance counts of the
//! hierarchy, and the FPGA resources of `synth_xilinx` cells per module and in total.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

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
    /// Saturates at `u64::MAX`, which counts from [`parse_stat`] (each at most [`MAX_CELLS`])
    /// never reach.
    pub fn clb_luts(&self) -> u64 {
        self.lut.saturating_add(self.lutram)
    }
    /// Block RAM in RAMB36 sites: `ramb36 + ceil(ramb18 / 2)` (saturating as
    /// [`Resources::clb_luts`]).
    pub fn bram36(&self) -> u64 {
        self.ramb36.saturating_add(self.ramb18.div_ceil(2))
    }
    /// `self + k * o`, or `None` when a count would exceed [`MAX_CELLS`].
    pub fn checked_add_scaled(&self, o: &Resources, k: u64) -> Option<Resources> {
        let f = |a: u64, b: u64| {
            k.checked_mul(b)
                .and_then(|kb| a.checked_add(kb))
                .filter(|&v| v <= MAX_CELLS)
        };
        Some(Resources {
            lut: f(self.lut, o.lut)?,
            lutram: f(self.lutram, o.lutram)?,
            ff: f(self.ff, o.ff)?,
            dsp: f(self.dsp, o.dsp)?,
            ramb36: f(self.ramb36, o.ramb36)?,
            ramb18: f(self.ramb18, o.ramb18)?,
            uram: f(self.uram, o.uram)?,
        })
    }
    /// Sum of two resource counts, or `None` when a count would exceed [`MAX_CELLS`].
    pub fn checked_plus(&self, o: &Resources) -> Option<Resources> {
        self.checked_add_scaled(o, 1)
    }
}

/// The largest count a `stat` report may state for a cell type or a module's instances, and
/// the largest resource count derived from them (per module, per block, in total): `2^48`,
/// far beyond any device (an Alveo U280 has 1.3 million LUTs). Larger counts are refused by
/// [`parse_stat`], so no sum or product of them wraps.
pub const MAX_CELLS: u64 = 1 << 48;

/// What a [`StatError::TooMany`] counted beyond [`MAX_CELLS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    /// One cell count as the report prints it.
    Cells(u64),
    /// A module's instances in the whole design (the counts multiplied down the hierarchy and
    /// added across parents).
    Instances,
    /// The resources of a module (or of the design's total) summed up to this cell type.
    Resources,
    /// A module's resources times its instance count (the per-block sums of
    /// `heaccel_fpga::per_block`).
    ScaledResources {
        /// The module's instances.
        instances: u64,
    },
}

impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Counted::Cells(n) => write!(f, "{n} cells"),
            Counted::Instances => f.write_str("its instances in the design"),
            Counted::Resources => f.write_str("the resources counted up to this cell type"),
            Counted::ScaledResources { instances } => {
                write!(f, "its resources times its {instances} instances")
            }
        }
    }
}

/// `, line N`, or nothing for line 0 (a problem not on one line).
fn on_line(line: usize) -> String {
    if line > 0 {
        format!(", line {line}")
    } else {
        String::new()
    }
}

/// A missing, malformed or out-of-range part of a Yosys `stat` report. Errors on a line name
/// it (1-based in the log; 0 when the problem is not on one line, e.g. a [`StatReport`] built
/// by hand) and the module or cell type concerned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatError {
    /// The log holds no `stat` report.
    #[error("no `stat` report (\"Printing statistics.\") in the log")]
    NoReport,
    /// The report has no `=== MODULE ===` section.
    #[error("the `stat` report lists no module")]
    NoModule,
    /// Several modules but no `design hierarchy` section, so no instance counts.
    #[error("the `stat` report has several modules but no `design hierarchy` section")]
    NoHierarchy,
    /// A module's section appears twice in the report.
    #[error("Yosys `stat` report{}: `{module}`: a second section for this module (first at line {first})", on_line(*line))]
    SecondSection {
        /// The line of the second `=== MODULE ===` header.
        line: usize,
        /// The module.
        module: String,
        /// The line of the first.
        first: usize,
    },
    /// A count above [`MAX_CELLS`].
    #[error("Yosys `stat` report{}: `{field}`: {counted} exceed {MAX_CELLS} (MAX_CELLS)", on_line(*line))]
    TooMany {
        /// The line of the count; for resources, of the module's `=== MODULE ===` header (or of
        /// the hierarchy's `Number of cells:` for the design's total).
        line: usize,
        /// The cell type (for cells and resources) or module (for instances).
        field: String,
        /// What exceeds the limit.
        counted: Counted,
    },
}

impl StatError {
    /// The line of the log the error is on; 0 when it is on none.
    pub fn line(&self) -> usize {
        match self {
            StatError::SecondSection { line, .. } | StatError::TooMany { line, .. } => *line,
            StatError::NoReport | StatError::NoModule | StatError::NoHierarchy => 0,
        }
    }
    /// The module or cell type the error names, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            StatError::SecondSection { module: name, .. }
            | StatError::TooMany { field: name, .. } => Some(name),
            StatError::NoReport | StatError::NoModule | StatError::NoHierarchy => None,
        }
    }
    /// The same error placed on `line` (for a count checked after the line was read).
    fn on(self, line: usize) -> StatError {
        match self {
            StatError::TooMany { field, counted, .. } => StatError::TooMany {
                line,
                field,
                counted,
            },
            other => other,
        }
    }
}

fn too_many(line: usize, field: &str, counted: Counted) -> StatError {
    StatError::TooMany {
        line,
        field: field.to_string(),
        counted,
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
/// primitive nor in `modules` count for nothing. Errors (with line 0) name the first cell
/// type at which a count would exceed [`MAX_CELLS`].
fn classify(
    cells: &[(String, u64)],
    modules: &BTreeMap<String, ModuleStat>,
) -> Result<Resources, StatError> {
    let mut r = Resources::default();
    for (cell, n) in cells {
        if modules.contains_key(cell) {
            continue;
        }
        let (field, per_cell) = if let Some(l) = lutram_luts(cell) {
            (&mut r.lutram, l)
        } else if cell.starts_with("LUT") || cell == "INV" {
            (&mut r.lut, 1)
        } else if cell.starts_with("FD") {
            (&mut r.ff, 1)
        } else if cell.starts_with("DSP48") {
            (&mut r.dsp, 1)
        } else if cell.starts_with("RAMB36") {
            (&mut r.ramb36, 1)
        } else if cell.starts_with("RAMB18") {
            (&mut r.ramb18, 1)
        } else if cell.starts_with("URAM") {
            (&mut r.uram, 1)
        } else {
            continue;
        };
        *field = per_cell
            .checked_mul(*n)
            .and_then(|add| field.checked_add(add))
            .filter(|&v| v <= MAX_CELLS)
            .ok_or_else(|| too_many(0, cell, Counted::Resources))?;
    }
    Ok(r)
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
    /// Cells of the whole design as Yosys summed them in the `design hierarchy` section (the
    /// module's own cells for a design of one module).
    pub total_cells: Vec<(String, u64)>,
}

impl StatReport {
    /// Resources of module `name` alone (its own cells); zero for a module not in the report.
    /// Errors when a count exceeds [`MAX_CELLS`] (never for a report from [`parse_stat`]).
    pub fn module_resources(&self, name: &str) -> Result<Resources, StatError> {
        self.modules
            .get(name)
            .map_or(Ok(Resources::default()), |m| {
                classify(&m.cells, &self.modules)
            })
    }
    /// Resources of the whole design as Yosys summed them; errors as
    /// [`StatReport::module_resources`].
    pub fn total(&self) -> Result<Resources, StatError> {
        classify(&self.total_cells, &self.modules)
    }
    /// Cells of the whole design (of [`StatReport::total_cells`]) whose type starts with
    /// `prefix`, summed saturating (a report from [`parse_stat`] keeps each sum of primitive
    /// cells within [`MAX_CELLS`]). With `LUT`: the LUT1..LUT6 cells alone, without the `INV`
    /// cells [`Resources::lut`] also counts (the LUT figure of `heaccel verify rtl`).
    pub fn total_cells_with_prefix(&self, prefix: &str) -> u64 {
        self.total_cells
            .iter()
            .filter(|(cell, _)| cell.starts_with(prefix))
            .fold(0, |sum, &(_, n)| sum.saturating_add(n))
    }
}

/// Parses the last `stat` report in a Yosys log: sections `=== NAME ===` with
/// `Number of cells:` followed by `CELL COUNT` lines, then `=== design hierarchy ===` with
/// `MODULE COUNT` lines and the design's summed cells.
///
/// Errors name the line and the module or cell: no report, no module, a module's section
/// twice, several modules without a `design hierarchy` section, and any count, instance total
/// or resource count above [`MAX_CELLS`] (so every later sum is exact).
pub fn parse_stat(log: &str) -> Result<StatReport, StatError> {
    let start = log
        .rfind("Printing statistics.")
        .ok_or(StatError::NoReport)?;
    let first_line = log[..start].matches('\n').count() + 1;
    let mut report = StatReport::default();
    // The line of each module's section header, and of the hierarchy's cell list.
    let mut header_line: BTreeMap<String, usize> = BTreeMap::new();
    let mut total_line = 0;
    let mut section: Option<String> = None;
    let mut in_cells = false;
    let mut hierarchy = false;
    // The open path of the hierarchy tree: (indentation, instances in the whole design).
    let mut path: Vec<(usize, u64)> = Vec::new();
    for (number, line) in (first_line..).zip(log[start..].lines()) {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("=== ").and_then(|r| r.strip_suffix(" ===")) {
            in_cells = false;
            if name == "design hierarchy" {
                hierarchy = true;
                section = None;
                path.clear();
            } else {
                hierarchy = false;
                if let Some(first) = header_line.insert(name.to_string(), number) {
                    return Err(StatError::SecondSection {
                        line: number,
                        module: name.to_string(),
                        first,
                    });
                }
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
            if hierarchy {
                total_line = number;
            }
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
        if count > MAX_CELLS {
            return Err(too_many(number, name, Counted::Cells(count)));
        }
        if hierarchy {
            if in_cells {
                report.total_cells.push((name.to_string(), count));
            } else {
                let indent = line.len() - line.trim_start().len();
                while path.last().is_some_and(|&(i, _)| i >= indent) {
                    path.pop();
                }
                let instances = report.instances.entry(name.to_string()).or_insert(0);
                let total = path
                    .last()
                    .map_or(Some(count), |&(_, k)| k.checked_mul(count))
                    .filter(|&t| t <= MAX_CELLS)
                    .and_then(|t| Some((t, instances.checked_add(t)?)))
                    .filter(|&(_, sum)| sum <= MAX_CELLS);
                let Some((total, sum)) = total else {
                    return Err(too_many(number, name, Counted::Instances));
                };
                *instances = sum;
                path.push((indent, total));
            }
        } else if in_cells {
            if let Some(module) = section.as_ref().and_then(|s| report.modules.get_mut(s)) {
                module.cells.push((name.to_string(), count));
            }
        }
    }
    let Some((name, module)) = report.modules.iter().next() else {
        return Err(StatError::NoModule);
    };
    if report.instances.is_empty() {
        // A design of one module has no hierarchy section: its cells are the total.
        if report.modules.len() > 1 {
            return Err(StatError::NoHierarchy);
        }
        total_line = header_line[name];
        report.total_cells = module.cells.clone();
        report.instances.insert(name.clone(), 1);
    }
    // Every resource count is within MAX_CELLS (the per-block sums are checked by
    // `heaccel_fpga::per_block`).
    for name in report.modules.keys() {
        report
            .module_resources(name)
            .map_err(|e| e.on(header_line[name]))?;
    }
    report.total().map_err(|e| e.on(total_line))?;
    Ok(report)
}
