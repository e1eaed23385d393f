//! The Remez exchange algorithm for odd minimax approximations of `sign(x)`.
//!
//! On `[-b, -a] ∪ [a, b]` (`0 < a < b`) an odd polynomial `p` approximates `sign` exactly as
//! well as it approximates the constant 1 on `[a, b]`, so the algorithm works on `[a, b]` alone.
//! `p` is kept in the Chebyshev basis of the scaled variable `t = x / b`,
//! `p(x) = sum_i c_i T_{2i+1}(x / b)`, which stays well conditioned for every interval; all
//! arithmetic (the linear solves, the error evaluations, the exchange) is done in
//! 256-bit floats (`Real`, dashu), so that late composite stages on intervals like `[1 - 2^-60,
//! 1 + 2^-60]` are solved as exactly as early ones.

use super::real::{abs, real, real_int, to_f64, Real};
use crate::{Error, Result};

/// Largest degree accepted (the composite constructions use up to ~63).
pub const MAX_DEGREE: usize = 255;

/// Iteration cap of the exchange loop; convergence takes 5 to 25 iterations in practice.
const MAX_ITERATIONS: usize = 80;

/// Converged when `(max |e| - |E|) / max |e|` falls below this.
const CONVERGENCE: f64 = 1e-13;

/// Grid points per unknown when scanning the error for its extrema.
const GRID_PER_UNKNOWN: usize = 48;

/// Golden-section steps refining each extremum (the bracket shrinks by `0.618^60`).
const REFINE_STEPS: usize = 60;

/// The odd minimax polynomial of a given degree for `sign(x)` on `[-b, -a] ∪ [a, b]`.
#[derive(Clone, Debug)]
pub struct OddMinimax {
    degree: usize,
    a: Real,
    /// The polynomial in extended precision (Chebyshev coefficients of `T_1, T_3, ...` in
    /// `t = x / b`, and `b`).
    poly: Candidate,
    /// The same coefficients rounded, `c_0..=c_degree` (even indices zero), for `f64` use.
    coefficients_f64: Vec<f64>,
    /// `b` rounded.
    b_f64: f64,
    /// The final reference's levelled error `|E|`.
    levelled_error: Real,
    /// `max |p(x) - 1|` over `[a, b]` (at the located extrema, which include both ends).
    max_error: Real,
    /// The final `degree/2 + 2` alternating extrema `(x, p(x) - 1)`, ascending in `x`.
    extrema: Vec<(Real, Real)>,
    iterations: usize,
}

impl OddMinimax {
    /// Runs the Remez exchange for degree `degree` (odd, `1..=255`) on `[a, b]`
    /// (`0 < a < b`, finite). Fails if the input is out of range or the exchange does not
    /// converge.
    pub fn new(degree: usize, a: f64, b: f64) -> Result<Self> {
        if !(a.is_finite() && b.is_finite() && 0.0 < a && a < b) {
            return Err(Error::InvalidParameter {
                field: "interval".into(),
                reason: format!("[{a}, {b}] must satisfy 0 < a < b, both finite"),
            });
        }
        Self::solve(degree, real(a), real(b))
    }

