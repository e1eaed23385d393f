//! The errors of training. Every variant names what was wrong (file, option, layer, tensor) and
//! what was expected; nothing in this crate panics on user input.

use std::path::PathBuf;

use heaccel_host::accuracy::AccuracyError;
use heaccel_host::data::DataError;
use heaccel_host::nn::{NnError, WeightsError};
use thiserror::Error;

/// Errors of [`crate::train`] and its helpers.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A training option is out of range (`--lr`, `--epochs`, `--prune`, ...).
    #[error("option `{field}` = {value}: expected {expected}")]
    Config {
        /// The option (`lr`, `epochs`, `batch_size`, `prune`, ...).
        field: &'static str,
        /// The value given, as text.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// The network cannot be trained yet (a zoo network without a dataset or trainer support).
    #[error("model `{model}`: not yet trainable: {reason}")]
    Unsupported {
        /// The network's name.
        model: String,
        /// What is missing.
        reason: String,
    },
    /// A layer kind the candle mirror does not build (residual blocks, downsampling).
    #[error("network '{network}': layer {path} ({kind}) is not supported by the trainer yet")]
    UnsupportedLayer {
        /// Network name.
        network: String,
        /// The layer's path in the network ([`heaccel_host::nn::LayerLocation::path`]).
        path: String,
        /// The layer's kind.
        kind: &'static str,
    },
    /// The dataset cannot be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The dataset was read but does not fit training (wrong format, too few images, labels
    /// the network cannot output).
    #[error("{path}: {problem}")]
    Dataset {
        /// The dataset's folder or file.
        path: PathBuf,
        /// What was found and what is expected.
        problem: String,
    },
    /// The host network is invalid.
    #[error(transparent)]
    Network(#[from] NnError),
    /// Reading or writing a weights or checkpoint file failed.
    #[error(transparent)]
    Weights(#[from] WeightsError),
    /// The host's plaintext check of the exported network failed.
    #[error(transparent)]
    Accuracy(#[from] AccuracyError),
    /// Renaming a finished temporary file into place failed.
    #[error("{file}: {error}")]
    Io {
        /// The file being written.
        file: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The loss or the gradient became NaN or infinite: training diverged (lower the
    /// learning rate).
    #[error(
        "training diverged: the {quantity} is {value} at epoch {epoch}, batch {batch} (lower \
         the learning rate; the last complete checkpoint, if any, is kept)"
    )]
    Diverged {
        /// `loss` or `gradient norm`.
        quantity: &'static str,
        /// The value (NaN or an infinity).
        value: f32,
        /// The epoch, from 1.
        epoch: usize,
        /// The minibatch within the epoch, from 1.
        batch: usize,
    },
    /// A tensor of the candle mirror does not match the host network's (an internal
    /// inconsistency, reported rather than panicking).
    #[error("tensor '{name}': {problem}")]
    Mirror {
        /// The `state_dict` name.
        name: String,
        /// What does not match.
        problem: String,
    },
    /// A pruning mask does not fit the compiler's blocks.
    #[error("pruning mask '{tensor}': {problem}")]
    Mask {
        /// The mask tensor's name (`{layer}.weight_mask`).
        tensor: String,
        /// What is wrong.
        problem: String,
    },
    /// The packing of the network (for the pruning blocks) failed.
    #[error(transparent)]
    Pack(#[from] heaccel_host::pack::PackError),
    /// Compiling or simulating a trained network failed (`heaccel tradeoff`).
    #[error(transparent)]
    Simulation(#[from] heaccel_host::netsim::NetsimError),
    /// The candle backend failed.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
}
