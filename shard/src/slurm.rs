//! Slurm job arrays: a script whose task `I` runs shard `I/N` of a run, and a merge job that
//! starts when every task succeeded (`--dependency=afterok`). Finished shards are left out of
//! the array on resubmission, and a task whose partial is already there skips its work, so a
//! failed run is resumed by submitting it again.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{io, Result, ShardError};

/// Placeholder in a task's command line replaced by `$SLURM_ARRAY_TASK_ID/N`.
pub const SHARD_PLACEHOLDER: &str = "{SHARD}";

/// A sharded run as a Slurm job array and its merge job.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayJob {
    /// Job name (`--job-name`), e.g. `heaccel-sweep`.
    pub name: String,
    /// Absolute folder the jobs run in (`--chdir`): relative paths of the commands start there.
    pub workdir: PathBuf,
    /// Shards of the run, `N`.
    pub shards: u32,
    /// The shards to run (1-based, ascending): those without a finished partial.
    pub pending: Vec<u32>,
    /// `--partition`, if given.
    pub partition: Option<String>,
    /// `--time` per task, if given (Slurm's forms: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`,
    /// `D-H:M:S`).
    pub time: Option<String>,
    /// The command of one task; the argument [`SHARD_PLACEHOLDER`] becomes
    /// `$SLURM_ARRAY_TASK_ID/N`.
    pub task: Vec<String>,
    /// The command of the merge job.
    pub merge: Vec<String>,
    /// Folder of the jobs' logs (`%x-%A_%a.out`).
    pub log_dir: PathBuf,
}

/// Checks `--partition`: Slurm's partition names are letters, digits, `_`, `-` and `.`.
pub fn check_partition(p: &str) -> Result<()> {
    if p.is_empty()
        || !p
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(ShardError::SlurmOption {
            option: "--partition",
            value: p.to_string(),
            expected: "a partition name (letters, digits, _ - .)",
        });
    }
    Ok(())
}

/// Checks `--time` against Slurm's forms (`M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`).
pub fn check_time(t: &str) -> Result<()> {
    let bad = || ShardError::SlurmOption {
        option: "--time",
        value: t.to_string(),
        expected: "minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S",
    };
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, t),
    };
    let numeric = |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
    if days.is_some_and(|d| !numeric(d)) {
        return Err(bad());
    }
    let parts: Vec<&str> = rest.split(':').collect();
    if parts.is_empty() || parts.len() > 3 || !parts.iter().all(|p| numeric(p)) {
        return Err(bad());
    }
    Ok(())
}

/// `1-3,5,7-9`: ascending shard indices as Slurm's `--array` ranges.
pub fn array_ranges(indices: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}-{end}");
        }
        i += 1;
    }
    out
}

/// `arg` quoted for a POSIX shell (single quotes; a single quote as `'\''`).
pub fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return arg.to_string();
    }
    format!("'{}'", arg.replace('\'', r"'\''"))
}

