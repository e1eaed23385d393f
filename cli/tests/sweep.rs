//! `heaccel sweep`: JSON shape, CSV rows equal to single `heaccel simulate` runs of the same
//! configurations, the Pareto marking, and bad grid files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn heaccel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heaccel"))
        .args(args)
        .output()
        .expect("the heaccel binary runs")
}

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
