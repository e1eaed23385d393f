//! `heaccel sweep`: JSON shape, CSV rows equal to single `heaccel simulate` runs of the same
//! configurations (`--op` and `--model`), infeasible points, the Pareto marking, and bad grid
//! files.

mod support;

use support::heaccel;

use std::path::{Path, PathBuf};

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heaccel-sweep-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const GRID: &str = r#"
base = "asic"
[grid]
"modmul.lanes" = [256, 1024]
"ntt.butterflies_per_unit" = [128, 512]
"memory.bandwidth_gb_s" = [500.0, 1000.0]
"#;

/// The asic preset with the three keys set, as a config file.
fn config_file(dir: &Path, index: usize, lanes: i64, butterflies: i64, bandwidth: f64) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/asic.toml");
    let mut v: toml::Value = toml::from_str(&std::fs::read_to_string(root).unwrap()).unwrap();
    v["modmul"]["lanes"] = toml::Value::Integer(lanes);
    v["ntt"]["butterflies_per_unit"] = toml::Value::Integer(butterflies);
    v["memory"]["bandwidth_gb_s"] = toml::Value::Float(bandwidth);
    let path = dir.join(format!("point{index}.toml"));
    std::fs::write(&path, toml::to_string(&v).unwrap()).unwrap();
    path
}

