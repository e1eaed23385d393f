//! One training run of a zoo network, end to end: the network for the strategy, seeded (or
//! resumed from a weights file), the data split, [`train_pruned`] (with the compiler's pruning
//! blocks when `prune > 0`, see [`crate::prune`]), the atomic export (weights and masks), and two checks
//! of the export: the file reloads bit for bit into a fresh network, and the host's own `f32`
//! forward pass ([`heaccel_host::nn::fast::FastNetwork`]) classifies the test images as well.

use std::path::{Path, PathBuf};

use heaccel_host::accuracy::classify;
use heaccel_host::data::Normalization;
use heaccel_host::nn::fast::FastNetwork;
use heaccel_host::nn::weights::{init_seeded, load_safetensors};
use heaccel_host::nn::zoo::{self, ZooModel};
use heaccel_host::nn::{Activation, Layer, Network};

use crate::checkpoint::save_atomic;
use crate::data::{load_mnist, Split};
use crate::folder::load_image_folders;
use crate::prune::Pruning;
use crate::trainer::{train_pruned, TrainConfig, TrainReport};
use crate::TrainError;

/// Which network is trained, as `heaccel simulate --strategy` names it: the dense network
/// (every convolution ungrouped, `groups = 1`, what the dense baseline compiles) or the zoo
/// network as it is, with SpENCNN's HE-group convolutions (what `heaccel infer`, `simulate` and
/// `compare` load with `--weights`).
pub use heaccel_host::netsim::StrategyChoice;

/// What to train and where to write it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Zoo network name: `lenet` (MNIST), `vgg5` or `hefnet` (CIFAR-10).
    pub model: String,
    /// Which network.
    pub strategy: StrategyChoice,
    /// Sub-block pruning ratio in [0, 1): the fraction of every convolution's compiler blocks
    /// pruned during training (see [`crate::prune`]); 0 for none; [`StrategyChoice::Spencnn`] only.
    pub prune: f64,
    /// lenet: the MNIST folder (one `*idx3*` and one `*idx1*` file, gzipped or not); vgg5,
    /// hefnet: the folder holding the CIFAR-10 ImageFolders `train/` and `test/` (or the
    /// folder holding that folder as `cifar10/`, see [`crate::folder`]).
    pub data: PathBuf,
    /// Images to train on, >= 1: MNIST's first; CIFAR-10's first of `train/` in class turns
    /// ([`crate::folder`]). [`default_images`] gives the usual counts.
    pub train_images: usize,
    /// Images to test on, >= 1: MNIST's last; CIFAR-10's first of `test/` in class turns.
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

/// The zoo network `model` for training, or why it cannot be trained yet: lenet (MNIST),
/// vgg5 and hefnet (CIFAR-10) train; resnet20's residual blocks are not mirrored yet.
pub fn trainable_model(model: &str) -> Result<ZooModel, TrainError> {
    let parsed: ZooModel = model.parse().map_err(|e: String| TrainError::Config {
        field: "model",
        value: model.to_string(),
        expected: e,
    })?;
    match parsed {
        ZooModel::Lenet | ZooModel::Vgg5 | ZooModel::Hefnet => Ok(parsed),
        other => Err(TrainError::Unsupported {
            model: other.name().to_string(),
            reason: "only lenet (MNIST), vgg5 and hefnet (CIFAR-10) can be trained so far; \
                     ResNet-20's residual blocks are the next step of issue 19"
                .into(),
        }),
    }
}

/// The default hyperparameters of `heaccel train` for `model` ([`TrainConfig::default`] with
/// these changes; `seed` 2023, weight decay 1e-4, clip norm 5 and the range penalty as
/// there):
/// - lenet (MNIST): [`TrainConfig::default`]: 12 epochs, minibatches of 64, learning rate
///   3e-3, shifts of up to 2 pixels, no flips;
/// - vgg5 (CIFAR-10): 20 epochs, minibatches of 128, learning rate 1e-4 (1e-3 overshoots:
///   one Adam step moves each of `fc3`'s 4,096 inputs' weights by the rate, several logits'
///   worth at once), random crops with 4
///   pixels of zero padding and random horizontal flips;
/// - hefnet (CIFAR-10): 20 epochs, minibatches of 128, learning rate 2e-3, the same
///   augmentation as vgg5.
pub fn default_config(model: ZooModel) -> TrainConfig {
    let base = TrainConfig::default();
    match model {
        ZooModel::Vgg5 => TrainConfig {
            epochs: 20,
            batch_size: 128,
            learning_rate: 1e-4,
            shift: 4,
            flip: true,
            ..base
        },
        ZooModel::Hefnet => TrainConfig {
            epochs: 20,
            batch_size: 128,
            learning_rate: 2e-3,
            shift: 4,
            flip: true,
            ..base
        },
        _ => base,
    }
}

/// The default `(train, test)` image counts of `heaccel train` for `model`: MNIST 10k's
/// first 8,000 and last 2,000 for lenet; all of CIFAR-10's `train/` (50,000) and `test/`
/// (10,000) for vgg5 and hefnet.
pub fn default_images(model: ZooModel) -> (usize, usize) {
    match model {
        ZooModel::Lenet => (8000, 2000),
        _ => (50_000, 10_000),
    }
}

/// The split `model` trains on (see [`Request::data`]): MNIST for lenet
/// ([`load_mnist`]), the CIFAR-10 ImageFolders for the others ([`load_image_folders`]).
pub fn load_split(
    model: ZooModel,
    data: &Path,
    network: &Network,
    train: usize,
    test: usize,
) -> Result<Split, TrainError> {
    let outputs = network.output_shape()?.len();
    match model {
        ZooModel::Lenet => load_mnist(data, network.input_shape, outputs, train, test),
        _ => load_image_folders(data, network.input_shape, outputs, train, test),
    }
}

/// The architecture trained for `strategy`, with zero weights: the zoo network, ungrouped for
/// [`StrategyChoice::Dense`].
pub fn architecture(model: ZooModel, strategy: StrategyChoice) -> Result<Network, TrainError> {
    let mut network = zoo::architecture(model)?;
    if strategy == StrategyChoice::Dense {
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
    if request.prune > 0.0 && request.strategy == StrategyChoice::Dense {
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
    let split = load_split(
        model,
        &request.data,
        &network,
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
