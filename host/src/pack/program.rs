//! A CKKS operation graph: [`HeOp`] in static single assignment form, [`HeProgram`] with its
//! plaintext table, per-op counts ([`OpCounts`]) and level tracking.
//!
//! Values are numbered: `0 .. inputs` are the input ciphertexts, and op `k` (0-based) defines
//! value `inputs + k`. Every operand must be defined before it is read. Levels are tracked
//! relative to the inputs (all inputs start at the same level): a value's *depth* is the number
//! of rescales on its longest path from an input; [`HeProgram::check`] requires the operands
//! of binary operations to have the same depth ([`HeOp::DropLevel`] aligns them). A
//! [`HeOp::Bootstrap`] refreshes its value to the inputs' level, so depths count the levels
//! consumed since the input or the last bootstrapping, and a program with bootstrappings runs
//! when every depth fits the levels left after bootstrapping. Scales are the executor's
//! business: see [`crate::pack::exec`].

use serde::{Deserialize, Serialize};

use super::PackError;

/// Identifier of a value (ciphertext) of a [`HeProgram`].
pub type ValueId = usize;
/// Index into [`HeProgram::plaintexts`].
pub type PlainId = usize;

/// One CKKS operation. Op `k` of a program defines value `inputs + k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeOp {
    /// Left rotation by `step` slots (new slot `t` = old slot `t + step`, modulo the slot
    /// count): one key switch. Hoisted rotations of the same `src` share one decomposition
    /// (ModUp) of `c_1` (see [`crate::pack::exec`], which runs them together).
    Rotate {
        /// The rotated value.
        src: ValueId,
        /// Step, in `(-slots, slots)`; never `0 mod slots`.
        step: i64,
        /// Shares the decomposition of `src` with the other hoisted rotations of `src`.
        hoisted: bool,
    },
    /// Slot-wise product with a plaintext weight vector (encoded at the scale of the prime the
    /// next rescale divides by, so a `PMult` + `Rescale` keeps the scale).
    PMult {
        /// Ciphertext operand.
        src: ValueId,
        /// The plaintext (slot values).
        plain: PlainId,
    },
    /// Adds a plaintext vector (encoded at the ciphertext's scale and level).
    AddPlain {
        /// Ciphertext operand.
        src: ValueId,
        /// The plaintext.
        plain: PlainId,
    },
    /// Ciphertext addition (same depth).
    Add {
        /// Left operand.
        a: ValueId,
        /// Right operand.
        b: ValueId,
    },
    /// Ciphertext product followed by relinearization (one key switch; same depth).
    MulRelin {
        /// Left operand.
        a: ValueId,
        /// Right operand.
        b: ValueId,
    },
    /// Divides by the last prime: one level.
    Rescale {
        /// The value.
        src: ValueId,
    },
    /// Adds a real constant to every slot.
    AddConst {
        /// The value.
        src: ValueId,
        /// The constant.
        value: f64,
    },
    /// Multiplies every slot by a real constant (encoded like a [`HeOp::PMult`] plaintext:
    /// follow it by a rescale).
    MulConst {
        /// The value.
        src: ValueId,
        /// The constant.
        value: f64,
    },
    /// `multiplier * ReLU(t)` slot-wise by the program's minimax ReLU ([`HeProgram::relu`]) for
    /// `t` in `[-1, 1]`: [`ReluSpec::depth`] levels, rescales included.
    Relu {
        /// The value (`t = x / B`).
        src: ValueId,
        /// Finite, nonzero; lands without a level (the next layer's bound change).
        multiplier: f64,
    },
    /// Bootstrapping: the value refreshed to the inputs' level (depth 0).
    Bootstrap {
        /// The value.
        src: ValueId,
    },
    /// Drops `levels` levels (limbs discarded, no arithmetic): aligns an addition's operands.
    DropLevel {
        /// The value.
        src: ValueId,
        /// Levels dropped, `>= 1`.
        levels: usize,
    },
}

