//! MNIST IDX, raw and gzipped, and the real MNIST 10k of `../shared/data` when present.

use super::*;

/// IDX images (5 of 3 rows x 4 columns) and labels.
pub(super) fn idx_files(labels: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<Vec<u8>>) {
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

pub(super) const MNIST_LABELS: [u8; 5] = [7, 2, 7, 0, 9];

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
