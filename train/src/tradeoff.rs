//! The accuracy-latency trade-off of sub-block pruning (`heaccel tradeoff`): one network
//! trained per point, compiled and simulated on a hardware configuration.
//!
//! **Points.** The dense baseline (every convolution ungrouped, [`StrategyChoice::Dense`]) trained
//! from seeded weights; SpENCNN's grouped network unpruned (ratio 0) trained from seeded
//! weights; and for every ratio `r > 0` of the list, that ratio-0 network fine-tuned with
//! sub-block pruning at `r` ([`crate::prune`]: the compiler's blocks, pruned gradually over
//! the middle third of the fine-tuning epochs, then fine-tuned with the mask fixed). Ratio 0
//! is always trained and reported, since every pruned point starts from it. Each network is
//! written to the output folder as `{model}-dense.safetensors` and
//! `{model}-spencnn-{ratio}.safetensors` (masks as `{layer}.weight_mask`).
//!
//! **Figures per point.** The test accuracy is the host's `f32` forward pass of the written
//! file on the test images (what `heaccel accuracy --weights FILE` reports on the same
//! images). Rotations, PMults and latency are those `heaccel simulate --model NAME --weights
//! FILE --strategy spencnn --config PRESET` prints for the file (the same calls: polynomial
//! activations, average pooling, the fastest repacking of pooled maps, the trained mask
//! pruning exactly its blocks), and for the dense row those of the trained dense network
//! compiled with the dense baseline (what `--strategy dense` times; its seeded densified
//! network has the same counts, since neither has zero weights). The latency is the
//! simulated whole program's (or the per-operation sum where the network does not compile
//! into one program, [`heaccel_host::netsim::TotalSim::time_us`]).
//!
//! Pruning removes one PMult per pruned block (a block is one plaintext diagonal), so PMults
//! fall as the ratio grows; a rotation goes only when every block that uses it is pruned, so
//! rotations fall more slowly and, between two independently fine-tuned masks, need not fall
//! at all.

use std::path::{Path, PathBuf};

use heaccel_host::netsim::{simulate_with_defaults, NetworkSim};
use heaccel_host::nn::weights::load_safetensors;
use heaccel_host::pack::{GroupChoice, SpencnnConfig, Strategy as PackStrategy};
use heaccel_sim::HwConfig;
use serde::{Deserialize, Serialize};

use crate::prune::PRUNE_SLOTS;
use crate::run::{architecture, check_prune, run, trainable_model, Request, StrategyChoice};
use crate::trainer::TrainConfig;
use crate::TrainError;

/// What [`tradeoff`] trains and where.
#[derive(Debug, Clone)]
pub struct TradeoffRequest {
    /// Zoo network name: `lenet`, `vgg5` or `hefnet` (see [`crate::run::trainable_model`]).
    pub model: String,
    /// The dataset (see [`Request::data`]).
    pub data: PathBuf,
    /// Pruning ratios, each in [0, 1), no two equal, at least one ([`check_ratios`]).
    pub ratios: Vec<f64>,
    /// Hyperparameters of the dense and ratio-0 runs (`config.seed` also seeds their initial
    /// weights).
    pub config: TrainConfig,
    /// Epochs of each pruned fine-tune from the ratio-0 weights, >= 1 (the other
    /// hyperparameters are `config`'s).
    pub finetune_epochs: usize,
    /// Images to train on, >= 1 (see [`Request::train_images`]).
    pub train_images: usize,
    /// Images to test on, >= 1 (see [`Request::test_images`]).
    pub test_images: usize,
    /// The accelerator the networks are simulated on.
    pub hw: HwConfig,
    /// Folder for the weight files (created if missing).
    pub out: PathBuf,
}

/// One trained and simulated network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeoffPoint {
    /// `dense` or `spencnn`.
    pub strategy: String,
    /// The pruning ratio, in [0, 1) (0 for dense).
    pub ratio: f64,
    /// Fraction of the test images the written file classifies right, in [0, 1].
    pub test_accuracy: f64,
    /// Rotations of the compiled network.
    pub rotations: usize,
    /// Plaintext multiplications of the compiled network.
    pub pmults: usize,
    /// Simulated latency on the configuration, milliseconds (> 0).
    pub latency_ms: f64,
    /// The weights file.
    pub weights: PathBuf,
    /// Wall time of its training, seconds.
    pub train_seconds: f64,
}

/// What [`tradeoff`] measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tradeoff {
    /// The network.
    pub model: String,
    /// The hardware configuration's name.
    pub preset: String,
    /// Epochs of the dense and ratio-0 runs.
    pub epochs: usize,
    /// Epochs of each pruned fine-tune.
    pub finetune_epochs: usize,
    /// Training images.
    pub train_images: usize,
    /// Test images.
    pub test_images: usize,
    /// The seed.
    pub seed: u64,
    /// Dense first, then SpENCNN by increasing ratio (ratio 0 always).
    pub points: Vec<TradeoffPoint>,
}

