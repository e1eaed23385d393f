//! Runs a [`HeProgram`] on a [`HeBackend`]: the reference model's [`Evaluator`]
//! ([`HeExecutor::run`]) or any other implementation of the operations (the accelerator's
//! functional executor, [`crate::funcexec::FunctionalBackend`]), with one schedule.
//!
//! Scales: a [`HeOp::PMult`] plaintext and a [`HeOp::MulConst`] constant are encoded at the
//! scale `q_level` (the prime the following rescale divides by), so `PMult` + `Rescale` returns
//! a ciphertext of exactly the input's scale; a [`HeOp::AddPlain`] plaintext is encoded at the
//! ciphertext's own scale and level. Hoisted rotations of one value run together through
//! [`HeBackend::rotate_hoisted`] (one decomposition) when the first of them is reached. Values
//! are dropped after their last use. Ops run in program order.

use std::collections::HashMap;

use heaccel_verification::bootstrap::Bootstrapper;
use heaccel_verification::circuits::MinimaxActivation;
use heaccel_verification::ckks::{Ciphertext, CkksOps, Encoder, Evaluator, Parameters, Plaintext};

use super::program::{HeOp, HeProgram, ValueId};
use super::{InputsError, PackError};

/// The CKKS operations a [`HeProgram`] needs, with the reference evaluator's semantics (same
/// results, bit for bit, same output scales): what [`HeExecutor::run_with`] schedules.
pub trait HeBackend {
    /// The parameters the ciphertexts live under.
    fn params(&self) -> &Parameters;
    /// Left rotation by `step` (one key switch).
    fn rotate(&mut self, a: &Ciphertext, step: i64) -> Result<Ciphertext, PackError>;
    /// Rotations of `a` by each of `steps` (results in that order), bit-exact with one by one.
    fn rotate_hoisted(
        &mut self,
        a: &Ciphertext,
        steps: &[i64],
    ) -> Result<Vec<Ciphertext>, PackError>;
    /// `a * pt`; the scale becomes `a.scale * pt.scale`.
    fn mul_plain(&mut self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, PackError>;
    /// `a + pt` (same level and scale).
    fn add_plain(&mut self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, PackError>;
    /// `a + b`.
    fn add(&mut self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, PackError>;
    /// `relinearize(a * b)`; scales multiply.
    fn mul_relin(&mut self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, PackError>;
    /// Divides by `q_level`, one level down.
    fn rescale(&mut self, a: &Ciphertext) -> Result<Ciphertext, PackError>;
    /// Adds `value` to every slot.
    fn add_const(&mut self, a: &Ciphertext, value: f64) -> Result<Ciphertext, PackError>;
    /// Multiplies every slot by `value` encoded at `const_scale`.
    fn mul_const(
        &mut self,
        a: &Ciphertext,
        value: f64,
        const_scale: f64,
    ) -> Result<Ciphertext, PackError>;
    /// Drops `a` to `level` (`<= a.level()`), scale unchanged.
    fn drop_level(&mut self, a: &Ciphertext, level: usize) -> Result<Ciphertext, PackError>;
    /// `multiplier * ReLU(t)` by `activation` ([`MinimaxActivation::relu_scaled`]).
    fn relu(
        &mut self,
        activation: &MinimaxActivation,
        t: &Ciphertext,
        multiplier: f64,
    ) -> Result<Ciphertext, PackError>;
    /// Bootstraps `a` (dropped to level 0 first) with `bootstrapper`, whose keys the backend
    /// holds.
    fn bootstrap(
        &mut self,
        bootstrapper: &Bootstrapper,
        a: &Ciphertext,
    ) -> Result<Ciphertext, PackError>;
}

/// What [`HeOp::Relu`] and [`HeOp::Bootstrap`] run: the program's activation and the
/// session's bootstrapper (keys included in the backend's).
#[derive(Debug, Clone, Copy, Default)]
pub struct Circuits<'a> {
    /// The minimax ReLU of [`HeProgram::relu`].
    pub relu: Option<&'a MinimaxActivation>,
    /// The bootstrapping.
    pub bootstrapper: Option<&'a Bootstrapper>,
}

/// The reference model's evaluator as a backend.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceBackend<'a>(pub &'a Evaluator);

impl HeBackend for ReferenceBackend<'_> {
    fn params(&self) -> &Parameters {
        self.0.params()
    }
    fn rotate(&mut self, a: &Ciphertext, step: i64) -> Result<Ciphertext, PackError> {
        Ok(self.0.rotate(a, step)?)
    }
    fn rotate_hoisted(
        &mut self,
        a: &Ciphertext,
        steps: &[i64],
    ) -> Result<Vec<Ciphertext>, PackError> {
        Ok(self.0.rotate_hoisted(a, steps)?)
    }
    fn mul_plain(&mut self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, PackError> {
        Ok(self.0.mul_plain(a, pt)?)
    }
    fn add_plain(&mut self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext, PackError> {
        Ok(self.0.add_plain(a, pt)?)
    }
    fn add(&mut self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, PackError> {
        Ok(self.0.add(a, b)?)
    }
    fn mul_relin(&mut self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext, PackError> {
        Ok(self.0.mul_relin(a, b)?)
    }
    fn rescale(&mut self, a: &Ciphertext) -> Result<Ciphertext, PackError> {
        Ok(self.0.rescale(a)?)
    }
    fn add_const(&mut self, a: &Ciphertext, value: f64) -> Result<Ciphertext, PackError> {
        Ok(self.0.add_const(a, value)?)
    }
    fn mul_const(
        &mut self,
        a: &Ciphertext,
        value: f64,
        const_scale: f64,
    ) -> Result<Ciphertext, PackError> {
        Ok(self.0.mul_const(a, value, const_scale)?)
    }
    fn drop_level(&mut self, a: &Ciphertext, level: usize) -> Result<Ciphertext, PackError> {
        Ok(self.0.drop_level(a, level)?)
    }
    fn relu(
        &mut self,
        activation: &MinimaxActivation,
        t: &Ciphertext,
        multiplier: f64,
    ) -> Result<Ciphertext, PackError> {
        Ok(activation.relu_scaled(self.0, t, multiplier)?.0)
    }
    fn bootstrap(
        &mut self,
        bootstrapper: &Bootstrapper,
        a: &Ciphertext,
    ) -> Result<Ciphertext, PackError> {
        let low = CkksOps::drop_level(self.0, a, 0)?;
        Ok(bootstrapper.bootstrap_with(self.0, &low)?.0)
    }
}

/// Executes programs with an evaluator (which holds the relinearization key and the Galois
/// keys of [`HeProgram::rotation_steps`]) and an encoder of the same parameters.
#[derive(Debug)]
pub struct HeExecutor<'a> {
    evaluator: &'a Evaluator,
    encoder: &'a Encoder,
}

impl<'a> HeExecutor<'a> {
    /// An executor.
    pub fn new(evaluator: &'a Evaluator, encoder: &'a Encoder) -> Self {
        HeExecutor { evaluator, encoder }
    }

    /// Runs `program` on `inputs` (one ciphertext per program input, all at the same level
    /// with `slots` slots) on the reference evaluator and returns its outputs.
    pub fn run(
        &self,
        program: &HeProgram,
        inputs: &[Ciphertext],
    ) -> Result<Vec<Ciphertext>, PackError> {
        run_with(
            &mut ReferenceBackend(self.evaluator),
            self.encoder,
            program,
            inputs,
            &mut |_, _| {},
        )
    }

    /// Runs `program` on `backend` (encoding plaintexts with this executor's encoder).
    pub fn run_with(
        &self,
        backend: &mut dyn HeBackend,
        program: &HeProgram,
        inputs: &[Ciphertext],
    ) -> Result<Vec<Ciphertext>, PackError> {
        run_with(backend, self.encoder, program, inputs, &mut |_, _| {})
    }
}

/// Runs `program` on `inputs` with `backend` and `encoder` (same parameters), calling
/// `progress(done, total)` after each op; returns the outputs. Errors: an invalid or
/// unmaterialized program, wrong inputs, any operation's error, a ReLU or bootstrapping
/// (which need [`run_with_circuits`]).
pub fn run_with(
    backend: &mut dyn HeBackend,
    encoder: &Encoder,
    program: &HeProgram,
    inputs: &[Ciphertext],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Ciphertext>, PackError> {
    run_with_circuits(
        backend,
        encoder,
        Circuits::default(),
        program,
        inputs,
        progress,
    )
}

/// [`run_with`] for programs with [`HeOp::Relu`] (evaluated by `circuits.relu`, which must be
/// the program's [`HeProgram::relu`]) and [`HeOp::Bootstrap`] (by `circuits.bootstrapper`).
pub fn run_with_circuits(
    backend: &mut dyn HeBackend,
    encoder: &Encoder,
    circuits: Circuits<'_>,
    program: &HeProgram,
    inputs: &[Ciphertext],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Ciphertext>, PackError> {
    {
        program.check()?;
        if !program.is_materialized() {
            return Err(PackError::NotMaterialized);
        }
        if inputs.len() != program.inputs {
            return Err(InputsError::Count {
                given: inputs.len(),
                expected: program.inputs,
                kind: "ciphertexts",
            }
            .into());
        }
        for (i, ct) in inputs.iter().enumerate() {
            if 1usize << ct.log_slots != program.slots {
                return Err(InputsError::LogSlots {
                    input: i,
                    log_slots: ct.log_slots,
                    slots: program.slots,
                }
                .into());
            }
        }
        // Last use of every value (outputs live to the end).
        let n = program.value_count();
        let mut last_use = vec![0usize; n];
        for (k, op) in program.ops.iter().enumerate() {
            for v in op.operands() {
                last_use[v] = k;
            }
        }
        for &o in &program.outputs {
            last_use[o] = usize::MAX;
        }
        // Hoisted rotations grouped by source: (dst, step).
        let mut hoisted: HashMap<ValueId, Vec<(ValueId, i64)>> = HashMap::new();
        for (k, op) in program.ops.iter().enumerate() {
            if let HeOp::Rotate {
                src,
                step,
                hoisted: true,
            } = *op
            {
                hoisted
                    .entry(src)
                    .or_default()
                    .push((program.inputs + k, step));
            }
        }
        let mut values: Vec<Option<Ciphertext>> = vec![None; n];
        for (i, ct) in inputs.iter().enumerate() {
            values[i] = Some(ct.clone());
        }
        let release = |values: &mut Vec<Option<Ciphertext>>, op: &HeOp, k: usize| {
            for v in op.operands() {
                if last_use[v] == k {
                    values[v] = None;
                }
            }
        };
        let q = |ev: &dyn HeBackend, ct: &Ciphertext| {
            ev.params().q_tables()[ct.level()].modulus().value() as f64
        };
        let ev = backend;
        let total = program.ops.len();
        for (k, op) in program.ops.iter().enumerate() {
            let me = program.inputs + k;
            if values[me].is_some() {
                // Computed with its hoisting group.
                release(&mut values, op, k);
                progress(k + 1, total);
                continue;
            }
            let get = |v: ValueId| {
                values[v].as_ref().ok_or_else(|| PackError::Program {
                    op: k,
                    problem: format!("value {v} was released before use"),
                })
            };
            let result = match *op {
                HeOp::Rotate {
                    src,
                    step,
                    hoisted: is_hoisted,
                } => {
                    if is_hoisted {
                        let group = &hoisted[&src];
                        let steps: Vec<i64> = group.iter().map(|&(_, s)| s).collect();
                        let rotated = ev.rotate_hoisted(get(src)?, &steps)?;
                        let mut mine = None;
                        for (&(dst, _), ct) in group.iter().zip(rotated) {
                            if dst == me {
                                mine = Some(ct);
                            } else {
                                values[dst] = Some(ct);
                            }
                        }
                        mine.expect("the group holds this rotation")
                    } else {
                        ev.rotate(get(src)?, step)?
                    }
                }
                HeOp::PMult { src, plain } => {
                    let ct = get(src)?;
                    let pt = encoder.encode_real(
                        &program.plaintexts[plain].values,
                        ct.level(),
                        q(&*ev, ct),
                    )?;
                    ev.mul_plain(ct, &pt)?
                }
                HeOp::AddPlain { src, plain } => {
                    let ct = get(src)?;
                    let pt = encoder.encode_real(
                        &program.plaintexts[plain].values,
                        ct.level(),
                        ct.scale,
                    )?;
                    ev.add_plain(ct, &pt)?
                }
                HeOp::Add { a, b } => ev.add(get(a)?, get(b)?)?,
                HeOp::MulRelin { a, b } => ev.mul_relin(get(a)?, get(b)?)?,
                HeOp::Rescale { src } => ev.rescale(get(src)?)?,
                HeOp::AddConst { src, value } => ev.add_const(get(src)?, value)?,
                HeOp::MulConst { src, value } => {
                    let ct = get(src)?;
                    let scale = q(&*ev, ct);
                    ev.mul_const(ct, value, scale)?
                }
                HeOp::DropLevel { src, levels } => {
                    let ct = get(src)?;
                    let level =
                        ct.level()
                            .checked_sub(levels)
                            .ok_or_else(|| PackError::Program {
                                op: k,
                                problem: format!(
                                    "drop_level of {levels} levels from level {}",
                                    ct.level()
                                ),
                            })?;
                    ev.drop_level(ct, level)?
                }
                HeOp::Relu { src, multiplier } => {
                    let activation = circuits.relu.ok_or_else(|| PackError::Program {
                        op: k,
                        problem: "relu: the executor was given no minimax activation".into(),
                    })?;
                    ev.relu(activation, get(src)?, multiplier)?
                }
                HeOp::Bootstrap { src } => {
                    let bootstrapper = circuits.bootstrapper.ok_or_else(|| PackError::Program {
                        op: k,
                        problem: "bootstrap: the executor was given no bootstrapper".into(),
                    })?;
                    ev.bootstrap(bootstrapper, get(src)?)?
                }
            };
            values[me] = Some(result);
            release(&mut values, op, k);
            progress(k + 1, total);
        }
        program
            .outputs
            .iter()
            .map(|&o| {
                values[o].clone().ok_or_else(|| PackError::Program {
                    op: program.ops.len(),
                    problem: format!("output value {o} was not computed"),
                })
            })
            .collect()
    }
}
