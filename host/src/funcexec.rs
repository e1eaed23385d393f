//! The accelerator's functional executor as a [`HeBackend`]: every CKKS operation of a
//! [`crate::pack::HeProgram`] is lowered at its level through [`crate::lowering`], run
//! instruction by instruction on [`heaccel_sim::FunctionalExecutor`], its operands, plaintexts
//! and keys written into the program's off-chip [`Memory`] and its result read back.
//!
//! The results are the reference evaluator's bit for bit (the lowering is bit-exact and the
//! output metadata follows the evaluator's rules: a product's scale is the product of scales,
//! a rescale divides by `q_level`). Hoisted rotations run one by one (each its own
//! decomposition): the reference's hoisting is bit-exact with that, so only the work differs.
//!
//! One executor (one set of NTT tables, index maps and basis converters) serves every
//! program; lowered programs are cached per operation and level, with their memory (the
//! relinearization key written once per level). Rotation programs are cached per level and
//! Galois element, their memory built per call (a switching key is `dnum` x 2 x `(L + 1 + K)`
//! limbs: keeping one per element and level would hold gigabytes).

use std::collections::HashMap;

use heaccel_sim::isa::Program;
use heaccel_sim::{FunctionalExecutor, Memory};
use heaccel_verification::automorphism::galois_element_for_rotation;
use heaccel_verification::bootstrap::Bootstrapper;
use heaccel_verification::circuits::MinimaxActivation;
use heaccel_verification::ckks::{
    Ciphertext, CkksOps, GaloisKeys, Parameters, Plaintext, RelinKey,
};

use crate::funcops::FunctionalOps;
use crate::lowering::{self, LowerError, OperandStem};
use crate::pack::{HeBackend, PackError};

/// A program whose memory is kept between calls, by operation and level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Cached {
    Add(usize),
    PMult(usize),
    AddPlain(usize),
    MulRelin(usize),
    Rescale(usize),
}

/// What a [`FunctionalBackend`] has run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunctionalStats {
    /// Lowered programs run.
    pub programs: usize,
    /// Instructions executed.
    pub instructions: usize,
}

/// The program that carries the whole prime table of `params` (`q_0 .. q_L`, `p_0 ..`): what
/// [`FunctionalBackend::new`] builds its executor from (every lowering of `params` has it).
pub fn prime_table_program(params: &Parameters) -> Result<Program, PackError> {
    lowering::lower_add(params, params.max_level()).map_err(lower_error)
}

fn lower_error(e: LowerError) -> PackError {
    PackError::Program {
        op: 0,
        problem: format!("functional executor: {e}"),
    }
}

fn sim_error(e: heaccel_sim::SimError) -> PackError {
    lower_error(LowerError::Sim(e))
}

/// Runs CKKS operations on the accelerator's functional executor (see the module docs).
#[derive(Debug)]
pub struct FunctionalBackend<'a> {
    template: &'a Program,
    params: &'a Parameters,
    relin: Option<&'a RelinKey>,
    galois: &'a GaloisKeys,
    executor: FunctionalExecutor<'a>,
    cached: HashMap<Cached, (Program, Memory)>,
    rotations: HashMap<(usize, u64), Program>,
    stats: FunctionalStats,
    /// Runs the circuits (ReLU, bootstrapping, level drops) operation by operation, made on
    /// first use and kept so that its lowered programs are cached across calls.
    circuits: Option<FunctionalOps<'a>>,
}

impl<'a> FunctionalBackend<'a> {
    /// A backend for `params` with its evaluation keys; `template` is
    /// [`prime_table_program`]`(params)`.
    pub fn new(
        template: &'a Program,
        params: &'a Parameters,
        relin: Option<&'a RelinKey>,
        galois: &'a GaloisKeys,
    ) -> Result<Self, PackError> {
        lowering::check_whole_keys(params, galois.keys.values().chain(relin.map(|r| &r.key)))
            .map_err(lower_error)?;
        Ok(FunctionalBackend {
            template,
            params,
            relin,
            galois,
            executor: FunctionalExecutor::new(template).map_err(sim_error)?,
            cached: HashMap::new(),
            rotations: HashMap::new(),
            stats: FunctionalStats::default(),
            circuits: None,
        })
    }

    /// What has run so far.
    pub fn stats(&self) -> FunctionalStats {
        let circuits = self
            .circuits
            .as_ref()
            .map(FunctionalOps::stats)
            .unwrap_or_default();
        FunctionalStats {
            programs: self.stats.programs + circuits.programs,
            instructions: self.stats.instructions + circuits.instructions,
        }
    }

    fn note(&mut self, program: &Program) {
        self.stats.programs += 1;
        self.stats.instructions += program.instructions.len();
    }

