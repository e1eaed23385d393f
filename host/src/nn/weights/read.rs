//! Reading safetensors bytes, shared by weights and inputs: the file-size limit and decoding
//! `F32`/`F64` tensors to `f64`.

use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};

use super::WeightsError;

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
pub(super) fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, WeightsError> {
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

/// Little-endian F32 or F64 data as `f64`; `None` for other dtypes. The length was checked by
/// the parser against the shape.
pub(super) fn decode(view: &TensorView<'_>) -> Option<Vec<f64>> {
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