/// Checks a list of pruning ratios: at least one, each finite in [0, 1), no two equal.
/// Errors name `ratios`.
pub fn check_ratios(ratios: &[f64]) -> Result<(), TrainError> {
    let bad = |value: String, expected: &str| TrainError::Config {
        field: "ratios",
        value,
        expected: expected.into(),
    };
    if ratios.is_empty() {
        return Err(bad("(empty)".into(), "at least one ratio, comma-separated"));
    }
    for (i, &r) in ratios.iter().enumerate() {
        if check_prune(r).is_err() {
            return Err(bad(r.to_string(), "ratios in [0, 1)"));
        }
        if ratios[..i].contains(&r) {
            return Err(bad(r.to_string(), "no ratio twice"));
        }
    }
    Ok(())
}

/// Parses `--ratios`: comma-separated numbers (spaces around them allowed), checked by
/// [`check_ratios`]. Errors name `ratios` and the offending item.
pub fn parse_ratios(text: &str) -> Result<Vec<f64>, TrainError> {
    let items: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let ratios = items
        .iter()
        .map(|s| {
            s.parse::<f64>().map_err(|_| TrainError::Config {
                field: "ratios",
                value: (*s).to_string(),
                expected: "comma-separated numbers in [0, 1), e.g. 0,0.25,0.5".into(),
            })
        })
        .collect::<Result<Vec<f64>, _>>()?;
    check_ratios(&ratios)?;
    Ok(ratios)
}

/// The grouped (SpENCNN) strategy the compiler runs on a trained file: the layers' own
/// groups, no magnitude pruning (a file's masks prune exactly their blocks).
fn spencnn() -> PackStrategy {
    PackStrategy::Spencnn(SpencnnConfig {
        groups: GroupChoice::Layer,
        prune: None,
    })
}

/// The file name of a point: `{model}-dense.safetensors` or `{model}-spencnn-{ratio}.safetensors`.
pub fn weights_name(model: &str, strategy: StrategyChoice, ratio: f64) -> String {
    match strategy {
        StrategyChoice::Dense => format!("{model}-dense.safetensors"),
        StrategyChoice::Spencnn => format!("{model}-spencnn-{ratio}.safetensors"),
    }
}

/// Trains, compiles and simulates every point of `request` (see the module docs), in order:
/// dense, ratio 0, then the other ratios increasing. `progress` is called with a line before
/// each run.
///
/// Errors: bad ratios or options (checked before any training), the data, training
/// (divergence), writing a weights file, compiling or simulating.
pub fn tradeoff(
    request: &TradeoffRequest,
    progress: &dyn Fn(&str),
) -> Result<Tradeoff, TrainError> {
    check_ratios(&request.ratios)?;
    request.config.check()?;
    let finetune = TrainConfig {
        epochs: request.finetune_epochs,
        ..request.config.clone()
    };
    finetune.check().map_err(|_| TrainError::Config {
        field: "finetune_epochs",
        value: request.finetune_epochs.to_string(),
        expected: "an integer >= 1".into(),
    })?;
    let model = trainable_model(&request.model)?;
    std::fs::create_dir_all(&request.out).map_err(|error| TrainError::Io {
        file: request.out.clone(),
        error,
    })?;
    let mut ratios: Vec<f64> = request
        .ratios
        .iter()
        .copied()
        .filter(|&r| r > 0.0)
        .collect();
    ratios.sort_by(f64::total_cmp);
    let base = Request {
        model: request.model.clone(),
        strategy: StrategyChoice::Dense,
        prune: 0.0,
        data: request.data.clone(),
        train_images: request.train_images,
        test_images: request.test_images,
        config: request.config.clone(),
        resume: None,
        out: PathBuf::new(),
        checkpoint: None,
    };
    let mut points = Vec::with_capacity(ratios.len() + 2);
    let mut ratio0 = PathBuf::new();
    let runs = std::iter::once((StrategyChoice::Dense, 0.0))
        .chain(std::iter::once((StrategyChoice::Spencnn, 0.0)))
        .chain(ratios.iter().map(|&r| (StrategyChoice::Spencnn, r)));
    for (strategy, ratio) in runs {
        let out = request
            .out
            .join(weights_name(&request.model, strategy, ratio));
        let req = if ratio > 0.0 {
            Request {
                strategy,
                prune: ratio,
                config: finetune.clone(),
                resume: Some(ratio0.clone()),
                out: out.clone(),
                ..base.clone()
            }
        } else {
            Request {
                strategy,
                out: out.clone(),
                ..base.clone()
            }
        };
        progress(&format!(
            "training {} {} ratio {ratio} ({} epochs{})",
            request.model,
            strategy.name(),
            req.config.epochs,
            if ratio > 0.0 {
                " from the ratio-0 weights"
            } else {
                ""
            }
        ));
        let outcome = run(&req)?;
        progress(&format!(
            "simulating {} {} ratio {ratio} on {}",
            request.model,
            strategy.name(),
            request.hw.name
        ));
        let sim = simulate_file(model, strategy, &out, &request.hw)?;
        if ratio > 0.0 && sim.slots != PRUNE_SLOTS {
            return Err(TrainError::Mask {
                tensor: format!("{}: *.weight_mask", out.display()),
                problem: format!(
                    "the compiler packs the network in {} slots on `{}`; the pruning blocks \
                     were those of {PRUNE_SLOTS} slots, so the mask need not remove whole blocks",
                    sim.slots, request.hw.name
                ),
            });
        }
        if strategy == StrategyChoice::Spencnn && ratio == 0.0 {
            ratio0 = out.clone();
        }
        points.push(TradeoffPoint {
            strategy: strategy.name().to_string(),
            ratio,
            test_accuracy: outcome.host_test_accuracy,
            rotations: sim.total.rotations,
            pmults: sim.total.pmults,
            latency_ms: sim.total.time_us / 1e3,
            weights: out,
            train_seconds: outcome.report.seconds,
        });
    }
    Ok(Tradeoff {
        model: request.model.clone(),
        preset: request.hw.name.clone(),
        epochs: request.config.epochs,
        finetune_epochs: request.finetune_epochs,
        train_images: request.train_images,
        test_images: request.test_images,
        seed: request.config.seed,
        points,
    })
}

