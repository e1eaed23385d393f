//! The homomorphic operations circuits are written against ([`CkksOps`]), so that one circuit
//! (bootstrapping, polynomial evaluation) runs on the reference [`Evaluator`], on the
//! accelerator's functional executor, or on a [`ShapeTracer`] that computes only levels and
//! scales and records the operations for costing.
//!
//! Every method takes `&self`: backends with state (a trace, a cache of lowered programs) keep
//! it behind interior mutability, so existing callers pass `&Evaluator` unchanged.

use std::cell::RefCell;

use crate::automorphism::{galois_element_conjugate, galois_element_for_rotation};
use crate::ckks::evaluator::SCALE_TOLERANCE;
use crate::ckks::{Ciphertext, Evaluator, Parameters, Plaintext};
use crate::error::{Error, Mismatched, Result};
use crate::rns::RnsPoly;

/// The CKKS operations of a circuit. Results follow the reference evaluator's rules: sums keep
/// the first operand's scale, products multiply scales, a rescale divides by `q_level`.
pub trait CkksOps {
    /// The backend's error; the circuits' own checks convert into it.
    type Error: From<Error>;
    /// The parameters the ciphertexts live under.
    fn params(&self) -> &Parameters;
    /// Marks the start of a named stage (for reports); no effect on results.
    fn begin_stage(&self, _name: &str) {}
    /// `a + b` (same level, scale and slots).
    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> std::result::Result<Ciphertext, Self::Error>;
    /// `a - b` (same level, scale and slots).
    fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> std::result::Result<Ciphertext, Self::Error>;
    /// `-a`.
    fn neg(&self, a: &Ciphertext) -> std::result::Result<Ciphertext, Self::Error>;
    /// `c` added to every slot.
    fn add_const(&self, a: &Ciphertext, c: f64) -> std::result::Result<Ciphertext, Self::Error>;
    /// Every slot times `c` encoded at `const_scale >= 1`.
    fn mul_const(
        &self,
        a: &Ciphertext,
        c: f64,
        const_scale: f64,
    ) -> std::result::Result<Ciphertext, Self::Error>;
    /// `relinearize(a * b)`.
    fn mul_relin(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
    ) -> std::result::Result<Ciphertext, Self::Error>;
    /// Division by `q_level`, one level down.
    fn rescale(&self, a: &Ciphertext) -> std::result::Result<Ciphertext, Self::Error>;
    /// Limbs above `level` dropped.
    fn drop_level(
        &self,
        a: &Ciphertext,
        level: usize,
    ) -> std::result::Result<Ciphertext, Self::Error>;
    /// Times the monomial `X^k`, `k` in `[0, 2N)`.
    fn mul_monomial(
        &self,
        a: &Ciphertext,
        k: usize,
    ) -> std::result::Result<Ciphertext, Self::Error>;
    /// Every slot times `i` (`X^(N/2)`).
    fn mul_i(&self, a: &Ciphertext) -> std::result::Result<Ciphertext, Self::Error> {
        self.mul_monomial(a, self.params().n() / 2)
    }
    /// The automorphism `X -> X^g` (one key switch with the key of `g`).
    fn automorphism(&self, a: &Ciphertext, g: u64) -> std::result::Result<Ciphertext, Self::Error>;
    /// Left rotation by `step` slots with the key of that rotation; step 0 is a copy.
    fn rotate(&self, a: &Ciphertext, step: i64) -> std::result::Result<Ciphertext, Self::Error> {
        let k = step.rem_euclid(1i64 << a.log_slots);
        if k == 0 {
            return Ok(a.clone());
        }
        self.automorphism(a, galois_element_for_rotation(k, self.params().log_n()))
    }
    /// Complex conjugation of every slot.
    fn conjugate(&self, a: &Ciphertext) -> std::result::Result<Ciphertext, Self::Error> {
        self.automorphism(a, galois_element_conjugate(self.params().log_n()))
    }
    /// Rotations by each of `steps` (in that order) sharing one decomposition; each is
    /// bit-exact with [`CkksOps::rotate`].
    fn rotate_hoisted(
        &self,
        a: &Ciphertext,
        steps: &[i64],
    ) -> std::result::Result<Vec<Ciphertext>, Self::Error>;
    /// `sum_t babies[row[t].0] * row[t].1` at `level` (every baby and plaintext there; at
    /// least one term): the residues of a chain of plaintext products and sums.
    fn inner_product(
        &self,
        babies: &[Ciphertext],
        row: &[(usize, Plaintext)],
        level: usize,
    ) -> std::result::Result<Ciphertext, Self::Error>;
    /// ModRaise of a level-0 ciphertext to the top level (see
    /// [`crate::bootstrap::mod_raise`]).
    fn mod_raise(&self, a: &Ciphertext) -> std::result::Result<Ciphertext, Self::Error>;
}

