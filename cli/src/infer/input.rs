//! Input files of `heaccel infer --input`: safetensors or JSON (nested arrays or a flat one),
//! read into a feature map of the network's input shape.

use std::path::Path;

use anyhow::{bail, Context, Result};
use heaccel_host::nn::weights::load_input_safetensors_bytes;
use heaccel_host::nn::{FeatureMap, Shape};

/// Reads an input file (see the [`infer`](crate::infer) module docs) of the network's input
/// `shape`.
pub fn load_input(path: &Path, shape: Shape) -> Result<FeatureMap> {
    if path.extension().is_some_and(|e| e == "json") {
        let text = crate::input::read_text(path, "input file", crate::input::MAX_INPUT_BYTES)?;
        parse_input_json(&text, &path.display().to_string(), shape)
    } else {
        let bytes = crate::input::read_bytes(path, "input file", crate::input::MAX_INPUT_BYTES)?;
        Ok(load_input_safetensors_bytes(&bytes, path, shape)?)
    }
}

/// Parses a JSON input (`{"input": ...}`: nested `[C][H][W]` arrays, `[1][C][H][W]`, or a
/// flat array of `C H W` numbers) of the network's input `shape`; `source` names it in errors.
pub fn parse_input_json(text: &str, source: &str, shape: Shape) -> Result<FeatureMap> {
    let v: serde_json::Value =
        serde_json::from_str(text).with_context(|| format!("{source}: not valid JSON"))?;
    let Some(values) = v.get("input") else {
        bail!(
            "{source}: expected an object with the field `input` (nested [C][H][W] arrays or a \
             flat array)"
        );
    };
    let mut dims = Vec::new();
    let mut data = Vec::new();
    flatten_json(values, 0, &mut dims, &mut data)
        .map_err(|e| anyhow::anyhow!("{source}: field `input`: {e}"))?;
    let chw = vec![shape.channels, shape.height, shape.width];
    let ok = dims == chw || dims == [&[1][..], &chw].concat() || dims == [shape.len()];
    if !ok {
        bail!(
            "{source}: field `input` has shape {dims:?}, expected {chw:?} (or [1, ...], or a \
             flat array of {})",
            shape.len()
        );
    }
    Ok(FeatureMap::new(shape, data)?)
}

/// Flattens nested JSON arrays of numbers, recording the shape (every sub-array of a level
/// must have the same length).
fn flatten_json(
    v: &serde_json::Value,
    depth: usize,
    dims: &mut Vec<usize>,
    out: &mut Vec<f64>,
) -> std::result::Result<(), String> {
    match v {
        serde_json::Value::Array(items) => {
            if dims.len() == depth {
                dims.push(items.len());
            } else if dims.get(depth) != Some(&items.len()) {
                return Err(match dims.get(depth) {
                    Some(first) => format!(
                        "ragged arrays: a level-{depth} array has {} items where the first had \
                         {first}",
                        items.len()
                    ),
                    None => format!(
                        "ragged arrays: an array at level {depth} where others hold numbers"
                    ),
                });
            }
            items
                .iter()
                .try_for_each(|x| flatten_json(x, depth + 1, dims, out))
        }
        serde_json::Value::Number(n) => {
            if dims.len() != depth {
                return Err("numbers and arrays mixed at one level".into());
            }
            let x = n.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                format!("value {} (index {}) is not a finite number", n, out.len())
            })?;
            out.push(x);
            Ok(())
        }
        other => Err(format!(
            "value {} (index {}) is not a number",
            other,
            out.len()
        )),
    }
}