    /// As [`OddMinimax::new`] with the interval ends given exactly.
    pub(crate) fn solve(degree: usize, a: Real, b: Real) -> Result<Self> {
        if degree.is_multiple_of(2) || degree > MAX_DEGREE {
            return Err(Error::InvalidParameter {
                field: "degree".into(),
                reason: format!("{degree} is not an odd number in [1, {MAX_DEGREE}]"),
            });
        }
        let n = degree.div_ceil(2);
        let grid = Grid::new(&a, &b, n);
        // First reference: the grid's Chebyshev-like distribution at n + 1 points.
        let mut reference: Vec<Real> = (0..=n)
            .map(|j| {
                let theta = std::f64::consts::PI * j as f64 / n as f64;
                grid.point(grid.u_of_theta(theta))
            })
            .collect();
        let mut last = None;
        for iteration in 1..=MAX_ITERATIONS {
            let (coefficients, levelled) = solve_reference(&reference, &b, n)?;
            let candidate = Candidate {
                coefficients,
                b: b.clone(),
            };
            let extrema = candidate.alternating_extrema(&grid, n + 1)?;
            let max_error = extrema
                .iter()
                .map(|(_, e)| abs(e))
                .fold(Real::ZERO, |m, e| if e > m { e } else { m });
            let levelled = abs(&levelled);
            let gap = to_f64(&((&max_error - &levelled) / &max_error));
            reference = extrema.iter().map(|(x, _)| x.clone()).collect();
            let done = gap.abs() < CONVERGENCE;
            let mut coefficients_f64 = vec![0.0; degree + 1];
            for (i, c) in candidate.coefficients.iter().enumerate() {
                coefficients_f64[2 * i + 1] = to_f64(c);
            }
            last = Some(OddMinimax {
                degree,
                a: a.clone(),
                poly: candidate,
                coefficients_f64,
                b_f64: to_f64(&b),
                levelled_error: levelled,
                max_error,
                extrema,
                iterations: iteration,
            });
            if done {
                return Ok(last.expect("just set"));
            }
        }
        let last = last.expect("at least one iteration");
        Err(Error::out_of_range(
            format!(
                "Remez exchange for degree {degree} on [{}, {}]: levelled error, max error after \
                 {MAX_ITERATIONS} iterations",
                to_f64(&last.a),
                last.b_f64,
            ),
            format_args!(
                "{:e}, {:e}",
                to_f64(&last.levelled_error),
                to_f64(&last.max_error)
            ),
            "converged (equal up to the tolerance)",
        ))
    }

    /// The degree (odd).
    pub fn degree(&self) -> usize {
        self.degree
    }

    /// The interval `[a, b]` (nearest `f64`s).
    pub fn interval(&self) -> (f64, f64) {
        (to_f64(&self.a), self.b_f64)
    }

    /// `max |p(x) - sign(x)|` over `[-b, -a] ∪ [a, b]`.
    pub fn max_error(&self) -> f64 {
        to_f64(&self.max_error)
    }

    pub(crate) fn max_error_exact(&self) -> &Real {
        &self.max_error
    }

    pub(crate) fn upper_exact(&self) -> &Real {
        &self.poly.b
    }

    /// Exchange iterations it took.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// The alternating extrema `(x, p(x) - 1)` of the error on `[a, b]`, ascending in `x`:
    /// `degree/2 + 2` of them, the certificate of optimality.
    pub fn extrema(&self) -> Vec<(f64, f64)> {
        self.extrema
            .iter()
            .map(|(x, e)| (to_f64(x), to_f64(e)))
            .collect()
    }

    /// Relative spread `(max |e_j| - min |e_j|) / max |e_j|` of the error at the extrema, and
    /// whether their signs alternate. Chebyshev's equioscillation theorem: `p` is the minimax
    /// polynomial iff the signs alternate at `degree/2 + 2` points with equal `|e_j|`.
    pub fn equioscillation(&self) -> (f64, bool) {
        let mags: Vec<Real> = self.extrema.iter().map(|(_, e)| abs(e)).collect();
        let max = mags
            .iter()
            .fold(Real::ZERO, |m, e| if *e > m { e.clone() } else { m });
        let min = mags
            .iter()
            .fold(max.clone(), |m, e| if *e < m { e.clone() } else { m });
        let alternates = self
            .extrema
            .windows(2)
            .all(|w| (w[0].1 < Real::ZERO) != (w[1].1 < Real::ZERO));
        (to_f64(&((&max - &min) / &max)), alternates)
    }

    /// Chebyshev coefficients `c_0..=c_degree` of `p(x) = sum_k c_k T_k(x / b)` (even indices
    /// are zero).
    pub fn chebyshev_coefficients(&self) -> &[f64] {
        &self.coefficients_f64
    }

