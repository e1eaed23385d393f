//! Issue 22's reproductions at the command line, each run as a hostile user would: a clear
//! error (exit status 2, no panic, under 2 s of wall time where it must stop early), nothing
//! left behind (no `.partial`, no staging folder, no half of a multi-file output), nothing
//! replaced that is not a regular file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn heaccel_in(dir: &Path, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_heaccel"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the heaccel binary runs");
    (out, start.elapsed())
}

/// Runs a command that must be refused quickly: exit status 2, an `error: ` line, no panic,
/// nothing on stdout, within 2 s. Returns stderr.
fn refused(dir: &Path, args: &[&str]) -> String {
    let (out, took) = heaccel_in(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?} should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?} printed a report");
    assert!(
        took.as_secs_f64() < 2.0,
        "{args:?} took {took:?} before refusing"
    );
    stderr
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heaccel-rel-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every entry of `dir` (recursively), sorted, as paths relative to it.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `command` on a rotation at N = 2^12, L = 3 (the insecure small set): the command name first,
/// then `--op hrot` and the set, then the rest of `command`.
fn small_hrot<'a>(command: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![command[0]];
    args.extend([
        "--op",
        "hrot",
        "--log-n",
        "12",
        "--levels",
        "3",
        "--dnum",
        "2",
        "--allow-insecure",
    ]);
    args.extend(&command[1..]);
    args
}

const GRID: &str = "base = \"fpga-u280\"\n[grid]\n\"modmul.lanes\" = [64, 128]\n";

#[test]
#[cfg(unix)]
fn a_closed_stdout_ends_the_program_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_heaccel"))
        .args(["ckks", "presets"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.status.signal() == Some(libc_sigpipe()) || out.status.success(),
        "{:?}: {stderr}",
        out.status
    );
}

#[cfg(unix)]
fn libc_sigpipe() -> i32 {
    13
}

#[test]
fn counts_and_threads_beyond_reason_are_refused_before_work() {
    let dir = scratch("counts");
    for count in ["18446744073709551615", "1000000000"] {
        let e = refused(&dir, &["infer", "--model", "lenet", "--count", count]);
        assert!(e.contains("is not in 1..=10000"), "{e}");
    }
    let e = refused(&dir, &["infer", "--model", "lenet", "--count", "-1"]);
    assert!(e.contains("invalid value '-1' for '--count <K>'"), "{e}");
    std::fs::write(dir.join("grid.toml"), GRID).unwrap();
    let e = refused(
        &dir,
        &[
            "sweep",
            "--op",
            "hrot",
            "--grid",
            "grid.toml",
            "--jobs",
            "100000",
        ],
    );
    assert!(e.contains("--jobs 100000: at most"), "{e}");
    let e = refused(
        &dir,
        &[
            "sweep",
            "--op",
            "hrot",
            "--grid",
            "grid.toml",
            "--jobs",
            "-0",
        ],
    );
    assert!(
        e.contains("invalid value '-0'") || e.contains("--jobs"),
        "{e}"
    );
    let e = refused(
        &dir,
        &[
            "fpga",
            "build",
            "--target",
            "u280",
            "--clock-mhz",
            "1e-300",
            "--out",
            "fb",
        ],
    );
    assert!(
        e.contains("--clock-mhz 1e-300: allowed range is [1, 1000] MHz"),
        "{e}"
    );
    assert_eq!(tree(&dir), ["grid.toml"]);
}

#[test]
#[cfg(unix)]
fn special_files_are_read_with_a_limit() {
    let dir = scratch("special");
    for args in [
        vec!["simulate", "--op", "hrot", "--config", "/dev/zero"],
        vec!["simulate", "--program", "/dev/zero"],
        vec!["ckks", "params", "--params", "/dev/zero"],
        vec!["sweep", "--op", "hrot", "--grid", "/dev/zero"],
        vec!["infer", "--model", "lenet", "--input", "/dev/zero"],
    ] {
        let e = refused(&dir, &args);
        assert!(e.contains("/dev/zero"), "{args:?}: {e}");
    }
    // the largest child of this test process so far stayed under 500 MB
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    let peak_mb = usage.ru_maxrss as f64 / 1024.0;
    assert!(
        peak_mb < 500.0,
        "a refused command peaked at {peak_mb:.0} MB"
    );
    assert!(tree(&dir).is_empty());
}