impl HeOp {
    /// The operands read.
    pub fn operands(&self) -> Vec<ValueId> {
        match *self {
            HeOp::Rotate { src, .. }
            | HeOp::PMult { src, .. }
            | HeOp::AddPlain { src, .. }
            | HeOp::Rescale { src }
            | HeOp::AddConst { src, .. }
            | HeOp::MulConst { src, .. }
            | HeOp::Relu { src, .. }
            | HeOp::Bootstrap { src }
            | HeOp::DropLevel { src, .. } => vec![src],
            HeOp::Add { a, b } | HeOp::MulRelin { a, b } => vec![a, b],
        }
    }

    /// Short name: `rotate`, `pmult`, `add_plain`, `add`, `mul_relin`, `rescale`, `add_const`,
    /// `mul_const`, `relu`, `bootstrap`, `drop_level`.
    pub fn name(&self) -> &'static str {
        match self {
            HeOp::Rotate { .. } => "rotate",
            HeOp::PMult { .. } => "pmult",
            HeOp::AddPlain { .. } => "add_plain",
            HeOp::Add { .. } => "add",
            HeOp::MulRelin { .. } => "mul_relin",
            HeOp::Rescale { .. } => "rescale",
            HeOp::AddConst { .. } => "add_const",
            HeOp::MulConst { .. } => "mul_const",
            HeOp::Relu { .. } => "relu",
            HeOp::Bootstrap { .. } => "bootstrap",
            HeOp::DropLevel { .. } => "drop_level",
        }
    }
}

/// A plaintext of a program: `slots` real values, or none when the program was built for
/// counting only (then it cannot be executed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlainVector {
    /// What it is (e.g. `diag m0 j1 r-33`, `bias m0`), for reports and debugging.
    pub label: String,
    /// The slot values (length [`HeProgram::slots`]), empty when not materialized.
    pub values: Vec<f64>,
}

/// A CKKS operation graph over ciphertexts of `slots` slots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeProgram {
    /// Slots per ciphertext (a power of two).
    pub slots: usize,
    /// Number of input ciphertexts (values `0 .. inputs`).
    pub inputs: usize,
    /// The operations; op `k` defines value `inputs + k`.
    pub ops: Vec<HeOp>,
    /// The plaintexts [`HeOp::PMult`] and [`HeOp::AddPlain`] refer to.
    pub plaintexts: Vec<PlainVector>,
    /// The output values, in order.
    pub outputs: Vec<ValueId>,
    /// The ReLU [`HeOp::Relu`] evaluates (required when the program has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relu: Option<ReluSpec>,
}

/// The composite minimax ReLU of a program (Lee et al.; `heaccel_verification::circuits`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReluSpec {
    /// Precision, in `4..=14`.
    pub alpha: u32,
    /// The composite is designed for `eps <= |t| <= 1`, `eps` in `(0, 1)`.
    pub eps: f64,
    /// Levels one ReLU consumes (the sign's depth + 1).
    pub depth: usize,
}

/// What an [`OpTally`] counts: one CKKS operation kind, as costed by the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TallyKind {
    /// A group of `count` rotations of one ciphertext sharing one decomposition (`count = 1`:
    /// a plain rotation), `count >= 1`.
    Rotations {
        /// Rotations in the group.
        count: usize,
    },
    /// Plaintext multiplication.
    PMult,
    /// Plaintext addition.
    AddPlain,
    /// Ciphertext addition.
    Add,
    /// Multiplication with relinearization.
    MulRelin,
    /// Rescale.
    Rescale,
    /// Constant addition.
    AddConst,
    /// Constant multiplication.
    MulConst,
}

/// `count` operations of `kind` whose operands sit `depth` levels below the program's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpTally {
    /// The operation.
    pub kind: TallyKind,
    /// Levels below the inputs' level, `>= 0`.
    pub depth: usize,
    /// How many.
    pub count: usize,
}

