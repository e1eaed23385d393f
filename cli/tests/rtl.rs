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

/// `verify rtl --word 36`: every block at the asic preset's word, small units (rust-hdl
/// simulation, Icarus with its negative controls, lint, Yosys; Verilator in
/// `hdl/tests/cosim.rs`).
#[test]
fn verify_rtl_at_word_36() {
    let dir = std::env::temp_dir().join(format!("heaccel-rtl-test-w36-{}", std::process::id()));
    let out = heaccel(&[
        "verify",
        "rtl",
        "--json",
        "--no-verilator",
        "--word",
        "36",
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
    assert_eq!(v["pass"], true, "{v}");
    assert_eq!(v["word"], 36);
    let q = v["q"].as_u64().unwrap();
    assert!(q >> 33 == 1, "a 34-bit prime: {q}");
    let rows = v["rows"].as_array().unwrap();
    for block in ["modmul", "ct_butterfly", "gs_butterfly", "ntt", "automorph"] {
        for check in ["rust-hdl", "icarus", "icarus-corrupted", "lint", "yosys"] {
            let row = rows
                .iter()
                .find(|r| r["block"] == block && r["check"] == check)
                .unwrap_or_else(|| panic!("no {check} row for {block}"));
            let want: &[&str] = if check == "rust-hdl" {
                &["pass"]
            } else {
                &["pass", "skip"]
            };
            assert!(want.contains(&row["status"].as_str().unwrap()), "{row}");
        }
    }
    // The emitted Verilog has 36-bit data ports and 64-bit vector words.
    let top = std::fs::read_to_string(dir.join("modmul").join("top.v")).unwrap();
    assert!(top.contains("input wire  [35:0] a;"), "{top}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn verilog_writes_each_supported_word() {
    let base = std::env::temp_dir().join(format!("heaccel-rtl-words-{}", std::process::id()));
    for (word, port) in [
        ("32", "[31:0] a;"),
        ("36", "[35:0] a;"),
        ("64", "[63:0] a;"),
    ] {
        let dir = base.join(word);
        let out = heaccel(&[
            "verilog",
            "--block",
            "modmul",
            "--word",
            word,
            "--log-n",
            "6",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let top = std::fs::read_to_string(dir.join("top.v")).unwrap();
        assert!(top.contains(port), "W = {word}");
        assert!(
            top.contains(&format!("--word {word}")),
            "header names the command"
        );
        let vectors = std::fs::read_to_string(dir.join("vectors.hex")).unwrap();
        let width = if word == "32" { 8 } else { 16 };
        let first = vectors.lines().find(|l| !l.starts_with("//")).unwrap();
        assert_eq!(first.len(), width, "W = {word}: {first}");
    }
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn verilog_rejects_bad_input_with_the_allowed_range() {
    let dir = std::env::temp_dir().join("heaccel-rtl-test-bad");
    let out = heaccel(&[
        "verilog",
        "--block",
        "modmul",
        "--word",
        "48",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--word 48") && err.contains("W = 32, 36, 64"),
        "{err}"
    );
    // A prime too wide for the word is refused with the word's range.
    let out = heaccel(&[
        "verilog",
        "--block",
        "modmul",
        "--q",
        "17179672577",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--q 17179672577") && err.contains("2^30") && err.contains("W = 32"),
        "{err}"
    );
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
