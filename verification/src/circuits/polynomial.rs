//! Chebyshev series on CKKS ciphertexts at minimal multiplicative depth.
//!
//! A series `p(t) = sum_k c_k T_k(t)` (`t` in `[-1, 1]`) of degree `d` is evaluated in
//! `ceil(log2(d + 1))` levels: a *plan* ([`PolynomialPlan`]) splits `p` recursively by Chebyshev
//! division, `p = q T_G + r` with `G` the largest power of two `<= deg p`, until the pieces are
//! linear combinations of precomputed `T_j` ("baby steps", `j < g`) whose depth leaves room for
//! the constant multiplication. For each baby-step bound `g` in `2, 4, ..., 2^depth` the plan is
//! built and the one with the fewest ciphertext multiplications is kept. Each `T_j` costs one
//! multiplication: `T_2k = 2 T_k^2 - 1`, `T_{2^i + r} = 2 T_{2^i} T_r - T_{2^i - r}`.
//!
//! Scales are managed as in Lattigo: every piece is computed straight at the (level, scale) its
//! consumer needs, by choosing the scale of each encoded constant, so additions always meet equal
//! scales.

use crate::ckks::{Ciphertext, CkksOps};
use crate::{Error, Result};

/// Largest degree accepted.
pub const MAX_SERIES_DEGREE: usize = 1023;

/// Operation counts of one evaluation (planned, or measured on ciphertexts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CircuitCounts {
    /// Ciphertext-ciphertext multiplications (each with relinearization and rescale).
    pub ct_mults: usize,
    /// Multiplications by an encoded constant (each followed by a rescale, or used to align a
    /// scale).
    pub const_mults: usize,
    /// Ciphertext additions and subtractions.
    pub additions: usize,
    /// Constant additions.
    pub const_additions: usize,
    /// Rescales.
    pub rescales: usize,
    /// Slot rotations (key switches besides relinearizations).
    pub rotations: usize,
    /// Levels consumed.
    pub depth: u32,
}

impl CircuitCounts {
    /// Adds `other`'s operation counts to these (depths add too: sequential composition).
    pub fn then(&mut self, other: &CircuitCounts) {
        self.ct_mults += other.ct_mults;
        self.const_mults += other.const_mults;
        self.additions += other.additions;
        self.const_additions += other.const_additions;
        self.rescales += other.rescales;
        self.rotations += other.rotations;
        self.depth += other.depth;
    }
}

/// A recursive evaluation tree.
#[derive(Clone, Debug, PartialEq)]
enum Node {
    /// `constant + sum c_j T_j` (`j >= 1`, all `T_j` baby steps or powers of two).
    Leaf {
        terms: Vec<(usize, f64)>,
        constant: f64,
    },
    /// `quotient * T_g + remainder`.
    Split {
        g: usize,
        quotient: Box<Node>,
        remainder: Box<Node>,
    },
}

/// The evaluation plan of one Chebyshev series: the tree, the `T_j` to compute, and the counts.
#[derive(Clone, Debug)]
pub struct PolynomialPlan {
    degree: usize,
    baby_bound: usize,
    root: Node,
    /// Indices `j >= 2` of the `T_j` to compute, ascending (prerequisites first).
    basis: Vec<usize>,
    counts: CircuitCounts,
}

/// Depth of `T_j` in the basis construction: `ceil(log2 j)`.
fn basis_depth(j: usize) -> u32 {
    j.next_power_of_two().trailing_zeros()
}

/// Minimal depth of a degree-`d` series: `ceil(log2(d + 1))`.
pub fn minimal_depth(degree: usize) -> u32 {
    (degree + 1).next_power_of_two().trailing_zeros()
}

fn degree_of(coeffs: &[f64]) -> usize {
    coeffs.iter().rposition(|&c| c != 0.0).unwrap_or(0)
}

