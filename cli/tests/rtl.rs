//! `heaccel verify rtl --json` shape and `heaccel verilog` bad-input errors.

use std::process::{Command, Output};

fn heaccel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heaccel"))
        .args(args)
        .output()
        .expect("the heaccel binary runs")
}

#[test]
fn verify_rtl_json_has_the_documented_shape() {
    let dir = std::env::temp_dir().join(format!("heaccel-rtl-test-{}", std::process::id()));
    let out = heaccel(&[
        "verify",
        "rtl",
        "--json",
        "--no-verilator",
        "--log-n",
        "5",
        "--lanes",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["pass"], true);
    assert!(v["q"].as_u64().unwrap() < 1 << 30);
    assert_eq!(v["unit_log_n"], 5);
    assert_eq!(v["unit_lanes"], 2);
    let rows = v["rows"].as_array().unwrap();
    for block in ["modmul", "ct_butterfly", "gs_butterfly", "ntt", "automorph"] {
        let sim = rows
            .iter()
            .find(|r| r["block"] == block && r["check"] == "rust-hdl")
            .unwrap_or_else(|| panic!("no rust-hdl row for {block}"));
        assert_eq!(sim["status"], "pass");
        for check in ["icarus", "icarus-corrupted", "lint", "yosys"] {
            let row = rows
                .iter()
                .find(|r| r["block"] == block && r["check"] == check)
                .unwrap_or_else(|| panic!("no {check} row for {block}"));
            assert!(
                ["pass", "skip"].contains(&row["status"].as_str().unwrap()),
                "{row}"
            );
            assert!(row["detail"].is_string());
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn verilog_rejects_bad_input_with_the_allowed_range() {
    let dir = std::env::temp_dir().join("heaccel-rtl-test-bad");
    let out = heaccel(&[
        "verilog",
        "--block",
        "modmul",
        "--word",
        "64",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--word 64") && err.contains("W = 32"), "{err}");
    let out = heaccel(&[
        "verilog",
        "--block",
        "modmul",
        "--q",
        "97",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--q 97") && err.contains("1 mod 2N"), "{err}");
    let out = heaccel(&[
        "verilog",
        "--block",
        "ntt",
        "--log-n",
        "3",
        "--lanes",
        "4",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--log-n") && err.contains("[4, 16]"), "{err}");
    let out = heaccel(&[
        "verilog",
        "--block",
        "automorph",
        "--lanes",
        "6",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--lanes 6") && err.contains("power of two"),
        "{err}"
    );
}
