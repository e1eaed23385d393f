//! Counting: the report's rows in execution order and their sums, and the operation tallies of
//! the minimax circuits (ReLU, max-pooling) that the walk counts per ciphertext.

use heaccel_verification::circuits::{CircuitCounts, MinimaxActivation};

use super::program::{merge_tallies, OpCounts, OpTally, TallyKind};
use super::report::{LayerReport, NetworkReport};
use super::Strategy;
use crate::nn::Network;

/// The rows of a [`NetworkReport`] being counted, in execution order (a residual block's row
/// after its branches' rows).
#[derive(Debug, Default)]
pub(super) struct Counter {
    rows: Vec<LayerReport>,
}

impl Counter {
    /// Appends the row of the layer just walked.
    pub(super) fn push(&mut self, row: LayerReport) {
        self.rows.push(row);
    }

    /// The report of `network` under `strategy` at `slots` slots: the rows and their sums,
    /// with `depth` (the network's multiplicative depth, residual branches in parallel) as the
    /// total's depth.
    pub(super) fn into_report(
        self,
        network: &Network,
        strategy: &Strategy,
        slots: usize,
        depth: usize,
    ) -> NetworkReport {
        let mut total = self
            .rows
            .iter()
            .fold(OpCounts::default(), |acc, r| acc.beside(&r.counts));
        total.depth = depth;
        NetworkReport {
            network: network.name.clone(),
            strategy: *strategy,
            slots,
            layers: self.rows,
            total,
        }
    }
}

/// The tallies of `per_ct` copies of a circuit with `counts` spread over `depth` levels from
/// `offset` (each kind's count evenly, the remainder on the first levels).
fn spread(counts: &CircuitCounts, depth: usize, offset: usize, per_ct: usize) -> Vec<OpTally> {
    let depth = depth.max(1);
    let kinds = [
        (TallyKind::MulRelin, counts.ct_mults),
        (TallyKind::MulConst, counts.const_mults),
        (TallyKind::Add, counts.additions),
        (TallyKind::AddConst, counts.const_additions),
        (TallyKind::Rescale, counts.rescales),
        (TallyKind::Rotations { count: 1 }, counts.rotations),
    ];
    let mut out = Vec::new();
    for (kind, n) in kinds {
        for level in 0..depth {
            let c = n / depth + usize::from(level < n % depth);
            out.push(OpTally {
                kind,
                depth: offset + level,
                count: c * per_ct,
            });
        }
    }
    out
}

/// Pack counts of `per_ct` copies of a circuit.
fn circuit_counts(c: &CircuitCounts, per_ct: usize) -> OpCounts {
    OpCounts {
        rotations: c.rotations * per_ct,
        hoisted_rotations: 0,
        decompositions: (c.rotations + c.ct_mults) * per_ct,
        key_switches: (c.rotations + c.ct_mults) * per_ct,
        pmults: 0,
        hmults: c.ct_mults * per_ct,
        adds: c.additions * per_ct,
        plain_adds: c.const_additions * per_ct,
        const_mults: c.const_mults * per_ct,
        rescales: c.rescales * per_ct,
        depth: c.depth as usize,
    }
}

/// Counts, profile and depth of a `k x k` max-pooling of `cts` ciphertexts (see the module
/// docs of [`super::report`]).
pub(super) fn max_pool_plan(
    act: &MinimaxActivation,
    k: usize,
    cts: usize,
) -> (OpCounts, Vec<OpTally>) {
    let md = act.max_depth() as usize;
    let mc = act.max_counts();
    let mut counts = OpCounts::default();
    let mut profile = Vec::new();
    let mut at = 0;
    for _pass in 0..2 {
        let rot = if k == 2 {
            TallyKind::Rotations { count: 1 }
        } else {
            TallyKind::Rotations { count: 2 }
        };
        profile.push(OpTally {
            kind: rot,
            depth: at,
            count: cts,
        });
        counts.rotations += (k - 1) * cts;
        counts.key_switches += (k - 1) * cts;
        counts.decompositions += cts;
        if k == 3 {
            counts.hoisted_rotations += 2 * cts;
        }
        for m in 0..k - 1 {
            profile.extend(spread(&mc, md, at, cts));
            counts = counts.then(&circuit_counts(&mc, cts));
            if m == 1 {
                // the second rotation is aligned down to the first max's output
                for kind in [TallyKind::MulConst, TallyKind::Rescale] {
                    profile.push(OpTally {
                        kind,
                        depth: at - 1,
                        count: cts,
                    });
                }
                counts.const_mults += cts;
                counts.rescales += cts;
            }
            at += md;
        }
    }
    counts.depth = at;
    (counts, merge_tallies(profile))
}

/// Counts and profile of a minimax ReLU of `cts` ciphertexts: its `relu_counts()` per
/// ciphertext over `relu_depth()` levels (see the module docs of [`super::report`]).
pub(super) fn relu_plan(act: &MinimaxActivation, cts: usize) -> (OpCounts, Vec<OpTally>) {
    let rc = act.relu_counts();
    let profile = merge_tallies(spread(&rc, act.relu_depth() as usize, 0, cts));
    let mut counts = circuit_counts(&rc, cts);
    counts.depth = act.relu_depth() as usize;
    (counts, profile)
}
