//! The training loop: minibatch AdamW on the cross-entropy of a [`Mirror`], with the stability
//! recipe of the crate docs (batch norms folded on export, a ReLU-fit quadratic start, an
//! activation-range penalty, global gradient-norm clipping, weight decay), a cosine
//! learning-rate decay, a seeded shuffle and augmentation, a progress bar, an early exit when
//! the loss or the gradient is not finite, and an atomic checkpoint after each epoch.

use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use heaccel_host::nn::Network;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::checkpoint::save_atomic;
use crate::data::{Augment, Images, Split};
use crate::model::Mirror;
use crate::prune::{schedule, LayerPruning, Pruning};
use crate::TrainError;

/// The default [`TrainConfig::poly_init`]: `0.125 x^2 + 0.5 x + 0.25 = (x + 2)^2 / 8`, the
/// zoo's [`heaccel_host::nn::Activation::DEFAULT_POLY`], the quadratic that touches ReLU at
/// `x = -2` and `x = 2` (see the crate docs for the recipe).
pub const POLY_INIT: (f64, f64, f64) = (0.125, 0.5, 0.25);

/// Images per evaluation batch (memory only; results do not depend on it). A HEFNet run's peak
/// was 9.6 GB at 500 and is 5.7 GB at 100 (HEFNet's `conv1` output alone is 461 MB for 500
/// images; docs/TRAINING.md).
const EVAL_BATCH: usize = 100;

/// Hyperparameters of [`train`]. [`TrainConfig::check`] states the accepted ranges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training images, >= 1.
    pub epochs: usize,
    /// Images per minibatch, >= 1 (the last minibatch of an epoch may be smaller).
    pub batch_size: usize,
    /// AdamW's learning rate at the start, finite and > 0; it decays along a cosine to
    /// `learning_rate / 20` at the last step.
    pub learning_rate: f64,
    /// AdamW's decoupled weight decay, finite and >= 0 (also pulls the quadratic coefficients
    /// towards 0, the regularization of `a`).
    pub weight_decay: f64,
    /// Largest global L2 norm of the gradient; larger gradients are scaled down to it. Finite,
    /// > 0.
    pub clip_norm: f64,
    /// Bound `B` of the activation-range penalty, finite, > 0.
    pub range_bound: f64,
    /// Weight `lambda` of the activation-range penalty `lambda * sum_layers mean(max(|x| - B,
    /// 0)^2)` over the inputs `x` of every polynomial activation; finite, >= 0 (0 turns it off).
    pub range_penalty: f64,
    /// Random translation of training images, in pixels per axis, zero-filled (0 = none):
    /// with `p` it is the random crop of the image padded by `p` zero pixels on every side
    /// (see [`crate::data::Augment`]).
    pub shift: usize,
    /// Mirror training images left to right at random (probability 1/2), after the shift.
    #[serde(default)]
    pub flip: bool,
    /// Seed of the shuffle and of the augmentation (the caller seeds the initial weights).
    pub seed: u64,
    /// The quadratic activations' coefficients `(a, b, c)` at the start of a run from seeded
    /// weights (see the crate docs for the recipe); each finite.
    pub poly_init: (f64, f64, f64),
    /// Train with a batch norm after each convolution and fully connected layer, folded into
    /// it on export (see [`Mirror::new`]); without (an ablation), LeNet trains far slower.
    pub fold_norms: bool,
    /// Draw a progress bar on stderr (only when stderr is a terminal).
    pub progress: bool,
}

impl Default for TrainConfig {
    /// The defaults of `heaccel train` for LeNet on MNIST: 12 epochs of 64-image minibatches,
    /// learning rate 3e-3, weight decay 1e-4, clip norm 5, range bound 6 with weight 1e-3,
    /// shifts of up to 2 pixels and no flips, seed 2023 (see [`crate::run::default_config`]
    /// for the other networks).
    fn default() -> Self {
        TrainConfig {
            epochs: 12,
            batch_size: 64,
            learning_rate: 3e-3,
            weight_decay: 1e-4,
            clip_norm: 5.0,
            range_bound: 6.0,
            range_penalty: 1e-3,
            shift: 2,
            flip: false,
            seed: 2023,
            poly_init: POLY_INIT,
            fold_norms: true,
            progress: true,
        }
    }
}

