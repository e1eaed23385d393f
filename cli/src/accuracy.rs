//! `heaccel accuracy`: top-1 accuracy of a trained network on a labelled dataset, with ReLU
//! exact or as the composite minimax polynomial of the encrypted circuit
//! ([`heaccel_host::accuracy`]).
//!
//! One concern a file: the arguments, the run's report and its sharding (here), loading the
//! network, dataset and calibration (`load`), the human-readable report (`format`).

mod format;
mod load;

pub use format::format_accuracy;
pub use load::calibrated_minimax;
pub(crate) use load::cifar_resnet;
use load::load;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use heaccel_host::accuracy::{classify, AccuracyReport, ImageOutcome, ReportFrame};
use heaccel_host::data::Normalization;
use serde::{Deserialize, Serialize};

use crate::output::write_whole;
use crate::progress;

/// Default images per class of the calibration set.
pub const CALIBRATION_PER_CLASS: usize = 100;

/// `heaccel accuracy` options.
#[derive(Debug, Clone, Args)]
pub struct AccuracyArgs {
    /// The network: resnet20, resnet32, resnet44, resnet56 (the CIFAR-10 ResNets with option-A
    /// shortcuts, PyTorch names as in akamaster/pytorch_resnet_cifar10), or lenet, vgg5, hefnet
    /// (the zoo's).
    #[arg(long, value_name = "NAME")]
    pub model: String,
    /// Trained weights: safetensors with PyTorch `state_dict` names.
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,
    /// Test images: an ImageFolder (class folders of JPEG/PNG), a CIFAR-10 `.bin` batch (or a
    /// folder of data_batch_*.bin), or a folder with MNIST idx3/idx1 files (gzipped or not).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Only the first K images of each class (by sorted file name; file order for binary
    /// formats).
    #[arg(long, value_name = "K")]
    pub per_class: Option<usize>,
    /// ReLU as `relu` (exact) or `relu-minimax:ALPHA` (the composite minimax polynomial of
    /// precision ALPHA in 4..=14, input scaled by one bound B per layer).
    #[arg(long, default_value = "relu", value_name = "FN")]
    pub activation: String,
    /// How the minimax bounds are chosen.
    #[command(flatten)]
    pub calibration: CalibrationArgs,
    /// Per-channel mean after scaling pixels to [0, 1], comma-separated. Default: ImageNet's
    /// (0.485,0.456,0.406) for the CIFAR ResNets (as they were trained), 0 otherwise.
    #[arg(
        long,
        value_name = "M,M,M",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    pub mean: Option<Vec<f32>>,
    /// Per-channel standard deviation, comma-separated. Default: ImageNet's (0.229,0.224,0.225)
    /// for the CIFAR ResNets, 1 otherwise.
    #[arg(
        long,
        value_name = "S,S,S",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    pub std: Option<Vec<f32>>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to FILE (whole or not at all).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// `--shard`, `--slurm` and their options.
    #[command(flatten)]
    pub distribute: crate::distribute::DistributeArgs,
}

/// How the minimax ReLU's bounds are chosen (shared by `heaccel accuracy` and
/// `heaccel infer-boot`).
#[derive(Debug, Clone, Args)]
pub struct CalibrationArgs {
    /// Images the minimax bounds B are chosen on (each layer's largest |x| there, times
    /// --bound-margin). Default: the `train` folder beside --data when --data is a folder
    /// named `test`.
    #[arg(long, value_name = "DIR")]
    pub calibration: Option<PathBuf>,
    /// Images per class of the calibration set.
    #[arg(long, default_value_t = CALIBRATION_PER_CLASS, value_name = "K")]
    pub calibration_per_class: usize,
    /// B = margin x the largest calibration |x| of the layer (>= 1). The default 1.5 keeps
    /// test inputs inside [-B, B] (ResNet-20 on CIFAR-10 JPEG, 100 images per class: margin 1
    /// left 0.0006 % of ReLU inputs outside and 14 of 1,000 images with non-finite logits).
    #[arg(long, default_value_t = 1.5, value_name = "M")]
    pub bound_margin: f64,
    /// Design the minimax composite for [EPS, 1] instead of its alpha's default interval
    /// (same degrees: a wider interval costs precision); a number in (0, 1) or `2^-K`.
    #[arg(long, value_name = "EPS", value_parser = parse_eps)]
    pub eps: Option<f64>,
}

