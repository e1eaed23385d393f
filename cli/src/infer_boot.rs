//! `heaccel infer-boot`: a trained CIFAR ResNet on encrypted real images with minimax ReLU
//! and bootstrapping, on the reference evaluator, checked against the plaintext pass with the
//! same minimax ReLU ([`heaccel_host::bootinfer`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use heaccel_host::accuracy::{MinimaxSummary, ReluChoice};
use heaccel_host::bootinfer::{BootInferResult, BootSession, BootSetup};
use heaccel_host::data::{Dataset, LoadOptions};
use heaccel_host::nn::fast::FastNetwork;
use heaccel_host::nn::FeatureMap;
use heaccel_host::pack::Strategy;
use serde::{Deserialize, Serialize};

use crate::accuracy::{calibrated_minimax, cifar_resnet, Calibration, CalibrationArgs};
use crate::bootstrap::peak_memory_bytes;
use crate::output::write_whole;
use crate::params_file::resolve_params_opt_in;
use crate::progress;

/// `heaccel infer-boot` options.
#[derive(Debug, Clone, Args)]
pub struct InferBootArgs {
    /// The network: resnet20, resnet32, resnet44 or resnet56 (CIFAR-10, option-A shortcuts).
    #[arg(long, value_name = "NAME")]
    pub model: String,
    /// Trained weights: safetensors with PyTorch `state_dict` names.
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,
    /// Test images (ImageFolder, CIFAR-10 binary): the first image of each class in label
    /// order, then the second of each, until --count.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Images to run, >= 1.
    #[arg(long, default_value_t = 2, value_name = "K")]
    pub count: usize,
    /// The minimax ReLU, `relu-minimax:ALPHA`. Its depth plus one (the convolution before it)
    /// must fit the levels left after bootstrapping: 9 at n16-boot, so ALPHA <= 8 there
    /// (alpha 8 keeps ResNet-20 within 0.2 points of exact ReLU on CIFAR-10; see docs/RESULTS.md).
    #[arg(long, default_value = "relu-minimax:8", value_name = "FN")]
    pub activation: String,
    /// How the minimax bounds are chosen.
    #[command(flatten)]
    pub calibration: CalibrationArgs,
    /// A bootstrapping parameter preset (`heaccel ckks presets`).
    #[arg(long, default_value = "n16-boot", value_name = "NAME")]
    pub preset: String,
    /// Parameters from a JSON/TOML file instead of --preset.
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// Accept parameters below the 128-bit bound (test presets such as boot-test).
    #[arg(long)]
    pub allow_insecure: bool,
    /// Exit non-zero unless every image's encrypted top-1 class is the plaintext minimax
    /// pass's.
    #[arg(long)]
    pub verify: bool,
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

/// The kind partial infer-boot results carry.
pub const SHARD_KIND: &str = "infer-boot";

/// What every shard of an infer-boot run shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BootContext {
    model: String,
    weights: PathBuf,
    data: PathBuf,
    params: String,
    minimax: MinimaxSummary,
    calibration: Calibration,
    bounds: Vec<f64>,
}

/// One image's row in a partial result: its run and its shard's session and machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BootRow {
    image: ImageRun,
    setup: BootSetup,
    peak_memory_bytes: Option<u64>,
    threads: usize,
    cpu: String,
}

/// One image of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageRun {
    /// Where it came from.
    pub origin: String,
    /// Its label.
    pub label: usize,
    /// The comparison.
    #[serde(flatten)]
    pub result: BootInferResult,
}

