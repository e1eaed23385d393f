//! `heaccel sweep`: simulate every configuration of a grid in parallel, write a CSV and the
//! Pareto front of latency against a cost proxy.
//!
//! The workload is one CKKS operation (`--op`, lowered once per word size) or a zoo network
//! (`--model`, compiled once per word size: the packing and the parameter choice depend on
//! the words only; each configuration then fits `dnum` to its scratchpad and times the
//! operations, exactly as `heaccel simulate --model` does).
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
//!
//! `--set KEY=VALUE` ([`crate::config_args::SetArgs`]) overrides the base before the grid's
//! values apply (an axis of the grid may not also be set); the points are then named
//! `BASE+KEY=VALUE#index`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use heaccel_sim::HwConfig;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Arguments of `heaccel sweep`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("workload").required(true).args(["op", "model"])))]
pub struct SweepArgs {
    /// The CKKS operation simulated at every grid point (lowered as for `simulate --op`).
    #[arg(long, value_enum)]
    pub op: Option<crate::simulate::Op>,
    /// A zoo network (lenet, vgg5, hefnet, resnet20) simulated at every grid point (as
    /// `simulate --model`: the CSV's time is the network's total).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Strategy for --model.
    #[arg(long, value_enum, default_value = "spencnn")]
    pub strategy: crate::network::StrategyArg,
    /// The network options shared with `simulate --model` (`--prune`, `--activation`, ...).
    #[command(flatten)]
    pub model_args: crate::network::ModelArgs,
    /// The grid file (TOML: `base` and a `[grid]` table of arrays).
    #[arg(long, value_name = "FILE")]
    pub grid: PathBuf,
    /// `--set KEY=VALUE` on the grid's base (a key may not also be an axis of the grid).
    #[command(flatten)]
    pub overrides: crate::config_args::SetArgs,
    /// log2(N) for --op, in [4, 17].
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(4..=17))]
    pub log_n: u32,
    /// Levels L for --op.
    #[arg(long, default_value_t = 35, value_parser = clap::value_parser!(u64).range(1..=200))]
    pub levels: u64,
    /// Key-switching digits for --op.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=200))]
    pub dnum: u64,
    /// Accept --op parameters beyond the 128-bit HE-standard bound.
    #[arg(long)]
    pub allow_insecure: bool,
    /// Worker threads (0: one per core; at most 4 per core).
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// Folder for sweep.csv, sweep.json and pareto.svg (with --shard: for the shard's partial
    /// result; with --slurm: for the scripts, shards/, slurm-logs/ and the merged outputs).
    #[arg(long, default_value = "heaccel-sweep", value_name = "DIR")]
    pub out: PathBuf,
    /// Print one JSON object (the rows and the files written) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// `--shard`, `--slurm` and their options.
    #[command(flatten)]
    pub distribute: crate::distribute::DistributeArgs,
}

/// What a sweep simulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// One CKKS operation (`--op`).
    Op,
    /// A network (`--model`).
    Model,
}

/// The output of `heaccel sweep`.
#[derive(Debug, Serialize)]
pub struct SweepReport {
    /// What was simulated.
    pub title: String,
    /// The grid's keys, in column order.
    pub axes: Vec<String>,
    /// One row per configuration run, by index (with --shard: this shard's only, Pareto
    /// unmarked: the front is the merge's).
    pub rows: Vec<SweepRow>,
    /// The files written (CSV, JSON and SVG; with --shard: the partial result).
    pub files: Vec<PathBuf>,
    /// Word sizes the workload was compiled (`--model`) or lowered (`--op`) for.
    pub compiled_word_sizes: Vec<u32>,
    /// Wall-clock seconds: preparing (compiling/lowering) and simulating every point.
    pub prepare_seconds: f64,
    /// Wall-clock seconds simulating every point.
    pub simulate_seconds: f64,
    /// Worker threads used.
    pub jobs: usize,
    /// With --shard: this shard, the grid's points (`items`), and whether the shard's partial
    /// was already there (nothing run).
    pub shard: Option<crate::distribute::ShardDone>,
}