    /// Runs the cached program `key` with `fill` writing its inputs; returns the output
    /// ciphertext `out` at `level` with `scale` and `like`'s metadata.
    fn run_cached(
        &mut self,
        key: Cached,
        fill: impl FnOnce(&mut Memory) -> Result<(), LowerError>,
        level: usize,
        scale: f64,
        like: &Ciphertext,
    ) -> Result<Ciphertext, PackError> {
        if !self.cached.contains_key(&key) {
            let p = self.params;
            let program = match key {
                Cached::Add(l) => lowering::lower_add(p, l),
                Cached::PMult(l) => lowering::lower_pmult(p, l),
                Cached::AddPlain(l) => lowering::lower_add_plain(p, l),
                Cached::MulRelin(l) => lowering::lower_hmult_relin(p, l),
                Cached::Rescale(l) => lowering::lower_rescale(p, l),
            }
            .map_err(lower_error)?;
            let mut memory = Memory::for_program(&program);
            if let Cached::MulRelin(_) = key {
                let rk = self.relin.ok_or_else(|| PackError::Program {
                    op: 0,
                    problem: "functional executor: no relinearization key".into(),
                })?;
                lowering::write_switching_key(&mut memory, OperandStem::Rlk, &rk.key)
                    .map_err(lower_error)?;
            }
            self.cached.insert(key, (program, memory));
        }
        let (program, memory) = self.cached.get_mut(&key).expect("inserted above");
        fill(memory).map_err(lower_error)?;
        self.executor
            .run_program(program, memory)
            .map_err(sim_error)?;
        let out = lowering::read_ciphertext(memory, OperandStem::Out, level, scale, like)
            .map_err(lower_error)?;
        self.stats.programs += 1;
        self.stats.instructions += program.instructions.len();
        Ok(out)
    }

    /// Runs a program built for one call (constants baked in).
    fn run_once(
        &mut self,
        program: Program,
        a: &Ciphertext,
        scale: f64,
    ) -> Result<Ciphertext, PackError> {
        let mut memory = Memory::for_program(&program);
        lowering::write_ciphertext(&mut memory, OperandStem::A, a).map_err(lower_error)?;
        self.executor
            .run_program(&program, &mut memory)
            .map_err(sim_error)?;
        self.note(&program);
        lowering::read_ciphertext(&memory, OperandStem::Out, a.level(), scale, a)
            .map_err(lower_error)
    }

    fn q(&self, level: usize) -> f64 {
        self.params.q_tables()[level].modulus().value() as f64
    }
}

fn check_degree(a: &Ciphertext, what: &str) -> Result<(), PackError> {
    if a.parts.len() != 2 {
        return Err(PackError::Program {
            op: 0,
            problem: format!(
                "functional executor: {what} takes a degree-1 ciphertext, got {} parts",
                a.parts.len()
            ),
        });
    }
    Ok(())
}

fn check_levels(a: usize, b: usize, what: &str) -> Result<(), PackError> {
    if a != b {
        return Err(PackError::Program {
            op: 0,
            problem: format!("functional executor: {what} of levels {a} and {b}"),
        });
    }
    Ok(())
}