fn command_line(args: &[String], shards: u32) -> String {
    args.iter()
        .map(|a| {
            if a == SHARD_PLACEHOLDER {
                format!("\"$SLURM_ARRAY_TASK_ID/{shards}\"")
            } else {
                shell_quote(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl ArrayJob {
    fn preamble(&self, name: &str, log: &str) -> String {
        let mut s = String::from("#!/bin/bash\n");
        let _ = writeln!(s, "#SBATCH --job-name={}", shell_quote(name));
        let _ = writeln!(
            s,
            "#SBATCH --chdir={}",
            shell_quote(&self.workdir.display().to_string())
        );
        let _ = writeln!(
            s,
            "#SBATCH --output={}",
            shell_quote(&self.log_dir.join(log).display().to_string())
        );
        if let Some(p) = &self.partition {
            let _ = writeln!(s, "#SBATCH --partition={p}");
        }
        if let Some(t) = &self.time {
            let _ = writeln!(s, "#SBATCH --time={t}");
        }
        s
    }

    /// The job-array script: one task per pending shard, each running [`ArrayJob::task`].
    pub fn array_script(&self) -> String {
        let mut s = self.preamble(&self.name, "%x-%A_%a.out");
        let _ = writeln!(s, "#SBATCH --array={}", array_ranges(&self.pending));
        let _ = writeln!(s, "#SBATCH --ntasks=1");
        s.push_str(
            "# One shard of the run per array task; a shard whose partial result is already\n\
             # there is skipped by heaccel itself, so resubmitting resumes a failed run.\n\
             set -euo pipefail\n",
        );
        let _ = writeln!(s, "exec {}", command_line(&self.task, self.shards));
        s
    }

    /// The merge job's script, submitted with `--dependency=afterok:<array job>`.
    pub fn merge_script(&self) -> String {
        let mut s = self.preamble(&format!("{}-merge", self.name), "%x-%j.out");
        let _ = writeln!(s, "#SBATCH --ntasks=1");
        s.push_str("# Runs once every array task succeeded.\nset -euo pipefail\n");
        let _ = writeln!(s, "exec {}", command_line(&self.merge, self.shards));
        s
    }

    /// Writes `{name}.array.sbatch` and `{name}.merge.sbatch` into `dir` (each whole: a
    /// temporary file renamed), returning their paths, and creates the log folder.
    pub fn write_scripts(&self, dir: &Path) -> Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        std::fs::create_dir_all(&self.log_dir).map_err(io(&self.log_dir))?;
        let array = dir.join(format!("{}.array.sbatch", self.name));
        let merge = dir.join(format!("{}.merge.sbatch", self.name));
        heaccel_files::write_whole(&array, &self.array_script())?;
        heaccel_files::write_whole(&merge, &self.merge_script())?;
        Ok((array, merge))
    }
}

/// Runs `sbatch --parsable [extra] script` and returns the job id it printed.
pub fn sbatch(script: &Path, extra: &[String]) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                ShardError::SbatchMissing {
                    script: script.to_path_buf(),
                }
            } else {
                ShardError::SbatchSpawn { error }
            }
        })?;
    if !output.status.success() {
        return Err(ShardError::SbatchFailed {
            script: script.to_path_buf(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ShardError::SbatchOutput {
            script: script.to_path_buf(),
            printed: stdout.trim().to_string(),
        });
    }
    Ok(id)
}

/// Submits the array (when shards are pending) and the merge job after it; returns
/// `(array job id or None, merge job id)`.
pub fn submit(array: &Path, merge: &Path, pending: bool) -> Result<(Option<String>, String)> {
    let array_id = if pending {
        Some(sbatch(array, &[])?)
    } else {
        None
    };
    let extra: Vec<String> = array_id
        .iter()
        .map(|id| format!("--dependency=afterok:{id}"))
        .collect();
    let merge_id = sbatch(merge, &extra)?;
    Ok((array_id, merge_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_compress_runs() {
        assert_eq!(array_ranges(&[1, 2, 3, 5, 7, 8, 9]), "1-3,5,7-9");
        assert_eq!(array_ranges(&[4]), "4");
        assert_eq!(array_ranges(&[]), "");
    }

    #[test]
    fn quoting_survives_the_shell() {
        assert_eq!(shell_quote("plain/path.toml"), "plain/path.toml");
        assert_eq!(shell_quote("it's here"), r"'it'\''s here'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn times_and_partitions_are_checked() {
        for ok in ["30", "10:00", "1:00:00", "2-0", "2-12:30", "1-00:00:00"] {
            check_time(ok).unwrap();
        }
        for bad in ["", "1h", "1:2:3:4", "-5", "a-1", "1-", "1:"] {
            let e = check_time(bad).unwrap_err();
            assert!(
                matches!(&e, ShardError::SlurmOption { option: "--time", value, .. } if value == bad),
                "{bad}: {e:?}"
            );
        }
        check_partition("gpu_long-2.x").unwrap();
        for bad in ["a b", ""] {
            let e = check_partition(bad).unwrap_err();
            assert!(
                matches!(&e, ShardError::SlurmOption { option: "--partition", value, .. } if value == bad),
                "{bad}: {e:?}"
            );
        }
        assert_eq!(
            check_partition("a b").unwrap_err().to_string(),
            "--partition `a b`: expected a partition name (letters, digits, _ - .)"
        );
        assert_eq!(
            check_time("1h").unwrap_err().to_string(),
            "--time `1h`: expected minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S"
        );
    }

    #[test]
    fn the_array_script_runs_each_task_on_its_shard() {
        let job = ArrayJob {
            name: "heaccel-sweep".into(),
            workdir: "/w d".into(),
            shards: 4,
            pending: vec![1, 2, 4],
            partition: Some("debug".into()),
            time: Some("10:00".into()),
            task: vec![
                "/bin/heaccel".into(),
                "sweep".into(),
                "--shard".into(),
                SHARD_PLACEHOLDER.into(),
            ],
            merge: vec!["/bin/heaccel".into(), "merge".into(), "shards".into()],
            log_dir: "/w d/logs".into(),
        };
        let s = job.array_script();
        assert!(s.contains("#SBATCH --array=1-2,4\n"), "{s}");
        assert!(s.contains("#SBATCH --chdir='/w d'\n"), "{s}");
        assert!(s.contains("#SBATCH --partition=debug\n#SBATCH --time=10:00\n"));
        assert!(s.ends_with("exec /bin/heaccel sweep --shard \"$SLURM_ARRAY_TASK_ID/4\"\n"));
        let m = job.merge_script();
        assert!(m.contains("--job-name=heaccel-sweep-merge"));
        assert!(m.ends_with("exec /bin/heaccel merge shards\n"));
    }
}