impl CkksOps for Evaluator {
    type Error = Error;
    fn params(&self) -> &Parameters {
        Evaluator::params(self)
    }
    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        Evaluator::add(self, a, b)
    }
    fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        Evaluator::sub(self, a, b)
    }
    fn neg(&self, a: &Ciphertext) -> Result<Ciphertext> {
        Evaluator::neg(self, a)
    }
    fn add_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext> {
        Evaluator::add_const(self, a, c)
    }
    fn mul_const(&self, a: &Ciphertext, c: f64, const_scale: f64) -> Result<Ciphertext> {
        Evaluator::mul_const(self, a, c, const_scale)
    }
    fn mul_relin(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        Evaluator::mul_relin(self, a, b)
    }
    fn rescale(&self, a: &Ciphertext) -> Result<Ciphertext> {
        Evaluator::rescale(self, a)
    }
    fn drop_level(&self, a: &Ciphertext, level: usize) -> Result<Ciphertext> {
        Evaluator::drop_level(self, a, level)
    }
    fn mul_monomial(&self, a: &Ciphertext, k: usize) -> Result<Ciphertext> {
        Evaluator::mul_monomial(self, a, k)
    }
    fn automorphism(&self, a: &Ciphertext, g: u64) -> Result<Ciphertext> {
        Evaluator::automorphism(self, a, g)
    }
    fn rotate(&self, a: &Ciphertext, step: i64) -> Result<Ciphertext> {
        Evaluator::rotate(self, a, step)
    }
    fn rotate_hoisted(&self, a: &Ciphertext, steps: &[i64]) -> Result<Vec<Ciphertext>> {
        Evaluator::rotate_hoisted(self, a, steps)
    }
    fn inner_product(
        &self,
        babies: &[Ciphertext],
        row: &[(usize, Plaintext)],
        level: usize,
    ) -> Result<Ciphertext> {
        check_inner_product(self.params(), babies, row, level)?;
        Ok(crate::bootstrap::linear::inner_product(
            self, babies, row, level,
        ))
    }
    fn mod_raise(&self, a: &Ciphertext) -> Result<Ciphertext> {
        crate::bootstrap::mod_raise(self.params(), a)
    }
}

/// Checks the operands of [`CkksOps::inner_product`]: a nonempty row, every index a baby,
/// every baby and plaintext of these parameters at `level` with `N` words a limb (shape-only
/// operands refused). Structural only (no scan of the words: babies come from the backend's
/// rotations, plaintexts from the encoder), so it costs nothing beside the products.
pub fn check_inner_product(
    params: &Parameters,
    babies: &[Ciphertext],
    row: &[(usize, Plaintext)],
    level: usize,
) -> Result<()> {
    if row.is_empty() {
        return Err(Error::malformed(
            "inner product",
            "no terms",
            "at least one term",
        ));
    }
    let n = params.n();
    let shape = |p: &RnsPoly, what: &str| -> Result<()> {
        if p.limbs.len() != level + 1 {
            return Err(Error::level(
                format!("inner product ({what})"),
                p.limbs.len().saturating_sub(1),
                level..=level,
            ));
        }
        match p.limbs.iter().position(|l| l.len() != n) {
            Some(i) => Err(Error::mismatch(
                format!("inner product ({what} limb {i})"),
                Mismatched::Coefficients,
                p.limbs[i].len(),
                format_args!("N = {n}"),
            )),
            None => Ok(()),
        }
    };
    for (b, pt) in row {
        let ct = babies.get(*b).ok_or_else(|| {
            Error::malformed(
                "inner product term",
                format!("baby {b}"),
                format!("a baby in [0, {})", babies.len()),
            )
        })?;
        params.check_id(ct.params_id, "ciphertext")?;
        params.check_id(pt.params_id, "plaintext")?;
        if ct.parts.len() != 2 {
            return Err(Error::mismatch(
                "inner product",
                Mismatched::Degree,
                ct.parts.len().saturating_sub(1),
                1,
            ));
        }
        for part in &ct.parts {
            shape(part, "ciphertext")?;
        }
        shape(&pt.poly, "plaintext")?;
    }
    Ok(())
}

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
struct Trace {
    stage: String,
    ops: Vec<TracedOp>,
}

