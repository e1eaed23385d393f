//! Weights: deterministic seeded initialization, and safetensors files (the format PyTorch
//! users export with the `safetensors` package's `safetensors.torch.save_file(state_dict,
//! path)`; that export is not exercised here, torch is not installed: the tests build such
//! files with the Rust `safetensors` crate instead, F32 with PyTorch's names and counters).
//!
//! Tensor names are PyTorch `state_dict` names (see [`Network::parameters`]):
//! `{module}.weight` / `{module}.bias` for convolutions (`[out, in/groups, k, k]`) and fully
//! connected layers (`[out, in]`); `{module}.weight` (gamma), `.bias` (beta), `.running_mean`,
//! `.running_var` (each `[C]`) for batch norms; `{module}.a`, `.b`, `.c` (scalars, shape `[]`;
//! `[1]` is accepted too) for polynomial activations `a x^2 + b x + c`. Module names are those
//! of the zoo (e.g. `conv1`, `layer2.0.shortcut.0`, `fc`). PyTorch's `*.num_batches_tracked`
//! counters are ignored. Values are read from `F32` or `F64` tensors (little-endian, row-major)
//! and must be finite.
//!
//! **Pruning masks.** A convolution trained with sub-block pruning (`heaccel train --prune`)
//! has a `{module}.weight_mask` tensor beside its weight (PyTorch's `torch.nn.utils.prune`
//! name): the weight's shape `[out, in/groups, k, k]`, every value exactly 0 (pruned) or 1
//! (kept), dtype `F32` or `F64` (written in the weights' dtype), `U8` or `BOOL` (read too).
//! Loading sets [`Conv2d::weight_mask`](super::Conv2d::weight_mask) (to `None` for
//! convolutions without a mask in the file) and zeroes the weights the mask prunes; the
//! compiler then prunes exactly that mask. Masks are optional and only convolutions have one:
//! a mask for a layer the network does not have is an unexpected tensor, one of another shape
//! a shape error, each naming the file and the tensor.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use thiserror::Error;

use super::ir::{FeatureMap, Layer, Network, ParameterRole, Shape};
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

/// 64-bit FNV-1a of `bytes`: the ChaCha stream of a tensor name.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Uniform in `[-1, 1)` with 53 random bits.
fn uniform_symmetric(rng: &mut ChaCha20Rng) -> f64 {
    ((rng.next_u64() >> 11) as f64) * (2.0 / (1u64 << 53) as f64) - 1.0
}

/// Fills every parameter deterministically from `seed`. Each tensor draws from its own stream:
/// ChaCha20 seeded by `seed` (`seed_from_u64`) with stream = FNV-1a-64 of the tensor name, so a
/// tensor's values depend only on the seed and its name. `u` below is uniform in `[-1, 1)`
/// (53 bits: `(next_u64 >> 11) * 2^-52 - 1`).
///
/// - weights: `u * sqrt(3 / fan_in)` (variance `1 / fan_in`, LeCun's rule). With the default
///   polynomial `(x + 2)^2 / 8`, a pre-activation of second moment `s` gives the next one
///   `(3 s^2 + 24 s + 16) / 64`, which has the stable fixed point `s ~ 0.41`: activations stay
///   O(1) through depth (He's variance `2 / fan_in` has no fixed point with this polynomial
///   and grows).
/// - biases: `0.05 u`.
/// - batch norm: gamma `1 + 0.2 u`, beta `0.1 u`, running mean `0.1 u`, running variance
///   `1 + 0.2 u` (so folding is not trivial but stays tame).
/// - polynomial coefficients: left as they are (the architecture's defaults).
pub fn init_seeded(network: &mut Network, seed: u64) {
    for parameter in network.parameters_mut() {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        rng.set_stream(fnv1a(parameter.name.as_bytes()));
        let sample: Box<dyn Fn(f64) -> f64> = match parameter.role {
            ParameterRole::Weight { fan_in } => {
                let bound = (3.0 / fan_in.max(1) as f64).sqrt();
                Box::new(move |u| bound * u)
            }
            ParameterRole::Bias => Box::new(|u| 0.05 * u),
            ParameterRole::BatchNormGamma | ParameterRole::BatchNormVar => {
                Box::new(|u| 1.0 + 0.2 * u)
            }
            ParameterRole::BatchNormBeta | ParameterRole::BatchNormMean => Box::new(|u| 0.1 * u),
            ParameterRole::PolyCoefficient => continue,
        };
        for v in parameter.values.iter_mut() {
            *v = sample(uniform_symmetric(&mut rng));
        }
    }
}

