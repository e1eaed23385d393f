//! Labelled image datasets in the three formats users bring: ImageFolder directories of JPEG or
//! PNG files ([`image_folder`]), CIFAR-10 binary batches ([`cifar_binary`]) and MNIST IDX files,
//! gzipped or not ([`mnist_idx`]). [`Dataset::open`] tells them apart by what the path holds.
//!
//! Samples keep their 8-bit pixels in CHW order; [`Dataset::input`] scales them to `[0, 1]`
//! and applies a per-channel [`Normalization`]. Errors name the file and what was expected;
//! nothing here panics on malformed input.

pub mod cifar_binary;
pub mod image_folder;
pub mod mnist_idx;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::nn::Shape;

/// The largest dataset file read into memory (1 GiB): a guard against a decompression bomb or
/// a header that declares billions of images.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Errors of reading a dataset. Every variant names the file or folder.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// Reading failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error (in the message, not a separate cause, so it is printed once).
        error: std::io::Error,
    },
    /// The path holds none of the supported layouts.
    #[error("{path}: not a dataset: {problem}")]
    Layout {
        /// The path given.
        path: PathBuf,
        /// What was found and what is expected.
        problem: String,
    },
    /// An ImageFolder class folder holds no image.
    #[error("{folder}: class folder holds no .jpg, .jpeg or .png file")]
    EmptyClass {
        /// The class folder.
        folder: PathBuf,
    },
    /// An image file does not decode.
    #[error("{file}: not a valid image: {message}")]
    Decode {
        /// The file.
        file: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// An image has the wrong width or height.
    #[error(
        "{file}: image is {got_width}x{got_height}, expected {width}x{height} (the model's input)"
    )]
    ImageSize {
        /// The file.
        file: PathBuf,
        /// Expected width.
        width: u32,
        /// Expected height.
        height: u32,
        /// The image's width.
        got_width: u32,
        /// The image's height.
        got_height: u32,
    },
    /// A binary file's field is malformed (magic number, dimensions, length).
    #[error("{file}: field `{field}`: {problem}")]
    Format {
        /// The file.
        file: PathBuf,
        /// The field (`magic`, `count`, `length`, ...).
        field: &'static str,
        /// What was found and what is expected.
        problem: String,
    },
    /// A label is not below the number of classes.
    #[error("{file}: record {index} has label {label}, expected 0..{classes}")]
    Label {
        /// The file.
        file: PathBuf,
        /// The record (0-based, file order).
        index: usize,
        /// The label found.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// The dataset's images do not have the model's input shape.
    #[error("{path}: images are {got}, the model expects {expected}")]
    Shape {
        /// The dataset's path.
        path: PathBuf,
        /// The model's input shape.
        expected: Shape,
        /// The dataset's image shape.
        got: Shape,
    },
    /// A normalization does not fit the images.
    #[error("normalization `{field}`: {problem}")]
    Normalization {
        /// `mean` or `std`.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// Which reader a dataset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// Class folders of JPEG/PNG files.
    ImageFolder,
    /// CIFAR-10 binary batches.
    CifarBinary,
    /// MNIST IDX images and labels.
    MnistIdx,
}

impl fmt::Display for DataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataFormat::ImageFolder => "ImageFolder",
            DataFormat::CifarBinary => "CIFAR-10 binary",
            DataFormat::MnistIdx => "MNIST IDX",
        })
    }
}

/// One labelled image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Class index, `< classes.len()`.
    pub label: usize,
    /// Where it came from: the file's path relative to the dataset root, or `FILE#RECORD`.
    pub origin: String,
    /// `C * H * W` pixels in CHW order, 0..=255.
    pub pixels: Vec<u8>,
}

/// What to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// The model's input shape `(C, H, W)`: images must be `H x W`; colour images are converted
    /// to grey when `C = 1` and grey to RGB when `C = 3` (as torchvision's loader does).
    pub shape: Shape,
    /// Keep only the first `K` samples of each class (by sorted file name, or file order for
    /// binary formats); all when `None`.
    pub per_class: Option<usize>,
}

/// A labelled dataset in memory.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The path it was read from.
    pub source: PathBuf,
    /// The reader.
    pub format: DataFormat,
    /// Shape of every image.
    pub shape: Shape,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// The samples, grouped by class in label order when `per_class` was given, else in the
    /// format's order (ImageFolder: class by class, files by name; binary: file order).
    pub samples: Vec<Sample>,
}

