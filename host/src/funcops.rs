//! The accelerator's functional executor behind [`CkksOps`]: every operation a circuit asks
//! for (bootstrapping, polynomial evaluation) is lowered at its level through
//! [`crate::lowering`], run instruction by instruction on [`FunctionalExecutor`] with its
//! operands, plaintexts and keys written into the program's off-chip [`Memory`], and its result
//! read back. Output metadata (level, scale, slots) follows the reference evaluator's rules,
//! computed by a [`ShapeTracer`], whose trace is also the run's list of operations.
//!
//! Programs are cached by operation shape ([`OpRecord`]); those with constants baked in
//! (`add_const`, `mul_const`) are lowered per call. Hoisted rotations run as one program with
//! one decomposition, as the reference hoists.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use heaccel_sim::isa::Program;
use heaccel_sim::{FunctionalExecutor, Memory};
use heaccel_verification::automorphism::galois_element_for_rotation;
use heaccel_verification::ckks::ops::{OpRecord, ShapeTracer, TracedOp};
use heaccel_verification::ckks::{
    Ciphertext, CkksOps, GaloisKeys, Parameters, Plaintext, RelinKey,
};

use crate::funcexec::FunctionalStats;
use crate::lowering::{self, LowerError, OperandStem};

type Result<T> = std::result::Result<T, LowerError>;

/// Runs CKKS operations on the functional executor (see the module docs).
#[derive(Debug)]
pub struct FunctionalOps<'a> {
    params: &'a Parameters,
    relin: Option<&'a RelinKey>,
    galois: &'a GaloisKeys,
    executor: RefCell<FunctionalExecutor<'a>>,
    programs: RefCell<HashMap<OpRecord, Rc<Program>>>,
    shapes: ShapeTracer<'a>,
    stats: Cell<FunctionalStats>,
}

impl<'a> FunctionalOps<'a> {
    /// A backend for `params` with its evaluation keys; `template` is
    /// [`crate::funcexec::prime_table_program`]`(params)`.
    pub fn new(
        template: &'a Program,
        params: &'a Parameters,
        relin: Option<&'a RelinKey>,
        galois: &'a GaloisKeys,
    ) -> Result<Self> {
        lowering::check_whole_keys(params, galois.keys.values().chain(relin.map(|r| &r.key)))?;
        Ok(FunctionalOps {
            params,
            relin,
            galois,
            executor: RefCell::new(FunctionalExecutor::new(template)?),
            programs: RefCell::default(),
            shapes: ShapeTracer::new(params),
            stats: Cell::default(),
        })
    }

    /// Programs and instructions run so far.
    pub fn stats(&self) -> FunctionalStats {
        self.stats.get()
    }

    /// The operations run, in order, with their stages.
    pub fn into_trace(self) -> Vec<TracedOp> {
        self.shapes.into_trace()
    }

    fn program(
        &self,
        key: &OpRecord,
        make: impl FnOnce() -> Result<Program>,
    ) -> Result<Rc<Program>> {
        if let Some(p) = self.programs.borrow().get(key) {
            return Ok(p.clone());
        }
        let p = Rc::new(make()?);
        self.programs.borrow_mut().insert(key.clone(), p.clone());
        Ok(p)
    }

    /// Runs `program` with `fill` writing its inputs; reads the ciphertexts `outs` with the
    /// shapes of `like`.
    fn run(
        &self,
        program: &Program,
        fill: impl FnOnce(&mut Memory) -> Result<()>,
        outs: &[(OperandStem, &Ciphertext)],
    ) -> Result<Vec<Ciphertext>> {
        let mut memory = Memory::for_program(program);
        fill(&mut memory)?;
        self.executor
            .borrow_mut()
            .run_program(program, &mut memory)?;
        let mut stats = self.stats.get();
        stats.programs += 1;
        stats.instructions += program.instructions.len();
        self.stats.set(stats);
        outs.iter()
            .map(|&(stem, shape)| {
                lowering::read_ciphertext(&memory, stem, shape.level(), shape.scale, shape)
            })
            .collect()
    }

    fn run_one(
        &self,
        program: &Program,
        fill: impl FnOnce(&mut Memory) -> Result<()>,
        shape: &Ciphertext,
    ) -> Result<Ciphertext> {
        Ok(self
            .run(program, fill, &[(OperandStem::Out, shape)])?
            .remove(0))
    }

