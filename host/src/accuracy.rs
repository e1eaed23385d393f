//! Plaintext accuracy of a network over a labelled dataset, with ReLU exact or replaced by the
//! composite minimax polynomial the encrypted circuit evaluates (Lee et al., "Precise
//! approximation of convolutional neural networks for homomorphically encrypted data"):
//! `ReLU(x) ~ B * t * (1 + p(t)) / 2` with `t = x / B`, `p` the composite sign of precision
//! `alpha` ([`MinimaxActivation::relu_plain`], the same coefficients the CKKS circuit uses)
//! and `B` one bound per activation layer.
//!
//! Bounds come from a calibration set ([`calibrate`]: the largest `|x|` each ReLU sees on it,
//! times a margin). The composite is accurate for `eps <= |t| <= 1` (`eps` per alpha:
//! [`alpha_default_eps`]); outside `[-B, B]` it diverges, and below `eps` its error grows to at
//! most `eps / 2` of `B`. The report counts both per layer so a user sees which one costs
//! accuracy.
//!
//! Images run in parallel (rayon) in chunks; results do not depend on the thread count.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use heaccel_verification::circuits::MinimaxActivation;
use heaccel_verification::minimax::{alpha_default_eps, CompositeSign};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::data::{Dataset, Normalization};
use crate::nn::fast::{ActivationHook, ExactActivations, FastNetwork};
use crate::nn::{Activation, NnError};

/// Precision range of the minimax ReLU (the degree table's).
pub const ALPHAS: std::ops::RangeInclusive<u32> = 4..=14;

/// Images per parallel work item.
const CHUNK: usize = 16;

/// Errors of an accuracy run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AccuracyError {
    /// The network.
    #[error(transparent)]
    Network(#[from] NnError),
    /// The minimax construction failed.
    #[error("minimax ReLU of alpha {alpha}: {message}")]
    Minimax {
        /// The precision.
        alpha: u32,
        /// The construction's message.
        message: String,
    },
    /// The dataset has labels the network cannot output.
    #[error("the dataset has {classes} classes but the network outputs {outputs} values")]
    Classes {
        /// Classes of the dataset.
        classes: usize,
        /// Output length of the network.
        outputs: usize,
    },
    /// The bounds do not fit the network.
    #[error("{got} activation bounds for a network with {expected} activation layers")]
    Bounds {
        /// Activation layers.
        expected: usize,
        /// Bounds given.
        got: usize,
    },
    /// The dataset is empty.
    #[error("the dataset holds no image")]
    Empty,
    /// An image index beyond the dataset.
    #[error("image {index} of a dataset of {len}")]
    Index {
        /// The index asked for.
        index: usize,
        /// Images in the dataset.
        len: usize,
    },
}

/// How ReLU layers are evaluated. Other activations (polynomials) are always exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReluChoice {
    /// `max(x, 0)`.
    Exact,
    /// The composite minimax ReLU of precision `alpha` (in [`ALPHAS`]).
    Minimax {
        /// Precision: the composite sign is within `2^-alpha` of `sign` on `[eps, 1]`.
        alpha: u32,
    },
}

impl fmt::Display for ReluChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReluChoice::Exact => f.write_str("relu"),
            ReluChoice::Minimax { alpha } => write!(f, "relu-minimax:{alpha}"),
        }
    }
}

/// `relu` or `relu-minimax:ALPHA`, `ALPHA` in 4..=14.
impl FromStr for ReluChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "relu" {
            return Ok(ReluChoice::Exact);
        }
        let bad = || format!("'{s}': expected relu or relu-minimax:ALPHA with ALPHA in 4..=14");
        let alpha: u32 = s
            .strip_prefix("relu-minimax:")
            .ok_or_else(bad)?
            .parse()
            .map_err(|_| bad())?;
        if !ALPHAS.contains(&alpha) {
            return Err(bad());
        }
        Ok(ReluChoice::Minimax { alpha })
    }
}

/// The minimax ReLU of one alpha with one bound per activation layer.
#[derive(Debug, Clone)]
pub struct MinimaxRelu {
    alpha: u32,
    activation: MinimaxActivation,
    eps: f64,
    bounds: Vec<f64>,
}