    /// Power-basis coefficients `a_0..=a_degree` of `p(x) = sum_k a_k x^k` (even indices are
    /// zero), converted in extended precision, then rounded.
    pub fn power_coefficients(&self) -> Vec<f64> {
        // T_k(t) in powers of t by the three-term recurrence, then t = x / b.
        let d = self.degree;
        let mut out = vec![real_int(0); d + 1];
        let mut t_prev = vec![real_int(0); d + 1];
        let mut t_cur = vec![real_int(0); d + 1];
        t_prev[0] = real_int(1); // T_0
        t_cur[1] = real_int(1); // T_1
        let two = real_int(2);
        for k in 1..=d {
            if k % 2 == 1 {
                let c = &self.poly.coefficients[k / 2];
                for (o, t) in out.iter_mut().zip(&t_cur) {
                    *o = &*o + c * t;
                }
            }
            // T_{k+1} = 2 t T_k - T_{k-1}
            let mut next = vec![real_int(0); d + 1];
            for j in 0..d {
                next[j + 1] = &two * &t_cur[j];
            }
            for j in 0..=d {
                next[j] = &next[j] - &t_prev[j];
            }
            t_prev = std::mem::replace(&mut t_cur, next);
        }
        let mut scale = real_int(1);
        out.iter()
            .map(|a| {
                let v = to_f64(&(a / &scale));
                scale = &scale * &self.poly.b;
                v
            })
            .collect()
    }

    /// `p(x)` in `f64` (Clenshaw's recurrence on the Chebyshev coefficients); `p` is odd, any
    /// finite `x` is accepted (meaningful on `[-b, b]`).
    pub fn eval(&self, x: f64) -> f64 {
        clenshaw_f64(&self.coefficients_f64, x / self.b_f64)
    }

    pub(crate) fn eval_exact(&self, x: &Real) -> Real {
        self.poly.eval(x)
    }
}

/// `sum_k c_k T_k(t)` for a full coefficient vector, by Clenshaw's recurrence.
pub fn clenshaw_f64(coefficients: &[f64], t: f64) -> f64 {
    let (mut b1, mut b2) = (0.0, 0.0);
    for &c in coefficients.iter().skip(1).rev() {
        let b0 = c + 2.0 * t * b1 - b2;
        b2 = b1;
        b1 = b0;
    }
    coefficients.first().copied().unwrap_or(0.0) + t * b1 - b2
}

/// A trial polynomial of one exchange step (and the final one).
#[derive(Clone, Debug)]
struct Candidate {
    coefficients: Vec<Real>,
    b: Real,
}

impl Candidate {
    /// `p(x)` by Clenshaw's recurrence over `T_0..T_{2n-1}` (even coefficients zero).
    fn eval(&self, x: &Real) -> Real {
        let t = x / &self.b;
        let two_t = &t + &t;
        let mut b1 = real_int(0);
        let mut b2 = real_int(0);
        let top = 2 * self.coefficients.len() - 1;
        for k in (1..=top).rev() {
            let mut b0 = &two_t * &b1 - &b2;
            if k % 2 == 1 {
                b0 = &b0 + &self.coefficients[k / 2];
            }
            b2 = std::mem::replace(&mut b1, b0);
        }
        &t * &b1 - &b2
    }

    fn error(&self, x: &Real) -> Real {
        self.eval(x) - real_int(1)
    }

