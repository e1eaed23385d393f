//! Training data: the MNIST folder read by the host's loader
//! ([`heaccel_host::data::Dataset::open`]), split in file order into the first `train` images
//! and the last `test` images (for MNIST 10k: the first 8,000 and the last 2,000), or a
//! CIFAR-10 ImageFolder's `train/` and `test/` folders ([`crate::folder`]); minibatches of it
//! as candle tensors, optionally augmented ([`Augment`]).
//!
//! Pixels are scaled to `[0, 1]` with no further normalization (mean 0, std 1 per channel):
//! what `heaccel accuracy` (for lenet, vgg5 and hefnet without `--mean`/`--std`) and `heaccel
//! infer` feed the zoo networks, so a trained file scores there what it scored here.

use std::path::Path;

use candle_core::{Device, Tensor};
use heaccel_host::data::{DataFormat, Dataset, LoadOptions, Normalization};
use heaccel_host::nn::Shape;
use rand::Rng;

use crate::TrainError;

/// The augmentation of training images, drawn per image from the trainer's seeded generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Augment {
    /// Largest translation in pixels per axis (0 = none): each image moves by `(dy, dx)`
    /// uniform in `-shift..=shift`, zero-filled. With `shift = p` this is exactly the random
    /// crop of the image padded by `p` zero pixels on every side (a crop at offset `(top,
    /// left)` in `0..=2p` is the translation by `(p - top, p - left)`).
    pub shift: usize,
    /// Mirror each image left to right with probability 1/2, after the translation.
    pub flip: bool,
}

/// The transform of one image, drawn by [`Augment::draw`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Transform {
    /// Rows moved down (negative: up), in `-shift..=shift`.
    pub dy: i64,
    /// Columns moved right (negative: left), in `-shift..=shift`.
    pub dx: i64,
    /// Mirror left to right after the translation.
    pub flip: bool,
}

impl Augment {
    /// Draws one image's transform from `rng`: `dy` then `dx` (only when `shift > 0`), then
    /// the flip as one `bool` (only when `flip`), so that a run without flips draws exactly
    /// what it drew before flips existed.
    pub fn draw(&self, rng: &mut impl Rng) -> Transform {
        let (dy, dx) = if self.shift > 0 {
            let s = self.shift as i64;
            (rng.gen_range(-s..=s), rng.gen_range(-s..=s))
        } else {
            (0, 0)
        };
        let flip = self.flip && rng.gen::<bool>();
        Transform { dy, dx, flip }
    }
}

