//! A sweep's outputs: the readable summary, the CSV and the files written under `--out`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::{SweepReport, SweepResult, SweepRow, Workload};

/// The readable summary of a sweep: the Pareto front, the infeasible count, the timing and
/// the files.
pub fn format_report(r: &SweepReport) -> String {
    let mut s = String::new();
    if let Some(shard) = &r.shard {
        let _ = writeln!(
            s,
            "{}: shard {} ran {} of {} points{}",
            r.title,
            shard.shard,
            r.rows.len(),
            shard.items,
            if shard.skipped {
                " earlier (its partial result is there; nothing simulated)"
            } else {
                ""
            }
        );
        for f in &r.files {
            let _ = writeln!(s, "wrote {}", f.display());
        }
        let _ = writeln!(s, "merge every shard with: heaccel merge DIR... --out DIR");
        return s;
    }
    let _ = writeln!(
        s,
        "{}; Pareto front (cost = multiplier lanes x word bits):",
        r.title
    );
    let label = if r.rows.iter().any(|r| r.params.is_some()) {
        "params"
    } else {
        "bound"
    };
    let _ = writeln!(
        s,
        "  {:>12} {:>12}  {:<10} {}",
        "time_us",
        "cost",
        label,
        r.axes.join("  ")
    );
    let mut front: Vec<&SweepRow> = r.rows.iter().filter(|r| r.pareto).collect();
    front.sort_by_key(|r| r.cost_lane_bits);
    for row in front {
        let _ = writeln!(
            s,
            "  {:>12.3} {:>12}  {:<10} {}",
            row.time_us.unwrap_or(f64::NAN),
            row.cost_lane_bits,
            row.params.as_ref().or(row.bound.as_ref()).map_or("", |s| s),
            row.values.join("  ")
        );
    }
    let infeasible = r.rows.iter().filter(|r| r.time_us.is_none()).count();
    if infeasible > 0 {
        let _ = writeln!(
            s,
            "  {infeasible} configurations cannot run it (marked infeasible in the CSV)"
        );
    }
    let _ = writeln!(
        s,
        "  {} configurations in {:.2} s on {} threads ({:.2} s preparing for word sizes {:?})",
        r.rows.len(),
        r.prepare_seconds + r.simulate_seconds,
        r.jobs,
        r.prepare_seconds,
        r.compiled_word_sizes
    );
    for f in &r.files {
        let _ = writeln!(s, "wrote {}", f.display());
    }
    s
}

/// The CSV text: a header, then one row per point in index order. The column after
/// `time_us` is `bound` (the busiest unit) for `--op` sweeps and `params` (the parameter set)
/// for `--model` sweeps; it reads `infeasible` when the point cannot run the workload.
pub fn to_csv(axes: &[String], rows: &[SweepRow], workload: Workload) -> String {
    let model = workload == Workload::Model;
    let mut s = String::from("index");
    for key in axes {
        let _ = write!(s, ",{key}");
    }
    let label = if model { "params" } else { "bound" };
    let _ = writeln!(s, ",time_us,{label},cost_lane_bits,pareto");
    for r in rows {
        let _ = write!(s, "{}", r.index);
        for v in &r.values {
            let _ = write!(s, ",{}", v.replace(',', ";"));
        }
        let time = r.time_us.map_or(String::new(), |t| t.to_string());
        let what = r
            .params
            .as_ref()
            .or(r.bound.as_ref())
            .map_or("infeasible", |s| s);
        let _ = writeln!(s, ",{time},{what},{},{}", r.cost_lane_bits, r.pareto);
    }
    s
}

/// Writes `sweep.csv`, `sweep.json` and `pareto.svg` into `dir` (created if missing): all
/// three or none (staged, then moved into place).
pub fn write_outputs(dir: &Path, result: &SweepResult) -> Result<Vec<PathBuf>> {
    let points: Vec<(f64, f64, bool)> = result
        .rows
        .iter()
        .filter_map(|r| r.time_us.map(|t| (r.cost_lane_bits as f64, t, r.pareto)))
        .collect();
    if points.is_empty() {
        bail!(
            "no grid point could run the workload; the first reason: {}",
            result
                .rows
                .first()
                .and_then(|r| r.infeasible.clone())
                .unwrap_or_default()
        );
    }
    let csv = to_csv(&result.axes, &result.rows, result.workload);
    let json = serde_json::to_string_pretty(result)? + "\n";
    let svg = crate::plot::pareto_svg(&result.title, &points)?;
    Ok(crate::output::write_all_or_nothing(
        dir,
        &[
            ("sweep.csv", csv),
            ("sweep.json", json),
            ("pareto.svg", svg),
        ],
    )?)
}
