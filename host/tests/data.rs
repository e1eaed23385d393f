//! The dataset readers (`heaccel_host::data`) on fixtures written here, byte by byte or with
//! the `image` crate: ImageFolder (PNG exact, JPEG near), CIFAR-10 binary batches, MNIST IDX
//! raw and gzipped, per-channel normalization, and malformed input, whose errors must name the
//! file and the problem. One test reads the real MNIST 10k of `../shared/data` (skipped with a
//! notice when absent).

mod common;

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

// ---------------------------------------------------------------- ImageFolder

/// root/{bird, airplane, cat} created out of order, each with PNG files out of order, plus
/// hidden files and folders and non-image files that must be ignored. Image ids: airplane
/// a=0 b=1 c=2, bird a=3 b=4, cat a=5. Images are 5 wide, 4 high.
fn write_image_folder(root: &Path) {
    let (w, h) = (5, 4);
    let png = |id| png_bytes(&rgb_fixture(id, w, h).0);
    write(&root.join("bird/b.png"), &png(4));
    write(&root.join("bird/a.png"), &png(3));
    write(&root.join("airplane/c.PNG"), &png(2)); // extensions compare case-insensitively
    write(&root.join("airplane/a.png"), &png(0));
    write(&root.join("airplane/b.png"), &png(1));
    write(&root.join("cat/a.png"), &png(5));
    // ignored: hidden files and folders, files of other extensions, files beside the classes
    write(&root.join("airplane/.0.png"), &png(7));
    write(&root.join("airplane/notes.txt"), b"not an image");
    write(&root.join("airplane/a.png.orig"), b"not an image either");
    write(&root.join("bird/.DS_Store"), b"\0\0\0\x01Bud1");
    write(&root.join(".hidden/a.png"), &png(6));
    write(&root.join("README.txt"), b"CIFAR-like fixture");
}

