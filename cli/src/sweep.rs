//! `heaccel sweep`: simulate every configuration of a grid in parallel, write a CSV and the
//! Pareto front of latency against a cost proxy.
//!
//! A grid file is TOML:
//!
//! ```toml
//! base = "fpga-u280"                 # a preset or a config file (default fpga-u280)
//! [grid]                             # dotted config keys -> the values to try
//! "modmul.lanes" = [64, 128, 256]
//! "ntt.butterflies_per_unit" = [32, 64, 128]
//! "memory.bandwidth_gb_s" = [230.0, 460.0]
//! word_bits = [32, 36]
//! ```
//!
//! Every combination (the cartesian product over the keys sorted by name, the first slowest) is
//! a configuration; each must pass the simulator's config validation. A point the workload
//! cannot run on (e.g. its working set exceeds the scratchpad) is kept as `infeasible`. The
//! cost proxy is the modular-multiplier lane count (NTT butterflies, element-wise lanes,
//! basis-conversion lanes) times the word size in bits.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use heaccel_sim::HwConfig;
use rayon::prelude::*;
use serde::Serialize;

/// Most configurations one grid may hold.
pub const MAX_CONFIGS: usize = 100_000;

/// A parsed grid: the base configuration and the axes.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The base configuration every point starts from.
    pub base: HwConfig,
    /// `(dotted key, values)`, sorted by key.
    pub axes: Vec<(String, Vec<toml::Value>)>,
    /// The grid file's name, for errors.
    pub source: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GridFile {
    base: Option<String>,
    grid: toml::Table,
}

impl Grid {
    /// Parses a grid file's text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let file: GridFile = toml::from_str(text).with_context(|| {
            format!("grid file {source}: expected `base = \"...\"` and a [grid] table of arrays")
        })?;
        let base_spec = file.base.unwrap_or_else(|| "fpga-u280".into());
        let base = crate::simulate::load_config(&base_spec)
            .with_context(|| format!("grid file {source}, field `base`"))?;
        let base_value = toml::Value::try_from(&base).context("serializing the base config")?;
        let mut axes = Vec::new();
        let mut count: usize = 1;
        for (key, values) in file.grid {
            let toml::Value::Array(values) = values else {
                bail!("grid file {source}, field `grid.{key}`: expected an array of values");
            };
            if values.is_empty() {
                bail!("grid file {source}, field `grid.{key}`: the array is empty");
            }
            if lookup(&base_value, &key).is_none() {
                bail!(
                    "grid file {source}, field `grid.{key}`: not a config key (e.g. \
                     `modmul.lanes`, `ntt.units`, `scratchpad.bytes`, `memory.bandwidth_gb_s`, \
                     `word_bits`, `clock_mhz`)"
                );
            }
            count = count.saturating_mul(values.len());
            axes.push((key, values));
        }
        if axes.is_empty() {
            bail!("grid file {source}: the [grid] table has no keys");
        }
        if count > MAX_CONFIGS {
            bail!("grid file {source}: {count} configurations; at most {MAX_CONFIGS}");
        }
        Ok(Grid {
            base,
            axes,
            source: source.to_string(),
        })
    }

    /// Number of configurations.
    pub fn len(&self) -> usize {
        self.axes.iter().map(|(_, v)| v.len()).product()
    }

    /// Whether the grid is empty (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `index`-th point's values, one per axis (first axis slowest).
    pub fn point(&self, mut index: usize) -> Vec<&toml::Value> {
        let mut out = vec![&self.axes[0].1[0]; self.axes.len()];
        for (k, (_, values)) in self.axes.iter().enumerate().rev() {
            out[k] = &values[index % values.len()];
            index /= values.len();
        }
        out
    }

    /// Every point's configuration, validated, in index order.
    pub fn configs(&self) -> Result<Vec<HwConfig>> {
        (0..self.len()).map(|i| self.config(i)).collect()
    }

    /// The configuration of point `index`, validated; named `{base}#{index}`.
    pub fn config(&self, index: usize) -> Result<HwConfig> {
        let mut value = toml::Value::try_from(&self.base).context("serializing the base config")?;
        for ((key, _), v) in self.axes.iter().zip(self.point(index)) {
            *lookup_mut(&mut value, key).expect("checked at parse time") = v.clone();
        }
        let name = format!("{}#{index}", self.base.name);
        let mut config: HwConfig = value.try_into().with_context(|| {
            format!(
                "grid file {}, point {index}: a value has the wrong type",
                self.source
            )
        })?;
        config.name = name.clone();
        config
            .validate(&name)
            .with_context(|| format!("grid file {}, point {index}", self.source))?;
        Ok(config)
    }
}

fn lookup<'a>(value: &'a toml::Value, dotted: &str) -> Option<&'a toml::Value> {
    dotted.split('.').try_fold(value, |v, k| v.get(k))
}

