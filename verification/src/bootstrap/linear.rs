//! Homomorphic linear transforms: a [`DiagonalMatrix`] encoded as plaintext diagonals and
//! evaluated by baby-step/giant-step with hoisted rotations.
//!
//! Each shift `s` is split as `s = g + b` with `b = s mod n1` (baby step, `0 <= b < n1`) and
//! `g = s - b` (giant step, a multiple of `n1`), and `M v = sum_g rot_g(sum_b diag'_(g,b) *
//! rot_b(v))` with `diag'_(g,b) = rot_(-g)(diag_(g+b))`. The baby rotations share one
//! decomposition of `v` ([`Evaluator::rotate_hoisted`]); each giant step rotates its inner sum
//! once, before the single rescale at the end, so the key-switching noise of the giant steps is
//! divided by the last prime too.

use std::collections::{BTreeMap, BTreeSet};

use num_complex::Complex64;

use super::dft::DiagonalMatrix;
use crate::automorphism::galois_element_for_rotation;
use crate::ckks::evaluator::SCALE_TOLERANCE;
use crate::ckks::ops::shape_poly;
use crate::ckks::{Ciphertext, CkksOps, Encoder, Evaluator, Parameters, Plaintext};
use crate::error::{Error, Mismatched, Result};
use crate::rns::RnsPoly;

/// The baby-step/giant-step split of a set of shifts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BsgsSplit {
    /// Baby-step count `n1` (a power of two).
    pub n1: i64,
    /// Distinct baby steps `b` in `[0, n1)`, ascending.
    pub babies: Vec<i64>,
    /// Per giant step `g`, the baby steps it pairs with.
    pub giants: BTreeMap<i64, Vec<i64>>,
}

impl BsgsSplit {
    /// The split with the fewest nonzero rotations (baby plus giant) over `n1` in powers of
    /// two up to `slots`; ties go to fewer giant steps (each costs its own decomposition).
    pub fn choose(shifts: &[i64], slots: usize) -> BsgsSplit {
        let mut best: Option<(usize, usize, BsgsSplit)> = None;
        let mut n1 = 1i64;
        while n1 <= slots as i64 {
            let mut babies = BTreeSet::new();
            let mut giants: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
            for &s in shifts {
                let b = s.rem_euclid(n1);
                babies.insert(b);
                giants.entry(s - b).or_default().push(b);
            }
            let baby_rot = babies.iter().filter(|&&b| b != 0).count();
            let giant_rot = giants.keys().filter(|&&g| g != 0).count();
            let key = (baby_rot + giant_rot, giant_rot);
            if best.as_ref().is_none_or(|(c, g, _)| key < (*c, *g)) {
                best = Some((
                    key.0,
                    key.1,
                    BsgsSplit {
                        n1,
                        babies: babies.into_iter().collect(),
                        giants,
                    },
                ));
            }
            n1 *= 2;
        }
        best.expect("n1 = 1 is always a candidate").2
    }

    /// Nonzero rotation steps: baby steps, then giant steps.
    pub fn rotations(&self) -> Vec<i64> {
        self.babies
            .iter()
            .chain(self.giants.keys())
            .copied()
            .filter(|&s| s != 0)
            .collect()
    }
}

/// A linear transform encoded for one input level and scale.
#[derive(Clone, Debug)]
pub struct EncodedTransform {
    log_slots: u32,
    level: usize,
    in_scale: f64,
    out_scale: f64,
    split: BsgsSplit,
    /// Plaintext diagonals per giant step, one per baby step of [`BsgsSplit::giants`].
    plaintexts: BTreeMap<i64, Vec<(usize, Plaintext)>>,
}

impl EncodedTransform {
    /// Encodes `matrix` (on `2^log_slots` slots) for a ciphertext at `level >= 1` with scale
    /// `in_scale`; the output is one level lower with scale exactly `out_scale` (each diagonal
    /// is encoded at `q_level * out_scale / in_scale`).
    pub fn new(
        params: &Parameters,
        encoder: &Encoder,
        matrix: &DiagonalMatrix,
        level: usize,
        in_scale: f64,
        out_scale: f64,
    ) -> Result<Self> {
        Self::build(params, Some(encoder), matrix, level, in_scale, out_scale)
    }

