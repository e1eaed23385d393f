//! CIFAR-10 as ImageFolders (torchvision's layout, what `cifar10-jpeg.tar.gz` holds): a folder
//! with `train/` and `test/`, each of class folders of 32x32 JPEG or PNG images, read by the
//! host's loader ([`heaccel_host::data::Dataset::open`], classes in sorted name order). The
//! extracted archive's root, which holds `cifar10/train` and `cifar10/test`, is accepted too.
//!
//! **Which images.** `train` images of `train/` and `test` images of `test/`, each taken
//! class by class in turn: the first file (by sorted name) of every class, then the second of
//! every class, and so on (`0000.jpg` of airplane, of automobile, ..., `0001.jpg` of
//! airplane, ...), so any count is balanced across classes to within one image. Only the
//! first `ceil(count / classes)` files of each class are decoded. The whole folders are 50,000
//! and 10,000 images; the test images are then exactly what `heaccel accuracy --data
//! DIR/test` classifies.

use std::path::{Path, PathBuf};

use heaccel_host::data::{DataError, DataFormat, Dataset, LoadOptions};
use heaccel_host::nn::Shape;

use crate::data::{check_counts, check_labels, images, Split};
use crate::TrainError;

/// The folder holding `train/` and `test/`: `dir` itself, or `dir/cifar10` (the extracted
/// archive's root).
///
/// Errors: neither holds both folders ([`TrainError::Dataset`] naming `dir` and the layout
/// expected).
pub fn image_folder_root(dir: &Path) -> Result<PathBuf, TrainError> {
    let holds = |d: &Path| d.join("train").is_dir() && d.join("test").is_dir();
    if holds(dir) {
        return Ok(dir.to_path_buf());
    }
    let nested = dir.join("cifar10");
    if holds(&nested) {
        return Ok(nested);
    }
    Err(TrainError::Dataset {
        path: dir.to_path_buf(),
        problem: "expected a folder holding `train/` and `test/` ImageFolders (class folders \
                  of 32x32 JPEG/PNG images, e.g. the extracted cifar10-jpeg.tar.gz's \
                  `cifar10/`), or the folder holding that `cifar10/`"
            .into(),
    })
}

/// Class folders of an ImageFolder (not hidden), as the host's loader counts them.
fn class_count(folder: &Path) -> Result<usize, TrainError> {
    let io = |error| DataError::Io {
        path: folder.to_path_buf(),
        error,
    };
    let mut count = 0;
    for entry in std::fs::read_dir(folder).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_dir() && !hidden {
            count += 1;
        }
    }
    Ok(count)
}

/// Reads the first `count` images of the ImageFolder `folder` in class-by-class turns (see
/// the module docs): the dataset (only the files needed) and the indices of those images in
/// it. `field` names the option in errors (`train_images`, `test_images`).
fn open_balanced(
    folder: &Path,
    shape: Shape,
    count: usize,
    field: &str,
) -> Result<(Dataset, Vec<usize>), TrainError> {
    let classes = class_count(folder)?.max(1);
    let dataset = Dataset::open(
        folder,
        LoadOptions {
            shape,
            per_class: Some(count.div_ceil(classes)),
        },
    )?;
    if dataset.format != DataFormat::ImageFolder {
        return Err(TrainError::Dataset {
            path: folder.to_path_buf(),
            problem: format!(
                "holds a {} dataset, expected an ImageFolder (class folders of JPEG/PNG \
                 images)",
                dataset.format
            ),
        });
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); dataset.classes.len()];
    for (i, s) in dataset.samples.iter().enumerate() {
        by_class[s.label].push(i);
    }
    let longest = by_class.iter().map(Vec::len).max().unwrap_or(0);
    let order: Vec<usize> = (0..longest)
        .flat_map(|rank| by_class.iter().filter_map(move |c| c.get(rank).copied()))
        .take(count)
        .collect();
    if order.len() < count {
        return Err(TrainError::Dataset {
            path: folder.to_path_buf(),
            problem: format!(
                "{} images, expected at least {count} (`{field}`)",
                order.len()
            ),
        });
    }
    Ok((dataset, order))
}

/// Reads the split of the ImageFolders under `dir` ([`image_folder_root`]) for a network of
/// input `shape` and `outputs` classes: `train` images of `train/` and `test` of `test/`
/// (both >= 1; see the module docs for which).
///
/// Errors: no `train/` and `test/` folders; a folder that is not an ImageFolder, holds fewer
/// images than asked, images of another size (the host loader's errors name the file) or
/// more classes than `outputs`; `train/` and `test/` with different class folders.
pub fn load_image_folders(
    dir: &Path,
    shape: Shape,
    outputs: usize,
    train: usize,
    test: usize,
) -> Result<Split, TrainError> {
    check_counts(train, test)?;
    let root = image_folder_root(dir)?;
    let (train_folder, test_folder) = (root.join("train"), root.join("test"));
    let (train_set, train_indices) = open_balanced(&train_folder, shape, train, "train_images")?;
    let (test_set, test_indices) = open_balanced(&test_folder, shape, test, "test_images")?;
    if test_set.classes != train_set.classes {
        return Err(TrainError::Dataset {
            path: test_folder,
            problem: format!(
                "class folders {:?}, expected those of {} ({:?})",
                test_set.classes,
                train_folder.display(),
                train_set.classes
            ),
        });
    }
    check_labels(&train_set, &train_folder, outputs)?;
    check_labels(&test_set, &test_folder, outputs)?;
    Ok(Split {
        train: images(&train_set, &train_indices),
        test: images(&test_set, &test_indices),
        dataset: test_set,
        test_indices,
    })
}