/// What `heaccel infer-boot --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct InferBootRun {
    /// The network.
    pub model: String,
    /// The weights file.
    pub weights: PathBuf,
    /// The images' folder.
    pub data: PathBuf,
    /// The parameter set.
    pub params: String,
    /// The minimax ReLU.
    pub minimax: MinimaxSummary,
    /// The calibration of its bounds.
    pub calibration: Calibration,
    /// Each activation layer's bound, in execution order.
    pub bounds: Vec<f64>,
    /// The session.
    pub setup: BootSetup,
    /// Images run.
    pub images: usize,
    /// Images whose encrypted top-1 class is the plaintext minimax pass's.
    pub agree_with_plaintext: usize,
    /// Largest `|encrypted - plaintext|` logit over all images.
    pub max_logit_error: f64,
    /// Images whose encrypted top-1 class is their label.
    pub correct: usize,
    /// Mean seconds per image (encryption, evaluation, decryption).
    pub seconds_per_image: f64,
    /// Bootstrappings per image.
    pub bootstrappings: usize,
    /// Peak resident memory of the process, bytes (VmHWM; `null` where unreadable).
    pub peak_memory_bytes: Option<u64>,
    /// Threads.
    pub threads: usize,
    /// CPU model.
    pub cpu: String,
    /// Per image.
    pub per_image: Vec<ImageRun>,
    /// With --shard: the shard, the run's images and the partial written (the figures above
    /// are the shard's images only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::distribute::ShardDone>,
}

/// The images of a run, loaded and ordered, with the minimax ReLU and the parameters.
struct Prepared {
    name: String,
    params: heaccel_verification::ckks::Parameters,
    network: heaccel_host::nn::Network,
    norm: heaccel_host::data::Normalization,
    minimax: heaccel_host::accuracy::MinimaxRelu,
    context: BootContext,
    dataset: Dataset,
    /// Dataset positions of the run's images, in run order.
    order: Vec<usize>,
}

fn prepare(args: &InferBootArgs, show_progress: bool) -> Result<Prepared> {
    if args.count == 0 {
        bail!("--count must be >= 1");
    }
    let alpha = match args
        .activation
        .parse::<ReluChoice>()
        .map_err(|e| anyhow::anyhow!("--activation {e}"))?
    {
        ReluChoice::Minimax { alpha } => alpha,
        ReluChoice::Exact => {
            bail!("--activation relu: exact ReLU has no CKKS circuit; use relu-minimax:ALPHA")
        }
    };
    let (name, params) =
        resolve_params_opt_in(&args.preset, args.params.as_deref(), args.allow_insecure)?;
    let (network, norm) = cifar_resnet(&args.model, &args.weights)?;
    let shape = network.input_shape;
    let fast = FastNetwork::new(&network)?;
    let (minimax, calibration) = calibrated_minimax(
        &fast,
        &norm,
        alpha,
        &args.calibration,
        &args.data,
        show_progress,
    )?;
    let per_class = args.count.div_ceil(10);
    let dataset = Dataset::open(
        &args.data,
        LoadOptions {
            shape,
            per_class: Some(per_class),
        },
    )?;
    // the first of each class, then the second of each, ...: by (rank within class, label)
    let mut seen = vec![0usize; dataset.classes.len()];
    let mut keyed: Vec<((usize, usize), usize)> = dataset
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            seen[s.label] += 1;
            ((seen[s.label], s.label), i)
        })
        .collect();
    keyed.sort_unstable();
    let mut order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    order.truncate(args.count);
    if order.len() < args.count {
        bail!(
            "{}: {} images, --count {}",
            args.data.display(),
            order.len(),
            args.count
        );
    }
    let context = BootContext {
        model: args.model.clone(),
        weights: args.weights.clone(),
        data: args.data.clone(),
        params: name.clone(),
        minimax: minimax.summary(),
        calibration,
        bounds: minimax.bounds().to_vec(),
    };
    Ok(Prepared {
        name,
        params,
        network,
        norm,
        minimax,
        context,
        dataset,
        order,
    })
}

impl Prepared {
    /// Everything that decides the run's rows: the context (bounds included), the parameters,
    /// the weights by content and the images by name and label.
    fn job_hash(&self, args: &InferBootArgs) -> Result<String> {
        let samples: Vec<(&str, usize)> = self
            .order
            .iter()
            .map(|&i| {
                let s = &self.dataset.samples[i];
                (s.origin.as_str(), s.label)
            })
            .collect();
        Ok(heaccel_shard::job_hash(&serde_json::json!({
            "command": SHARD_KIND,
            "context": serde_json::to_value(&self.context)?,
            "params": serde_json::to_value(self.params.literal())?,
            "weights": crate::distribute::file_digest(&args.weights)?,
            "samples": samples,
        })))
    }
}