/// Loads the weights `file` into `model`'s network for `strategy` and simulates it as
/// `heaccel simulate --model` does by default ([`simulate_with_defaults`]; see the module
/// docs).
pub fn simulate_file(
    model: heaccel_host::nn::zoo::ZooModel,
    strategy: StrategyChoice,
    file: &Path,
    hw: &HwConfig,
) -> Result<NetworkSim, TrainError> {
    let mut network = architecture(model, strategy)?;
    load_safetensors(&mut network, file)?;
    let pack = match strategy {
        StrategyChoice::Dense => PackStrategy::Dense,
        StrategyChoice::Spencnn => spencnn(),
    };
    Ok(simulate_with_defaults(&network, &pack, hw)?)
}

impl Tradeoff {
    /// The points as CSV: a header, then one row per point (`strategy, ratio,
    /// test_accuracy, rotations, pmults, latency_ms, train_seconds, weights`).
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "model,preset,strategy,ratio,test_accuracy,rotations,pmults,latency_ms,\
             train_seconds,weights\n",
        );
        for p in &self.points {
            s.push_str(&format!(
                "{},{},{},{},{},{},{},{},{:.3},{}\n",
                self.model,
                self.preset,
                p.strategy,
                p.ratio,
                p.test_accuracy,
                p.rotations,
                p.pmults,
                p.latency_ms,
                p.train_seconds,
                p.weights.display()
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_parse_and_bad_ones_name_ratios() {
        assert_eq!(
            parse_ratios("0, 0.25,0.5 ,0.9").unwrap(),
            [0.0, 0.25, 0.5, 0.9]
        );
        assert_eq!(parse_ratios("0.5").unwrap(), [0.5]);
        for (text, expected) in [
            ("", "at least one ratio"),
            (" , ", "at least one ratio"),
            ("0,1", "ratios in [0, 1)"),
            ("1.5", "ratios in [0, 1)"),
            ("-0.1", "ratios in [0, 1)"),
            ("inf", "ratios in [0, 1)"),
            ("nan", "ratios in [0, 1)"),
            ("0.5,0.50", "no ratio twice"),
            ("0,x", "comma-separated numbers"),
        ] {
            let err = parse_ratios(text).unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(
                    err,
                    TrainError::Config {
                        field: "ratios",
                        ..
                    }
                ),
                "{text:?}: {message}"
            );
            assert!(message.contains(expected), "{text:?}: {message}");
        }
    }

    #[test]
    fn weight_files_are_named_by_strategy_and_ratio() {
        assert_eq!(
            weights_name("vgg5", StrategyChoice::Dense, 0.0),
            "vgg5-dense.safetensors"
        );
        assert_eq!(
            weights_name("vgg5", StrategyChoice::Spencnn, 0.25),
            "vgg5-spencnn-0.25.safetensors"
        );
    }
}
