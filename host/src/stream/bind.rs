//! Binding a [`Dataflow`] to one instruction stream: each operation lowered at its shape
//! (templates cached per shape), its buffers bound to the stream's global buffers, chunk by
//! chunk into a [`Sink`] through the scratchpad [`Allocator`].
//!
//! Global buffers, in this order: per value, its two parts `v{value}.c{part}` (role `input`
//! for the network's inputs, `output` for its outputs, else `temp`; `level + 1` limbs);
//! switching keys `rlk.d{j}.{b,a}` and `gk{g}.d{j}.{b,a}` (role `key`, `L + 1 + K` limbs);
//! plaintexts `pt{id}@{level}.m`, `boot{index}@{level}.m`, `mono{k}@{level}.m` (role
//! `plaintext`); the operations' temporaries (`tmp.*`, one of each name, top-level size). A
//! value's buffers are freed after its last read (outputs never), a key's and a plaintext's
//! after their last use, temporaries after every operation that writes them.

use std::collections::HashMap;

use heaccel_sim::isa::{Buffer, BufferRole, Instruction, Program};
use heaccel_sim::{AllocOptions, AllocStats, Allocator, Sink};
use heaccel_verification::automorphism::galois_element_for_rotation;
use heaccel_verification::ckks::Parameters;

use super::reorder::keys_of;
use super::trace::{Dataflow, PlainKey, StreamEvent, StreamOp};
use super::{BindingProblem, MissingOperand, StreamError};
use crate::lowering::{self, BufferOperand, OperandStem};

/// A switching key's buffer: the Galois element (`None`: relinearization), digit, half.
type KeyPart = (Option<u64>, usize, usize);

/// One operation lowered at its shape, with what each of its buffers holds.
#[derive(Debug)]
struct Template {
    program: Program,
    operands: Vec<BufferOperand>,
    /// Rotations: the Galois elements the template was lowered with, replaced by the
    /// event's (position for position).
    placeholders: Vec<u64>,
}

/// Lowered operations by shape.
#[derive(Debug)]
struct Templates<'p> {
    params: &'p Parameters,
    cache: HashMap<String, Template>,
}

impl<'p> Templates<'p> {
    fn key(op: &StreamOp) -> String {
        match op {
            // one template per count of elements: the elements are patched in
            StreamOp::Rotations { level, galois } => format!("rot{level}x{}", galois.len()),
            // the monomial is a plaintext operand: one template per level
            StreamOp::MulMonomial { level, .. } => format!("monomial{level}"),
            StreamOp::AddConst {
                level,
                value,
                scale,
            } => format!("addc{level}:{:x}:{:x}", value.to_bits(), scale.to_bits()),
            StreamOp::MulConst {
                level,
                value,
                const_scale,
            } => format!(
                "mulc{level}:{:x}:{:x}",
                value.to_bits(),
                const_scale.to_bits()
            ),
            other => format!("{other:?}"),
        }
    }

    fn get(&mut self, op: &StreamOp) -> Result<&Template, StreamError> {
        let key = Self::key(op);
        if !self.cache.contains_key(&key) {
            let t = self.lower(op)?;
            self.cache.insert(key.clone(), t);
        }
        Ok(&self.cache[&key])
    }