#[test]
fn sweep_rows_equal_single_simulate_runs() {
    let dir = scratch("rows");
    let grid = dir.join("grid.toml");
    std::fs::write(&grid, GRID).unwrap();
    let out_dir = dir.join("out");
    let common = [
        "--op",
        "hrot",
        "--log-n",
        "12",
        "--levels",
        "5",
        "--dnum",
        "2",
        "--allow-insecure",
    ];
    let mut args = vec![
        "sweep",
        "--grid",
        grid.to_str().unwrap(),
        "--jobs",
        "2",
        "--json",
        "--out",
    ];
    args.push(out_dir.to_str().unwrap());
    args.extend(common);
    let out = heaccel(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let axes: Vec<&str> = v["axes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        axes,
        [
            "memory.bandwidth_gb_s",
            "modmul.lanes",
            "ntt.butterflies_per_unit"
        ]
    );
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    assert_eq!(v["compiled_word_sizes"], serde_json::json!([36]));
    assert!(v["title"].is_string() && v["prepare_seconds"].is_f64() && v["jobs"] == 2);
    for row in rows {
        assert!(row["bound"].is_string() && row["params"].is_null(), "{row}");
        assert!(
            row["infeasible"].is_null() && row["cost_lane_bits"].is_u64(),
            "{row}"
        );
    }
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 9);
    assert!(std::fs::read_to_string(out_dir.join("pareto.svg"))
        .unwrap()
        .starts_with("<svg"));
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["index"], i);
        let values = row["values"].as_array().unwrap();
        let bandwidth: f64 = values[0].as_str().unwrap().parse().unwrap();
        let lanes: i64 = values[1].as_str().unwrap().parse().unwrap();
        let butterflies: i64 = values[2].as_str().unwrap().parse().unwrap();
        let config = config_file(&dir, i, lanes, butterflies, bandwidth);
        let mut single = vec!["simulate", "--json", "--config", config.to_str().unwrap()];
        single.extend(common);
        let one = heaccel(&single);
        assert!(
            one.status.success(),
            "{}",
            String::from_utf8_lossy(&one.stderr)
        );
        let s: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
        assert_eq!(row["time_us"], s["time_us"], "row {i}");
        assert_eq!(row["bound"], s["bound"], "row {i}");
        // the CSV row carries the same latency
        let line = csv.lines().nth(i + 1).unwrap();
        let time_field: f64 = line.split(',').nth(4).unwrap().parse().unwrap();
        assert_eq!(time_field, s["time_us"].as_f64().unwrap(), "csv row {i}");
    }
    // Pareto: no marked row is dominated by another row
    let pts: Vec<(u64, f64, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["cost_lane_bits"].as_u64().unwrap(),
                r["time_us"].as_f64().unwrap(),
                r["pareto"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(pts.iter().any(|p| p.2));
    for a in pts.iter().filter(|p| p.2) {
        assert!(!pts
            .iter()
            .any(|b| b.0 <= a.0 && b.1 <= a.1 && (b.0 < a.0 || b.1 < a.1)));
    }
    for a in pts.iter().filter(|p| !p.2) {
        assert!(pts
            .iter()
            .any(|b| b.0 <= a.0 && b.1 <= a.1 && (b.0 < a.0 || b.1 < a.1)));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_grid_files_are_explained() {
    let dir = scratch("bad");
    let cases = [
        ("[grid]\n\"modmul.colour\" = [1]\n", "grid.modmul.colour"),
        ("[grid]\n\"modmul.lanes\" = []\n", "empty"),
        ("[grid]\n\"modmul.lanes\" = 4\n", "array"),
        ("[grid]\n\"modmul.lanes\" = [0]\n", "point 0"),
        ("base = \"tpu\"\n[grid]\nword_bits = [32]\n", "base"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let grid = dir.join(format!("g{i}.toml"));
        std::fs::write(&grid, text).unwrap();
        let out = heaccel(&[
            "sweep",
            "--op",
            "ntt",
            "--log-n",
            "10",
            "--levels",
            "2",
            "--dnum",
            "1",
            "--allow-insecure",
            "--grid",
            grid.to_str().unwrap(),
            "--out",
            dir.join("o").to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "case {i}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle) && err.contains(&format!("g{i}.toml")),
            "case {i}: {err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `preset` with the dotted `keys` set to `values` (strings as in the grid file), as a file.
fn config_with(dir: &Path, preset: &str, index: usize, keys: &[&str], values: &[&str]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../configs/{preset}.toml"));
    let mut v: toml::Value = toml::from_str(&std::fs::read_to_string(root).unwrap()).unwrap();
    for (key, value) in keys.iter().zip(values) {
        let parsed: toml::Value =
            toml::from_str::<toml::Table>(&format!("x = {value}")).unwrap()["x"].clone();
        let mut slot = &mut v;
        for part in key.split('.') {
            slot = slot.get_mut(part).unwrap();
        }
        *slot = parsed;
    }
    let path = dir.join(format!("{preset}-{index}.toml"));
    std::fs::write(&path, toml::to_string(&v).unwrap()).unwrap();
    path
}

#[test]
fn model_sweep_rows_equal_single_simulate_model_runs() {
    let dir = scratch("model");
    let grid = dir.join("grid.toml");
    // 256 KiB cannot hold a key switch for any dnum (infeasible); 16 MiB and 64 MiB choose
    // different dnum; 20-bit words leave no 18-bit NTT primes for N = 2^14 (infeasible).
    std::fs::write(
        &grid,
        "base = \"fpga-u280\"\n[grid]\n\"scratchpad.bytes\" = [262144, 16777216, 67108864]\n\
         word_bits = [20, 32, 36]\n\"modmul.lanes\" = [128]\n",
    )
    .unwrap();
    let out_dir = dir.join("out");
    let out = heaccel(&[
        "sweep",
        "--model",
        "lenet",
        "--prune",
        "0.5",
        "--grid",
        grid.to_str().unwrap(),
        "--jobs",
        "2",
        "--json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["compiled_word_sizes"], serde_json::json!([20, 32, 36]));
    assert!(v["title"].as_str().unwrap().contains("lenet"));
    assert!(v["simulate_seconds"].as_f64().unwrap() >= 0.0);
    assert!(v["jobs"].as_u64().unwrap() == 2);
    let axes: Vec<&str> = v["axes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(axes, ["modmul.lanes", "scratchpad.bytes", "word_bits"]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 9);
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "index,modmul.lanes,scratchpad.bytes,word_bits,time_us,params,cost_lane_bits,pareto"
    );
    let (mut feasible, mut infeasible) = (0, 0);
    let mut dnums = std::collections::BTreeSet::new();
    for (i, row) in rows.iter().enumerate() {
        let values: Vec<&str> = row["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let config = config_with(&dir, "fpga-u280", i, &axes, &values);
        let single = heaccel(&[
            "simulate",
            "--model",
            "lenet",
            "--prune",
            "0.5",
            "--json",
            "--config",
            config.to_str().unwrap(),
        ]);
        let fields: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(fields[0], i.to_string());
        assert_eq!(fields[1..4], values[..], "csv row {i}");
        if single.status.success() {
            feasible += 1;
            let s: serde_json::Value = serde_json::from_slice(&single.stdout).unwrap();
            assert_eq!(row["time_us"], s["total"]["time_us"], "row {i}");
            let p = &s["params"];
            let params = format!("N=2^{} L={} dnum={}", p["log_n"], p["levels"], p["dnum"]);
            assert_eq!(row["params"], params.as_str(), "row {i}");
            dnums.insert(p["dnum"].as_u64().unwrap());
            assert!(row["infeasible"].is_null());
            // the CSV prints the exact f64; serde_json's default parser may round the JSON
            // text's last digit, so the two agree within one ulp
            let (csv_time, json_time) = (
                fields[4].parse::<f64>().unwrap(),
                s["total"]["time_us"].as_f64().unwrap(),
            );
            assert!(
                (csv_time - json_time).abs() <= f64::EPSILON * json_time,
                "csv row {i}: {csv_time} vs {json_time}"
            );
            assert_eq!(fields[5], params);
        } else {
            // the sweep marks it infeasible with the error `simulate` reports
            infeasible += 1;
            let err = String::from_utf8_lossy(&single.stderr);
            let reason = row["infeasible"].as_str().expect("an infeasible row");
            // the grid names its points `base#index`
            let reason = reason.replace(&format!("fpga-u280#{i}"), "fpga-u280");
            assert!(err.contains(&reason), "row {i}: `{reason}` not in `{err}`");
            assert!(row["time_us"].is_null() && !row["pareto"].as_bool().unwrap());
            assert_eq!(fields[4], "");
            assert_eq!(fields[5], "infeasible");
        }
        let lanes_bits = row["cost_lane_bits"].as_u64().unwrap();
        assert_eq!(fields[6], lanes_bits.to_string());
    }
    assert_eq!((feasible, infeasible), (4, 5), "{rows:?}");
    assert!(
        dnums.len() >= 2,
        "the scratchpads choose different dnum: {dnums:?}"
    );
    assert!(rows.iter().any(|r| r["pareto"] == true));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_model_sweeps_are_explained() {
    let dir = scratch("badmodel");
    let grid = dir.join("grid.toml");
    std::fs::write(&grid, "[grid]\n\"modmul.lanes\" = [128, 256]\n").unwrap();
    let g = grid.to_str().unwrap();
    let out_dir = dir.join("o");
    let o = out_dir.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--model", "alexnet"], "lenet, vgg5, hefnet, resnet20"),
        (
            &["--model", "lenet", "--allow-insecure"],
            "--allow-insecure",
        ),
        (&["--model", "lenet", "--op", "hrot"], "cannot be used with"),
        (
            &["--model", "lenet", "--strategy", "dense", "--prune", "0.5"],
            "--prune",
        ),
        (
            &["--model", "lenet", "--activation", "relu"],
            "--activation",
        ),
    ];
    for (i, (args, needle)) in cases.iter().enumerate() {
        let mut all = vec!["sweep", "--grid", g, "--out", o];
        all.extend(*args);
        let out = heaccel(&all);
        assert!(!out.status.success(), "case {i}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "case {i}: {err}");
    }
    // nothing was written for the refused sweeps
    assert!(!out_dir.exists());
    let out = heaccel(&["sweep", "--model", "lenet", "--grid", "missing.toml"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("grid file missing.toml"));
    std::fs::remove_dir_all(&dir).unwrap();
}