    /// The transform's structure (split, levels, scales) with shape-only diagonals (limbs of
    /// no words, see [`crate::ckks::ops::ShapeTracer`]): for tracing and costing at any `N`
    /// without encoding; evaluating it on a real backend is refused.
    pub fn shape_only(
        params: &Parameters,
        matrix: &DiagonalMatrix,
        level: usize,
        in_scale: f64,
        out_scale: f64,
    ) -> Result<Self> {
        Self::build(params, None, matrix, level, in_scale, out_scale)
    }

    fn build(
        params: &Parameters,
        encoder: Option<&Encoder>,
        matrix: &DiagonalMatrix,
        level: usize,
        in_scale: f64,
        out_scale: f64,
    ) -> Result<Self> {
        let slots = matrix.slots();
        if level == 0 || level > params.max_level() {
            return Err(Error::level(
                "encoding a linear transform",
                level,
                1..=params.max_level(),
            ));
        }
        let q = params.q_tables()[level].modulus().value() as f64;
        let pt_scale = q * out_scale / in_scale;
        let split = BsgsSplit::choose(&matrix.shifts(), slots);
        let baby_index: BTreeMap<i64, usize> = split
            .babies
            .iter()
            .enumerate()
            .map(|(i, &b)| (b, i))
            .collect();
        let d = slots as i64;
        let mut plaintexts = BTreeMap::new();
        for (&g, babies) in &split.giants {
            let mut row = Vec::with_capacity(babies.len());
            for &b in babies {
                let Some(encoder) = encoder else {
                    row.push((
                        baby_index[&b],
                        Plaintext {
                            params_id: params.id(),
                            poly: shape_poly(level),
                            scale: pt_scale,
                            log_slots: slots.trailing_zeros(),
                        },
                    ));
                    continue;
                };
                let diag = matrix
                    .diagonal(g + b)
                    .expect("the split's shifts are the matrix's");
                // rot_(-g)(diag)[j] = diag[j - g]
                let values: Vec<Complex64> = (0..slots)
                    .map(|j| diag[(j as i64 - g).rem_euclid(d) as usize])
                    .collect();
                row.push((baby_index[&b], encoder.encode(&values, level, pt_scale)?));
            }
            plaintexts.insert(g, row);
        }
        Ok(EncodedTransform {
            log_slots: slots.trailing_zeros(),
            level,
            in_scale,
            out_scale,
            split,
            plaintexts,
        })
    }

    /// The input level.
    pub fn level(&self) -> usize {
        self.level
    }

    /// The output scale.
    pub fn out_scale(&self) -> f64 {
        self.out_scale
    }

    /// The baby-step/giant-step split.
    pub fn split(&self) -> &BsgsSplit {
        &self.split
    }

    /// Number of plaintext diagonals.
    pub fn diagonal_count(&self) -> usize {
        self.plaintexts.values().map(Vec::len).sum()
    }

    /// Bytes of the encoded diagonals (8 per word).
    pub fn plaintext_bytes(&self) -> usize {
        self.plaintexts
            .values()
            .flatten()
            .map(|(_, p)| p.poly.limbs.iter().map(|l| l.len() * 8).sum::<usize>())
            .sum()
    }

    /// Galois elements of every rotation the evaluation performs.
    pub fn galois_elements(&self, log_n: u32) -> Vec<u64> {
        let slots = 1i64 << self.log_slots;
        self.split
            .rotations()
            .into_iter()
            .map(|s| galois_element_for_rotation(s.rem_euclid(slots), log_n))
            .collect()
    }

