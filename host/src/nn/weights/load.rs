//! Loading a network's parameters (and convolutions' pruning masks) from safetensors, checked
//! all-or-nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use super::read::{decode, max_file_bytes, read_limited};
use super::WeightsError;
use crate::nn::ir::{Layer, Network, ParameterRole};

/// Reads a safetensors file into `network`'s parameters (see the
/// [`weights`](crate::nn::weights) module docs for names, shapes and dtypes). All-or-nothing: on
/// any error the network is unchanged.
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
