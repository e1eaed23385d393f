//! Composite minimax approximations of `sign(x)` (Lee, Lee, Kim, No): `p_k ∘ ... ∘ p_1`, each
//! `p_i` the odd minimax polynomial for the output range of the stages before it.
//!
//! Stage 1 approximates `sign` on `[-1, -eps] ∪ [eps, 1]`; its outputs on `[eps, 1]` fill
//! `[1 - e_1, 1 + e_1]` (`e_1` its minimax error), so stage 2 is the minimax polynomial on
//! `[1 - e_1, 1 + e_1]`, and so on. The composite's error on `[eps, 1]` is the last stage's
//! `e_k`, exactly; each stage's interval is computed in extended precision.

use super::real::{real, real_int, to_f64};
use super::remez::OddMinimax;
use crate::{Error, Result};

/// Degrees of the component polynomials per precision `alpha` (the table of Lee et al.,
/// `alpha` 4..=14).
pub const ALPHA_DEGREES: [(u32, &[usize]); 11] = [
    (4, &[5]),
    (5, &[13]),
    (6, &[3, 7]),
    (7, &[7, 7]),
    (8, &[7, 15]),
    (9, &[15, 15]),
    (10, &[7, 7, 13]),
    (11, &[7, 7, 27]),
    (12, &[7, 15, 27]),
    (13, &[15, 15, 27]),
    (14, &[15, 27, 29]),
];

/// For each `alpha` of [`ALPHA_DEGREES`], the `k` of the target interval `[2^-k, 1]`: the
/// largest `k` for which the table's degrees reach error `2^-alpha` on `[2^-k, 1]`
/// (computed by this module; a test checks `k` reaches `2^-alpha` and `k + 1` does not).
pub const ALPHA_LOG2_INV_EPS: [(u32, u32); 11] = [
    (4, 1),
    (5, 2),
    (6, 2),
    (7, 3),
    (8, 4),
    (9, 5),
    (10, 6),
    (11, 7),
    (12, 8),
    (13, 9),
    (14, 9),
];

/// The degree list for precision `alpha` (4..=14), if the table has it.
pub fn alpha_degrees(alpha: u32) -> Option<&'static [usize]> {
    ALPHA_DEGREES
        .iter()
        .find(|(a, _)| *a == alpha)
        .map(|(_, d)| *d)
}

/// The default `eps = 2^-k` of precision `alpha` (see [`ALPHA_LOG2_INV_EPS`]).
pub fn alpha_default_eps(alpha: u32) -> Option<f64> {
    ALPHA_LOG2_INV_EPS
        .iter()
        .find(|(a, _)| *a == alpha)
        .map(|(_, k)| 2f64.powi(-(*k as i32)))
}

/// Multiplicative depth of an odd polynomial of degree `d` evaluated at minimal depth:
/// `ceil(log2(d + 1))`.
pub fn odd_polynomial_depth(degree: usize) -> u32 {
    (degree + 1).next_power_of_two().trailing_zeros()
}

/// A composite approximation of `sign(x)` on `[-1, -eps] ∪ [eps, 1]`.
#[derive(Clone, Debug)]
pub struct CompositeSign {
    eps: f64,
    stages: Vec<OddMinimax>,
}

impl CompositeSign {
    /// Builds the stages for `degrees` (each odd, in `1..=255`, at most 16 stages) and `eps`
    /// in `(0, 1)`. Fails when a stage cannot separate its interval (its error reaches 1).
    pub fn new(degrees: &[usize], eps: f64) -> Result<Self> {
        if degrees.is_empty() || degrees.len() > 16 {
            return Err(Error::InvalidParameter {
                field: "degrees".into(),
                reason: format!("{} stages; expected 1 to 16", degrees.len()),
            });
        }
        if !(eps.is_finite() && 0.0 < eps && eps < 1.0) {
            return Err(Error::InvalidParameter {
                field: "eps".into(),
                reason: format!("{eps} is outside (0, 1)"),
            });
        }
        let mut stages = Vec::with_capacity(degrees.len());
        let (mut a, mut b) = (real(eps), real_int(1));
        for (i, &d) in degrees.iter().enumerate() {
            let stage = OddMinimax::solve(d, a.clone(), b.clone()).map_err(|e| match e {
                Error::InvalidParameter { reason, .. } => Error::InvalidParameter {
                    field: format!("degrees[{i}]"),
                    reason,
                },
                other => other,
            })?;
            let e = stage.max_error_exact().clone();
            if e >= real_int(1) {
                return Err(Error::InvalidParameter {
                    field: format!("degrees[{i}]"),
                    reason: format!(
                        "degree {d} cannot separate [{}, {}] from its negative (minimax error {} >= 1)",
                        to_f64(&a),
                        to_f64(&b),
                        to_f64(&e)
                    ),
                });
            }
            a = real_int(1) - &e;
            b = real_int(1) + &e;
            stages.push(stage);
        }
        Ok(CompositeSign { eps, stages })
    }