/// `p = q T_g + r` for `deg p < 2g`: `T_j = 2 T_g T_{j-g} - T_{2g-j}` (`j > g`), `T_g = T_g T_0`.
fn divide(coeffs: &[f64], g: usize) -> (Vec<f64>, Vec<f64>) {
    let d = degree_of(coeffs);
    let mut q = vec![0.0; d - g + 1];
    let mut r = coeffs[..g.min(coeffs.len())].to_vec();
    r.resize(g, 0.0);
    q[0] = coeffs[g];
    for j in g + 1..=d {
        q[j - g] += 2.0 * coeffs[j];
        r[2 * g - j] -= coeffs[j];
    }
    (q, r)
}

impl Node {
    fn is_constant(&self) -> bool {
        matches!(self, Node::Leaf { terms, .. } if terms.is_empty())
    }

    /// Builds the tree for `coeffs` finishing `budget` levels below the input; `None` when
    /// impossible.
    fn build(coeffs: &[f64], budget: u32, baby_bound: usize) -> Option<Node> {
        let d = degree_of(coeffs);
        let terms: Vec<(usize, f64)> = coeffs
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, &c)| c != 0.0)
            .map(|(j, &c)| (j, c))
            .collect();
        let leaf_ok = d < baby_bound
            && terms
                .iter()
                .all(|&(j, _)| budget >= 1 && basis_depth(j) < budget);
        if leaf_ok || terms.is_empty() {
            return Some(Node::Leaf {
                terms,
                constant: coeffs.first().copied().unwrap_or(0.0),
            });
        }
        if d < 2 {
            return None; // a linear term with no level left for its constant
        }
        let g = 1usize << (usize::BITS - 1 - d.leading_zeros());
        if basis_depth(g) + 1 > budget {
            return None;
        }
        let (q, r) = divide(coeffs, g);
        Some(Node::Split {
            g,
            quotient: Box::new(Node::build(&q, budget - 1, baby_bound)?),
            remainder: Box::new(Node::build(&r, budget, baby_bound)?),
        })
    }

    /// Basis indices the tree reads, and counts of everything but the basis construction.
    fn collect(&self, used: &mut Vec<usize>, counts: &mut CircuitCounts) {
        match self {
            Node::Leaf { terms, constant } => {
                used.extend(terms.iter().map(|&(j, _)| j));
                if !terms.is_empty() {
                    counts.const_mults += terms.len();
                    counts.additions += terms.len() - 1;
                    counts.rescales += 1;
                }
                if *constant != 0.0 {
                    counts.const_additions += 1;
                }
            }
            Node::Split {
                g,
                quotient,
                remainder,
            } => {
                used.push(*g);
                counts.rescales += 1;
                if quotient.is_constant() {
                    counts.const_mults += 1; // c T_g
                } else {
                    counts.ct_mults += 1;
                    quotient.collect(used, counts);
                }
                remainder.collect(used, counts);
                // a constant-only remainder is a constant addition, counted in its leaf
                if !remainder.is_constant() {
                    counts.additions += 1;
                }
            }
        }
    }
}

/// Adds `j`'s prerequisites (and `j`) to `closure`.
fn close_basis(j: usize, closure: &mut std::collections::BTreeSet<usize>) {
    if j <= 1 || closure.contains(&j) {
        return;
    }
    if j.is_power_of_two() {
        close_basis(j / 2, closure);
    } else {
        let p = 1usize << (usize::BITS - 1 - j.leading_zeros());
        close_basis(p, closure);
        close_basis(j - p, closure);
        close_basis(2 * p - j, closure);
    }
    closure.insert(j);
}

/// Whether `T_j` is built by a squaring (`j` a power of two) or by `2 T_a T_b - T_c`.
fn basis_recipe(j: usize) -> (usize, usize, Option<usize>) {
    if j.is_power_of_two() {
        (j / 2, j / 2, None)
    } else {
        let p = 1usize << (usize::BITS - 1 - j.leading_zeros());
        (p, j - p, Some(2 * p - j))
    }
}