/// Merges tallies of the same `(kind, depth)`; the result is sorted by `(depth, kind)`.
pub fn merge_tallies(tallies: impl IntoIterator<Item = OpTally>) -> Vec<OpTally> {
    let mut map: std::collections::BTreeMap<(usize, TallyKind), usize> = Default::default();
    for t in tallies {
        if t.count > 0 {
            *map.entry((t.depth, t.kind)).or_default() += t.count;
        }
    }
    map.into_iter()
        .map(|((depth, kind), count)| OpTally { kind, depth, count })
        .collect()
}

/// Operation counts of a program (or a sum of programs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCounts {
    /// Rotations (each a key switch), hoisted or not.
    pub rotations: usize,
    /// Of those, hoisted ones.
    pub hoisted_rotations: usize,
    /// Decompositions (ModUp) of a `c_1`: one per non-hoisted rotation, one per group of
    /// hoisted rotations of the same value, one per relinearization.
    pub decompositions: usize,
    /// Key switches: rotations + relinearizations.
    pub key_switches: usize,
    /// Plaintext-ciphertext multiplications.
    pub pmults: usize,
    /// Ciphertext-ciphertext multiplications (each with a relinearization).
    pub hmults: usize,
    /// Ciphertext additions.
    pub adds: usize,
    /// Plaintext and constant additions.
    pub plain_adds: usize,
    /// Constant multiplications.
    pub const_mults: usize,
    /// Rescales.
    pub rescales: usize,
    /// Multiplicative depth: levels consumed from the inputs to the deepest output.
    pub depth: usize,
}

impl OpCounts {
    /// Adds `other`'s counts; depths add too (sequential composition).
    pub fn then(&self, other: &OpCounts) -> OpCounts {
        OpCounts {
            rotations: self.rotations + other.rotations,
            hoisted_rotations: self.hoisted_rotations + other.hoisted_rotations,
            decompositions: self.decompositions + other.decompositions,
            key_switches: self.key_switches + other.key_switches,
            pmults: self.pmults + other.pmults,
            hmults: self.hmults + other.hmults,
            adds: self.adds + other.adds,
            plain_adds: self.plain_adds + other.plain_adds,
            const_mults: self.const_mults + other.const_mults,
            rescales: self.rescales + other.rescales,
            depth: self.depth + other.depth,
        }
    }

    /// Adds `other`'s counts; the depth is the larger one (parallel composition).
    pub fn beside(&self, other: &OpCounts) -> OpCounts {
        let mut sum = self.then(other);
        sum.depth = self.depth.max(other.depth);
        sum
    }
}

impl HeProgram {
    /// An empty program over `inputs` ciphertexts of `slots` slots.
    pub fn new(slots: usize, inputs: usize) -> Self {
        HeProgram {
            slots,
            inputs,
            ops: Vec::new(),
            plaintexts: Vec::new(),
            outputs: Vec::new(),
            relu: None,
        }
    }

    /// Appends `op` and returns the value it defines.
    pub fn push(&mut self, op: HeOp) -> ValueId {
        self.ops.push(op);
        self.inputs + self.ops.len() - 1
    }

    /// Adds a plaintext and returns its id.
    pub fn add_plaintext(&mut self, label: String, values: Vec<f64>) -> PlainId {
        self.plaintexts.push(PlainVector { label, values });
        self.plaintexts.len() - 1
    }

    /// Number of values (inputs and op results).
    pub fn value_count(&self) -> usize {
        self.inputs + self.ops.len()
    }

    /// Whether every plaintext has its values (the program can be executed).
    pub fn is_materialized(&self) -> bool {
        self.plaintexts.iter().all(|p| p.values.len() == self.slots)
    }