/// Runs `heaccel infer-boot`; progress bars on stderr when `show_progress`. With `--shard I/N`
/// only the shard's images (keys generated once per shard), written as a partial result for
/// `heaccel merge` (skipped when a finished partial of the same job is there).
pub fn infer_boot_command(args: &InferBootArgs, show_progress: bool) -> Result<InferBootRun> {
    if let Some(out) = &args.out {
        crate::output::check_output_file(out).context("--out")?;
    }
    let p = prepare(args, show_progress)?;
    let job = args
        .distribute
        .dataset_job(SHARD_KIND, p.order.len(), || p.job_hash(args))?;
    let positions: Vec<usize> = match &job {
        None => (0..p.order.len()).collect(),
        Some(job) => job.uniform_items(),
    };
    if let Some(job) = &job {
        if let Some(rows) = job.finished::<BootRow>()? {
            return assemble(p.context.clone(), rows, Some(job.done(true)));
        }
    }
    let mut rows = Vec::with_capacity(positions.len());
    if !positions.is_empty() {
        let shape = p.network.input_shape;
        let mut session =
            BootSession::new(&p.network, &p.params, p.minimax.clone(), &Strategy::Dense)
                .with_context(|| format!("setting up {} encrypted at {}", args.model, p.name))?;
        for (k, &position) in positions.iter().enumerate() {
            let i = p.order[position];
            let sample = &p.dataset.samples[i];
            let input = FeatureMap::new(
                shape,
                p.dataset
                    .input(i, &p.norm)
                    .into_iter()
                    .map(f64::from)
                    .collect(),
            )?;
            let bar = if show_progress {
                progress::bar(
                    session.compiled.program.ops.len() as u64,
                    &format!("image {}/{}", k + 1, positions.len()),
                )
            } else {
                indicatif::ProgressBar::hidden()
            };
            let t = Instant::now();
            let result = session.infer(&input, &mut |done, _| bar.set_position(done as u64))?;
            bar.finish_and_clear();
            if show_progress {
                eprintln!(
                    "{}: encrypted top-1 {} (plaintext {}, label {}), max logit error {:.2e}, \
                     {:.1} s",
                    sample.origin,
                    result.argmax_encrypted,
                    result.argmax_plain,
                    sample.label,
                    result.max_logit_error,
                    t.elapsed().as_secs_f64()
                );
            }
            rows.push(BootRow {
                image: ImageRun {
                    origin: sample.origin.clone(),
                    label: sample.label,
                    result,
                },
                setup: session.setup.clone(),
                peak_memory_bytes: None,
                threads: rayon::current_num_threads(),
                cpu: heaccel_verification::ckks::kernels::cpu_model(),
            });
        }
        let peak = peak_memory_bytes();
        rows.iter_mut().for_each(|r| r.peak_memory_bytes = peak);
    }
    if let Some(job) = &job {
        job.write(&positions, &p.context, &rows)?;
        return assemble(p.context.clone(), rows, Some(job.done(false)));
    }
    let run = assemble(p.context.clone(), rows, None)?;
    if let Some(out) = &args.out {
        write_whole(out, &(serde_json::to_string_pretty(&run)? + "\n"))?;
    }
    Ok(run)
}

/// The run of `rows` (in run order): counts, the largest error, seconds per image; the
/// session of the first row; the largest peak memory and thread count; the CPU models.
fn assemble(
    context: BootContext,
    rows: Vec<BootRow>,
    shard: Option<crate::distribute::ShardDone>,
) -> Result<InferBootRun> {
    let first = rows.first().context("no image was run (an empty shard)")?;
    let setup = first.setup.clone();
    let mut cpus: Vec<String> = Vec::new();
    for r in &rows {
        if !cpus.contains(&r.cpu) {
            cpus.push(r.cpu.clone());
        }
    }
    let peak = rows.iter().filter_map(|r| r.peak_memory_bytes).max();
    let threads = rows.iter().map(|r| r.threads).max().unwrap_or(0);
    let per_image: Vec<ImageRun> = rows.into_iter().map(|r| r.image).collect();
    let images = per_image.len();
    Ok(InferBootRun {
        model: context.model,
        weights: context.weights,
        data: context.data,
        params: context.params,
        minimax: context.minimax,
        calibration: context.calibration,
        bounds: context.bounds,
        bootstrappings: setup.bootstrappings,
        setup,
        images,
        agree_with_plaintext: per_image.iter().filter(|r| r.result.agrees).count(),
        max_logit_error: per_image
            .iter()
            .map(|r| r.result.max_logit_error)
            .fold(0.0, f64::max),
        correct: per_image
            .iter()
            .filter(|r| r.result.argmax_encrypted == r.label)
            .count(),
        seconds_per_image: per_image.iter().map(|r| r.result.seconds).sum::<f64>() / images as f64,
        peak_memory_bytes: peak,
        threads,
        cpu: cpus.join("; "),
        per_image,
        shard,
    })
}