/// What `sweep.json` holds (and the merge of a sharded sweep reproduces): everything but
/// wall-clock figures, so equal runs write equal files.
#[derive(Debug, Serialize, Deserialize)]
pub struct SweepResult {
    /// What was simulated.
    pub title: String,
    /// The grid's keys, in column order.
    pub axes: Vec<String>,
    /// `op` or `model`.
    pub workload: Workload,
    /// Word sizes of the grid.
    pub word_sizes: Vec<u32>,
    /// One row per configuration, by index, Pareto marked.
    pub rows: Vec<SweepRow>,
}

/// The workload prepared for the grid's word sizes: lowered programs or compiled networks.
enum Prepared {
    Op(HashMap<u32, heaccel_sim::Program>),
    Model(HashMap<u32, std::result::Result<Vec<heaccel_host::netsim::CompiledNetwork>, String>>),
}

impl Prepared {
    fn evaluate(&self, config: &HwConfig) -> Result<Point> {
        match self {
            Prepared::Op(programs) => {
                let report = heaccel_sim::simulate(&programs[&config.word_bits], config)?;
                Ok(Point {
                    time_us: report.time_us,
                    bound: Some(report.bound.name().to_string()),
                    params: None,
                })
            }
            Prepared::Model(compiled) => {
                let choices = compiled[&config.word_bits]
                    .as_ref()
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let sim = heaccel_host::netsim::simulate_fastest(choices, config)?;
                Ok(Point {
                    time_us: sim.total.time_us,
                    bound: None,
                    params: Some(params_label(&sim)),
                })
            }
        }
    }
}

/// The kind partial sweep results carry.
pub const SHARD_KIND: &str = "sweep";

/// Everything that decides a sweep's rows: the resolved base configuration, the axes and the
/// workload with its options (the weights file by content). Its hash names the job in partial
/// results, so shards of different grids or options never merge.
fn job_description(args: &SweepArgs, grid: &Grid) -> Result<serde_json::Value> {
    let weights = match &args.model_args.weights {
        Some(path) => Some(crate::distribute::file_digest(path)?),
        None => None,
    };
    let m = &args.model_args;
    // The effective activation, so a default and the same value given explicitly hash alike.
    let activation = m.activation.clone().unwrap_or_else(|| {
        heaccel_host::netsim::default_activation(args.model.as_deref().unwrap_or("")).to_string()
    });
    Ok(serde_json::json!({
        "command": SHARD_KIND,
        "base": serde_json::to_value(&grid.base)?,
        "axes": grid.axes.iter().map(|(k, v)| (k.clone(), v.iter().map(|x| x.to_string()).collect::<Vec<_>>())).collect::<Vec<_>>(),
        "op": args.op.map(|o| format!("{o:?}")),
        "log_n": args.log_n,
        "levels": args.levels,
        "dnum": args.dnum,
        "allow_insecure": args.allow_insecure,
        "model": args.model,
        "strategy": format!("{:?}", args.strategy),
        "prune": m.prune,
        "activation": activation,
        "pool": m.pool,
        "repack": format!("{:?}", m.repack),
        "weights": weights,
    }))
}

