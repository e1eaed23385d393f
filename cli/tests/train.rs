//! `heaccel train`: bad input fails with a clear error (exit code 2, `error: ` naming the
//! option, file or field, no panic, no output or checkpoint file), and a short run on the
//! MNIST images of `../shared/data` (skipped with a notice when absent) prints the JSON report
//! and writes weights that reload bit for bit into the zoo's LeNet; a pruned run writes its
//! masks, which `simulate --weights` prunes exactly.

mod support;

use support::heaccel;

#[path = "../../host/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use heaccel_host::nn::weights::load_safetensors;
use heaccel_host::nn::zoo;
use serde_json::Value;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heaccel-cli-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Raw MNIST IDX files of `labels.len()` 28x28 images in `dir` (pixel `i` of the whole run
/// `i mod 253`).
fn write_mnist(dir: &Path, labels: &[u8]) {
    let pixels: Vec<Vec<u8>> = (0..labels.len())
        .map(|k| (k * 784..(k + 1) * 784).map(|i| (i % 253) as u8).collect())
        .collect();
    common::write_mnist_idx(dir, labels, &pixels);
}

/// Runs a failing `heaccel train` with `--out DIR/out.safetensors`: exit code 2, no panic, an
/// `error: ` line, nothing on stdout, no output, checkpoint or partial file. Returns stderr.
fn failure(args: &[&str], dir: &Path) -> String {
    let out = dir.join("out.safetensors");
    let mut all = vec!["train"];
    all.extend(args);
    all.extend(["--json", "--out", out.to_str().unwrap()]);
    let o = heaccel(&all);
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(2), "{all:?} should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{all:?} panicked: {stderr}");
    assert!(stderr.starts_with("error: "), "{all:?}: {stderr}");
    assert!(o.stdout.is_empty(), "{all:?} printed a report");
    for file in [
        "out.safetensors",
        "out.checkpoint.safetensors",
        "out.safetensors.partial",
    ] {
        assert!(!dir.join(file).exists(), "{all:?} left {file}");
    }
    stderr
}

