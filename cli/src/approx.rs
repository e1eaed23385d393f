//! `heaccel approx sign`: composite minimax approximations of `sign(x)` (degrees, stage
//! coefficients, measured errors, depth).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use heaccel_verification::minimax::{alpha_degrees, CompositeSign};
use serde::Serialize;

/// `heaccel approx ...`.
#[derive(Debug, Subcommand)]
pub enum ApproxCommand {
    /// A composite minimax approximation of sign(x) on [-1, -eps] ∪ [eps, 1].
    Sign(SignArgs),
}

/// Arguments of `heaccel approx sign`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["alpha", "degrees"])))]
pub struct SignArgs {
    /// Precision alpha (4..=14): the degree table of Lee et al., error <= 2^-alpha on the
    /// default interval [2^-k(alpha), 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(4..=14))]
    pub alpha: Option<u32>,
    /// Your own stage degrees (odd, 1..=255, innermost first), e.g. 7,15,27.
    #[arg(long, value_delimiter = ',', value_name = "D1,D2,...")]
    pub degrees: Option<Vec<usize>>,
    /// Lower end of the target interval [eps, 1] (0 < eps < 1; default: the alpha's interval,
    /// 2^-8 for --degrees).
    #[arg(long)]
    pub eps: Option<f64>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The report of `heaccel approx sign` (its JSON form).
#[derive(Debug, Serialize)]
pub struct SignReport {
    /// The precision asked for, if any.
    pub alpha: Option<u32>,
    /// Stage degrees, innermost first.
    pub degrees: Vec<usize>,
    /// Lower end of the target interval.
    pub eps: f64,
    /// Power-basis coefficients of each stage: `stages[i][k]` multiplies `y^k` (`y` the
    /// stage's input; even `k` are zero).
    pub stages: Vec<Vec<f64>>,
    /// Each stage's interval `[a, b]` and minimax error.
    pub stage_intervals: Vec<[f64; 2]>,
    /// Each stage's minimax error.
    pub stage_errors: Vec<f64>,
    /// `max |p(x) - sign(x)|` over `[eps, 1]` (the last stage's minimax error).
    pub target_error: f64,
    /// `-log2(target_error)`.
    pub precision_bits: f64,
    /// Measured (sampled) `max |p(x) - 1|` over `[2^-k, 1]`, keyed by `k` (8..=12).
    pub max_error: BTreeMap<u32, f64>,
    /// Multiplicative depth at minimal-depth evaluation (`sum ceil(log2(d + 1))`).
    pub depth: u32,
}

/// Builds the composite and measures it.
pub fn sign_report(args: &SignArgs) -> Result<SignReport> {
    if let Some(eps) = args.eps {
        if !(eps.is_finite() && 0.0 < eps && eps < 1.0) {
            bail!("--eps {eps}: expected a number in (0, 1)");
        }
    }
    // CompositeSign checks the degrees (odd, 1..=255) and names the offending one.
    let composite = match (&args.degrees, args.alpha) {
        (Some(degrees), _) => CompositeSign::new(degrees, args.eps.unwrap_or(2f64.powi(-8)))
            .context("--degrees: building the composite approximation"),
        (None, Some(alpha)) => CompositeSign::for_alpha(alpha, args.eps)
            .context("--alpha: building the composite approximation"),
        (None, None) => bail!("give --alpha or --degrees"),
    }?;
    if let (Some(alpha), Some(degrees)) = (args.alpha, &args.degrees) {
        if alpha_degrees(alpha).is_some_and(|table| table != degrees.as_slice()) {
            eprintln!(
                "note: --degrees {degrees:?} used; the table's degrees for alpha {alpha} are {:?}",
                alpha_degrees(alpha).unwrap_or_default()
            );
        }
    }
    let max_error = (8..=12)
        .map(|k: u32| (k, composite.sampled_max_error(2f64.powi(-(k as i32)), 2000)))
        .collect();
    let stages = composite.stages();
    Ok(SignReport {
        alpha: args.alpha,
        degrees: composite.degrees(),
        eps: composite.eps(),
        stages: stages.iter().map(|s| s.power_coefficients()).collect(),
        stage_intervals: stages
            .iter()
            .map(|s| {
                let (a, b) = s.interval();
                [a, b]
            })
            .collect(),
        stage_errors: stages.iter().map(|s| s.max_error()).collect(),
        target_error: composite.max_error(),
        precision_bits: -composite.max_error().log2(),
        max_error,
        depth: composite.depth(),
    })
}

/// The report as a readable table.
pub fn format_sign_report(r: &SignReport) -> String {
    let mut s = String::new();
    let alpha = r.alpha.map_or("-".to_string(), |a| a.to_string());
    let _ = writeln!(
        s,
        "composite sign approximation  alpha {alpha}  degrees {:?}  depth {}",
        r.degrees, r.depth
    );
    let _ = writeln!(
        s,
        "target [{:e}, 1]: max error {:.3e} ({:.2} bits)",
        r.eps, r.target_error, r.precision_bits
    );
    for (i, ((coeffs, [a, b]), e)) in r
        .stages
        .iter()
        .zip(&r.stage_intervals)
        .zip(&r.stage_errors)
        .enumerate()
    {
        let _ = writeln!(
            s,
            "stage {} (degree {}) on [{a:.6e}, {b:.6e}], minimax error {e:.6e}",
            i + 1,
            coeffs.len() - 1
        );
        for (k, c) in coeffs.iter().enumerate().filter(|(k, _)| k % 2 == 1) {
            let _ = writeln!(s, "    x^{k:<3} {c:+.17e}");
        }
    }
    let _ = writeln!(s, "measured max |p(x) - 1| over [2^-k, 1]:");
    for (k, e) in &r.max_error {
        let _ = writeln!(s, "    k = {k:>2}  {e:.3e}");
    }
    s
}
