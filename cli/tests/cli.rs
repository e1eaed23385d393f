//! The `heaccel` binary: JSON output shapes and bad-input errors.

mod support;

use support::heaccel;

fn scratch_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("heaccel-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn ckks_report_json_has_the_documented_shape() {
    let out = heaccel(&["ckks", "report", "--preset", "test-n13", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let params = &v["params"];
    assert_eq!(params["log_n"], 13);
    assert_eq!(params["levels"], 3);
    assert_eq!(params["dnum"], 4);
    assert_eq!(params["security_bits"], 128);
    let log_pq = params["log_pq"].as_f64().unwrap();
    assert!((190.0..=218.0).contains(&log_pq), "log_pq {log_pq}");
    let names: Vec<&str> = v["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "encode",
            "encrypt",
            "add",
            "pmult",
            "hmult_relin",
            "rescale",
            "rotate",
            "conjugate",
            "decrypt_decode"
        ]
    );
    for op in v["ops"].as_array().unwrap() {
        let ms = op["ms"].as_f64().unwrap();
        let bits = op["precision_bits"].as_f64().unwrap();
        assert!(ms >= 0.0, "{op}");
        assert!(
            bits >= 20.0,
            "{op}: precision below the stated 20 bits at test-n13 (verification/tests/ckks.rs)"
        );
    }
}

#[test]
fn ckks_report_table_and_presets() {
    let out = heaccel(&["ckks", "report", "--preset", "test-n13"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("hmult_relin") && text.contains("precision (bits)"),
        "{text}"
    );
    let out = heaccel(&["ckks", "presets"]);
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["test-n13", "spencnn-n14", "n16-deep"] {
        assert!(text.contains(name), "{text}");
    }
}

#[test]
fn params_file_is_read_and_bad_ones_are_explained() {
    let good = scratch_file(
        "good.toml",
        "log_n = 13\nlog_q = [45, 35]\nlog_p = [50]\nlog_scale = 35\ndnum = 2\n",
    );
    let out = heaccel(&[
        "ckks",
        "report",
        "--params",
        good.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["params"]["levels"], 1);

    let cases = [
        (
            "unknown.json",
            r#"{"log_n": 13, "log_q": [40], "log_p": [40], "log_scale": 30, "dnum": 1, "colour": 2}"#,
            "colour",
        ),
        ("type.json", r#"{"log_n": "big"}"#, "log_n"),
        (
            "insecure.toml",
            "log_n = 13\nlog_q = [60, 60, 60]\nlog_p = [60]\nlog_scale = 40\ndnum = 3\n",
            "allow_insecure",
        ),
        (
            "dnum.toml",
            "log_n = 13\nlog_q = [45, 35]\nlog_p = [50]\nlog_scale = 35\ndnum = 7\n",
            "dnum",
        ),
        ("params.yaml", "log_n: 13\n", ".json or .toml"),
    ];
    for (name, text, needle) in cases {
        let path = scratch_file(name, text);
        let out = heaccel(&["ckks", "report", "--params", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name} should fail");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains(name),
            "{name}: error does not name the file: {err}"
        );
        assert!(
            err.contains(needle),
            "{name}: error does not mention `{needle}`: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = heaccel(&["ckks", "report", "--params", "/nonexistent/p.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("/nonexistent/p.toml"));
}

#[test]
fn params_prints_explicit_primes_that_rebuild() {
    let out = heaccel(&["ckks", "params", "--preset", "spencnn-n14"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["log_n"], 14);
    assert_eq!(v["q"].as_array().unwrap().len(), 13);
    assert_eq!(v["p"].as_array().unwrap().len(), 1);
    let path = scratch_file("resolved.json", &String::from_utf8(out.stdout).unwrap());
    let again = heaccel(&["ckks", "params", "--params", path.to_str().unwrap()]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let w: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v, w);
}

#[test]
fn unknown_preset_is_an_error() {
    let out = heaccel(&["ckks", "report", "--preset", "n99"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("unknown preset `n99`") && err.contains("spencnn-n14"),
        "{err}"
    );
}

fn ntt_program_json() -> String {
    r#"{
  "version": 1, "log_n": 12, "moduli": [1073692673], "slots": 2,
  "buffers": [{"name": "x", "limbs": 1, "role": "input"}],
  "instructions": [
    {"load": {"dst": 0, "buffer": 0, "limb": 0}},
    {"ntt": {"slot": 0, "modulus": 0}},
    {"store": {"src": 0, "buffer": 0, "limb": 0}}
  ]
}"#
    .to_string()
}

#[test]
fn simulate_program_json_shape() {
    let path = scratch_file("ntt.json", &ntt_program_json());
    let out = heaccel(&[
        "simulate",
        "--program",
        path.to_str().unwrap(),
        "--config",
        "asic",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["config"], "asic");
    assert_eq!(v["instructions"], 3);
    assert!(v["cycles"].as_u64().unwrap() > 0);
    assert!(v["time_us"].as_f64().unwrap() > 0.0);
    assert_eq!(v["offchip_bytes"], 2 * 4096 * 5);
    assert!(v["bound"].is_string());
    for unit in ["ntt", "modmul", "automorph", "bconv", "memory"] {
        let busy = v["busy"][unit].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&busy), "{unit}: {busy}");
    }
    let table = heaccel(&["simulate", "--program", path.to_str().unwrap()]);
    assert!(String::from_utf8(table.stdout).unwrap().contains("bound"));
}

#[test]
fn simulate_bad_inputs_are_explained() {
    let bad = scratch_file(
        "bad.json",
        &ntt_program_json().replace("\"modulus\": 0", "\"modulus\": 3"),
    );
    let out = heaccel(&["simulate", "--program", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad.json") && err.contains("instructions[1].modulus"),
        "{err}"
    );
    let good = scratch_file("ntt2.json", &ntt_program_json());
    let cfg = scratch_file("cfg.toml", "name = \"x\"\nclock_mhz = 0.0\n");
    let out = heaccel(&[
        "simulate",
        "--program",
        good.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cfg.toml"), "{err}");
    let out = heaccel(&[
        "simulate",
        "--program",
        good.to_str().unwrap(),
        "--config",
        "tpu",
    ]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unknown preset `tpu`"), "{err}");
}

#[test]
fn simulate_op_reports_timing_key_bound_and_functional_check() {
    for op in ["hmult", "hrot", "rescale", "pmult", "ntt"] {
        let out = heaccel(&[
            "simulate",
            "--op",
            op,
            "--log-n",
            "10",
            "--levels",
            "3",
            "--dnum",
            "2",
            "--allow-insecure",
            "--functional",
            "--config",
            "asic",
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{op}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["op"], op);
        assert_eq!(v["functional"], "bit-exact");
        let time_us = v["time_us"].as_f64().unwrap();
        let bound_us = v["key_stream_bound_us"].as_f64().unwrap();
        assert!(
            time_us >= bound_us,
            "{op}: {time_us} us below the key-stream bound {bound_us} us"
        );
        if op == "hmult" || op == "hrot" {
            // 2 halves x dnum digits x (L + 1 + K) limbs x N words x 5 bytes (36-bit words)
            assert_eq!(v["key_bytes"], 2 * 2 * (4 + 2) * 1024 * 5, "{op}");
        } else {
            assert_eq!(v["key_bytes"], 0, "{op}");
        }
    }
}

#[test]
fn simulate_op_refuses_insecure_parameters_without_opt_in() {
    let out = heaccel(&["simulate", "--op", "hrot", "--log-n", "12", "--levels", "3"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--allow-insecure") && err.contains("128-bit"),
        "{err}"
    );
    let out = heaccel(&["simulate"]);
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn simulate_writes_an_svg_figure_and_reports_work() {
    let dir = std::env::temp_dir().join(format!("heaccel-svg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("pmult.svg");
    let out = heaccel(&[
        "simulate",
        "--op",
        "pmult",
        "--log-n",
        "10",
        "--levels",
        "3",
        "--allow-insecure",
        "--json",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // a plaintext product: both ciphertext halves times the plaintext, per limb (L + 1 = 4)
    assert_eq!(v["work"]["modmuls"], 2 * 4 * 1024);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    assert!(text.contains("roofline") && text.contains("unit busy"));
    // an unwritable path is an error naming it, and nothing is left behind
    let bad = dir.join("missing-dir").join("x.svg");
    let out = heaccel(&[
        "simulate",
        "--op",
        "ntt",
        "--log-n",
        "10",
        "--levels",
        "3",
        "--allow-insecure",
        "--svg",
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing-dir"));
    assert!(!bad.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ckks_presets_json_lists_every_preset_with_its_literal() {
    let out = heaccel(&["ckks", "presets", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON array");
    let list = v.as_array().expect("an array");
    let names: Vec<&str> = list.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, heaccel_verification::ckks::PRESET_NAMES);
    let n14 = list.iter().find(|p| p["name"] == "spencnn-n14").unwrap();
    assert_eq!(n14["literal"]["log_n"], 14);
    for p in list {
        let lit = &p["literal"];
        assert!(lit["log_n"].as_u64().is_some(), "{p}");
        assert!(lit["dnum"].as_u64().unwrap() >= 1, "{p}");
        assert!(lit["log_scale"].as_u64().is_some(), "{p}");
    }
    let bad = heaccel(&["ckks", "presets", "--jsn"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--jsn"));
}

#[test]
fn ckks_kernels_names_the_cpu_and_every_prime() {
    let out = heaccel(&["ckks", "kernels", "--preset", "n16-boot", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert!(!v["cpu"].as_str().unwrap().is_empty());
    assert!(v["threads"].as_u64().unwrap() >= 1);
    let primes = v["primes"].as_array().unwrap();
    // n16-boot: 25 primes of q, 4 special primes
    assert_eq!(primes.len(), 29);
    assert_eq!(primes[0]["role"], "q");
    assert_eq!(primes[0]["bits"], 60);
    assert_eq!(primes[28]["role"], "p");
    let ifma = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "avx512ifma");
    // a 40-bit prime takes the IFMA dot product exactly where the CPU has IFMA; a 61-bit one never
    assert_eq!(primes[1]["key_switch_dot"] == "ifma52", ifma);
    assert_eq!(primes[28]["key_switch_dot"], "scalar");
    let text = heaccel(&["ckks", "kernels", "--preset", "n16-boot"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("q 1..=9: 40 bits"), "{text}");
    let bad = heaccel(&["ckks", "kernels", "--preset", "no-such-preset"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no-such-preset"));
}

#[test]
fn threads_option_sets_the_pool_and_refuses_nonsense() {
    let out = heaccel(&["--threads", "1", "ckks", "kernels", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["threads"], 1);
    let zero = heaccel(&["ckks", "kernels", "--threads", "0"]);
    assert!(!zero.status.success());
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--threads 0"));
    let many = heaccel(&["ckks", "kernels", "--threads", "100000"]);
    assert!(!many.status.success());
    assert!(String::from_utf8_lossy(&many.stderr).contains("cores"));
}