    /// `count` alternating extrema of `p - 1` on the grid's interval, ascending, keeping the
    /// largest one.
    fn alternating_extrema(&self, grid: &Grid, count: usize) -> Result<Vec<(Real, Real)>> {
        let m = grid.len();
        let points: Vec<Real> = (0..m).map(|i| grid.point(grid.u(i))).collect();
        let errors: Vec<Real> = points.iter().map(|x| self.error(x)).collect();
        let mut candidates: Vec<(Real, Real)> = Vec::new();
        for i in 0..m {
            let here = abs(&errors[i]);
            let left = (i > 0).then(|| abs(&errors[i - 1]));
            let right = (i + 1 < m).then(|| abs(&errors[i + 1]));
            let is_peak = left.as_ref().is_none_or(|l| here >= *l)
                && right.as_ref().is_none_or(|r| here >= *r);
            if !is_peak {
                continue;
            }
            if i == 0 || i + 1 == m {
                candidates.push((points[i].clone(), errors[i].clone()));
            } else {
                candidates.push(self.refine(grid, i, errors[i] > Real::ZERO));
            }
        }
        // Merge runs of one sign, keeping the largest magnitude.
        let mut merged: Vec<(Real, Real)> = Vec::new();
        for (x, e) in candidates {
            match merged.last_mut() {
                Some(last) if (last.1 < Real::ZERO) == (e < Real::ZERO) => {
                    if abs(&e) > abs(&last.1) {
                        *last = (x, e);
                    }
                }
                _ => merged.push((x, e)),
            }
        }
        // Drop the smaller end until `count` remain: alternation and the largest survive.
        while merged.len() > count {
            let first = abs(&merged[0].1);
            let last = abs(&merged[merged.len() - 1].1);
            if first < last {
                merged.remove(0);
            } else {
                merged.pop();
            }
        }
        if merged.len() < count {
            return Err(Error::out_of_range(
                "Remez exchange: alternating extrema found",
                merged.len(),
                format!(">= {count}"),
            ));
        }
        Ok(merged)
    }

    /// Golden-section search for the extremum bracketed by grid points `i - 1` and `i + 1`.
    fn refine(&self, grid: &Grid, i: usize, positive: bool) -> (Real, Real) {
        let score = |u: f64| {
            let x = grid.point(u);
            let e = self.error(&x);
            let s = if positive { e.clone() } else { -e.clone() };
            (x, e, s)
        };
        const INV_PHI: f64 = 0.618_033_988_749_894_9;
        let (mut lo, mut hi) = (grid.u(i - 1), grid.u(i + 1));
        let mut u1 = hi - INV_PHI * (hi - lo);
        let mut u2 = lo + INV_PHI * (hi - lo);
        let mut f1 = score(u1);
        let mut f2 = score(u2);
        for _ in 0..REFINE_STEPS {
            if f1.2 >= f2.2 {
                hi = u2;
                u2 = u1;
                f2 = f1;
                u1 = hi - INV_PHI * (hi - lo);
                f1 = score(u1);
            } else {
                lo = u1;
                u1 = u2;
                f1 = f2;
                u2 = lo + INV_PHI * (hi - lo);
                f2 = score(u2);
            }
        }
        let mid = score(grid.u(i));
        let best = [f1, f2, mid]
            .into_iter()
            .reduce(|a, b| if b.2 > a.2 { b } else { a })
            .expect("three candidates");
        (best.0, best.1)
    }
}

/// Scan points of `[a, b]`: `x = a + (b - a) u` with `u` in `[0, 1]` spaced so that the error's
/// oscillations (Chebyshev-like in `x^2` for intervals reaching near 0, in `x` otherwise) get
/// about [`GRID_PER_UNKNOWN`] points each.
struct Grid {
    a: Real,
    width: Real,
    /// `a / b` when the interval reaches below `b / 2` (square-root spacing), else `None`.
    ratio: Option<f64>,
    len: usize,
}

