//! `heaccel train`: HE-aware training of a zoo network ([`heaccel_train`]), its weights written
//! as `f32` safetensors with PyTorch names that `heaccel infer`, `simulate`, `compare` and
//! `accuracy` read with `--weights`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use heaccel_host::nn::{Activation, Layer};
use heaccel_train::prune::LayerPruning;
use heaccel_train::trainer::EpochReport;
use heaccel_train::{Request, StrategyChoice, TrainConfig};
use serde::{Deserialize, Serialize};

use crate::network::StrategyArg;
use crate::output::check_output_file;

/// `heaccel train` options.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// The network: lenet (trained on MNIST), vgg5 or hefnet (trained on CIFAR-10).
    #[arg(long, value_name = "NAME")]
    pub model: String,
    /// lenet: the MNIST folder (one `*idx3*` images file and one `*idx1*` labels file,
    /// gzipped or not; the first --train-images images train, the last --test-images test).
    /// vgg5, hefnet: the folder holding the CIFAR-10 ImageFolders `train/` and `test/` (class
    /// folders of 32x32 JPEG/PNG images), or the extracted cifar10-jpeg.tar.gz's root holding
    /// `cifar10/`. Pixels are scaled to [0, 1] without per-channel normalization, as
    /// `heaccel accuracy` and `infer` feed these networks.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// `spencnn`: the zoo network with its HE-group convolutions (the weights `heaccel infer`
    /// and `simulate --weights` load); `dense`: every convolution ungrouped (the dense
    /// baseline's network).
    #[arg(long, value_enum, default_value = "spencnn")]
    pub strategy: StrategyArg,
    /// Sub-block pruning ratio, in [0, 1): every convolution loses floor(RATIO x blocks) of
    /// the blocks the compiler prunes (`simulate --prune`), by magnitude, gradually over the
    /// middle third of the epochs, then fine-tuned with the mask fixed. The mask is written
    /// as `{layer}.weight_mask` beside the weights; `simulate`, `compare` and `accuracy`
    /// `--weights` prune exactly it. `--strategy spencnn` only.
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "RATIO",
        allow_hyphen_values = true
    )]
    pub prune: f64,
    /// Epochs, learning rate, minibatch, image counts and seed.
    #[command(flatten)]
    pub hyper: Hyperparams,
    /// Start from these weights (a checkpoint or a trained file of the same network and
    /// strategy) instead of seeded ones.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// The trained weights (safetensors, f32, PyTorch names), written whole or not at all.
    #[arg(long, value_name = "FILE.safetensors")]
    pub out: PathBuf,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// The hyperparameters and image counts `heaccel train` and `heaccel tradeoff` share; each
/// left out takes the model's default ([`resolve`]).
#[derive(Debug, Clone, Args)]
pub struct Hyperparams {
    /// Passes over the training images, >= 1. Default: lenet 12 (>= 98% test accuracy on
    /// MNIST 10k's last 2,000 images with dense LeNet), vgg5 20, hefnet 20.
    #[arg(long, value_name = "E")]
    pub epochs: Option<usize>,
    /// Seed of the initial weights, the shuffle and the augmentation.
    #[arg(long, default_value_t = TrainConfig::default().seed, value_name = "S")]
    pub seed: u64,
    /// Peak learning rate of AdamW (cosine decay to a 20th of it), finite and > 0. Default:
    /// lenet 3e-3, vgg5 1e-4, hefnet 2e-3.
    #[arg(long, value_name = "LR", allow_hyphen_values = true)]
    pub lr: Option<f64>,
    /// Images per minibatch, >= 1. Default: lenet 64, vgg5 128, hefnet 128.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Images to train on, >= 1: MNIST's first; CIFAR-10's first of `train/` taken class by
    /// class in turn (file 0 of every class, then file 1, ...). Default: lenet 8000, vgg5 and
    /// hefnet 50000 (all). Augmentation: lenet shifts of up to 2 pixels; vgg5 and hefnet
    /// random crops with 4 pixels of zero padding and random horizontal flips (seeded).
    #[arg(long, value_name = "N")]
    pub train_images: Option<usize>,
    /// Images to test on, >= 1: MNIST's last; CIFAR-10's first of `test/` in class turns.
    /// Default: lenet 2000, vgg5 and hefnet 10000 (all).
    #[arg(long, value_name = "N")]
    pub test_images: Option<usize>,
}

/// What `heaccel train` reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRun {
    /// The network.
    pub model: String,
    /// `dense` or `spencnn`.
    pub strategy: String,
    /// The pruning ratio.
    pub prune: f64,
    /// The seed.
    pub seed: u64,
    /// Epochs trained.
    pub epochs: usize,
    /// Images per minibatch.
    pub batch_size: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Training images.
    pub train_images: usize,
    /// Test images.
    pub test_images: usize,
    /// Fraction of the training images classified right at the end, in [0, 1].
    pub train_accuracy: f64,
    /// Fraction of the test images classified right at the end, in [0, 1].
    pub test_accuracy: f64,
    /// The same by the host's own f32 forward pass of the written weights, in [0, 1].
    pub host_test_accuracy: f64,
    /// Whether the written file reloads into the network bit for bit.
    pub reloaded_bit_exact: bool,
    /// Trained quadratic activations `(name, a, b, c)`, in network order.
    pub activations: Vec<(String, f64, f64, f64)>,
    /// Per epoch: mean loss, running and test accuracy, seconds.
    pub per_epoch: Vec<EpochReport>,
    /// Per pruned convolution: its blocks, pruned blocks and weights (empty without
    /// `--prune`).
    #[serde(default)]
    pub pruning: Vec<LayerPruning>,
    /// Wall time, seconds (training, evaluation, export and checks).
    pub seconds: f64,
    /// The processor.
    pub cpu: String,
    /// The weights written.
    pub out: PathBuf,
}

