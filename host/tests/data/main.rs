//! The dataset readers (`heaccel_host::data`) on fixtures written here, byte by byte or with
//! the `image` crate: ImageFolder (PNG exact, JPEG near), CIFAR-10 binary batches, MNIST IDX
//! raw and gzipped, per-channel normalization, and malformed input, whose errors must name the
//! file and the problem. One test reads the real MNIST 10k of `../shared/data` (skipped with a
//! notice when absent).
//!
//! One test binary (each binary links the whole crate graph), its tests grouped by format in
//! `data/`: `image_folder`, `cifar`, `mnist`, `normalization` and malformed input
//! (`bad_input`); the shared fixtures are here.

mod bad_input;
mod cifar;
#[path = "../common/mod.rs"]
mod common;
mod image_folder;
mod mnist;
mod normalization;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use heaccel_host::data::{
    cifar_binary, DataError, DataFormat, Dataset, LoadOptions, Normalization,
};
use heaccel_host::nn::Shape;
use image::{GrayImage, ImageFormat, Rgb, RgbImage};

/// A fresh, empty scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heaccel-data-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

fn options(channels: usize, height: usize, width: usize, per_class: Option<usize>) -> LoadOptions {
    LoadOptions {
        shape: Shape::new(channels, height, width),
        per_class,
    }
}

/// The value fixture image `id` holds at channel `c`, row `y`, column `x` (mod 256): distinct
/// across the channels and positions of a 5 x 4 image, and shifted by 37 per image.
fn pixel(id: u8, c: usize, y: usize, x: usize) -> u8 {
    (usize::from(id) * 37 + c * 20 + y * 5 + x) as u8
}

/// An RGB image `width` x `height` of fixture values, and its CHW pixels.
fn rgb_fixture(id: u8, width: usize, height: usize) -> (RgbImage, Vec<u8>) {
    let image = RgbImage::from_fn(width as u32, height as u32, |x, y| {
        Rgb(std::array::from_fn(|c| {
            pixel(id, c, y as usize, x as usize)
        }))
    });
    let mut chw = Vec::with_capacity(3 * width * height);
    for c in 0..3 {
        for y in 0..height {
            for x in 0..width {
                chw.push(pixel(id, c, y, x));
            }
        }
    }
    (image, chw)
}

fn png_bytes(image: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

fn grey_png_bytes(image: &GrayImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

fn jpeg_bytes(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 100)
        .encode_image(image)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Opens `path` expecting an error; returns it and its message.
fn open_err(path: &Path, options: LoadOptions) -> (DataError, String) {
    match Dataset::open(path, options) {
        Ok(d) => panic!(
            "{} opened as {} with {} samples, expected an error",
            path.display(),
            d.format,
            d.len()
        ),
        Err(e) => {
            let message = e.to_string();
            (e, message)
        }
    }
}

/// Asserts `message` names `path` and holds every one of `parts`.
fn assert_names(message: &str, path: &Path, parts: &[&str]) {
    let shown = path.display().to_string();
    assert!(
        message.contains(&shown),
        "message does not name {shown}: {message}"
    );
    for part in parts {
        assert!(message.contains(part), "message lacks `{part}`: {message}");
    }
}