/// `heaccel sweep`: prepares the workload once per word size of the grid, simulates every
/// point on `--jobs` threads and writes the CSV, the JSON and the Pareto figure under `--out`.
/// With `--shard I/N` only the shard's points (see [`heaccel_shard::partition()`]: points
/// grouped by word size, one compilation per shard) and a partial result instead.
pub fn command(args: &SweepArgs) -> Result<SweepReport> {
    let shard = args.distribute.shard;
    check_jobs(args.jobs)?;
    crate::output::check_output_dir(&args.out).context("--out")?;
    if shard.is_some() {
        crate::output::check_output_dir(&args.distribute.dir(&args.out)).context("--shard-dir")?;
    }
    let text = crate::input::read_text(&args.grid, "grid file", crate::input::MAX_TEXT_BYTES)?;
    let grid = Grid::parse(&text, &args.grid.display().to_string())?
        .with_overrides(&args.overrides.set)?;
    let configs = grid.configs()?;
    if args.model.is_some() && args.allow_insecure {
        bail!("--allow-insecure applies to --op only (networks choose secure parameters)");
    }
    let mut word_sizes: Vec<u32> = configs.iter().map(|c| c.word_bits).collect();
    word_sizes.sort_unstable();
    word_sizes.dedup();
    let jobs = if args.jobs == 0 {
        rayon::current_num_threads()
    } else {
        args.jobs
    };
    // The network is loaded once: its name titles the run, and it is compiled below.
    let model = match &args.model {
        Some(name) => Some(heaccel_host::netsim::ModelSweep::new(
            name,
            args.strategy.into(),
            &args.model_args.options()?,
        )?),
        None => None,
    };
    let workload = if model.is_some() {
        Workload::Model
    } else {
        Workload::Op
    };
    let title = title(model.as_ref(), args, &grid);
    let axes: Vec<String> = grid.axes.iter().map(|(k, _)| k.clone()).collect();
    let job = job_description(args, &grid)?;
    let job_hash = heaccel_shard::job_hash(&job);
    // The points this run simulates.
    let indices: Vec<usize> = match shard {
        None => (0..configs.len()).collect(),
        Some(spec) => {
            let items: Vec<heaccel_shard::Item> = configs
                .iter()
                .map(|c| heaccel_shard::Item {
                    group: c.word_bits as u64,
                    cost: 1.0,
                })
                .collect();
            heaccel_shard::partition(&items, spec.count as usize).swap_remove(spec.position())
        }
    };
    let job = shard.map(|spec| crate::distribute::ShardJob {
        kind: SHARD_KIND,
        spec,
        job_hash: job_hash.clone(),
        dir: args.distribute.dir(&args.out),
        total: configs.len(),
    });
    if let Some(job) = &job {
        if let Some(rows) = job.finished::<SweepRow>()? {
            return Ok(SweepReport {
                title,
                axes,
                rows,
                files: vec![job.done(true).partial],
                compiled_word_sizes: Vec::new(),
                prepare_seconds: 0.0,
                simulate_seconds: 0.0,
                jobs,
                shard: Some(job.done(true)),
            });
        }
    }
    let mut needed: Vec<u32> = indices.iter().map(|&i| configs[i].word_bits).collect();
    needed.sort_unstable();
    needed.dedup();

    let started = Instant::now();
    let prepared = match &model {
        Some(sweep) => {
            // One compilation per word size, shared by the points (an error makes its points
            // infeasible with that reason).
            Prepared::Model(
                needed
                    .iter()
                    .map(|&w| {
                        let compiled = sweep
                            .compile(w)
                            .map_err(|e| format!("{:#}", anyhow::Error::from(e)));
                        (w, compiled)
                    })
                    .collect(),
            )
        }
        None => {
            let op = args.op.expect("clap requires --op or --model");
            let mut programs = HashMap::new();
            for &w in &needed {
                let params = crate::simulate::op_params(
                    args.log_n,
                    args.levels as usize,
                    args.dnum as usize,
                    w,
                    args.allow_insecure,
                )?;
                programs.insert(w, crate::simulate::op_program(op, &params)?);
            }
            Prepared::Op(programs)
        }
    };
    let prepare_time = started.elapsed();
    let progress = crate::progress::bar(indices.len() as u64, "sweep");
    let mut rows = run_points(&grid, &configs, &indices, args.jobs, &progress, |config| {
        prepared.evaluate(config)
    })?;
    let total = started.elapsed();
    let (files, shard_run) = match job {
        None => {
            mark_pareto(&mut rows);
            let result = SweepResult {
                title: title.clone(),
                axes: axes.clone(),
                workload,
                word_sizes: word_sizes.clone(),
                rows,
            };
            let files = write_outputs(&args.out, &result)?;
            rows = result.rows;
            (files, None)
        }
        Some(job) => {
            let context = SweepResult {
                title: title.clone(),
                axes: axes.clone(),
                workload,
                word_sizes: word_sizes.clone(),
                rows: Vec::new(),
            };
            let path = job.write(&indices, &context, &rows)?;
            (vec![path], Some(job.done(false)))
        }
    };
    Ok(SweepReport {
        title,
        axes,
        rows,
        files,
        compiled_word_sizes: needed,
        prepare_seconds: prepare_time.as_secs_f64(),
        simulate_seconds: (total - prepare_time).as_secs_f64(),
        jobs,
        shard: shard_run,
    })
}