impl PolynomialPlan {
    /// The cheapest minimal-depth plan for `coeffs` (`c_0..=c_d`, `d >= 1` after trailing zeros
    /// are dropped, `d <= 1023`, all finite).
    pub fn new(coeffs: &[f64]) -> Result<Self> {
        if let Some(k) = coeffs.iter().position(|c| !c.is_finite()) {
            return Err(Error::InvalidParameter {
                field: format!("coefficients[{k}]"),
                reason: "not finite".into(),
            });
        }
        let degree = degree_of(coeffs);
        if degree == 0 || degree > MAX_SERIES_DEGREE {
            return Err(Error::InvalidParameter {
                field: "coefficients".into(),
                reason: format!("degree {degree}; expected 1..={MAX_SERIES_DEGREE}"),
            });
        }
        let coeffs = &coeffs[..=degree];
        let depth = minimal_depth(degree);
        let mut best: Option<PolynomialPlan> = None;
        for log_g in 1..=depth {
            let baby_bound = 1usize << log_g;
            let Some(root) = Node::build(coeffs, depth, baby_bound) else {
                continue;
            };
            let mut used = Vec::new();
            let mut counts = CircuitCounts {
                depth,
                ..CircuitCounts::default()
            };
            root.collect(&mut used, &mut counts);
            let mut closure = std::collections::BTreeSet::new();
            for j in used {
                close_basis(j, &mut closure);
            }
            for &j in &closure {
                let (_, _, sub) = basis_recipe(j);
                counts.ct_mults += 1;
                counts.rescales += 1;
                counts.additions += 1; // the doubling
                match sub {
                    None => counts.const_additions += 1, // - 1
                    Some(_) => counts.additions += 1,    // - T_c
                }
            }
            let plan = PolynomialPlan {
                degree,
                baby_bound,
                root,
                basis: closure.into_iter().collect(),
                counts,
            };
            if best
                .as_ref()
                .is_none_or(|b| plan.counts.ct_mults < b.counts.ct_mults)
            {
                best = Some(plan);
            }
        }
        best.ok_or_else(|| Error::InvalidParameter {
            field: "coefficients".into(),
            reason: "no minimal-depth plan (internal: the g = 2 plan always exists)".into(),
        })
    }

    /// The series degree.
    pub fn degree(&self) -> usize {
        self.degree
    }

    /// Levels consumed: `ceil(log2(degree + 1))`.
    pub fn depth(&self) -> u32 {
        self.counts.depth
    }

    /// The chosen baby-step bound `g` (leaves use `T_j`, `j < g`).
    pub fn baby_bound(&self) -> usize {
        self.baby_bound
    }

    /// Indices `j >= 2` of the Chebyshev polynomials computed, ascending.
    pub fn basis(&self) -> &[usize] {
        &self.basis
    }

    /// The planned counts; [`evaluate_polynomial`] performs exactly these (the scale
    /// alignments it needs are counted separately in its result).
    pub fn counts(&self) -> CircuitCounts {
        self.counts
    }
}

/// The scale to encode a factor at so that its product with a ciphertext of scale
/// `from_scale` at level `level + 1` has exactly `scale` after the rescale by `q_{level+1}`.
fn landing_scale<B: CkksOps + ?Sized>(eval: &B, from_scale: f64, level: usize, scale: f64) -> f64 {
    let q = eval.params().q_tables()[level + 1].modulus().value() as f64;
    scale * q / from_scale
}

/// `c * ct` at exactly `(level, scale)` (`ct` above `level`): a drop to `level + 1`, the
/// constant encoded at the landing scale (`scale q_{level+1} / ct.scale`), and a rescale.
/// One level of `ct` is spent.
pub fn mul_const_landing<B: CkksOps + ?Sized>(
    eval: &B,
    ct: &Ciphertext,
    c: f64,
    level: usize,
    scale: f64,
) -> std::result::Result<Ciphertext, B::Error> {
    let lifted = eval.drop_level(ct, level + 1)?;
    let product = eval.mul_const(&lifted, c, landing_scale(eval, lifted.scale, level, scale))?;
    eval.rescale(&product)
}

