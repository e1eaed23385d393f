//! Loading an accuracy run: the network and its weights, the input normalization, the
//! dataset and, for minimax runs, the calibrated bounds.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use heaccel_host::accuracy::{bounds_with_margin, calibrate, MinimaxRelu, ReluChoice, ReportFrame};
use heaccel_host::data::{Dataset, LoadOptions, Normalization};
use heaccel_host::nn::fast::FastNetwork;
use heaccel_host::nn::weights::load_safetensors;
use heaccel_host::nn::{zoo, CifarResNet, Network};

use super::{
    progress_bar, AccuracyArgs, AccuracyContext, Calibration, CalibrationArgs, SHARD_KIND,
};

enum Model {
    Cifar(CifarResNet),
    Zoo(zoo::ZooModel),
}

fn parse_model(name: &str) -> Result<Model> {
    if let Ok(m) = name.parse::<CifarResNet>() {
        return Ok(Model::Cifar(m));
    }
    match name.parse::<zoo::ZooModel>() {
        Ok(zoo::ZooModel::Resnet20(_)) | Err(_) => bail!(
            "--model: unknown network '{name}' (expected one of: {}, lenet, vgg5, hefnet)",
            CifarResNet::NAMES.join(", ")
        ),
        Ok(m) => Ok(Model::Zoo(m)),
    }
}

fn normalization(args: &AccuracyArgs, model: &Model, channels: usize) -> Result<Normalization> {
    let default = match model {
        Model::Cifar(_) => Normalization::imagenet(),
        Model::Zoo(_) => Normalization::identity(channels),
    };
    let n = Normalization {
        mean: args.mean.clone().unwrap_or(default.mean),
        std: args.std.clone().unwrap_or(default.std),
    };
    n.check(channels).context("--mean/--std")?;
    Ok(n)
}

/// The calibration folder: `--calibration`, else `train` beside a `test` `data` folder.
fn calibration_dir(args: &CalibrationArgs, data: &Path, activation: &str) -> Result<PathBuf> {
    if let Some(dir) = &args.calibration {
        return Ok(dir.clone());
    }
    let sibling = (data.file_name().is_some_and(|n| n == "test"))
        .then(|| data.with_file_name("train"))
        .filter(|p| p.is_dir());
    sibling.with_context(|| {
        format!(
            "--activation {activation}: the minimax bounds need calibration images: pass \
             --calibration DIR (there is no `train` folder beside {})",
            data.display()
        )
    })
}

/// The minimax ReLU of `alpha` with one bound per activation layer of `network`: each
/// layer's largest |x| over the calibration images (`args`, else `train` beside `data`),
/// times the margin. A progress bar on stderr when `show_progress`.
pub fn calibrated_minimax(
    network: &FastNetwork,
    normalization: &Normalization,
    alpha: u32,
    args: &CalibrationArgs,
    data: &Path,
    show_progress: bool,
) -> Result<(MinimaxRelu, Calibration)> {
    if !(args.bound_margin.is_finite() && args.bound_margin >= 1.0) {
        bail!(
            "--bound-margin {}: expected a number >= 1",
            args.bound_margin
        );
    }
    if args.calibration_per_class == 0 {
        bail!("--calibration-per-class must be >= 1");
    }
    let dir = calibration_dir(args, data, &format!("relu-minimax:{alpha}"))?;
    let options = LoadOptions {
        shape: network.input_shape(),
        per_class: Some(args.calibration_per_class),
    };
    let calib = Dataset::open(&dir, options)?;
    let bar = progress_bar(show_progress, calib.len(), "calibrating");
    let max_abs = calibrate(network, &calib, normalization, &|n| {
        bar.set_position(n as u64)
    })?;
    bar.finish_and_clear();
    let bounds = bounds_with_margin(&max_abs, args.bound_margin);
    Ok((
        MinimaxRelu::new(alpha, args.eps, bounds)?,
        Calibration {
            data: dir,
            images: calib.len(),
            margin: args.bound_margin,
        },
    ))
}

/// The CIFAR ResNet `name` with the weights of `weights` (ImageNet normalization, as trained).
pub(crate) fn cifar_resnet(name: &str, weights: &Path) -> Result<(Network, Normalization)> {
    let model = name
        .parse::<CifarResNet>()
        .map_err(|e| anyhow::anyhow!("--model {e}"))?;
    Ok((
        load_network(&Model::Cifar(model), weights)?,
        Normalization::imagenet(),
    ))
}

fn load_network(model: &Model, weights: &Path) -> Result<Network> {
    let mut network = match model {
        Model::Cifar(m) => m.architecture(),
        Model::Zoo(m) => zoo::architecture(*m)?,
    };
    load_safetensors(&mut network, weights)?;
    Ok(network)
}

/// A loaded accuracy run: the network, its input normalization, the dataset, the minimax
/// ReLU (with its calibration) when asked for.
pub(super) struct Loaded {
    pub(super) fast: FastNetwork,
    pub(super) norm: Normalization,
    pub(super) dataset: Dataset,
    pub(super) minimax: Option<MinimaxRelu>,
    pub(super) calibration: Option<Calibration>,
}

pub(super) fn load(args: &AccuracyArgs, show_progress: bool) -> Result<Loaded> {
    let model = parse_model(&args.model)?;
    let relu: ReluChoice = args
        .activation
        .parse()
        .map_err(|e| anyhow::anyhow!("--activation {e}"))?;
    if args.per_class == Some(0) {
        bail!("--per-class must be >= 1");
    }
    let network = load_network(&model, &args.weights)?;
    let fast = FastNetwork::new(&network)?;
    let shape = network.input_shape;
    let norm = normalization(args, &model, shape.channels)?;
    let dataset = Dataset::open(
        &args.data,
        LoadOptions {
            shape,
            per_class: args.per_class,
        },
    )?;
    let (minimax, calibration) = match relu {
        ReluChoice::Exact if args.calibration.eps.is_some() => {
            bail!("--eps needs --activation relu-minimax:ALPHA")
        }
        ReluChoice::Exact => (None, None),
        ReluChoice::Minimax { alpha } => {
            let (minimax, calibration) = calibrated_minimax(
                &fast,
                &norm,
                alpha,
                &args.calibration,
                &args.data,
                show_progress,
            )?;
            (Some(minimax), Some(calibration))
        }
    };
    Ok(Loaded {
        fast,
        norm,
        dataset,
        minimax,
        calibration,
    })
}

impl Loaded {
    pub(super) fn context(&self, args: &AccuracyArgs) -> AccuracyContext {
        AccuracyContext {
            model: args.model.clone(),
            weights: args.weights.clone(),
            data: args.data.clone(),
            format: self.dataset.format.to_string(),
            per_class: args.per_class,
            normalization: self.norm.clone(),
            calibration: self.calibration.clone(),
            frame: ReportFrame::new(&self.fast, &self.dataset, self.minimax.as_ref()),
        }
    }

    /// Everything that decides the run's rows: its `context` (bounds included), the weights by
    /// content and the images by name and label.
    pub(super) fn job_hash(
        &self,
        args: &AccuracyArgs,
        context: &AccuracyContext,
    ) -> Result<String> {
        let samples: Vec<(&str, usize)> = self
            .dataset
            .samples
            .iter()
            .map(|s| (s.origin.as_str(), s.label))
            .collect();
        Ok(heaccel_shard::job_hash(&serde_json::json!({
            "command": SHARD_KIND,
            "context": serde_json::to_value(context)?,
            "weights": crate::distribute::file_digest(&args.weights)?,
            "samples": heaccel_shard::job_hash(&serde_json::to_value(samples)?),
        })))
    }
}