fn positive_finite(field: &'static str, value: f64, zero_ok: bool) -> Result<(), TrainError> {
    let ok = value.is_finite() && (value > 0.0 || (zero_ok && value == 0.0));
    if ok {
        return Ok(());
    }
    Err(TrainError::Config {
        field,
        value: value.to_string(),
        expected: if zero_ok {
            "a finite number >= 0".into()
        } else {
            "a finite number > 0".into()
        },
    })
}

impl TrainConfig {
    /// Checks the ranges stated on each field.
    pub fn check(&self) -> Result<(), TrainError> {
        for (field, value) in [("epochs", self.epochs), ("batch_size", self.batch_size)] {
            if value == 0 {
                return Err(TrainError::Config {
                    field,
                    value: "0".into(),
                    expected: "an integer >= 1".into(),
                });
            }
        }
        positive_finite("learning_rate", self.learning_rate, false)?;
        positive_finite("weight_decay", self.weight_decay, true)?;
        positive_finite("clip_norm", self.clip_norm, false)?;
        positive_finite("range_bound", self.range_bound, false)?;
        positive_finite("range_penalty", self.range_penalty, true)?;
        let (a, b, c) = self.poly_init;
        if ![a, b, c].iter().all(|v| v.is_finite()) {
            return Err(TrainError::Config {
                field: "poly_init",
                value: format!("({a}, {b}, {c})"),
                expected: "finite coefficients".into(),
            });
        }
        Ok(())
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's minibatches (penalty excluded).
    pub loss: f64,
    /// Fraction of training images classified right during the epoch (training mode,
    /// augmented, weights changing), in [0, 1].
    pub running_accuracy: f64,
    /// Fraction of test images classified right after the epoch (evaluation mode), in [0, 1].
    pub test_accuracy: f64,
    /// Wall time of the epoch, seconds (evaluation included).
    pub seconds: f64,
}

/// What [`train`] measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Per epoch, in order.
    pub epochs: Vec<EpochReport>,
    /// The cross-entropy of every minibatch, in training order.
    pub batch_losses: Vec<f32>,
    /// Fraction of the (unaugmented) training images classified right at the end, evaluation
    /// mode, in [0, 1].
    pub train_accuracy: f64,
    /// Fraction of the test images classified right at the end, in [0, 1].
    pub test_accuracy: f64,
    /// Wall time of training and evaluation, seconds.
    pub seconds: f64,
    /// Per pruned convolution, its blocks and pruned blocks at the end (empty without
    /// pruning).
    #[serde(default)]
    pub pruning: Vec<LayerPruning>,
}

/// Fraction of `images` the mirror classifies right (evaluation mode).
pub fn accuracy(mirror: &Mirror, images: &Images, device: &Device) -> Result<f64, TrainError> {
    if images.is_empty() {
        return Ok(0.0);
    }
    let indices: Vec<usize> = (0..images.len()).collect();
    let mut correct = 0usize;
    for chunk in indices.chunks(EVAL_BATCH) {
        let (x, _) = images.batch(chunk, None::<(&mut ChaCha8Rng, Augment)>, device)?;
        let predicted = mirror.predict(&x)?;
        correct += chunk
            .iter()
            .zip(&predicted)
            .filter(|(&i, &p)| images.labels[i] == p)
            .count();
    }
    Ok(correct as f64 / images.len() as f64)
}

fn progress_bar(steps: u64, show: bool) -> ProgressBar {
    use std::io::IsTerminal;
    let target = if show && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(steps), target);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// Scales the gradients of `mirror`'s tensors so that their global L2 norm is at most
/// `clip_norm`; returns the norm before scaling.
fn clip_gradients(
    mirror: &Mirror,
    grads: &mut candle_core::backprop::GradStore,
    clip_norm: f64,
) -> Result<f64, TrainError> {
    let mut squares = 0.0f64;
    let vars = mirror.variables();
    for v in &vars {
        if let Some(g) = grads.get(v.as_tensor()) {
            squares += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
        }
    }
    let norm = squares.sqrt();
    if norm.is_finite() && norm > clip_norm {
        let scale = clip_norm / norm;
        for v in &vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                let scaled = (g * scale)?;
                grads.insert(v.as_tensor(), scaled);
            }
        }
    }
    Ok(norm)
}

