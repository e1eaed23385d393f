//! `heaccel infer`: JSON shape, the verification exit code, input files, labelled images with
//! trained weights, and bad inputs.

mod support;

use support::heaccel;

#[path = "../../host/tests/common/mod.rs"]
mod common;

use heaccel_host::nn::weights::{input_to_safetensors_bytes, seeded_input};
use heaccel_host::nn::Shape;

fn failure(args: &[&str]) -> String {
    let out = heaccel(args);
    assert_eq!(out.status.code(), Some(2), "{args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("heaccel-infer-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn infer_json_has_the_documented_shape_and_verifies() {
    // LeNet's input from a file (safetensors, seed 3): the same result as --seed 3
    let dir = temp_dir("json");
    let file = dir.join("digit.safetensors");
    let input = seeded_input(Shape::new(1, 28, 28), 3);
    std::fs::write(&file, input_to_safetensors_bytes(&input)).unwrap();
    let out = heaccel(&[
        "infer",
        "--model",
        "lenet",
        "--backend",
        "reference",
        "--input",
        file.to_str().unwrap(),
        "--verify",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["model"], "lenet");
    assert_eq!(v["strategy"], "spencnn");
    assert_eq!(v["backend"], "reference");
    assert_eq!(v["params"]["log_n"], 14);
    assert_eq!(v["slots"], 8192);
    assert_eq!(v["tolerance"], 1e-3);
    assert_eq!(v["pass"], true);
    for key in ["rotations", "pmults", "hmults", "depth"] {
        assert!(v["ops"][key].as_u64().unwrap() > 0, "{key}");
    }
    assert_eq!(
        v["params"]["levels"].as_u64().unwrap(),
        v["ops"]["depth"].as_u64().unwrap() + 1
    );
    assert!(v["rotation_keys"].as_u64().unwrap() > 0);
    assert!(v["setup"]["keygen_ms"].as_f64().unwrap() > 0.0);
    let inputs = v["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1);
    let i = &inputs[0];
    assert_eq!(i["input"], file.to_str().unwrap());
    let enc: Vec<f64> = serde_json::from_value(i["encrypted"].clone()).unwrap();
    let plain: Vec<f64> = serde_json::from_value(i["plain"].clone()).unwrap();
    assert_eq!((enc.len(), plain.len()), (10, 10));
    let err = enc
        .iter()
        .zip(&plain)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    // serde_json's default float parsing is not exactly round-trip: equal to 1e-12
    let reported = i["max_abs_error"].as_f64().unwrap();
    assert!((reported - err).abs() <= 1e-12 * err, "{reported} vs {err}");
    let range = i["output_range"].as_f64().unwrap();
    assert!(err < 1e-3 * range && i["relative_error"].as_f64().unwrap() < 1e-3);
    assert_eq!(i["argmax_plain"], i["argmax_encrypted"]);
    assert_eq!(i["passes"], true);
    assert_eq!(i["output_level"], 1);
    for phase in [
        "encrypt_ms",
        "evaluate_ms",
        "decrypt_ms",
        "plain_ms",
        "total_ms",
    ] {
        assert!(i["times"][phase].as_f64().unwrap() > 0.0, "{phase}");
    }
    assert_eq!(v["summary"]["count"], 1);
    assert_eq!(v["summary"]["passed"], 1);
    assert_eq!(v["summary"]["argmax_agree"], 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = temp_dir("bad");
    // an input of the wrong shape (HEFNet's, for LeNet)
    let file = dir.join("cifar.safetensors");
    std::fs::write(
        &file,
        input_to_safetensors_bytes(&seeded_input(Shape::new(3, 32, 32), 1)),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let e = failure(&["infer", "--model", "lenet", "--input", path]);
    assert!(
        e.contains(path)
            && e.contains("'input'")
            && e.contains("[3, 32, 32]")
            && e.contains("[1, 28, 28]"),
        "{e}"
    );
    // JSON: wrong shape, ragged arrays, a missing field
    let json = dir.join("x.json");
    std::fs::write(&json, r#"{"input": [[1, 2], [3, 4]]}"#).unwrap();
    let jp = json.to_str().unwrap();
    let e = failure(&["infer", "--model", "lenet", "--input", jp]);
    assert!(
        e.contains(jp) && e.contains("[2, 2]") && e.contains("[1, 28, 28]"),
        "{e}"
    );
    std::fs::write(&json, r#"{"input": [[1, 2], [3]]}"#).unwrap();
    let e = failure(&["infer", "--model", "lenet", "--input", jp]);
    assert!(e.contains("ragged"), "{e}");
    std::fs::write(&json, r#"{"x": []}"#).unwrap();
    let e = failure(&["infer", "--model", "lenet", "--input", jp]);
    assert!(e.contains("`input`"), "{e}");
    // options
    let e = failure(&["infer", "--model", "lenet", "--prune", "1.5"]);
    assert!(e.contains("--prune") && e.contains("1.5"), "{e}");
    let e = failure(&["infer", "--model", "alexnet"]);
    assert!(e.contains("--model") && e.contains("lenet"), "{e}");
    let e = failure(&["infer", "--model", "lenet", "--input", jp, "--count", "3"]);
    assert!(e.contains("--count"), "{e}");
    let e = failure(&["infer", "--model", "resnet20", "--backend", "reference"]);
    assert!(e.contains("N = 2^14") && e.contains("depth"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_main_job_runs_on_the_defaults() {
    use heaccel_cli::mainjob::{format_main_job, main_job, MainJobArgs};
    let dir = temp_dir("main");
    let args = MainJobArgs {
        out: dir.join("report"),
        ..MainJobArgs::default()
    };
    assert_eq!(args.model, "lenet");
    assert_eq!(args.config, "fpga-u280");
    let r = main_job(&args, false).unwrap();
    assert_eq!(r.comparison.model, "lenet");
    assert_eq!(r.comparison.config, "fpga-u280");
    assert!(
        r.comparison.speedup.time > 1.0,
        "SpENCNN is faster on LeNet"
    );
    assert!(r.verification.pass);
    assert_eq!(r.verification.inputs.len(), 1);
    assert_eq!(r.verification.strategy, "spencnn");
    // the verified program is the simulated one: same counts
    let sim = &r.comparison.spencnn.total;
    let ops = &r.verification.ops;
    assert_eq!(
        (ops.rotations, ops.pmults, ops.hmults, ops.depth),
        (sim.rotations, sim.pmults, sim.hmults, sim.depth)
    );
    assert_eq!(r.files.len(), 4);
    for f in &r.files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.is_empty(), "{}", f.display());
        if f.extension().is_some_and(|e| e == "json") {
            serde_json::from_str::<serde_json::Value>(&text).unwrap();
        } else {
            assert!(text.contains("<svg"), "{}", f.display());
        }
    }
    let printed = format_main_job(&r);
    assert!(printed.contains("speedups (dense / SpENCNN)") && printed.contains("1/1 inputs pass"));
    assert!(printed.contains(&format!("wrote {}", r.files[0].display())));
    let _ = std::fs::remove_dir_all(dir);
}

/// Raw MNIST IDX files of `labels.len()` 28x28 images (patterned pixels) in `dir`; returns the
/// pixels.
fn write_mnist(dir: &std::path::Path, labels: &[u8]) -> Vec<Vec<u8>> {
    let pixels: Vec<Vec<u8>> = (0..labels.len())
        .map(|k| (0..784).map(|i| ((i * 37 + k * 101) % 251) as u8).collect())
        .collect();
    common::write_mnist_idx(dir, labels, &pixels);
    pixels
}

#[test]
fn labelled_images_with_trained_weights_report_top1() {
    use heaccel_host::nn::weights::{to_safetensors_bytes, WeightDtype};
    use heaccel_host::nn::{forward, zoo, FeatureMap};
    let dir = temp_dir("data");
    let labels = [3u8, 1, 4, 1, 5];
    let pixels = write_mnist(&dir, &labels);
    // Weights as `heaccel train` writes them: the zoo's LeNet (grouped), other values than the
    // default seeded ones.
    let lenet = zoo::seeded(zoo::ZooModel::Lenet, 77).unwrap();
    let weights = dir.join("lenet.safetensors");
    std::fs::write(
        &weights,
        to_safetensors_bytes(&lenet, WeightDtype::F32).unwrap(),
    )
    .unwrap();
    let out = heaccel(&[
        "infer",
        "--model",
        "lenet",
        "--backend",
        "reference",
        "--weights",
        weights.to_str().unwrap(),
        "--data",
        dir.to_str().unwrap(),
        "--first",
        "1",
        "--count",
        "3",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let inputs = v["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    // The loaded weights, reread as f32, and the images scaled to [0, 1]: the plaintext
    // argmax is the host forward pass's on them (computed here), the labels are 1, 4, 1.
    let mut reloaded = zoo::architecture(zoo::ZooModel::Lenet).unwrap();
    heaccel_host::nn::weights::load_safetensors(&mut reloaded, &weights).unwrap();
    let mut right = (0, 0);
    for (k, input) in inputs.iter().enumerate() {
        let index = k + 1;
        assert_eq!(input["label"], labels[index] as u64);
        assert!(input["input"]
            .as_str()
            .unwrap()
            .ends_with(&format!("[{index}]")));
        let image = FeatureMap::new(
            Shape::new(1, 28, 28),
            pixels[index].iter().map(|&p| p as f64 / 255.0).collect(),
        )
        .unwrap();
        let plain = forward(&reloaded, &image).unwrap().output;
        let argmax = plain
            .data()
            .iter()
            .enumerate()
            .fold(
                (0, f64::MIN),
                |best, (i, &x)| if x > best.1 { (i, x) } else { best },
            )
            .0;
        assert_eq!(input["argmax_plain"], argmax as u64, "image {index}");
        right.0 += (input["argmax_encrypted"] == labels[index] as u64) as usize;
        right.1 += (argmax == labels[index] as usize) as usize;
    }
    let s = &v["summary"];
    assert_eq!(s["encrypted_top1"], right.0 as f64 / 3.0);
    assert_eq!(s["plaintext_top1"], right.1 as f64 / 3.0);
    assert_eq!(s["argmax_agree"], 3);
    // Past the end of the data, data with --input or --seed, dense strategy on grouped weights.
    let e = failure(&[
        "infer",
        "--model",
        "lenet",
        "--weights",
        weights.to_str().unwrap(),
        "--data",
        dir.to_str().unwrap(),
        "--first",
        "3",
        "--count",
        "3",
    ]);
    assert!(
        e.contains("--first 3 --count 3") && e.contains("5 images"),
        "{e}"
    );
    let e = failure(&[
        "infer",
        "--model",
        "lenet",
        "--data",
        dir.to_str().unwrap(),
        "--seed",
        "4",
    ]);
    assert!(e.contains("--seed"), "{e}");
    let e = failure(&[
        "infer",
        "--model",
        "lenet",
        "--strategy",
        "dense",
        "--weights",
        weights.to_str().unwrap(),
    ]);
    assert!(
        e.contains("--weights") && e.contains("lenet.safetensors"),
        "{e}"
    );
}