impl HeBackend for FunctionalBackend<'_> {
    fn params(&self) -> &Parameters {
        self.params
    }

    fn rotate(&mut self, a: &Ciphertext, step: i64) -> Result<Ciphertext, PackError> {
        check_degree(a, "rotate")?;
        let slots = 1i64 << a.log_slots;
        let k = step.rem_euclid(slots);
        if k == 0 {
            return Ok(a.clone());
        }
        let g = galois_element_for_rotation(k, self.params.log_n());
        let key = self.galois.keys.get(&g).ok_or_else(|| PackError::Program {
            op: 0,
            problem: format!("functional executor: no Galois key for rotation by {step}"),
        })?;
        let level = a.level();
        if !self.rotations.contains_key(&(level, g)) {
            let program =
                lowering::lower_automorphisms(self.params, level, &[g]).map_err(lower_error)?;
            self.rotations.insert((level, g), program);
        }
        let program = &self.rotations[&(level, g)];
        let mut memory = Memory::for_program(program);
        lowering::write_ciphertext(&mut memory, OperandStem::A, a).map_err(lower_error)?;
        lowering::write_switching_key(&mut memory, OperandStem::Galois(g), key)
            .map_err(lower_error)?;
        self.executor
            .run_program(program, &mut memory)
            .map_err(sim_error)?;
        self.stats.programs += 1;
        self.stats.instructions += program.instructions.len();
        lowering::read_ciphertext(&memory, OperandStem::OutIndexed(0), level, a.scale, a)
            .map_err(lower_error)
    }

    fn rotate_hoisted(
        &mut self,
        a: &Ciphertext,
        steps: &[i64],
    ) -> Result<Vec<Ciphertext>, PackError> {
        steps.iter().map(|&s| self.rotate(a, s)).collect()
    }

    fn mul_plain(&mut self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, PackError> {
        check_degree(a, "mul_plain")?;
        check_levels(a.level(), pt.level(), "mul_plain")?;
        let level = a.level();
        self.run_cached(
            Cached::PMult(level),
            |m| {
                lowering::write_ciphertext(m, OperandStem::A, a)?;
                lowering::write_plaintext(m, OperandStem::M, pt)
            },
            level,
            a.scale * pt.scale,
            a,
        )
    }

    fn add_plain(&mut self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, PackError> {
        check_degree(a, "add_plain")?;
        check_levels(a.level(), pt.level(), "add_plain")?;
        let level = a.level();
        self.run_cached(
            Cached::AddPlain(level),
            |m| {
                lowering::write_ciphertext(m, OperandStem::A, a)?;
                lowering::write_plaintext(m, OperandStem::M, pt)
            },
            level,
            a.scale,
            a,
        )
    }

    fn add(&mut self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, PackError> {
        check_degree(a, "add")?;
        check_degree(b, "add")?;
        check_levels(a.level(), b.level(), "add")?;
        let level = a.level();
        self.run_cached(
            Cached::Add(level),
            |m| {
                lowering::write_ciphertext(m, OperandStem::A, a)?;
                lowering::write_ciphertext(m, OperandStem::B, b)
            },
            level,
            a.scale,
            a,
        )
    }

    fn mul_relin(&mut self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, PackError> {
        check_degree(a, "mul_relin")?;
        check_degree(b, "mul_relin")?;
        check_levels(a.level(), b.level(), "mul_relin")?;
        let level = a.level();
        self.run_cached(
            Cached::MulRelin(level),
            |m| {
                lowering::write_ciphertext(m, OperandStem::A, a)?;
                lowering::write_ciphertext(m, OperandStem::B, b)
            },
            level,
            a.scale * b.scale,
            a,
        )
    }

    fn rescale(&mut self, a: &Ciphertext) -> Result<Ciphertext, PackError> {
        check_degree(a, "rescale")?;
        let level = a.level();
        if level == 0 {
            return Err(PackError::Program {
                op: 0,
                problem: "functional executor: rescale at level 0".into(),
            });
        }
        let scale = a.scale / self.q(level);
        self.run_cached(
            Cached::Rescale(level),
            |m| lowering::write_ciphertext(m, OperandStem::A, a),
            level - 1,
            scale,
            a,
        )
    }

    fn add_const(&mut self, a: &Ciphertext, value: f64) -> Result<Ciphertext, PackError> {
        check_degree(a, "add_const")?;
        let program = lowering::lower_add_const(self.params, a.level(), value, a.scale)
            .map_err(lower_error)?;
        self.run_once(program, a, a.scale)
    }

    fn mul_const(
        &mut self,
        a: &Ciphertext,
        value: f64,
        const_scale: f64,
    ) -> Result<Ciphertext, PackError> {
        check_degree(a, "mul_const")?;
        let program = lowering::lower_mul_const(self.params, a.level(), value, const_scale)
            .map_err(lower_error)?;
        self.run_once(program, a, a.scale * const_scale)
    }

    fn drop_level(&mut self, a: &Ciphertext, level: usize) -> Result<Ciphertext, PackError> {
        CkksOps::drop_level(self.circuit_ops()?, a, level).map_err(lower_error)
    }

    fn relu(
        &mut self,
        activation: &MinimaxActivation,
        t: &Ciphertext,
        multiplier: f64,
    ) -> Result<Ciphertext, PackError> {
        activation
            .relu_scaled(self.circuit_ops()?, t, multiplier)
            .map(|(ct, _)| ct)
            .map_err(lower_error)
    }

    fn bootstrap(
        &mut self,
        bootstrapper: &Bootstrapper,
        a: &Ciphertext,
    ) -> Result<Ciphertext, PackError> {
        let ops = self.circuit_ops()?;
        CkksOps::drop_level(ops, a, 0)
            .and_then(|low| bootstrapper.bootstrap_with(ops, &low))
            .map(|(ct, _)| ct)
            .map_err(lower_error)
    }
}

impl<'a> FunctionalBackend<'a> {
    /// The [`FunctionalOps`] on this backend's parameters and keys that runs circuits (ReLU,
    /// bootstrapping) operation by operation on the functional executor.
    fn circuit_ops(&mut self) -> Result<&FunctionalOps<'a>, PackError> {
        if self.circuits.is_none() {
            self.circuits = Some(
                FunctionalOps::new(self.template, self.params, self.relin, self.galois)
                    .map_err(lower_error)?,
            );
        }
        Ok(self.circuits.as_ref().expect("made above"))
    }
}
