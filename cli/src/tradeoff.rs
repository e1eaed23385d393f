//! `heaccel tradeoff`: the accuracy-latency trade-off of sub-block pruning, one trained and
//! simulated network per ratio ([`heaccel_train::tradeoff`] does the work; this file parses
//! the options, writes the three result files and prints).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use heaccel_train::tradeoff::{parse_ratios, tradeoff, Tradeoff, TradeoffRequest};

use crate::output::{check_outputs, write_all_or_nothing};
use crate::train::{resolve, Hyperparams};

/// The result files, written into `--out` all or none.
pub const FILES: [&str; 3] = ["tradeoff.csv", "tradeoff.json", "tradeoff.svg"];

/// `heaccel tradeoff` options.
#[derive(Debug, Clone, Args)]
pub struct TradeoffArgs {
    /// The network: lenet (MNIST), vgg5 or hefnet (CIFAR-10).
    #[arg(long, value_name = "NAME")]
    pub model: String,
    /// The dataset, as for `heaccel train --data`.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Pruning ratios, comma-separated, each in [0, 1), no two equal. Ratio 0 (SpENCNN
    /// unpruned, trained from seeded weights) is always trained; every other ratio fine-tunes
    /// it with the pruning at that ratio. The dense baseline is trained as its own point.
    #[arg(
        long,
        default_value = "0,0.25,0.5,0.75,0.9",
        value_name = "R,R,...",
        allow_hyphen_values = true
    )]
    pub ratios: String,
    /// Epochs of each pruned fine-tune. Default: --epochs.
    #[arg(long, value_name = "E")]
    pub finetune_epochs: Option<usize>,
    /// Epochs, learning rate, minibatch, image counts and seed of every run (as `heaccel
    /// train`; the fine-tunes take all but the epochs).
    #[command(flatten)]
    pub hyper: Hyperparams,
    /// The hardware the networks are simulated on: a preset (fpga-u280, asic, sharp, ark,
    /// craterlake, f1, bts) or a TOML file.
    #[arg(long, default_value = "fpga-u280", value_name = "PRESET|FILE")]
    pub preset: String,
    /// Folder for tradeoff.csv, tradeoff.json, tradeoff.svg (written all or none) and the
    /// trained weights ({model}-dense.safetensors, {model}-spencnn-{ratio}.safetensors).
    #[arg(long, default_value = "tradeoff-out", value_name = "DIR")]
    pub out: PathBuf,
    /// Print one JSON object (as tradeoff.json) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `heaccel tradeoff`: checks the options and the output folder, trains and simulates
/// every point, writes the three files into `--out`. Progress lines go to stderr when
/// `progress`.
pub fn tradeoff_command(args: &TradeoffArgs, progress: bool) -> Result<Tradeoff> {
    let ratios = parse_ratios(&args.ratios).context("--ratios")?;
    let resolved = resolve(&args.model, &args.hyper, progress)?;
    let hw = crate::simulate::load_config(&args.preset).context("--preset")?;
    check_outputs(&args.out, &FILES)?;
    let request = TradeoffRequest {
        model: args.model.clone(),
        data: args.data.clone(),
        ratios,
        finetune_epochs: args.finetune_epochs.unwrap_or(resolved.config.epochs),
        config: resolved.config,
        train_images: resolved.train_images,
        test_images: resolved.test_images,
        hw,
        out: args.out.clone(),
    };
    let say = |line: &str| {
        if progress {
            eprintln!("{line}");
        }
    };
    let result = tradeoff(&request, &say)?;
    write_outputs(&args.out, &result)?;
    Ok(result)
}

/// Writes [`FILES`] for `result` into `dir`, all or none.
pub fn write_outputs(dir: &Path, result: &Tradeoff) -> Result<Vec<PathBuf>> {
    let json = serde_json::to_string_pretty(result)? + "\n";
    let points: Vec<crate::plot::ParetoPoint> = result
        .points
        .iter()
        .map(|p| crate::plot::ParetoPoint {
            latency_ms: p.latency_ms,
            accuracy: p.test_accuracy,
            label: if p.strategy == "dense" {
                "dense".into()
            } else {
                format!("{}", p.ratio)
            },
            dense: p.strategy == "dense",
        })
        .collect();
    let title = format!(
        "{} on {}: test accuracy vs simulated latency per pruning ratio",
        result.model, result.preset
    );
    let svg = crate::plot::tradeoff_svg(&title, &points)?;
    Ok(write_all_or_nothing(
        dir,
        &[
            (FILES[0], result.to_csv()),
            (FILES[1], json),
            (FILES[2], svg),
        ],
    )?)
}

/// The table `heaccel tradeoff` prints.
pub fn format_tradeoff(t: &Tradeoff) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} on {}: {} epochs (fine-tunes {}), {} training and {} test images, seed {}",
        t.model, t.preset, t.epochs, t.finetune_epochs, t.train_images, t.test_images, t.seed
    );
    let _ = writeln!(
        s,
        "{:<8} {:>6} {:>9} {:>9} {:>9} {:>12}  weights",
        "strategy", "ratio", "accuracy", "rotations", "pmults", "latency (ms)"
    );
    for p in &t.points {
        let _ = writeln!(
            s,
            "{:<8} {:>6} {:>8.2}% {:>9} {:>9} {:>12.3}  {}",
            p.strategy,
            p.ratio,
            100.0 * p.test_accuracy,
            p.rotations,
            p.pmults,
            p.latency_ms,
            p.weights.display()
        );
    }
    s
}
