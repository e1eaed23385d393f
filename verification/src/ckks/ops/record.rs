//! Recording a circuit's operations: what each one was ([`OpRecord`]), the stage it ran in,
//! and the [`Recorder`] backend that runs an inner backend and keeps the trace.

use std::cell::RefCell;

use super::CkksOps;
use crate::automorphism::galois_element_for_rotation;
use crate::ckks::{Ciphertext, Parameters, Plaintext};

/// One operation a circuit performed, with the shapes that decide its cost.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpRecord {
    /// `a + b` at `level`.
    Add {
        /// The operands' level.
        level: usize,
    },
    /// `a - b` at `level`.
    Sub {
        /// The operands' level.
        level: usize,
    },
    /// `-a` at `level`.
    Neg {
        /// The operand's level.
        level: usize,
    },
    /// A constant added at `level`.
    AddConst {
        /// The operand's level.
        level: usize,
    },
    /// A constant product at `level`.
    MulConst {
        /// The operand's level.
        level: usize,
    },
    /// Tensor product and relinearization at `level`.
    MulRelin {
        /// The operands' level.
        level: usize,
    },
    /// Rescale from `level` to `level - 1`.
    Rescale {
        /// The operand's level, before the rescale.
        level: usize,
    },
    /// Limbs dropped from `from` to `to`.
    DropLevel {
        /// The operand's level.
        from: usize,
        /// The level requested.
        to: usize,
    },
    /// Times `X^k` at `level`.
    MulMonomial {
        /// The operand's level.
        level: usize,
        /// The monomial's exponent, in `[0, 2N)`.
        k: usize,
    },
    /// Automorphisms of one ciphertext at `level` by each of `galois` (ascending order of the
    /// request), sharing one decomposition (one element: a plain rotation).
    Automorphisms {
        /// The operand's level.
        level: usize,
        /// The Galois elements, in the order of the request.
        galois: Vec<u64>,
    },
    /// `terms` plaintext products summed at `level`.
    InnerProduct {
        /// The operands' level.
        level: usize,
        /// The number of products summed.
        terms: usize,
    },
    /// ModRaise from level 0 to `to`.
    ModRaise {
        /// The level raised to.
        to: usize,
    },
}

impl OpRecord {
    /// The operation's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            OpRecord::Add { .. } => "add",
            OpRecord::Sub { .. } => "sub",
            OpRecord::Neg { .. } => "neg",
            OpRecord::AddConst { .. } => "add_const",
            OpRecord::MulConst { .. } => "mul_const",
            OpRecord::MulRelin { .. } => "mul_relin",
            OpRecord::Rescale { .. } => "rescale",
            OpRecord::DropLevel { .. } => "drop_level",
            OpRecord::MulMonomial { .. } => "mul_monomial",
            OpRecord::Automorphisms { galois, .. } if galois.len() == 1 => "rotate",
            OpRecord::Automorphisms { .. } => "rotate_hoisted",
            OpRecord::InnerProduct { .. } => "inner_product",
            OpRecord::ModRaise { .. } => "mod_raise",
        }
    }
}

/// A recorded operation and the stage it ran in (the last [`CkksOps::begin_stage`] name;
/// empty before the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedOp {
    /// The stage.
    pub stage: String,
    /// The operation.
    pub op: OpRecord,
}

#[derive(Debug, Default)]
pub(super) struct Trace {
    pub(super) stage: String,
    pub(super) ops: Vec<TracedOp>,
}

impl Trace {
    pub(super) fn push(&mut self, op: OpRecord) {
        self.ops.push(TracedOp {
            stage: self.stage.clone(),
            op,
        });
    }
}

/// The records of a rotation request: nothing for step 0, else one automorphism.
pub(super) fn rotation_record(
    params: &Parameters,
    a: &Ciphertext,
    steps: &[i64],
) -> Option<OpRecord> {
    let slots = 1i64 << a.log_slots;
    let galois: Vec<u64> = steps
        .iter()
        .map(|s| s.rem_euclid(slots))
        .filter(|&k| k != 0)
        .map(|k| galois_element_for_rotation(k, params.log_n()))
        .collect();
    (!galois.is_empty()).then_some(OpRecord::Automorphisms {
        level: a.level(),
        galois,
    })
}

/// Runs every operation on an inner backend and records it: the trace of a real run.
#[derive(Debug)]
pub struct Recorder<'a, B: CkksOps + ?Sized> {
    inner: &'a B,
    trace: RefCell<Trace>,
}

