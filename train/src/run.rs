//! One training run of a zoo network, end to end: the network for the strategy, seeded (or
//! resumed from a weights file), the data split, [`train_pruned`] (with the compiler's pruning
//! blocks when `prune > 0`, see [`crate::prune`]), the atomic export (weights and masks), and two checks
//! of the export: the file reloads bit for bit into a fresh network, and the host's own `f32`
//! forward pass ([`heaccel_host::nn::fast::FastNetwork`]) classifies the test images as well.

use std::path::PathBuf;

use heaccel_host::accuracy::classify;
use heaccel_host::data::Normalization;
use heaccel_host::nn::fast::FastNetwork;
use heaccel_host::nn::weights::{init_seeded, load_safetensors};
use heaccel_host::nn::zoo::{self, ZooModel};
use heaccel_host::nn::{Activation, Layer, Network};
use serde::{Deserialize, Serialize};

use crate::checkpoint::save_atomic;
use crate::data::load_mnist;
use crate::prune::Pruning;
use crate::trainer::{train_pruned, TrainConfig, TrainReport};
use crate::TrainError;

/// Which network is trained (the choice of `heaccel simulate --strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The dense network: every convolution ungrouped (`groups = 1`), what the dense baseline
    /// compiles.
    Dense,
    /// The zoo network as it is, with SpENCNN's HE-group convolutions (LeNet's `conv2` has 4
    /// groups): what `heaccel infer`, `simulate` and `compare` load with `--weights`.
    Spencnn,
}

impl Strategy {
    /// `dense` or `spencnn`.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Dense => "dense",
            Strategy::Spencnn => "spencnn",
        }
    }
}

/// What to train and where to write it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Zoo network name (only `lenet` is trainable yet).
    pub model: String,
    /// Which network.
    pub strategy: Strategy,
    /// Sub-block pruning ratio in [0, 1): the fraction of every convolution's compiler blocks
    /// pruned during training (see [`crate::prune`]); 0 for none; [`Strategy::Spencnn`] only.
    pub prune: f64,
    /// The MNIST folder (one `*idx3*` and one `*idx1*` file, gzipped or not).
    pub data: PathBuf,
    /// Images to train on: the first of the folder, >= 1.
    pub train_images: usize,
    /// Images to test on: the last of the folder, >= 1.
    pub test_images: usize,
    /// Hyperparameters; `config.seed` also seeds the initial weights.
    pub config: TrainConfig,
    /// Start from these weights (a checkpoint or a trained file of the same network) instead
    /// of seeded ones.
    pub resume: Option<PathBuf>,
    /// The trained weights' file (`f32` safetensors, PyTorch names).
    pub out: PathBuf,
    /// The per-epoch checkpoint's file, if any (same format as `out`).
    pub checkpoint: Option<PathBuf>,
}

/// What [`run`] did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The trained network (its values are those of the file written).
    pub network: Network,
    /// The training figures.
    pub report: TrainReport,
    /// Fraction of the test images the host's `f32` forward pass of the exported network
    /// classifies right, in [0, 1] (equals the mirror's up to `f32` summation order).
    pub host_test_accuracy: f64,
    /// Whether the written file, loaded into a fresh network of the same architecture, gives
    /// every parameter bit for bit.
    pub reloaded_bit_exact: bool,
}

/// The zoo network `model` for training, or why it cannot be trained yet.
pub fn trainable_model(model: &str) -> Result<ZooModel, TrainError> {
    let parsed: ZooModel = model.parse().map_err(|e: String| TrainError::Config {
        field: "model",
        value: model.to_string(),
        expected: e,
    })?;
    match parsed {
        ZooModel::Lenet => Ok(parsed),
        other => Err(TrainError::Unsupported {
            model: other.name().to_string(),
            reason: "only lenet (on MNIST) can be trained so far; training VGG-5, HEFNet and \
                     ResNet-20 on CIFAR-10 is the next step of issue 19"
                .into(),
        }),
    }
}