/// `heaccel infer-boot --slurm`: the job array of the run's images (see
/// [`crate::distribute::slurm_plan`]).
pub fn infer_boot_slurm(args: &InferBootArgs) -> Result<crate::distribute::SlurmPlan> {
    let p = prepare(args, true)?;
    let job_hash = p.job_hash(args)?;
    crate::distribute::dataset_slurm(&args.distribute, SHARD_KIND, p.order.len(), &job_hash)
}

/// Puts a sharded infer-boot run back together, written as `infer-boot.json` in `out` (what
/// `--out` of the unsharded run holds).
pub fn finish_merged(
    context: &serde_json::Value,
    rows: Vec<serde_json::Value>,
    out: &Path,
) -> Result<(InferBootRun, Vec<PathBuf>)> {
    let (context, rows): (BootContext, Vec<BootRow>) =
        crate::distribute::decode_merged(context, rows, "an infer-boot run")?;
    let run = assemble(context, rows, None)?;
    let files = crate::output::write_all_or_nothing(
        out,
        &[(
            "infer-boot.json",
            serde_json::to_string_pretty(&run)? + "\n",
        )],
    )?;
    Ok((run, files))
}

/// The human-readable report.
pub fn format_infer_boot(run: &InferBootRun) -> String {
    let mut s = String::new();
    if let Some(shard) = &run.shard {
        let _ = writeln!(
            s,
            "shard {} of a run of {} images{}: {} (figures below: this shard's images)",
            shard.shard,
            shard.items,
            if shard.skipped { ", done earlier" } else { "" },
            shard.partial.display()
        );
    }
    let setup = &run.setup;
    let _ = writeln!(
        s,
        "{} encrypted at {} (N = 2^{}, {} slots, {} levels after bootstrapping), ReLU \
         relu-minimax:{} (depth {})",
        run.model,
        run.params,
        setup.log_n,
        setup.slots,
        setup.levels,
        run.minimax.alpha,
        setup.relu_depth
    );
    let _ = writeln!(
        s,
        "program: {} operations, {} plaintexts, {} bootstrappings of depth {}; keys: {} \
         rotation (restricted to levels <= {}) + {} bootstrapping, {:.2} GB; compile {:.1} s, \
         keygen {:.1} s",
        setup.program_ops,
        setup.plaintexts,
        setup.bootstrappings,
        setup.bootstrap_depth,
        setup.rotation_keys,
        setup.levels,
        setup.bootstrap_keys,
        setup.key_bytes as f64 / 1e9,
        setup.compile_ms / 1e3,
        setup.keygen_ms / 1e3
    );
    for r in &run.per_image {
        let _ = writeln!(
            s,
            "  {:<28} label {} encrypted {} plaintext {} {} max logit error {:.2e} {:.1} s",
            r.origin,
            r.label,
            r.result.argmax_encrypted,
            r.result.argmax_plain,
            if r.result.agrees { "agree" } else { "DIFFER" },
            r.result.max_logit_error,
            r.result.seconds
        );
    }
    let _ = writeln!(
        s,
        "top-1 agrees with the plaintext minimax pass on {} / {} images; max logit error \
         {:.2e}; {} correct; {:.1} s per image; peak memory {}",
        run.agree_with_plaintext,
        run.images,
        run.max_logit_error,
        run.correct,
        run.seconds_per_image,
        run.peak_memory_bytes
            .map_or("?".to_string(), |b| format!("{:.2} GB", b as f64 / 1e9))
    );
    s
}
