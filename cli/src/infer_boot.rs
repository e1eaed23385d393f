//! `heaccel infer-boot`: a trained CIFAR ResNet on encrypted real images with minimax ReLU
//! and bootstrapping, on the reference evaluator, checked against the plaintext pass with the
//! same minimax ReLU ([`heaccel_host::bootinfer`]).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use heaccel_host::accuracy::{MinimaxSummary, ReluChoice};
use heaccel_host::bootinfer::{BootInferResult, BootSession, BootSetup};
use heaccel_host::data::{Dataset, LoadOptions};
use heaccel_host::nn::fast::FastNetwork;
use heaccel_host::nn::FeatureMap;
use heaccel_host::pack::Strategy;
use serde::Serialize;

use crate::accuracy::{calibrated_minimax, cifar_resnet, Calibration, CalibrationArgs};
use crate::bootstrap::peak_memory_bytes;
use crate::params_file::resolve_params_opt_in;
use crate::plot::write_whole;
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
    /// (alpha 8 keeps ResNet-20 within 0.2 points of exact ReLU on CIFAR-10; see the README).
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
}

/// One image of a run.
#[derive(Debug, Clone, Serialize)]
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
}

/// Runs `heaccel infer-boot`; progress bars on stderr when `show_progress`.
pub fn infer_boot_command(args: &InferBootArgs, show_progress: bool) -> Result<InferBootRun> {
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
    let summary = minimax.summary();
    let bounds = minimax.bounds().to_vec();
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
    let mut session = BootSession::new(&network, &params, minimax, &Strategy::Dense)
        .with_context(|| format!("setting up {} encrypted at {name}", args.model))?;
    let mut per_image = Vec::with_capacity(order.len());
    for (k, &i) in order.iter().enumerate() {
        let sample = &dataset.samples[i];
        let input = FeatureMap::new(
            shape,
            dataset.input(i, &norm).into_iter().map(f64::from).collect(),
        )?;
        let bar = if show_progress {
            progress::bar(
                session.compiled.program.ops.len() as u64,
                &format!("image {}/{}", k + 1, order.len()),
            )
        } else {
            indicatif::ProgressBar::hidden()
        };
        let t = Instant::now();
        let result = session.infer(&input, &mut |done, _| bar.set_position(done as u64))?;
        bar.finish_and_clear();
        if show_progress {
            eprintln!(
                "{}: encrypted top-1 {} (plaintext {}, label {}), max logit error {:.2e}, {:.1} s",
                sample.origin,
                result.argmax_encrypted,
                result.argmax_plain,
                sample.label,
                result.max_logit_error,
                t.elapsed().as_secs_f64()
            );
        }
        per_image.push(ImageRun {
            origin: sample.origin.clone(),
            label: sample.label,
            result,
        });
    }
    let images = per_image.len();
    let run = InferBootRun {
        model: args.model.clone(),
        weights: args.weights.clone(),
        data: args.data.clone(),
        params: name,
        minimax: summary,
        calibration,
        bounds,
        bootstrappings: session.setup.bootstrappings,
        setup: session.setup.clone(),
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
        peak_memory_bytes: peak_memory_bytes(),
        threads: rayon::current_num_threads(),
        cpu: heaccel_verification::ckks::kernels::cpu_model(),
        per_image,
    };
    if let Some(out) = &args.out {
        write_whole(out, &(serde_json::to_string_pretty(&run)? + "\n"))?;
    }
    Ok(run)
}

/// The human-readable report.
pub fn format_infer_boot(run: &InferBootRun) -> String {
    let mut s = String::new();
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
