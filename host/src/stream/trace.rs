//! The dataflow of a whole network: a [`HeProgram`] walked on shape-only ciphertexts (levels,
//! scales and slots, no words), its ReLUs and bootstrappings expanded into their CKKS
//! operations, every ciphertext a numbered value. No arithmetic: a ResNet-20 with its
//! bootstrappings traces in seconds at any `N`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use heaccel_verification::automorphism::galois_element_for_rotation;
use heaccel_verification::bootstrap::Bootstrapper;
use heaccel_verification::circuits::MinimaxActivation;
use heaccel_verification::ckks::ops::{shape_ciphertext, ShapeTracer};
use heaccel_verification::ckks::{Ciphertext, CkksOps, Parameters, Plaintext};

use crate::pack::{HeOp, HeProgram, PackError};

pub use super::dataflow::{Dataflow, PlainKey, StreamEvent, StreamOp, Value};

/// What [`HeOp::Relu`] and [`HeOp::Bootstrap`] expand into.
#[derive(Clone, Copy, Debug, Default)]
pub struct Expansions<'a> {
    /// The program's minimax ReLU.
    pub relu: Option<&'a MinimaxActivation>,
    /// A bootstrapping (a [`Bootstrapper::plan`] suffices: no keys are used).
    pub bootstrapper: Option<&'a Bootstrapper>,
}

/// A [`CkksOps`] backend that computes shapes (through a [`ShapeTracer`], which applies the
/// evaluator's checks) and records every operation with the values it reads and defines. A
/// traced ciphertext carries its value in `key_id`.
#[derive(Debug)]
pub struct DataflowTracer<'a> {
    shapes: ShapeTracer<'a>,
    events: RefCell<Vec<StreamEvent>>,
    levels: RefCell<Vec<usize>>,
    scales: RefCell<Vec<f64>>,
    source: Cell<usize>,
    /// Plaintexts read since the last [`DataflowTracer::begin_bootstrap`].
    plaintexts_read: Cell<usize>,
}

impl<'a> DataflowTracer<'a> {
    /// A tracer under `params`.
    pub fn new(params: &'a Parameters) -> Self {
        DataflowTracer {
            shapes: ShapeTracer::new(params),
            events: RefCell::default(),
            levels: RefCell::default(),
            scales: RefCell::default(),
            source: Cell::new(0),
            plaintexts_read: Cell::new(0),
        }
    }

    /// A new value of `shape`'s level, scale and slots.
    pub fn fresh(&self, mut shape: Ciphertext) -> Ciphertext {
        let mut levels = self.levels.borrow_mut();
        shape.key_id = levels.len() as u64;
        levels.push(shape.level());
        self.scales.borrow_mut().push(shape.scale);
        shape
    }

    /// The value a traced ciphertext holds.
    pub fn value(ct: &Ciphertext) -> Value {
        ct.key_id as Value
    }

    /// Later events belong to the network program's operation `op`.
    pub fn set_source(&self, op: usize) {
        self.source.set(op);
    }

    /// A bootstrapping starts: its plaintexts are numbered from 0 again, so every
    /// bootstrapping reads the same ones.
    pub fn begin_bootstrap(&self) {
        self.plaintexts_read.set(0);
    }

    fn record(
        &self,
        op: StreamOp,
        reads: &[&Ciphertext],
        outs: Vec<Ciphertext>,
        plains: Vec<PlainKey>,
    ) -> Vec<Ciphertext> {
        let outs: Vec<Ciphertext> = outs.into_iter().map(|c| self.fresh(c)).collect();
        self.events.borrow_mut().push(StreamEvent {
            op,
            reads: reads.iter().map(|c| Self::value(c)).collect(),
            writes: outs.iter().map(Self::value).collect(),
            plains,
            source: self.source.get(),
        });
        outs
    }

    fn one(
        &self,
        op: StreamOp,
        reads: &[&Ciphertext],
        out: Ciphertext,
        plains: Vec<PlainKey>,
    ) -> Ciphertext {
        self.record(op, reads, vec![out], plains)
            .pop()
            .expect("one result")
    }

