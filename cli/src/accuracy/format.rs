//! The human-readable report of `heaccel accuracy`.

use std::fmt::Write as _;

use super::AccuracyRun;

/// The human-readable report.
pub fn format_accuracy(run: &AccuracyRun) -> String {
    let mut s = String::new();
    if let Some(shard) = &run.shard {
        let _ = writeln!(
            s,
            "shard {} of a run of {} images{}: {} (figures below: this shard's images)",
            shard.shard,
            shard.items,
            if shard.skipped { ", done earlier" } else { "" },
            shard.partial.display()
        );
    }
    let _ = writeln!(
        s,
        "{} on {} ({}, {} images), ReLU {}",
        run.model,
        run.data.display(),
        run.format,
        run.total,
        run.activation
    );
    let _ = writeln!(
        s,
        "top-1: {} / {} = {:.2} %",
        run.correct,
        run.total,
        100.0 * run.top1
    );
    if let (Some(m), Some(c)) = (&run.report.minimax, &run.calibration) {
        let _ = writeln!(
            s,
            "minimax: alpha {} (degrees {:?}, depth {}), sign error {:.2e} on [2^{}, 1]; bounds B \
             from {} images of {} (margin {})",
            m.alpha,
            m.degrees,
            m.relu_depth,
            m.sign_error,
            m.log2_eps,
            c.images,
            c.data.display(),
            c.margin
        );
        let share = |n: u64| 100.0 * n as f64 / run.relu_values.max(1) as f64;
        let _ = writeln!(
            s,
            "ReLU inputs: {} outside [-B, B] ({:.4} %), {} with |x|/B < eps ({:.2} %)",
            run.outside_bound,
            share(run.outside_bound),
            run.below_eps,
            share(run.below_eps)
        );
    }
    if run.report.non_finite > 0 {
        let _ = writeln!(
            s,
            "{} images had non-finite logits (counted wrong)",
            run.report.non_finite
        );
    }
    let _ = writeln!(s, "per class:");
    for c in &run.report.per_class {
        let _ = writeln!(
            s,
            "  {:<12} {:>5} / {:<5} {:6.2} %",
            c.class,
            c.correct,
            c.total,
            100.0 * c.correct as f64 / c.total.max(1) as f64
        );
    }
    let _ = writeln!(
        s,
        "{:.1} s, {:.0} images/s on {} threads ({})",
        run.seconds, run.images_per_second, run.threads, run.cpu
    );
    s
}
