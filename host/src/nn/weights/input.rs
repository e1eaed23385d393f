//! Network inputs as safetensors: reading one `input` tensor of the network's input shape, and
//! writing one.

use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use super::read::{decode, max_file_bytes, read_limited};
use super::WeightsError;
use crate::nn::ir::{FeatureMap, Shape};

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