    /// `a` times the network plaintext `id` encoded at `a`'s level and the scale of the
    /// prime the next rescale divides by (as [`crate::pack::exec`] encodes it).
    pub fn mul_plain(&self, a: &Ciphertext, id: usize) -> Ciphertext {
        let level = a.level();
        let q = self.shapes.params().q_tables()[level].modulus().value() as f64;
        let shape = shape_ciphertext(self.shapes.params(), level, a.scale * q, a.log_slots);
        self.one(
            StreamOp::MulPlain { level },
            &[a],
            shape,
            vec![PlainKey::Network { id, level }],
        )
    }

    /// `a` plus the network plaintext `id` (at `a`'s level and scale).
    pub fn add_plain(&self, a: &Ciphertext, id: usize) -> Ciphertext {
        let level = a.level();
        self.one(
            StreamOp::AddPlain { level },
            &[a],
            a.clone(),
            vec![PlainKey::Network { id, level }],
        )
    }

    /// The events, value levels and value scales so far.
    pub fn into_parts(self) -> (Vec<StreamEvent>, Vec<usize>, Vec<f64>) {
        (
            self.events.into_inner(),
            self.levels.into_inner(),
            self.scales.into_inner(),
        )
    }
}

type Result<T> = std::result::Result<T, heaccel_verification::Error>;

impl CkksOps for DataflowTracer<'_> {
    type Error = heaccel_verification::Error;
    fn params(&self) -> &Parameters {
        self.shapes.params()
    }
    fn begin_stage(&self, name: &str) {
        self.shapes.begin_stage(name);
    }
    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        let out = self.shapes.add(a, b)?;
        let level = a.level();
        Ok(self.one(StreamOp::Add { level }, &[a, b], out, vec![]))
    }
    fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        let out = self.shapes.sub(a, b)?;
        let level = a.level();
        Ok(self.one(StreamOp::Sub { level }, &[a, b], out, vec![]))
    }
    fn neg(&self, a: &Ciphertext) -> Result<Ciphertext> {
        let out = self.shapes.neg(a)?;
        let level = a.level();
        Ok(self.one(StreamOp::Neg { level }, &[a], out, vec![]))
    }
    fn add_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext> {
        let out = self.shapes.add_const(a, c)?;
        let op = StreamOp::AddConst {
            level: a.level(),
            value: c,
            scale: a.scale,
        };
        Ok(self.one(op, &[a], out, vec![]))
    }
    fn mul_const(&self, a: &Ciphertext, c: f64, const_scale: f64) -> Result<Ciphertext> {
        let out = self.shapes.mul_const(a, c, const_scale)?;
        let op = StreamOp::MulConst {
            level: a.level(),
            value: c,
            const_scale,
        };
        Ok(self.one(op, &[a], out, vec![]))
    }
    fn mul_relin(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        let out = self.shapes.mul_relin(a, b)?;
        let level = a.level();
        Ok(self.one(StreamOp::MulRelin { level }, &[a, b], out, vec![]))
    }
    fn rescale(&self, a: &Ciphertext) -> Result<Ciphertext> {
        let out = self.shapes.rescale(a)?;
        let level = a.level();
        Ok(self.one(StreamOp::Rescale { level }, &[a], out, vec![]))
    }
    fn drop_level(&self, a: &Ciphertext, level: usize) -> Result<Ciphertext> {
        let out = self.shapes.drop_level(a, level)?;
        if level == a.level() {
            return Ok(a.clone());
        }
        let op = StreamOp::DropLevel {
            from: a.level(),
            to: level,
        };
        Ok(self.one(op, &[a], out, vec![]))
    }
    fn mul_monomial(&self, a: &Ciphertext, k: usize) -> Result<Ciphertext> {
        let out = self.shapes.mul_monomial(a, k)?;
        let level = a.level();
        let plain = PlainKey::Monomial { k, level };
        Ok(self.one(StreamOp::MulMonomial { level, k }, &[a], out, vec![plain]))
    }
    fn automorphism(&self, a: &Ciphertext, g: u64) -> Result<Ciphertext> {
        let out = self.shapes.automorphism(a, g)?;
        let op = StreamOp::Rotations {
            level: a.level(),
            galois: vec![g],
        };
        Ok(self.one(op, &[a], out, vec![]))
    }
    fn rotate_hoisted(&self, a: &Ciphertext, steps: &[i64]) -> Result<Vec<Ciphertext>> {
        self.shapes.rotate_hoisted(a, steps)?;
        let slots = 1i64 << a.log_slots;
        let log_n = self.params().log_n();
        // distinct elements in order of first request; step 0 is the operand itself
        let mut galois: Vec<u64> = Vec::new();
        let per_step: Vec<Option<u64>> = steps
            .iter()
            .map(|s| {
                let k = s.rem_euclid(slots);
                (k != 0).then(|| galois_element_for_rotation(k, log_n))
            })
            .collect();
        for g in per_step.iter().flatten() {
            if !galois.contains(g) {
                galois.push(*g);
            }
        }
        let outs = if galois.is_empty() {
            Vec::new()
        } else {
            let shapes = vec![a.clone(); galois.len()];
            let op = StreamOp::Rotations {
                level: a.level(),
                galois: galois.clone(),
            };
            self.record(op, &[a], shapes, vec![])
        };
        let by_element: HashMap<u64, &Ciphertext> = galois.iter().copied().zip(&outs).collect();
        Ok(per_step
            .iter()
            .map(|g| match g {
                Some(g) => by_element[g].clone(),
                None => a.clone(),
            })
            .collect())
    }
    fn inner_product(
        &self,
        babies: &[Ciphertext],
        row: &[(usize, Plaintext)],
        level: usize,
    ) -> Result<Ciphertext> {
        let out = self.shapes.inner_product(babies, row, level)?;
        let first = self.plaintexts_read.get();
        self.plaintexts_read.set(first + row.len());
        let reads: Vec<&Ciphertext> = row.iter().map(|(b, _)| &babies[*b]).collect();
        let plains = (0..row.len())
            .map(|t| PlainKey::Bootstrap {
                index: first + t,
                level,
            })
            .collect();
        let op = StreamOp::InnerProduct {
            level,
            terms: row.len(),
        };
        Ok(self.one(op, &reads, out, plains))
    }
    fn mod_raise(&self, a: &Ciphertext) -> Result<Ciphertext> {
        let out = self.shapes.mod_raise(a)?;
        let to = self.params().max_level();
        Ok(self.one(StreamOp::ModRaise { to }, &[a], out, vec![]))
    }
}