impl MinimaxRelu {
    /// The composite of `alpha`'s degrees designed for `[eps, 1]` (`eps` in `(0, 1)`; `None`:
    /// alpha's default, on which it reaches `2^-alpha`), with `bounds[i]` the `B` of
    /// activation layer `i` (each > 0 and finite; non-ReLU layers' bounds are unused).
    pub fn new(alpha: u32, eps: Option<f64>, bounds: Vec<f64>) -> Result<Self, AccuracyError> {
        let minimax = |message: String| AccuracyError::Minimax { alpha, message };
        let default = alpha_default_eps(alpha).ok_or_else(|| minimax("not in 4..=14".into()))?;
        let eps = eps.unwrap_or(default);
        let composite =
            CompositeSign::for_alpha(alpha, Some(eps)).map_err(|e| minimax(e.to_string()))?;
        let activation = MinimaxActivation::new(composite).map_err(|e| minimax(e.to_string()))?;
        if let Some(b) = bounds.iter().find(|b| !(b.is_finite() && **b > 0.0)) {
            return Err(minimax(format!("bound {b} must be finite and > 0")));
        }
        Ok(MinimaxRelu {
            alpha,
            activation,
            eps,
            bounds,
        })
    }

    /// The network's output on one input (CHW, normalized) with every ReLU this
    /// approximation, each value computed in `f64` as the circuit does (`B t (1 + p(t)) / 2`):
    /// the plaintext twin of an encrypted run.
    pub fn forward(&self, network: &FastNetwork, input: &[f32]) -> Result<Vec<f32>, AccuracyError> {
        self.check_layers(network)?;
        let mut hook = RecordingHook {
            minimax: Some(self),
            stats: vec![LayerCounts::default(); network.activation_names().len()],
        };
        Ok(network.run(input, &mut hook)?)
    }

    /// Checks that there is one bound per activation layer of `network`.
    pub fn check_layers(&self, network: &FastNetwork) -> Result<(), AccuracyError> {
        let layers = network.activation_names().len();
        if self.bounds.len() != layers {
            return Err(AccuracyError::Bounds {
                expected: layers,
                got: self.bounds.len(),
            });
        }
        Ok(())
    }

    /// The precision.
    pub fn alpha(&self) -> u32 {
        self.alpha
    }

    /// The bound `B` of each activation layer, in execution order.
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// The circuits.
    pub fn activation(&self) -> &MinimaxActivation {
        &self.activation
    }

    /// The summary the report carries.
    pub fn summary(&self) -> MinimaxSummary {
        let composite = self.activation.composite();
        MinimaxSummary {
            alpha: self.alpha,
            degrees: composite.degrees(),
            eps: self.eps,
            log2_eps: self.eps.log2(),
            sign_error: composite.max_error(),
            relu_depth: self.activation.relu_depth(),
        }
    }
}

/// The approximation's figures (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinimaxSummary {
    /// Precision.
    pub alpha: u32,
    /// Degrees of the composite's stages.
    pub degrees: Vec<usize>,
    /// The composite is within `sign_error` of `sign(t)` for `eps <= |t| <= 1`.
    pub eps: f64,
    /// `log2(eps)`.
    pub log2_eps: f64,
    /// `max |p(t) - sign(t)|` on `[eps, 1]`.
    pub sign_error: f64,
    /// Levels one ReLU consumes under encryption.
    pub relu_depth: u32,
}

/// One activation layer's inputs over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivationStats {
    /// Layer name.
    pub name: String,
    /// Its bound `B` (0 for exact ReLU runs).
    pub bound: f64,
    /// Largest `|x|` seen.
    pub max_abs: f64,
    /// Values seen.
    pub values: u64,
    /// Values with `|x| > B`.
    pub outside: u64,
    /// Values with `0 < |x| / B < eps`.
    pub below_eps: u64,
}

struct RecordingHook<'a> {
    minimax: Option<&'a MinimaxRelu>,
    stats: Vec<LayerCounts>,
}

impl ActivationHook for RecordingHook<'_> {
    fn apply(&mut self, index: usize, function: Activation, values: &mut [f32]) {
        let stats = &mut self.stats[index];
        stats.values += values.len() as u64;
        let max_abs = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        stats.max_abs = stats.max_abs.max(f64::from(max_abs));
        match (function, self.minimax) {
            (Activation::Relu, Some(minimax)) => {
                let bound = minimax.bounds[index];
                for v in values.iter_mut() {
                    let t = f64::from(*v) / bound;
                    if t.abs() > 1.0 {
                        stats.outside += 1;
                    } else if t != 0.0 && t.abs() < minimax.eps {
                        stats.below_eps += 1;
                    }
                    *v = (bound * minimax.activation.relu_plain(t)) as f32;
                }
            }
            (function, _) => ExactActivations.apply(index, function, values),
        }
    }
}