    fn key(&self, g: u64) -> Result<&'a heaccel_verification::ckks::SwitchingKey> {
        self.galois.keys.get(&g).ok_or(LowerError::NoGaloisKey {
            element: g,
            log_n: self.params.log_n(),
        })
    }

    /// Automorphisms of `a` by the nonzero elements `galois` in one program.
    fn automorphisms(&self, a: &Ciphertext, galois: &[u64]) -> Result<Vec<Ciphertext>> {
        check_degree(a, "automorphism")?;
        let level = a.level();
        let record = OpRecord::Automorphisms {
            level,
            galois: galois.to_vec(),
        };
        let keys = galois
            .iter()
            .map(|&g| self.key(g))
            .collect::<Result<Vec<_>>>()?;
        let program = self.program(&record, || {
            lowering::lower_automorphisms(self.params, level, galois)
        })?;
        let outs: Vec<(OperandStem, &Ciphertext)> = (0..galois.len())
            .map(|r| (OperandStem::OutIndexed(r), a))
            .collect();
        self.run(
            &program,
            |m| {
                lowering::write_ciphertext(m, OperandStem::A, a)?;
                for (g, key) in galois.iter().zip(keys) {
                    lowering::write_switching_key(m, OperandStem::Galois(*g), key)?;
                }
                Ok(())
            },
            &outs,
        )
    }
}

fn check_degree(a: &Ciphertext, what: &'static str) -> Result<()> {
    if a.parts.len() != 2 {
        return Err(LowerError::Degree {
            operation: what,
            parts: a.parts.len(),
        });
    }
    Ok(())
}

