//! Any linear map between two slot layouts, compiled by the diagonal method with
//! baby-step/giant-step (BSGS) rotations and hoisting.
//!
//! A linear map sends input ciphertexts `in_j` to output ciphertexts `out_m`, slot by slot:
//! `out_m[t] += w * in_j[u]` for each weight `w` of the map. Grouped by `r = (u - t) mod S`,
//! `out_m = sum_{j, r} d_{m,j,r} (.) rot(in_j, r)`, where the *diagonal* `d_{m,j,r}` holds at
//! slot `t` the weight that reads slot `t + r` (zero elsewhere; invalid slots of either layout
//! are never read and are written as zeros). Only nonzero diagonals cost anything: a diagonal
//! is one plaintext multiply (PMult), and its rotation is needed only if some nonzero diagonal
//! uses it; this is how group sparsity, group interleaving and sub-block pruning turn into
//! fewer operations without any special case here.
//!
//! BSGS with giant step `G` (a power of two dividing `S`): `r = q G + b`, `b = r mod G`, and
//! `out_m = sum_q rot( sum_{j, b} d'_{m,j,qG+b} (.) rot(in_j, b), q G )` with the plaintexts
//! pre-rotated, `d'[u] = d[u - q G]`. Baby rotations `rot(in_j, b)` are hoisted (one
//! decomposition per input) and shared by every output ciphertext; giant rotations run once
//! per output ciphertext and giant step, after the sum over all input ciphertexts.
//! [`Bsgs::Auto`] picks the `G` with the fewest rotations in total (ties: the smaller `G`);
//! `G = S` is the plain hoisted diagonal method, `G = 1` rotates products only.
//!
//! Periods. An input whose slot vector repeats every `P_in` slots is read by rotations modulo
//! `P_in` ([`Diagonals::with_input_period`]). An output whose valid slots all lie below
//! `P_out < S` is *folded* ([`Diagonals::with_output_period`]): each product may land in any
//! copy `t + k P_out` of its output slot `t`, the copy chosen so that the rotation is below
//! `min(P_in, P_out)`; after the rescale, `log2(S / P_out)` rotate-and-add steps (by `S/2,
//! ..., P_out`) sum the copies, leaving the output replicated with period `P_out`. A map with
//! few outputs then needs about `P_out` diagonals instead of `S` (the hybrid diagonal method).
//!
//! Costs for `D` nonzero diagonals of output `m`: `D` PMults, `D - 1` additions, one rescale
//! (at the end: the giant rotations run one level higher, saving a rescale per giant step),
//! one plaintext addition when there is a bias.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::program::{HeOp, HeProgram, ValueId};
use super::{LayoutError, PackError};

/// How to choose the giant step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bsgs {
    /// The power of two with the fewest rotations.
    Auto,
    /// This giant step (a power of two in `[1, S]`; `S` means no giant steps).
    GiantStep(usize),
}

/// Key of a diagonal: output ciphertext, input ciphertext, rotation `r` in `[0, S)`.
pub type DiagKey = (usize, usize, usize);

/// The nonzero diagonals of a linear map (with their values when materialized).
#[derive(Debug, Clone)]
pub struct Diagonals {
    slots: usize,
    inputs: usize,
    outputs: usize,
    materialize: bool,
    period: usize,
    out_period: usize,
    diags: HashMap<DiagKey, Vec<f64>>,
}

impl Diagonals {
    /// An empty map from `inputs` to `outputs` ciphertexts of `slots` slots; `materialize`
    /// keeps the diagonal values (needed to execute, not to count).
    pub fn new(slots: usize, inputs: usize, outputs: usize, materialize: bool) -> Self {
        Diagonals {
            slots,
            inputs,
            outputs,
            materialize,
            period: slots,
            out_period: slots,
            diags: HashMap::new(),
        }
    }

