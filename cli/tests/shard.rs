//! Sharded runs: `heaccel sweep --shard I/N` + `heaccel merge` give exactly the unsharded
//! files (1, 3 and 7 shards, `--op` and `--model`), finished shards are skipped, the merge
//! refuses missing, duplicated and foreign shards without writing anything, `--slurm` writes
//! job scripts whose tasks run one shard each, and a missing `sbatch` is a clear error.
//! (On a real Slurm: scripts/slurm-e2e.sh, run by scripts/test.sh.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn heaccel_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heaccel"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the heaccel binary runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = heaccel_in(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(dir: &Path, args: &[&str]) -> String {
    let out = heaccel_in(dir, args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?} should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    stderr
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heaccel-shard-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Two word sizes, so shards group points by compilation.
const GRID: &str = r#"
base = "fpga-u280"
[grid]
"modmul.lanes" = [64, 256]
"ntt.butterflies_per_unit" = [16, 64]
word_bits = [32, 36]
"memory.bandwidth_gb_s" = [230.0, 460.0]
"#;

const FILES: [&str; 3] = ["sweep.csv", "sweep.json", "pareto.svg"];

fn sharded_equals_unsharded(tag: &str, workload: &[&str]) {
    let dir = scratch(tag);
    std::fs::write(dir.join("grid.toml"), GRID).unwrap();
    let mut args = vec!["sweep", "--grid", "grid.toml", "--jobs", "2"];
    args.extend(workload);
    let mut whole = args.clone();
    whole.extend(["--out", "whole"]);
    ok(&dir, &whole);
    for n in [1u32, 3, 7] {
        let shard_dir = format!("shards{n}");
        for i in 1..=n {
            let spec = format!("{i}/{n}");
            let mut a = args.clone();
            a.extend(["--shard", &spec, "--out", &shard_dir, "--json"]);
            let v: Value = serde_json::from_str(&ok(&dir, &a)).unwrap();
            assert_eq!(v["shard"]["shard"], spec.as_str());
            assert_eq!(v["shard"]["items"], 16);
            assert_eq!(v["shard"]["skipped"], false);
            // with at least one shard per word size, no shard compiles for two
            let compiled = v["compiled_word_sizes"].as_array().unwrap().len();
            assert!(compiled <= if n >= 2 { 1 } else { 2 }, "{v}");
        }
        let merged = format!("merged{n}");
        let report: Value = serde_json::from_str(&ok(
            &dir,
            &["merge", &shard_dir, "--out", &merged, "--json"],
        ))
        .unwrap();
        assert_eq!(report["shards"], n);
        assert_eq!(report["items"], 16);
        for f in FILES {
            let a = std::fs::read(dir.join("whole").join(f)).unwrap();
            let b = std::fs::read(dir.join(&merged).join(f)).unwrap();
            assert!(
                a == b,
                "{tag}: {f} of {n} shards differs from the unsharded run"
            );
        }
    }
    // a finished shard is skipped
    let mut a = args.clone();
    a.extend(["--shard", "2/3", "--out", "shards3", "--json"]);
    let v: Value = serde_json::from_str(&ok(&dir, &a)).unwrap();
    assert_eq!(v["shard"]["skipped"], true);
    assert_eq!(v["simulate_seconds"], 0.0);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sharded_op_sweep_merges_byte_identically() {
    sharded_equals_unsharded(
        "op",
        &[
            "--op",
            "hrot",
            "--log-n",
            "12",
            "--levels",
            "5",
            "--dnum",
            "2",
            "--allow-insecure",
        ],
    );
}

#[test]
fn sharded_model_sweep_merges_byte_identically() {
    sharded_equals_unsharded("model", &["--model", "lenet"]);
}

#[test]
fn bad_shards_and_merges_are_refused_and_nothing_is_written() {
    let dir = scratch("bad");
    std::fs::write(dir.join("grid.toml"), GRID).unwrap();
    std::fs::write(
        dir.join("grid2.toml"),
        GRID.replace("[64, 256]", "[64, 128]"),
    )
    .unwrap();
    let sweep = |grid: &'static str, spec: &str, out: &str| {
        vec![
            "sweep".to_string(),
            "--model".into(),
            "lenet".into(),
            "--grid".into(),
            grid.into(),
            "--shard".into(),
            spec.into(),
            "--out".into(),
            out.into(),
        ]
    };
    let run = |args: Vec<String>| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        heaccel_in(&dir, &a)
    };
    for (spec, why) in [
        ("0/4", "I counts from 1"),
        ("5/4", "I is larger than N"),
        ("1/0", "N must be at least 1"),
        ("x", "no `/`"),
    ] {
        let a = sweep("grid.toml", spec, "never");
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let err = fails(&dir, &a);
        assert!(err.contains(&format!("--shard `{spec}`: {why}")), "{err}");
    }
    assert!(!dir.join("never").exists());

    // shards 1 and 3 of 3 of one grid, shard 2 of another
    assert!(run(sweep("grid.toml", "1/3", "a")).status.success());
    assert!(run(sweep("grid.toml", "3/3", "a")).status.success());
    let err = fails(&dir, &["merge", "a", "--out", "m"]);
    assert!(err.contains("1 of 3 shards missing: 2/3"), "{err}");
    assert!(run(sweep("grid2.toml", "2/3", "b")).status.success());
    let err = fails(&dir, &["merge", "a", "b", "--out", "m"]);
    assert!(err.contains("is from another run (job hash"), "{err}");
    assert!(err.contains("sweep.shard-2-of-3.partial.jsonl"), "{err}");
    // the same shard twice
    std::fs::create_dir_all(dir.join("c")).unwrap();
    std::fs::copy(
        dir.join("a/sweep.shard-1-of-3.partial.jsonl"),
        dir.join("c/sweep.shard-1-of-3.partial.jsonl"),
    )
    .unwrap();
    let err = fails(&dir, &["merge", "a", "c", "--out", "m"]);
    assert!(err.contains("shard 1/3 is there twice"), "{err}");
    let err = fails(&dir, &["merge", "grid.toml", "--out", "m"]);
    assert!(
        err.contains("grid.toml, line 1: not a partial-result header"),
        "{err}"
    );
    let err = fails(&dir, &["merge", "nowhere", "--out", "m"]);
    assert!(err.contains("nowhere"), "{err}");
    assert!(
        !dir.join("m").exists(),
        "a failed merge wrote its output folder"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `heaccel sweep --model lenet --grid grid.toml` followed by `extra` (split at spaces).
fn lenet_sweep(extra: &str) -> Vec<String> {
    "sweep --model lenet --grid grid.toml"
        .split(' ')
        .chain(extra.split(' '))
        .map(String::from)
        .collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn slurm_scripts_run_one_shard_per_task_and_sbatch_must_exist() {
    let dir = scratch("slurm");
    std::fs::write(dir.join("grid.toml"), GRID).unwrap();
    let out = ok(
        &dir,
        &strs(&lenet_sweep(
            "--out run --slurm --array-size 5 --partition debug --time=1:00:00 --json",
        )),
    );
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["shards"], 5);
    assert_eq!(plan["pending"], serde_json::json!([1, 2, 3, 4, 5]));
    assert!(plan["array_job"].is_null());
    let array = std::fs::read_to_string(dir.join("run/heaccel-sweep.array.sbatch")).unwrap();
    let run_dir = std::fs::canonicalize(dir.join("run")).unwrap();
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_heaccel")).unwrap();
    assert!(array.contains("#SBATCH --array=1-5\n"), "{array}");
    assert!(array.contains("#SBATCH --partition=debug\n"), "{array}");
    assert!(array.contains("#SBATCH --time=1:00:00\n"), "{array}");
    let task = array.lines().last().unwrap();
    let expected = format!(
        "exec {} sweep --model lenet --grid grid.toml --out run --json --shard \
         \"$SLURM_ARRAY_TASK_ID/5\" --shard-dir {}",
        exe.display(),
        run_dir.join("shards").display()
    );
    assert_eq!(task, expected);
    let merge = std::fs::read_to_string(dir.join("run/heaccel-sweep.merge.sbatch")).unwrap();
    assert!(merge.ends_with(&format!(
        "merge {} --out {}\n",
        run_dir.join("shards").display(),
        run_dir.display()
    )));

    // shards already finished are left out of the array
    ok(
        &dir,
        &strs(&lenet_sweep("--shard 2/5 --shard-dir run/shards")),
    );
    let plan: Value = serde_json::from_str(&ok(
        &dir,
        &strs(&lenet_sweep("--out run --slurm --array-size 5 --json")),
    ))
    .unwrap();
    assert_eq!(plan["pending"], serde_json::json!([1, 3, 4, 5]));

    // --submit without sbatch on PATH
    let out = Command::new(env!("CARGO_BIN_EXE_heaccel"))
        .current_dir(&dir)
        .env("PATH", "/nonexistent")
        .args(lenet_sweep("--out run --slurm --submit"))
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`sbatch` is not installed"), "{err}");
    // options are checked
    for (extra, why) in [
        ("--array-size 0", "--array-size 0: expected 1 ..= 100000"),
        ("--time 1h", "--time `1h`: expected minutes"),
        ("--partition a+b", "--partition `a+b`"),
    ] {
        let err = fails(
            &dir,
            &strs(&lenet_sweep(&format!("--out run --slurm {extra}"))),
        );
        assert!(err.contains(why), "{err}");
    }
    let err = fails(&dir, &strs(&lenet_sweep("--shard 1/2 --slurm")));
    assert!(err.contains("cannot be used with"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
