//! `heaccel fpga build` file set and contents, bad-input errors, and the shape of
//! `heaccel fpga estimate --json` on a live Yosys run of a small design (skipped with a
//! notice when Yosys is not installed), whose preset loads in `heaccel simulate`.

mod support;

use support::heaccel;

use std::path::Path;
use std::process::Command;

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("heaccel-fpga-{name}-{}", std::process::id()))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn build_writes_the_four_files_with_their_headers() {
    for (target, mhz, period) in [("u280", "300", "3.333"), ("generic", "250", "4.000")] {
        let dir = temp(&format!("build-{target}"));
        let out = heaccel(&[
            "fpga",
            "build",
            "--target",
            target,
            "--lanes",
            "2",
            "--log-n",
            "6",
            "--clock-mhz",
            mhz,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["constraints.xdc", "design.v", "vivado.tcl", "yosys.ys"]
        );
        let command = format!("heaccel fpga build --target {target} --design datapath --lanes 2");
        for name in &names {
            assert!(
                read(&dir.join(name)).contains(&command),
                "{name} names no command"
            );
        }
        let v = read(&dir.join("design.v"));
        assert!(v.starts_with("// heaccel datapath design (top module `top`): N = 2^6, P = 2"));
        assert!(
            v.contains("module top(")
                && v.contains("module top$ntt(")
                && v.contains("module top$mm$0(")
        );
        // The two multiplier lanes are one shared module with two instances.
        assert!(!v.contains("module top$mm$1("));
        assert!(v.contains("    top$mm$0 mm$0(\n") && v.contains("    top$mm$0 mm$1(\n"));
        let tcl = read(&dir.join("vivado.tcl"));
        let xdc = read(&dir.join("constraints.xdc"));
        assert!(xdc.contains(&format!(
            "create_clock -period {period} -name core_clock [get_ports clock]"
        )));
        if target == "u280" {
            assert!(tcl.contains("set part xcu280-fsvh2892-2L-e"));
            assert!(xdc.contains("HD.CLK_SRC"));
        } else {
            assert!(!tcl.contains("xcu280") && !xdc.contains("HD.CLK_SRC"));
        }
        assert!(read(&dir.join("yosys.ys")).contains("synth_xilinx -family xcup -top top"));
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// `--design core`: the four files; the Verilog holds the core's top with its register-file
/// and AXI4-Stream ports and one NTT unit per prime, and every block `per_block` reports.
#[test]
fn build_core_writes_the_four_files_with_the_cores_top() {
    let dir = temp("build-core");
    let out = heaccel(&[
        "fpga",
        "build",
        "--target",
        "u280",
        "--design",
        "core",
        "--lanes",
        "2",
        "--log-n",
        "5",
        "--primes",
        "2",
        "--slots",
        "3",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["constraints.xdc", "design.v", "vivado.tcl", "yosys.ys"]
    );
    let command = "heaccel fpga build --target u280 --design core --primes 2 --slots 3 --lanes 2";
    for name in &names {
        assert!(
            read(&dir.join(name)).contains(command),
            "{name} names no command"
        );
    }
    let v = read(&dir.join("design.v"));
    assert!(
        v.starts_with("// heaccel core design (top module `top`): N = 2^5, P = 2 lanes, q = "),
        "{}",
        v.lines().next().unwrap()
    );
    assert!(v.contains("(first of 2 primes), 3 slots"));
    // The generated text is the core's Verilog seam for the same geometry with identical
    // modules shared (rust-hdl emits one module per instance).
    let q = heaccel_verification::arith::ntt_primes(30, 5, 2, &[]).unwrap();
    let geo = heaccel_hdl::core::CoreGeometry::new(
        5,
        2,
        &q,
        3,
        heaccel_hdl::core::CoreGeometry::DEFAULT_QUEUE,
    )
    .unwrap();
    let emitted = heaccel_hdl::core::core_verilog(&geo).unwrap();
    let want = heaccel_hdl::core::shared_core_verilog(&geo).unwrap();
    assert!(
        v.contains(want.trim()),
        "design.v differs from shared_core_verilog"
    );
    let modules = heaccel_hdl::core::module_names(&v);
    assert!(modules.len() * 5 < heaccel_hdl::core::module_names(&emitted).len());
    assert_eq!(modules[0], heaccel_hdl::core::TOP_MODULE);
    // One element-wise lane module per prime (lanes 0-3 and 4-7), instantiated 2P = 4 times.
    for m in ["top$ntt$0", "top$ntt$1", "top$ew$0", "top$ew$4", "top$aut"] {
        assert!(modules.iter().any(|x| x == m), "no module {m}");
    }
    assert!(!modules.iter().any(|x| x == "top$ew$7"));
    assert!(v.contains("    top$ew$4 ew$7(\n"));
    let top = v
        .split("module top(")
        .nth(1)
        .unwrap()
        .split(");")
        .next()
        .unwrap();
    for port in ["reg_we", "reg_addr", "s_tvalid", "m_tlast", "busy", "done"] {
        assert!(top.contains(port), "top has no port {port}");
    }
    assert!(read(&dir.join("yosys.ys")).contains("synth_xilinx -family xcup -top top"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fpga_rejects_bad_input_before_writing() {
    let dir = temp("bad");
    let d = dir.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--lanes", "3"],
            "--lanes 3: must be a power of two in [1, 128]",
        ),
        (
            &["--lanes", "256"],
            "--lanes 256: must be a power of two in [1, 128]",
        ),
        (&["--lanes", "32", "--log-n", "6"], "N >= 4P"),
        (&["--log-n", "17"], "--log-n 17: allowed range is [2, 16]"),
        (
            &["--clock-mhz", "0"],
            "--clock-mhz 0: allowed range is [1, 1000] MHz",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["fpga", "build", "--target", "u280", "--out", d];
        args.extend_from_slice(extra);
        let out = heaccel(&args);
        assert!(!out.status.success(), "{extra:?} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{extra:?}: {err}");
        assert!(!dir.exists(), "{extra:?} wrote files");
    }
    let core_cases: [(&[&str], &str); 5] = [
        (&["--primes", "2"], "--primes 2: only for --design core"),
        (&["--slots", "4"], "--slots 4: only for --design core"),
        (
            &["--design", "core", "--primes", "17"],
            "--primes 17: a core holds 1 to 16 primes",
        ),
        (
            &["--design", "core", "--slots", "0"],
            "--slots 0: allowed range is [1, 256]",
        ),
        (
            &["--design", "core", "--lanes", "32", "--log-n", "6"],
            "N >= 4P",
        ),
    ];
    for (extra, want) in core_cases {
        let mut args = vec!["fpga", "build", "--target", "u280", "--out", d];
        args.extend_from_slice(extra);
        let out = heaccel(&args);
        assert!(!out.status.success(), "{extra:?} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{extra:?}: {err}");
        assert!(!dir.exists(), "{extra:?} wrote files");
    }
    let out = heaccel(&["fpga", "estimate", "--lanes", "4", "--fit-lanes", "2"]);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--fit-lanes 2: must be larger than --lanes 4"));
    let out = heaccel(&["fpga", "build", "--target", "zynq", "--out", d]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("u280"));
}

#[test]
fn estimate_json_has_the_documented_shape_and_a_loadable_preset() {
    if Command::new("yosys").arg("-V").output().is_err() {
        eprintln!("notice: yosys not installed; the live `heaccel fpga estimate` test is skipped");
        return;
    }
    let dir = temp("estimate");
    let preset = dir.join("preset.toml");
    std::fs::create_dir_all(&dir).unwrap();
    let out = heaccel(&[
        "fpga",
        "estimate",
        "--lanes",
        "1",
        "--fit-lanes",
        "2",
        "--log-n",
        "4",
        "--json",
        "--out",
        dir.to_str().unwrap(),
        "--write-preset",
        preset.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["design"], "datapath");
    assert_eq!(v["log_n"], 4);
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for (run, lanes) in runs.iter().zip([1u64, 2]) {
        assert_eq!(run["lanes"], lanes);
        assert_eq!(run["reused"], false);
        let blocks: Vec<&str> = run["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["block"].as_str().unwrap())
            .collect();
        assert_eq!(blocks, ["ntt", "modmul lanes", "automorph", "glue"]);
        // Nine DSPs per Shoup multiplier; three multipliers per lane (two in the butterfly);
        // one DSP per automorphism lane, its source-index product (shared by both forms).
        assert_eq!(run["total"]["dsp"], 28 * lanes);
        assert_eq!(run["blocks"][0]["resources"]["dsp"], 18 * lanes);
        assert_eq!(run["blocks"][1]["resources"]["dsp"], 9 * lanes);
        assert_eq!(run["blocks"][2]["resources"]["dsp"], lanes);
        for k in ["lut", "lutram", "ff", "dsp", "ramb36", "ramb18", "uram"] {
            assert!(run["total"][k].is_u64(), "total.{k}");
        }
        assert!(Path::new(run["log"].as_str().unwrap()).exists());
    }
    let fit = &v["fit"];
    assert_eq!(fit["lanes"], serde_json::json!([1, 2]));
    // 28 DSPs per lane, none fixed: floor(9,024 / 28) = 322.
    assert_eq!(fit["lanes_fit_dsp"], 322);
    assert!(fit["lanes_fit_lut"].as_u64().unwrap() > 0);
    let kinds: Vec<&str> = fit["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["lut", "ff", "dsp", "bram36", "uram"]);
    let bound = fit["lanes_fit"].as_u64().unwrap();
    assert!(bound <= 334);
    let p = &v["preset"];
    assert_eq!(p["lanes_fit"], bound);
    assert!(
        p["ntt_units"].as_u64().unwrap() * p["butterflies_per_unit"].as_u64().unwrap() <= bound
    );
    let text = read(&preset);
    assert!(text.contains(
        "# Generated by `heaccel fpga estimate --design datapath --lanes 1 --fit-lanes 2"
    ));
    assert!(text.contains(&format!("lanes = {}", p["modmul_lanes"])));
    // The preset runs in the simulator.
    let sim = heaccel(&[
        "simulate",
        "--op",
        "hrot",
        "--log-n",
        "12",
        "--levels",
        "3",
        "--dnum",
        "2",
        "--allow-insecure",
        "--config",
        preset.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        sim.status.success(),
        "{}",
        String::from_utf8_lossy(&sim.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&sim.stdout).unwrap();
    assert!(s["key_stream_bound_us"].as_f64().unwrap() > 0.0);

    // A second run on the same folder reuses the logs and reports the same numbers.
    let again = heaccel(&[
        "fpga",
        "estimate",
        "--lanes",
        "1",
        "--fit-lanes",
        "2",
        "--log-n",
        "4",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let w: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(w["runs"][0]["reused"], true);
    assert_eq!(w["runs"][1]["total"], v["runs"][1]["total"]);
    let _ = std::fs::remove_dir_all(dir);
}

/// `--design core --write-preset`: the core's mapping (per replica one NTT unit per prime,
/// 2P element-wise lanes per prime, one automorphism unit of 2P lanes) with the core's lane
/// latency, in a preset the simulator loads.
#[test]
fn estimate_core_writes_a_preset_with_per_prime_units() {
    if Command::new("yosys").arg("-V").output().is_err() {
        eprintln!("notice: yosys not installed; the live core estimate test is skipped");
        return;
    }
    let dir = temp("estimate-core");
    std::fs::create_dir_all(&dir).unwrap();
    let preset = dir.join("core.toml");
    let out = heaccel(&[
        "fpga",
        "estimate",
        "--design",
        "core",
        "--lanes",
        "1",
        "--fit-lanes",
        "2",
        "--log-n",
        "4",
        "--json",
        "--write-preset",
        preset.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["design"].as_str(), v["primes"].as_u64()),
        (Some("core"), Some(2))
    );
    // Per lane: two butterflies (one per prime) and four element-wise lanes.
    let dsp = &v["fit"]["resources"][2];
    assert_eq!(dsp["resource"], "dsp");
    assert!(dsp["per_lane"].as_f64().unwrap() > 0.0);
    let p = &v["preset"];
    let (rep, bpu) = (
        p["replicas"].as_u64().unwrap(),
        p["butterflies_per_unit"].as_u64().unwrap(),
    );
    assert!(rep >= 1 && bpu.is_power_of_two() && bpu <= 128);
    assert!(rep * bpu <= v["fit"]["lanes_fit"].as_u64().unwrap());
    assert_eq!(p["ntt_units"].as_u64(), Some(2 * rep));
    assert_eq!(p["modmul_lanes"].as_u64(), Some(rep * 2 * 2 * bpu));
    assert_eq!(p["automorph_lanes"].as_u64(), Some(2 * bpu));
    let text = read(&preset);
    assert!(text.contains("# Generated by `heaccel fpga estimate --design core --primes 2"));
    assert!(text.contains("EwLane::LATENCY"));
    let config = heaccel_sim::config::HwConfig::from_toml(&text, "core.toml").unwrap();
    assert_eq!(
        config.modmul.pipeline_latency as usize,
        heaccel_hdl::core::EwLane::LATENCY
    );
    assert_eq!(config.ntt.units as u64, 2 * rep);
    let _ = std::fs::remove_dir_all(dir);
}

/// configs/fpga-u280.toml is derived, not guessed: its header names the core's
/// `heaccel fpga estimate ... --write-preset` command and the lanes its fit allowed, and its
/// unit counts are the core's mapping of those lanes (`core_preset_lanes`).
#[test]
fn fpga_u280_preset_is_the_cores_derived_preset() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/fpga-u280.toml");
    let text = read(&path);
    let command = text
        .lines()
        .find_map(|l| l.strip_prefix("# Generated by `"))
        .and_then(|l| l.split('`').next())
        .expect("a `# Generated by` line");
    assert!(
        command.starts_with("heaccel fpga estimate --design core --primes ")
            && command.ends_with("--write-preset configs/fpga-u280.toml"),
        "{command}"
    );
    let primes: u64 = command
        .split("--primes ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    let lanes: u64 = text
        .split("binding: ")
        .nth(1)
        .and_then(|r| r.split(" lanes)").next())
        .and_then(|r| r.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .expect("a `binding: KIND (L lanes)` header");
    let want = heaccel_fpga::core_preset_lanes(lanes, primes).unwrap();
    let config = heaccel_sim::config::HwConfig::preset("fpga-u280").unwrap();
    assert_eq!(config.ntt.units as u64, want.ntt_units);
    assert_eq!(
        config.ntt.butterflies_per_unit as u64,
        want.butterflies_per_unit
    );
    assert_eq!(config.modmul.lanes as u64, want.modmul_lanes);
    assert_eq!(config.bconv.lanes as u64, want.modmul_lanes);
    assert_eq!(
        (config.automorph.units as u64, config.automorph.lanes as u64),
        (want.automorph_units, want.automorph_lanes)
    );
}