/// A deterministic input of `shape`, uniform in `[-1, 1)` (normalized pixels): ChaCha20
/// seeded by `seed`, stream 0, values in CHW row-major order drawn as in [`init_seeded`].
pub fn seeded_input(shape: Shape, seed: u64) -> FeatureMap {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let data = (0..shape.len())
        .map(|_| uniform_symmetric(&mut rng))
        .collect();
    FeatureMap::new(shape, data).unwrap_or_else(|_| FeatureMap::zeros(shape))
}

const MEMORY: &str = "<memory>";

/// Reads a safetensors file into `network`'s parameters (see the module docs for names,
/// shapes and dtypes). All-or-nothing: on any error the network is unchanged.
///
/// Errors, in this order: the file cannot be read or parsed; the network is invalid; tensors
/// missing (all listed); unexpected tensors (all listed; `*.num_batches_tracked` is ignored);
/// per tensor in file order, a wrong dtype or shape, a non-finite value or a negative variance.
///
/// The file is refused by its size before it is read when larger than
/// [`max_file_bytes`] of the network's parameter count (plus one batch-norm counter each and
/// one mask value per convolution weight).
pub fn load_safetensors(network: &mut Network, path: &Path) -> Result<(), WeightsError> {
    let parameters = network.parameters();
    let counters = parameters
        .iter()
        .filter(|p| p.role == ParameterRole::BatchNormMean)
        .count();
    let values = parameters
        .iter()
        .map(|p| p.values.len())
        .chain(mask_shapes(network).into_values().map(|(_, len)| len))
        .fold(counters, usize::saturating_add);
    let bytes = read_limited(path, max_file_bytes(values))?;
    load_safetensors_bytes(network, &bytes, path)
}

/// The safetensors format's largest header (the `safetensors` crate refuses larger ones).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// The largest safetensors file read for `values` tensor values: the 8-byte header length,
/// [`MAX_HEADER_BYTES`] of header and 8 bytes (F64) per value; saturating.
pub fn max_file_bytes(values: usize) -> u64 {
    (values as u64)
        .saturating_mul(8)
        .saturating_add(8 + MAX_HEADER_BYTES)
}

/// The bytes of `path`, refused (naming the file, the size and the limit) when larger than
/// `limit`: by its size before reading for a regular file, else after `limit + 1` bytes.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, WeightsError> {
    use std::io::Read;
    let io = |error| WeightsError::Io {
        file: path.to_path_buf(),
        error,
    };
    let too_large = |size: String| WeightsError::Format {
        file: path.to_path_buf(),
        message: format!(
            "{size} bytes, more than the {limit} a file of these tensors can hold (8 bytes per \
             value and a header of at most {MAX_HEADER_BYTES} bytes)"
        ),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_file() && meta.len() > limit {
        return Err(too_large(meta.len().to_string()));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(format!("at least {}", bytes.len())));
    }
    Ok(bytes)
}