/// Brings `ct` to `(level, scale)`: a level drop when the scale already matches, else a drop
/// to `level + 1` and a multiplication by 1 encoded at the scale that lands exactly on `scale`
/// after the rescale. Fails when `ct` is already at `level` with another scale.
pub fn align<B: CkksOps + ?Sized>(
    eval: &B,
    ct: &Ciphertext,
    level: usize,
    scale: f64,
    counts: &mut CircuitCounts,
) -> std::result::Result<Ciphertext, B::Error> {
    let same_scale = ((ct.scale - scale) / scale).abs() <= crate::ckks::evaluator::SCALE_TOLERANCE;
    if ct.level() == level && same_scale {
        return Ok(ct.clone());
    }
    if ct.level() < level || (ct.level() == level && !same_scale) {
        // At `level` itself only the same scale will do; above it a rescale can fix the scale.
        let lowest = if same_scale { level } else { level + 1 };
        return Err(Error::level(
            format!(
                "bringing a ciphertext of scale {:e} to level {level}, scale {scale:e}",
                ct.scale
            ),
            ct.level(),
            lowest..=usize::MAX,
        )
        .into());
    }
    if same_scale {
        return eval.drop_level(ct, level);
    }
    counts.const_mults += 1;
    counts.rescales += 1;
    mul_const_landing(eval, ct, 1.0, level, scale)
}

/// Evaluates `plan` on `x` (messages in `[-1, 1]`), returning a ciphertext `plan.depth()`
/// levels below `x` at scale `out_scale`, and the operations performed (ciphertext
/// multiplications, constant products and additions equal [`PolynomialPlan::counts`]; scale
/// alignments of the basis add `const_mults`/`rescales`, reported in `alignments`).
pub fn evaluate_polynomial<B: CkksOps + ?Sized>(
    eval: &B,
    x: &Ciphertext,
    plan: &PolynomialPlan,
    out_scale: f64,
) -> std::result::Result<(Ciphertext, PolynomialRun), B::Error> {
    let depth = plan.depth() as usize;
    if x.level() < depth {
        return Err(Error::level(
            format!("a degree-{} polynomial", plan.degree()),
            x.level(),
            depth..=usize::MAX,
        )
        .into());
    }
    let mut run = PolynomialRun::default();
    let max_index = plan.basis.last().copied().unwrap_or(1);
    let mut basis: Vec<Option<Ciphertext>> = vec![None; max_index + 1];
    basis[1] = Some(x.clone());
    for &j in &plan.basis {
        let (a, b, sub) = basis_recipe(j);
        let ta = basis[a].as_ref().expect("prerequisite computed first");
        let tb = basis[b].as_ref().expect("prerequisite computed first");
        let level = ta.level().min(tb.level());
        let ta = eval.drop_level(ta, level)?;
        let tb = eval.drop_level(tb, level)?;
        let prod = eval.rescale(&eval.mul_relin(&ta, &tb)?)?;
        run.performed.ct_mults += 1;
        run.performed.rescales += 1;
        let doubled = eval.add(&prod, &prod)?;
        run.performed.additions += 1;
        let tj = match sub {
            None => {
                run.performed.const_additions += 1;
                eval.add_const(&doubled, -1.0)?
            }
            Some(c) => {
                let tc = basis[c].as_ref().expect("prerequisite computed first");
                let tc = align(
                    eval,
                    tc,
                    doubled.level(),
                    doubled.scale,
                    &mut run.alignments,
                )?;
                run.performed.additions += 1;
                eval.sub(&doubled, &tc)?
            }
        };
        basis[j] = Some(tj);
    }
    let out_level = x.level() - depth;
    let out = eval_node(
        eval,
        &plan.root,
        &basis,
        out_level,
        out_scale,
        &mut run.performed,
    )?
    .ok_or_else(|| Error::InvalidParameter {
        field: "coefficients".into(),
        reason: "a constant series has no ciphertext result".into(),
    })
    .map_err(B::Error::from)?;
    run.performed.depth = depth as u32;
    Ok((out, run))
}

/// What [`evaluate_polynomial`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolynomialRun {
    /// Operations of the plan (equal to [`PolynomialPlan::counts`]).
    pub performed: CircuitCounts,
    /// Extra constant multiplications (and rescales) aligning basis scales.
    pub alignments: CircuitCounts,
}