impl Grid {
    fn new(a: &Real, b: &Real, unknowns: usize) -> Self {
        let r = to_f64(&(a / b));
        Grid {
            a: a.clone(),
            width: b - a,
            ratio: (r < 0.5).then_some(r),
            len: GRID_PER_UNKNOWN * (unknowns + 1) + 1,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn u(&self, i: usize) -> f64 {
        self.u_of_theta(std::f64::consts::PI * i as f64 / (self.len - 1) as f64)
    }

    /// Chebyshev spacing in `x^2` (near-zero intervals) or in `x`, for `theta` in `[0, pi]`.
    fn u_of_theta(&self, theta: f64) -> f64 {
        let w = (1.0 - theta.cos()) / 2.0;
        let u = match self.ratio {
            Some(r) => ((r * r + (1.0 - r * r) * w).sqrt() - r) / (1.0 - r),
            None => w,
        };
        u.clamp(0.0, 1.0)
    }

    fn point(&self, u: f64) -> Real {
        &self.a + &self.width * real(u)
    }
}

/// Solves `sum_i c_i T_{2i+1}(x_j / b) + (-1)^j E = 1` for the `n + 1` reference points.
fn solve_reference(reference: &[Real], b: &Real, n: usize) -> Result<(Vec<Real>, Real)> {
    let size = n + 1;
    let mut rows: Vec<Vec<Real>> = reference
        .iter()
        .enumerate()
        .map(|(j, x)| {
            let t = x / b;
            let two_t = &t + &t;
            let mut row = Vec::with_capacity(size + 1);
            // odd Chebyshev values T_1, T_3, ... by T_{k+1} = 2t T_k - T_{k-1}
            let (mut prev, mut cur) = (real_int(1), t.clone());
            for k in 1..2 * n {
                if k % 2 == 1 {
                    row.push(cur.clone());
                }
                let next = &two_t * &cur - &prev;
                prev = std::mem::replace(&mut cur, next);
            }
            row.push(real_int(if j % 2 == 0 { 1 } else { -1 }));
            row.push(real_int(1));
            row
        })
        .collect();
    // Gaussian elimination with partial pivoting.
    for col in 0..size {
        let pivot = (col..size)
            .max_by(|&i, &k| abs(&rows[i][col]).cmp(&abs(&rows[k][col])))
            .expect("non-empty range");
        if rows[pivot][col] == Real::ZERO {
            return Err(Error::out_of_range(
                format!("Remez reference system: largest pivot of column {col}"),
                0,
                "non-zero (the system is singular: repeated reference points)",
            ));
        }
        rows.swap(col, pivot);
        let (top, bottom) = rows.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for row in bottom.iter_mut() {
            let factor = &row[col] / &pivot_row[col];
            for k in col..=size {
                row[k] = &row[k] - &factor * &pivot_row[k];
            }
        }
    }
    let mut solution = vec![real_int(0); size];
    for col in (0..size).rev() {
        let mut acc = rows[col][size].clone();
        for k in col + 1..size {
            acc = &acc - &rows[col][k] * &solution[k];
        }
        solution[col] = &acc / &rows[col][col];
    }
    let levelled = solution.pop().expect("size >= 2");
    Ok((solution, levelled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degree_one_is_the_midpoint_line() {
        // Best c*x for 1 on [a, b]: c = 2 / (a + b), error (b - a) / (b + a).
        let p = OddMinimax::new(1, 0.25, 1.0).unwrap();
        assert!((p.max_error() - 0.75 / 1.25).abs() < 1e-15);
        let c = p.power_coefficients();
        assert!((c[1] - 2.0 / 1.25).abs() < 1e-15);
    }

    #[test]
    fn equioscillates_and_power_basis_agrees() {
        let p = OddMinimax::new(15, 1.0 / 64.0, 1.0).unwrap();
        let (spread, alternates) = p.equioscillation();
        assert!(alternates && spread < 1e-12, "spread {spread}");
        assert_eq!(p.extrema().len(), 9);
        let power = p.power_coefficients();
        for x in [0.02, 0.1, 0.5, 0.9, 1.0] {
            let horner = power.iter().rev().fold(0.0, |acc, &a| acc * x + a);
            assert!((horner - p.eval(x)).abs() < 1e-9, "x = {x}");
        }
    }

    #[test]
    fn bad_inputs_are_refused() {
        assert!(OddMinimax::new(4, 0.1, 1.0).is_err());
        assert!(OddMinimax::new(5, 0.0, 1.0).is_err());
        assert!(OddMinimax::new(5, 1.0, 0.5).is_err());
        assert!(OddMinimax::new(5, f64::NAN, 1.0).is_err());
    }
}