/// Traces `program` under `params`: its inputs at `input_level` with the default scale, every
/// operation as [`crate::pack::exec`] runs it (hoisted rotations of one source together when
/// the first is reached, plaintexts at the scale of the next rescale's prime), each
/// [`HeOp::Relu`] and [`HeOp::Bootstrap`] expanded by `expansions` (a bootstrapping drops its
/// operand to level 0 first). Errors: the program's check, a missing expansion, any shape
/// error of an operation (naming it).
pub fn trace_program(
    params: &Parameters,
    program: &HeProgram,
    input_level: usize,
    expansions: Expansions<'_>,
) -> std::result::Result<Dataflow, PackError> {
    program.check()?;
    let tracer = DataflowTracer::new(params);
    let log_slots = program.slots.trailing_zeros();
    let mut values: Vec<Option<Ciphertext>> = vec![None; program.value_count()];
    let mut inputs = Vec::with_capacity(program.inputs);
    for v in values.iter_mut().take(program.inputs) {
        let ct = tracer.fresh(shape_ciphertext(
            params,
            input_level,
            params.default_scale(),
            log_slots,
        ));
        inputs.push(DataflowTracer::value(&ct));
        *v = Some(ct);
    }
    let mut hoisted: HashMap<usize, Vec<(usize, i64)>> = HashMap::new();
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
    let mut bootstrappings = 0;
    for (k, op) in program.ops.iter().enumerate() {
        let me = program.inputs + k;
        if values[me].is_some() {
            continue; // traced with its hoisting group
        }
        tracer.set_source(k);
        let fail = |problem: String| PackError::Program { op: k, problem };
        let get = |v: usize| -> std::result::Result<Ciphertext, PackError> {
            values[v]
                .clone()
                .ok_or_else(|| fail(format!("value {v} is not defined")))
        };
        let q = |ct: &Ciphertext| params.q_tables()[ct.level()].modulus().value() as f64;
        let traced = |r: Result<Ciphertext>| r.map_err(|e| fail(e.to_string()));
        let result = match *op {
            HeOp::Rotate {
                src,
                step,
                hoisted: h,
            } => {
                if h {
                    let group = &hoisted[&src];
                    let steps: Vec<i64> = group.iter().map(|&(_, s)| s).collect();
                    let rotated = tracer
                        .rotate_hoisted(&get(src)?, &steps)
                        .map_err(|e| fail(e.to_string()))?;
                    for (&(dst, _), ct) in group.iter().zip(rotated) {
                        values[dst] = Some(ct);
                    }
                    continue;
                }
                traced(tracer.rotate(&get(src)?, step))?
            }
            HeOp::PMult { src, plain } => tracer.mul_plain(&get(src)?, plain),
            HeOp::AddPlain { src, plain } => tracer.add_plain(&get(src)?, plain),
            HeOp::Add { a, b } => traced(tracer.add(&get(a)?, &get(b)?))?,
            HeOp::MulRelin { a, b } => traced(tracer.mul_relin(&get(a)?, &get(b)?))?,
            HeOp::Rescale { src } => traced(tracer.rescale(&get(src)?))?,
            HeOp::AddConst { src, value } => traced(tracer.add_const(&get(src)?, value))?,
            HeOp::MulConst { src, value } => {
                let ct = get(src)?;
                traced(tracer.mul_const(&ct, value, q(&ct)))?
            }
            HeOp::DropLevel { src, levels } => {
                let ct = get(src)?;
                let to = ct.level().checked_sub(levels).ok_or_else(|| {
                    fail(format!(
                        "drop_level of {levels} levels from level {}",
                        ct.level()
                    ))
                })?;
                traced(tracer.drop_level(&ct, to))?
            }
            HeOp::Relu { src, multiplier } => {
                let relu = expansions
                    .relu
                    .ok_or_else(|| fail("relu: no minimax activation given".into()))?;
                traced(
                    relu.relu_scaled(&tracer, &get(src)?, multiplier)
                        .map(|r| r.0),
                )?
            }
            HeOp::Bootstrap { src } => {
                let boot = expansions
                    .bootstrapper
                    .ok_or_else(|| fail("bootstrap: no bootstrapping given".into()))?;
                let low = traced(tracer.drop_level(&get(src)?, 0))?;
                tracer.begin_bootstrap();
                bootstrappings += 1;
                traced(boot.bootstrap_with(&tracer, &low).map(|r| r.0))?
            }
        };
        values[me] = Some(result);
    }
    let outputs = program
        .outputs
        .iter()
        .map(|&o| {
            values[o]
                .as_ref()
                .map(DataflowTracer::value)
                .ok_or_else(|| PackError::Program {
                    op: program.ops.len(),
                    problem: format!("output value {o} was not computed"),
                })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let (events, levels, scales) = tracer.into_parts();
    Ok(Dataflow {
        events,
        levels,
        scales,
        inputs,
        outputs,
        bootstrappings,
    })
}

/// One bootstrapping alone as a dataflow: a level-0 input of `2^log_slots` slots at the
/// plan's largest input scale, bootstrapped by `plan` (keys are not used).
pub fn trace_bootstrap(
    params: &Parameters,
    plan: &Bootstrapper,
    log_slots: u32,
) -> Result<Dataflow> {
    let tracer = DataflowTracer::new(params);
    let input = tracer.fresh(shape_ciphertext(
        params,
        0,
        plan.max_input_scale(),
        log_slots,
    ));
    tracer.begin_bootstrap();
    let (output, _) = plan.bootstrap_with(&tracer, &input)?;
    let (events, levels, scales) = tracer.into_parts();
    Ok(Dataflow {
        events,
        levels,
        scales,
        inputs: vec![DataflowTracer::value(&input)],
        outputs: vec![DataflowTracer::value(&output)],
        bootstrappings: 1,
    })
}
