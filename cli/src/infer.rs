//! `heaccel infer --model NAME`: a zoo network compiled into one CKKS program, run on
//! encrypted inputs (by default on the accelerator's functional executor) and checked against
//! the plaintext forward pass ([`heaccel_host::infer`]).
//!
//! Input files (`--input FILE`):
//! - safetensors (any other extension): exactly one tensor named `input`, `F32` or `F64`, of
//!   shape `[C, H, W]` (or `[1, C, H, W]`), the network's input shape, CHW row-major;
//! - JSON (`.json`): an object `{"input": ...}` holding the values as nested arrays
//!   `[C][H][W]` (or `[1][C][H][W]`) or as one flat array of `C H W` numbers in CHW order.
//!
//! One concern a file: the arguments, the report and the run (here), reading input files
//! (`input`), the printed table (`format`).

mod format;
mod input;

pub use format::format_infer;
pub use input::{load_input, parse_input_json};

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use heaccel_host::data::{Dataset, LoadOptions, Normalization};
use heaccel_host::infer::{
    best_repack, Backend, InferOptions, InferResult, PhaseTimes, Session, SetupTimes,
    RELATIVE_TOLERANCE,
};
use heaccel_host::netsim::{
    check_prune_strategy, load_model, prune_config, ParameterChoice, StrategyChoice,
};
use heaccel_host::nn::weights::seeded_input;
use heaccel_host::nn::zoo;
use heaccel_host::nn::{FeatureMap, Network};
use heaccel_host::pack::{densified, GroupChoice, OpCounts, Repack, SpencnnConfig, Strategy};
use serde::Serialize;

use crate::network::{RepackArg, StrategyArg};
use crate::simulate::load_config;

/// The hardware configuration `--repack auto` simulates on.
pub const REPACK_CONFIG: &str = "fpga-u280";

/// The backends of `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// The accelerator's functional executor: every CKKS operation lowered to ISA and run
    /// instruction by instruction (bit-identical with the reference).
    Functional,
    /// The reference model's evaluator (faster).
    Reference,
}

/// `heaccel infer` options.
#[derive(Debug, Clone, Args)]
pub struct InferArgs {
    /// A zoo network (lenet, vgg5, hefnet, resnet20; resnet20 does not fit N = 2^14).
    #[arg(long, value_name = "NAME")]
    pub model: String,
    /// Strategy (dense: the baseline on the dense network).
    #[arg(long, value_enum, default_value = "spencnn")]
    pub strategy: StrategyArg,
    /// Sub-block pruning ratio for SpENCNN, in [0, 1] (one kernel tap per block).
    #[arg(long, value_name = "RATIO", allow_hyphen_values = true)]
    pub prune: Option<f64>,
    /// Trained weights (safetensors from `heaccel train`, PyTorch names, with the pruning
    /// masks `<layer>.weight_mask` when pruned): for --strategy spencnn the zoo network's
    /// grouped shapes, for --strategy dense every convolution ungrouped (as `heaccel train
    /// --strategy dense` writes them). Default: the zoo's seeded weights.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Labelled images (an MNIST IDX folder, CIFAR-10 binary batches or an ImageFolder) as the
    /// inputs, pixels scaled to [0, 1] as `heaccel train` trains: images --first .. --first +
    /// --count in the dataset's order (MNIST-10k: --first 8000 are the 2,000 images
    /// `heaccel train` holds out). Reports the encrypted and plaintext top-1 accuracy.
    #[arg(long, value_name = "DIR", conflicts_with = "input")]
    pub data: Option<PathBuf>,
    /// Index of the first image of --data.
    #[arg(long, default_value_t = 0, value_name = "I", requires = "data")]
    pub first: usize,
    /// Input file: safetensors with one tensor `input` [C, H, W], or JSON {"input": ...}.
    /// Default: seeded inputs (--seed, --count).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Seed of the first seeded input (uniform in [-1, 1)).
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
    /// Number of seeded inputs (seeds S, S+1, ...) or of --data images, 1 ..= 10000 (each is
    /// made when its turn comes, so memory does not grow with K).
    #[arg(long, default_value_t = 1, value_name = "K",
          value_parser = clap::value_parser!(u64).range(1..=MAX_COUNT))]
    pub count: u64,
    /// Exit non-zero unless every input has max abs error < 1e-3 of the output range and
    /// the same argmax as the plaintext pass.
    #[arg(long)]
    pub verify: bool,
    /// Where the program runs.
    #[arg(long, value_enum, default_value = "functional")]
    pub backend: BackendArg,
    /// Repacking of pooled maps: `auto` takes what `simulate --model` picks on fpga-u280.
    #[arg(long, value_enum, default_value = "auto")]
    pub repack: RepackArg,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl InferArgs {
    /// The defaults for `model` with seeded inputs.
    pub fn new(model: &str) -> Self {
        InferArgs {
            model: model.into(),
            strategy: StrategyArg::Spencnn,
            prune: None,
            weights: None,
            data: None,
            first: 0,
            input: None,
            seed: 1,
            count: 1,
            verify: false,
            backend: BackendArg::Functional,
            repack: RepackArg::Auto,
            json: false,
        }
    }
}