/// `heaccel sweep --slurm`: the job array of the grid's points in `--shard-dir` (default
/// `--out`), see [`crate::distribute::slurm_plan`].
pub fn slurm(args: &SweepArgs) -> Result<crate::distribute::SlurmPlan> {
    let text = crate::input::read_text(&args.grid, "grid file", crate::input::MAX_TEXT_BYTES)?;
    let grid = Grid::parse(&text, &args.grid.display().to_string())?
        .with_overrides(&args.overrides.set)?;
    grid.configs()?;
    let job_hash = heaccel_shard::job_hash(&job_description(args, &grid)?);
    let base = args.distribute.dir(&args.out);
    crate::distribute::slurm_plan(&args.distribute, SHARD_KIND, &base, grid.len(), &job_hash)
}

/// Refuses `--jobs` above 4 threads per core (0 is one per core).
fn check_jobs(jobs: usize) -> Result<()> {
    let cores = heaccel_verification::threads::available_cores();
    let max = cores * heaccel_verification::threads::MAX_THREADS_PER_CORE;
    if jobs > max {
        bail!(
            "--jobs {jobs}: at most {max} ({cores} cores, 4 threads per core); 0 is one per core"
        );
    }
    Ok(())
}

/// The figure's and report's title (independent of the shard: every shard and the merge
/// agree on it).
fn title(
    model: Option<&heaccel_host::netsim::ModelSweep>,
    args: &SweepArgs,
    grid: &Grid,
) -> String {
    match (model, args.op) {
        (Some(sweep), _) => format!(
            "{} ({:?}) on {} configurations",
            sweep.name(),
            args.strategy,
            grid.len()
        )
        .to_lowercase(),
        (None, op) => format!(
            "{} at N = 2^{}, L = {}: {} configurations",
            op.map_or(String::new(), |op| format!("{op:?}")),
            args.log_n,
            args.levels,
            grid.len()
        ),
    }
}

/// Puts a sharded sweep back together: the rows of every shard, the Pareto front over all of
/// them, and the files the unsharded run writes, in `out`.
pub fn finish_merged(
    context: &serde_json::Value,
    rows: Vec<serde_json::Value>,
    out: &Path,
) -> Result<(SweepResult, Vec<PathBuf>)> {
    let (mut result, rows): (SweepResult, Vec<SweepRow>) =
        crate::distribute::decode_merged(context, rows, "a sweep")?;
    result.rows = rows;
    mark_pareto(&mut result.rows);
    let files = write_outputs(out, &result)?;
    Ok((result, files))
}

/// `N=2^14 L=7 dnum=2` (and `+R refreshes` when bootstrapping is needed).
fn params_label(sim: &heaccel_host::netsim::NetworkSim) -> String {
    let p = &sim.params;
    let mut s = format!("N=2^{} L={} dnum={}", p.log_n, p.levels, p.dnum);
    if sim.total.refreshes > 0 {
        let _ = write!(s, " +{} refreshes", sim.total.refreshes);
    }
    s
}

