//! The project's test data in `../shared/data/` (beside the checkout; see its README), for
//! tests that need real images or trained weights. Each accessor returns `None`, after printing
//! a notice naming what is missing, when the data is absent, so such tests skip instead of
//! failing on a machine without it.

#![allow(dead_code)] // each test binary uses some of these

pub mod nets;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `../shared/data` relative to the workspace root.
pub fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "notice: {} is absent: skipping a test that needs the shared test data",
            dir.display()
        );
        None
    }
}

/// A file of `../shared/data`, or `None` with a notice.
pub fn shared_file(name: &str) -> Option<PathBuf> {
    let path = shared_data()?.join(name);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("notice: {} is absent: skipping", path.display());
        None
    }
}

/// The pretrained CIFAR-10 ResNet of `depth` (20, 32, 44, 56).
pub fn resnet_weights(depth: usize) -> Option<PathBuf> {
    shared_file(&format!("resnet{depth}-akamaster.safetensors"))
}

/// The CIFAR-10 JPEG ImageFolder root (holding `train/` and `test/`), extracted once per
/// build from `cifar10-jpeg.tar.gz` into the test scratch folder (into a temporary name, then
/// renamed, so an interrupted extraction is never taken for a whole one).
pub fn cifar10_jpeg() -> Option<PathBuf> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let archive = shared_file("cifar10-jpeg.tar.gz")?;
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("shared-data");
        let root = scratch.join("cifar10");
        if root.join("test").is_dir() && root.join("train").is_dir() {
            return Some(root);
        }
        let partial = scratch.join(format!("partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).expect("scratch folder");
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&partial)
            .status()
            .expect("tar runs");
        assert!(status.success(), "tar -xzf {} failed", archive.display());
        match std::fs::rename(partial.join("cifar10"), &root) {
            Ok(()) => {}
            // Another test binary finished first: keep its copy.
            Err(_) if root.join("test").is_dir() => {}
            Err(e) => panic!("rename into {}: {e}", root.display()),
        }
        let _ = std::fs::remove_dir_all(&partial);
        Some(root)
    })
    .clone()
}

/// The MNIST 10k folder (gzipped IDX images and labels).
pub fn mnist_10k() -> Option<PathBuf> {
    shared_file("mnist-10k")
}

/// Writes raw MNIST IDX files (`t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`) of
/// `labels.len()` 28x28 images into `dir`: image `k` is `pixels[k]` (784 bytes, row-major).
pub fn write_mnist_idx(dir: &Path, labels: &[u8], pixels: &[Vec<u8>]) {
    assert_eq!(labels.len(), pixels.len(), "one label per image");
    let n = labels.len() as u32;
    let mut images = Vec::new();
    for word in [0x0803u32, n, 28, 28] {
        images.extend(word.to_be_bytes());
    }
    for p in pixels {
        assert_eq!(p.len(), 784, "28x28 pixels");
        images.extend(p);
    }
    let mut label_file = Vec::new();
    for word in [0x0801u32, n] {
        label_file.extend(word.to_be_bytes());
    }
    label_file.extend(labels);
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), label_file).unwrap();
}
