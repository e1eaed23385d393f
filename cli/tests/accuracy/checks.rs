//! The checks every accuracy report must pass: consistent figures, exact-ReLU reports,
//! minimax bounds from the calibration run.

use super::*;

/// ReLU layers of the CIFAR ResNet-20, in execution order, with their values per image.
fn resnet20_relus() -> Vec<(String, u64)> {
    let mut layers = vec![("relu1".to_string(), 16 * 32 * 32)];
    for (stage, values) in [(1, 16 * 32 * 32), (2, 32 * 16 * 16), (3, 64 * 8 * 8)] {
        for block in 0..3 {
            for relu in ["relu1", "relu2"] {
                layers.push((format!("layer{stage}.{block}.{relu}"), values));
            }
        }
    }
    layers
}

pub(super) fn as_u64(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` is not a count: {v}"))
}

/// The figures every report must agree on; returns the per-class totals.
pub(super) fn check_consistent(v: &Value, classes: &[&str], images: u64) -> Vec<u64> {
    let (correct, total) = (as_u64(v, "correct"), as_u64(v, "total"));
    assert_eq!(total, images);
    assert!(correct <= total);
    let top1 = v["top1"].as_f64().unwrap();
    assert!(
        (top1 - correct as f64 / total as f64).abs() < 1e-12,
        "{top1}"
    );
    let report = &v["report"];
    assert_eq!(as_u64(report, "correct"), correct);
    assert_eq!(as_u64(report, "total"), total);
    assert_eq!(report["model"], v["model"]);
    assert_eq!(report["activation"], v["activation"]);
    let per_class = report["per_class"].as_array().unwrap();
    let names: Vec<&str> = per_class
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    assert_eq!(names, classes);
    let sum = |key: &str| per_class.iter().map(|c| as_u64(c, key)).sum::<u64>();
    assert_eq!(sum("correct"), correct);
    assert_eq!(sum("total"), total);
    for c in per_class {
        assert!(as_u64(c, "correct") <= as_u64(c, "total"), "{c}");
    }
    // one row per ReLU of ResNet-20, each seeing every value of every image
    let layers = report["activations"].as_array().unwrap();
    let expected = resnet20_relus();
    assert_eq!(layers.len(), expected.len());
    for (layer, (name, per_image)) in layers.iter().zip(&expected) {
        assert_eq!(layer["name"], name.as_str());
        assert_eq!(as_u64(layer, "values"), per_image * images, "{name}");
        assert!(layer["max_abs"].as_f64().unwrap() > 0.0, "{name}");
    }
    let total_values: u64 = layers.iter().map(|l| as_u64(l, "values")).sum();
    assert_eq!(total_values, 188_416 * images);
    assert_eq!(as_u64(v, "relu_values"), total_values);
    let outside: u64 = layers.iter().map(|l| as_u64(l, "outside")).sum();
    let below: u64 = layers.iter().map(|l| as_u64(l, "below_eps")).sum();
    assert_eq!(as_u64(v, "outside_bound"), outside);
    assert_eq!(as_u64(v, "below_eps"), below);
    assert!(outside + below <= total_values);
    assert!(v["seconds"].as_f64().unwrap() > 0.0);
    assert!(v["threads"].as_u64().unwrap() >= 1);
    per_class.iter().map(|c| as_u64(c, "total")).collect()
}

/// An exact-ReLU report: no bounds, nothing counted outside or below eps.
pub(super) fn check_exact(v: &Value) {
    assert_eq!(v["activation"], "relu");
    assert!(v["calibration"].is_null() && v["report"]["minimax"].is_null());
    assert_eq!((as_u64(v, "outside_bound"), as_u64(v, "below_eps")), (0, 0));
    for layer in v["report"]["activations"].as_array().unwrap() {
        assert_eq!(layer["bound"], 0.0, "{layer}");
    }
}

/// A minimax report whose bounds came from `calibration` (an exact report on the same
/// calibration images): each bound is `margin` times that run's largest |x| of the layer, and
/// values beyond it are counted exactly when the test images exceed it.
pub(super) fn check_minimax(v: &Value, alpha: u64, calibration: &Value, margin: f64) {
    assert_eq!(v["activation"], format!("relu-minimax:{alpha}"));
    let m = &v["report"]["minimax"];
    assert_eq!(as_u64(m, "alpha"), alpha);
    let eps = m["eps"].as_f64().unwrap();
    assert!(eps > 0.0 && eps < 1.0, "{eps}");
    assert!((m["log2_eps"].as_f64().unwrap() - eps.log2()).abs() < 1e-12);
    assert!(!m["degrees"].as_array().unwrap().is_empty());
    assert!(as_u64(m, "relu_depth") > 0);
    let sign_error = m["sign_error"].as_f64().unwrap();
    assert!(
        sign_error > 0.0 && sign_error <= 2f64.powi(-(alpha as i32)),
        "{sign_error}"
    );
    let c = &v["calibration"];
    assert_eq!(c["margin"].as_f64(), Some(margin));
    assert_eq!(c["images"], calibration["total"]);
    let layers = v["report"]["activations"].as_array().unwrap();
    let calibrated = calibration["report"]["activations"].as_array().unwrap();
    for (layer, cal) in layers.iter().zip(calibrated) {
        let name = &layer["name"];
        assert_eq!(name, &cal["name"]);
        let bound = layer["bound"].as_f64().unwrap();
        let want = margin * cal["max_abs"].as_f64().unwrap();
        assert!(
            (bound - want).abs() <= 1e-12 * want,
            "{name}: bound {bound}, calibration gives {want}"
        );
        let max_abs = layer["max_abs"].as_f64().unwrap();
        let outside = as_u64(layer, "outside");
        assert_eq!(outside > 0, max_abs > bound, "{name}: {layer}");
    }
}
