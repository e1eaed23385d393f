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
use serde::Serialize;
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
            stats: fresh_stats(network, Some(self)),
        };
        Ok(network.run(input, &mut hook)?)
    }

    /// Checks that there is one bound per activation layer of `network`.
    fn check_layers(&self, network: &FastNetwork) -> Result<(), AccuracyError> {
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

impl ActivationStats {
    fn merge(&mut self, other: &ActivationStats) {
        self.max_abs = self.max_abs.max(other.max_abs);
        self.values += other.values;
        self.outside += other.outside;
        self.below_eps += other.below_eps;
    }
}

/// One work item's predictions (`None`: non-finite logits) and activation statistics.
type ChunkResult = (Vec<Option<usize>>, Vec<ActivationStats>);

struct RecordingHook<'a> {
    minimax: Option<&'a MinimaxRelu>,
    stats: Vec<ActivationStats>,
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassAccuracy {
    /// Class name.
    pub class: String,
    /// Correct predictions.
    pub correct: usize,
    /// Images.
    pub total: usize,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    if dataset.is_empty() {
        return Err(AccuracyError::Empty);
    }
    if dataset.classes.len() > network.output_len() {
        return Err(AccuracyError::Classes {
            classes: dataset.classes.len(),
            outputs: network.output_len(),
        });
    }

    let done = AtomicUsize::new(0);
    let indices: Vec<usize> = (0..dataset.len()).collect();
    let chunks: Vec<Result<ChunkResult, NnError>> = indices
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut hook = RecordingHook {
                minimax,
                stats: fresh_stats(network, minimax),
            };
            let mut predictions = Vec::with_capacity(chunk.len());
            for &i in chunk {
                let logits = network.run(&dataset.input(i, normalization), &mut hook)?;
                predictions.push(argmax(&logits));
            }
            progress(done.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len());
            Ok((predictions, hook.stats))
        })
        .collect();
    let mut stats = fresh_stats(network, minimax);
    let mut predictions = Vec::with_capacity(dataset.len());
    for chunk in chunks {
        let (p, s) = chunk?;
        predictions.extend(p);
        for (total, part) in stats.iter_mut().zip(&s) {
            total.merge(part);
        }
    }
    let mut per_class: Vec<ClassAccuracy> = dataset
        .classes
        .iter()
        .map(|c| ClassAccuracy {
            class: c.clone(),
            correct: 0,
            total: 0,
        })
        .collect();
    let mut non_finite = 0;
    for (sample, predicted) in dataset.samples.iter().zip(&predictions) {
        let class = &mut per_class[sample.label];
        class.total += 1;
        match predicted {
            Some(p) if *p == sample.label => class.correct += 1,
            Some(_) => {}
            None => non_finite += 1,
        }
    }
    let correct = per_class.iter().map(|c| c.correct).sum();
    let total = dataset.len();
    Ok(AccuracyReport {
        model: network.name().to_string(),
        activation: minimax
            .map_or(ReluChoice::Exact, |m| ReluChoice::Minimax {
                alpha: m.alpha,
            })
            .to_string(),
        correct,
        total,
        top1: correct as f64 / total as f64,
        non_finite,
        per_class,
        minimax: minimax.map(MinimaxRelu::summary),
        activations: stats,
        predictions: predictions
            .into_iter()
            .map(|p| p.unwrap_or(usize::MAX))
            .collect(),
    })
}

/// Empty statistics of every activation layer of `network` (bounds from `minimax`).
fn fresh_stats(network: &FastNetwork, minimax: Option<&MinimaxRelu>) -> Vec<ActivationStats> {
    network
        .activation_names()
        .iter()
        .enumerate()
        .map(|(i, name)| ActivationStats {
            name: name.clone(),
            bound: minimax.map_or(0.0, |m| m.bounds[i]),
            max_abs: 0.0,
            values: 0,
            outside: 0,
            below_eps: 0,
        })
        .collect()
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
