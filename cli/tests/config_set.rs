//! `--set KEY=VALUE` on `simulate`, `compare` and `sweep`: the override reaches the run (the
//! configuration's name records it, its values change the result exactly as an edited TOML
//! file does), and a bad key, type, range or syntax is a clear error (exit status 2, no panic).

mod support;

use support::heaccel;

use std::path::{Path, PathBuf};
use std::process::Output;

fn json(args: &[&str]) -> serde_json::Value {
    let out = heaccel(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// The stderr of a run that must fail cleanly: status 2, no panic, nothing on stdout.
fn failure(args: &[&str]) -> String {
    let out = heaccel(args);
    let e = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?} should fail: {e}");
    assert!(!e.contains("panicked"), "{args:?}: {e}");
    assert!(out.stdout.is_empty(), "{args:?}");
    e
}

/// A fresh folder of its own per test (tests run in parallel, and so may other runs).
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heaccel-config-set-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small rotation (fast in tests).
const HROT: [&str; 9] = [
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

fn simulate(extra: &[&str]) -> Vec<String> {
    let mut args = vec!["simulate".to_string()];
    args.extend(HROT.iter().map(|s| s.to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// `configs/asic.toml` with `edit` applied, written into `dir` as `name`.
fn edited_asic(dir: &Path, name: &str, edit: impl FnOnce(&mut toml::Value)) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/asic.toml");
    let mut v: toml::Value = toml::from_str(&std::fs::read_to_string(root).unwrap()).unwrap();
    edit(&mut v);
    let path = dir.join(name);
    std::fs::write(&path, toml::to_string(&v).unwrap()).unwrap();
    path
}

#[test]
fn simulate_reports_the_overridden_config() {
    let args = simulate(&["--config", "asic", "--set", "scratchpad_mib=256", "--json"]);
    let v = json(&strs(&args));
    assert_eq!(v["config"], "asic+scratchpad_mib=256");
    // Several overrides, in order; spaces around key and value dropped; `KEY=VALUE` given as
    // one `--set=...` word works too.
    let args = simulate(&[
        "--config",
        "asic",
        "--set",
        "modmul.lanes = 512",
        "--set=issue.policy=in_order_blocking",
        "--json",
    ]);
    let v = json(&strs(&args));
    assert_eq!(
        v["config"],
        "asic+modmul.lanes=512+issue.policy=in_order_blocking"
    );
}

#[test]
fn an_override_runs_exactly_like_the_edited_file() {
    let dir = scratch("same-as-file");
    let file = edited_asic(&dir, "slow.toml", |v| {
        v["memory"]["bandwidth_gb_s"] = toml::Value::Float(10.0);
        v["modmul"]["lanes"] = toml::Value::Integer(64);
        let issue: toml::Value = toml::from_str("policy = \"in_order_blocking\"").unwrap();
        v.as_table_mut().unwrap().insert("issue".into(), issue);
    });
    let from_file = json(&strs(&simulate(&[
        "--config",
        file.to_str().unwrap(),
        "--json",
    ])));
    let overridden = json(&strs(&simulate(&[
        "--config",
        "asic",
        "--set",
        "memory.bandwidth_gb_s=10",
        "--set",
        "modmul.lanes=64",
        "--set",
        "issue.policy=in_order_blocking",
        "--json",
    ])));
    let plain = json(&strs(&simulate(&["--config", "asic", "--json"])));
    for key in ["cycles", "time_us", "offchip_bytes", "bound", "units"] {
        assert_eq!(overridden[key], from_file[key], "{key}");
    }
    assert_ne!(overridden["time_us"], plain["time_us"]);
    assert_eq!(overridden["bound"], "memory");
    assert_eq!(
        overridden["config"],
        "asic+memory.bandwidth_gb_s=10+modmul.lanes=64+issue.policy=in_order_blocking"
    );
    // On a config file, the file's name is the base name; errors name the file.
    let v = json(&strs(&simulate(&[
        "--config",
        file.to_str().unwrap(),
        "--set",
        "clock_mhz=500",
        "--json",
    ])));
    assert_eq!(v["config"], "asic+clock_mhz=500");
    let e = failure(&strs(&simulate(&[
        "--config",
        file.to_str().unwrap(),
        "--set",
        "clock_mhz=0",
    ])));
    assert!(
        e.contains(&format!("{} with clock_mhz=0", file.display())) && e.contains("clock_mhz"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_scratchpad_too_small_for_the_program_names_the_overridden_config() {
    let e = failure(&strs(&simulate(&[
        "--config",
        "asic",
        "--set",
        "scratchpad_kib=1",
    ])));
    assert!(
        e.contains("scratchpad") && e.contains("`asic+scratchpad_kib=1` holds 1024"),
        "{e}"
    );
}

#[test]
fn bad_overrides_are_clear_errors() {
    let cases: &[(&[&str], &[&str])] = &[
        // Unknown key: named, with the valid keys.
        (
            &["--set", "clock_ghz=1"],
            &[
                "unknown key `clock_ghz`",
                "valid keys",
                "clock_mhz",
                "scratchpad_mib",
            ],
        ),
        (
            &["--set", "lanes=8"],
            &["unknown key `lanes`", "did you mean", "`modmul.lanes`"],
        ),
        // Wrong type: key and expected type.
        (
            &["--set", "modmul.lanes=many"],
            &["modmul.lanes", "expects an integer"],
        ),
        (
            &["--set", "scratchpad_mib=big"],
            &["scratchpad_mib", "expects a number of MiB"],
        ),
        (
            &["--set", "issue.policy=out_of_order"],
            &["issue.policy", "in_order_blocking"],
        ),
        // Out of range: the validation error of the field, with its range.
        (
            &["--set", "modmul.lanes=0"],
            &[
                "asic with modmul.lanes=0",
                "field `modmul.lanes`",
                "[1, 65536]",
            ],
        ),
        (
            &["--set", "scratchpad_mib=2000000"],
            &["field `scratchpad.bytes`", "[1024, 1099511627776]"],
        ),
        (
            &["--set", "ntt.butterflies_per_unit=100"],
            &["ntt.butterflies_per_unit", "power of two"],
        ),
        // Syntax: clap refuses the value.
        (&["--set", "scratchpad_mib"], &["--set", "KEY=VALUE"]),
        (&["--set", "scratchpad_mib="], &["--set", "is empty"]),
        (&["--set", "=256"], &["--set", "key before `=` is empty"]),
        // One field set twice.
        (
            &["--set", "modmul.lanes=512", "--set", "modmul.lanes=1024"],
            &["both set `modmul.lanes`"],
        ),
        (
            &[
                "--set",
                "scratchpad_mib=256",
                "--set",
                "scratchpad.bytes=4096",
            ],
            &["both set `scratchpad.bytes`"],
        ),
    ];
    for (set, words) in cases {
        let mut extra = vec!["--config", "asic"];
        extra.extend_from_slice(set);
        let e = failure(&strs(&simulate(&extra)));
        for w in *words {
            assert!(e.contains(w), "{set:?}: `{w}` missing from: {e}");
        }
    }
}

#[test]
fn compare_and_simulate_model_take_set() {
    // A bad override fails before any network is compiled.
    for cmd in ["compare", "simulate"] {
        let e = failure(&[cmd, "--model", "lenet", "--set", "modmul.lanes=0"]);
        assert!(e.contains("fpga-u280 with modmul.lanes=0"), "{cmd}: {e}");
    }
    let v = json(&[
        "compare",
        "--model",
        "lenet",
        "--config",
        "asic",
        "--set",
        "memory.bandwidth_gb_s=500",
        "--json",
    ]);
    assert_eq!(v["config"], "asic+memory.bandwidth_gb_s=500");
}

const GRID: &str = r#"
base = "asic"
[grid]
"modmul.lanes" = [256, 1024]
"#;

fn sweep(dir: &Path, tag: &str, set: &[&str]) -> Output {
    let grid = dir.join("grid.toml");
    std::fs::write(&grid, GRID).unwrap();
    let out = dir.join(tag);
    let mut args = vec![
        "sweep".to_string(),
        "--grid".into(),
        grid.display().to_string(),
        "--jobs".into(),
        "1".into(),
        "--json".into(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(HROT[..8].iter().map(|s| s.to_string()));
    args.push("--allow-insecure".into());
    args.extend(set.iter().map(|s| s.to_string()));
    heaccel(&strs(&args))
}

#[test]
fn sweep_applies_set_to_the_grid_base() {
    let dir = scratch("sweep");
    let out = sweep(&dir, "slow", &["--set", "memory.bandwidth_gb_s=10"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Each row equals a single simulate run with the same --set and the point's axis value.
    for (row, lanes) in v["rows"].as_array().unwrap().iter().zip(["256", "1024"]) {
        let single = json(&strs(&simulate(&[
            "--config",
            "asic",
            "--set",
            "memory.bandwidth_gb_s=10",
            "--set",
            &format!("modmul.lanes={lanes}"),
            "--json",
        ])));
        assert_eq!(row["time_us"], single["time_us"], "lanes {lanes}");
        assert_eq!(row["bound"], "memory");
    }
    // The override reaches every point: a scratchpad too small makes them all infeasible
    // (an error: no point ran), named after the overridden base.
    let out = sweep(&dir, "tiny", &["--set", "scratchpad_kib=1"]);
    let e = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("no grid point") && e.contains("the scratchpad of `asic+scratchpad_kib=1#0`"),
        "{e}"
    );
    // An axis of the grid cannot also be set.
    let out = sweep(&dir, "axis", &["--set", "modmul.lanes=64"]);
    let e = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("modmul.lanes") && e.contains("axis") && !e.contains("panicked"),
        "{e}"
    );
    let out = sweep(&dir, "bad", &["--set", "bconv.lanes=0"]);
    let e = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("base `asic` with bconv.lanes=0") && e.contains("[1, 65536]"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