fn lookup_mut<'a>(value: &'a mut toml::Value, dotted: &str) -> Option<&'a mut toml::Value> {
    dotted.split('.').try_fold(value, |v, k| v.get_mut(k))
}

/// Modular-multiplier lanes of a configuration: NTT butterflies, element-wise and
/// basis-conversion lanes.
pub fn multiplier_lanes(config: &HwConfig) -> u64 {
    config.ntt.units as u64 * config.ntt.butterflies_per_unit as u64
        + config.modmul.lanes as u64
        + config.bconv.lanes as u64
}

/// One simulated grid point.
#[derive(Clone, Debug, Serialize)]
pub struct SweepRow {
    /// Point index in the grid.
    pub index: usize,
    /// The axis values, as written in the grid file.
    pub values: Vec<String>,
    /// Simulated latency; `None` when the point cannot run the workload (see `infeasible`).
    pub time_us: Option<f64>,
    /// The busiest unit, or `infeasible`.
    pub bound: String,
    /// Why the simulator refused the point (e.g. the working set exceeds the scratchpad).
    pub infeasible: Option<String>,
    /// [`multiplier_lanes`] times the word size in bits.
    pub cost_lane_bits: u64,
    /// Whether the point is on the Pareto front (no other point is both cheaper or equal and
    /// faster or equal, with one strictly).
    pub pareto: bool,
}

/// Simulates every point with `evaluate` on `jobs` threads (0: all cores), ascending index;
/// `configs` are [`Grid::configs`].
pub fn run(
    grid: &Grid,
    configs: &[HwConfig],
    jobs: usize,
    progress: &indicatif::ProgressBar,
    evaluate: impl Fn(&HwConfig) -> Result<heaccel_sim::TimingReport> + Sync,
) -> Result<Vec<SweepRow>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("starting the worker threads")?;
    progress.set_length(configs.len() as u64);
    let mut rows: Vec<SweepRow> = pool.install(|| {
        configs
            .par_iter()
            .enumerate()
            .map(|(index, config)| {
                let result = evaluate(config);
                progress.inc(1);
                let (time_us, bound, infeasible) = match result {
                    Ok(report) => (Some(report.time_us), report.bound.name().to_string(), None),
                    Err(e) => (None, "infeasible".to_string(), Some(format!("{e:#}"))),
                };
                SweepRow {
                    index,
                    values: grid.point(index).iter().map(|v| v.to_string()).collect(),
                    time_us,
                    bound,
                    infeasible,
                    cost_lane_bits: multiplier_lanes(config) * config.word_bits as u64,
                    pareto: false,
                }
            })
            .collect()
    });
    progress.finish_and_clear();
    mark_pareto(&mut rows);
    Ok(rows)
}

/// Marks the feasible rows no other row dominates (cost and time both no worse, one better).
pub fn mark_pareto(rows: &mut [SweepRow]) {
    let mut order: Vec<(usize, f64)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.time_us.map(|t| (i, t)))
        .collect();
    order.sort_by(|&(a, ta), &(b, tb)| {
        rows[a]
            .cost_lane_bits
            .cmp(&rows[b].cost_lane_bits)
            .then(ta.total_cmp(&tb))
    });
    let mut best = f64::INFINITY;
    for (i, t) in order {
        if t < best {
            rows[i].pareto = true;
            best = t;
        }
    }
}

/// The CSV text: a header, then one row per point in index order.
pub fn to_csv(grid: &Grid, rows: &[SweepRow]) -> String {
    let mut s = String::from("index");
    for (key, _) in &grid.axes {
        let _ = write!(s, ",{key}");
    }
    s.push_str(",time_us,bound,cost_lane_bits,pareto\n");
    for r in rows {
        let _ = write!(s, "{}", r.index);
        for v in &r.values {
            let _ = write!(s, ",{}", v.replace(',', ";"));
        }
        let time = r.time_us.map_or(String::new(), |t| t.to_string());
        let _ = writeln!(s, ",{time},{},{},{}", r.bound, r.cost_lane_bits, r.pareto);
    }
    s
}

/// Writes `sweep.csv` and `pareto.svg` into `dir` (created if missing), each whole.
pub fn write_outputs(
    dir: &Path,
    grid: &Grid,
    rows: &[SweepRow],
    title: &str,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let csv = dir.join("sweep.csv");
    crate::plot::write_whole(&csv, &to_csv(grid, rows))?;
    let svg = dir.join("pareto.svg");
    let points: Vec<(f64, f64, bool)> = rows
        .iter()
        .filter_map(|r| r.time_us.map(|t| (r.cost_lane_bits as f64, t, r.pareto)))
        .collect();
    if points.is_empty() {
        bail!(
            "no grid point could run the workload; the first reason: {}",
            rows.first()
                .and_then(|r| r.infeasible.clone())
                .unwrap_or_default()
        );
    }
    crate::plot::write_whole(&svg, &crate::plot::pareto_svg(title, &points)?)?;
    Ok(vec![csv, svg])
}