    /// The same map for inputs whose slot vectors repeat every `period` slots (a power of two
    /// dividing the slot count; see [`crate::pack::Layout::replicated`]): rotations are taken
    /// modulo `period`. Call before adding weights.
    pub fn with_input_period(mut self, period: usize) -> Self {
        debug_assert!(period.is_power_of_two() && self.slots.is_multiple_of(period));
        self.period = period;
        self
    }

    /// Slots per ciphertext.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Whether values are kept.
    pub fn is_materialized(&self) -> bool {
        self.materialize
    }

    /// Outputs whose valid slots lie below `period` (a power of two dividing the slot count)
    /// are folded (see the module docs); the compiled outputs repeat every `period` slots.
    /// Call before adding weights.
    pub fn with_output_period(mut self, period: usize) -> Self {
        debug_assert!(period.is_power_of_two() && self.slots.is_multiple_of(period));
        self.out_period = period;
        self
    }

    /// The rotation `r` that brings input slot `in_slot` to output slot `out_slot` (or a copy
    /// of either), in `[0, min(input period, output period))`.
    pub fn rotation(&self, in_slot: usize, out_slot: usize) -> usize {
        (in_slot + self.slots - out_slot) % self.slots % self.period.min(self.out_period)
    }

    /// The rotation and the slot its product lands in: `out_slot` itself unless the output is
    /// folded more finely than the input repeats, then the copy of `out_slot` that reads
    /// `in_slot` itself.
    fn landing(&self, in_slot: usize, out_slot: usize) -> (usize, usize) {
        let r = self.rotation(in_slot, out_slot);
        if self.period <= self.out_period {
            (r, out_slot)
        } else {
            (r, (in_slot + self.slots - r) % self.slots)
        }
    }

    /// `out[out_ct][out_slot] += weight * in[in_ct][in_slot]`; zero weights are ignored.
    pub fn add(&mut self, in_ct: usize, in_slot: usize, out_ct: usize, out_slot: usize, w: f64) {
        if w == 0.0 {
            return;
        }
        let (r, out_slot) = self.landing(in_slot, out_slot);
        let slots = self.slots;
        let entry = self.diags.entry((out_ct, in_ct, r)).or_insert_with(|| {
            if self.materialize {
                vec![0.0; slots]
            } else {
                Vec::new()
            }
        });
        if self.materialize {
            entry[out_slot] += w;
        }
    }

    /// Marks diagonal `(out_ct, in_ct, r)` nonzero without values (counting only).
    pub fn touch(&mut self, out_ct: usize, in_ct: usize, r: usize) {
        debug_assert!(!self.materialize);
        self.diags.entry((out_ct, in_ct, r)).or_default();
    }

    /// Number of nonzero diagonals (= PMults).
    pub fn len(&self) -> usize {
        self.diags.len()
    }

    /// Whether there is no nonzero diagonal.
    pub fn is_empty(&self) -> bool {
        self.diags.is_empty()
    }

    /// The keys, sorted.
    pub fn keys(&self) -> Vec<DiagKey> {
        let mut k: Vec<DiagKey> = self.diags.keys().copied().collect();
        k.sort_unstable();
        k
    }

    /// Rotations needed with giant step `g`: (baby, giant).
    pub fn rotations_with_giant_step(&self, g: usize) -> (usize, usize) {
        let mut babies = BTreeSet::new();
        let mut giants = BTreeSet::new();
        for &(m, j, r) in self.diags.keys() {
            if r % g != 0 {
                babies.insert((j, r % g));
            }
            if r / g != 0 {
                giants.insert((m, r / g));
            }
        }
        (babies.len(), giants.len())
    }

    /// The giant step [`Bsgs`] asks for.
    pub fn giant_step(&self, bsgs: Bsgs) -> Result<usize, PackError> {
        match bsgs {
            Bsgs::GiantStep(g) => {
                if g == 0 || !g.is_power_of_two() || g > self.slots {
                    Err(LayoutError::GiantStep {
                        giant: g,
                        slots: self.slots,
                    }
                    .into())
                } else {
                    Ok(g)
                }
            }
            Bsgs::Auto => {
                let mut best = (usize::MAX, self.slots);
                let mut g = 1;
                while g <= self.slots {
                    let (b, q) = self.rotations_with_giant_step(g);
                    if b + q < best.0 {
                        best = (b + q, g);
                    }
                    g *= 2;
                }
                Ok(best.1)
            }
        }
    }