#[test]
fn image_folder_png_is_exact_in_chw_order_with_sorted_labels() {
    let root = scratch("folder");
    write_image_folder(&root);
    let d = Dataset::open(&root, options(3, 4, 5, None)).unwrap();
    assert_eq!(d.format, DataFormat::ImageFolder);
    assert_eq!(d.source, root);
    assert_eq!(d.shape, Shape::new(3, 4, 5));
    assert_eq!(d.classes, ["airplane", "bird", "cat"]);
    assert_eq!(d.class_counts(), [3, 2, 1]);
    let expected: [(usize, &str, u8); 6] = [
        (0, "airplane/a.png", 0),
        (0, "airplane/b.png", 1),
        (0, "airplane/c.PNG", 2),
        (1, "bird/a.png", 3),
        (1, "bird/b.png", 4),
        (2, "cat/a.png", 5),
    ];
    assert_eq!(d.len(), expected.len());
    for (sample, (label, origin, id)) in d.samples.iter().zip(expected) {
        assert_eq!(sample.label, label, "{}", sample.origin);
        assert_eq!(Path::new(&sample.origin), Path::new(origin));
        assert_eq!(sample.pixels, rgb_fixture(id, 5, 4).1, "{origin}");
    }
    // spot checks of the CHW layout against the formula: plane c, row y, column x
    let s = &d.samples[4]; // bird/b.png, id 4: 148 + 20 c + 5 y + x
    assert_eq!(s.pixels[0], 148); // c 0, y 0, x 0
    assert_eq!(s.pixels[4], 152); // c 0, y 0, x 4
    assert_eq!(s.pixels[5], 153); // c 0, y 1, x 0
    assert_eq!(s.pixels[20], 168); // c 1, y 0, x 0
    assert_eq!(s.pixels[59], 207); // c 2, y 3, x 4
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn image_folder_per_class_keeps_the_first_k_by_sorted_name() {
    let root = scratch("folder-k");
    write_image_folder(&root);
    let d = Dataset::open(&root, options(3, 4, 5, Some(2))).unwrap();
    let origins: Vec<PathBuf> = d.samples.iter().map(|s| PathBuf::from(&s.origin)).collect();
    let want: Vec<PathBuf> = [
        "airplane/a.png",
        "airplane/b.png",
        "bird/a.png",
        "bird/b.png",
    ]
    .iter()
    .chain(&["cat/a.png"])
    .map(PathBuf::from)
    .collect();
    assert_eq!(origins, want);
    assert_eq!(d.class_counts(), [2, 2, 1]);
    assert_eq!(d.samples[1].pixels, rgb_fixture(1, 5, 4).1);
    let one = Dataset::open(&root, options(3, 4, 5, Some(1))).unwrap();
    let labels: Vec<usize> = one.samples.iter().map(|s| s.label).collect();
    assert_eq!(labels, [0, 1, 2]);
    assert_eq!(one.samples[1].pixels, rgb_fixture(3, 5, 4).1);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn image_folder_converts_grey_to_rgb_and_reads_grey_as_one_channel() {
    let root = scratch("grey");
    let grey = GrayImage::from_fn(3, 2, |x, y| image::Luma([(10 + 40 * y + 7 * x) as u8]));
    write(&root.join("digit/one.png"), &grey_png_bytes(&grey));
    let plane = [10u8, 17, 24, 50, 57, 64];
    let rgb = Dataset::open(&root, options(3, 2, 3, None)).unwrap();
    assert_eq!(rgb.samples.len(), 1);
    assert_eq!(rgb.samples[0].pixels, plane.repeat(3));
    let one = Dataset::open(&root, options(1, 2, 3, None)).unwrap();
    assert_eq!(one.shape, Shape::new(1, 2, 3));
    assert_eq!(one.samples[0].pixels, plane);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn image_folder_reads_jpeg_close_to_its_source() {
    // JPEG is lossy: a smooth 8x8 image at quality 100 decodes within a few levels.
    let root = scratch("jpeg");
    let image = RgbImage::from_fn(8, 8, |x, y| {
        Rgb([200, (100 + 4 * x) as u8, (30 + 3 * y) as u8])
    });
    write(&root.join("a/x.jpg"), &jpeg_bytes(&image));
    write(&root.join("b/y.JPEG"), &jpeg_bytes(&image));
    let d = Dataset::open(&root, options(3, 8, 8, None)).unwrap();
    assert_eq!(d.class_counts(), [1, 1]);
    for s in &d.samples {
        assert_eq!(s.pixels.len(), 3 * 64);
        for c in 0..3 {
            for y in 0..8 {
                for x in 0..8 {
                    let got = s.pixels[c * 64 + y * 8 + x];
                    let want = image.get_pixel(x as u32, y as u32)[c];
                    assert!(
                        got.abs_diff(want) <= 4,
                        "{} c {c} y {y} x {x}: {got} vs {want}",
                        s.origin
                    );
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(root);
}

// ---------------------------------------------------------------- CIFAR-10 binary

/// A CIFAR-10 record: `label`, then 3,072 pixel bytes derived from `seed`.
fn cifar_record(label: u8, seed: u8) -> Vec<u8> {
    let mut r = vec![label];
    r.extend((0..3072usize).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)));
    r
}

#[test]
fn cifar_binary_single_file_records_in_order() {
    let dir = scratch("cifar-file");
    let file = dir.join("test_batch.bin");
    let labels = [3u8, 0, 9, 3, 0];
    let bytes: Vec<u8> = labels
        .iter()
        .enumerate()
        .flat_map(|(i, &l)| cifar_record(l, i as u8 * 11))
        .collect();
    assert_eq!(bytes.len(), 5 * cifar_binary::RECORD_BYTES);
    write(&file, &bytes);
    let d = Dataset::open(&file, options(3, 32, 32, None)).unwrap();
    assert_eq!(d.format, DataFormat::CifarBinary);
    assert_eq!(d.shape, Shape::new(3, 32, 32));
    assert_eq!(d.classes, cifar_binary::CLASSES);
    assert_eq!(d.classes[9], "truck");
    let got: Vec<(usize, &str)> = d
        .samples
        .iter()
        .map(|s| (s.label, s.origin.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, "test_batch.bin#0"),
            (0, "test_batch.bin#1"),
            (9, "test_batch.bin#2"),
            (3, "test_batch.bin#3"),
            (0, "test_batch.bin#4"),
        ]
    );
    for (i, s) in d.samples.iter().enumerate() {
        assert_eq!(s.pixels, cifar_record(0, i as u8 * 11)[1..], "record {i}");
    }
    // the record's pixels are already CHW: red plane, green plane, blue plane
    assert_eq!(d.samples[1].pixels[1024], (1024usize * 7 % 256) as u8 + 11);
    // per class: label order, then file order
    let k = Dataset::open(&file, options(3, 32, 32, Some(1))).unwrap();
    let origins: Vec<&str> = k.samples.iter().map(|s| s.origin.as_str()).collect();
    assert_eq!(
        origins,
        ["test_batch.bin#1", "test_batch.bin#0", "test_batch.bin#2"]
    );
    assert_eq!(k.class_counts(), [1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn cifar_binary_folder_reads_data_batches_in_numeric_order() {
    let dir = scratch("cifar-folder");
    write(&dir.join("data_batch_2.bin"), &cifar_record(2, 2));
    write(
        &dir.join("data_batch_10.bin"),
        &[cifar_record(8, 10), cifar_record(1, 11)].concat(),
    );
    write(&dir.join("data_batch_1.bin"), &cifar_record(5, 1));
    // not training batches: ignored in a folder
    write(&dir.join("test_batch.bin"), &cifar_record(7, 99));
    write(&dir.join("data_batch_x.bin"), b"junk");
    write(&dir.join("readme.html"), b"<html>");
    let d = Dataset::open(&dir, options(3, 32, 32, None)).unwrap();
    assert_eq!(d.format, DataFormat::CifarBinary);
    let got: Vec<(usize, &str)> = d
        .samples
        .iter()
        .map(|s| (s.label, s.origin.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (5, "data_batch_1.bin#0"),
            (2, "data_batch_2.bin#0"),
            (8, "data_batch_10.bin#0"),
            (1, "data_batch_10.bin#1"),
        ]
    );
    assert_eq!(d.samples[3].pixels, cifar_record(0, 11)[1..]);
    // class names from batches.meta.txt beside the batches
    write(
        &dir.join("batches.meta.txt"),
        b"a\nb\n\nc\nd\ne\nf\ng\nh\ni\nj\n",
    );
    let named = Dataset::open(&dir, options(3, 32, 32, None)).unwrap();
    assert_eq!(
        named.classes,
        ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
    );
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------- MNIST IDX

/// IDX images (5 of 3 rows x 4 columns) and labels.
fn idx_files(labels: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<Vec<u8>>) {
    let n = labels.len() as u32;
    let mut images = Vec::new();
    images.extend(0x0000_0803u32.to_be_bytes());
    images.extend(n.to_be_bytes());
    images.extend(3u32.to_be_bytes());
    images.extend(4u32.to_be_bytes());
    let pixels: Vec<Vec<u8>> = (0..labels.len())
        .map(|i| (0..12).map(|j| (i * 20 + j) as u8).collect())
        .collect();
    images.extend(pixels.concat());
    let mut label_file = Vec::new();
    label_file.extend(0x0000_0801u32.to_be_bytes());
    label_file.extend(n.to_be_bytes());
    label_file.extend(labels);
    (images, label_file, pixels)
}

const MNIST_LABELS: [u8; 5] = [7, 2, 7, 0, 9];

fn check_mnist(d: &Dataset, pixels: &[Vec<u8>], images_name: &str) {
    assert_eq!(d.format, DataFormat::MnistIdx);
    assert_eq!(d.shape, Shape::new(1, 3, 4));
    assert_eq!(
        d.classes,
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
    );
    assert_eq!(d.len(), 5);
    for (i, s) in d.samples.iter().enumerate() {
        assert_eq!(s.label, usize::from(MNIST_LABELS[i]));
        assert_eq!(s.origin, format!("{images_name}#{i}"));
        assert_eq!(s.pixels, pixels[i]);
    }
}

#[test]
fn mnist_idx_raw_and_gzipped_read_the_same() {
    let (images, labels, pixels) = idx_files(&MNIST_LABELS);
    let raw = scratch("mnist-raw");
    write(&raw.join("t10k-images-idx3-ubyte"), &images);
    write(&raw.join("t10k-labels-idx1-ubyte"), &labels);
    let d = Dataset::open(&raw, options(1, 3, 4, None)).unwrap();
    check_mnist(&d, &pixels, "t10k-images-idx3-ubyte");
    assert_eq!(d.samples[4].pixels[11], 91);

    let gz = scratch("mnist-gz");
    write(&gz.join("images-idx3-ubyte.gz"), &gzip(&images));
    write(&gz.join("labels-idx1-ubyte.gz"), &gzip(&labels));
    let g = Dataset::open(&gz, options(1, 3, 4, None)).unwrap();
    check_mnist(&g, &pixels, "images-idx3-ubyte.gz");

    // one gzipped, one not
    let mixed = scratch("mnist-mixed");
    write(&mixed.join("images-idx3-ubyte"), &images);
    write(&mixed.join("labels-idx1-ubyte.gz"), &gzip(&labels));
    check_mnist(
        &Dataset::open(&mixed, options(1, 3, 4, None)).unwrap(),
        &pixels,
        "images-idx3-ubyte",
    );

    // per class: label order, then file order
    let k = Dataset::open(&gz, options(1, 3, 4, Some(1))).unwrap();
    let got: Vec<(usize, &str)> = k
        .samples
        .iter()
        .map(|s| (s.label, s.origin.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (0, "images-idx3-ubyte.gz#3"),
            (2, "images-idx3-ubyte.gz#1"),
            (7, "images-idx3-ubyte.gz#0"),
            (9, "images-idx3-ubyte.gz#4"),
        ]
    );
    for dir in [raw, gz, mixed] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn mnist_10k_has_the_documented_counts() {
    let Some(dir) = common::mnist_10k() else {
        return;
    };
    let d = Dataset::open(&dir, options(1, 28, 28, None)).unwrap();
    assert_eq!(d.format, DataFormat::MnistIdx);
    assert_eq!(d.len(), 10_000);
    assert_eq!(d.shape, Shape::new(1, 28, 28));
    assert!(d.samples.iter().all(|s| s.pixels.len() == 784));
    let counts = d.class_counts();
    assert_eq!(counts.len(), 10);
    assert_eq!(counts.iter().sum::<usize>(), 10_000);
    for (digit, &n) in counts.iter().enumerate() {
        assert!((863..=1127).contains(&n), "digit {digit}: {n} images");
    }
    // the README's range is the actual minimum and maximum
    assert_eq!(counts.iter().min(), Some(&863));
    assert_eq!(counts.iter().max(), Some(&1127));
    // MNIST's well-known mean intensity (0.1307 on the training set)
    let sum: u64 = d
        .samples
        .iter()
        .flat_map(|s| &s.pixels)
        .map(|&p| u64::from(p))
        .sum();
    let mean = sum as f64 / (10_000.0 * 784.0 * 255.0);
    assert!((0.12..0.14).contains(&mean), "mean intensity {mean}");
    // per class on the real set
    let k = Dataset::open(&dir, options(1, 28, 28, Some(3))).unwrap();
    assert_eq!(k.class_counts(), [3; 10]);
}

// ---------------------------------------------------------------- normalization

#[test]
fn normalization_is_per_channel_on_unit_pixels() {
    // one CIFAR record: red plane 255, green plane 0, blue plane 51 (0.2), first pixel of
    // each plane 128
    let dir = scratch("norm");
    let mut record = vec![1u8];
    record.extend([255u8; 1024]);
    record.extend([0u8; 1024]);
    record.extend([51u8; 1024]);
    for c in 0..3 {
        record[1 + c * 1024] = 128;
    }
    let file = dir.join("one.bin");
    write(&file, &record);
    let d = Dataset::open(&file, options(3, 32, 32, None)).unwrap();

    let imagenet = Normalization::imagenet();
    assert_eq!(imagenet.mean, [0.485, 0.456, 0.406]);
    assert_eq!(imagenet.std, [0.229, 0.224, 0.225]);
    imagenet.check(3).unwrap();
    let x = d.input(0, &imagenet);
    assert_eq!(x.len(), 3072);
    let close =
        |got: f32, want: f64| assert!((f64::from(got) - want).abs() < 1e-5, "{got} vs {want}");
    close(x[1], (1.0 - 0.485) / 0.229); // 2.2489...
    close(x[1023], (1.0 - 0.485) / 0.229);
    close(x[1024 + 1], (0.0 - 0.456) / 0.224); // -2.0357...
    close(x[2048 + 1], (0.2 - 0.406) / 0.225); // -0.9155...
    close(x[0], (128.0 / 255.0 - 0.485) / 0.229);
    close(x[1024], (128.0 / 255.0 - 0.456) / 0.224);
    close(x[2048], (128.0 / 255.0 - 0.406) / 0.225);
    close(x[3071], (0.2 - 0.406) / 0.225);

    let identity = Normalization::identity(3);
    assert_eq!(identity.mean, [0.0; 3]);
    assert_eq!(identity.std, [1.0; 3]);
    let y = d.input(0, &identity);
    close(y[1], 1.0);
    close(y[1025], 0.0);
    close(y[2049], 0.2);
    close(y[0], 128.0 / 255.0);

    let custom = Normalization {
        mean: vec![0.5, 0.25, -1.0],
        std: vec![0.5, 2.0, 4.0],
    };
    custom.check(3).unwrap();
    let z = d.input(0, &custom);
    close(z[1], 1.0);
    close(z[1025], -0.125);
    close(z[2049], 0.3);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn normalization_refuses_wrong_channel_counts_and_bad_values() {
    let check = |mean: Vec<f32>, std: Vec<f32>, channels: usize| {
        Normalization { mean, std }
            .check(channels)
            .expect_err("should be refused")
            .to_string()
    };
    let e = Normalization::imagenet().check(1).unwrap_err().to_string();
    assert_eq!(e, "normalization `mean`: 3 values for 1 channels");
    let e = check(vec![0.5; 3], vec![0.2; 2], 3);
    assert_eq!(e, "normalization `std`: 2 values for 3 channels");
    let e = check(vec![0.5], vec![0.0], 1);
    assert_eq!(e, "normalization `std`: 0 must be > 0");
    let e = check(vec![0.5; 3], vec![0.2, -0.1, 0.2], 3);
    assert_eq!(e, "normalization `std`: -0.1 must be > 0");
    let e = check(vec![0.5, f32::NAN, 0.5], vec![0.2; 3], 3);
    assert_eq!(e, "normalization `mean`: NaN is not finite");
    let e = check(vec![0.5], vec![f32::INFINITY], 1);
    assert_eq!(e, "normalization `std`: inf is not finite");
    Normalization::identity(1).check(1).unwrap();
}

// ---------------------------------------------------------------- bad input

#[test]
fn corrupt_and_truncated_images_name_the_file() {
    let root = scratch("bad-images");
    let opts = options(3, 8, 8, None);
    let image = rgb_fixture(1, 8, 8).0;

    // bytes that are no image at all, under a .png name
    let garbage = root.join("garbage/c/x.png");
    write(
        &garbage,
        b"this is not a PNG file, just text of some length\n",
    );
    let (e, m) = open_err(&root.join("garbage"), opts);
    assert!(matches!(e, DataError::Decode { .. }), "{e:?}");
    assert_names(&m, &garbage, &["not a valid image"]);

    // a PNG cut in the middle of its pixel data (the header, and so the size, is intact)
    let png = png_bytes(&image);
    let cut = root.join("png/c/x.png");
    write(&cut, &png[..png.len() / 2]);
    let (e, m) = open_err(&root.join("png"), opts);
    assert!(matches!(e, DataError::Decode { .. }), "{e:?}");
    assert_names(&m, &cut, &["not a valid image"]);

    // JPEGs cut short: in the middle of the entropy-coded data (the decoder alone fills the
    // rest with made-up pixels and no error), by the two bytes of the end-of-image marker, and
    // inside the header
    let big = rgb_fixture(1, 32, 32).0;
    let jpeg = jpeg_bytes(&big);
    let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let opts32 = options(3, 32, 32, None);
    for (name, end) in [
        ("jpeg-half", sos + (jpeg.len() - sos) / 2),
        ("jpeg-eoi", jpeg.len() - 2),
        ("jpeg-head", 20),
    ] {
        assert!(
            name == "jpeg-head" || end > sos + 100,
            "{name}: the cut is in the scan"
        );
        let cut = root.join(name).join("c/x.jpg");
        write(&cut, &jpeg[..end]);
        let (e, m) = open_err(&root.join(name), opts32);
        assert!(matches!(e, DataError::Decode { .. }), "{name}: {e:?}");
        assert_names(&m, &cut, &["not a valid image"]);
        if name != "jpeg-head" {
            assert!(m.contains("end-of-image marker"), "{m}");
        }
    }
    // ... while bytes after the end-of-image marker, and an APP1 segment whose payload holds
    // marker-like bytes (as an EXIF thumbnail does), are fine
    let full = root.join("jpeg-full");
    write(&full.join("c/x.jpg"), &jpeg);
    let reference = Dataset::open(&full, opts32).unwrap().samples[0]
        .pixels
        .clone();
    let max_diff = reference
        .iter()
        .zip(rgb_fixture(1, 32, 32).1)
        .map(|(a, b)| a.abs_diff(b))
        .max();
    assert!(max_diff < Some(16), "{max_diff:?}");
    let trailing = root.join("jpeg-trailing");
    write(
        &trailing.join("c/x.jpg"),
        &[&jpeg[..], b"\0\0junk\xFF\xDA"].concat(),
    );
    assert_eq!(
        Dataset::open(&trailing, opts32).unwrap().samples[0].pixels,
        reference
    );
    let payload = b"Exif\0\0\xFF\xD8\xFF\xDA\x00\x02\xFF\xD9";
    let mut app1 = vec![0xFF, 0xE1, 0, payload.len() as u8 + 2];
    app1.extend(payload);
    let with_app1 = [&jpeg[..2], &app1[..], &jpeg[2..]].concat();
    let thumb = root.join("jpeg-app1");
    write(&thumb.join("c/x.jpg"), &with_app1);
    assert_eq!(
        Dataset::open(&thumb, opts32).unwrap().samples[0].pixels,
        reference
    );
    let cut = root.join("jpeg-app1-cut/c/x.jpg");
    write(&cut, &with_app1[..with_app1.len() - 100]);
    let (_, m) = open_err(&root.join("jpeg-app1-cut"), opts32);
    assert_names(&m, &cut, &["end-of-image marker"]);

    // an empty .png
    let empty = root.join("empty/c/x.png");
    write(&empty, b"");
    let (_, m) = open_err(&root.join("empty"), opts);
    assert_names(&m, &empty, &["not a valid image"]);

    // the bad file among good ones is the one named
    let mixed = root.join("mixed");
    write(&mixed.join("a/1.png"), &png);
    write(&mixed.join("b/1.png"), &png);
    write(&mixed.join("b/2.png"), &png[..png.len() - 30]);
    write(&mixed.join("b/3.png"), &png);
    let (_, m) = open_err(&mixed, opts);
    assert_names(&m, &mixed.join("b/2.png"), &["not a valid image"]);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn wrong_image_size_names_the_file_and_both_sizes() {
    let root = scratch("bad-size");
    // 5 wide, 4 high; the model wants 4 wide, 5 high
    let file = root.join("c/x.png");
    write(&file, &png_bytes(&rgb_fixture(0, 5, 4).0));
    let (e, m) = open_err(&root, options(3, 5, 4, None));
    assert!(
        matches!(
            e,
            DataError::ImageSize {
                width: 4,
                height: 5,
                got_width: 5,
                got_height: 4,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&m, &file, &["image is 5x4, expected 4x5"]);
    // the CIFAR shape for an MNIST-sized image
    let other = root.join("d/y.png");
    write(&other, &grey_png_bytes(&GrayImage::new(28, 28)));
    std::fs::remove_file(&file).unwrap();
    write(&file, &png_bytes(&rgb_fixture(0, 32, 32).0));
    let (_, m) = open_err(&root, options(3, 32, 32, None));
    assert_names(&m, &other, &["image is 28x28, expected 32x32"]);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn empty_class_folder_is_named() {
    let root = scratch("empty-class");
    write(&root.join("a/x.png"), &png_bytes(&rgb_fixture(0, 4, 4).0));
    write(&root.join("b/notes.txt"), b"no images here");
    write(
        &root.join("b/.hidden.png"),
        &png_bytes(&rgb_fixture(0, 4, 4).0),
    );
    let (e, m) = open_err(&root, options(3, 4, 4, None));
    assert!(matches!(e, DataError::EmptyClass { .. }), "{e:?}");
    assert_names(
        &m,
        &root.join("b"),
        &["class folder holds no .jpg, .jpeg or .png file"],
    );
    // a class folder with nothing at all
    std::fs::remove_dir_all(root.join("b")).unwrap();
    std::fs::create_dir(root.join("0-empty")).unwrap();
    let (_, m) = open_err(&root, options(3, 4, 4, None));
    assert_names(&m, &root.join("0-empty"), &["class folder holds no"]);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn cifar_bad_label_and_truncated_records_are_named() {
    let dir = scratch("bad-cifar");
    let opts = options(3, 32, 32, None);

    let file = dir.join("labels.bin");
    write(
        &file,
        &[cifar_record(9, 0), cifar_record(10, 1), cifar_record(0, 2)].concat(),
    );
    let (e, m) = open_err(&file, opts);
    assert!(
        matches!(
            e,
            DataError::Label {
                index: 1,
                label: 10,
                classes: 10,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&m, &file, &["record 1 has label 10, expected 0..10"]);
    let file = dir.join("label255.bin");
    write(&file, &cifar_record(255, 0));
    let (_, m) = open_err(&file, opts);
    assert_names(&m, &file, &["record 0 has label 255"]);

    let file = dir.join("short.bin");
    let two = [cifar_record(1, 0), cifar_record(2, 1)].concat();
    write(&file, &two[..two.len() - 100]);
    let (e, m) = open_err(&file, opts);
    assert!(
        matches!(
            e,
            DataError::Format {
                field: "length",
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(
        &m,
        &file,
        &[
            "field `length`",
            "6046 bytes",
            "3073-byte record",
            "truncated",
        ],
    );
    let file = dir.join("empty.bin");
    write(&file, b"");
    let (_, m) = open_err(&file, opts);
    assert_names(&m, &file, &["field `length`", "0 bytes"]);

    // in a folder of batches, the bad batch is the one named
    let folder = dir.join("batches");
    write(&folder.join("data_batch_1.bin"), &cifar_record(1, 0));
    write(&folder.join("data_batch_2.bin"), &two[..3000]);
    let (_, m) = open_err(&folder, opts);
    assert_names(
        &m,
        &folder.join("data_batch_2.bin"),
        &["field `length`", "3000 bytes"],
    );
    // class names from batches.meta.txt bound the labels
    write(&folder.join("data_batch_2.bin"), &cifar_record(2, 0));
    write(&folder.join("batches.meta.txt"), b"yes\nno\n");
    let (_, m) = open_err(&folder, opts);
    assert_names(
        &m,
        &folder.join("data_batch_2.bin"),
        &["record 0 has label 2, expected 0..2"],
    );
    // a CIFAR batch opened for a model of another shape
    let file = dir.join("ok.bin");
    write(&file, &cifar_record(1, 0));
    let (e, m) = open_err(&file, options(1, 28, 28, None));
    assert!(matches!(e, DataError::Shape { .. }), "{e:?}");
    assert_names(
        &m,
        &file,
        &["images are (3, 32, 32), the model expects (1, 28, 28)"],
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn mnist_bad_files_are_named() {
    let (images, labels, _) = idx_files(&MNIST_LABELS);
    let opts = options(1, 3, 4, None);
    let root = scratch("bad-mnist");
    let case =
        |name: &str, image_bytes: &[u8], label_bytes: &[u8]| -> (PathBuf, PathBuf, PathBuf) {
            let dir = root.join(name);
            let (i, l) = (dir.join("images-idx3-ubyte"), dir.join("labels-idx1-ubyte"));
            write(&i, image_bytes);
            write(&l, label_bytes);
            (dir, i, l)
        };

    // wrong magic: a labels magic in the images file, and an images magic in the labels
    let mut bad = images.clone();
    bad[3] = 0x01;
    let (dir, i, _) = case("magic", &bad, &labels);
    let (e, m) = open_err(&dir, opts);
    assert!(
        matches!(e, DataError::Format { field: "magic", .. }),
        "{e:?}"
    );
    assert_names(&m, &i, &["field `magic`: 0x00000801, expected 0x00000803"]);
    let mut bad = labels.clone();
    bad[3] = 0x03;
    let (dir, _, l) = case("magic-labels", &images, &bad);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &l, &["field `magic`: 0x00000803, expected 0x00000801"]);
    // little-endian magic (a common mistake when writing IDX by hand)
    let mut le = images.clone();
    le[..4].copy_from_slice(&0x0000_0803u32.to_le_bytes());
    let (dir, i, _) = case("magic-le", &le, &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &i, &["field `magic`: 0x03080000"]);

    // 5 images, 4 labels
    let (_, four, _) = idx_files(&MNIST_LABELS[..4]);
    let (dir, i, l) = case("count", &images, &four);
    let (e, m) = open_err(&dir, opts);
    assert!(
        matches!(e, DataError::Format { field: "count", .. }),
        "{e:?}"
    );
    assert_names(&m, &l, &["field `count`: 4 labels for the 5 images of"]);
    assert!(m.contains(&i.display().to_string()), "{m}");

    // truncated payload, truncated header, gzipped and not
    let (dir, i, _) = case("short", &images[..images.len() - 1], &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(
        &m,
        &i,
        &["field `length`: 59 data bytes, the header's dimensions [5, 3, 4] need 60"],
    );
    let (dir, _, l) = case("short-labels", &images, &labels[..labels.len() - 2]);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &l, &["field `length`: 3 data bytes", "need 5"]);
    let (dir, i, _) = case("header", &images[..10], &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(
        &m,
        &i,
        &["field `header`: 10 bytes, expected a 16-byte header"],
    );
    let (dir, i, _) = case("short-gz", &gzip(&images[..40]), &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &i, &["field `length`: 24 data bytes"]);
    // a gzip stream cut short
    let gz = gzip(&images);
    let (dir, i, _) = case("cut-gz", &gz[..gz.len() / 2], &labels);
    let (e, m) = open_err(&dir, opts);
    assert!(
        matches!(e, DataError::Format { field: "gzip", .. }),
        "{e:?}"
    );
    assert_names(&m, &i, &["field `gzip`: does not decompress"]);

    // a label of 10
    let (_, bad_label, _) = idx_files(&[1, 2, 10, 3, 4]);
    let (dir, _, l) = case("label", &images, &bad_label);
    let (e, m) = open_err(&dir, opts);
    assert!(
        matches!(
            e,
            DataError::Label {
                index: 2,
                label: 10,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&m, &l, &["record 2 has label 10, expected 0..10"]);

    // a header declaring an absurd number of images: refused before any allocation
    let mut huge = images.clone();
    huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    huge[8..12].copy_from_slice(&60_000u32.to_be_bytes());
    let (dir, i, _) = case("huge", &huge, &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &i, &["field `dimensions`", "declare more than"]);
    let mut zero = images.clone();
    zero[8..12].copy_from_slice(&0u32.to_be_bytes());
    let (dir, i, _) = case("zero", &zero[..16], &labels);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &i, &["field `dimensions`", "zero dimension"]);

    // two images files: ambiguous, both listed
    let dir = root.join("two");
    write(&dir.join("a-idx3-ubyte"), &images);
    write(&dir.join("b-idx3-ubyte.gz"), &gzip(&images));
    write(&dir.join("labels-idx1-ubyte"), &labels);
    let (e, m) = open_err(&dir, opts);
    assert!(matches!(e, DataError::Layout { .. }), "{e:?}");
    assert_names(
        &m,
        &dir,
        &["a-idx3-ubyte", "b-idx3-ubyte.gz", "expected one"],
    );
    // no labels file
    let dir = root.join("no-labels");
    write(&dir.join("images-idx3-ubyte"), &images);
    let (_, m) = open_err(&dir, opts);
    assert_names(&m, &dir, &["no MNIST file whose name contains `idx1`"]);
    // 3x4 digits for a 28x28 model
    let (dir, _, _) = case("shape", &images, &labels);
    let (e, m) = open_err(&dir, options(1, 28, 28, None));
    assert!(matches!(e, DataError::Shape { .. }), "{e:?}");
    assert_names(
        &m,
        &dir,
        &["images are (1, 3, 4), the model expects (1, 28, 28)"],
    );
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn paths_that_hold_no_dataset_are_named() {
    let root = scratch("no-dataset");
    let opts = options(3, 32, 32, None);

    // a folder of loose files
    let loose = root.join("loose");
    write(&loose.join("notes.txt"), b"hello");
    write(&loose.join("x.png"), &png_bytes(&rgb_fixture(0, 32, 32).0));
    let (e, m) = open_err(&loose, opts);
    assert!(matches!(e, DataError::Layout { .. }), "{e:?}");
    assert_names(
        &m,
        &loose,
        &["not a dataset", "class folders", "data_batch_*.bin", "idx3"],
    );
    // an empty folder
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (_, m) = open_err(&empty, opts);
    assert_names(&m, &empty, &["not a dataset"]);
    // only hidden folders
    let hidden = root.join("hidden");
    write(
        &hidden.join(".git/x.png"),
        &png_bytes(&rgb_fixture(0, 32, 32).0),
    );
    let (_, m) = open_err(&hidden, opts);
    assert_names(&m, &hidden, &["not a dataset", "no class folders"]);
    // a missing path
    let missing = root.join("does-not-exist");
    let (e, m) = open_err(&missing, opts);
    assert!(matches!(e, DataError::Io { .. }), "{e:?}");
    assert_names(&m, &missing, &["no such file or folder"]);
    // a single file that is not a CIFAR batch (an image given where a folder was meant)
    let file = loose.join("x.png");
    let (_, m) = open_err(&file, opts);
    assert_names(&m, &file, &["field `length`", "not a CIFAR-10 batch"]);
    let _ = std::fs::remove_dir_all(root);
}
