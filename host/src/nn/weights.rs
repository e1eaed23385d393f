//! Weights: deterministic seeded initialization, and safetensors files (the format PyTorch
//! users export with the `safetensors` package's `safetensors.torch.save_file(state_dict,
//! path)`; that export is not exercised here, torch is not installed: the tests build such
//! files with the Rust `safetensors` crate instead, F32 with PyTorch's names and counters).
//!
//! Tensor names are PyTorch `state_dict` names (see
//! [`Network::parameters`](super::Network::parameters)): `{module}.weight` / `{module}.bias` for
//! convolutions (`[out, in/groups, k, k]`) and fully connected layers (`[out, in]`);
//! `{module}.weight` (gamma), `.bias` (beta), `.running_mean`, `.running_var` (each `[C]`) for
//! batch norms; `{module}.a`, `.b`, `.c` (scalars, shape `[]`; `[1]` is accepted too) for
//! polynomial activations `a x^2 + b x + c`. Module names are those of the zoo (e.g. `conv1`,
//! `layer2.0.shortcut.0`, `fc`). PyTorch's `*.num_batches_tracked` counters are ignored. Values are
//! read from `F32` or `F64` tensors (little-endian, row-major) and must be finite.
//!
//! **Pruning masks.** A convolution trained with sub-block pruning (`heaccel train --prune`)
//! has a `{module}.weight_mask` tensor beside its weight (PyTorch's `torch.nn.utils.prune`
//! name): the weight's shape `[out, in/groups, k, k]`, every value exactly 0 (pruned) or 1
//! (kept), dtype `F32` or `F64` (written in the weights' dtype), `U8` or `BOOL` (read too).
//! Loading sets [`Conv2d::weight_mask`](super::Conv2d::weight_mask) (to `None` for
//! convolutions without a mask in the file) and zeroes the weights the mask prunes; the
//! compiler then prunes exactly that mask. Masks are optional and only convolutions have one:
//! a mask for a layer the network does not have is an unexpected tensor, one of another shape
//! a shape error, each naming the file and the tensor.//!
//! One concern a file: the errors and the dtype (here), seeded initialization (`seeded`),
//! loading weights and masks (`load`), network inputs (`input`), saving (`save`), and the size
//! limit and tensor decoding loading and inputs share (`read`).

mod input;
mod load;
mod read;
mod save;
mod seeded;

pub use input::{
    input_to_safetensors_bytes, load_input_safetensors, load_input_safetensors_bytes, INPUT_TENSOR,
};
pub use load::{load_safetensors, load_safetensors_bytes, mask_name};
pub use read::{max_file_bytes, MAX_HEADER_BYTES};
pub use save::{save_safetensors, to_safetensors_bytes};
pub use seeded::{init_seeded, seeded_input};

use std::path::PathBuf;

use thiserror::Error;

use super::NnError;

/// Errors of reading and writing weight files. Each names the file (`<memory>` for byte
/// buffers) and, where there is one, the tensor.
#[derive(Debug, Error)]
pub enum WeightsError {
    /// Reading or writing the file failed.
    #[error("{file}: {error}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error (in the message, not a separate cause, so it is printed once).
        error: std::io::Error,
    },
    /// Not a valid safetensors file (header, offsets, JSON).
    #[error("{file}: not a valid safetensors file: {message}")]
    Format {
        /// The file.
        file: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The network itself is invalid.
    #[error("{file}: {error}")]
    Network {
        /// The file.
        file: PathBuf,
        /// The network's error (in the message, printed once).
        error: NnError,
    },
    /// Tensors the network needs are not in the file.
    #[error("{file}: missing tensors for network '{network}': {}", names.join(", "))]
    Missing {
        /// The file.
        file: PathBuf,
        /// Network name.
        network: String,
        /// The missing tensor names, sorted.
        names: Vec<String>,
    },
    /// Tensors in the file that the network does not have.
    #[error("{file}: unexpected tensors for network '{network}': {}", names.join(", "))]
    Unexpected {
        /// The file.
        file: PathBuf,
        /// Network name.
        network: String,
        /// The unexpected tensor names, sorted.
        names: Vec<String>,
    },
    /// A tensor has the wrong shape.
    #[error("{file}: tensor '{name}' has shape {got:?}, expected {expected:?}")]
    Shape {
        /// The file.
        file: PathBuf,
        /// Tensor name.
        name: String,
        /// The network's shape.
        expected: Vec<usize>,
        /// The file's shape.
        got: Vec<usize>,
    },
    /// A tensor has an unsupported element type.
    #[error("{file}: tensor '{name}' has dtype {got}, expected F32 or F64")]
    Dtype {
        /// The file.
        file: PathBuf,
        /// Tensor name.
        name: String,
        /// The file's dtype.
        got: String,
    },
    /// A tensor holds NaN or an infinity.
    #[error(
        "{file}: tensor '{name}' value {index} (row-major) is {value}, expected a finite number"
    )]
    NonFinite {
        /// The file.
        file: PathBuf,
        /// Tensor name.
        name: String,
        /// Row-major element index.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A pruning mask holds a value other than 0 or 1.
    #[error(
        "{file}: tensor '{name}' value {index} (row-major) is {value}, expected 0 (pruned) or 1 \
         (kept)"
    )]
    MaskValue {
        /// The file.
        file: PathBuf,
        /// Tensor name.
        name: String,
        /// Row-major element index.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A batch-norm running variance is negative.
    #[error("{file}: tensor '{name}' value {index} is {value}, expected a variance >= 0")]
    NegativeVariance {
        /// The file.
        file: PathBuf,
        /// Tensor name.
        name: String,
        /// Element index.
        index: usize,
        /// The value.
        value: f64,
    },
}

/// Element type of written tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightDtype {
    /// 32-bit floats (what PyTorch models usually hold; values are rounded to nearest).
    F32,
    /// 64-bit floats (exact).
    F64,
}
