//! Runs beyond one machine, shared by `sweep`, `accuracy` and `infer-boot`: `--shard I/N`
//! (run one slice and write a partial result), `--slurm` (write, and with `--submit` submit,
//! a job array of shards and its merge job), and the helpers every output needs (inputs read
//! with a size limit, outputs written whole, several files all or nothing).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use heaccel_shard::slurm::{self, ArrayJob, SHARD_PLACEHOLDER};
use heaccel_shard::{Partial, ShardSpec};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Default folder of partial results for `accuracy` and `infer-boot` (`sweep`: its `--out`).
pub const DEFAULT_SHARD_DIR: &str = "heaccel-shards";

/// What one shard of a dataset run did (in its report).
#[derive(Debug, Clone, Serialize)]
pub struct ShardDone {
    /// `I/N`.
    pub shard: String,
    /// Items (images) of the whole run.
    pub items: usize,
    /// The job hash its partial carries.
    pub job_hash: String,
    /// The partial result.
    pub partial: PathBuf,
    /// The partial was there from an earlier run of the same job; nothing was run.
    pub skipped: bool,
}

/// One shard of a run: its kind, its place, the job it belongs to and where its partial goes.
#[derive(Debug, Clone)]
pub struct ShardJob {
    /// The command's kind (`sweep`, `accuracy`, `infer-boot`).
    pub kind: &'static str,
    /// This shard.
    pub spec: ShardSpec,
    /// The job hash.
    pub job_hash: String,
    /// Folder of the partial results.
    pub dir: PathBuf,
    /// Items of the whole run.
    pub total: usize,
}

impl ShardJob {
    /// The rows of this shard's finished partial (same job, same heaccel), if it is there.
    pub fn finished<R: DeserializeOwned>(&self) -> Result<Option<Vec<R>>> {
        match Partial::existing(&self.dir, self.kind, self.spec, &self.job_hash) {
            None => Ok(None),
            Some(p) => Ok(Some(decode_rows(p.rows.into_iter().map(|(_, r)| r))?)),
        }
    }

    /// Writes the partial: `rows[k]` is the result of item `items[k]`; `context` is what the
    /// merge needs, identical in every shard.
    pub fn write<C: Serialize, R: Serialize>(
        &self,
        items: &[usize],
        context: &C,
        rows: &[R],
    ) -> Result<PathBuf> {
        anyhow::ensure!(items.len() == rows.len(), "one row per item");
        let partial = Partial {
            header: heaccel_shard::PartialHeader::new(
                self.kind,
                self.job_hash.clone(),
                self.spec,
                self.total,
                items.to_vec(),
                serde_json::to_value(context)?,
            ),
            rows: items
                .iter()
                .zip(rows)
                .map(|(&i, r)| Ok((i, serde_json::to_value(r)?)))
                .collect::<Result<_>>()?,
        };
        Ok(partial.write_into(&self.dir)?)
    }

    /// This shard's items when all cost the same (images): see [`uniform_slice`].
    pub fn uniform_items(&self) -> Vec<usize> {
        uniform_slice(self.total, self.spec)
    }

    /// What a report says about this shard.
    pub fn done(&self, skipped: bool) -> ShardDone {
        ShardDone {
            shard: self.spec.to_string(),
            items: self.total,
            job_hash: self.job_hash.clone(),
            partial: self
                .dir
                .join(heaccel_shard::partial::file_name(self.kind, self.spec)),
            skipped,
        }
    }
}

/// Rows of partial results decoded as the command's row type.
pub fn decode_rows<R: DeserializeOwned>(rows: impl IntoIterator<Item = Value>) -> Result<Vec<R>> {
    rows.into_iter()
        .map(|r| serde_json::from_value(r).context("a partial result's row is not this run's"))
        .collect()
}

/// A merged run's context and rows decoded as the command's types; `what` names the command.
pub fn decode_merged<C: DeserializeOwned, R: DeserializeOwned>(
    context: &Value,
    rows: Vec<Value>,
    what: &str,
) -> Result<(C, Vec<R>)> {
    let context = serde_json::from_value(context.clone())
        .with_context(|| format!("the partial results' context is not {what}'s"))?;
    Ok((context, decode_rows(rows)?))
}

/// `--slurm` of a dataset run (`accuracy`, `infer-boot`) of `items` images: the job array in
/// `--shard-dir` (default [`DEFAULT_SHARD_DIR`]), see [`slurm_plan`].
pub fn dataset_slurm(
    args: &DistributeArgs,
    kind: &str,
    items: usize,
    job_hash: &str,
) -> Result<SlurmPlan> {
    let base = args.dir(Path::new(DEFAULT_SHARD_DIR));
    slurm_plan(args, kind, &base, items, job_hash)
}