    /// Applies the transform to `ct` (at [`EncodedTransform::level`], `2^log_slots` slots,
    /// the scale it was encoded for).
    pub fn evaluate<B: CkksOps + ?Sized>(
        &self,
        eval: &B,
        ct: &Ciphertext,
    ) -> std::result::Result<Ciphertext, B::Error> {
        self.check_input(ct)?;
        let babies = eval.rotate_hoisted(ct, &self.split.babies)?;
        let mut acc: Option<Ciphertext> = None;
        for (&g, row) in &self.plaintexts {
            let inner = eval.inner_product(&babies, row, self.level)?;
            let rotated = eval.rotate(&inner, g)?;
            acc = Some(match acc {
                None => rotated,
                Some(x) => eval.add(&x, &rotated)?,
            });
        }
        let acc = acc.ok_or_else(|| {
            Error::malformed("linear transform", "no diagonals", "at least one diagonal")
        })?;
        let mut out = eval.rescale(&acc)?;
        // `in_scale * (q out_scale / in_scale) / q`: `out_scale` up to rounding
        out.scale = self.out_scale;
        Ok(out)
    }

    fn check_input(&self, ct: &Ciphertext) -> Result<()> {
        if ct.level() != self.level {
            return Err(Error::level(
                "linear transform",
                ct.level(),
                self.level..=self.level,
            ));
        }
        if ct.log_slots != self.log_slots {
            return Err(Error::mismatch(
                "linear transform",
                Mismatched::Slots,
                format_args!("2^{}", ct.log_slots),
                format_args!("2^{}", self.log_slots),
            ));
        }
        if ((ct.scale - self.in_scale) / self.in_scale).abs() > SCALE_TOLERANCE {
            return Err(Error::mismatch(
                "linear transform",
                Mismatched::Scale,
                format_args!("{:e}", ct.scale),
                format_args!("{:e}", self.in_scale),
            ));
        }
        Ok(())
    }
}

/// `sum_b babies[b] * pt_b` over one giant step's row (at least one term), fused: each word
/// accumulates its products in 128 bits, reduced every 32 terms: the residues of a chain of
/// [`Evaluator::mul_plain`] and [`Evaluator::add`], without their copies and checks (the
/// babies come from the evaluator, the plaintexts were encoded for this level).
pub fn inner_product(
    eval: &Evaluator,
    babies: &[Ciphertext],
    row: &[(usize, Plaintext)],
    level: usize,
) -> Ciphertext {
    let first = &babies[row[0].0];
    let tables = &eval.params().q_tables()[..=level];
    let parts = (0..first.parts.len())
        .map(|p| RnsPoly {
            limbs: tables
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let m = t.modulus();
                    let n = t.n();
                    let mut acc = vec![0u128; n];
                    let mut out = vec![0u64; n];
                    for (c, chunk) in row.chunks(32).enumerate() {
                        for (b, pt) in chunk {
                            let x = &babies[*b].parts[p].limbs[i];
                            let y = &pt.poly.limbs[i];
                            for ((a, &u), &v) in acc.iter_mut().zip(x).zip(y) {
                                *a += u as u128 * v as u128;
                            }
                        }
                        for (o, a) in out.iter_mut().zip(acc.iter_mut()) {
                            let r = m.reduce_u128(*a);
                            *o = if c == 0 { r } else { m.add(*o, r) };
                            *a = 0;
                        }
                    }
                    out
                })
                .collect(),
            ntt_form: true,
        })
        .collect();
    Ciphertext {
        params_id: first.params_id,
        key_id: first.key_id,
        parts,
        scale: first.scale * row[0].1.scale,
        log_slots: first.log_slots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_every_shift_once() {
        let shifts: Vec<i64> = (-7..=7).collect();
        let split = BsgsSplit::choose(&shifts, 1 << 10);
        let mut covered: Vec<i64> = split
            .giants
            .iter()
            .flat_map(|(g, bs)| bs.iter().map(move |b| g + b))
            .collect();
        covered.sort();
        assert_eq!(covered, shifts);
        // 15 consecutive shifts: n1 = 4 gives babies {1,2,3} and giants {-8,-4,4} (6
        // rotations) and so does n1 = 8 (7 babies would be worse): the minimum is 6.
        assert_eq!(split.rotations().len(), 6, "{split:?}");
        assert!(split.babies.iter().all(|&b| (0..split.n1).contains(&b)));
        assert!(split.giants.keys().all(|g| g % split.n1 == 0));
    }
}