/// One class's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassAccuracy {
    /// Class name.
    pub class: String,
    /// Correct predictions.
    pub correct: usize,
    /// Images.
    pub total: usize,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracyReport {
    /// Network name.
    pub model: String,
    /// How ReLU was evaluated (`relu`, `relu-minimax:ALPHA`).
    pub activation: String,
    /// Images classified correctly (top-1).
    pub correct: usize,
    /// Images.
    pub total: usize,
    /// `correct / total`.
    pub top1: f64,
    /// Images whose logits held NaN or an infinity (counted as wrong).
    pub non_finite: usize,
    /// Per class, in label order.
    pub per_class: Vec<ClassAccuracy>,
    /// The approximation, for minimax runs.
    pub minimax: Option<MinimaxSummary>,
    /// Per activation layer, in execution order.
    pub activations: Vec<ActivationStats>,
    /// Predicted class per image, in dataset order.
    #[serde(skip)]
    pub predictions: Vec<usize>,
}

impl AccuracyReport {
    /// Values outside `[-B, B]` over all layers.
    pub fn outside(&self) -> u64 {
        self.activations.iter().map(|a| a.outside).sum()
    }

    /// Values with `|x| / B < eps` over all layers.
    pub fn below_eps(&self) -> u64 {
        self.activations.iter().map(|a| a.below_eps).sum()
    }

    /// ReLU input values over all layers.
    pub fn values(&self) -> u64 {
        self.activations.iter().map(|a| a.values).sum()
    }
}

/// The largest `|x|` each activation layer sees over `dataset` with exact activations.
pub fn calibrate(
    network: &FastNetwork,
    dataset: &Dataset,
    normalization: &Normalization,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<f64>, AccuracyError> {
    let report = run(network, dataset, normalization, None, progress)?;
    Ok(report.activations.iter().map(|a| a.max_abs).collect())
}

/// Bounds from calibration maxima: `max_abs * margin`, at least `f64::MIN_POSITIVE`.
pub fn bounds_with_margin(max_abs: &[f64], margin: f64) -> Vec<f64> {
    max_abs
        .iter()
        .map(|m| (m * margin).max(f64::MIN_POSITIVE))
        .collect()
}

/// Classifies every image of `dataset` (top-1 = first largest logit) with ReLU as `minimax`
/// says (exact when `None`); `progress` is called with the number of images done so far.
pub fn evaluate(
    network: &FastNetwork,
    dataset: &Dataset,
    normalization: &Normalization,
    minimax: Option<&MinimaxRelu>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<AccuracyReport, AccuracyError> {
    if let Some(m) = minimax {
        m.check_layers(network)?;
    }
    run(network, dataset, normalization, minimax, progress)
}

fn run(
    network: &FastNetwork,
    dataset: &Dataset,
    normalization: &Normalization,
    minimax: Option<&MinimaxRelu>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<AccuracyReport, AccuracyError> {
    let indices: Vec<usize> = (0..dataset.len()).collect();
    let outcomes = classify(network, dataset, normalization, minimax, &indices, progress)?;
    Ok(ReportFrame::new(network, dataset, minimax).summarize(&outcomes))
}

/// One image's outcome: its label, its prediction and what each activation layer saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageOutcome {
    /// The image's label.
    pub label: usize,
    /// Top-1 class; `None` when the logits held NaN or an infinity.
    pub predicted: Option<usize>,
    /// Per activation layer, in execution order.
    pub layers: Vec<LayerCounts>,
}

/// What one activation layer saw on one image (summed or maxed over images in the report).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LayerCounts {
    /// Largest `|x|`.
    pub max_abs: f64,
    /// Values.
    pub values: u64,
    /// Values with `|x| > B`.
    pub outside: u64,
    /// Values with `0 < |x| / B < eps`.
    pub below_eps: u64,
}

/// Classifies the images `indices` of `dataset` (each checked against the dataset) with ReLU
/// as `minimax` (exact when `None`), in parallel; outcomes in `indices` order. `progress` gets
/// the number of images done.
pub fn classify(
    network: &FastNetwork,
    dataset: &Dataset,
    normalization: &Normalization,
    minimax: Option<&MinimaxRelu>,
    indices: &[usize],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<ImageOutcome>, AccuracyError> {
    if dataset.is_empty() {
        return Err(AccuracyError::Empty);
    }
    if dataset.classes.len() > network.output_len() {
        return Err(AccuracyError::Classes {
            classes: dataset.classes.len(),
            outputs: network.output_len(),
        });
    }
    if let Some(&bad) = indices.iter().find(|&&i| i >= dataset.len()) {
        return Err(AccuracyError::Index {
            index: bad,
            len: dataset.len(),
        });
    }
    let done = AtomicUsize::new(0);
    let chunks: Vec<Result<Vec<ImageOutcome>, NnError>> = indices
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut out = Vec::with_capacity(chunk.len());
            for &i in chunk {
                let mut hook = RecordingHook {
                    minimax,
                    stats: vec![LayerCounts::default(); network.activation_names().len()],
                };
                let logits = network.run(&dataset.input(i, normalization), &mut hook)?;
                out.push(ImageOutcome {
                    label: dataset.samples[i].label,
                    predicted: argmax(&logits),
                    layers: hook.stats,
                });
            }
            progress(done.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len());
            Ok(out)
        })
        .collect();
    let mut outcomes = Vec::with_capacity(indices.len());
    for chunk in chunks {
        outcomes.extend(chunk?);
    }
    Ok(outcomes)
}