impl Trace {
    fn push(&mut self, op: OpRecord) {
        self.ops.push(TracedOp {
            stage: self.stage.clone(),
            op,
        });
    }
}

/// The records of a rotation request: nothing for step 0, else one automorphism.
fn rotation_record(params: &Parameters, a: &Ciphertext, steps: &[i64]) -> Option<OpRecord> {
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

/// A backend that computes only the shape of every result (level, scale, slots; limbs of no
/// words) and records the operations: a circuit's trace at any `N` without its arithmetic.
/// It applies the evaluator's shape checks (equal levels, scales and slots where required).
#[derive(Debug)]
pub struct ShapeTracer<'a> {
    params: &'a Parameters,
    trace: RefCell<Trace>,
}

impl<'a> ShapeTracer<'a> {
    /// A tracer under `params`.
    pub fn new(params: &'a Parameters) -> Self {
        ShapeTracer {
            params,
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

    fn reshaped(a: &Ciphertext, level: usize, scale: f64) -> Ciphertext {
        Ciphertext {
            parts: vec![shape_poly(level); 2],
            scale,
            ..a.clone()
        }
    }

    fn same_shape(a: &Ciphertext, b: &Ciphertext, what: &str) -> Result<()> {
        if a.level() != b.level() {
            return Err(Error::mismatch(
                what,
                Mismatched::Level,
                a.level(),
                b.level(),
            ));
        }
        if ((a.scale - b.scale) / a.scale).abs() > SCALE_TOLERANCE {
            return Err(Error::mismatch(
                what,
                Mismatched::Scale,
                format_args!("{:e}", a.scale),
                format_args!("{:e}", b.scale),
            ));
        }
        if a.log_slots != b.log_slots {
            return Err(Error::mismatch(
                what,
                Mismatched::Slots,
                format_args!("2^{}", a.log_slots),
                format_args!("2^{}", b.log_slots),
            ));
        }
        Ok(())
    }
}

/// A polynomial of `level + 1` empty limbs: the shape of an operand without its words.
pub fn shape_poly(level: usize) -> RnsPoly {
    RnsPoly {
        limbs: vec![Vec::new(); level + 1],
        ntt_form: true,
    }
}

/// A shape-only ciphertext (see [`ShapeTracer`]) at `level` with `scale` and `2^log_slots`
/// slots, under `params`.
pub fn shape_ciphertext(
    params: &Parameters,
    level: usize,
    scale: f64,
    log_slots: u32,
) -> Ciphertext {
    Ciphertext {
        params_id: params.id(),
        key_id: 0,
        parts: vec![shape_poly(level); 2],
        scale,
        log_slots,
    }
}

impl CkksOps for ShapeTracer<'_> {
    type Error = Error;
    fn params(&self) -> &Parameters {
        self.params
    }
    fn begin_stage(&self, name: &str) {
        self.trace.borrow_mut().stage = name.to_string();
    }
    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        Self::same_shape(a, b, "add")?;
        self.note(OpRecord::Add { level: a.level() });
        Ok(a.clone())
    }
    fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        Self::same_shape(a, b, "sub")?;
        self.note(OpRecord::Sub { level: a.level() });
        Ok(a.clone())
    }
    fn neg(&self, a: &Ciphertext) -> Result<Ciphertext> {
        self.note(OpRecord::Neg { level: a.level() });
        Ok(a.clone())
    }
    fn add_const(&self, a: &Ciphertext, _c: f64) -> Result<Ciphertext> {
        self.note(OpRecord::AddConst { level: a.level() });
        Ok(a.clone())
    }
    fn mul_const(&self, a: &Ciphertext, _c: f64, const_scale: f64) -> Result<Ciphertext> {
        if const_scale.is_nan() || const_scale < 1.0 {
            return Err(Error::out_of_range(
                "mul_const: constant scale",
                const_scale,
                ">= 1",
            ));
        }
        self.note(OpRecord::MulConst { level: a.level() });
        Ok(Self::reshaped(a, a.level(), a.scale * const_scale))
    }
    fn mul_relin(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        if a.level() != b.level() {
            return Err(Error::mismatch(
                "mul_relin",
                Mismatched::Level,
                a.level(),
                b.level(),
            ));
        }
        if a.log_slots != b.log_slots {
            return Err(Error::mismatch(
                "mul_relin",
                Mismatched::Slots,
                format_args!("2^{}", a.log_slots),
                format_args!("2^{}", b.log_slots),
            ));
        }
        self.note(OpRecord::MulRelin { level: a.level() });
        Ok(Self::reshaped(a, a.level(), a.scale * b.scale))
    }
    fn rescale(&self, a: &Ciphertext) -> Result<Ciphertext> {
        let level = a.level();
        if level == 0 {
            return Err(Error::level("rescale", 0, 1..=usize::MAX));
        }
        self.note(OpRecord::Rescale { level });
        let q = self.params.q_tables()[level].modulus().value() as f64;
        Ok(Self::reshaped(a, level - 1, a.scale / q))
    }
    fn drop_level(&self, a: &Ciphertext, level: usize) -> Result<Ciphertext> {
        if level > a.level() {
            return Err(Error::level(
                format!("drop_level to {level}"),
                a.level(),
                level..=usize::MAX,
            ));
        }
        if level != a.level() {
            self.note(OpRecord::DropLevel {
                from: a.level(),
                to: level,
            });
        }
        Ok(Self::reshaped(a, level, a.scale))
    }
    fn mul_monomial(&self, a: &Ciphertext, k: usize) -> Result<Ciphertext> {
        self.note(OpRecord::MulMonomial {
            level: a.level(),
            k,
        });
        Ok(a.clone())
    }
    fn automorphism(&self, a: &Ciphertext, g: u64) -> Result<Ciphertext> {
        self.note(OpRecord::Automorphisms {
            level: a.level(),
            galois: vec![g],
        });
        Ok(a.clone())
    }
    fn rotate(&self, a: &Ciphertext, step: i64) -> Result<Ciphertext> {
        if let Some(r) = rotation_record(self.params, a, &[step]) {
            self.note(r);
        }
        Ok(a.clone())
    }
    fn rotate_hoisted(&self, a: &Ciphertext, steps: &[i64]) -> Result<Vec<Ciphertext>> {
        if let Some(r) = rotation_record(self.params, a, steps) {
            self.note(r);
        }
        Ok(vec![a.clone(); steps.len()])
    }
    fn inner_product(
        &self,
        babies: &[Ciphertext],
        row: &[(usize, Plaintext)],
        level: usize,
    ) -> Result<Ciphertext> {
        let (first, pt) = row
            .first()
            .ok_or_else(|| Error::malformed("inner product", "no terms", "at least one term"))?;
        let ct = babies.get(*first).ok_or_else(|| {
            Error::malformed(
                "inner product term",
                format!("baby {first}"),
                format!("a baby in [0, {})", babies.len()),
            )
        })?;
        for (operand, at) in [("ciphertext", ct.level()), ("plaintext", pt.level())] {
            if at != level {
                return Err(Error::level(
                    format!("inner product ({operand})"),
                    at,
                    level..=level,
                ));
            }
        }
        self.note(OpRecord::InnerProduct {
            level,
            terms: row.len(),
        });
        Ok(Self::reshaped(ct, level, ct.scale * pt.scale))
    }
    fn mod_raise(&self, a: &Ciphertext) -> Result<Ciphertext> {
        if a.level() != 0 {
            return Err(Error::level("ModRaise", a.level(), 0..=0));
        }
        let top = self.params.max_level();
        self.note(OpRecord::ModRaise { to: top });
        Ok(Self::reshaped(a, top, a.scale))
    }
}