    /// The distinct rotation steps (normalized to `[1, slots)`), sorted: the Galois keys an
    /// executor needs.
    pub fn rotation_steps(&self) -> Vec<i64> {
        let slots = self.slots as i64;
        let mut steps: Vec<i64> = self
            .ops
            .iter()
            .filter_map(|op| match op {
                HeOp::Rotate { step, .. } => Some(step.rem_euclid(slots)),
                _ => None,
            })
            .collect();
        steps.sort_unstable();
        steps.dedup();
        steps
    }

    /// Checks the program (operands defined before use, plaintext ids in range, materialized
    /// plaintexts of `slots` values, nonzero rotation steps, equal depths for binary
    /// operations, outputs defined) and returns every value's depth.
    pub fn check(&self) -> Result<Vec<usize>, PackError> {
        let bad = |k: usize, problem: String| PackError::Program { op: k, problem };
        if self.slots == 0 || !self.slots.is_power_of_two() {
            return Err(PackError::Program {
                op: 0,
                problem: format!("slots = {} is not a power of two", self.slots),
            });
        }
        let mut depth = vec![0usize; self.inputs];
        for (k, op) in self.ops.iter().enumerate() {
            let me = self.inputs + k;
            for v in op.operands() {
                if v >= me {
                    return Err(bad(
                        k,
                        format!("{} reads value {v}, defined at or after it", op.name()),
                    ));
                }
            }
            match op {
                HeOp::PMult { plain, .. } | HeOp::AddPlain { plain, .. } => {
                    let p = self.plaintexts.get(*plain).ok_or_else(|| {
                        bad(
                            k,
                            format!(
                                "plaintext {plain} out of range ({} plaintexts)",
                                self.plaintexts.len()
                            ),
                        )
                    })?;
                    if !p.values.is_empty() && p.values.len() != self.slots {
                        return Err(bad(
                            k,
                            format!(
                                "plaintext {plain} has {} values, expected {}",
                                p.values.len(),
                                self.slots
                            ),
                        ));
                    }
                }
                HeOp::Rotate { step, .. } if step.rem_euclid(self.slots as i64) == 0 => {
                    return Err(bad(k, format!("rotation step {step} is 0 mod slots")));
                }
                HeOp::AddConst { value, .. } | HeOp::MulConst { value, .. }
                    if !value.is_finite() =>
                {
                    return Err(bad(k, format!("constant {value} is not finite")));
                }
                HeOp::Relu { multiplier, .. } => {
                    if self.relu.is_none() {
                        return Err(bad(k, "relu in a program without a ReluSpec".into()));
                    }
                    if !(multiplier.is_finite() && *multiplier != 0.0) {
                        return Err(bad(
                            k,
                            format!("relu multiplier {multiplier} is not finite and nonzero"),
                        ));
                    }
                }
                HeOp::DropLevel { levels: 0, .. } => {
                    return Err(bad(k, "drop_level of 0 levels".into()));
                }
                _ => {}
            }
            if let HeOp::Add { a, b } | HeOp::MulRelin { a, b } = *op {
                if depth[a] != depth[b] {
                    return Err(bad(
                        k,
                        format!(
                            "{} of values at depths {} and {}",
                            op.name(),
                            depth[a],
                            depth[b]
                        ),
                    ));
                }
            }
            depth.push(op_depth(op, &depth, self.relu.map_or(0, |r| r.depth)));
        }
        for &o in &self.outputs {
            if o >= depth.len() {
                return Err(bad(
                    self.ops.len(),
                    format!("output value {o} is not defined"),
                ));
            }
        }
        Ok(depth)
    }