/// What a report says besides the images' outcomes: the network, the classes, the activation
/// layers and the approximation. [`ReportFrame::summarize`] turns outcomes into the report,
/// so outcomes classified in slices (shards) sum to the report of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportFrame {
    /// Network name.
    pub model: String,
    /// `relu` or `relu-minimax:ALPHA`.
    pub activation: String,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Activation layer names, in execution order.
    pub layers: Vec<String>,
    /// Their bounds (minimax runs; 0 otherwise).
    pub bounds: Vec<f64>,
    /// The approximation, for minimax runs.
    pub minimax: Option<MinimaxSummary>,
}

impl ReportFrame {
    /// The frame of classifying `dataset` with `network` and `minimax`.
    pub fn new(network: &FastNetwork, dataset: &Dataset, minimax: Option<&MinimaxRelu>) -> Self {
        let layers = network.activation_names().to_vec();
        ReportFrame {
            model: network.name().to_string(),
            activation: minimax
                .map_or(ReluChoice::Exact, |m| ReluChoice::Minimax {
                    alpha: m.alpha,
                })
                .to_string(),
            classes: dataset.classes.clone(),
            bounds: (0..layers.len())
                .map(|i| minimax.map_or(0.0, |m| m.bounds[i]))
                .collect(),
            layers,
            minimax: minimax.map(MinimaxRelu::summary),
        }
    }

    /// The report of `outcomes` (every image's, in dataset order). Labels must be below the
    /// class count and every outcome must have one entry per layer (true of [`classify`]'s).
    pub fn summarize(&self, outcomes: &[ImageOutcome]) -> AccuracyReport {
        let mut stats: Vec<ActivationStats> = self
            .layers
            .iter()
            .zip(&self.bounds)
            .map(|(name, &bound)| ActivationStats {
                name: name.clone(),
                bound,
                max_abs: 0.0,
                values: 0,
                outside: 0,
                below_eps: 0,
            })
            .collect();
        let mut per_class: Vec<ClassAccuracy> = self
            .classes
            .iter()
            .map(|c| ClassAccuracy {
                class: c.clone(),
                correct: 0,
                total: 0,
            })
            .collect();
        let mut non_finite = 0;
        for outcome in outcomes {
            for (total, part) in stats.iter_mut().zip(&outcome.layers) {
                total.max_abs = total.max_abs.max(part.max_abs);
                total.values += part.values;
                total.outside += part.outside;
                total.below_eps += part.below_eps;
            }
            let class = &mut per_class[outcome.label];
            class.total += 1;
            match outcome.predicted {
                Some(p) if p == outcome.label => class.correct += 1,
                Some(_) => {}
                None => non_finite += 1,
            }
        }
        let correct = per_class.iter().map(|c| c.correct).sum();
        let total = outcomes.len();
        AccuracyReport {
            model: self.model.clone(),
            activation: self.activation.clone(),
            correct,
            total,
            top1: correct as f64 / total as f64,
            non_finite,
            per_class,
            minimax: self.minimax.clone(),
            activations: stats,
            predictions: outcomes
                .iter()
                .map(|o| o.predicted.unwrap_or(usize::MAX))
                .collect(),
        }
    }
}

/// Index of the first largest value, `None` when any value is not finite.
fn argmax(values: &[f32]) -> Option<usize> {
    if values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    Some(best)
}
