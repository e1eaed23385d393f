//! `heaccel tradeoff`: a tiny LeNet run on the MNIST images of `../shared/data` (skipped with a
//! notice when absent) writes tradeoff.csv, tradeoff.json and tradeoff.svg with one row per
//! point (dense, ratio 0, ratio 0.5), positive latencies and fewer PMults (and no more
//! rotations) when pruned; bad `--ratios` fail clearly, naming the option, before any work.

mod support;

use support::heaccel;

#[path = "../../host/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

use serde_json::Value;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "heaccel-cli-tradeoff-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_tiny_lenet_tradeoff_writes_one_row_per_point() {
    let Some(data) = common::mnist_10k() else {
        return;
    };
    let dir = temp_dir("lenet");
    let out = dir.join("out");
    let o = heaccel(&[
        "tradeoff",
        "--model",
        "lenet",
        "--data",
        data.to_str().unwrap(),
        "--ratios",
        "0.5, 0",
        "--epochs",
        "1",
        "--train-images",
        "256",
        "--test-images",
        "100",
        "--batch-size",
        "32",
        "--preset",
        "fpga-u280",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let printed: Value = serde_json::from_slice(&o.stdout).unwrap();
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("tradeoff.json")).unwrap()).unwrap();
    assert_eq!(printed, written);
    assert_eq!(printed["model"], "lenet");
    assert_eq!(printed["preset"], "fpga-u280");
    let points = printed["points"].as_array().unwrap();
    let kinds: Vec<(&str, f64)> = points
        .iter()
        .map(|p| {
            (
                p["strategy"].as_str().unwrap(),
                p["ratio"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("dense", 0.0), ("spencnn", 0.0), ("spencnn", 0.5)],
        "dense, then the ratios increasing"
    );
    for p in points {
        assert!(p["latency_ms"].as_f64().unwrap() > 0.0, "{p}");
        let accuracy = p["test_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&accuracy), "{p}");
        assert!(
            PathBuf::from(p["weights"].as_str().unwrap()).is_file(),
            "{p}"
        );
    }
    let count = |p: &Value, k: &str| p[k].as_u64().unwrap();
    let (unpruned, pruned) = (&points[1], &points[2]);
    // Pruning removes one PMult per pruned block; a rotation only goes with all its blocks.
    assert!(
        count(pruned, "pmults") < count(unpruned, "pmults"),
        "{points:?}"
    );
    assert!(
        count(pruned, "rotations") <= count(unpruned, "rotations"),
        "{points:?}"
    );
    assert!(
        count(unpruned, "pmults") < count(&points[0], "pmults"),
        "{points:?}"
    );
    let csv = std::fs::read_to_string(out.join("tradeoff.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "a header and one row per point: {csv}");
    assert!(lines[0].starts_with("model,preset,strategy,ratio,test_accuracy"));
    assert!(
        lines[3].starts_with("lenet,fpga-u280,spencnn,0.5,"),
        "{csv}"
    );
    let svg = std::fs::read_to_string(out.join("tradeoff.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("dense"), "{svg}");
    let leftovers: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_ratios_fail_naming_the_option_before_any_work() {
    let dir = temp_dir("bad");
    let out = dir.join("out");
    let cases = [
        ("", "at least one ratio"),
        ("0,1", "`ratios` = 1: expected ratios in [0, 1)"),
        ("-0.25", "`ratios` = -0.25"),
        ("0,nan", "`ratios` = NaN"),
        ("0.5,0.5", "`ratios` = 0.5: expected no ratio twice"),
        (
            "0,half",
            "`ratios` = half: expected comma-separated numbers",
        ),
    ];
    for (ratios, expected) in cases {
        let o = heaccel(&[
            "tradeoff",
            "--model",
            "lenet",
            "--data",
            dir.to_str().unwrap(),
            "--ratios",
            ratios,
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{ratios:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{ratios:?}: {stderr}");
        assert!(
            stderr.contains("--ratios") && stderr.contains(expected),
            "{ratios:?}: {stderr}"
        );
        assert!(!out.exists(), "{ratios:?} created the output folder");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