    /// Compiles to a program (inputs: the input ciphertexts; outputs: the output ciphertexts,
    /// one level down). `bias`: one slot vector per output ciphertext, added after the rescale
    /// (empty vectors when not materialized). Returns the program and the giant step used.
    pub fn compile(
        &self,
        bias: Option<&[Vec<f64>]>,
        bsgs: Bsgs,
    ) -> Result<(HeProgram, usize), PackError> {
        if self.inputs == 0 {
            return Err(LayoutError::NoInput.into());
        }
        let s = self.slots;
        let g = self.giant_step(bsgs)?;
        let mut prog = HeProgram::new(s, self.inputs);
        // Baby steps per input, hoisted.
        let mut babies: BTreeMap<(usize, usize), ValueId> = BTreeMap::new();
        for &(_, j, r) in self.diags.keys() {
            babies.insert((j, r % g), j);
        }
        for (&(j, b), v) in babies.iter_mut() {
            if b != 0 {
                *v = prog.push(HeOp::Rotate {
                    src: j,
                    step: b as i64,
                    hoisted: true,
                });
            }
        }
        // Terms per output and giant step.
        let mut terms: BTreeMap<usize, BTreeMap<usize, Vec<DiagKey>>> = BTreeMap::new();
        for key in self.keys() {
            terms
                .entry(key.0)
                .or_default()
                .entry(key.2 / g)
                .or_default()
                .push(key);
        }
        for m in 0..self.outputs {
            let mut giant_sums = Vec::new();
            for (&q, keys) in terms.get(&m).into_iter().flatten() {
                let mut acc: Option<ValueId> = None;
                for &(_, j, r) in keys {
                    let values = if self.materialize {
                        let d = &self.diags[&(m, j, r)];
                        // d'[u] = d[u - qG]
                        let shift = q * g % s;
                        (0..s).map(|u| d[(u + s - shift) % s]).collect()
                    } else {
                        Vec::new()
                    };
                    let plain = prog.add_plaintext(format!("diag m{m} j{j} r{r}"), values);
                    let p = prog.push(HeOp::PMult {
                        src: babies[&(j, r % g)],
                        plain,
                    });
                    acc = Some(match acc {
                        None => p,
                        Some(a) => prog.push(HeOp::Add { a, b: p }),
                    });
                }
                let Some(mut sum) = acc else { continue };
                if q != 0 {
                    sum = prog.push(HeOp::Rotate {
                        src: sum,
                        step: (q * g) as i64,
                        hoisted: false,
                    });
                }
                giant_sums.push(sum);
            }
            let total = match giant_sums.split_first() {
                None => prog.push(HeOp::MulConst { src: 0, value: 0.0 }),
                Some((&first, rest)) => rest
                    .iter()
                    .fold(first, |a, &b| prog.push(HeOp::Add { a, b })),
            };
            let mut out = prog.push(HeOp::Rescale { src: total });
            // fold the copies: rotate-and-add by S/2, ..., out_period
            let mut step = s / 2;
            while step >= self.out_period {
                let r = prog.push(HeOp::Rotate {
                    src: out,
                    step: step as i64,
                    hoisted: false,
                });
                out = prog.push(HeOp::Add { a: out, b: r });
                step /= 2;
            }
            if let Some(bias) = bias {
                let values = bias.get(m).cloned().unwrap_or_default();
                let plain = prog.add_plaintext(format!("bias m{m}"), values);
                out = prog.push(HeOp::AddPlain { src: out, plain });
            }
            prog.outputs.push(out);
        }
        Ok((prog, g))
    }
}
