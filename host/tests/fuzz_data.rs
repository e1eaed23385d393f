//! Property-based fuzzing of the dataset readers through [`Dataset::open`]: ImageFolder (PNG and
//! JPEG files), CIFAR-10 binary batches (and their `batches.meta.txt`), MNIST IDX files (raw
//! and gzipped). Inputs are tiny valid files generated here (4x4 images, 2-record batches,
//! 3-image IDX files) with structured mutations (truncated, bytes flipped, length and count
//! fields overwritten, ranges removed or duplicated) and random bytes, written to a folder
//! under `CARGO_TARGET_TMPDIR` for each case.
//!
//! Each case asserts: no panic; no single allocation beyond
//! [`fuzz_support::allocation_limit`] of the bytes written; on error, the variant names the
//! file at fault (or the folder, for a shape) and the field or record; on success, the samples
//! the files hold.

use heaccel_testkit as fuzz_support;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use heaccel_host::data::{cifar_binary, mnist_idx, DataError, Dataset, LoadOptions};
use heaccel_host::nn::Shape;
use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgb, RgbImage, Rgba, RgbaImage};
use proptest::prelude::*;

#[global_allocator]
static ALLOCATOR: fuzz_support::Counting = fuzz_support::Counting;

fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// 4x4 images: RGB, grey and RGBA PNGs, RGB and grey JPEGs; and a 5x4 PNG and a 4x8 JPEG
/// (valid, of the wrong size).
fn image_seeds() -> Vec<Vec<u8>> {
    let other = |w: u32, h: u32| RgbImage::from_fn(w, h, |x, y| Rgb([x as u8, y as u8, 3]));
    let rgb = RgbImage::from_fn(4, 4, |x, y| Rgb([x as u8 * 60, y as u8 * 60, 128]));
    let grey = GrayImage::from_fn(4, 4, |x, y| Luma([(x * 4 + y) as u8 * 16]));
    let rgba = RgbaImage::from_fn(4, 4, |x, y| Rgba([x as u8, y as u8, 7, 200]));
    vec![
        encode(DynamicImage::ImageRgb8(rgb.clone()), ImageFormat::Png),
        encode(DynamicImage::ImageLuma8(grey.clone()), ImageFormat::Png),
        encode(DynamicImage::ImageRgba8(rgba), ImageFormat::Png),
        encode(DynamicImage::ImageRgb8(rgb), ImageFormat::Jpeg),
        encode(DynamicImage::ImageLuma8(grey), ImageFormat::Jpeg),
        encode(DynamicImage::ImageRgb8(other(5, 4)), ImageFormat::Png),
        encode(DynamicImage::ImageRgb8(other(4, 8)), ImageFormat::Jpeg),
    ]
}

const RGB_4X4: Shape = Shape::new(3, 4, 4);
const GREY_4X4: Shape = Shape::new(1, 4, 4);

fn options(shape: Shape) -> LoadOptions {
    LoadOptions {
        shape,
        per_class: None,
    }
}

#[test]
fn fuzz_image_folder() {
    let root = fresh_dir("fuzz_image_folder");
    for class in ["a", "b"] {
        std::fs::create_dir(root.join(class)).unwrap();
    }
    let fuzzed = root.join("a").join("x.png");
    let valid = image_seeds()[3].clone(); // the RGB JPEG
    std::fs::write(root.join("b").join("y.jpg"), &valid).unwrap();
    fuzz_support::run(
        || fuzz_support::mutated_bytes(image_seeds()),
        |bytes| {
            std::fs::write(&fuzzed, &bytes).unwrap();
            let (result, largest) =
                fuzz_support::measure(|| Dataset::open(&root, options(RGB_4X4)));
            prop_assert!(
                largest <= fuzz_support::allocation_limit(bytes.len() + valid.len()),
                "allocated {largest} bytes for {} bytes of images",
                bytes.len() + valid.len()
            );
            match result {
                Ok(dataset) => {
                    prop_assert_eq!(dataset.len(), 2);
                    prop_assert_eq!(dataset.shape, RGB_4X4);
                    prop_assert!(dataset.samples.iter().all(|s| s.pixels.len() == 48));
                    prop_assert_eq!(&dataset.classes, &["a", "b"]);
                }
                Err(DataError::Decode { file, message }) => {
                    prop_assert_eq!(&file, &fuzzed);
                    prop_assert!(!message.is_empty());
                }
                Err(DataError::ImageSize { file, .. }) => prop_assert_eq!(&file, &fuzzed),
                Err(other) => {
                    return Err(TestCaseError::fail(format!("unexpected error: {other}")))
                }
            }
            Ok(())
        },
    );
}

/// Two CIFAR-10 records (labels 3 and 9) and one (label 0).
fn cifar_seeds() -> Vec<Vec<u8>> {
    let record = |label: u8| {
        std::iter::once(label)
            .chain((0..3072).map(move |i| (i as u8).wrapping_mul(label | 1)))
            .collect::<Vec<u8>>()
    };
    vec![[record(3), record(9)].concat(), record(0)]
}

fn meta_seed() -> String {
    cifar_binary::CLASSES.join("\n") + "\n"
}

