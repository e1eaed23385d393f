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
//!
//! One concern a file: the command and its job (here), the grid file (`grid`), the points and
//! their Pareto front (`rows`), the summary, CSV and output files (`report`).

mod grid;
mod report;
mod rows;

pub use grid::{Grid, MAX_CONFIGS};
pub use report::{format_report, to_csv, write_outputs};
pub use rows::{mark_pareto, multiplier_lanes, run_points, Point, SweepRow};

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use heaccel_sim::HwConfig;
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
