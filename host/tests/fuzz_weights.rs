//! Property-based fuzzing of the safetensors readers: network weights
//! ([`weights::load_safetensors`], from a file) and network inputs
//! ([`weights::load_input_safetensors_bytes`]). Inputs are valid files of a tiny network
//! (convolution, batch norm, polynomial activation, fully connected; input `(1, 4, 4)`) with
//! structured mutations of the JSON header (tensors dropped, duplicated and renamed; dtypes,
//! shapes and offsets changed and retyped; the header length kept or recomputed), byte edits
//! (truncation, flips, length fields overwritten) and random bytes.
//!
//! Each case asserts: no panic; no single allocation beyond
//! [`fuzz_support::allocation_limit`] of the file's length; on error, a message that starts
//! with the file's name (and names the tensor where one is at fault) and a network left
//! unchanged (all-or-nothing); on success, finite values and variances `>= 0`.

use heaccel_testkit as fuzz_support;

use std::path::{Path, PathBuf};

use heaccel_host::nn::weights::{self, WeightDtype, WeightsError};
use heaccel_host::nn::*;
use proptest::prelude::*;
use serde_json::{Map, Value};

#[global_allocator]
static ALLOCATOR: fuzz_support::Counting = fuzz_support::Counting;

/// Input shape of the tiny network.
const INPUT: Shape = Shape {
    channels: 1,
    height: 4,
    width: 4,
};

/// `conv1` 1->2 k3 p1, `bn1`, `act1`, flatten, `fc` 32->3: 11 tensors, 130 values.
fn tiny() -> Network {
    let mut network = Network {
        name: "tiny".to_string(),
        input_shape: INPUT,
        layers: vec![
            Layer::Conv2d(Conv2d::zeroed("conv1", 1, 2, 3, 1, 1, 1, true)),
            Layer::BatchNorm(BatchNorm::identity("bn1", 2)),
            Layer::Activation(ActivationLayer {
                name: "act1".to_string(),
                function: Activation::DEFAULT_POLY,
            }),
            Layer::Flatten,
            Layer::Linear(Linear::zeroed("fc", 32, 3, true)),
        ],
    };
    weights::init_seeded(&mut network, 7);
    network
}

/// Splits a safetensors file into its header (JSON) and data.
fn split(bytes: &[u8]) -> (Map<String, Value>, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header.as_object().unwrap().clone(), bytes[8 + n..].to_vec())
}

/// A safetensors file of `header` and `data` (header length recomputed).
fn join(header: &Map<String, Value>, data: &[u8]) -> Vec<u8> {
    let text = serde_json::to_vec(header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text);
    out.extend(data);
    out
}

/// Valid weight files: F32, F64, and F32 with PyTorch's batch-norm counter (an I64 scalar).
fn weight_seeds() -> Vec<Vec<u8>> {
    let network = tiny();
    let f32_file = weights::to_safetensors_bytes(&network, WeightDtype::F32).unwrap();
    let f64_file = weights::to_safetensors_bytes(&network, WeightDtype::F64).unwrap();
    let (mut header, mut data) = split(&f32_file);
    let start = data.len();
    data.extend(1u64.to_le_bytes());
    header.insert(
        "bn1.num_batches_tracked".to_string(),
        serde_json::json!({"dtype": "I64", "shape": [], "data_offsets": [start, start + 8]}),
    );
    vec![f32_file, f64_file, join(&header, &data)]
}

/// Valid input files: `[1, 4, 4]` in F64 (as heaccel writes them) and `[1, 1, 4, 4]` in F32.
fn input_seeds() -> Vec<Vec<u8>> {
    let input = weights::seeded_input(INPUT, 3);
    let f64_file = weights::input_to_safetensors_bytes(&input);
    let values: Vec<u8> = input
        .data()
        .iter()
        .flat_map(|&v| (v as f32).to_le_bytes())
        .collect();
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1, 1, 4, 4], &values)
            .unwrap();
    let f32_file = safetensors::serialize([("input", view)], None).unwrap();
    vec![f64_file, f32_file]
}