impl CkksOps for FunctionalOps<'_> {
    type Error = LowerError;

    fn params(&self) -> &Parameters {
        self.params
    }

    fn begin_stage(&self, name: &str) {
        self.shapes.begin_stage(name);
    }

    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        check_degree(a, "add")?;
        check_degree(b, "add")?;
        let shape = self.shapes.add(a, b)?;
        let level = a.level();
        let p = self.program(&OpRecord::Add { level }, || {
            lowering::lower_add(self.params, level)
        })?;
        self.run_one(
            &p,
            |m| {
                lowering::write_ciphertext(m, OperandStem::A, a)?;
                lowering::write_ciphertext(m, OperandStem::B, b)
            },
            &shape,
        )
    }

    fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        check_degree(a, "sub")?;
        check_degree(b, "sub")?;
        let shape = self.shapes.sub(a, b)?;
        let level = a.level();
        let p = self.program(&OpRecord::Sub { level }, || {
            lowering::lower_sub(self.params, level)
        })?;
        self.run_one(
            &p,
            |m| {
                lowering::write_ciphertext(m, OperandStem::A, a)?;
                lowering::write_ciphertext(m, OperandStem::B, b)
            },
            &shape,
        )
    }

    fn neg(&self, a: &Ciphertext) -> Result<Ciphertext> {
        check_degree(a, "neg")?;
        let shape = self.shapes.neg(a)?;
        let level = a.level();
        let p = self.program(&OpRecord::Neg { level }, || {
            lowering::lower_neg(self.params, level)
        })?;
        self.run_one(
            &p,
            |m| lowering::write_ciphertext(m, OperandStem::A, a),
            &shape,
        )
    }

    fn add_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext> {
        check_degree(a, "add_const")?;
        let shape = self.shapes.add_const(a, c)?;
        let p = lowering::lower_add_const(self.params, a.level(), c, a.scale)?;
        self.run_one(
            &p,
            |m| lowering::write_ciphertext(m, OperandStem::A, a),
            &shape,
        )
    }

    fn mul_const(&self, a: &Ciphertext, c: f64, const_scale: f64) -> Result<Ciphertext> {
        check_degree(a, "mul_const")?;
        let shape = self.shapes.mul_const(a, c, const_scale)?;
        let p = lowering::lower_mul_const(self.params, a.level(), c, const_scale)?;
        self.run_one(
            &p,
            |m| lowering::write_ciphertext(m, OperandStem::A, a),
            &shape,
        )
    }

    fn mul_relin(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        check_degree(a, "mul_relin")?;
        check_degree(b, "mul_relin")?;
        let rlk = self.relin.ok_or(LowerError::NoRelinearizationKey)?;
        let shape = self.shapes.mul_relin(a, b)?;
        let level = a.level();
        let p = self.program(&OpRecord::MulRelin { level }, || {
            lowering::lower_hmult_relin(self.params, level)
        })?;
        self.run_one(
            &p,
            |m| {
                lowering::write_ciphertext(m, OperandStem::A, a)?;
                lowering::write_ciphertext(m, OperandStem::B, b)?;
                lowering::write_switching_key(m, OperandStem::Rlk, &rlk.key)
            },
            &shape,
        )
    }

    fn rescale(&self, a: &Ciphertext) -> Result<Ciphertext> {
        check_degree(a, "rescale")?;
        let shape = self.shapes.rescale(a)?;
        let level = a.level();
        let p = self.program(&OpRecord::Rescale { level }, || {
            lowering::lower_rescale(self.params, level)
        })?;
        self.run_one(
            &p,
            |m| lowering::write_ciphertext(m, OperandStem::A, a),
            &shape,
        )
    }

    fn drop_level(&self, a: &Ciphertext, level: usize) -> Result<Ciphertext> {
        check_degree(a, "drop_level")?;
        let shape = self.shapes.drop_level(a, level)?;
        if level == a.level() {
            return Ok(a.clone());
        }
        let from = a.level();
        let p = self.program(&OpRecord::DropLevel { from, to: level }, || {
            lowering::lower_drop_level(self.params, from, level)
        })?;
        self.run_one(
            &p,
            |m| lowering::write_ciphertext(m, OperandStem::A, a),
            &shape,
        )
    }

    fn mul_monomial(&self, a: &Ciphertext, k: usize) -> Result<Ciphertext> {
        check_degree(a, "mul_monomial")?;
        let shape = self.shapes.mul_monomial(a, k)?;
        let level = a.level();
        let limbs = lowering::monomial_limbs(self.params, level, k)?;
        let p = self.program(&OpRecord::MulMonomial { level, k }, || {
            lowering::lower_mul_monomial(self.params, level)
        })?;
        self.run_one(
            &p,
            |m| {
                lowering::write_ciphertext(m, OperandStem::A, a)?;
                for (l, limb) in limbs.iter().enumerate() {
                    m.write("m.m", l, limb)?;
                }
                Ok(())
            },
            &shape,
        )
    }

    fn automorphism(&self, a: &Ciphertext, g: u64) -> Result<Ciphertext> {
        self.shapes.automorphism(a, g)?;
        Ok(self.automorphisms(a, &[g])?.remove(0))
    }

    fn rotate_hoisted(&self, a: &Ciphertext, steps: &[i64]) -> Result<Vec<Ciphertext>> {
        self.shapes.rotate_hoisted(a, steps)?;
        let slots = 1i64 << a.log_slots;
        let log_n = self.params.log_n();
        let elements: Vec<Option<u64>> = steps
            .iter()
            .map(|s| {
                let k = s.rem_euclid(slots);
                (k != 0).then(|| galois_element_for_rotation(k, log_n))
            })
            .collect();
        let galois: Vec<u64> = elements.iter().flatten().copied().collect();
        let mut rotated = if galois.is_empty() {
            Vec::new()
        } else {
            self.automorphisms(a, &galois)?
        }
        .into_iter();
        Ok(elements
            .iter()
            .map(|g| match g {
                None => a.clone(),
                Some(_) => rotated.next().expect("one result per element"),
            })
            .collect())
    }

    fn inner_product(
        &self,
        babies: &[Ciphertext],
        row: &[(usize, Plaintext)],
        level: usize,
    ) -> Result<Ciphertext> {
        heaccel_verification::ckks::ops::check_inner_product(self.params, babies, row, level)?;
        let shape = self.shapes.inner_product(babies, row, level)?;
        let terms = row.len();
        let p = self.program(&OpRecord::InnerProduct { level, terms }, || {
            lowering::lower_inner_product(self.params, level, terms)
        })?;
        self.run_one(
            &p,
            |m| {
                for (t, (b, pt)) in row.iter().enumerate() {
                    lowering::write_ciphertext(m, OperandStem::X(t), &babies[*b])?;
                    lowering::write_plaintext(m, OperandStem::MIndexed(t), pt)?;
                }
                Ok(())
            },
            &shape,
        )
    }

    fn mod_raise(&self, a: &Ciphertext) -> Result<Ciphertext> {
        check_degree(a, "mod_raise")?;
        let shape = self.shapes.mod_raise(a)?;
        let to = shape.level();
        let p = self.program(&OpRecord::ModRaise { to }, || {
            lowering::lower_mod_raise(self.params, to)
        })?;
        self.run_one(
            &p,
            |m| lowering::write_ciphertext(m, OperandStem::A, a),
            &shape,
        )
    }
}