/// The positions of shard `spec` among `items` items of equal cost (images of one dataset):
/// contiguous, sizes differing by at most one.
pub fn uniform_slice(items: usize, spec: ShardSpec) -> Vec<usize> {
    heaccel_shard::partition(
        &vec![heaccel_shard::Item::uniform(); items],
        spec.count as usize,
    )
    .swap_remove(spec.position())
}

/// Refuses `--shard I/N` with more shards than `items` (a shard of a dataset run sets up its
/// model and keys, so an empty one would only cost).
fn check_shard_count(shard: Option<ShardSpec>, items: usize, what: &str) -> Result<()> {
    if let Some(spec) = shard {
        if spec.count as usize > items {
            bail!(
                "--shard {spec}: {} shards for {items} {what}; at most one shard per item",
                spec.count
            );
        }
    }
    Ok(())
}

/// Default number of Slurm array tasks (at most one per item).
pub const DEFAULT_ARRAY_SIZE: u32 = 64;

/// The options of sharded and Slurm runs.
#[derive(Debug, Clone, Default, Args)]
pub struct DistributeArgs {
    /// Run only shard I of N (1 <= I <= N): a deterministic slice of the work balanced by
    /// estimated cost; writes a partial result into --shard-dir for `heaccel merge`. A shard
    /// whose partial result is already there (same job, same heaccel) is skipped.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<ShardSpec>,
    /// Folder of the partial results (--shard), or of the Slurm scripts, logs, shards and
    /// merged outputs (--slurm). Default: --out for sweep, heaccel-shards otherwise.
    #[arg(long, value_name = "DIR")]
    pub shard_dir: Option<PathBuf>,
    /// Write a Slurm job array (one task per shard) and a merge job that runs when all
    /// succeeded, into --shard-dir; resubmitting skips finished shards.
    #[arg(long, conflicts_with = "shard")]
    pub slurm: bool,
    /// Shards (array tasks) of --slurm (default: 64, at most one per item).
    #[arg(long, value_name = "N", requires = "slurm")]
    pub array_size: Option<u32>,
    /// Slurm partition of the jobs.
    #[arg(long, value_name = "P", requires = "slurm")]
    pub partition: Option<String>,
    /// Slurm time limit per task (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S).
    #[arg(long, value_name = "T", requires = "slurm")]
    pub time: Option<String>,
    /// Submit the scripts with sbatch (the merge job after the array).
    #[arg(long, requires = "slurm")]
    pub submit: bool,
}

impl DistributeArgs {
    /// The shard job of a dataset run (`accuracy`, `infer-boot`) of `total` images, when
    /// `--shard` is given; `job_hash` is computed only then.
    pub fn dataset_job(
        &self,
        kind: &'static str,
        total: usize,
        job_hash: impl FnOnce() -> Result<String>,
    ) -> Result<Option<ShardJob>> {
        check_shard_count(self.shard, total, "images")?;
        Ok(match self.shard {
            Some(spec) => Some(ShardJob {
                kind,
                spec,
                job_hash: job_hash()?,
                dir: self.dir(Path::new(DEFAULT_SHARD_DIR)),
                total,
            }),
            None => None,
        })
    }

    /// The folder of partial results / Slurm files, `--shard-dir` or `default`.
    pub fn dir(&self, default: &Path) -> PathBuf {
        self.shard_dir
            .clone()
            .unwrap_or_else(|| default.to_path_buf())
    }
}

/// What `--slurm` wrote and submitted.
#[derive(Debug, Serialize)]
pub struct SlurmPlan {
    /// The job-array script.
    pub array_script: PathBuf,
    /// The merge job's script.
    pub merge_script: PathBuf,
    /// Shards of the run.
    pub shards: u32,
    /// Shards without a finished partial result, in the array.
    pub pending: Vec<u32>,
    /// Where the shards write their partial results.
    pub shard_dir: PathBuf,
    /// Where the merge writes the outputs.
    pub out: PathBuf,
    /// With --submit: the array's job id (none when every shard was finished).
    pub array_job: Option<String>,
    /// With --submit: the merge job's id.
    pub merge_job: Option<String>,
}

/// Flags of the submitting command that the array tasks do not get (they get `--shard` and
/// `--shard-dir` instead); the bool is whether the flag takes a value.
const SLURM_ONLY: [(&str, bool); 6] = [
    ("--slurm", false),
    ("--submit", false),
    ("--array-size", true),
    ("--partition", true),
    ("--time", true),
    ("--shard-dir", true),
];