/// The checkpoint beside `out`: `NAME.checkpoint.safetensors` for `NAME.safetensors`.
pub fn checkpoint_path(out: &Path) -> PathBuf {
    out.with_extension("checkpoint.safetensors")
}

/// A run's hyperparameters and image counts: the model's defaults
/// ([`heaccel_train::run::default_config`], [`heaccel_train::run::default_images`]) with the
/// options given. Errors: `model` is not trainable.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The hyperparameters.
    pub config: TrainConfig,
    /// Training images.
    pub train_images: usize,
    /// Test images.
    pub test_images: usize,
}

/// `hyper` resolved against `model`'s defaults (see [`Resolved`]).
pub fn resolve(model: &str, hyper: &Hyperparams, progress: bool) -> Result<Resolved> {
    let zoo = heaccel_train::run::trainable_model(model)?;
    let Hyperparams {
        epochs,
        seed,
        lr,
        batch_size,
        train_images,
        test_images,
    } = *hyper;
    let base = heaccel_train::run::default_config(zoo);
    let (train, test) = heaccel_train::run::default_images(zoo);
    Ok(Resolved {
        config: TrainConfig {
            epochs: epochs.unwrap_or(base.epochs),
            batch_size: batch_size.unwrap_or(base.batch_size),
            learning_rate: lr.unwrap_or(base.learning_rate),
            seed,
            progress,
            ..base
        },
        train_images: train_images.unwrap_or(train),
        test_images: test_images.unwrap_or(test),
    })
}

/// Runs `heaccel train`. The checkpoint ([`checkpoint_path`]) is written after every epoch
/// and removed once `--out` is written; after an interrupted run it holds the last complete
/// epoch (give it to `--resume`).
pub fn train_command(args: &TrainArgs, progress: bool) -> Result<TrainRun> {
    check_output_file(&args.out)?;
    let strategy = StrategyChoice::from(args.strategy);
    let resolved = resolve(&args.model, &args.hyper, progress)?;
    let checkpoint = checkpoint_path(&args.out);
    let request = Request {
        model: args.model.clone(),
        strategy,
        prune: args.prune,
        data: args.data.clone(),
        train_images: resolved.train_images,
        test_images: resolved.test_images,
        config: resolved.config.clone(),
        resume: args.resume.clone(),
        out: args.out.clone(),
        checkpoint: Some(checkpoint.clone()),
    };
    let outcome = heaccel_train::run(&request)?;
    let _ = std::fs::remove_file(&checkpoint);
    let mut activations = Vec::new();
    outcome.network.visit_layers(|_, layer| {
        if let Layer::Activation(act) = layer {
            if let Activation::Poly { a, b, c } = act.function {
                activations.push((act.name.clone(), a, b, c));
            }
        }
    });
    let report = outcome.report;
    Ok(TrainRun {
        model: args.model.clone(),
        strategy: strategy.name().to_string(),
        prune: args.prune,
        seed: args.hyper.seed,
        epochs: report.epochs.len(),
        batch_size: resolved.config.batch_size,
        learning_rate: resolved.config.learning_rate,
        train_images: resolved.train_images,
        test_images: resolved.test_images,
        train_accuracy: report.train_accuracy,
        test_accuracy: report.test_accuracy,
        host_test_accuracy: outcome.host_test_accuracy,
        reloaded_bit_exact: outcome.reloaded_bit_exact,
        activations,
        per_epoch: report.epochs,
        pruning: report.pruning,
        seconds: report.seconds,
        cpu: heaccel_verification::ckks::kernels::cpu_model(),
        out: args.out.clone(),
    })
}

/// The human-readable summary of a run.
pub fn format_train(run: &TrainRun) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} ({}, prune {}) trained {} epochs on {} images, seed {}:",
        run.model, run.strategy, run.prune, run.epochs, run.train_images, run.seed
    );
    for e in &run.per_epoch {
        let _ = writeln!(
            s,
            "  epoch {:>3}: loss {:.4}  train (running) {:6.2}%  test {:6.2}%  {:6.1} s",
            e.epoch,
            e.loss,
            100.0 * e.running_accuracy,
            100.0 * e.test_accuracy,
            e.seconds
        );
    }
    let _ = writeln!(
        s,
        "train accuracy {:.2}%, test accuracy {:.2}% on {} images (host forward pass {:.2}%)",
        100.0 * run.train_accuracy,
        100.0 * run.test_accuracy,
        run.test_images,
        100.0 * run.host_test_accuracy
    );
    for (name, a, b, c) in &run.activations {
        let _ = writeln!(s, "  {name}: {a:.5} x^2 + {b:.5} x + {c:.5}");
    }
    for p in &run.pruning {
        let _ = writeln!(
            s,
            "  {}: {} of {} blocks pruned ({} of {} weights; mask {}.weight_mask)",
            p.name, p.pruned, p.blocks, p.pruned_weights, p.weights, p.name
        );
    }
    let _ = writeln!(
        s,
        "wrote {} ({}), {:.1} s on {}",
        run.out.display(),
        if run.reloaded_bit_exact {
            "reloads bit-exactly"
        } else {
            "DOES NOT reload bit-exactly"
        },
        run.seconds,
        run.cpu
    );
    s
}