/// What `heaccel accuracy --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct AccuracyRun {
    /// The network.
    pub model: String,
    /// The weights file.
    pub weights: PathBuf,
    /// The dataset.
    pub data: PathBuf,
    /// Its format.
    pub format: String,
    /// `--per-class`.
    pub per_class: Option<usize>,
    /// The normalization applied.
    pub normalization: Normalization,
    /// `relu` or `relu-minimax:ALPHA`.
    pub activation: String,
    /// Correct top-1 predictions.
    pub correct: usize,
    /// Images.
    pub total: usize,
    /// `correct / total`.
    pub top1: f64,
    /// For minimax runs: the calibration set, its size and the margin.
    pub calibration: Option<Calibration>,
    /// ReLU inputs outside `[-B, B]` over all layers and images (minimax runs).
    pub outside_bound: u64,
    /// ReLU inputs with `|x| / B < eps` (minimax runs).
    pub below_eps: u64,
    /// ReLU inputs over all layers and images.
    pub relu_values: u64,
    /// Wall-clock seconds of the evaluation (not calibration or loading).
    pub seconds: f64,
    /// Images per second.
    pub images_per_second: f64,
    /// Threads.
    pub threads: usize,
    /// CPU model.
    pub cpu: String,
    /// The full report: per class, per activation layer, the approximation.
    pub report: AccuracyReport,
    /// With --shard: the shard, the dataset's size and the partial written (the figures above
    /// are the shard's images only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::distribute::ShardDone>,
}

/// The kind partial accuracy results carry.
pub const SHARD_KIND: &str = "accuracy";

/// What every shard of an accuracy run shares (the merge rebuilds the report from it and the
/// images' rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AccuracyContext {
    model: String,
    weights: PathBuf,
    data: PathBuf,
    format: String,
    per_class: Option<usize>,
    normalization: Normalization,
    calibration: Option<Calibration>,
    frame: ReportFrame,
}

/// One image's row in a partial result: its outcome and the shard's time per image.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccuracyRow {
    outcome: ImageOutcome,
    seconds: f64,
    threads: usize,
    cpu: String,
}

/// Where the bounds came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The calibration images.
    pub data: PathBuf,
    /// Their number.
    pub images: usize,
    /// The margin.
    pub margin: f64,
}

/// `2^-K` or a number, in (0, 1).
fn parse_eps(s: &str) -> Result<f64, String> {
    let value = match s.strip_prefix("2^") {
        Some(k) => k
            .parse::<i32>()
            .map(|k| 2f64.powi(k))
            .map_err(|_| format!("'{s}': expected 2^-K with K an integer"))?,
        None => s
            .parse::<f64>()
            .map_err(|_| format!("'{s}': expected a number in (0, 1) or 2^-K"))?,
    };
    if !(value > 0.0 && value < 1.0) {
        return Err(format!("'{s}' = {value}: expected a number in (0, 1)"));
    }
    Ok(value)
}
fn progress_bar(show: bool, len: usize, what: &str) -> indicatif::ProgressBar {
    if show {
        progress::bar(len as u64, what)
    } else {
        indicatif::ProgressBar::hidden()
    }
}

fn assemble(
    context: AccuracyContext,
    report: AccuracyReport,
    seconds: f64,
    threads: usize,
    cpu: String,
    shard: Option<crate::distribute::ShardDone>,
) -> AccuracyRun {
    AccuracyRun {
        model: context.model,
        weights: context.weights,
        data: context.data,
        format: context.format,
        per_class: context.per_class,
        normalization: context.normalization,
        activation: report.activation.clone(),
        correct: report.correct,
        total: report.total,
        top1: report.top1,
        calibration: context.calibration,
        outside_bound: report.outside(),
        below_eps: report.below_eps(),
        relu_values: report.values(),
        seconds,
        images_per_second: report.total as f64 / seconds.max(1e-9),
        threads,
        cpu,
        report,
        shard,
    }
}

