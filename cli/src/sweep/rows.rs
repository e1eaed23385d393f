//! The grid's points: the cost proxy, simulating points on worker threads into
//! [`SweepRow`]s, and marking the Pareto front.

use anyhow::{Context, Result};
use heaccel_sim::HwConfig;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Grid;

/// Modular-multiplier lanes of a configuration: NTT butterflies, element-wise and
/// basis-conversion lanes.
pub fn multiplier_lanes(config: &HwConfig) -> u64 {
    config.ntt.units as u64 * config.ntt.butterflies_per_unit as u64
        + config.modmul.lanes as u64
        + config.bconv.lanes as u64
}

/// What a grid point's simulation reports.
#[derive(Clone, Debug)]
pub struct Point {
    /// Simulated latency, microseconds.
    pub time_us: f64,
    /// The busiest unit (`--op` sweeps).
    pub bound: Option<String>,
    /// The parameter set chosen (`--model` sweeps), e.g. `N=2^14 L=7 dnum=2`.
    pub params: Option<String>,
}

/// One simulated grid point.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepRow {
    /// Point index in the grid.
    pub index: usize,
    /// The axis values, as written in the grid file.
    pub values: Vec<String>,
    /// Simulated latency; `None` when the point cannot run the workload (see `infeasible`).
    pub time_us: Option<f64>,
    /// The busiest unit (`--op` sweeps); `None` for `--model` sweeps and infeasible points.
    pub bound: Option<String>,
    /// The parameter set chosen (`--model` sweeps); `None` otherwise.
    pub params: Option<String>,
    /// Why the simulator refused the point (e.g. the working set exceeds the scratchpad).
    pub infeasible: Option<String>,
    /// [`multiplier_lanes`] times the word size in bits.
    pub cost_lane_bits: u64,
    /// Whether the point is on the Pareto front (no other point is both cheaper or equal and
    /// faster or equal, with one strictly).
    pub pareto: bool,
}

/// Simulates the points `indices` (ascending) of `grid` with `evaluate` on `jobs` threads (0:
/// all cores); `configs` are [`Grid::configs`]. Rows come back in `indices` order, Pareto
/// unmarked.
pub fn run_points(
    grid: &Grid,
    configs: &[HwConfig],
    indices: &[usize],
    jobs: usize,
    progress: &indicatif::ProgressBar,
    evaluate: impl Fn(&HwConfig) -> Result<Point> + Sync,
) -> Result<Vec<SweepRow>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("starting the worker threads")?;
    progress.set_length(indices.len() as u64);
    let rows: Vec<SweepRow> = pool.install(|| {
        indices
            .par_iter()
            .map(|&index| {
                let config = &configs[index];
                let result = evaluate(config);
                progress.inc(1);
                let (time_us, bound, params, infeasible) = match result {
                    Ok(p) => (Some(p.time_us), p.bound, p.params, None),
                    Err(e) => (None, None, None, Some(format!("{e:#}"))),
                };
                SweepRow {
                    index,
                    values: grid.point(index).iter().map(|v| v.to_string()).collect(),
                    time_us,
                    bound,
                    params,
                    infeasible,
                    cost_lane_bits: multiplier_lanes(config) * config.word_bits as u64,
                    pareto: false,
                }
            })
            .collect()
    });
    progress.finish_and_clear();
    Ok(rows)
}

/// Marks the feasible rows no other row dominates (cost and time both no worse, one better).
pub fn mark_pareto(rows: &mut [SweepRow]) {
    let mut order: Vec<(usize, f64)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.time_us.map(|t| (i, t)))
        .collect();
    order.sort_by(|&(a, ta), &(b, tb)| {
        rows[a]
            .cost_lane_bits
            .cmp(&rows[b].cost_lane_bits)
            .then(ta.total_cmp(&tb))
    });
    let mut best = f64::INFINITY;
    for (i, t) in order {
        if t < best {
            rows[i].pareto = true;
            best = t;
        }
    }
}
