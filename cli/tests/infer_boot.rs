//! `heaccel infer-boot`: the trained ResNet-20 of `../shared/data` on two encrypted CIFAR-10
//! JPEG test images (two shards, merged) with minimax ReLU and bootstrapping at the insecure
//! `boot-test-deep` preset (N = 2^12, `n16-boot`'s chain; about 40 s per image), against the
//! plaintext minimax pass; and its refusals (clear errors, exit code 2, no `--out` file); and `heaccel simulate`
//! on the same trained network (`--weights`). Skipped with a notice where the shared data is
//! absent. The N = 2^16 run is `bash bench/resnet20_encrypted.sh`.

mod support;

use support::heaccel;

#[path = "../../host/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn shared() -> Option<(PathBuf, PathBuf)> {
    Some((common::resnet_weights(20)?, common::cifar10_jpeg()?))
}

fn base<'a>(weights: &'a Path, root: &'a Path, test: &'a str) -> Vec<&'a str> {
    vec![
        "infer-boot",
        "--weights",
        weights.to_str().unwrap(),
        "--data",
        test,
        "--calibration",
        root.to_str().unwrap(),
        "--calibration-per-class",
        "5",
    ]
}

/// The insecure test preset, opted into.
const TEST_PRESET: [&str; 3] = ["--preset", "boot-test-deep", "--allow-insecure"];

#[test]
fn resnet20_on_encrypted_cifar10_images_agrees_with_the_plaintext_minimax_pass() {
    // Two images as two shards (one each, keys generated per shard) merged into one report.
    let Some((weights, root)) = shared() else {
        return;
    };
    let test = root.join("test");
    let train = root.join("train");
    let shards =
        std::env::temp_dir().join(format!("heaccel-infer-boot-shards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&shards);
    for spec in ["1/2", "2/2"] {
        let mut args = base(&weights, &train, test.to_str().unwrap());
        args.extend(TEST_PRESET);
        args.extend(["--model", "resnet20", "--count", "2", "--verify", "--json"]);
        args.extend(["--shard", spec, "--shard-dir", shards.to_str().unwrap()]);
        let out = heaccel(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["images"], 1);
        assert_eq!(v["shard"]["shard"], spec);
        assert_eq!(v["shard"]["items"], 2);
    }
    let merged = shards.join("merged");
    let out = heaccel(&[
        "merge",
        shards.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("infer-boot.json")).unwrap())
            .unwrap();
    assert_eq!(v["images"], 2);
    assert_eq!(v["agree_with_plaintext"], 2);
    assert!(v.get("shard").is_none());
    let err = v["max_logit_error"].as_f64().unwrap();
    assert!(err > 0.0 && err < 1e-2, "max logit error {err}");
    assert_eq!(v["minimax"]["alpha"], 8);
    assert_eq!(v["setup"]["levels"], 9);
    assert_eq!(v["setup"]["relu_depth"], 8);
    // 2048 slots: several ciphertexts per map, each refreshed once per ReLU (19 ReLUs)
    let boots = v["bootstrappings"].as_u64().unwrap();
    assert!(boots >= 19, "{boots} bootstrappings");
    assert_eq!(v["setup"]["bootstrappings"].as_u64(), Some(boots));
    assert_eq!(v["bounds"].as_array().unwrap().len(), 19);
    // the first image of each class, in label order
    for (k, origin) in ["airplane/0000.jpg", "automobile/0000.jpg"]
        .iter()
        .enumerate()
    {
        let image = &v["per_image"][k];
        assert_eq!(image["origin"], *origin);
        assert_eq!(image["label"], k);
        assert_eq!(image["argmax_encrypted"], image["argmax_plain"]);
        assert_eq!(image["encrypted"].as_array().unwrap().len(), 10);
    }
    assert!(v["seconds_per_image"].as_f64().unwrap() > 0.0);
    let _ = std::fs::remove_dir_all(shards);
}

#[test]
fn refusals_are_clear_errors_without_a_report() {
    let Some((weights, root)) = shared() else {
        return;
    };
    let test = root.join("test");
    let train = root.join("train");
    let dir = std::env::temp_dir().join(format!("heaccel-infer-boot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join("run.json");
    let cases: [(&[&str], &str); 5] = [
        (
            &["--model", "resnet20", "--activation", "relu"],
            "exact ReLU has no CKKS circuit",
        ),
        (
            &["--model", "resnet20", "--activation", "relu-minimax:13"],
            "needs 14 levels, more than the 9 left after bootstrapping",
        ),
        (
            &["--model", "resnet20", "--count", "0"],
            "--count must be >= 1",
        ),
        (&["--model", "lenet"], "unknown CIFAR ResNet 'lenet'"),
        (
            &["--model", "resnet20", "--preset", "test-n13"],
            "resnet20 encrypted at test-n13: invalid parameter `levels`: bootstrapping needs",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = base(&weights, &train, test.to_str().unwrap());
        if !extra.contains(&"--preset") {
            args.extend(TEST_PRESET);
        }
        args.extend(extra);
        args.extend(["--out", out_file.to_str().unwrap()]);
        let o = heaccel(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{extra:?}: {stderr}");
        assert!(!out_file.exists(), "{extra:?} wrote a report");
    }
    // the secure default refuses the insecure test preset without the opt-in
    let mut args = base(&weights, &train, test.to_str().unwrap());
    args.extend(["--preset", "boot-test-deep", "--model", "resnet20"]);
    let o = heaccel(&args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--allow-insecure"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn simulate_runs_the_trained_cifar_resnet_with_its_bootstrappings() {
    let Some(weights) = common::resnet_weights(20) else {
        return;
    };
    let out = heaccel(&[
        "simulate",
        "--model",
        "resnet20",
        "--weights",
        weights.to_str().unwrap(),
        "--activation",
        "relu-minimax:8",
        "--strategy",
        "dense",
        "--config",
        "asic",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = v["layers"].as_array().unwrap();
    let kinds = |k: &str| layers.iter().filter(|l| l["kind"] == k).count();
    // the option-A network: two downsampling shortcuts, 19 ReLUs, no shortcut convolution
    assert_eq!(kinds("downsample"), 2);
    assert_eq!(kinds("activation"), 19);
    assert_eq!(kinds("conv2d"), 19);
    let total = &v["total"];
    assert!(total["bootstrappings"].as_u64().unwrap() >= 1);
    assert!(total["bootstrap_us"].as_f64().unwrap() > 0.0);
    // the per-operation sum includes every bootstrapping; the whole program beats that sum
    let per_op = total["per_op_sum_us"].as_f64().unwrap();
    assert!(per_op > total["bootstrap_us"].as_f64().unwrap());
    assert!(total["time_us"].as_f64().unwrap() < per_op);
    assert_eq!(
        v["whole_program"]["bootstrappings"], total["bootstrappings"],
        "the whole program expands every bootstrapping it places"
    );
    // a checkpoint of another depth is refused naming its tensors
    if let Some(other) = common::resnet_weights(32) {
        let out = heaccel(&[
            "simulate",
            "--model",
            "resnet20",
            "--weights",
            other.to_str().unwrap(),
            "--config",
            "asic",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("layer2.3"), "{stderr}");
    }
}
