//! The shape-only backend: levels, scales and slots of every result, no arithmetic, with the
//! evaluator's shape checks, recording the operations for costing.

use std::cell::RefCell;

use super::record::{rotation_record, Trace};
use super::{CkksOps, OpRecord, TracedOp};
use crate::ckks::evaluator::SCALE_TOLERANCE;
use crate::ckks::{Ciphertext, Parameters, Plaintext};
use crate::error::{Error, Mismatched, Result};
use crate::rns::RnsPoly;

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