/// One input's result.
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    /// `seed S`, the file, or `DIR[i]` of --data.
    pub input: String,
    /// The image's label (--data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<usize>,
    /// The comparison and times.
    #[serde(flatten)]
    pub result: InferResult,
}

/// Summary over the inputs.
#[derive(Debug, Clone, Serialize)]
pub struct InferSummary {
    /// Inputs run.
    pub count: usize,
    /// Inputs passing the check.
    pub passed: usize,
    /// Inputs whose argmaxes agree.
    pub argmax_agree: usize,
    /// Largest max abs error.
    pub max_abs_error: f64,
    /// Largest error relative to the output range.
    pub max_relative_error: f64,
    /// Mean time per inference (all phases), ms.
    pub mean_total_ms: f64,
    /// Mean time of the encrypted evaluation, ms.
    pub mean_evaluate_ms: f64,
    /// Mean CPU time per inference (all phases), ms, where measured.
    pub mean_cpu_ms: Option<f64>,
    /// With --data: the fraction of images whose encrypted argmax is the label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted_top1: Option<f64>,
    /// With --data: the fraction of images whose plaintext argmax is the label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plaintext_top1: Option<f64>,
}

/// `heaccel infer` output.
#[derive(Debug, Clone, Serialize)]
pub struct InferReport {
    /// Model.
    pub model: String,
    /// `dense` or `spencnn`.
    pub strategy: String,
    /// `functional` or `reference`.
    pub backend: Backend,
    /// Repacked poolings (bit `i`: pooling `i`).
    pub repack_mask: u64,
    /// The parameters.
    pub params: ParameterChoice,
    /// Slots per ciphertext.
    pub slots: usize,
    /// Counts of the compiled program.
    pub ops: OpCounts,
    /// Rotation keys generated.
    pub rotation_keys: usize,
    /// One-time phases.
    pub setup: SetupTimes,
    /// The check's bound on the error relative to the output range.
    pub tolerance: f64,
    /// Per input.
    pub inputs: Vec<InputReport>,
    /// Over all inputs.
    pub summary: InferSummary,
    /// Whether every input passes.
    pub pass: bool,
}

/// Most seeded inputs one `heaccel infer` runs (each takes seconds to minutes).
pub const MAX_COUNT: u64 = 10_000;

/// The network and strategy `strategy` compiles: for the dense baseline `network` densified
/// (seeded dense weights) unless it already is the dense network `heaccel train` wrote
/// (`trained`), for SpENCNN `network` itself.
fn strategy_for(
    network: &Network,
    strategy: StrategyArg,
    prune: Option<f64>,
    trained: bool,
) -> Result<(Network, Strategy)> {
    let prune = prune_config(prune)?;
    check_prune_strategy(strategy.into(), prune.as_ref())?;
    Ok(match strategy {
        StrategyArg::Dense => {
            let dense = if trained {
                network.clone()
            } else {
                densified(network, zoo::DEFAULT_SEED)
            };
            (dense, Strategy::Dense)
        }
        StrategyArg::Spencnn => (
            network.clone(),
            Strategy::Spencnn(SpencnnConfig {
                groups: GroupChoice::Layer,
                prune,
            }),
        ),
    })
}

/// The network `--model` and `--weights` name and the strategy it is compiled with. Trained
/// weights are loaded into the architecture `heaccel train` wrote them for (the dense
/// strategy's convolutions ungrouped); their pruning masks drive the compiler's pruning.
fn network_for(args: &InferArgs) -> Result<(Network, Strategy)> {
    let network = match &args.weights {
        None => load_model(&args.model)?,
        Some(file) => {
            let model: zoo::ZooModel = args
                .model
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--model: {e}"))?;
            let mut network = heaccel_train::run::architecture(model, args.strategy.into())?;
            heaccel_host::nn::weights::load_safetensors(&mut network, file)
                .with_context(|| format!("--weights {}", file.display()))?;
            network
        }
    };
    strategy_for(&network, args.strategy, args.prune, args.weights.is_some())
}

/// The `index`-th input of `--data`: the image scaled to `[0, 1]` and its label.
fn data_input(data: &Dataset, index: usize) -> Result<(String, FeatureMap, usize)> {
    let pixels = data.input(index, &Normalization::identity(data.shape.channels));
    let input = FeatureMap::new(data.shape, pixels.into_iter().map(f64::from).collect())?;
    let name = format!("{}[{index}]", data.source.display());
    Ok((name, input, data.samples[index].label))
}