/// [`load_safetensors`] from bytes in memory; `file` names them in errors.
pub fn load_safetensors_bytes(
    network: &mut Network,
    bytes: &[u8],
    file: &Path,
) -> Result<(), WeightsError> {
    let file = file.to_path_buf();
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format {
        file: file.clone(),
        message: e.to_string(),
    })?;
    network.shapes().map_err(|error| WeightsError::Network {
        file: file.clone(),
        error,
    })?;

    let expected: BTreeMap<String, (Vec<usize>, ParameterRole)> = network
        .parameters()
        .into_iter()
        .map(|p| (p.name, (p.shape, p.role)))
        .collect();
    let mask_shapes = mask_shapes(network);
    let (masks_in_file, in_file): (BTreeMap<String, TensorView<'_>>, BTreeMap<_, _>) = tensors
        .tensors()
        .into_iter()
        .filter(|(name, _)| !name.ends_with(".num_batches_tracked"))
        .partition(|(name, _)| mask_shapes.contains_key(name));

    let missing: Vec<String> = expected
        .keys()
        .filter(|n| !in_file.contains_key(*n))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(WeightsError::Missing {
            file,
            network: network.name.clone(),
            names: missing,
        });
    }
    let unexpected: Vec<String> = in_file
        .keys()
        .filter(|n| !expected.contains_key(*n))
        .cloned()
        .collect();
    if !unexpected.is_empty() {
        return Err(WeightsError::Unexpected {
            file,
            network: network.name.clone(),
            names: unexpected,
        });
    }

    let mut values: HashMap<String, Vec<f64>> = HashMap::with_capacity(in_file.len());
    for (name, view) in &in_file {
        let (shape, role) = &expected[name];
        let scalar_as_one = shape.is_empty() && view.shape() == [1];
        if view.shape() != shape.as_slice() && !scalar_as_one {
            return Err(WeightsError::Shape {
                file,
                name: name.clone(),
                expected: shape.clone(),
                got: view.shape().to_vec(),
            });
        }
        let data = decode(view).ok_or_else(|| WeightsError::Dtype {
            file: file.clone(),
            name: name.clone(),
            got: format!("{:?}", view.dtype()),
        })?;
        let want_len = shape.iter().product::<usize>();
        if data.len() != want_len {
            return Err(WeightsError::Format {
                file,
                message: format!(
                    "tensor '{name}' holds {} values, its shape needs {want_len}",
                    data.len()
                ),
            });
        }
        if let Some((index, &value)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(WeightsError::NonFinite {
                file,
                name: name.clone(),
                index,
                value,
            });
        }
        if *role == ParameterRole::BatchNormVar {
            if let Some((index, &value)) = data.iter().enumerate().find(|(_, v)| **v < 0.0) {
                return Err(WeightsError::NegativeVariance {
                    file,
                    name: name.clone(),
                    index,
                    value,
                });
            }
        }
        values.insert(name.clone(), data);
    }
    let mut masks: HashMap<String, Vec<bool>> = HashMap::with_capacity(masks_in_file.len());
    for (name, view) in &masks_in_file {
        let (shape, _) = &mask_shapes[name];
        if view.shape() != shape.as_slice() {
            return Err(WeightsError::Shape {
                file,
                name: name.clone(),
                expected: shape.clone(),
                got: view.shape().to_vec(),
            });
        }
        let data = decode_mask(view).ok_or_else(|| WeightsError::Dtype {
            file: file.clone(),
            name: name.clone(),
            got: format!("{:?} (a mask: F32, F64, U8 or BOOL)", view.dtype()),
        })?;
        let mut mask = Vec::with_capacity(data.len());
        for (index, &value) in data.iter().enumerate() {
            if value != 0.0 && value != 1.0 {
                return Err(WeightsError::MaskValue {
                    file,
                    name: name.clone(),
                    index,
                    value,
                });
            }
            mask.push(value == 1.0);
        }
        masks.insert(name.clone(), mask);
    }

    for parameter in network.parameters_mut() {
        if let Some(data) = values.remove(&parameter.name) {
            parameter.values.copy_from_slice(&data);
        }
    }
    network.visit_layers_mut(|_, layer| {
        if let Layer::Conv2d(conv) = layer {
            conv.weight_mask = masks.remove(&mask_name(&conv.name));
            if let Some(mask) = &conv.weight_mask {
                for (w, &keep) in conv.weight.iter_mut().zip(mask) {
                    if !keep {
                        *w = 0.0;
                    }
                }
            }
        }
    });
    Ok(())
}