    fn lower(&self, op: &StreamOp) -> Result<Template, StreamError> {
        let p = self.params;
        let mut placeholders = Vec::new();
        let program = match *op {
            StreamOp::Add { level } => lowering::lower_add(p, level)?,
            StreamOp::Sub { level } => lowering::lower_sub(p, level)?,
            StreamOp::Neg { level } => lowering::lower_neg(p, level)?,
            StreamOp::AddConst {
                level,
                value,
                scale,
            } => lowering::lower_add_const(p, level, value, scale)?,
            StreamOp::MulConst {
                level,
                value,
                const_scale,
            } => lowering::lower_mul_const(p, level, value, const_scale)?,
            StreamOp::MulRelin { level } => lowering::lower_hmult_relin(p, level)?,
            StreamOp::Rescale { level } => lowering::lower_rescale(p, level)?,
            StreamOp::DropLevel { from, to } => lowering::lower_drop_level(p, from, to)?,
            StreamOp::MulMonomial { level, .. } => lowering::lower_mul_monomial(p, level)?,
            StreamOp::Rotations { level, ref galois } => {
                // distinct stand-ins: the elements of rotations by 1, 2, ...
                placeholders = (1..=galois.len() as i64)
                    .map(|k| galois_element_for_rotation(k, p.log_n()))
                    .collect();
                lowering::lower_automorphisms(p, level, &placeholders)?
            }
            StreamOp::InnerProduct { level, terms } => {
                lowering::lower_inner_product(p, level, terms)?
            }
            StreamOp::ModRaise { to } => lowering::lower_mod_raise(p, to)?,
            StreamOp::MulPlain { level } => lowering::lower_pmult(p, level)?,
            StreamOp::AddPlain { level } => lowering::lower_add_plain(p, level)?,
        };
        let operands = program
            .buffers
            .iter()
            .map(|b| {
                BufferOperand::parse(&b.name).ok_or_else(|| StreamError::Binding {
                    operation: op.name(),
                    buffer: b.name.clone(),
                    problem: BindingProblem::OutsideLayout,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Template {
            program,
            operands,
            placeholders,
        })
    }
}

/// The stream's global buffers and where each operand lives.
#[derive(Debug)]
pub struct BufferTable {
    /// Every buffer, indexed by buffer number.
    pub buffers: Vec<Buffer>,
    keys: HashMap<KeyPart, u32>,
    plains: HashMap<PlainKey, u32>,
    temps: HashMap<String, u32>,
}

impl BufferTable {
    /// The buffer of part `part` of `value`.
    pub fn value(value: usize, part: usize) -> u32 {
        (2 * value + part) as u32
    }

    /// The buffer of a plaintext, if the stream reads it.
    pub fn plaintext(&self, key: &PlainKey) -> Option<u32> {
        self.plains.get(key).copied()
    }

    fn build(params: &Parameters, flow: &Dataflow) -> Self {
        let mut buffers = Vec::new();
        let mut is_input = vec![false; flow.levels.len()];
        let mut is_output = vec![false; flow.levels.len()];
        for &v in &flow.inputs {
            is_input[v] = true;
        }
        for &v in &flow.outputs {
            is_output[v] = true;
        }
        for (v, &level) in flow.levels.iter().enumerate() {
            let role = if is_input[v] {
                BufferRole::Input
            } else if is_output[v] {
                BufferRole::Output
            } else {
                BufferRole::Temp
            };
            for part in 0..2 {
                buffers.push(Buffer {
                    name: lowering::ciphertext_buffer(format_args!("v{v}"), part),
                    limbs: level as u32 + 1,
                    role,
                });
            }
        }
        let key_limbs = (params.max_level() + 1 + params.p_tables().len()) as u32;
        let mut table = BufferTable {
            buffers,
            keys: HashMap::new(),
            plains: HashMap::new(),
            temps: HashMap::new(),
        };
        for e in &flow.events {
            for g in keys_of(&e.op) {
                if table.keys.contains_key(&(g, 0, 0)) {
                    continue;
                }
                let stem = g.map_or(OperandStem::Rlk, OperandStem::Galois);
                for digit in 0..params.dnum() {
                    for half in 0..2 {
                        let name = lowering::key_buffer(stem, digit, half);
                        let id = table.push(name, key_limbs, BufferRole::Key);
                        table.keys.insert((g, digit, half), id);
                    }
                }
            }
            for key in &e.plains {
                if table.plains.contains_key(key) {
                    continue;
                }
                let name = match *key {
                    PlainKey::Network { id, level } => format!("pt{id}@{level}.m"),
                    PlainKey::Bootstrap { index, level } => format!("boot{index}@{level}.m"),
                    PlainKey::Monomial { k, level } => format!("mono{k}@{level}.m"),
                };
                let id = table.push(name, key.level() as u32 + 1, BufferRole::Plaintext);
                table.plains.insert(*key, id);
            }
        }
        table
    }

    fn push(&mut self, name: String, limbs: u32, role: BufferRole) -> u32 {
        self.buffers.push(Buffer { name, limbs, role });
        (self.buffers.len() - 1) as u32
    }

    fn temp(&mut self, name: &str, limbs: u32) -> u32 {
        if let Some(&id) = self.temps.get(name) {
            return id;
        }
        let id = self.push(name.to_string(), limbs, BufferRole::Temp);
        self.temps.insert(name.to_string(), id);
        id
    }
}

/// Where each value's, key's and plaintext's last use is (event index).
#[derive(Debug)]
struct LastUses {
    /// `None`: never read; `usize::MAX`: a network output (never freed).
    values: Vec<Option<usize>>,
    keys: HashMap<Option<u64>, usize>,
    plains: HashMap<PlainKey, usize>,
}

impl LastUses {
    fn of(flow: &Dataflow) -> Self {
        let mut values = vec![None; flow.levels.len()];
        let mut keys = HashMap::new();
        let mut plains = HashMap::new();
        for (k, e) in flow.events.iter().enumerate() {
            for &v in &e.reads {
                values[v] = Some(k);
            }
            for key in &e.plains {
                plains.insert(*key, k);
            }
            for g in keys_of(&e.op) {
                keys.insert(g, k);
            }
        }
        for &o in &flow.outputs {
            values[o] = Some(usize::MAX);
        }
        LastUses {
            values,
            keys,
            plains,
        }
    }

    /// Buffers dead after event `k` (`e`): values read for the last time, results never
    /// read, keys and plaintexts used for the last time; sorted, distinct.
    fn frees_after(&self, k: usize, e: &StreamEvent, table: &BufferTable, dnum: usize) -> Vec<u32> {
        let mut frees = Vec::new();
        for &v in &e.reads {
            if self.values[v] == Some(k) {
                frees.extend([BufferTable::value(v, 0), BufferTable::value(v, 1)]);
            }
        }
        for &v in &e.writes {
            if self.values[v].is_none() {
                frees.extend([BufferTable::value(v, 0), BufferTable::value(v, 1)]);
            }
        }
        for key in &e.plains {
            if self.plains[key] == k {
                frees.push(table.plains[key]);
            }
        }
        for g in keys_of(&e.op) {
            if self.keys[&g] == k {
                for digit in 0..dnum {
                    frees.extend([table.keys[&(g, digit, 0)], table.keys[&(g, digit, 1)]]);
                }
            }
        }
        frees.sort_unstable();
        frees.dedup();
        frees
    }
}

/// What binding produced, beside the sink.
#[derive(Debug)]
pub struct Bound<S> {
    /// The sink, after every instruction.
    pub sink: S,
    /// The allocation's statistics.
    pub alloc: AllocStats,
    /// The global buffers.
    pub table: BufferTable,
    /// Chunks pushed (operations, hoisted groups split to fit).
    pub chunks: u64,
    /// Distinct operation templates lowered.
    pub templates: usize,
}

/// Binds `flow` (under `params`) to one stream of `options.slots` physical slots into `sink`
/// (built from the buffer table by `make_sink`). A hoisted group of rotations too large for
/// the scratchpad is split into groups that fit (each its own decomposition; results are
/// bit-exact either way). Errors: a lowering error, an operation that does not fit the
/// scratchpad alone, any allocation error.
pub fn bind<S: Sink>(
    params: &Parameters,
    flow: &Dataflow,
    options: AllocOptions,
    make_sink: impl FnOnce(&[Buffer]) -> Result<S, StreamError>,
) -> Result<Bound<S>, StreamError> {
    let mut table = BufferTable::build(params, flow);
    let mut templates = Templates {
        params,
        cache: HashMap::new(),
    };
    // temporaries of every template shape are made on first sight, so collect them first:
    // the allocator needs the whole table up front
    let temp_limbs = params.max_level() as u32 + 1;
    for e in &flow.events {
        let t = templates.get(&e.op)?;
        for (b, operand) in t.program.buffers.iter().zip(&t.operands) {
            if *operand == BufferOperand::Temp {
                table.temp(&b.name, temp_limbs);
            }
        }
    }
    let slots = options.slots;
    let sink = make_sink(&table.buffers)?;
    let mut alloc = Allocator::new(table.buffers.clone(), options, sink)?;
    let last = LastUses::of(flow);
    let mut chunks = 0u64;
    for (k, e) in flow.events.iter().enumerate() {
        let frees = last.frees_after(k, e, &table, params.dnum());
        let parts = split_to_fit(&mut templates, e, slots)?;
        let count = parts.len();
        for (i, part) in parts.into_iter().enumerate() {
            let t = templates.get(&part.op)?;
            let mut map = Vec::with_capacity(t.operands.len());
            for (b, operand) in t.program.buffers.iter().zip(&t.operands) {
                map.push(resolve(&table, &part, t, operand, &b.name)?);
            }
            let mut instructions: Vec<Instruction> = t
                .program
                .instructions
                .iter()
                .map(|ins| rebind(ins, &map, &t.placeholders, &part.op))
                .collect();
            for (operand, &id) in t.operands.iter().zip(&map) {
                if *operand == BufferOperand::Temp {
                    instructions.push(Instruction::Free { buffer: id });
                }
            }
            if i + 1 == count {
                instructions.extend(frees.iter().map(|&buffer| Instruction::Free { buffer }));
            }
            alloc.push_chunk(instructions, t.program.slots)?;
            chunks += 1;
        }
    }
    let (sink, stats) = alloc.finish()?;
    Ok(Bound {
        sink,
        alloc: stats,
        table,
        chunks,
        templates: templates.cache.len(),
    })
}

/// An event, or one group of a split hoisted rotation.
struct Part {
    op: StreamOp,
    reads: Vec<usize>,
    writes: Vec<usize>,
    plains: Vec<PlainKey>,
}

/// The event as chunks that fit `slots`: itself, or its rotations in groups of the largest
/// count whose template fits.
fn split_to_fit(
    templates: &mut Templates<'_>,
    e: &StreamEvent,
    slots: u32,
) -> Result<Vec<Part>, StreamError> {
    let whole = || Part {
        op: e.op.clone(),
        reads: e.reads.clone(),
        writes: e.writes.clone(),
        plains: e.plains.clone(),
    };
    let StreamOp::Rotations { level, galois } = &e.op else {
        return Ok(vec![whole()]);
    };
    let mut count = galois.len();
    while count > 1 {
        let op = StreamOp::Rotations {
            level: *level,
            galois: galois[..count].to_vec(),
        };
        if templates.get(&op)?.program.slots <= slots {
            break;
        }
        count = count.div_ceil(2);
    }
    if count == galois.len() {
        return Ok(vec![whole()]);
    }
    Ok(galois
        .chunks(count)
        .zip(e.writes.chunks(count))
        .map(|(g, w)| Part {
            op: StreamOp::Rotations {
                level: *level,
                galois: g.to_vec(),
            },
            reads: e.reads.clone(),
            writes: w.to_vec(),
            plains: Vec::new(),
        })
        .collect())
}

fn resolve(
    table: &BufferTable,
    part: &Part,
    t: &Template,
    operand: &BufferOperand,
    name: &str,
) -> Result<u32, StreamError> {
    let missing = |what: MissingOperand| StreamError::Binding {
        operation: part.op.name(),
        buffer: name.to_string(),
        problem: BindingProblem::Missing(what),
    };
    Ok(match *operand {
        BufferOperand::Input { index, part: p } => BufferTable::value(
            *part
                .reads
                .get(index)
                .ok_or_else(|| missing(MissingOperand::Input))?,
            p,
        ),
        BufferOperand::Output { index, part: p } => BufferTable::value(
            *part
                .writes
                .get(index)
                .ok_or_else(|| missing(MissingOperand::Result))?,
            p,
        ),
        BufferOperand::Plaintext { index } => {
            let key = part
                .plains
                .get(index)
                .ok_or_else(|| missing(MissingOperand::Plaintext))?;
            table.plains[key]
        }
        BufferOperand::Key {
            galois,
            digit,
            half,
        } => {
            let real = match (galois, &part.op) {
                (None, _) => None,
                (Some(g), StreamOp::Rotations { galois: real, .. }) => {
                    let pos = t
                        .placeholders
                        .iter()
                        .position(|&p| p == g)
                        .ok_or_else(|| missing(MissingOperand::GaloisKey))?;
                    Some(real[pos])
                }
                (Some(_), _) => return Err(missing(MissingOperand::GaloisKey)),
            };
            *table
                .keys
                .get(&(real, digit, half))
                .ok_or_else(|| missing(MissingOperand::Key))?
        }
        BufferOperand::Temp => table.temps[name],
    })
}

/// `ins` with its buffer renumbered by `map` and, for rotations, its Galois element
/// replaced by the event's.
fn rebind(ins: &Instruction, map: &[u32], placeholders: &[u64], op: &StreamOp) -> Instruction {
    match ins.clone() {
        Instruction::Load { dst, buffer, limb } => Instruction::Load {
            dst,
            buffer: map[buffer as usize],
            limb,
        },
        Instruction::Store { src, buffer, limb } => Instruction::Store {
            src,
            buffer: map[buffer as usize],
            limb,
        },
        Instruction::Free { buffer } => Instruction::Free {
            buffer: map[buffer as usize],
        },
        Instruction::Automorph {
            dst,
            src,
            galois,
            form,
            modulus,
        } => {
            let galois = match op {
                StreamOp::Rotations { galois: real, .. } => placeholders
                    .iter()
                    .position(|&p| p == galois)
                    .map_or(galois, |pos| real[pos]),
                _ => galois,
            };
            Instruction::Automorph {
                dst,
                src,
                galois,
                form,
                modulus,
            }
        }
        other => other,
    }
}