/// Runs `heaccel infer` (a progress bar on stderr when `progress` and stderr is a terminal).
pub fn infer_command(args: &InferArgs, progress: bool) -> Result<InferReport> {
    if args.input.is_some() && (args.count != 1 || args.seed != 1) {
        bail!("--seed and --count choose seeded inputs; they do not apply with --input");
    }
    if args.data.is_some() && args.seed != 1 {
        bail!("--seed chooses seeded inputs; it does not apply with --data");
    }
    if args.count == 0 {
        bail!("--count: must be at least 1");
    }
    let (network, strategy) = network_for(args)?;
    // The file's input, the labelled images, or the seeded inputs, each made when its turn
    // comes in the loop below.
    let file_input = match &args.input {
        Some(path) => Some((
            path.display().to_string(),
            load_input(path, network.input_shape)?,
        )),
        None => None,
    };
    let data = match &args.data {
        Some(dir) => {
            let options = LoadOptions {
                shape: network.input_shape,
                per_class: None,
            };
            let data =
                Dataset::open(dir, options).with_context(|| format!("--data {}", dir.display()))?;
            let end = args.first as u64 + args.count;
            if end > data.len() as u64 {
                bail!(
                    "--first {} --count {}: {} holds {} images",
                    args.first,
                    args.count,
                    dir.display(),
                    data.len()
                );
            }
            Some(data)
        }
        None => None,
    };
    let count = if file_input.is_some() { 1 } else { args.count };
    let nth_input = |i: u64| -> Result<(String, FeatureMap, Option<usize>)> {
        if let Some(data) = &data {
            let (name, input, label) = data_input(data, args.first + i as usize)?;
            return Ok((name, input, Some(label)));
        }
        Ok(match &file_input {
            Some((name, input)) => (name.clone(), input.clone(), None),
            None => {
                let seed = args.seed.wrapping_add(i);
                (
                    format!("seed {seed}"),
                    seeded_input(network.input_shape, seed),
                    None,
                )
            }
        })
    };
    let repack = match args.repack {
        RepackArg::Auto => best_repack(&network, &strategy, &load_config(REPACK_CONFIG)?)
            .with_context(|| format!("choosing the repacking of {}", network.name))?,
        RepackArg::Always => Repack::Always,
        RepackArg::Never => Repack::Never,
    };
    let backend = match args.backend {
        BackendArg::Functional => Backend::Functional,
        BackendArg::Reference => Backend::Reference,
    };
    let options = InferOptions {
        strategy,
        repack,
        backend,
    };
    let mut session = Session::new(&network, &options)
        .with_context(|| format!("compiling {} for encrypted inference", network.name))?;
    let total_ops = session.compiled.program.ops.len() as u64;
    let bar = if progress && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total_ops.saturating_mul(count));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} ops ({elapsed} / ~{duration})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut reports = Vec::new();
    for k in 0..count {
        let (name, input, label) = nth_input(k)?;
        bar.set_message(format!("{} {name}", network.name));
        let offset = k * total_ops;
        let result = session
            .infer(&input, &mut |done, _| {
                bar.set_position(offset + done as u64)
            })
            .with_context(|| format!("encrypted inference of {name}"))?;
        reports.push(InputReport {
            input: name.clone(),
            label,
            result,
        });
    }
    bar.finish_and_clear();
    let n = reports.len();
    let mean = |f: fn(&PhaseTimes) -> f64| {
        reports.iter().map(|r| f(&r.result.times)).sum::<f64>() / n as f64
    };
    let summary = InferSummary {
        count: n,
        passed: reports.iter().filter(|r| r.result.passes).count(),
        argmax_agree: reports
            .iter()
            .filter(|r| r.result.argmax_plain == r.result.argmax_encrypted)
            .count(),
        max_abs_error: reports
            .iter()
            .map(|r| r.result.max_abs_error)
            .fold(0.0, f64::max),
        max_relative_error: reports
            .iter()
            .map(|r| r.result.relative_error)
            .fold(0.0, f64::max),
        mean_total_ms: mean(|t| t.total_ms),
        mean_evaluate_ms: mean(|t| t.evaluate_ms),
        mean_cpu_ms: reports
            .iter()
            .map(|r| r.result.times.cpu_ms)
            .sum::<Option<f64>>()
            .map(|c| c / n as f64),
        encrypted_top1: top1(&reports, |r| r.argmax_encrypted),
        plaintext_top1: top1(&reports, |r| r.argmax_plain),
    };
    let repack_mask = match repack {
        Repack::Mask(m) => m,
        Repack::Always => u64::MAX,
        Repack::Never => 0,
    };
    Ok(InferReport {
        model: network.name.clone(),
        strategy: StrategyChoice::from(args.strategy).name().into(),
        backend,
        repack_mask,
        slots: session.compiled.program.slots,
        ops: session.compiled.report.total,
        rotation_keys: session.rotation_keys,
        setup: session.setup,
        params: session.parameters.clone(),
        tolerance: RELATIVE_TOLERANCE,
        pass: summary.passed == n,
        inputs: reports,
        summary,
    })
}

/// The fraction of labelled inputs whose `argmax` is the label (`None` without labels).
fn top1(reports: &[InputReport], argmax: fn(&InferResult) -> usize) -> Option<f64> {
    let labels: Option<Vec<usize>> = reports.iter().map(|r| r.label).collect();
    let labels = labels.filter(|l| !l.is_empty())?;
    let right = reports
        .iter()
        .zip(&labels)
        .filter(|(r, &l)| argmax(&r.result) == l)
        .count();
    Some(right as f64 / labels.len() as f64)
}