/// The name of a convolution's pruning-mask tensor: `{module}.weight_mask`.
pub fn mask_name(module: &str) -> String {
    format!("{module}.weight_mask")
}

/// Every convolution's mask tensor name with its shape and length.
fn mask_shapes(network: &Network) -> BTreeMap<String, (Vec<usize>, usize)> {
    let mut out = BTreeMap::new();
    network.visit_layers(|_, layer| {
        if let Layer::Conv2d(conv) = layer {
            let shape = conv.weight_shape().to_vec();
            let len = shape.iter().product();
            out.insert(mask_name(&conv.name), (shape, len));
        }
    });
    out
}

/// A mask tensor's values: [`decode`]'s dtypes, `U8` and `BOOL` (one byte each).
fn decode_mask(view: &TensorView<'_>) -> Option<Vec<f64>> {
    match view.dtype() {
        Dtype::U8 | Dtype::BOOL => Some(view.data().iter().map(|&b| f64::from(b)).collect()),
        _ => decode(view),
    }
}

/// Name of the tensor [`load_input_safetensors`] reads.
pub const INPUT_TENSOR: &str = "input";

/// Reads a network input from a safetensors file holding exactly one tensor, named
/// [`INPUT_TENSOR`] (`input`), `F32` or `F64`, of shape `[C, H, W]` = `shape` (or
/// `[1, C, H, W]`, a batch of one), CHW row-major, finite values.
///
/// Errors name the file and the tensor: unreadable or invalid file, `input` missing, other
/// tensors present, wrong shape or dtype, a non-finite value.
///
/// The file is refused by its size before it is read when larger than [`max_file_bytes`] of
/// `shape`'s values.
pub fn load_input_safetensors(path: &Path, shape: Shape) -> Result<FeatureMap, WeightsError> {
    let bytes = read_limited(path, max_file_bytes(shape.len()))?;
    load_input_safetensors_bytes(&bytes, path, shape)
}

/// [`load_input_safetensors`] from bytes in memory; `file` names them in errors.
pub fn load_input_safetensors_bytes(
    bytes: &[u8],
    file: &Path,
    shape: Shape,
) -> Result<FeatureMap, WeightsError> {
    let file = file.to_path_buf();
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let mut names: Vec<String> = tensors.names().into_iter().map(String::from).collect();
    names.sort();
    let unexpected: Vec<String> = names
        .iter()
        .filter(|n| *n != INPUT_TENSOR)
        .cloned()
        .collect();
    if !names.iter().any(|n| n == INPUT_TENSOR) {
        return Err(WeightsError::Missing {
            file,
            network: "input".into(),
            names: vec![INPUT_TENSOR.into()],
        });
    }
    if !unexpected.is_empty() {
        return Err(WeightsError::Unexpected {
            file,
            network: "input".into(),
            names: unexpected,
        });
    }
    let view = tensors
        .tensor(INPUT_TENSOR)
        .map_err(|e| WeightsError::Format {
            file: file.clone(),
            message: e.to_string(),
        })?;
    let chw = vec![shape.channels, shape.height, shape.width];
    let batched = [&[1usize][..], &chw].concat();
    if view.shape() != chw.as_slice() && view.shape() != batched.as_slice() {
        return Err(WeightsError::Shape {
            file,
            name: INPUT_TENSOR.into(),
            expected: chw,
            got: view.shape().to_vec(),
        });
    }
    let data = decode(&view).ok_or_else(|| WeightsError::Dtype {
        file: file.clone(),
        name: INPUT_TENSOR.into(),
        got: format!("{:?}", view.dtype()),
    })?;
    if let Some((index, &value)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(WeightsError::NonFinite {
            file,
            name: INPUT_TENSOR.into(),
            index,
            value,
        });
    }
    FeatureMap::new(shape, data).map_err(|e| WeightsError::Format {
        file,
        message: e.to_string(),
    })
}

