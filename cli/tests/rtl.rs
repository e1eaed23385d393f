//! `heaccel verify rtl --json` shape and `heaccel verilog` bad-input errors.

mod support;

use support::heaccel;

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
        let json = heaccel(&[
            "verilog",
            "--block",
            "modmul",
            "--word",
            word,
            "--log-n",
            "6",
            "--json",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(json.status.success());
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON object");
        assert_eq!(v["written"], serde_json::json!([dir.to_str().unwrap()]));
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

/// A parsed VCD file: the top scope's signals (`name -> id`), and every signal's changes
/// `(time, value)` in time order.
struct Vcd {
    top: std::collections::HashMap<String, String>,
    changes: std::collections::HashMap<String, Vec<(u64, u64)>>,
}

impl Vcd {
    /// Parses `text`, checking the structure GTKWave and Surfer rely on: the header
    /// commands, balanced scopes, declared identifiers, increasing timestamps and values no
    /// wider than their declaration.
    fn parse(text: &str) -> Vcd {
        assert!(
            text.starts_with("$timescale 1 ps $end\n"),
            "header: {}",
            &text[..40]
        );
        let (header, body) = text
            .split_once("$enddefinitions $end\n")
            .expect("definitions end");
        let mut depth = 0usize;
        let mut top = std::collections::HashMap::new();
        let mut widths = std::collections::HashMap::new();
        for line in header.lines().skip(1) {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w[0] {
                "$scope" => {
                    assert_eq!((w[1], w[3]), ("module", "$end"), "{line}");
                    depth += 1;
                }
                "$upscope" => depth = depth.checked_sub(1).expect("balanced scopes"),
                "$var" => {
                    assert_eq!((w[1], w[5]), ("wire", "$end"), "{line}");
                    let width: usize = w[2].parse().unwrap();
                    assert!(widths.insert(w[3].to_string(), width).is_none(), "{line}");
                    if depth == 1 {
                        top.insert(w[4].to_string(), w[3].to_string());
                    }
                }
                other => panic!("unexpected header command {other}"),
            }
        }
        assert_eq!(depth, 0, "unbalanced scopes");
        let mut changes: std::collections::HashMap<String, Vec<(u64, u64)>> = Default::default();
        let mut now = None::<u64>;
        for line in body.lines() {
            if let Some(t) = line.strip_prefix('#') {
                let t: u64 = t.parse().unwrap();
                assert!(now.is_none_or(|n| t > n), "timestamps increase: {line}");
                now = Some(t);
            } else if line == "$dumpvars" || line == "$end" {
                assert_eq!(now, Some(0), "the initial dump is at #0");
            } else {
                let (bits, id) = match line.strip_prefix('b') {
                    Some(v) => v.split_once(' ').expect("a vector change names its id"),
                    None => line.split_at(1),
                };
                let width = widths[id];
                assert!(bits.len() <= width, "{line}: wider than {width}");
                let value = u64::from_str_radix(bits, 2).unwrap_or_else(|_| panic!("{line}"));
                changes
                    .entry(id.to_string())
                    .or_default()
                    .push((now.expect("a time"), value));
            }
        }
        Vcd { top, changes }
    }

    /// The value of the top-scope signal `name` at time `t`.
    fn at(&self, name: &str, t: u64) -> u64 {
        let id = &self.top[name];
        self.changes[id]
            .iter()
            .take_while(|(time, _)| *time <= t)
            .last()
            .expect("a value from the dump")
            .1
    }
}

/// The modular multiplier's waveform: header and ports, and its output against u128
/// products of the inputs sampled five rising edges earlier (`ModMul::LATENCY`).
#[test]
fn verify_rtl_writes_a_vcd_waveform_of_the_block() {
    let dir = std::env::temp_dir().join(format!("heaccel-rtl-vcd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let vcd = dir.join("modmul.vcd");
    let out = heaccel(&[
        "verify",
        "rtl",
        "--json",
        "--no-verilator",
        "--block",
        "modmul",
        "--vcd",
        vcd.to_str().unwrap(),
        "--out",
        dir.join("files").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["waveforms"], serde_json::json!([vcd.to_str().unwrap()]));
    let rows = v["rows"].as_array().unwrap();
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r["block"] == "modmul"),
        "{rows:?}"
    );
    let q = v["q"].as_u64().unwrap();
    let wave = Vcd::parse(&std::fs::read_to_string(&vcd).unwrap());
    for port in ["clock", "a", "w", "w_shoup", "y"] {
        assert!(wave.top.contains_key(port), "port {port} not declared");
    }
    // 10 ns period: inputs change at k P, the clock rises at k P + P / 2
    const P: u64 = 10_000;
    const LATENCY: u64 = 5;
    let edges = wave.changes[&wave.top["clock"]]
        .iter()
        .filter(|(_, v)| *v == 1)
        .count() as u64;
    assert!(edges >= 300, "{edges} rising edges for 300 vectors");
    let mut nonzero = 0;
    for k in 0..edges - LATENCY {
        let t = k * P + P / 2;
        assert_eq!(wave.at("clock", t), 1);
        let (a, w) = (wave.at("a", t), wave.at("w", t));
        let want = (a as u128 * w as u128 % q as u128) as u64;
        assert_eq!(
            wave.at("y", t + (LATENCY - 1) * P),
            want,
            "cycle {k}: {a} * {w}"
        );
        nonzero += usize::from(want != 0);
    }
    assert!(nonzero >= 290, "{nonzero} nonzero products");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn verify_rtl_vcd_needs_a_block_and_a_writable_file() {
    let out = heaccel(&["verify", "rtl", "--vcd", "x.vcd"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--block"), "{err}");
    let out = heaccel(&[
        "verify",
        "rtl",
        "--no-verilator",
        "--block",
        "automorph",
        "--vcd",
        "/nonexistent-heaccel-dir/w.vcd",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent-heaccel-dir/w.vcd"), "{err}");
}

/// `verify core --op rescale`: a whole CKKS operation on the rust-hdl core, bit-exact with the
/// reference evaluator, cycles within 5% of the simulator (overlapped: the scoreboard
/// configuration; in order: the blocking one, and slower); the ROM-fault negative control
/// fails; bad sizes and missing or doubled choices are refused by name.
#[test]
fn verify_core_op_rescale_and_its_negative_control() {
    let args = [
        "verify",
        "core",
        "--op",
        "rescale",
        "--lanes",
        "2",
        "--no-verilator",
        "--json",
    ];
    let out = heaccel(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["pass"], true);
    assert_eq!(v["rust_hdl_bit_exact"], true);
    assert_eq!(v["reference_bit_exact"], true);
    assert_eq!(v["cycles_within_tolerance"], true);
    assert_eq!(v["log_n"], 10);
    assert_eq!(v["issue"], "overlapped");
    assert_eq!(v["simulator_match"], "core-n10-p2-derived-scoreboard");
    let matched = v["simulator"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["config"] == "core-n10-p2-derived-scoreboard")
        .unwrap();
    assert!(matched["difference_percent"].as_f64().unwrap().abs() <= 5.0);
    let overlapped_cycles = v["core_cycles"].as_u64().unwrap();
    // One instruction at a time: the blocking configuration describes it, and it is slower.
    let mut in_order = args.to_vec();
    in_order.extend(["--issue", "in-order"]);
    let out = heaccel(&in_order);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["pass"], true);
    assert_eq!(v["issue"], "in-order");
    assert_eq!(v["simulator_match"], "core-n10-p2-derived");
    assert!(v["core_cycles"].as_u64().unwrap() > overlapped_cycles);

    let mut faulty = args.to_vec();
    faulty.push("--inject-rom-fault");
    let out = heaccel(&faulty);
    assert!(!out.status.success(), "a wrong bconv constant passed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["reference_bit_exact"], false);
    assert_eq!(v["rust_hdl_bit_exact"], false);

    let err = |a: &[&str]| {
        let out = heaccel(a);
        assert!(!out.status.success(), "{a:?} passed");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = err(&[
        "verify",
        "core",
        "--op",
        "rescale",
        "--log-n",
        "9",
        "--no-verilator",
    ]);
    assert!(e.contains("--log-n 9") && e.contains("2^10 to 2^13"), "{e}");
    let e = err(&["verify", "core", "--no-verilator"]);
    assert!(e.contains("--program") && e.contains("--op"), "{e}");
    let e = err(&["verify", "core", "--op", "hmult", "--program", "x.json"]);
    assert!(e.contains("cannot be used with"), "{e}");
    let e = err(&["verify", "core", "--op", "square"]);
    assert!(e.contains("square") && e.contains("hmult"), "{e}");
}