/// Evaluates a node at exactly `(level, scale)`; `None` for a constant-only leaf.
fn eval_node<B: CkksOps + ?Sized>(
    eval: &B,
    node: &Node,
    basis: &[Option<Ciphertext>],
    level: usize,
    scale: f64,
    counts: &mut CircuitCounts,
) -> std::result::Result<Option<Ciphertext>, B::Error> {
    match node {
        Node::Leaf { terms, constant } => {
            let mut acc: Option<Ciphertext> = None;
            for &(j, c) in terms {
                let t = basis[j].as_ref().expect("planned basis element");
                let t = eval.drop_level(t, level + 1)?;
                let term = eval.mul_const(&t, c, landing_scale(eval, t.scale, level, scale))?;
                counts.const_mults += 1;
                acc = Some(match acc {
                    None => term,
                    Some(a) => {
                        counts.additions += 1;
                        eval.add(&a, &term)?
                    }
                });
            }
            let Some(acc) = acc else {
                return Ok(None);
            };
            let mut out = eval.rescale(&acc)?;
            counts.rescales += 1;
            // `scale * q / q`: equal to `scale` up to rounding; pinned so chains do not drift
            out.scale = scale;
            if *constant != 0.0 {
                out = eval.add_const(&out, *constant)?;
                counts.const_additions += 1;
            }
            Ok(Some(out))
        }
        Node::Split {
            g,
            quotient,
            remainder,
        } => {
            let tg = basis[*g].as_ref().expect("planned basis element");
            let tg = eval.drop_level(tg, level + 1)?;
            let quotient_scale = landing_scale(eval, tg.scale, level, scale);
            let mut prod = match (&**quotient, quotient.is_constant()) {
                (Node::Leaf { constant, .. }, true) => {
                    counts.const_mults += 1;
                    eval.mul_const(&tg, *constant, quotient_scale)?
                }
                _ => {
                    let qc = eval_node(eval, quotient, basis, level + 1, quotient_scale, counts)?
                        .expect("a non-constant node yields a ciphertext");
                    counts.ct_mults += 1;
                    eval.mul_relin(&qc, &tg)?
                }
            };
            prod = eval.rescale(&prod)?;
            counts.rescales += 1;
            // `scale * q / tg.scale * tg.scale / q`: equal to `scale` up to rounding
            prod.scale = scale;
            match eval_node(eval, remainder, basis, level, scale, counts)? {
                Some(r) => {
                    counts.additions += 1;
                    Ok(Some(eval.add(&prod, &r)?))
                }
                None => {
                    let Node::Leaf { constant, .. } = **remainder else {
                        unreachable!("only leaves are constant-only");
                    };
                    if constant != 0.0 {
                        counts.const_additions += 1;
                        prod = eval.add_const(&prod, constant)?;
                    }
                    Ok(Some(prod))
                }
            }
        }
    }
}

/// The Chebyshev interpolant of `f` on `[-1, 1]` at the `degree + 1` Chebyshev nodes
/// `cos(pi (j + 1/2) / (degree + 1))`: coefficients `c_0..=c_degree` of `sum_k c_k T_k`, exact
/// at the nodes (discrete cosine transform in `f64`).
pub fn chebyshev_interpolate(f: impl Fn(f64) -> f64, degree: usize) -> Vec<f64> {
    let count = degree + 1;
    let angles: Vec<f64> = (0..count)
        .map(|j| std::f64::consts::PI * (j as f64 + 0.5) / count as f64)
        .collect();
    let values: Vec<f64> = angles.iter().map(|&a| f(a.cos())).collect();
    (0..count)
        .map(|k| {
            let sum: f64 = values
                .iter()
                .zip(&angles)
                .map(|(v, a)| v * (k as f64 * a).cos())
                .sum();
            let c = 2.0 * sum / count as f64;
            if k == 0 {
                c / 2.0
            } else {
                c
            }
        })
        .collect()
}

/// `sum_k c_k T_k(t)` in `f64` (Clenshaw), the plaintext twin of [`evaluate_polynomial`].
pub fn chebyshev_eval(coeffs: &[f64], t: f64) -> f64 {
    crate::minimax::clenshaw_f64(coeffs, t)
}

#[cfg(test)]
mod tests;