/// Values written into headers: dtypes, shapes, offsets and names, valid and not.
fn header_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(
            &["F32", "F64", "I64", "F16", "BF16", "U8", "BOOL", "F4", "C64", "x"][..]
        )
        .prop_map(Value::from),
        prop::collection::vec(
            prop_oneof![
                0u64..40,
                prop::sample::select(&[u32::MAX as u64, u64::MAX, 1 << 62][..])
            ],
            0..5
        )
        .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::Null),
        Just(serde_json::json!({})),
        "[a-z._0-9]{0,12}".prop_map(Value::from),
    ]
}

/// One structural edit of a header.
#[derive(Clone, Debug)]
enum HeaderEdit {
    /// Remove the `k`-th tensor (or `__metadata__`).
    Remove(usize),
    /// Copy the `k`-th entry under a new name.
    Duplicate(usize, String),
    /// Set a field (`dtype`, `shape`, `data_offsets`, or another) of the `k`-th tensor.
    Field(usize, &'static str, Value),
    /// Replace the `k`-th entry by any value.
    Retype(usize, Value),
    /// Rename the `k`-th entry.
    Rename(usize, String),
}

fn header_edit() -> impl Strategy<Value = HeaderEdit> {
    let name = prop_oneof![
        "[a-z]{1,4}(\\.[a-z_]{1,8}){0,2}",
        Just("bn1.num_batches_tracked".to_string()),
        Just("conv1.weight".to_string()),
        Just("input".to_string()),
    ];
    let field = prop::sample::select(&["dtype", "shape", "data_offsets", "extra"][..]);
    prop_oneof![
        1 => any::<usize>().prop_map(HeaderEdit::Remove),
        1 => (any::<usize>(), name.clone()).prop_map(|(k, n)| HeaderEdit::Duplicate(k, n)),
        4 => (any::<usize>(), field, header_value()).prop_map(|(k, f, v)| HeaderEdit::Field(k, f, v)),
        1 => (any::<usize>(), header_value()).prop_map(|(k, v)| HeaderEdit::Retype(k, v)),
        1 => (any::<usize>(), name).prop_map(|(k, n)| HeaderEdit::Rename(k, n)),
    ]
}

fn edit_header(header: &mut Map<String, Value>, edit: &HeaderEdit) {
    let keys: Vec<String> = header.keys().cloned().collect();
    if keys.is_empty() {
        return;
    }
    let key = |k: usize| keys[k % keys.len()].clone();
    match edit {
        HeaderEdit::Remove(k) => {
            header.remove(&key(*k));
        }
        HeaderEdit::Duplicate(k, name) => {
            let value = header[&key(*k)].clone();
            header.insert(name.clone(), value);
        }
        HeaderEdit::Field(k, field, value) => {
            if let Some(Value::Object(tensor)) = header.get_mut(&key(*k)) {
                tensor.insert(field.to_string(), value.clone());
            }
        }
        HeaderEdit::Retype(k, value) => {
            header.insert(key(*k), value.clone());
        }
        HeaderEdit::Rename(k, name) => {
            if let Some(value) = header.remove(&key(*k)) {
                header.insert(name.clone(), value);
            }
        }
    }
}

/// Bytes per element of the dtypes [`repair`] lays out.
fn dtype_bytes(dtype: &str) -> Option<usize> {
    Some(match dtype {
        "F64" | "I64" => 8,
        "F32" => 4,
        "F16" | "BF16" => 2,
        "U8" | "BOOL" => 1,
        _ => return None,
    })
}

/// Lays the data out again after header edits, so that the file is valid safetensors (offsets
/// consecutive, each tensor's length its shape's): the cases then reach the loader's own
/// checks (names, shapes, dtypes, values). Tensors keep their bytes as far as they go (the
/// rest zero); entries that are not well-formed tensors are left for the parser to refuse.
fn repair(header: &mut Map<String, Value>, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut keys: Vec<(u64, String)> = header
        .iter()
        .filter_map(|(k, v)| {
            Some((
                v.get("data_offsets")?.get(0)?.as_u64().unwrap_or(0),
                k.clone(),
            ))
        })
        .collect();
    keys.sort();
    for (_, key) in keys {
        let Some(Value::Object(tensor)) = header.get_mut(&key) else {
            continue;
        };
        let Some(size) = tensor
            .get("dtype")
            .and_then(Value::as_str)
            .and_then(dtype_bytes)
        else {
            continue;
        };
        let Some(shape) = tensor.get("shape").and_then(Value::as_array) else {
            continue;
        };
        let len = shape
            .iter()
            .try_fold(size as u64, |acc, d| acc.checked_mul(d.as_u64()?))
            .filter(|&n| n <= 1 << 16);
        let Some(len) = len else {
            continue;
        };
        let old = tensor
            .get("data_offsets")
            .and_then(|o| Some((o.get(0)?.as_u64()? as usize, o.get(1)?.as_u64()? as usize)))
            .and_then(|(s, e)| data.get(s..e))
            .unwrap_or_default();
        let start = out.len();
        out.extend(
            old.iter()
                .copied()
                .chain(std::iter::repeat(0))
                .take(len as usize),
        );
        tensor.insert(
            "data_offsets".to_string(),
            serde_json::json!([start, out.len()]),
        );
    }
    out
}

/// Header edits of one of `seeds` (the data laid out again or not, the length prefix
/// recomputed or kept), then maybe byte edits; or byte edits alone; or random bytes.
fn mutated_safetensors(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let structural = (
        prop::sample::select(seeds.clone()),
        prop::collection::vec(header_edit(), 1..4),
        prop::bool::weighted(0.7),
        prop::bool::weighted(0.2),
        prop::collection::vec(fuzz_support::edit_strategy(), 0..2),
    )
        .prop_map(|(seed, edits, lay_out, keep_length, byte_edits)| {
            let (mut header, mut data) = split(&seed);
            for e in &edits {
                edit_header(&mut header, e);
            }
            if lay_out {
                data = repair(&mut header, &data);
            }
            let mut bytes = join(&header, &data);
            if keep_length {
                bytes[..8].copy_from_slice(&seed[..8]);
            }
            for e in &byte_edits {
                fuzz_support::apply(&mut bytes, e);
            }
            bytes
        });
    prop_oneof![
        2 => structural,
        1 => fuzz_support::mutated_bytes(seeds),
    ]
}

fn tmp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The tensor a tensor-level error names, if any.
fn tensor_of(err: &WeightsError) -> Option<&str> {
    match err {
        WeightsError::Shape { name, .. }
        | WeightsError::Dtype { name, .. }
        | WeightsError::NonFinite { name, .. }
        | WeightsError::NegativeVariance { name, .. } => Some(name),
        _ => None,
    }
}

#[test]
fn seeds_load() {
    let _serial = fuzz_support::exclusive();
    for bytes in weight_seeds() {
        let mut network = tiny();
        network.parameters_mut()[0].values[0] = 42.0;
        weights::load_safetensors_bytes(&mut network, &bytes, Path::new("w")).unwrap();
        // F32 seeds hold the values rounded to f32
        let (got, want) = (network.parameters(), tiny());
        for (a, b) in got[0].values.iter().zip(want.parameters()[0].values) {
            assert!((a - b).abs() <= 1e-7 * b.abs().max(1.0), "{a} vs {b}");
        }
    }
    for bytes in input_seeds() {
        weights::load_input_safetensors_bytes(&bytes, Path::new("i"), INPUT).unwrap();
    }
}

#[test]
fn fuzz_weights_safetensors() {
    let path = tmp_dir("fuzz_weights").join("weights.safetensors");
    let original = tiny();
    let names: Vec<String> = original.parameters().into_iter().map(|p| p.name).collect();
    fuzz_support::run(
        || mutated_safetensors(weight_seeds()),
        |bytes| {
            std::fs::write(&path, &bytes).unwrap();
            let mut network = original.clone();
            let (result, largest) =
                fuzz_support::measure(|| weights::load_safetensors(&mut network, &path));
            prop_assert!(
                largest <= fuzz_support::allocation_limit(bytes.len()),
                "allocated {largest} bytes for a file of {}",
                bytes.len()
            );
            match result {
                Ok(()) => {
                    for p in network.parameters() {
                        prop_assert!(p.values.iter().all(|v| v.is_finite()), "{}", p.name);
                        if p.role == ParameterRole::BatchNormVar {
                            prop_assert!(p.values.iter().all(|&v| v >= 0.0), "{}", p.name);
                        }
                    }
                }
                Err(err) => {
                    let message = err.to_string();
                    prop_assert!(
                        message.starts_with(&path.display().to_string()),
                        "{message}"
                    );
                    if let Some(name) = tensor_of(&err) {
                        prop_assert!(names.iter().any(|n| n == name), "{message}");
                    }
                    prop_assert!(network == original, "changed on error: {message}");
                }
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_input_safetensors() {
    let file = Path::new("input.safetensors");
    fuzz_support::run(
        || mutated_safetensors(input_seeds()),
        |bytes| {
            let (result, largest) = fuzz_support::measure(|| {
                weights::load_input_safetensors_bytes(&bytes, file, INPUT)
            });
            prop_assert!(
                largest <= fuzz_support::allocation_limit(bytes.len()),
                "allocated {largest} bytes for a file of {}",
                bytes.len()
            );
            match result {
                Ok(input) => {
                    prop_assert_eq!(input.shape(), INPUT);
                    prop_assert!(input.data().iter().all(|v| v.is_finite()));
                }
                Err(err) => {
                    let message = err.to_string();
                    prop_assert!(message.starts_with("input.safetensors: "), "{message}");
                    if let Some(name) = tensor_of(&err) {
                        prop_assert_eq!(name, "input");
                    }
                }
            }
            Ok(())
        },
    );
}

/// A file larger than any weights of the network could be is refused by its size, before it
/// is read (a sparse file: nothing is written to disk).
#[test]
fn oversized_weight_files_are_refused_before_reading() {
    let _serial = fuzz_support::exclusive();
    let path = tmp_dir("fuzz_weights").join("huge.safetensors");
    let network = tiny();
    let values: usize = network.parameters().iter().map(|p| p.values.len()).sum();
    assert_eq!(values, 130);
    // one batch-norm counter and conv1's optional pruning mask (2 x 1 x 3 x 3)
    let limit = weights::max_file_bytes(values + 1 + 18);
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(limit + 1).unwrap();
    drop(file);
    let mut loaded = network.clone();
    let (result, largest) = fuzz_support::measure(|| weights::load_safetensors(&mut loaded, &path));
    std::fs::remove_file(&path).unwrap();
    let err = result.unwrap_err();
    assert!(
        matches!(&err, WeightsError::Format { file, message }
            if file == &path && message.contains(&limit.to_string())),
        "{err}"
    );
    assert!(largest < 1 << 20, "allocated {largest} bytes");
    assert_eq!(loaded, network);

    let input_path = tmp_dir("fuzz_weights").join("huge_input.safetensors");
    let file = std::fs::File::create(&input_path).unwrap();
    file.set_len(weights::max_file_bytes(INPUT.len()) + 1)
        .unwrap();
    drop(file);
    let err = weights::load_input_safetensors(&input_path, INPUT).unwrap_err();
    std::fs::remove_file(&input_path).unwrap();
    assert!(matches!(err, WeightsError::Format { .. }), "{err}");
}