/// The readable summary of a sweep: the Pareto front, the infeasible count, the timing and
/// the files.
pub fn format_report(r: &SweepReport) -> String {
    let mut s = String::new();
    if let Some(shard) = &r.shard {
        let _ = writeln!(
            s,
            "{}: shard {} ran {} of {} points{}",
            r.title,
            shard.shard,
            r.rows.len(),
            shard.items,
            if shard.skipped {
                " earlier (its partial result is there; nothing simulated)"
            } else {
                ""
            }
        );
        for f in &r.files {
            let _ = writeln!(s, "wrote {}", f.display());
        }
        let _ = writeln!(s, "merge every shard with: heaccel merge DIR... --out DIR");
        return s;
    }
    let _ = writeln!(
        s,
        "{}; Pareto front (cost = multiplier lanes x word bits):",
        r.title
    );
    let label = if r.rows.iter().any(|r| r.params.is_some()) {
        "params"
    } else {
        "bound"
    };
    let _ = writeln!(
        s,
        "  {:>12} {:>12}  {:<10} {}",
        "time_us",
        "cost",
        label,
        r.axes.join("  ")
    );
    let mut front: Vec<&SweepRow> = r.rows.iter().filter(|r| r.pareto).collect();
    front.sort_by_key(|r| r.cost_lane_bits);
    for row in front {
        let _ = writeln!(
            s,
            "  {:>12.3} {:>12}  {:<10} {}",
            row.time_us.unwrap_or(f64::NAN),
            row.cost_lane_bits,
            row.params.as_ref().or(row.bound.as_ref()).map_or("", |s| s),
            row.values.join("  ")
        );
    }
    let infeasible = r.rows.iter().filter(|r| r.time_us.is_none()).count();
    if infeasible > 0 {
        let _ = writeln!(
            s,
            "  {infeasible} configurations cannot run it (marked infeasible in the CSV)"
        );
    }
    let _ = writeln!(
        s,
        "  {} configurations in {:.2} s on {} threads ({:.2} s preparing for word sizes {:?})",
        r.rows.len(),
        r.prepare_seconds + r.simulate_seconds,
        r.jobs,
        r.prepare_seconds,
        r.compiled_word_sizes
    );
    for f in &r.files {
        let _ = writeln!(s, "wrote {}", f.display());
    }
    s
}

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

    /// The grid with `overrides` (`--set`) applied to its base, validated like the base itself
    /// (its name, and so every point's, records them). An override of a field that is also an
    /// axis is refused: the axis would replace its value at every point.
    pub fn with_overrides(mut self, overrides: &[heaccel_sim::Override]) -> Result<Self> {
        if let Some(o) = overrides
            .iter()
            .find(|o| self.axes.iter().any(|(key, _)| key == o.field()))
        {
            bail!(
                "--set {o}: `{}` is an axis of grid file {} (the grid's values would replace it \
                 at every point); set it in the grid or drop the --set",
                o.field(),
                self.source
            );
        }
        let source = format!("grid file {}, base `{}`", self.source, self.base.name);
        self.base = self
            .base
            .with_overrides(&source, overrides)
            .context("--set")?;
        Ok(self)
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
        let mut literal: heaccel_sim::HwConfigLiteral = value.try_into().with_context(|| {
            format!(
                "grid file {}, point {index}: a value has the wrong type",
                self.source
            )
        })?;
        literal.name = name.clone();
        HwConfig::new(literal, &name)
            .with_context(|| format!("grid file {}, point {index}", self.source))
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

/// What a grid point's simulation reports.
#[derive(Clone, Debug)]
pub struct Point {
    /// Simulated latency, microseconds.
    pub time_us: f64,
    /// The busiest unit (`--op` sweeps).
    pub bound: Option<String>,
    /// The parameter set chosen (`--model` sweeps), e.g. `N=2^14 L=7 dnum=2`.
    pub params: Option<String>,
}

/// One simulated grid point.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepRow {
    /// Point index in the grid.
    pub index: usize,
    /// The axis values, as written in the grid file.
    pub values: Vec<String>,
    /// Simulated latency; `None` when the point cannot run the workload (see `infeasible`).
    pub time_us: Option<f64>,
    /// The busiest unit (`--op` sweeps); `None` for `--model` sweeps and infeasible points.
    pub bound: Option<String>,
    /// The parameter set chosen (`--model` sweeps); `None` otherwise.
    pub params: Option<String>,
    /// Why the simulator refused the point (e.g. the working set exceeds the scratchpad).
    pub infeasible: Option<String>,
    /// [`multiplier_lanes`] times the word size in bits.
    pub cost_lane_bits: u64,
    /// Whether the point is on the Pareto front (no other point is both cheaper or equal and
    /// faster or equal, with one strictly).
    pub pareto: bool,
}