/// An input as a safetensors file image: one `F64` tensor `input` of shape `[C, H, W]`.
pub fn input_to_safetensors_bytes(input: &FeatureMap) -> Vec<u8> {
    let s = input.shape();
    let bytes: Vec<u8> = input.data().iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = TensorView::new(Dtype::F64, vec![s.channels, s.height, s.width], &bytes)
        .expect("length matches the shape");
    safetensors::serialize([(INPUT_TENSOR, view)], None).expect("one valid tensor")
}

/// Little-endian F32 or F64 data as `f64`; `None` for other dtypes. The length was checked by
/// the parser against the shape.
fn decode(view: &TensorView<'_>) -> Option<Vec<f64>> {
    let bytes = view.data();
    match view.dtype() {
        Dtype::F32 => Some(
            bytes
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
        Dtype::F64 => Some(
            bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        _ => None,
    }
}

/// The network's parameters as a safetensors file image (every tensor of
/// [`Network::parameters`], in `dtype`, and `{module}.weight_mask` (0/1, in `dtype`) of every
/// convolution with a [`Conv2d::weight_mask`](super::Conv2d::weight_mask); metadata
/// `format = pt`, `network = <name>`).
pub fn to_safetensors_bytes(
    network: &Network,
    dtype: WeightDtype,
) -> Result<Vec<u8>, WeightsError> {
    to_bytes(network, dtype, Path::new(MEMORY))
}

/// Writes the network's parameters to a safetensors file (see [`to_safetensors_bytes`]).
pub fn save_safetensors(
    network: &Network,
    path: &Path,
    dtype: WeightDtype,
) -> Result<(), WeightsError> {
    let bytes = to_bytes(network, dtype, path)?;
    std::fs::write(path, bytes).map_err(|error| WeightsError::Io {
        file: path.to_path_buf(),
        error,
    })
}

fn to_bytes(network: &Network, dtype: WeightDtype, file: &Path) -> Result<Vec<u8>, WeightsError> {
    network.shapes().map_err(|error| WeightsError::Network {
        file: file.to_path_buf(),
        error,
    })?;
    let parameters = network.parameters();
    let encoded: Vec<(String, Vec<usize>, Vec<u8>)> = parameters
        .into_iter()
        .map(|p| {
            let bytes = match dtype {
                WeightDtype::F32 => p
                    .values
                    .iter()
                    .flat_map(|&v| (v as f32).to_le_bytes())
                    .collect(),
                WeightDtype::F64 => p.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            };
            (p.name, p.shape, bytes)
        })
        .collect();
    let mut encoded = encoded;
    network.visit_layers(|_, layer| {
        if let Layer::Conv2d(conv) = layer {
            if let Some(mask) = &conv.weight_mask {
                let bytes = mask
                    .iter()
                    .flat_map(|&keep| {
                        let v = if keep { 1.0 } else { 0.0 };
                        match dtype {
                            WeightDtype::F32 => (v as f32).to_le_bytes().to_vec(),
                            WeightDtype::F64 => f64::to_le_bytes(v).to_vec(),
                        }
                    })
                    .collect();
                encoded.push((mask_name(&conv.name), conv.weight_shape().to_vec(), bytes));
            }
        }
    });
    let st_dtype = match dtype {
        WeightDtype::F32 => Dtype::F32,
        WeightDtype::F64 => Dtype::F64,
    };
    let format_error = |e: safetensors::SafeTensorError| WeightsError::Format {
        file: file.to_path_buf(),
        message: e.to_string(),
    };
    let views = encoded
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(st_dtype, shape.clone(), bytes).map(|view| (name.as_str(), view))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(format_error)?;
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("network".to_string(), network.name.clone()),
    ]);
    safetensors::serialize(views, Some(metadata)).map_err(format_error)
}
