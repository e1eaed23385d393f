//! CIFAR-10 binary batches (the "binary version" of the dataset): records of one label byte
//! (0..=9) and 3,072 pixel bytes (1,024 red, 1,024 green, 1,024 blue, each row-major 32x32),
//! 10,000 records per `data_batch_N.bin` / `test_batch.bin`. Class names come from
//! `batches.meta.txt` beside the batches when present (one per line), else CIFAR-10's.

use std::path::{Path, PathBuf};

use super::{
    list_dir, read_limited, take_per_class, DataError, DataFormat, Dataset, LoadOptions, Sample,
};
use crate::nn::Shape;

/// The image shape, `(3, 32, 32)`.
pub const SHAPE: Shape = Shape {
    channels: 3,
    height: 32,
    width: 32,
};

/// Bytes per record: label + pixels.
pub const RECORD_BYTES: usize = 1 + 3 * 32 * 32;

/// CIFAR-10's class names in label order.
pub const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Whether `name` is a training batch file name (`data_batch_<N>.bin`).
pub fn is_data_batch(name: &str) -> bool {
    name.strip_prefix("data_batch_")
        .and_then(|r| r.strip_suffix(".bin"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads one batch file, or every `data_batch_N.bin` of a folder in increasing `N`.
pub fn load(path: &Path, options: LoadOptions) -> Result<Dataset, DataError> {
    let (files, folder) = if path.is_dir() {
        let mut batches: Vec<(u64, PathBuf)> = list_dir(path)?
            .into_iter()
            .filter_map(|p| {
                let name = p.file_name()?.to_string_lossy().into_owned();
                is_data_batch(&name).then(|| {
                    let n = name["data_batch_".len()..name.len() - 4]
                        .parse()
                        .unwrap_or(u64::MAX);
                    (n, p)
                })
            })
            .collect();
        batches.sort();
        (
            batches.into_iter().map(|(_, p)| p).collect::<Vec<_>>(),
            path.to_path_buf(),
        )
    } else {
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        (vec![path.to_path_buf()], folder)
    };
    let classes = class_names(&folder)?;
    let mut samples = Vec::new();
    for file in &files {
        let bytes = read_limited(file)?;
        samples.extend(records(&bytes, file, classes.len())?);
    }
    if let Some(k) = options.per_class {
        samples = take_per_class(samples, classes.len(), k);
    }
    Ok(Dataset {
        source: path.to_path_buf(),
        format: DataFormat::CifarBinary,
        shape: SHAPE,
        classes,
        samples,
    })
}

/// The samples of one batch file's bytes (`file` names them in errors and origins): a
/// positive multiple of [`RECORD_BYTES`], every label below `classes`.
pub fn records(bytes: &[u8], file: &Path, classes: usize) -> Result<Vec<Sample>, DataError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD_BYTES) {
        return Err(DataError::Format {
            file: file.to_path_buf(),
            field: "length",
            problem: format!(
                "{} bytes is not a positive multiple of the {RECORD_BYTES}-byte record \
                 (1 label byte, 3,072 pixel bytes): truncated or not a CIFAR-10 batch",
                bytes.len()
            ),
        });
    }
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let mut samples = Vec::with_capacity(bytes.len() / RECORD_BYTES);
    for (index, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        let label = usize::from(record[0]);
        if label >= classes {
            return Err(DataError::Label {
                file: file.to_path_buf(),
                index,
                label,
                classes,
            });
        }
        samples.push(Sample {
            label,
            origin: format!("{name}#{index}"),
            pixels: record[1..].to_vec(),
        });
    }
    Ok(samples)
}

fn class_names(folder: &Path) -> Result<Vec<String>, DataError> {
    let meta = folder.join("batches.meta.txt");
    if !meta.is_file() {
        return Ok(CLASSES.iter().map(|s| s.to_string()).collect());
    }
    let text = String::from_utf8(read_limited(&meta)?).map_err(|_| DataError::Format {
        file: meta.clone(),
        field: "text",
        problem: "not UTF-8".to_string(),
    })?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if names.is_empty() || names.len() > 256 {
        return Err(DataError::Format {
            file: meta,
            field: "classes",
            problem: format!("{} class names, expected 1..=256", names.len()),
        });
    }
    Ok(names)
}