/// The architecture trained for `strategy`, with zero weights: the zoo network, ungrouped for
/// [`Strategy::Dense`].
pub fn architecture(model: ZooModel, strategy: Strategy) -> Result<Network, TrainError> {
    let mut network = zoo::architecture(model)?;
    if strategy == Strategy::Dense {
        network.visit_layers_mut(|_, layer| {
            if let Layer::Conv2d(conv) = layer {
                conv.groups = 1;
                let k = conv.kernel_size;
                conv.weight = vec![0.0; conv.out_channels * conv.in_channels * k * k];
            }
        });
    }
    Ok(network)
}

/// Checks a pruning ratio: finite, in [0, 1).
pub fn check_prune(ratio: f64) -> Result<(), TrainError> {
    if ratio.is_finite() && (0.0..1.0).contains(&ratio) {
        return Ok(());
    }
    Err(TrainError::Config {
        field: "prune",
        value: ratio.to_string(),
        expected: "a ratio in [0, 1)".into(),
    })
}

/// Runs `request` (see the module docs).
pub fn run(request: &Request) -> Result<Outcome, TrainError> {
    check_prune(request.prune)?;
    request.config.check()?;
    let model = trainable_model(&request.model)?;
    if request.prune > 0.0 && request.strategy == Strategy::Dense {
        return Err(TrainError::Config {
            field: "prune",
            value: request.prune.to_string(),
            expected: "0 with --strategy dense (pruning applies to spencnn only)".into(),
        });
    }
    let mut network = architecture(model, request.strategy)?;
    init_seeded(&mut network, request.config.seed);
    let (a, b, c) = request.config.poly_init;
    network.visit_layers_mut(|_, layer| {
        if let Layer::Activation(act) = layer {
            act.function = Activation::Poly { a, b, c };
        }
    });
    if let Some(resume) = &request.resume {
        load_safetensors(&mut network, resume)?;
    }
    let outputs = network.output_shape()?.len();
    let split = load_mnist(
        &request.data,
        network.input_shape,
        outputs,
        request.train_images,
        request.test_images,
    )?;
    let mut pruning = if request.prune > 0.0 {
        Some(Pruning::new(&network, request.prune)?)
    } else {
        None
    };
    let report = train_pruned(
        &mut network,
        &split,
        &request.config,
        request.checkpoint.as_deref(),
        pruning.as_mut(),
    )?;
    save_atomic(&network, &request.out)?;
    let mut reloaded = architecture(model, request.strategy)?;
    load_safetensors(&mut reloaded, &request.out)?;
    let reloaded_bit_exact = bit_identical(&network, &reloaded);
    let fast = FastNetwork::new(&network)?;
    let outcomes = classify(
        &fast,
        &split.dataset,
        &Normalization::identity(network.input_shape.channels),
        None,
        &split.test_indices,
        &|_| {},
    )?;
    let right = outcomes
        .iter()
        .filter(|o| o.predicted == Some(o.label))
        .count();
    Ok(Outcome {
        network,
        report,
        host_test_accuracy: right as f64 / outcomes.len().max(1) as f64,
        reloaded_bit_exact,
    })
}

/// Every convolution's pruning mask, by layer name, in network order.
fn masks(network: &Network) -> Vec<(String, Option<Vec<bool>>)> {
    let mut out = Vec::new();
    network.visit_layers(|_, layer| {
        if let Layer::Conv2d(c) = layer {
            out.push((c.name.clone(), c.weight_mask.clone()));
        }
    });
    out
}

/// Whether two networks have the same parameter names, shapes and values bit for bit, and the
/// same pruning masks.
pub fn bit_identical(a: &Network, b: &Network) -> bool {
    let (pa, pb) = (a.parameters(), b.parameters());
    masks(a) == masks(b)
        && pa.len() == pb.len()
        && pa.iter().zip(&pb).all(|(x, y)| {
            x.name == y.name
                && x.shape == y.shape
                && x.values.len() == y.values.len()
                && x.values
                    .iter()
                    .zip(y.values)
                    .all(|(u, v)| u.to_bits() == v.to_bits())
        })
}