/// This process's arguments (after the program) without the Slurm-only flags.
fn task_arguments() -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let arg = arg
            .into_string()
            .map_err(|a| anyhow::anyhow!("--slurm: argument {a:?} is not UTF-8"))?;
        let flag = arg.split_once('=').map_or(arg.as_str(), |(f, _)| f);
        match SLURM_ONLY.iter().find(|(f, _)| *f == flag) {
            Some((_, true)) if !arg.contains('=') => {
                args.next();
            }
            Some(_) => {}
            None => out.push(arg),
        }
    }
    Ok(out)
}

/// Writes (and with `--submit` submits) the Slurm job array of a run of `items` items whose
/// partial results are `kind` partials of `job_hash`: the array runs the pending shards of
/// `array_size` (capped at `items`), each with `--shard $SLURM_ARRAY_TASK_ID/N --shard-dir
/// BASE/shards`; the merge job runs `heaccel merge BASE/shards --out BASE`.
pub fn slurm_plan(
    args: &DistributeArgs,
    kind: &str,
    base: &Path,
    items: usize,
    job_hash: &str,
) -> Result<SlurmPlan> {
    if items == 0 {
        bail!("--slurm: the run has no items to shard");
    }
    let requested = args.array_size.unwrap_or(DEFAULT_ARRAY_SIZE);
    if requested == 0 || requested > heaccel_shard::MAX_SHARDS {
        bail!(
            "--array-size {requested}: expected 1 ..= {}",
            heaccel_shard::MAX_SHARDS
        );
    }
    let shards = requested.min(items.min(u32::MAX as usize) as u32);
    if let Some(p) = &args.partition {
        slurm::check_partition(p)?;
    }
    if let Some(t) = &args.time {
        slurm::check_time(t)?;
    }
    let workdir = std::env::current_dir().context("--slurm: the current folder")?;
    let base = workdir.join(base);
    let shard_dir = base.join("shards");
    let pending: Vec<u32> = (1..=shards)
        .filter(|&i| {
            let spec = ShardSpec::new(i, shards).expect("1 <= i <= shards");
            Partial::existing(&shard_dir, kind, spec, job_hash).is_none()
        })
        .collect();
    let exe = std::env::current_exe().context("--slurm: the heaccel executable's path")?;
    let exe = exe.display().to_string();
    let mut task = vec![exe.clone()];
    task.extend(task_arguments()?);
    task.extend([
        "--shard".to_string(),
        SHARD_PLACEHOLDER.to_string(),
        "--shard-dir".to_string(),
        shard_dir.display().to_string(),
    ]);
    let merge = vec![
        exe,
        "merge".to_string(),
        shard_dir.display().to_string(),
        "--out".to_string(),
        base.display().to_string(),
    ];
    let job = ArrayJob {
        name: format!("heaccel-{kind}"),
        workdir,
        shards,
        pending: pending.clone(),
        partition: args.partition.clone(),
        time: args.time.clone(),
        task,
        merge,
        log_dir: base.join("slurm-logs"),
    };
    let (array_script, merge_script) = job.write_scripts(&base)?;
    let (array_job, merge_job) = if args.submit {
        let (a, m) = slurm::submit(&array_script, &merge_script, !pending.is_empty())?;
        (a, Some(m))
    } else {
        (None, None)
    };
    Ok(SlurmPlan {
        array_script,
        merge_script,
        shards,
        pending,
        shard_dir,
        out: base,
        array_job,
        merge_job,
    })
}

/// The readable summary of `--slurm`.
pub fn format_plan(plan: &SlurmPlan) -> String {
    let mut s = format!(
        "wrote {} ({} of {} shards pending: {}) and {}\n",
        plan.array_script.display(),
        plan.pending.len(),
        plan.shards,
        if plan.pending.is_empty() {
            "none".to_string()
        } else {
            slurm::array_ranges(&plan.pending)
        },
        plan.merge_script.display()
    );
    match (&plan.array_job, &plan.merge_job) {
        (Some(a), Some(m)) => s.push_str(&format!(
            "submitted job array {a} and merge job {m} (after {a}); outputs into {}\n",
            plan.out.display()
        )),
        (None, Some(m)) => s.push_str(&format!(
            "every shard was finished: submitted merge job {m}; outputs into {}\n",
            plan.out.display()
        )),
        _ => s.push_str(&format!(
            "submit with:\n  id=$(sbatch --parsable {})\n  sbatch --dependency=afterok:$id {}\n",
            plan.array_script.display(),
            plan.merge_script.display()
        )),
    }
    s
}

/// The SHA-256 (hex) of a file's bytes, so a job names its inputs by content.
pub fn file_digest(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
