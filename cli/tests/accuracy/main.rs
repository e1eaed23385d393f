//! `heaccel accuracy`: the JSON report on generated images and seeded weights, on the real
//! CIFAR-10 JPEG test images with the trained ResNet-20 of `../shared/data` (skipped with a
//! notice when absent), exact and minimax ReLU, and bad input (clear errors, exit code 2, no
//! panic, no `--out` file).
//!
//! One test binary (each binary links the whole crate graph): the tests and their runners are
//! here, the generated fixtures in `fixtures` and the checks every report must pass in
//! `checks`.

mod checks;
#[path = "../../../host/tests/common/mod.rs"]
mod common;
mod fixtures;
#[path = "../support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use checks::{as_u64, check_consistent, check_exact, check_minimax};
use fixtures::{image_folder, noise_png, write_weights};
use heaccel_host::nn::weights::{init_seeded, to_safetensors_bytes, WeightDtype};
use heaccel_host::nn::{CifarResNet, Conv2d, Layer, Network};
use serde_json::Value;
use support::heaccel;

/// Runs a successful `heaccel accuracy ... --json` and returns its JSON.
fn accuracy_json(args: &[&str]) -> Value {
    let mut all = vec!["accuracy"];
    all.extend(args);
    all.push("--json");
    let out = heaccel(&all);
    assert!(
        out.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a failing `heaccel accuracy ...` with `--out FILE`: exit code 2, no panic, no file
/// (nor its partial). Returns stderr.
fn failure(args: &[&str], out: &Path) -> String {
    let mut all = vec!["accuracy"];
    all.extend(args);
    all.extend(["--json", "--out", out.to_str().unwrap()]);
    let o = heaccel(&all);
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(2), "{all:?} should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{all:?} panicked: {stderr}");
    assert!(stderr.starts_with("error: "), "{all:?}: {stderr}");
    assert!(o.stdout.is_empty(), "{all:?} printed a report");
    assert!(!out.exists(), "{all:?} wrote {}", out.display());
    assert!(
        !out.with_extension("json.partial").exists(),
        "{all:?} left a partial file"
    );
    stderr
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heaccel-accuracy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn accuracy_on_generated_images_and_seeded_weights() {
    // no shared data needed: seeded ResNet-20 weights, 3 classes of 2 noise images
    let dir = temp_dir("generated");
    let weights = dir.join("seeded.safetensors");
    write_weights(&mut CifarResNet::ResNet20.architecture(), &weights);
    let data = dir.join("images");
    let classes = ["cats", "dogs", "zebras"];
    image_folder(&data, &classes, 2);
    std::fs::write(data.join("zebras/notes.txt"), "ignored").unwrap();
    let out = dir.join("report.json");
    let base = [
        "--model",
        "resnet20",
        "--weights",
        s(&weights),
        "--data",
        s(&data),
    ];
    let mut args = base.to_vec();
    args.extend(["--out", s(&out)]);
    let v = accuracy_json(&args);
    // --out holds the printed report
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written, v);
    assert_eq!(v["model"], "resnet20");
    assert_eq!(v["format"], "ImageFolder");
    assert_eq!(v["data"], s(&data));
    assert_eq!(v["weights"], s(&weights));
    assert!(v["per_class"].is_null());
    assert_eq!(
        v["normalization"],
        serde_json::json!({"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]})
    );
    assert_eq!(check_consistent(&v, &classes, 6), [2, 2, 2]);
    check_exact(&v);

    // --per-class 1, minimax with the same folder as calibration images
    let mut args = base.to_vec();
    args.extend([
        "--per-class",
        "1",
        "--activation",
        "relu-minimax:9",
        "--calibration",
        s(&data),
        "--calibration-per-class",
        "2",
        "--bound-margin",
        "2",
    ]);
    let m = accuracy_json(&args);
    assert_eq!(m["per_class"], 1);
    assert_eq!(check_consistent(&m, &classes, 3), [1, 1, 1]);
    check_minimax(&m, 9, &v, 2.0);
    assert_eq!(m["calibration"]["data"], s(&data));
    // the test images are among the calibration images and the margin is 2: all inside
    assert_eq!(as_u64(&m, "outside_bound"), 0);
    let _ = std::fs::remove_dir_all(dir);
}

/// The deterministic fields of an accuracy report (all but wall time, threads and CPU).
fn deterministic(v: &Value) -> Value {
    let mut v = v.clone();
    for key in ["seconds", "images_per_second", "threads", "cpu"] {
        v.as_object_mut().unwrap().remove(key);
    }
    v
}

#[test]
fn sharded_accuracy_merges_into_the_unsharded_report() {
    let dir = temp_dir("sharded");
    let weights = dir.join("seeded.safetensors");
    write_weights(&mut CifarResNet::ResNet20.architecture(), &weights);
    let data = dir.join("images");
    let classes = ["a", "b", "c"];
    image_folder(&data, &classes, 3);
    let base = [
        "--model",
        "resnet20",
        "--weights",
        s(&weights),
        "--data",
        s(&data),
        "--activation",
        "relu-minimax:9",
        "--calibration",
        s(&data),
        "--calibration-per-class",
        "2",
    ];
    let whole = accuracy_json(&base);
    let shards = dir.join("shards");
    let mut images = 0;
    for i in 1..=4 {
        let spec = format!("{i}/4");
        let mut args = base.to_vec();
        args.extend(["--shard", &spec, "--shard-dir", s(&shards)]);
        let part = accuracy_json(&args);
        assert_eq!(part["shard"]["shard"], spec.as_str());
        assert_eq!(part["shard"]["items"], 9);
        assert_eq!(part["shard"]["skipped"], false);
        let total = as_u64(&part, "total");
        assert!((2..=3).contains(&total), "shard {spec}: {total} images");
        images += total;
    }
    assert_eq!(images, 9);
    // a finished shard is not run again
    let mut again = base.to_vec();
    again.extend(["--shard", "2/4", "--shard-dir", s(&shards)]);
    assert_eq!(accuracy_json(&again)["shard"]["skipped"], true);

    let merged_dir = dir.join("merged");
    let out = heaccel(&["merge", s(&shards), "--out", s(&merged_dir), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["kind"], "accuracy");
    assert_eq!(report["shards"], 4);
    assert_eq!(report["items"], 9);
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(merged_dir.join("accuracy.json")).unwrap())
            .unwrap();
    assert_eq!(deterministic(&merged), deterministic(&whole));

    // more shards than images is refused before any work
    let mut args = base.to_vec();
    args.extend(["--shard", "1/10", "--shard-dir", s(&shards)]);
    let err = failure(&args, &dir.join("none.json"));
    assert!(
        err.contains("--shard 1/10: 10 shards for 9 images"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn resnet20_on_cifar10_jpeg_exact_and_minimax() {
    let (Some(weights), Some(root)) = (common::resnet_weights(20), common::cifar10_jpeg()) else {
        return;
    };
    const CIFAR: [&str; 10] = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ];
    let test = root.join("test");
    let train = root.join("train");
    let base = ["--model", "resnet20", "--weights", s(&weights)];
    let run = |data: &Path, extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend(["--data", s(data)]);
        args.extend(extra);
        accuracy_json(&args)
    };

    // exact ReLU on the first 10 test images of each class
    let v = run(&test, &["--per-class", "10"]);
    assert_eq!(v["per_class"], 10);
    assert_eq!(v["format"], "ImageFolder");
    assert_eq!(check_consistent(&v, &CIFAR, 100), [10; 10]);
    check_exact(&v);
    assert_eq!(as_u64(&v["report"], "non_finite"), 0);
    // a trained network (91.78 % on the original test set; JPEG costs some): far above the
    // 10 % of chance
    let correct = as_u64(&v, "correct");
    assert!((70..=100).contains(&correct), "{correct} of 100");

    // minimax ReLU, bounds from the first 5 training images of each class (the `train` folder
    // beside `test`); the exact run on those images gives the calibration maxima
    let m = run(
        &test,
        &[
            "--per-class",
            "5",
            "--activation",
            "relu-minimax:7",
            "--calibration-per-class",
            "5",
        ],
    );
    assert_eq!(check_consistent(&m, &CIFAR, 50), [5; 10]);
    let calibration = run(&train, &["--per-class", "5"]);
    check_exact(&calibration);
    check_minimax(&m, 7, &calibration, 1.5);
    assert_eq!(m["calibration"]["data"], s(&train));
    assert_eq!(m["calibration"]["images"], 50);
    // alpha 7's composite is designed for |x| / B >= 2^-3: most ReLU inputs fall below that
    let (values, below) = (as_u64(&m, "relu_values"), as_u64(&m, "below_eps"));
    assert!(below > values / 2 && below < values, "{below} of {values}");
    // test images can exceed the training images' maxima times 1.5, but rarely
    assert!(as_u64(&m, "outside_bound") < values / 1000);
    assert!(as_u64(&m, "correct") >= 20, "{m}");
}

#[test]
fn weights_of_another_network_are_refused() {
    let dir = temp_dir("weights");
    let data = dir.join("images");
    image_folder(&data, &["a", "b"], 1);
    let out = dir.join("report.json");
    let run = |model: &str, weights: &Path| {
        failure(
            &[
                "--model",
                model,
                "--weights",
                s(weights),
                "--data",
                s(&data),
            ],
            &out,
        )
    };

    // ResNet-32's tensors for ResNet-20: its extra blocks are named
    let resnet32 = dir.join("resnet32.safetensors");
    write_weights(&mut CifarResNet::ResNet32.architecture(), &resnet32);
    let e = run("resnet20", &resnet32);
    assert!(
        e.contains(s(&resnet32))
            && e.contains("unexpected tensors for network 'resnet20'")
            && e.contains("layer1.3.conv1.weight")
            && e.contains("layer3.4.bn2.running_var"),
        "{e}"
    );
    // ... and ResNet-20's for ResNet-32: the missing ones are
    let resnet20 = dir.join("resnet20.safetensors");
    write_weights(&mut CifarResNet::ResNet20.architecture(), &resnet20);
    let e = run("resnet32", &resnet20);
    assert!(
        e.contains(s(&resnet20))
            && e.contains("missing tensors for network 'resnet32'")
            && e.contains("layer2.4.conv2.weight"),
        "{e}"
    );
    // the trained ResNet-32 checkpoint, when present
    if let Some(trained) = common::resnet_weights(32) {
        let e = run("resnet20", &trained);
        assert!(
            e.contains(s(&trained)) && e.contains("unexpected tensors") && e.contains("layer1.3."),
            "{e}"
        );
    }

    // a tensor of the wrong shape: conv1 with 5x5 kernels
    let mut network = CifarResNet::ResNet20.architecture();
    network.layers[0] = Layer::Conv2d(Conv2d::zeroed("conv1", 3, 16, 5, 1, 2, 1, false));
    let misshaped = dir.join("conv1-5x5.safetensors");
    write_weights(&mut network, &misshaped);
    let e = run("resnet20", &misshaped);
    assert!(
        e.contains(s(&misshaped))
            && e.contains("tensor 'conv1.weight' has shape [16, 3, 5, 5], expected [16, 3, 3, 3]"),
        "{e}"
    );

    // not a safetensors file, and no file
    let text = dir.join("weights.txt");
    std::fs::write(&text, "not weights").unwrap();
    let e = run("resnet20", &text);
    assert!(
        e.contains(s(&text)) && e.contains("not a valid safetensors file"),
        "{e}"
    );
    let missing = dir.join("missing.safetensors");
    let e = run("resnet20", &missing);
    assert!(e.contains(s(&missing)), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_options_and_images_are_clear_errors() {
    let dir = temp_dir("options");
    let weights = dir.join("seeded.safetensors");
    write_weights(&mut CifarResNet::ResNet20.architecture(), &weights);
    let data = dir.join("images");
    image_folder(&data, &["a", "b"], 2);
    let out = dir.join("report.json");
    let run = |extra: &[&str]| {
        let mut args = vec!["--weights", s(&weights), "--data", s(&data)];
        args.extend(extra);
        failure(&args, &out)
    };

    let e = run(&["--model", "resnet21"]);
    assert!(
        e.contains("--model: unknown network 'resnet21'")
            && e.contains("resnet20, resnet32, resnet44, resnet56"),
        "{e}"
    );
    let e = run(&["--model", "resnet20", "--activation", "relu-minimax:3"]);
    assert!(
        e.contains("--activation 'relu-minimax:3'") && e.contains("ALPHA in 4..=14"),
        "{e}"
    );
    let e = run(&["--model", "resnet20", "--activation", "relu-minimax:15"]);
    assert!(e.contains("'relu-minimax:15'"), "{e}");
    let e = run(&["--model", "resnet20", "--activation", "gelu"]);
    assert!(e.contains("--activation 'gelu'"), "{e}");
    let e = run(&["--model", "resnet20", "--per-class", "0"]);
    assert!(e.contains("--per-class") && e.contains(">= 1"), "{e}");
    let e = run(&[
        "--model",
        "resnet20",
        "--activation",
        "relu-minimax:7",
        "--calibration",
        s(&data),
        "--calibration-per-class",
        "0",
    ]);
    assert!(
        e.contains("--calibration-per-class") && e.contains(">= 1"),
        "{e}"
    );
    // minimax without calibration images (the data folder is not named `test`)
    let e = run(&["--model", "resnet20", "--activation", "relu-minimax:7"]);
    assert!(
        e.contains("--calibration DIR") && e.contains(s(&data)),
        "{e}"
    );
    let e = run(&["--model", "resnet20", "--mean", "0.5,0.5"]);
    assert!(
        e.contains("--mean/--std") && e.contains("2 values for 3 channels"),
        "{e}"
    );
    let e = run(&["--model", "resnet20", "--std", "0.2,0,0.2"]);
    assert!(e.contains("`std`: 0 must be > 0"), "{e}");

    // an image of the wrong size among good ones
    let small = data.join("b/0001.png");
    std::fs::write(&small, noise_png(16, 1)).unwrap();
    let e = run(&["--model", "resnet20"]);
    assert!(
        e.contains(s(&small)) && e.contains("image is 16x16, expected 32x32"),
        "{e}"
    );
    // ... and one that is no image
    std::fs::write(&small, b"\x89PNG\r\n\x1a\n garbage").unwrap();
    let e = run(&["--model", "resnet20"]);
    assert!(
        e.contains(s(&small)) && e.contains("not a valid image"),
        "{e}"
    );
    // a data path that is not there
    let missing = dir.join("nowhere");
    let e = failure(
        &[
            "--model",
            "resnet20",
            "--weights",
            s(&weights),
            "--data",
            s(&missing),
        ],
        &out,
    );
    assert!(
        e.contains(s(&missing)) && e.contains("no such file or folder"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
