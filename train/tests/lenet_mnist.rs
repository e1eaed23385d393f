//! LeNet on the real MNIST images of `../shared/data/mnist-10k` (skipped with a notice when
//! absent): one epoch on 512 images lowers the loss, the exported file reloads bit for bit and
//! the host's forward pass agrees with the mirror; runs are reproducible from the seed; a
//! diverging run stops with a typed error and leaves no file.

#[path = "../../host/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use heaccel_host::nn::weights::load_safetensors;
use heaccel_host::nn::zoo::ZooModel;
use heaccel_train::checkpoint::partial_path;
use heaccel_train::run::{architecture, bit_identical};
use heaccel_train::{run, Request, StrategyChoice, TrainConfig, TrainError};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heaccel-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn request(data: &Path, dir: &Path, train: usize, test: usize, config: TrainConfig) -> Request {
    Request {
        model: "lenet".into(),
        strategy: StrategyChoice::Spencnn,
        prune: 0.0,
        data: data.to_path_buf(),
        train_images: train,
        test_images: test,
        config: TrainConfig {
            progress: false,
            ..config
        },
        resume: None,
        out: dir.join("lenet.safetensors"),
        checkpoint: Some(dir.join("lenet.checkpoint.safetensors")),
    }
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64
}

#[test]
fn one_epoch_on_512_images_lowers_the_loss_and_the_export_reloads_bit_exactly() {
    let Some(data) = common::mnist_10k() else {
        return;
    };
    let dir = temp_dir("epoch");
    let config = TrainConfig {
        epochs: 1,
        batch_size: 32,
        seed: 7,
        ..TrainConfig::default()
    };
    let req = request(&data, &dir, 512, 500, config);
    let outcome = run(&req).unwrap();
    let losses = &outcome.report.batch_losses;
    assert_eq!(losses.len(), 16, "512 images in minibatches of 32");
    let (first, last) = (mean(&losses[..4]), mean(&losses[12..]));
    assert!(
        last < 0.9 * first,
        "the loss does not fall: first four batches {first:.4}, last four {last:.4}"
    );
    // Twice chance (10%) on held-out images after 16 steps.
    assert!(outcome.report.test_accuracy > 0.2, "{:?}", outcome.report);
    // The host's f64-weights f32 forward pass agrees with the mirror (up to a few images
    // whose top two logits are within f32 rounding).
    let gap = (outcome.host_test_accuracy - outcome.report.test_accuracy).abs();
    assert!(
        gap <= 0.004,
        "host {} vs mirror {}",
        outcome.host_test_accuracy,
        outcome.report.test_accuracy
    );

    // The file reloads bit for bit, checked here independently of `run`'s own check.
    assert!(outcome.reloaded_bit_exact);
    let mut reloaded = architecture(ZooModel::Lenet, StrategyChoice::Spencnn).unwrap();
    load_safetensors(&mut reloaded, &req.out).unwrap();
    assert!(bit_identical(&outcome.network, &reloaded));
    // Trained values are f32 values (the file's dtype), and training moved them.
    let seeded = {
        let mut n = architecture(ZooModel::Lenet, StrategyChoice::Spencnn).unwrap();
        heaccel_host::nn::weights::init_seeded(&mut n, 7);
        n
    };
    for (p, s) in reloaded.parameters().iter().zip(seeded.parameters()) {
        assert!(
            p.values.iter().all(|&v| f64::from(v as f32) == v),
            "{}",
            p.name
        );
        if p.name.ends_with(".weight") {
            assert_ne!(p.values, s.values, "{} did not train", p.name);
        }
    }
    // The epoch's checkpoint holds the same network; no partial file is left.
    let checkpoint = req.checkpoint.as_ref().unwrap();
    let mut from_checkpoint = architecture(ZooModel::Lenet, StrategyChoice::Spencnn).unwrap();
    load_safetensors(&mut from_checkpoint, checkpoint).unwrap();
    assert!(bit_identical(&outcome.network, &from_checkpoint));
    assert!(!partial_path(&req.out).exists());
    assert!(!partial_path(checkpoint).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_another() {
    let Some(data) = common::mnist_10k() else {
        return;
    };
    let dir = temp_dir("seed");
    let run_with = |seed: u64| {
        let config = TrainConfig {
            epochs: 1,
            batch_size: 16,
            seed,
            ..TrainConfig::default()
        };
        run(&request(&data, &dir, 64, 32, config)).unwrap()
    };
    let (a, b, c) = (run_with(1), run_with(1), run_with(2));
    assert_eq!(a.report.batch_losses, b.report.batch_losses);
    assert!(bit_identical(&a.network, &b.network));
    assert_ne!(a.report.batch_losses, c.report.batch_losses);
    assert!(!bit_identical(&a.network, &c.network));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_diverging_run_stops_with_a_typed_error_and_writes_no_file() {
    let Some(data) = common::mnist_10k() else {
        return;
    };
    let dir = temp_dir("diverge");
    let config = TrainConfig {
        epochs: 1,
        batch_size: 16,
        learning_rate: 1e12,
        range_penalty: 0.0,
        ..TrainConfig::default()
    };
    let req = request(&data, &dir, 128, 16, config);
    let err = run(&req).unwrap_err();
    match &err {
        TrainError::Diverged {
            quantity,
            value,
            epoch,
            batch,
        } => {
            assert!(!value.is_finite(), "{value}");
            assert!(*quantity == "loss" || *quantity == "gradient norm");
            assert_eq!(*epoch, 1);
            assert!(*batch >= 2, "the first batch runs on the seeded weights");
        }
        other => panic!("expected Diverged, got {other}"),
    }
    assert!(err.to_string().contains("diverged"), "{err}");
    assert!(!req.out.exists());
    assert!(!req.checkpoint.as_ref().unwrap().exists());
    let _ = std::fs::remove_dir_all(&dir);
}
