//! VGG-5 and HEFNet on the CIFAR-10 JPEG images of `../shared/data/cifar10-jpeg.tar.gz`
//! (extracted once into the test scratch folder; skipped with a notice when absent): a few
//! steps on 64 images lower the loss, the export reloads bit for bit and the host's forward
//! pass agrees with the mirror; the split takes the classes in turn and accepts the archive's
//! root; a folder without `train/` and `test/` is refused.

#[path = "../../host/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use heaccel_host::nn::weights::load_safetensors;
use heaccel_host::nn::zoo::ZooModel;
use heaccel_host::nn::Shape;
use heaccel_train::folder::load_image_folders;
use heaccel_train::run::{architecture, bit_identical, default_config, trainable_model};
use heaccel_train::{run, Request, StrategyChoice, TrainConfig, TrainError};

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("heaccel-train-cifar-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64
}

/// Trains `model` for 3 epochs of 4 minibatches of 16 on 64 training images (the model's
/// augmentation on) and checks the loss, the export and the host's pass.
fn few_steps(model: &str, data: &Path, learning_rate: f64) {
    let dir = temp_dir(model);
    let zoo = trainable_model(model).unwrap();
    let req = Request {
        model: model.into(),
        strategy: StrategyChoice::Spencnn,
        prune: 0.0,
        data: data.to_path_buf(),
        train_images: 64,
        test_images: 50,
        config: TrainConfig {
            epochs: 3,
            batch_size: 16,
            learning_rate,
            seed: 11,
            progress: false,
            ..default_config(zoo)
        },
        resume: None,
        out: dir.join(format!("{model}.safetensors")),
        checkpoint: None,
    };
    assert!(
        req.config.flip && req.config.shift == 4,
        "CIFAR augmentation"
    );
    let outcome = run(&req).unwrap();
    let losses = &outcome.report.batch_losses;
    assert_eq!(
        losses.len(),
        12,
        "3 epochs of 64 images in minibatches of 16"
    );
    let (first, last) = (mean(&losses[..4]), mean(&losses[8..]));
    assert!(
        last < 0.9 * first,
        "{model}: the loss does not fall: first epoch {first:.4}, last {last:.4} ({losses:?})"
    );
    assert!(losses.iter().all(|l| l.is_finite()));
    // The file reloads bit for bit, checked here independently of `run`'s own check.
    assert!(outcome.reloaded_bit_exact);
    let mut reloaded = architecture(zoo, StrategyChoice::Spencnn).unwrap();
    load_safetensors(&mut reloaded, &req.out).unwrap();
    assert!(bit_identical(&outcome.network, &reloaded));
    // The host's f32 pass of the file (what `heaccel accuracy` runs) agrees with the mirror
    // up to an image or so whose top two logits are within rounding.
    let gap = (outcome.host_test_accuracy - outcome.report.test_accuracy).abs();
    assert!(
        gap <= 0.04,
        "{model}: host {} vs mirror {}",
        outcome.host_test_accuracy,
        outcome.report.test_accuracy
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn vgg5_trains_on_64_images_and_reloads_bit_exactly() {
    let Some(data) = common::cifar10_jpeg() else {
        return;
    };
    few_steps("vgg5", &data, 1e-4);
}

#[test]
fn hefnet_trains_on_64_images_and_reloads_bit_exactly() {
    let Some(data) = common::cifar10_jpeg() else {
        return;
    };
    few_steps("hefnet", &data, 3e-3);
}

#[test]
fn the_split_takes_classes_in_turn_and_accepts_the_archive_root() {
    let Some(data) = common::cifar10_jpeg() else {
        return;
    };
    let shape = Shape::new(3, 32, 32);
    let split = load_image_folders(&data, shape, 10, 23, 12).unwrap();
    assert_eq!(split.train.len(), 23);
    assert_eq!(split.test.len(), 12);
    let expected: Vec<u32> = (0..23).map(|i| i % 10).collect();
    assert_eq!(split.train.labels, expected);
    assert_eq!(
        split.test.labels,
        (0..12).map(|i| i % 10).collect::<Vec<u32>>()
    );
    let origins: Vec<&str> = split
        .test_indices
        .iter()
        .map(|&i| split.dataset.samples[i].origin.as_str())
        .collect();
    assert_eq!(origins[0], "airplane/0000.jpg");
    assert_eq!(origins[1], "automobile/0000.jpg");
    assert_eq!(origins[10], "airplane/0001.jpg");
    assert!(split.train.pixels.iter().all(|&p| (0.0..=1.0).contains(&p)));
    // A small copy: 2 classes of 2 images in train/, the same classes in test/.
    let mini = temp_dir("mini");
    for part in ["train", "test"] {
        for class in ["airplane", "automobile"] {
            let to = mini.join("cifar10").join(part).join(class);
            std::fs::create_dir_all(&to).unwrap();
            for file in ["0000.jpg", "0001.jpg"] {
                std::fs::copy(data.join(part).join(class).join(file), to.join(file)).unwrap();
            }
        }
    }
    // The folder holding `cifar10/` (the extracted archive's root) is accepted.
    let nested = load_image_folders(&mini, shape, 10, 4, 3).unwrap();
    assert_eq!(nested.train.labels, [0, 1, 0, 1]);
    assert_eq!(nested.train.pixels[..3072], split.train.pixels[..3072]);
    // More images than the folder holds, more classes than outputs, different classes,
    // and a folder without train/ and test/.
    let err = load_image_folders(&mini, shape, 10, 5, 1).unwrap_err();
    assert!(
        err.to_string()
            .contains("4 images, expected at least 5 (`train_images`)"),
        "{err}"
    );
    let err = load_image_folders(&mini, shape, 1, 2, 1).unwrap_err();
    assert!(err.to_string().contains("has label 1"), "{err}");
    std::fs::rename(
        mini.join("cifar10/test/automobile"),
        mini.join("cifar10/test/bird"),
    )
    .unwrap();
    let err = load_image_folders(&mini, shape, 10, 2, 1).unwrap_err();
    assert!(err.to_string().contains("class folders"), "{err}");
    let err = load_image_folders(&mini.join("cifar10/test"), shape, 10, 1, 1).unwrap_err();
    assert!(matches!(err, TrainError::Dataset { .. }), "{err}");
    assert!(err.to_string().contains("`train/` and `test/`"), "{err}");
    let _ = std::fs::remove_dir_all(&mini);
}

#[test]
fn the_dense_vgg5_is_ungrouped_and_resnet20_is_not_trainable() {
    let dense = architecture(ZooModel::Vgg5, StrategyChoice::Dense).unwrap();
    let mut groups = Vec::new();
    dense.visit_layers(|_, layer| {
        if let heaccel_host::nn::Layer::Conv2d(c) = layer {
            groups.push(c.groups);
        }
    });
    assert_eq!(groups, [1, 1, 1]);
    let err = trainable_model("resnet20").unwrap_err();
    assert!(err.to_string().contains("not yet trainable"), "{err}");
}
