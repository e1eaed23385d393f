//! MNIST IDX files (LeCun's format), gzipped or not (told apart by the gzip magic bytes): an
//! images file (big-endian magic `0x00000803`, count, rows, columns, then `count * rows *
//! columns` bytes, row-major) and a labels file (magic `0x00000801`, count, then `count` bytes,
//! each 0..=9). A folder holds exactly one file whose name contains `idx3` and one with `idx1`.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::{
    list_dir, read_limited, take_per_class, DataError, DataFormat, Dataset, LoadOptions, Sample,
    MAX_FILE_BYTES,
};
use crate::nn::Shape;

/// Magic number of an images file.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of a labels file.
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Classes: the digits `0` to `9`.
pub const CLASSES: usize = 10;

/// Reads the images and labels files of `folder`.
pub fn load(folder: &Path, options: LoadOptions) -> Result<Dataset, DataError> {
    let entries = list_dir(folder)?;
    let images = pick(folder, &entries, "idx3")?;
    let labels = pick(folder, &entries, "idx1")?;
    let images_raw = read_limited(&images)?;
    let labels_raw = read_limited(&labels)?;
    let (shape, mut samples) = samples((&images, &images_raw), (&labels, &labels_raw))?;
    if let Some(k) = options.per_class {
        samples = take_per_class(samples, CLASSES, k);
    }
    Ok(Dataset {
        source: folder.to_path_buf(),
        format: DataFormat::MnistIdx,
        shape,
        classes: (0..CLASSES).map(|d| d.to_string()).collect(),
        samples,
    })
}

/// The image shape `(1, rows, columns)` and samples of an images file and a labels file, each
/// given as `(path, bytes)` (raw or gzipped; the paths name them in errors and origins).
pub fn samples(
    (images, images_raw): (&Path, &[u8]),
    (labels, labels_raw): (&Path, &[u8]),
) -> Result<(Shape, Vec<Sample>), DataError> {
    let (header, pixels) = parse_idx(images_raw, images, IMAGES_MAGIC, 3)?;
    let (label_header, label_bytes) = parse_idx(labels_raw, labels, LABELS_MAGIC, 1)?;
    let (count, rows, cols) = (header[0], header[1], header[2]);
    if label_header[0] != count {
        return Err(DataError::Format {
            file: labels.to_path_buf(),
            field: "count",
            problem: format!(
                "{} labels for the {count} images of {}",
                label_header[0],
                images.display()
            ),
        });
    }
    // the payload's length was checked against the header: count <= file size
    let plane = rows * cols;
    let mut samples = Vec::with_capacity(count);
    for (index, (&label, pixels)) in label_bytes
        .iter()
        .zip(pixels.chunks_exact(plane.max(1)))
        .enumerate()
    {
        let label = usize::from(label);
        if label >= CLASSES {
            return Err(DataError::Label {
                file: labels.to_path_buf(),
                index,
                label,
                classes: CLASSES,
            });
        }
        samples.push(Sample {
            label,
            origin: format!("{}#{index}", file_name(images)),
            pixels: pixels.to_vec(),
        });
    }
    Ok((Shape::new(1, rows, cols), samples))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn pick(folder: &Path, entries: &[PathBuf], tag: &str) -> Result<PathBuf, DataError> {
    let found: Vec<&PathBuf> = entries
        .iter()
        .filter(|p| p.is_file() && file_name(p).contains(tag))
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(DataError::Layout {
            path: folder.to_path_buf(),
            problem: format!("no MNIST file whose name contains `{tag}`"),
        }),
        many => Err(DataError::Layout {
            path: folder.to_path_buf(),
            problem: format!(
                "{} files whose names contain `{tag}` ({}); expected one",
                many.len(),
                many.iter()
                    .map(|p| file_name(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// Parses an IDX file's bytes (`file` names them in errors): its `dims` dimensions and its
/// payload, whose length must be their product.
fn parse_idx(
    raw: &[u8],
    file: &Path,
    magic: u32,
    dims: usize,
) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(raw)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| DataError::Format {
                file: file.to_path_buf(),
                field: "gzip",
                problem: format!("does not decompress: {e}"),
            })?;
        if out.len() as u64 > MAX_FILE_BYTES {
            return Err(DataError::Format {
                file: file.to_path_buf(),
                field: "length",
                problem: format!("decompresses to more than {MAX_FILE_BYTES} bytes"),
            });
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(raw)
    };
    let header_len = 4 + 4 * dims;
    let format = |field: &'static str, problem: String| DataError::Format {
        file: file.to_path_buf(),
        field,
        problem,
    };
    if bytes.len() < header_len {
        return Err(format(
            "header",
            format!("{} bytes, expected a {header_len}-byte header", bytes.len()),
        ));
    }
    let word = |i: usize| {
        u32::from_be_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ])
    };
    if word(0) != magic {
        return Err(format(
            "magic",
            format!("{:#010x}, expected {magic:#010x}", word(0)),
        ));
    }
    let shape: Vec<usize> = (1..=dims).map(|i| word(i) as usize).collect();
    let payload = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n as u64 <= MAX_FILE_BYTES);
    let Some(payload) = payload else {
        return Err(format(
            "dimensions",
            format!("{shape:?} declare more than {MAX_FILE_BYTES} bytes"),
        ));
    };
    if shape.contains(&0) {
        return Err(format(
            "dimensions",
            format!("{shape:?} has a zero dimension"),
        ));
    }
    if bytes.len() - header_len != payload {
        return Err(format(
            "length",
            format!(
                "{} data bytes, the header's dimensions {shape:?} need {payload}",
                bytes.len() - header_len
            ),
        ));
    }
    Ok((shape, bytes[header_len..].to_vec()))
}
