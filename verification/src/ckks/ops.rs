//! The homomorphic operations circuits are written against ([`CkksOps`]), so that one circuit
//! (bootstrapping, polynomial evaluation) runs on the reference [`Evaluator`], on the
//! accelerator's functional executor, or on a [`ShapeTracer`] that computes only levels and
//! scales and records the operations for costing.
//!
//! Every method takes `&self`: backends with state (a trace, a cache of lowered programs) keep
//! it behind interior mutability, so existing callers pass `&Evaluator` unchanged.
//!
//! One concern a file: this file holds the trait and the reference evaluator's implementation
//! of it; the operation records and the [`Recorder`] that traces a real run are in
//! `ops/record.rs`, the [`ShapeTracer`] that computes only shapes in `ops/shape.rs`.

use crate::automorphism::{galois_element_conjugate, galois_element_for_rotation};
use crate::ckks::{Ciphertext, Evaluator, Parameters, Plaintext};
use crate::error::{Error, Mismatched, Result};
use crate::rns::RnsPoly;

mod record;
mod shape;

pub use record::{OpRecord, Recorder, TracedOp};
pub use shape::{shape_ciphertext, shape_poly, ShapeTracer};

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