impl<'a, B: CkksOps + ?Sized> Recorder<'a, B> {
    /// Records the operations run on `inner`.
    pub fn new(inner: &'a B) -> Self {
        Recorder {
            inner,
            trace: RefCell::default(),
        }
    }

    /// The operations so far, in order.
    pub fn into_trace(self) -> Vec<TracedOp> {
        self.trace.into_inner().ops
    }

    fn note(&self, op: OpRecord) {
        self.trace.borrow_mut().push(op);
    }
}

impl<B: CkksOps + ?Sized> CkksOps for Recorder<'_, B> {
    type Error = B::Error;
    fn params(&self) -> &Parameters {
        self.inner.params()
    }
    fn begin_stage(&self, name: &str) {
        self.trace.borrow_mut().stage = name.to_string();
        self.inner.begin_stage(name);
    }
    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> std::result::Result<Ciphertext, B::Error> {
        self.note(OpRecord::Add { level: a.level() });
        self.inner.add(a, b)
    }
    fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> std::result::Result<Ciphertext, B::Error> {
        self.note(OpRecord::Sub { level: a.level() });
        self.inner.sub(a, b)
    }
    fn neg(&self, a: &Ciphertext) -> std::result::Result<Ciphertext, B::Error> {
        self.note(OpRecord::Neg { level: a.level() });
        self.inner.neg(a)
    }
    fn add_const(&self, a: &Ciphertext, c: f64) -> std::result::Result<Ciphertext, B::Error> {
        self.note(OpRecord::AddConst { level: a.level() });
        self.inner.add_const(a, c)
    }
    fn mul_const(
        &self,
        a: &Ciphertext,
        c: f64,
        const_scale: f64,
    ) -> std::result::Result<Ciphertext, B::Error> {
        self.note(OpRecord::MulConst { level: a.level() });
        self.inner.mul_const(a, c, const_scale)
    }
    fn mul_relin(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
    ) -> std::result::Result<Ciphertext, B::Error> {
        self.note(OpRecord::MulRelin { level: a.level() });
        self.inner.mul_relin(a, b)
    }
    fn rescale(&self, a: &Ciphertext) -> std::result::Result<Ciphertext, B::Error> {
        self.note(OpRecord::Rescale { level: a.level() });
        self.inner.rescale(a)
    }
    fn drop_level(
        &self,
        a: &Ciphertext,
        level: usize,
    ) -> std::result::Result<Ciphertext, B::Error> {
        if level != a.level() {
            self.note(OpRecord::DropLevel {
                from: a.level(),
                to: level,
            });
        }
        self.inner.drop_level(a, level)
    }
    fn mul_monomial(&self, a: &Ciphertext, k: usize) -> std::result::Result<Ciphertext, B::Error> {
        self.note(OpRecord::MulMonomial {
            level: a.level(),
            k,
        });
        self.inner.mul_monomial(a, k)
    }
    fn automorphism(&self, a: &Ciphertext, g: u64) -> std::result::Result<Ciphertext, B::Error> {
        self.note(OpRecord::Automorphisms {
            level: a.level(),
            galois: vec![g],
        });
        self.inner.automorphism(a, g)
    }
    fn rotate(&self, a: &Ciphertext, step: i64) -> std::result::Result<Ciphertext, B::Error> {
        if let Some(r) = rotation_record(self.params(), a, &[step]) {
            self.note(r);
        }
        self.inner.rotate(a, step)
    }
    fn rotate_hoisted(
        &self,
        a: &Ciphertext,
        steps: &[i64],
    ) -> std::result::Result<Vec<Ciphertext>, B::Error> {
        if let Some(r) = rotation_record(self.params(), a, steps) {
            self.note(r);
        }
        self.inner.rotate_hoisted(a, steps)
    }
    fn inner_product(
        &self,
        babies: &[Ciphertext],
        row: &[(usize, Plaintext)],
        level: usize,
    ) -> std::result::Result<Ciphertext, B::Error> {
        self.note(OpRecord::InnerProduct {
            level,
            terms: row.len(),
        });
        self.inner.inner_product(babies, row, level)
    }
    fn mod_raise(&self, a: &Ciphertext) -> std::result::Result<Ciphertext, B::Error> {
        self.note(OpRecord::ModRaise {
            to: self.params().max_level(),
        });
        self.inner.mod_raise(a)
    }
}