/// The candle side of a [`Pruning`]: per pruned convolution, its weight variable and its mask
/// (`f32` 0/1 of the weight's shape).
struct MirrorMasks(Vec<(Var, Tensor)>);

impl MirrorMasks {
    fn new(mirror: &Mirror, pruning: &Pruning, device: &Device) -> Result<Self, TrainError> {
        let mut out = Vec::with_capacity(pruning.layers.len());
        for layer in &pruning.layers {
            let name = format!("{}.weight", layer.blocks.name);
            let var = mirror
                .trainable()
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| TrainError::Mirror {
                    name: name.clone(),
                    problem: "a pruned convolution's weight is not in the mirror".into(),
                })?;
            let mask: Vec<f32> = layer
                .weight_mask()
                .iter()
                .map(|&k| if k { 1.0 } else { 0.0 })
                .collect();
            let mask = Tensor::from_vec(mask, &layer.blocks.weight_shape, device)?;
            if mask.dims() != var.as_tensor().dims() {
                return Err(TrainError::Mirror {
                    name,
                    problem: format!(
                        "mask of shape {:?}, weight {:?}",
                        mask.dims(),
                        var.as_tensor().dims()
                    ),
                });
            }
            out.push((var, mask));
        }
        Ok(MirrorMasks(out))
    }

    /// Multiplies every masked weight by its mask (pruned weights become exactly 0).
    fn apply(&self) -> Result<(), TrainError> {
        for (var, mask) in &self.0 {
            var.set(&var.as_tensor().mul(mask)?)?;
        }
        Ok(())
    }

    /// Multiplies the masked weights' gradients by their masks.
    fn mask_gradients(
        &self,
        grads: &mut candle_core::backprop::GradStore,
    ) -> Result<(), TrainError> {
        for (var, mask) in &self.0 {
            if let Some(g) = grads.get(var.as_tensor()) {
                let masked = g.mul(mask)?;
                grads.insert(var.as_tensor(), masked);
            }
        }
        Ok(())
    }
}

/// Trains `network` (its current parameters are the starting point: seeded or loaded by the
/// caller) on `split.train`, evaluating on `split.test` after each epoch, and writes the
/// trained parameters back into `network`. After each epoch the network is written atomically
/// to `checkpoint` when given (see [`crate::checkpoint`]). On a non-finite loss or gradient it
/// stops with [`TrainError::Diverged`]; `network` then keeps its last complete epoch's values.
pub fn train(
    network: &mut Network,
    split: &Split,
    config: &TrainConfig,
    checkpoint: Option<&Path>,
) -> Result<TrainReport, TrainError> {
    train_pruned(network, split, config, checkpoint, None)
}