#[test]
fn bad_input_fails_clearly_without_writing() {
    let dir = temp_dir("bad");
    let good = dir.join("mnist");
    std::fs::create_dir_all(&good).unwrap();
    write_mnist(&good, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let data = good.to_str().unwrap();
    let small = ["--train-images", "8", "--test-images", "2"];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        let mut v = vec!["--model", "lenet", "--data", data];
        v.extend(small);
        v.extend(extra);
        v
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            with(&["--prune", "1"]),
            "`prune` = 1: expected a ratio in [0, 1)",
        ),
        (with(&["--prune", "-0.5"]), "`prune` = -0.5"),
        (with(&["--prune", "nan"]), "`prune` = NaN"),
        (
            with(&["--lr", "nan"]),
            "`learning_rate` = NaN: expected a finite number > 0",
        ),
        (with(&["--lr", "inf"]), "`learning_rate` = inf"),
        (with(&["--lr", "-1"]), "`learning_rate` = -1"),
        (with(&["--epochs", "0"]), "`epochs` = 0"),
        (
            with(&["--strategy", "dense", "--prune", "0.5"]),
            "spencnn only",
        ),
    ];
    for (args, expected) in cases {
        let stderr = failure(&args, &dir);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let stderr = failure(&["--model", "resnet20", "--data", data], &dir);
    assert!(
        stderr.contains("model `resnet20`: not yet trainable"),
        "{stderr}"
    );
    // vgg5 and hefnet train on CIFAR-10 ImageFolders, not on an MNIST folder.
    for model in ["vgg5", "hefnet"] {
        let stderr = failure(&["--model", model, "--data", data], &dir);
        assert!(stderr.contains("`train/` and `test/`"), "{stderr}");
    }
    let stderr = failure(&["--model", "alexnet", "--data", data], &dir);
    assert!(stderr.contains("unknown network 'alexnet'"), "{stderr}");

    // Labels out of range: the file and record are named.
    let bad_labels = dir.join("labels");
    std::fs::create_dir_all(&bad_labels).unwrap();
    write_mnist(&bad_labels, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 200]);
    let path = bad_labels.to_str().unwrap();
    let stderr = failure(&["--model", "lenet", "--data", path], &dir);
    assert!(
        stderr.contains("t10k-labels-idx1-ubyte: record 9 has label 200, expected 0..10"),
        "{stderr}"
    );
    // No images.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    write_mnist(&empty, &[]);
    let stderr = failure(
        &["--model", "lenet", "--data", empty.to_str().unwrap()],
        &dir,
    );
    assert!(
        stderr.contains("t10k-images-idx3-ubyte: field `dimensions`"),
        "{stderr}"
    );
    // Fewer images than the split asks for.
    let stderr = failure(&["--model", "lenet", "--data", data], &dir);
    assert!(
        stderr.contains("10 images, expected at least 10000 (8000 to train + 2000 to test)"),
        "{stderr}"
    );
    // A folder that is not MNIST, and one that does not exist.
    let other = dir.join("other");
    std::fs::create_dir_all(other.join("cats")).unwrap();
    let stderr = failure(
        &["--model", "lenet", "--data", other.to_str().unwrap()],
        &dir,
    );
    assert!(
        stderr.contains("cats") && stderr.contains("class folder"),
        "{stderr}"
    );
    let notes = dir.join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join("readme.txt"), "not images").unwrap();
    let stderr = failure(
        &["--model", "lenet", "--data", notes.to_str().unwrap()],
        &dir,
    );
    assert!(stderr.contains("not a dataset"), "{stderr}");
    let missing = dir.join("absent");
    let stderr = failure(
        &["--model", "lenet", "--data", missing.to_str().unwrap()],
        &dir,
    );
    assert!(stderr.contains("absent"), "{stderr}");
    // A checkpoint of another network.
    let mut hefnet = zoo::hefnet();
    heaccel_host::nn::weights::init_seeded(&mut hefnet, 1);
    let foreign = dir.join("hefnet.safetensors");
    heaccel_host::nn::weights::save_safetensors(
        &hefnet,
        &foreign,
        heaccel_host::nn::weights::WeightDtype::F32,
    )
    .unwrap();
    let mut args = with(&[]);
    args.extend(["--resume", foreign.to_str().unwrap()]);
    let stderr = failure(&args, &dir);
    assert!(
        stderr.contains("hefnet.safetensors") && stderr.contains("lenet"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_short_run_reports_json_and_writes_weights_that_reload_bit_exactly() {
    let Some(data) = common::mnist_10k() else {
        return;
    };
    let dir = temp_dir("run");
    let out = dir.join("lenet.safetensors");
    let o = heaccel(&[
        "train",
        "--model",
        "lenet",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--train-images",
        "256",
        "--test-images",
        "200",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["model"], "lenet");
    assert_eq!(v["strategy"], "spencnn");
    assert_eq!(v["epochs"], 1);
    assert_eq!(v["seed"], 3);
    assert_eq!(v["prune"], 0.0);
    for field in ["test_accuracy", "train_accuracy", "host_test_accuracy"] {
        let x = v[field].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&x), "{field} = {x}");
    }
    assert!(v["seconds"].as_f64().unwrap() > 0.0);
    assert!(!v["cpu"].as_str().unwrap().is_empty());
    assert_eq!(v["reloaded_bit_exact"], true);
    assert_eq!(v["activations"].as_array().unwrap().len(), 3);
    // The file loads into the zoo's LeNet (what infer/simulate --weights do) and holds the
    // reported coefficients; the checkpoint was removed once the file was written.
    let mut lenet = zoo::lenet();
    load_safetensors(&mut lenet, &out).unwrap();
    let act1 = &v["activations"][0];
    assert_eq!(act1[0], "act1");
    let a = lenet
        .parameters()
        .into_iter()
        .find(|p| p.name == "act1.a")
        .unwrap()
        .values[0];
    assert_eq!(a.to_bits(), act1[1].as_f64().unwrap().to_bits());
    assert!(!dir.join("lenet.checkpoint.safetensors").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// conv2's PMults in `heaccel simulate --model lenet --strategy spencnn --repack always`
/// with `extra` options.
fn conv2_pmults(extra: &[&str]) -> u64 {
    let mut args = vec![
        "simulate",
        "--model",
        "lenet",
        "--strategy",
        "spencnn",
        "--repack",
        "always",
        "--json",
    ];
    args.extend(extra);
    let o = heaccel(&args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"].as_str().unwrap().contains("'conv2'"))
        .unwrap()["pmults"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_pruned_run_writes_its_mask_and_simulate_prunes_exactly_it() {
    let Some(data) = common::mnist_10k() else {
        return;
    };
    let dir = temp_dir("prune");
    let out = dir.join("lenet-p50.safetensors");
    let o = heaccel(&[
        "train",
        "--model",
        "lenet",
        "--data",
        data.to_str().unwrap(),
        "--prune",
        "0.5",
        "--epochs",
        "1",
        "--train-images",
        "256",
        "--test-images",
        "200",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["prune"], 0.5);
    assert_eq!(v["reloaded_bit_exact"], true);
    let pruning: Vec<(String, u64, u64)> = v["pruning"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["blocks"].as_u64().unwrap(),
                p["pruned"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pruning,
        [("conv1".into(), 1600, 800), ("conv2".into(), 900, 450)]
    );
    // The file carries the masks; the pruned weights are 0.
    let mut lenet = zoo::lenet();
    load_safetensors(&mut lenet, &out).unwrap();
    let mut masked = 0;
    lenet.visit_layers(|_, layer| {
        if let heaccel_host::nn::Layer::Conv2d(c) = layer {
            let mask = c.weight_mask.as_ref().expect("a mask per convolution");
            for (w, keep) in c.weight.iter().zip(mask) {
                assert_eq!(*w == 0.0, !keep, "{}", c.name);
            }
            masked += 1;
        }
    });
    assert_eq!(masked, 2);
    // simulate --weights prunes exactly the mask: fewer PMults than the unpruned network,
    // and the same whatever --prune asks (never re-pruned by magnitude).
    let weights = out.to_str().unwrap();
    let unpruned = conv2_pmults(&[]);
    let trained = conv2_pmults(&["--weights", weights]);
    assert!(trained < unpruned, "{trained} vs {unpruned}");
    assert_eq!(
        conv2_pmults(&["--weights", weights, "--prune", "0.9"]),
        trained
    );
    assert!(conv2_pmults(&["--prune", "0.9"]) < trained);
    let _ = std::fs::remove_dir_all(&dir);
}
