//! `heaccel ckks bootstrap`: the JSON contract on the insecure test preset, its refusal
//! without `--allow-insecure`, and bad input.

mod support;

use support::heaccel;

#[test]
fn bootstrap_json_has_the_documented_fields_and_precision() {
    let out = heaccel(&[
        "ckks",
        "bootstrap",
        "--preset",
        "boot-test",
        "--allow-insecure",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["slots"], 2048);
    assert_eq!(v["levels_after"], 2);
    assert_eq!(v["log_n"], 12);
    assert!(v["security_bits"].is_null());
    assert!((1320.0..1330.0).contains(&v["log_qp"].as_f64().unwrap()));
    // the floor for the test preset: a mean of at least 15 bits (measured 25.5)
    assert!(v["precision_mean_bits"].as_f64().unwrap() >= 15.0, "{v}");
    assert!(v["precision_min_bits"].as_f64().unwrap() >= 12.0, "{v}");
    assert!(v["time_ms"].as_f64().unwrap() > 0.0);
    let stages: Vec<&str> = v["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["mod_raise", "coeff_to_slot", "eval_mod", "slot_to_coeff"]
    );
    assert!(v["galois_keys"].as_u64().unwrap() > 10);
    let key_bytes = v["key_bytes"].as_u64().unwrap();
    let seeded = v["key_bytes_seeded"].as_u64().unwrap();
    // the stored form keeps b_j and a 32-byte seed per key: half the words
    let keys = v["galois_keys"].as_u64().unwrap() + 1;
    assert_eq!(seeded, key_bytes / 2 + 32 * keys, "{v}");
}

#[test]
fn sparse_slots_and_the_table() {
    let out = heaccel(&[
        "ckks",
        "bootstrap",
        "--preset",
        "boot-test",
        "--allow-insecure",
        "--slots",
        "64",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["sub_sum", "precision: mean", "INSECURE", "keys:"] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    for (args, needle) in [
        (vec!["--preset", "boot-test"], "--allow-insecure"),
        (
            vec![
                "--preset",
                "boot-test",
                "--allow-insecure",
                "--slots",
                "100",
            ],
            "power of two",
        ),
        (
            vec![
                "--preset",
                "boot-test",
                "--allow-insecure",
                "--cts-budget",
                "9",
            ],
            "cts_budget",
        ),
        (vec!["--preset", "test-n13"], "levels"),
        (vec!["--preset", "nope"], "unknown preset"),
    ] {
        let mut all = vec!["ckks", "bootstrap"];
        all.extend(args.iter());
        let out = heaccel(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{all:?}: {err}");
        assert!(!err.contains("panicked"), "{all:?}: {err}");
    }
}

#[test]
fn simulated_bootstrapping_reports_stages_and_checks_the_functional_executor() {
    let svg = std::env::temp_dir().join(format!("heaccel-simboot-{}.svg", std::process::id()));
    let out = heaccel(&[
        "simulate",
        "--op",
        "bootstrap",
        "--config",
        "asic",
        "--ckks-preset",
        "boot-test",
        "--allow-insecure",
        "--functional",
        "--json",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["op"], "bootstrap");
    assert_eq!(v["config"], "asic");
    assert_eq!(v["slots"], 2048);
    assert_eq!(v["levels_after"], 2);
    assert_eq!(v["primes_capped"], true, "61-bit primes on 36-bit words");
    assert_eq!(v["functional"]["result"], "bit-exact");
    let stages = v["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["mod_raise", "coeff_to_slot", "eval_mod", "slot_to_coeff"]
    );
    let sum: f64 = stages.iter().map(|s| s["time_us"].as_f64().unwrap()).sum();
    let total = v["time_us"].as_f64().unwrap();
    assert!(
        total > 0.0 && (sum - total).abs() <= 1e-6 * total,
        "{sum} vs {total}"
    );
    for s in stages {
        assert!(s["offchip_bytes"].as_u64().unwrap() > 0, "{s}");
        assert!(s["bound"].is_string());
    }
    // EvalMod's relinearizations and the transforms' rotations are key switches.
    assert!(v["key_switches"].as_u64().unwrap() >= 40, "{v}");
    let figure = std::fs::read_to_string(&svg).expect("the figure was written");
    assert!(figure.starts_with("<svg") && figure.contains("coeff_to_slot"));
    let _ = std::fs::remove_file(&svg);
}

#[test]
fn simulated_bootstrapping_refuses_bad_input() {
    let cases: [(&[&str], &str); 3] = [
        (&["--ckks-preset", "boot-test"], "--allow-insecure"),
        (&["--functional"], "N <= 2^13"),
        (
            &[
                "--ckks-preset",
                "boot-test",
                "--allow-insecure",
                "--slots",
                "3",
            ],
            "--slots 3",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["simulate", "--op", "bootstrap", "--config", "asic"];
        args.extend_from_slice(extra);
        let out = heaccel(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