/// Simulates the points `indices` (ascending) of `grid` with `evaluate` on `jobs` threads (0:
/// all cores); `configs` are [`Grid::configs`]. Rows come back in `indices` order, Pareto
/// unmarked.
pub fn run_points(
    grid: &Grid,
    configs: &[HwConfig],
    indices: &[usize],
    jobs: usize,
    progress: &indicatif::ProgressBar,
    evaluate: impl Fn(&HwConfig) -> Result<Point> + Sync,
) -> Result<Vec<SweepRow>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("starting the worker threads")?;
    progress.set_length(indices.len() as u64);
    let rows: Vec<SweepRow> = pool.install(|| {
        indices
            .par_iter()
            .map(|&index| {
                let config = &configs[index];
                let result = evaluate(config);
                progress.inc(1);
                let (time_us, bound, params, infeasible) = match result {
                    Ok(p) => (Some(p.time_us), p.bound, p.params, None),
                    Err(e) => (None, None, None, Some(format!("{e:#}"))),
                };
                SweepRow {
                    index,
                    values: grid.point(index).iter().map(|v| v.to_string()).collect(),
                    time_us,
                    bound,
                    params,
                    infeasible,
                    cost_lane_bits: multiplier_lanes(config) * config.word_bits as u64,
                    pareto: false,
                }
            })
            .collect()
    });
    progress.finish_and_clear();
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

/// The CSV text: a header, then one row per point in index order. The column after
/// `time_us` is `bound` (the busiest unit) for `--op` sweeps and `params` (the parameter set)
/// for `--model` sweeps; it reads `infeasible` when the point cannot run the workload.
pub fn to_csv(axes: &[String], rows: &[SweepRow], workload: Workload) -> String {
    let model = workload == Workload::Model;
    let mut s = String::from("index");
    for key in axes {
        let _ = write!(s, ",{key}");
    }
    let label = if model { "params" } else { "bound" };
    let _ = writeln!(s, ",time_us,{label},cost_lane_bits,pareto");
    for r in rows {
        let _ = write!(s, "{}", r.index);
        for v in &r.values {
            let _ = write!(s, ",{}", v.replace(',', ";"));
        }
        let time = r.time_us.map_or(String::new(), |t| t.to_string());
        let what = r
            .params
            .as_ref()
            .or(r.bound.as_ref())
            .map_or("infeasible", |s| s);
        let _ = writeln!(s, ",{time},{what},{},{}", r.cost_lane_bits, r.pareto);
    }
    s
}

/// Writes `sweep.csv`, `sweep.json` and `pareto.svg` into `dir` (created if missing): all
/// three or none (staged, then moved into place).
pub fn write_outputs(dir: &Path, result: &SweepResult) -> Result<Vec<PathBuf>> {
    let points: Vec<(f64, f64, bool)> = result
        .rows
        .iter()
        .filter_map(|r| r.time_us.map(|t| (r.cost_lane_bits as f64, t, r.pareto)))
        .collect();
    if points.is_empty() {
        bail!(
            "no grid point could run the workload; the first reason: {}",
            result
                .rows
                .first()
                .and_then(|r| r.infeasible.clone())
                .unwrap_or_default()
        );
    }
    let csv = to_csv(&result.axes, &result.rows, result.workload);
    let json = serde_json::to_string_pretty(result)? + "\n";
    let svg = crate::plot::pareto_svg(&result.title, &points)?;
    crate::output::write_all_or_nothing(
        dir,
        &[
            ("sweep.csv", csv),
            ("sweep.json", json),
            ("pareto.svg", svg),
        ],
    )
}
