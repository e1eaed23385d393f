//! Bad input gives typed errors that name the file, field or option and what is expected,
//! before any training and without writing the output: options out of range, networks not
//! trainable yet, MNIST folders with labels out of range, no images, too few images, a folder
//! that is not MNIST, a weights file of another network to resume from.

use std::path::{Path, PathBuf};

use heaccel_host::data::DataError;
use heaccel_host::nn::weights::{init_seeded, save_safetensors, WeightDtype};
use heaccel_host::nn::zoo;
use heaccel_train::{run, Request, StrategyChoice, TrainConfig, TrainError};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heaccel-train-bad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes raw (not gzipped) MNIST IDX files of `labels.len()` 28x28 images into `dir`.
fn write_mnist(dir: &Path, labels: &[u8]) {
    let n = labels.len() as u32;
    let mut images = Vec::new();
    images.extend(0x0803u32.to_be_bytes());
    images.extend(n.to_be_bytes());
    images.extend(28u32.to_be_bytes());
    images.extend(28u32.to_be_bytes());
    images.extend((0..labels.len() * 784).map(|i| (i % 251) as u8));
    let mut label_file = Vec::new();
    label_file.extend(0x0801u32.to_be_bytes());
    label_file.extend(n.to_be_bytes());
    label_file.extend(labels);
    std::fs::write(dir.join("images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("labels-idx1-ubyte"), label_file).unwrap();
}

fn request(data: &Path, out_dir: &Path) -> Request {
    Request {
        model: "lenet".into(),
        strategy: StrategyChoice::Spencnn,
        prune: 0.0,
        data: data.to_path_buf(),
        train_images: 8,
        test_images: 2,
        config: TrainConfig {
            epochs: 1,
            batch_size: 4,
            progress: false,
            ..TrainConfig::default()
        },
        resume: None,
        out: out_dir.join("out.safetensors"),
        checkpoint: Some(out_dir.join("out.checkpoint.safetensors")),
    }
}

/// Runs `req`, expects an error, checks that nothing was written, returns the error.
fn fails(req: &Request) -> TrainError {
    let err = run(req).expect_err("bad input must fail");
    assert!(!req.out.exists(), "{err}: wrote {}", req.out.display());
    assert!(
        !req.checkpoint.as_ref().unwrap().exists(),
        "{err}: wrote a checkpoint"
    );
    err
}

#[test]
fn options_out_of_range_name_the_option() {
    let dir = temp_dir("options");
    write_mnist(&dir, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let base = request(&dir, &dir);
    let cases: Vec<(&str, Request)> = vec![
        (
            "prune",
            Request {
                prune: 1.0,
                ..base.clone()
            },
        ),
        (
            "prune",
            Request {
                prune: -0.1,
                ..base.clone()
            },
        ),
        (
            "prune",
            Request {
                prune: f64::NAN,
                ..base.clone()
            },
        ),
        (
            "learning_rate",
            Request {
                config: TrainConfig {
                    learning_rate: f64::NAN,
                    ..base.config.clone()
                },
                ..base.clone()
            },
        ),
        (
            "learning_rate",
            Request {
                config: TrainConfig {
                    learning_rate: f64::INFINITY,
                    ..base.config.clone()
                },
                ..base.clone()
            },
        ),
        (
            "learning_rate",
            Request {
                config: TrainConfig {
                    learning_rate: 0.0,
                    ..base.config.clone()
                },
                ..base.clone()
            },
        ),
        (
            "epochs",
            Request {
                config: TrainConfig {
                    epochs: 0,
                    ..base.config.clone()
                },
                ..base.clone()
            },
        ),
        (
            "batch_size",
            Request {
                config: TrainConfig {
                    batch_size: 0,
                    ..base.config.clone()
                },
                ..base.clone()
            },
        ),
        (
            "train_images",
            Request {
                train_images: 0,
                ..base.clone()
            },
        ),
        (
            "model",
            Request {
                model: "alexnet".into(),
                ..base.clone()
            },
        ),
    ];
    for (field, req) in cases {
        match fails(&req) {
            TrainError::Config { field: f, .. } => assert_eq!(f, field),
            other => panic!("{field}: unexpected error {other}"),
        }
    }
    let err = fails(&Request {
        model: "alexnet".into(),
        ..base.clone()
    });
    assert!(err.to_string().contains("lenet, vgg5, hefnet"), "{err}");
    let err = fails(&Request {
        strategy: StrategyChoice::Dense,
        prune: 0.5,
        ..base.clone()
    });
    assert!(err.to_string().contains("spencnn only"), "{err}");
}

#[test]
fn networks_not_trainable_yet_say_so() {
    let dir = temp_dir("models");
    write_mnist(&dir, &[0; 10]);
    let err = fails(&Request {
        model: "resnet20".into(),
        ..request(&dir, &dir)
    });
    assert!(matches!(err, TrainError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("not yet"), "{err}");
    // vgg5 and hefnet train on CIFAR-10 ImageFolders: an MNIST folder is refused as such.
    for model in ["vgg5", "hefnet"] {
        let err = fails(&Request {
            model: model.into(),
            ..request(&dir, &dir)
        });
        assert!(matches!(err, TrainError::Dataset { .. }), "{model}: {err}");
        assert!(err.to_string().contains("`train/` and `test/`"), "{err}");
    }
}

#[test]
fn a_label_out_of_range_names_the_file_and_record() {
    let dir = temp_dir("label");
    write_mnist(&dir, &[0, 1, 2, 12, 4, 5, 6, 7, 8, 9]);
    let err = fails(&request(&dir, &dir));
    match &err {
        TrainError::Data(DataError::Label { index, label, .. }) => {
            assert_eq!((*index, *label), (3, 12));
        }
        other => panic!("unexpected error {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("labels-idx1-ubyte") && text.contains("record 3"),
        "{text}"
    );
}

#[test]
fn no_images_too_few_images_and_non_mnist_folders_are_refused() {
    let empty = temp_dir("empty");
    write_mnist(&empty, &[]);
    let err = fails(&request(&empty, &empty));
    assert!(
        matches!(err, TrainError::Data(DataError::Format { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("images-idx3-ubyte"), "{err}");

    let few = temp_dir("few");
    write_mnist(&few, &[1, 2, 3]);
    let err = fails(&request(&few, &few));
    assert!(
        err.to_string().contains("3 images, expected at least 10"),
        "{err}"
    );

    let nothing = temp_dir("nothing");
    std::fs::write(nothing.join("notes.txt"), "hello").unwrap();
    let err = fails(&request(&nothing, &nothing));
    assert!(err.to_string().contains("not a dataset"), "{err}");

    let missing = nothing.join("absent");
    let err = fails(&request(&missing, &nothing));
    assert!(err.to_string().contains("absent"), "{err}");
}

#[test]
fn resuming_from_another_networks_weights_is_refused() {
    let dir = temp_dir("resume");
    write_mnist(&dir, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let mut hefnet = zoo::hefnet();
    init_seeded(&mut hefnet, 1);
    let other = dir.join("hefnet.safetensors");
    save_safetensors(&hefnet, &other, WeightDtype::F32).unwrap();
    let err = fails(&Request {
        resume: Some(other),
        ..request(&dir, &dir)
    });
    assert!(matches!(err, TrainError::Weights(_)), "{err}");
    assert!(err.to_string().contains("hefnet.safetensors"), "{err}");
    // The dense LeNet's weights do not fit the grouped one either.
    let mut dense =
        heaccel_train::run::architecture(zoo::ZooModel::Lenet, StrategyChoice::Dense).unwrap();
    init_seeded(&mut dense, 1);
    let dense_file = dir.join("dense.safetensors");
    save_safetensors(&dense, &dense_file, WeightDtype::F32).unwrap();
    let err = fails(&Request {
        resume: Some(dense_file),
        ..request(&dir, &dir)
    });
    assert!(err.to_string().contains("conv2.weight"), "{err}");
}