/// Runs `heaccel accuracy`; progress bars on stderr when `show_progress`. With `--shard I/N`
/// only the shard's images, written as a partial result for `heaccel merge` (skipped when a
/// finished partial of the same job is there).
pub fn accuracy_command(args: &AccuracyArgs, show_progress: bool) -> Result<AccuracyRun> {
    if let Some(out) = &args.out {
        crate::output::check_output_file(out).context("--out")?;
    }
    let loaded = load(args, show_progress)?;
    let context = loaded.context(args);
    let job = args
        .distribute
        .dataset_job(SHARD_KIND, loaded.dataset.len(), || {
            loaded.job_hash(args, &context)
        })?;
    let indices: Vec<usize> = match &job {
        None => (0..loaded.dataset.len()).collect(),
        Some(job) => job.uniform_items(),
    };
    if let Some(job) = &job {
        if let Some(rows) = job.finished::<AccuracyRow>()? {
            return Ok(shard_run(&context, &rows, job.done(true)));
        }
    }
    let b = progress_bar(show_progress, indices.len(), "classifying");
    let start = Instant::now();
    if let Some(m) = &loaded.minimax {
        m.check_layers(&loaded.fast)?;
    }
    let outcomes = classify(
        &loaded.fast,
        &loaded.dataset,
        &loaded.norm,
        loaded.minimax.as_ref(),
        &indices,
        &|n| b.set_position(n as u64),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    b.finish_and_clear();
    let threads = rayon::current_num_threads();
    let cpu = heaccel_verification::ckks::kernels::cpu_model();
    let run = match job {
        None => {
            let report = context.frame.summarize(&outcomes);
            let run = assemble(context, report, seconds, threads, cpu, None);
            if let Some(out) = &args.out {
                write_whole(out, &(serde_json::to_string_pretty(&run)? + "\n"))?;
            }
            run
        }
        Some(job) => {
            let per_image = seconds / outcomes.len().max(1) as f64;
            let rows: Vec<AccuracyRow> = outcomes
                .into_iter()
                .map(|outcome| AccuracyRow {
                    outcome,
                    seconds: per_image,
                    threads,
                    cpu: cpu.clone(),
                })
                .collect();
            job.write(&indices, &context, &rows)?;
            shard_run(&context, &rows, job.done(false))
        }
    };
    Ok(run)
}

/// The report of one shard's rows (its images only).
fn shard_run(
    context: &AccuracyContext,
    rows: &[AccuracyRow],
    done: crate::distribute::ShardDone,
) -> AccuracyRun {
    let outcomes: Vec<ImageOutcome> = rows.iter().map(|r| r.outcome.clone()).collect();
    let (seconds, threads, cpu) = timing(rows);
    let report = context.frame.summarize(&outcomes);
    assemble(context.clone(), report, seconds, threads, cpu, Some(done))
}

/// Seconds summed over rows, the most threads, the CPU models (distinct, in order met).
fn timing(rows: &[AccuracyRow]) -> (f64, usize, String) {
    let mut cpus: Vec<&str> = Vec::new();
    for r in rows {
        if !cpus.contains(&r.cpu.as_str()) {
            cpus.push(&r.cpu);
        }
    }
    (
        rows.iter().map(|r| r.seconds).sum(),
        rows.iter().map(|r| r.threads).max().unwrap_or(0),
        cpus.join("; "),
    )
}

/// `heaccel accuracy --slurm`: the job array of the dataset's images (see
/// [`crate::distribute::slurm_plan`]).
pub fn accuracy_slurm(args: &AccuracyArgs) -> Result<crate::distribute::SlurmPlan> {
    let loaded = load(args, true)?;
    let job_hash = loaded.job_hash(args, &loaded.context(args))?;
    crate::distribute::dataset_slurm(
        &args.distribute,
        SHARD_KIND,
        loaded.dataset.len(),
        &job_hash,
    )
}

/// Puts a sharded accuracy run back together: the report of every image, written as
/// `accuracy.json` in `out` (what `--out` of the unsharded run holds; seconds summed over the
/// shards).
pub fn finish_merged(
    context: &serde_json::Value,
    rows: Vec<serde_json::Value>,
    out: &Path,
) -> Result<(AccuracyRun, Vec<PathBuf>)> {
    let (context, rows): (AccuracyContext, Vec<AccuracyRow>) =
        crate::distribute::decode_merged(context, rows, "an accuracy run")?;
    let classes = context.frame.classes.len();
    let layers = context.frame.layers.len();
    if let Some(bad) = rows
        .iter()
        .find(|r| r.outcome.label >= classes || r.outcome.layers.len() != layers)
    {
        bail!(
            "a partial result's row has label {} or {} layers (the run has {classes} classes, \
             {layers} activation layers)",
            bad.outcome.label,
            bad.outcome.layers.len()
        );
    }
    let outcomes: Vec<ImageOutcome> = rows.iter().map(|r| r.outcome.clone()).collect();
    let (seconds, threads, cpu) = timing(&rows);
    let report = context.frame.summarize(&outcomes);
    let run = assemble(context, report, seconds, threads, cpu, None);
    let files = crate::output::write_all_or_nothing(
        out,
        &[("accuracy.json", serde_json::to_string_pretty(&run)? + "\n")],
    )?;
    Ok((run, files))
}