#[test]
fn parameters_and_configs_beyond_their_bounds_are_refused_before_work() {
    let dir = scratch("bounds");
    // 3,000 61-bit primes at log_n 13: the 128-bit bound is checked before any prime search
    let log_q = vec!["61"; 3000].join(", ");
    let text = format!(
        r#"{{"log_n": 13, "log_q": [{log_q}], "log_p": [61], "log_scale": 40, "dnum": 1}}"#
    );
    std::fs::write(dir.join("p.json"), text).unwrap();
    let e = refused(&dir, &["ckks", "params", "--params", "p.json"]);
    assert!(
        e.contains("p.json") && e.contains("log_q[3]") && e.contains("218"),
        "{e}"
    );
    // a config with an absurd bandwidth and clock is refused, naming the file and the field
    let asic =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/asic.toml"))
            .unwrap();
    let bad = asic
        .replace("bandwidth_gb_s = 1000.0", "bandwidth_gb_s = 1e-300")
        .replace("clock_mhz = 1000.0", "clock_mhz = 10000.0");
    assert_ne!(bad, asic);
    std::fs::write(dir.join("bad.toml"), bad).unwrap();
    let e = refused(
        &dir,
        &[
            "simulate", "--op", "hrot", "--config", "bad.toml", "--svg", "x.svg",
        ],
    );
    assert!(
        e.contains("bad.toml") && e.contains("memory.bandwidth_gb_s"),
        "{e}"
    );
    assert_eq!(tree(&dir), ["bad.toml", "p.json"]);
}

#[test]
fn messages_name_the_file_once_and_show_no_debug_values() {
    let dir = scratch("messages");
    let e = refused(
        &dir,
        &["infer", "--model", "lenet", "--input", "/nonexistent"],
    );
    assert!(e.contains("/nonexistent"), "{e}");
    assert_eq!(e.matches("No such file").count(), 1, "{e}");
    std::fs::write(
        dir.join("ragged.json"),
        r#"{"input": [[[1, 2], [3]], [[4, 5], [6, 7]]]}"#,
    )
    .unwrap();
    let e = refused(
        &dir,
        &["infer", "--model", "lenet", "--input", "ragged.json"],
    );
    assert!(e.contains("ragged arrays"), "{e}");
    assert!(!e.contains("Some("), "{e}");
}

#[test]
fn the_ntt_block_refuses_primes_its_reference_cannot_take() {
    let dir = scratch("verilog");
    let e = refused(
        &dir,
        &[
            "verilog",
            "--block",
            "ntt",
            "--word",
            "64",
            "--log-n",
            "8",
            "--lanes",
            "4",
            "--q",
            "4611686018427379201",
            "--out",
            "v",
        ],
    );
    assert!(e.contains("below 2^61"), "{e}");
    let e = refused(
        &dir,
        &[
            "verilog", "--block", "ntt", "--log-n", "8", "--lanes", "256", "--out", "v",
        ],
    );
    assert!(
        e.contains("--lanes 256: must be a power of two in [1, 128] for --block ntt"),
        "{e}"
    );
    assert!(tree(&dir).is_empty());
}