impl Dataset {
    /// Reads `path`: a folder of class folders (ImageFolder), a CIFAR-10 `.bin` batch or a
    /// folder of `data_batch_*.bin`, or a folder with one MNIST `*idx3*` images file and one
    /// `*idx1*` labels file.
    pub fn open(path: &Path, options: LoadOptions) -> Result<Dataset, DataError> {
        let dataset = if path.is_file() {
            cifar_binary::load(path, options)?
        } else if path.is_dir() {
            let entries = list_dir(path)?;
            let has_subdir = entries.iter().any(|p| p.is_dir());
            let names: Vec<String> = entries
                .iter()
                .filter(|p| p.is_file())
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            if names.iter().any(|n| n.contains("idx3")) {
                mnist_idx::load(path, options)?
            } else if names.iter().any(|n| cifar_binary::is_data_batch(n)) {
                cifar_binary::load(path, options)?
            } else if has_subdir {
                image_folder::load(path, options)?
            } else {
                return Err(DataError::Layout {
                    path: path.to_path_buf(),
                    problem: "expected class folders of images (ImageFolder), CIFAR-10 \
                              data_batch_*.bin files or MNIST *idx3* / *idx1* files"
                        .to_string(),
                });
            }
        } else {
            return Err(DataError::Io {
                path: path.to_path_buf(),
                error: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            });
        };
        if dataset.shape != options.shape {
            return Err(DataError::Shape {
                path: path.to_path_buf(),
                expected: options.shape,
                got: dataset.shape,
            });
        }
        Ok(dataset)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Sample `index` as `f32` CHW: `(pixel / 255 - mean[c]) / std[c]`.
    pub fn input(&self, index: usize, normalization: &Normalization) -> Vec<f32> {
        let plane = self.shape.height * self.shape.width;
        self.samples[index]
            .pixels
            .iter()
            .enumerate()
            .map(|(i, &p)| normalization.apply(i / plane, p))
            .collect()
    }

    /// Samples per class, in label order.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for s in &self.samples {
            counts[s.label] += 1;
        }
        counts
    }
}

/// Keeps the first `k` samples of each class, in label order then original order.
pub(crate) fn take_per_class(samples: Vec<Sample>, classes: usize, k: usize) -> Vec<Sample> {
    let mut by_class: Vec<Vec<Sample>> = vec![Vec::new(); classes];
    for s in samples {
        let bucket = &mut by_class[s.label];
        if bucket.len() < k {
            bucket.push(s);
        }
    }
    by_class.into_iter().flatten().collect()
}

/// Per-channel normalization of `[0, 1]` pixels: `(x - mean[c]) / std[c]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Per channel mean.
    pub mean: Vec<f32>,
    /// Per channel standard deviation, each > 0.
    pub std: Vec<f32>,
}

impl Normalization {
    /// ImageNet's statistics, which the akamaster CIFAR-10 ResNets were trained with: mean
    /// (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
    pub fn imagenet() -> Self {
        Normalization {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }

    /// No normalization for `channels` channels: mean 0, std 1.
    pub fn identity(channels: usize) -> Self {
        Normalization {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }

    /// Checks the lengths against `channels` and that every value is finite with `std > 0`.
    pub fn check(&self, channels: usize) -> Result<(), DataError> {
        for (field, values) in [("mean", &self.mean), ("std", &self.std)] {
            if values.len() != channels {
                return Err(DataError::Normalization {
                    field,
                    problem: format!("{} values for {channels} channels", values.len()),
                });
            }
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(DataError::Normalization {
                    field,
                    problem: format!("{v} is not finite"),
                });
            }
        }
        if let Some(v) = self.std.iter().find(|&&v| v <= 0.0) {
            return Err(DataError::Normalization {
                field: "std",
                problem: format!("{v} must be > 0"),
            });
        }
        Ok(())
    }

    fn apply(&self, channel: usize, pixel: u8) -> f32 {
        (f32::from(pixel) / 255.0 - self.mean[channel]) / self.std[channel]
    }
}

/// The entries of a folder, sorted by name.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let io = |error| DataError::Io {
        path: dir.to_path_buf(),
        error,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        entries.push(entry.map_err(io)?.path());
    }
    entries.sort();
    Ok(entries)
}

/// Reads a whole file of at most [`MAX_FILE_BYTES`].
pub(crate) fn read_limited(file: &Path) -> Result<Vec<u8>, DataError> {
    use std::io::Read;
    let io = |error| DataError::Io {
        path: file.to_path_buf(),
        error,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .map_err(io)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(DataError::Format {
            file: file.to_path_buf(),
            field: "length",
            problem: format!("larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    Ok(bytes)
}