    /// The table's composite for precision `alpha` (4..=14) on its default interval, or with
    /// `eps` when given.
    pub fn for_alpha(alpha: u32, eps: Option<f64>) -> Result<Self> {
        let degrees = alpha_degrees(alpha).ok_or_else(|| Error::InvalidParameter {
            field: "alpha".into(),
            reason: format!("{alpha} is outside the degree table's 4..=14"),
        })?;
        let eps = eps.unwrap_or_else(|| alpha_default_eps(alpha).expect("same table range"));
        Self::new(degrees, eps)
    }

    /// The `eps` of the target set `[-1, -eps] ∪ [eps, 1]`.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// The stages, innermost (applied first) first.
    pub fn stages(&self) -> &[OddMinimax] {
        &self.stages
    }

    /// The stage degrees.
    pub fn degrees(&self) -> Vec<usize> {
        self.stages.iter().map(OddMinimax::degree).collect()
    }

    /// `max |p(x) - sign(x)|` over `[-1, -eps] ∪ [eps, 1]`: the last stage's minimax error.
    pub fn max_error(&self) -> f64 {
        self.stages.last().expect("at least one stage").max_error()
    }

    /// The upper end `b_k` of stage `k`'s interval (`1` for the first stage, `1 + e_{k-1}`
    /// after): stage `k` is a Chebyshev series in `y / b_k`.
    pub fn stage_bound(&self, k: usize) -> f64 {
        to_f64(self.stages[k].upper_exact())
    }

    /// Multiplicative depth at minimal-depth evaluation: `sum ceil(log2(d_i + 1))`.
    pub fn depth(&self) -> u32 {
        self.stages
            .iter()
            .map(|s| odd_polynomial_depth(s.degree()))
            .sum()
    }

    /// `p(x)` in `f64`, for `x` in `[-1, 1]`.
    pub fn eval(&self, x: f64) -> f64 {
        self.stages.iter().fold(x, |y, s| s.eval(y))
    }

    /// `p(x)` in extended precision (for the tests' error bounds).
    pub(crate) fn eval_exact(&self, x: f64) -> f64 {
        let mut y = real(x);
        for s in &self.stages {
            y = s.eval_exact(&y);
        }
        to_f64(&y)
    }

    /// `max |p(x) - 1|` over `[lo, 1]` (`0 < lo < 1`) sampled at `samples` points spaced
    /// geometrically near `lo` and uniformly near 1, plus both ends and every stage's
    /// extrema pulled back where they fall inside; evaluated in extended precision.
    pub fn sampled_max_error(&self, lo: f64, samples: usize) -> f64 {
        let samples = samples.max(2);
        let half = samples / 2;
        let ratio = (1.0 / lo).ln();
        let geometric = (0..=half).map(|i| lo * (ratio * i as f64 / half as f64).exp());
        let uniform = (0..=half).map(|i| lo + (1.0 - lo) * i as f64 / half as f64);
        let first_stage_extrema = self.stages[0]
            .extrema()
            .into_iter()
            .map(|(x, _)| x)
            .filter(|&x| x >= lo && x <= 1.0);
        geometric
            .chain(uniform)
            .chain(first_stage_extrema)
            .map(|x| (self.eval_exact(x) - 1.0).abs())
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_the_sum_of_ceil_log2() {
        assert_eq!(odd_polynomial_depth(1), 1);
        assert_eq!(odd_polynomial_depth(3), 2);
        assert_eq!(odd_polynomial_depth(7), 3);
        assert_eq!(odd_polynomial_depth(15), 4);
        assert_eq!(odd_polynomial_depth(27), 5);
        assert_eq!(odd_polynomial_depth(29), 5);
        assert_eq!(odd_polynomial_depth(31), 5);
        assert_eq!(odd_polynomial_depth(33), 6);
    }

    #[test]
    fn bad_degree_lists_are_refused_by_index() {
        let err = CompositeSign::new(&[7, 8], 0.1).unwrap_err().to_string();
        assert!(err.contains("degrees[1]"), "{err}");
        assert!(CompositeSign::new(&[], 0.1).is_err());
        assert!(CompositeSign::new(&[7], 1.0).is_err());
        assert!(CompositeSign::for_alpha(15, None).is_err());
    }
}
