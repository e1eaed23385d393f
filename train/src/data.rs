//! Training data: the MNIST folder read by the host's loader
//! ([`heaccel_host::data::Dataset::open`]), split in file order into the first `train` images
//! and the last `test` images (for MNIST 10k: the first 8,000 and the last 2,000), and
//! minibatches of it as candle tensors, optionally shifted for augmentation.
//!
//! Pixels are scaled to `[0, 1]` with no further normalization (mean 0, std 1): what `heaccel
//! accuracy --model lenet` and `heaccel infer` feed the zoo networks.

use std::path::Path;

use candle_core::{Device, Tensor};
use heaccel_host::data::{DataFormat, Dataset, LoadOptions, Normalization};
use heaccel_host::nn::Shape;
use rand::Rng;

use crate::TrainError;

/// Images as `f32` CHW rows in `[0, 1]` with their labels.
#[derive(Debug, Clone)]
pub struct Images {
    /// Shape of one image `(C, H, W)`.
    pub shape: Shape,
    /// `len() * shape.len()` values, image after image, CHW row-major.
    pub pixels: Vec<f32>,
    /// One label per image, each `< classes`.
    pub labels: Vec<u32>,
}

impl Images {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images `indices` (each `< len()`) as a batch `[n, C, H, W]` and their labels
    /// `[n]` (u32). With `shift = Some((rng, s))`, each image is translated by a uniform
    /// random offset in `-s..=s` pixels per axis, zero-filled (MNIST's usual augmentation).
    pub fn batch(
        &self,
        indices: &[usize],
        shift: Option<(&mut impl Rng, usize)>,
        device: &Device,
    ) -> Result<(Tensor, Tensor), TrainError> {
        let plane = self.shape.len();
        let (c, h, w) = (self.shape.channels, self.shape.height, self.shape.width);
        let mut data = Vec::with_capacity(indices.len() * plane);
        let mut labels = Vec::with_capacity(indices.len());
        let mut shift = shift;
        for &i in indices {
            let image = &self.pixels[i * plane..(i + 1) * plane];
            labels.push(self.labels[i]);
            let (dy, dx) = match shift.as_mut() {
                Some((rng, s)) if *s > 0 => {
                    let s = *s as i64;
                    (rng.gen_range(-s..=s), rng.gen_range(-s..=s))
                }
                _ => (0, 0),
            };
            if dy == 0 && dx == 0 {
                data.extend_from_slice(image);
                continue;
            }
            for ch in 0..c {
                for y in 0..h as i64 {
                    for x in 0..w as i64 {
                        let (sy, sx) = (y - dy, x - dx);
                        let inside = sy >= 0 && sx >= 0 && sy < h as i64 && sx < w as i64;
                        data.push(if inside {
                            image[(ch * h + sy as usize) * w + sx as usize]
                        } else {
                            0.0
                        });
                    }
                }
            }
        }
        let n = indices.len();
        Ok((
            Tensor::from_vec(data, (n, c, h, w), device)?,
            Tensor::from_vec(labels, n, device)?,
        ))
    }
}

/// A train/test split.
#[derive(Debug, Clone)]
pub struct Split {
    /// The training images (the first of the file).
    pub train: Images,
    /// The held-out test images (the last of the file).
    pub test: Images,
    /// The dataset as read (for the host's plaintext check of the exported network).
    pub dataset: Dataset,
    /// Indices into `dataset` of the test images, in order.
    pub test_indices: Vec<usize>,
}

/// Reads the MNIST IDX folder `dir` for a network of input `shape` and `outputs` classes and
/// splits it: the first `train` images to train, the last `test` to test (both >= 1, and
/// `train + test` at most the images in the folder).
///
/// Errors: the folder does not hold MNIST IDX files (or holds another dataset format), a file
/// is malformed (the host loader's errors name file and field), a label is not below
/// `outputs`, or there are fewer images than `train + test`.
pub fn load_mnist(
    dir: &Path,
    shape: Shape,
    outputs: usize,
    train: usize,
    test: usize,
) -> Result<Split, TrainError> {
    for (field, value) in [("train_images", train), ("test_images", test)] {
        if value == 0 {
            return Err(TrainError::Config {
                field,
                value: value.to_string(),
                expected: "at least 1 image".into(),
            });
        }
    }
    let dataset = Dataset::open(
        dir,
        LoadOptions {
            shape,
            per_class: None,
        },
    )?;
    if dataset.format != DataFormat::MnistIdx {
        return Err(TrainError::Dataset {
            path: dir.to_path_buf(),
            problem: format!(
                "holds a {} dataset, expected an MNIST folder (one *idx3* images file and one \
                 *idx1* labels file)",
                dataset.format
            ),
        });
    }
    if dataset.len() < train + test {
        return Err(TrainError::Dataset {
            path: dir.to_path_buf(),
            problem: format!(
                "{} images, expected at least {} ({train} to train + {test} to test)",
                dataset.len(),
                train + test
            ),
        });
    }
    if let Some((index, s)) = dataset
        .samples
        .iter()
        .enumerate()
        .find(|(_, s)| s.label >= outputs)
    {
        return Err(TrainError::Dataset {
            path: dir.to_path_buf(),
            problem: format!(
                "image {index} ({}) has label {}, the network has {outputs} outputs (labels \
                 0..{outputs})",
                s.origin, s.label
            ),
        });
    }
    let normalization = Normalization::identity(shape.channels);
    let take = |indices: &[usize]| -> Images {
        let mut pixels = Vec::with_capacity(indices.len() * shape.len());
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend(dataset.input(i, &normalization));
            // labels were checked against `outputs` above
            labels.push(dataset.samples[i].label as u32);
        }
        Images {
            shape,
            pixels,
            labels,
        }
    };
    let train_indices: Vec<usize> = (0..train).collect();
    let test_indices: Vec<usize> = (dataset.len() - test..dataset.len()).collect();
    Ok(Split {
        train: take(&train_indices),
        test: take(&test_indices),
        test_indices,
        dataset,
    })
}