    /// The operations by kind and by the depth of their operands (hoisted rotations of one
    /// value grouped into one [`TallyKind::Rotations`]), merged and sorted by depth; level
    /// drops are free. Errors as [`HeProgram::check`], and for [`HeOp::Relu`] and
    /// [`HeOp::Bootstrap`], whose layers count them (`crate::pack::report`, `crate::netsim`).
    pub fn profile(&self) -> Result<Vec<OpTally>, PackError> {
        let depth = self.check()?;
        let mut hoisted: std::collections::BTreeMap<ValueId, usize> = Default::default();
        let mut tallies = Vec::new();
        for op in &self.ops {
            let d = depth[op.operands()[0]];
            let kind = match *op {
                HeOp::Rotate {
                    src, hoisted: true, ..
                } => {
                    *hoisted.entry(src).or_default() += 1;
                    continue;
                }
                HeOp::Rotate { .. } => TallyKind::Rotations { count: 1 },
                HeOp::PMult { .. } => TallyKind::PMult,
                HeOp::AddPlain { .. } => TallyKind::AddPlain,
                HeOp::Add { .. } => TallyKind::Add,
                HeOp::MulRelin { .. } => TallyKind::MulRelin,
                HeOp::Rescale { .. } => TallyKind::Rescale,
                HeOp::AddConst { .. } => TallyKind::AddConst,
                HeOp::MulConst { .. } => TallyKind::MulConst,
                HeOp::DropLevel { .. } => continue,
                HeOp::Relu { .. } | HeOp::Bootstrap { .. } => return Err(composite_op(op)),
            };
            tallies.push(OpTally {
                kind,
                depth: d,
                count: 1,
            });
        }
        for (src, count) in hoisted {
            tallies.push(OpTally {
                kind: TallyKind::Rotations { count },
                depth: depth[src],
                count: 1,
            });
        }
        Ok(merge_tallies(tallies))
    }

    /// The operation counts (see [`OpCounts`]); errors as [`HeProgram::profile`].
    pub fn counts(&self) -> Result<OpCounts, PackError> {
        let depth = self.check()?;
        let mut c = OpCounts::default();
        let mut hoisted_sources = std::collections::BTreeSet::new();
        for op in &self.ops {
            match *op {
                HeOp::Rotate { src, hoisted, .. } => {
                    c.rotations += 1;
                    if hoisted {
                        c.hoisted_rotations += 1;
                        if hoisted_sources.insert(src) {
                            c.decompositions += 1;
                        }
                    } else {
                        c.decompositions += 1;
                    }
                }
                HeOp::PMult { .. } => c.pmults += 1,
                HeOp::AddPlain { .. } | HeOp::AddConst { .. } => c.plain_adds += 1,
                HeOp::Add { .. } => c.adds += 1,
                HeOp::MulRelin { .. } => {
                    c.hmults += 1;
                    c.decompositions += 1;
                }
                HeOp::Rescale { .. } => c.rescales += 1,
                HeOp::MulConst { .. } => c.const_mults += 1,
                HeOp::DropLevel { .. } => {}
                HeOp::Relu { .. } | HeOp::Bootstrap { .. } => return Err(composite_op(op)),
            }
        }
        c.key_switches = c.rotations + c.hmults;
        c.depth = self.outputs.iter().map(|&o| depth[o]).max().unwrap_or(0);
        Ok(c)
    }
}

/// The depth of the value `op` defines, from its operands' (`depth`, indexed by value) and
/// the program's ReLU depth: a rescale adds 1, a ReLU its depth, a level drop its levels, a
/// bootstrapping resets to 0; binary operations take their first operand's (equal depths are
/// [`HeProgram::check`]'s business).
pub(crate) fn op_depth(op: &HeOp, depth: &[usize], relu_depth: usize) -> usize {
    match *op {
        HeOp::Rescale { src } => depth[src] + 1,
        HeOp::Relu { src, .. } => depth[src] + relu_depth,
        HeOp::DropLevel { src, levels } => depth[src] + levels,
        HeOp::Bootstrap { .. } => 0,
        _ => depth[op.operands()[0]],
    }
}

/// The error of tallying an operation made of others.
fn composite_op(op: &HeOp) -> PackError {
    PackError::Program {
        op: 0,
        problem: format!(
            "{} is a composite operation: its layer counts it, not the program's tally",
            op.name()
        ),
    }
}