#[test]
fn verify_core_checks_sizes_before_allocating() {
    let dir = scratch("core");
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/core/mul_rotate_n1024.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
    v["buffers"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "unused", "limbs": 400_000_000u64, "role": "input"}));
    std::fs::write(dir.join("big.json"), v.to_string()).unwrap();
    let e = refused(
        &dir,
        &["verify", "core", "--program", "big.json", "--no-verilator"],
    );
    assert!(e.contains("buffers[3].limbs`: 400000000"), "{e}");
    // buffers each within the ISA's limit, together beyond what a run here may allocate
    let buffers = v["buffers"].as_array_mut().unwrap();
    buffers.pop();
    for k in 0..5 {
        buffers.push(
            serde_json::json!({"name": format!("spare{k}"), "limbs": 65536, "role": "input"}),
        );
    }
    std::fs::write(dir.join("wide.json"), v.to_string()).unwrap();
    let e = refused(
        &dir,
        &["verify", "core", "--program", "wide.json", "--no-verilator"],
    );
    assert!(
        e.contains("of 65536 limbs); running a program here takes at most"),
        "{e}"
    );

    let mut v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/core/mul_rotate_n1024.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let one = v["instructions"][0].clone();
    v["instructions"] = serde_json::Value::Array(vec![one; 300_001]);
    std::fs::write(dir.join("long.json"), v.to_string()).unwrap();
    let e = refused(
        &dir,
        &["verify", "core", "--program", "long.json", "--no-verilator"],
    );
    assert!(
        e.contains("300001 queue entries") && e.contains("instruction queue holds at most 4096"),
        "{e}"
    );
}

#[test]
fn failed_outputs_leave_nothing_and_replace_nothing() {
    let dir = scratch("outputs");
    std::fs::write(dir.join("grid.toml"), GRID).unwrap();
    // --svg naming a folder
    std::fs::create_dir(dir.join("fig")).unwrap();
    let e = refused(&dir, &small_hrot(&["simulate", "--svg", "fig"]));
    assert!(e.contains("fig: exists and is not a regular file"), "{e}");
    // a symlink as --svg is refused and its target kept
    #[cfg(unix)]
    {
        std::fs::write(dir.join("target.txt"), "keep").unwrap();
        std::os::unix::fs::symlink(dir.join("target.txt"), dir.join("link.svg")).unwrap();
        let e = refused(&dir, &small_hrot(&["simulate", "--svg", "link.svg"]));
        assert!(
            e.contains("link.svg: exists and is not a regular file"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("target.txt")).unwrap(),
            "keep"
        );
    }
    // sweep: pareto.svg blocked -> no sweep.csv
    std::fs::create_dir_all(dir.join("sw/pareto.svg")).unwrap();
    let e = refused(
        &dir,
        &small_hrot(&["sweep", "--grid", "grid.toml", "--out", "sw"]),
    );
    assert!(
        e.contains("pareto.svg: exists and is not a regular file"),
        "{e}"
    );
    // fpga build: constraints.xdc blocked -> no design.v
    std::fs::create_dir_all(dir.join("fb/constraints.xdc")).unwrap();
    let e = refused(&dir, &["fpga", "build", "--target", "u280", "--out", "fb"]);
    assert!(
        e.contains("constraints.xdc: exists and is not a regular file"),
        "{e}"
    );
    // verilog: tb.v blocked -> no top.v
    std::fs::create_dir_all(dir.join("vl/tb.v")).unwrap();
    let e = refused(
        &dir,
        &[
            "verilog", "--block", "modmul", "--log-n", "6", "--out", "vl",
        ],
    );
    assert!(e.contains("tb.v: exists and is not a regular file"), "{e}");
    // the main job: one report blocked -> refused before the work, nothing written
    std::fs::create_dir_all(dir.join("report/lenet-dense-layers.svg")).unwrap();
    let e = refused(&dir, &["--out", "report"]);
    assert!(
        e.contains("lenet-dense-layers.svg: exists and is not a regular file"),
        "{e}"
    );
    // an output folder that is a file is refused before any work
    std::fs::write(dir.join("plain"), "").unwrap();
    let e = refused(
        &dir,
        &[
            "sweep",
            "--op",
            "hrot",
            "--grid",
            "grid.toml",
            "--out",
            "plain/x",
        ],
    );
    assert!(e.contains("exists and is not a folder"), "{e}");
    assert_eq!(
        tree(&dir),
        [
            "fb",
            "fb/constraints.xdc",
            "fig",
            "grid.toml",
            "link.svg",
            "plain",
            "report",
            "report/lenet-dense-layers.svg",
            "sw",
            "sw/pareto.svg",
            "target.txt",
            "vl",
            "vl/tb.v"
        ]
    );
}