#[test]
fn fuzz_cifar_binary() {
    let dir = fresh_dir("fuzz_cifar_binary");
    let batch = dir.join("data_batch_1.bin");
    let meta = dir.join("batches.meta.txt");
    let strategy = || {
        (
            prop_oneof![
                9 => fuzz_support::mutated_bytes(cifar_seeds()),
                1 => prop::sample::select(cifar_seeds()),
            ],
            prop_oneof![
                2 => Just(None),
                1 => Just(Some(meta_seed())),
                1 => fuzz_support::mutated_text(vec![meta_seed()]).prop_map(Some),
            ],
            any::<bool>(),
        )
    };
    fuzz_support::run(strategy, |(bytes, meta_text, open_folder)| {
        std::fs::write(&batch, &bytes).unwrap();
        match &meta_text {
            Some(text) => std::fs::write(&meta, text).unwrap(),
            None => {
                let _ = std::fs::remove_file(&meta);
            }
        }
        let path = if open_folder { &dir } else { &batch };
        let written = bytes.len() + meta_text.as_ref().map_or(0, String::len);
        let (result, largest) =
            fuzz_support::measure(|| Dataset::open(path, options(cifar_binary::SHAPE)));
        prop_assert!(
            largest <= fuzz_support::allocation_limit(written),
            "allocated {largest} bytes for {written} bytes"
        );
        let records = bytes.len() / cifar_binary::RECORD_BYTES;
        match result {
            Ok(dataset) => {
                prop_assert_eq!(bytes.len() % cifar_binary::RECORD_BYTES, 0);
                prop_assert_eq!(dataset.len(), records);
                let classes = dataset.classes.len();
                prop_assert!(dataset.samples.iter().all(|s| s.label < classes));
                prop_assert!(dataset.samples.iter().all(|s| s.pixels.len() == 3072));
            }
            Err(DataError::Format {
                file,
                field,
                problem,
            }) => {
                prop_assert!(file == batch || file == meta, "{}", file.display());
                prop_assert!(!field.is_empty() && !problem.is_empty());
            }
            Err(DataError::Label { file, index, .. }) => {
                prop_assert_eq!(&file, &batch);
                prop_assert!(index < records);
            }
            Err(other) => return Err(TestCaseError::fail(format!("unexpected error: {other}"))),
        }
        Ok(())
    });
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// An IDX images file of `count` images of `rows x cols`.
fn idx_images(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut images = mnist_idx::IMAGES_MAGIC.to_be_bytes().to_vec();
    for d in [count, rows, cols] {
        images.extend(d.to_be_bytes());
    }
    images.extend((0..count * rows * cols).map(|i| (i * 5) as u8));
    images
}

/// IDX images (3 images of 4x4, raw and gzipped, and 3 of 2x8: the wrong shape) and labels
/// (3, raw and gzipped).
fn mnist_seeds() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let images = idx_images(3, 4, 4);
    let mut labels = mnist_idx::LABELS_MAGIC.to_be_bytes().to_vec();
    labels.extend(3u32.to_be_bytes());
    labels.extend([7, 0, 9]);
    (
        vec![gzip(&images), images, idx_images(3, 2, 8)],
        vec![gzip(&labels), labels],
    )
}

#[test]
fn fuzz_mnist_idx() {
    let dir = fresh_dir("fuzz_mnist_idx");
    let images_file = dir.join("t10k-images-idx3-ubyte");
    let labels_file = dir.join("t10k-labels-idx1-ubyte");
    let strategy = || {
        let (images, labels) = mnist_seeds();
        let either = |seeds: Vec<Vec<u8>>| {
            prop_oneof![
                2 => fuzz_support::mutated_bytes(seeds.clone()),
                1 => prop::sample::select(seeds),
            ]
        };
        (either(images), either(labels))
    };
    fuzz_support::run(strategy, |(images, labels)| {
        std::fs::write(&images_file, &images).unwrap();
        std::fs::write(&labels_file, &labels).unwrap();
        let written = images.len() + labels.len();
        let (result, largest) = fuzz_support::measure(|| Dataset::open(&dir, options(GREY_4X4)));
        prop_assert!(
            largest <= fuzz_support::allocation_limit(written),
            "allocated {largest} bytes for {written} bytes"
        );
        match result {
            Ok(dataset) => {
                prop_assert_eq!(dataset.shape, GREY_4X4);
                prop_assert!(!dataset.is_empty());
                prop_assert!(dataset
                    .samples
                    .iter()
                    .all(|s| s.pixels.len() == 16 && s.label < 10));
            }
            Err(DataError::Format {
                file,
                field,
                problem,
            }) => {
                prop_assert!(
                    file == images_file || file == labels_file,
                    "{}",
                    file.display()
                );
                prop_assert!(!field.is_empty() && !problem.is_empty());
            }
            Err(DataError::Label { file, .. }) => prop_assert_eq!(&file, &labels_file),
            Err(DataError::Shape { path, got, .. }) => {
                prop_assert_eq!(&path, &dir);
                prop_assert!(got != GREY_4X4);
            }
            Err(other) => return Err(TestCaseError::fail(format!("unexpected error: {other}"))),
        }
        Ok(())
    });
}