impl Transform {
    /// Appends `image` (CHW, `shape`) transformed to `out`: `out[c][y][x] = image[c][y -
    /// dy][x' - dx]` with `x' = w - 1 - x` when flipped (else `x`), 0 where that falls
    /// outside the image.
    pub fn apply(&self, image: &[f32], shape: Shape, out: &mut Vec<f32>) {
        if *self == Transform::default() {
            out.extend_from_slice(image);
            return;
        }
        let (c, h, w) = (shape.channels, shape.height as i64, shape.width as i64);
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let x = if self.flip { w - 1 - x } else { x };
                    let (sy, sx) = (y - self.dy, x - self.dx);
                    let inside = sy >= 0 && sx >= 0 && sy < h && sx < w;
                    out.push(if inside {
                        image[((ch as i64 * h + sy) * w + sx) as usize]
                    } else {
                        0.0
                    });
                }
            }
        }
    }
}

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
    /// `[n]` (u32). With `augment = Some((rng, a))`, each image gets the transform
    /// `a.draw(rng)` (see [`Augment`]), drawn in `indices` order.
    pub fn batch(
        &self,
        indices: &[usize],
        augment: Option<(&mut impl Rng, Augment)>,
        device: &Device,
    ) -> Result<(Tensor, Tensor), TrainError> {
        let plane = self.shape.len();
        let (c, h, w) = (self.shape.channels, self.shape.height, self.shape.width);
        let mut data = Vec::with_capacity(indices.len() * plane);
        let mut labels = Vec::with_capacity(indices.len());
        let mut augment = augment;
        for &i in indices {
            let image = &self.pixels[i * plane..(i + 1) * plane];
            labels.push(self.labels[i]);
            let transform = match augment.as_mut() {
                Some((rng, a)) => a.draw(rng),
                None => Transform::default(),
            };
            transform.apply(image, self.shape, &mut data);
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
    /// The training images (MNIST: the first of the file).
    pub train: Images,
    /// The held-out test images (MNIST: the last of the file).
    pub test: Images,
    /// The dataset the test images come from, as read (for the host's plaintext check of
    /// the exported network): the MNIST folder, or the ImageFolder's `test` folder.
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
    check_counts(train, test)?;
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
    check_labels(&dataset, dir, outputs)?;
    let take = |indices: &[usize]| images(&dataset, indices);
    let train_indices: Vec<usize> = (0..train).collect();
    let test_indices: Vec<usize> = (dataset.len() - test..dataset.len()).collect();
    Ok(Split {
        train: take(&train_indices),
        test: take(&test_indices),
        test_indices,
        dataset,
    })
}

/// Refuses a dataset with a label the network cannot output (`>= outputs`), naming the image.
pub(crate) fn check_labels(
    dataset: &Dataset,
    dir: &Path,
    outputs: usize,
) -> Result<(), TrainError> {
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
    Ok(())
}

/// The samples `indices` of `dataset` as [`Images`], pixels scaled to `[0, 1]` (no further
/// normalization); the labels must have passed [`check_labels`].
pub(crate) fn images(dataset: &Dataset, indices: &[usize]) -> Images {
    let shape = dataset.shape;
    let normalization = Normalization::identity(shape.channels);
    let mut pixels = Vec::with_capacity(indices.len() * shape.len());
    let mut labels = Vec::with_capacity(indices.len());
    for &i in indices {
        pixels.extend(dataset.input(i, &normalization));
        labels.push(dataset.samples[i].label as u32);
    }
    Images {
        shape,
        pixels,
        labels,
    }
}

/// Refuses 0 training or test images.
pub(crate) fn check_counts(train: usize, test: usize) -> Result<(), TrainError> {
    for (field, value) in [("train_images", train), ("test_images", test)] {
        if value == 0 {
            return Err(TrainError::Config {
                field,
                value: value.to_string(),
                expected: "at least 1 image".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Two channels of 3 x 4: channel 0 holds 1..=12 row by row, channel 1 101..=112.
    fn image() -> (Vec<f32>, Shape) {
        let pixels = (1..=12).chain(101..=112).map(|v| v as f32).collect();
        (pixels, Shape::new(2, 3, 4))
    }

    #[test]
    fn a_shift_then_a_flip_moves_pixels_as_computed_by_hand() {
        let (pixels, shape) = image();
        let mut out = Vec::new();
        // down 1, left 1, then mirrored: row y of the result is row y - 1 of the image moved
        // left by one (zero at the right end), read right to left.
        let t = Transform {
            dy: 1,
            dx: -1,
            flip: true,
        };
        t.apply(&pixels, shape, &mut out);
        #[rustfmt::skip]
        let expected = [
            0.0, 0.0, 0.0, 0.0,
            0.0, 4.0, 3.0, 2.0,
            0.0, 8.0, 7.0, 6.0,
            0.0, 0.0, 0.0, 0.0,
            0.0, 104.0, 103.0, 102.0,
            0.0, 108.0, 107.0, 106.0,
        ];
        assert_eq!(out, expected);
        // The flip alone reverses every row; no transform copies.
        out.clear();
        Transform {
            flip: true,
            ..Transform::default()
        }
        .apply(&pixels, shape, &mut out);
        assert_eq!(&out[..4], &[4.0, 3.0, 2.0, 1.0]);
        assert_eq!(&out[12..16], &[104.0, 103.0, 102.0, 101.0]);
        out.clear();
        Transform::default().apply(&pixels, shape, &mut out);
        assert_eq!(out, pixels);
    }

    #[test]
    fn a_shift_is_the_crop_of_the_zero_padded_image() {
        let shape = Shape::new(3, 6, 5);
        let pixels: Vec<f32> = (0..shape.len())
            .map(|v| (v * 7 % 31) as f32 + 1.0)
            .collect();
        let p = 2usize;
        let (h, w) = (shape.height, shape.width);
        for top in 0..=2 * p {
            for left in 0..=2 * p {
                // the reference: pad by p zeros on every side, crop h x w at (top, left)
                let (ph, pw) = (h + 2 * p, w + 2 * p);
                let mut padded = vec![0.0f32; 3 * ph * pw];
                for c in 0..3 {
                    for y in 0..h {
                        for x in 0..w {
                            padded[(c * ph + y + p) * pw + x + p] = pixels[(c * h + y) * w + x];
                        }
                    }
                }
                let mut crop = Vec::new();
                for c in 0..3 {
                    for y in 0..h {
                        for x in 0..w {
                            crop.push(padded[(c * ph + y + top) * pw + x + left]);
                        }
                    }
                }
                let t = Transform {
                    dy: p as i64 - top as i64,
                    dx: p as i64 - left as i64,
                    flip: false,
                };
                let mut out = Vec::new();
                t.apply(&pixels, shape, &mut out);
                assert_eq!(out, crop, "crop at ({top}, {left})");
            }
        }
    }

    #[test]
    fn draws_are_seeded_in_range_and_none_without_augmentation() {
        let mut a = ChaCha8Rng::seed_from_u64(3);
        let b = ChaCha8Rng::seed_from_u64(3);
        assert_eq!(Augment::default().draw(&mut a), Transform::default());
        assert_eq!(a, b, "no augmentation draws nothing");
        let augment = Augment {
            shift: 4,
            flip: true,
        };
        let draws: Vec<Transform> = (0..400).map(|_| augment.draw(&mut a)).collect();
        assert!(draws.iter().all(|t| t.dy.abs() <= 4 && t.dx.abs() <= 4));
        let flips = draws.iter().filter(|t| t.flip).count();
        assert!((150..250).contains(&flips), "{flips} flips of 400");
        for edge in [-4, 4] {
            assert!(draws.iter().any(|t| t.dy == edge) && draws.iter().any(|t| t.dx == edge));
        }
        let mut c = ChaCha8Rng::seed_from_u64(3);
        Augment::default().draw(&mut c);
        let again: Vec<Transform> = (0..400).map(|_| augment.draw(&mut c)).collect();
        assert_eq!(draws, again, "the same seed draws the same transforms");
    }
}
