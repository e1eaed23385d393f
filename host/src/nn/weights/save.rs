//! Writing a network's parameters (and pruning masks) as safetensors, in `F32` or `F64`.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use super::{mask_name, WeightDtype, WeightsError};
use crate::nn::ir::{Layer, Network};

const MEMORY: &str = "<memory>";

/// The network's parameters as a safetensors file image (every tensor of
/// [`Network::parameters`], in `dtype`, and `{module}.weight_mask` (0/1, in `dtype`) of every
/// convolution with a [`Conv2d::weight_mask`](crate::nn::Conv2d::weight_mask); metadata
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
