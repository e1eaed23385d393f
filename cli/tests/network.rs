//! `heaccel simulate --model` and `heaccel compare --model`: JSON shapes and bad inputs.

mod support;

use support::heaccel;

fn json(args: &[&str]) -> serde_json::Value {
    let out = heaccel(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn failure(args: &[&str]) -> String {
    let out = heaccel(args);
    assert_eq!(out.status.code(), Some(2), "{args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

fn check_sim(v: &serde_json::Value) {
    let layers = v["layers"].as_array().unwrap();
    assert!(!layers.is_empty());
    let mut sum = 0.0;
    for l in layers {
        assert!(l["name"].is_string(), "{l}");
        for key in [
            "rotations",
            "pmults",
            "hmults",
            "rescales",
            "key_switches",
            "depth",
        ] {
            assert!(l[key].is_u64(), "{key}: {l}");
        }
        let time = l["time_us"].as_f64().unwrap();
        sum += time;
        let shares: f64 = l["time_by_bound"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((shares - time).abs() <= 1e-9 * time.max(1.0), "{l}");
    }
    let total = &v["total"];
    let per_op = total["per_op_sum_us"].as_f64().unwrap();
    assert!(
        per_op > 0.0 && (per_op - sum).abs() < 1e-6 * per_op,
        "{per_op} vs {sum}"
    );
    // the latency is the whole program's: one allocated stream, below the per-operation sum
    let t = total["time_us"].as_f64().unwrap();
    let whole = &v["whole_program"];
    if whole.is_null() {
        // a layer the compiler counts but does not compile: the per-operation sum, and why
        assert!(v["whole_program_unavailable"].is_string(), "{v}");
        assert_eq!(t, per_op);
        assert!(total["offchip_bytes"].is_null());
        return;
    }
    assert_eq!(whole["time_us"].as_f64(), Some(t));
    assert!(t > 0.0 && t < per_op, "{t} vs {per_op}");
    assert_eq!(total["bootstrappings"], whole["bootstrappings"]);
    let bytes = total["offchip_bytes"].as_u64().unwrap();
    let bound = total["offchip_lower_bound_bytes"].as_u64().unwrap();
    assert!(bound > 0 && bytes >= bound, "{bytes} vs {bound}");
    assert_eq!(whole["offchip_bytes"].as_u64(), Some(bytes));
    let rot: u64 = layers
        .iter()
        .map(|l| l["rotations"].as_u64().unwrap())
        .sum();
    assert_eq!(total["rotations"], rot);
    if total["bootstrappings"] == 0 {
        // one level per unit of depth; bootstrapping refreshes them
        assert_eq!(v["params"]["levels"], total["depth"]);
    } else {
        assert!(v["params"]["levels"].as_u64() < total["depth"].as_u64());
    }
}

#[test]
fn simulate_model_json_has_the_documented_shape() {
    let v = json(&[
        "simulate",
        "--model",
        "lenet",
        "--strategy",
        "dense",
        "--config",
        "asic",
        "--json",
    ]);
    check_sim(&v);
    assert_eq!(v["strategy"], "dense");
    assert_eq!(v["params"]["log_n"], 14);
    // the command's own figures
    assert!(v["run"]["wall_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(v["run"]["instructions"], v["whole_program"]["instructions"]);
    let v = json(&["simulate", "--model", "lenet", "--prune", "0.5", "--json"]);
    check_sim(&v);
    assert_eq!(
        (v["strategy"].as_str(), v["config"].as_str()),
        (Some("spencnn"), Some("fpga-u280"))
    );
    let text = heaccel(&["simulate", "--model", "lenet"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("conv1") && text.contains("time (us)") && text.contains("whole program"),
        "{text}"
    );
}

#[test]
fn compare_json_has_the_documented_shape() {
    let v = json(&["compare", "--model", "lenet", "--config", "asic", "--json"]);
    check_sim(&v["dense"]);
    check_sim(&v["spencnn"]);
    let s = &v["speedup"];
    let time = s["time"].as_f64().unwrap();
    let want = v["dense"]["total"]["time_us"].as_f64().unwrap()
        / v["spencnn"]["total"]["time_us"].as_f64().unwrap();
    assert!((time - want).abs() < 1e-9 * want);
    assert!(time > 1.0, "SpENCNN is faster on LeNet: {time}");
    for key in ["rotations", "key_switches", "pmults"] {
        assert!(s[key].as_f64().unwrap() >= 1.0, "{key}");
    }
    assert_eq!(
        v["layers"].as_array().unwrap().len(),
        v["spencnn"]["layers"].as_array().unwrap().len()
    );
}

#[test]
fn minimax_activations_report_their_depth_per_layer() {
    let v = json(&[
        "simulate",
        "--model",
        "lenet",
        "--activation",
        "relu-minimax:6",
        "--pool",
        "maxpool-minimax:6",
        "--config",
        "asic",
        "--json",
    ]);
    check_sim(&v);
    let layers = v["layers"].as_array().unwrap();
    let relu: Vec<_> = layers
        .iter()
        .filter(|l| l["approximation"] == "relu-minimax:6")
        .collect();
    assert_eq!(relu.len(), 3);
    assert!(relu.iter().all(|l| l["depth"].as_u64().unwrap() >= 4));
    // 2x2 pooling became max-pooling; the 10x10 global pooling stayed average
    let pools: Vec<_> = layers.iter().filter(|l| l["kind"] == "avg_pool").collect();
    assert_eq!(pools[0]["approximation"], "maxpool-minimax:6");
    assert!(pools[1]["approximation"].is_null());
    // minimax max-pooling is counted, not compiled: no whole program, with the reason
    assert!(v["whole_program"].is_null());
    let why = v["whole_program_unavailable"].as_str().unwrap();
    assert!(why.contains("max-pooling"), "{why}");
}

/// ResNet-20 without `--activation` is the network with minimax ReLU (alpha 8), bootstrapped
/// and timed as one program.
#[test]
fn resnet20_defaults_to_minimax_relu_with_bootstrapping() {
    let v = json(&[
        "simulate", "--model", "resnet20", "--config", "sharp", "--json",
    ]);
    check_sim(&v);
    let layers = v["layers"].as_array().unwrap();
    let relu = layers
        .iter()
        .filter(|l| l["approximation"] == "relu-minimax:8")
        .count();
    assert_eq!(relu, 19, "one minimax ReLU per activation of ResNet-20");
    assert!(v["total"]["bootstrappings"].as_u64().unwrap() > 0);
    assert!(
        v["whole_program"].is_object(),
        "{}",
        v["whole_program_unavailable"]
    );
}

#[test]
fn bad_network_inputs_are_named() {
    let e = failure(&["simulate", "--model", "alexnet"]);
    assert!(
        e.contains("--model") && e.contains("lenet, vgg5, hefnet, resnet20"),
        "{e}"
    );
    let e = failure(&["compare", "--model", "alexnet"]);
    assert!(e.contains("--model"), "{e}");
    for bad in ["1.5", "-0.1", "NaN"] {
        let e = failure(&["simulate", "--model", "lenet", "--prune", bad]);
        assert!(e.contains("--prune") && e.contains("[0, 1]"), "{bad}: {e}");
    }
    let e = failure(&[
        "simulate",
        "--model",
        "lenet",
        "--strategy",
        "dense",
        "--prune",
        "0.5",
    ]);
    assert!(e.contains("--prune"), "{e}");
    for bad in ["relu", "relu-minimax:20", "relu-minimax:"] {
        let e = failure(&["compare", "--model", "lenet", "--activation", bad]);
        assert!(
            e.contains("--activation") && e.contains("poly, relu-minimax:ALPHA"),
            "{e}"
        );
    }
    let e = failure(&["simulate", "--model", "lenet", "--pool", "max"]);
    assert!(
        e.contains("--pool") && e.contains("maxpool-minimax:ALPHA"),
        "{e}"
    );
    let e = failure(&["simulate", "--model", "lenet", "--config", "gpu"]);
    assert!(e.contains("gpu"), "{e}");
}

/// Checks `svg` is one well-formed XML element tree (every tag closed in order, attributes
/// quoted) and returns its text content with the XML entities decoded.
fn svg_text(svg: &str) -> String {
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let close = rest[open..].find('>').expect("a closed tag") + open;
        let tag = &rest[open + 1..close];
        assert_eq!(tag.matches('"').count() % 2, 0, "quoted attributes: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "closing {name}");
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            stack.push(tag.split_whitespace().next().unwrap().to_string());
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    text.replace("&apos;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn simulate_model_svg_names_every_layer_and_operation() {
    let path = std::env::temp_dir().join(format!("heaccel-model-{}.svg", std::process::id()));
    let v = json(&[
        "simulate",
        "--model",
        "lenet",
        "--config",
        "asic",
        "--json",
        "--svg",
        path.to_str().unwrap(),
    ]);
    let text = svg_text(&std::fs::read_to_string(&path).unwrap());
    for l in v["layers"].as_array().unwrap() {
        let name = l["name"].as_str().unwrap();
        assert!(text.contains(name), "layer {name} not in the figure");
        for unit in l["time_by_bound"].as_object().unwrap().keys() {
            assert!(text.contains(unit.as_str()), "unit {unit}");
        }
    }
    for op in ["rotation", "pmult", "hmult", "rescale", "add"] {
        assert!(text.contains(op), "operation {op}");
    }
    assert!(text.contains("roofline on asic"));
    std::fs::remove_file(&path).unwrap();
    // an unwritable figure is an error naming the file
    let e = failure(&[
        "simulate",
        "--model",
        "lenet",
        "--svg",
        "/nonexistent-heaccel-dir/f.svg",
    ]);
    assert!(e.contains("/nonexistent-heaccel-dir/f.svg"), "{e}");
}