/// [`train`] with sub-block pruning (see [`crate::prune`]): at the start of each epoch of
/// [`schedule`]`(config.epochs)` more blocks of `pruning` are pruned by magnitude, and the mask
/// is held fixed (pruned weights exactly 0 after every step); every network written back
/// (checkpoints, the result) carries the mask ([`Pruning::apply`]).
pub fn train_pruned(
    network: &mut Network,
    split: &Split,
    config: &TrainConfig,
    checkpoint: Option<&Path>,
    mut pruning: Option<&mut Pruning>,
) -> Result<TrainReport, TrainError> {
    config.check()?;
    let steps = if pruning.is_some() {
        schedule(config.epochs)
    } else {
        Vec::new()
    };
    let start = Instant::now();
    let device = Device::Cpu;
    let mut mirror = Mirror::new(network, &device, config.fold_norms)?;
    mirror.set_range_penalty(config.range_penalty, config.range_bound);
    let mut masks = match pruning.as_deref() {
        Some(p) => {
            let m = MirrorMasks::new(&mirror, p, &device)?;
            m.apply()?;
            Some(m)
        }
        None => None,
    };
    let vars = mirror.variables();
    let mut optimizer = AdamW::new(
        vars,
        ParamsAdamW {
            lr: config.learning_rate,
            weight_decay: config.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let train = &split.train;
    let batches = train.len().div_ceil(config.batch_size);
    let total_steps = (batches * config.epochs) as u64;
    let bar = progress_bar(total_steps, config.progress);
    let mut step = 0u64;
    let mut batch_losses = Vec::with_capacity(total_steps as usize);
    let mut epochs = Vec::with_capacity(config.epochs);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let augment = Augment {
        shift: config.shift,
        flip: config.flip,
    };
    for epoch in 1..=config.epochs {
        let epoch_start = Instant::now();
        bar.set_prefix(format!("epoch {epoch}/{}", config.epochs));
        if let (Some(p), Some(&(_, fraction))) = (
            pruning.as_deref_mut(),
            steps.iter().find(|(e, _)| *e == epoch),
        ) {
            // magnitudes of the exported (batch-norm-folded) weights, what the compiler sees
            mirror.write_into(network)?;
            p.step(network, fraction);
            let m = MirrorMasks::new(&mirror, p, &device)?;
            m.apply()?;
            masks = Some(m);
        }
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        for (b, chunk) in order.chunks(config.batch_size).enumerate() {
            let progress = step as f64 / total_steps.max(1) as f64;
            let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
            optimizer.set_learning_rate(config.learning_rate * (0.05 + 0.95 * cosine));
            let (x, y) = train.batch(chunk, Some((&mut rng, augment)), &device)?;
            let logits = mirror.forward(&x, true)?;
            let ce = candle_nn::loss::cross_entropy(&logits, &y)?;
            let ce_value = ce.to_scalar::<f32>()?;
            if !ce_value.is_finite() {
                return Err(TrainError::Diverged {
                    quantity: "loss",
                    value: ce_value,
                    epoch,
                    batch: b + 1,
                });
            }
            // The range penalty enters through the activations' backward pass.
            let mut grads = ce.backward()?;
            if let Some(m) = &masks {
                m.mask_gradients(&mut grads)?;
            }
            let norm = clip_gradients(&mirror, &mut grads, config.clip_norm)?;
            if !norm.is_finite() {
                return Err(TrainError::Diverged {
                    quantity: "gradient norm",
                    value: norm as f32,
                    epoch,
                    batch: b + 1,
                });
            }
            optimizer.step(&grads)?;
            if let Some(m) = &masks {
                m.apply()?;
            }
            let predicted = logits.argmax(1)?.to_vec1::<u32>()?;
            correct += chunk
                .iter()
                .zip(&predicted)
                .filter(|(&i, &p)| train.labels[i] == p)
                .count();
            loss_sum += f64::from(ce_value);
            batch_losses.push(ce_value);
            step += 1;
            bar.inc(1);
            bar.set_message(format!(
                "loss {:.4} acc {:.2}%",
                loss_sum / (b + 1) as f64,
                100.0 * correct as f64 / ((b * config.batch_size) + chunk.len()) as f64
            ));
        }
        let test_accuracy = accuracy(&mirror, &split.test, &device)?;
        mirror.write_into(network)?;
        if let Some(p) = pruning.as_deref() {
            p.apply(network);
        }
        if let Some(path) = checkpoint {
            save_atomic(network, path)?;
        }
        let report = EpochReport {
            epoch,
            loss: loss_sum / batches as f64,
            running_accuracy: correct as f64 / train.len() as f64,
            test_accuracy,
            seconds: epoch_start.elapsed().as_secs_f64(),
        };
        bar.println(format!(
            "epoch {epoch}/{}: loss {:.4}, train (running) {:.2}%, test {:.2}%, {:.1} s",
            config.epochs,
            report.loss,
            100.0 * report.running_accuracy,
            100.0 * report.test_accuracy,
            report.seconds
        ));
        epochs.push(report);
    }
    bar.finish_and_clear();
    let train_accuracy = accuracy(&mirror, train, &device)?;
    let test_accuracy = epochs.last().map_or(0.0, |e| e.test_accuracy);
    Ok(TrainReport {
        epochs,
        batch_losses,
        train_accuracy,
        test_accuracy,
        seconds: start.elapsed().as_secs_f64(),
        pruning: pruning.as_deref().map(Pruning::report).unwrap_or_default(),
    })
}
