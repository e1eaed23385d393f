//! A whole network as one instruction stream on the accelerator (issue 17).
//!
//! 1. [`trace`]: the network's [`crate::pack::HeProgram`] walked on shape-only ciphertexts
//!    with its ReLUs and bootstrappings expanded: a [`Dataflow`] of CKKS operations over
//!    numbered values (small: a few hundred bytes an operation, no instructions).
//! 2. [`mod@bind`]: each operation lowered at its shape ([`crate::lowering`], cached per shape),
//!    bound to the stream's global buffers (values, keys, plaintexts, temporaries), freed
//!    after last use, and fed chunk by chunk through the scratchpad allocator
//!    ([`heaccel_sim::Allocator`]) into a sink: the timing [`heaccel_sim::Scheduler`]
//!    ([`simulate_dataflow`]), or a vector of instructions for the functional executor
//!    ([`allocate_dataflow`]). The instruction stream is never held whole when timing.

pub mod bind;
pub mod dataflow;
pub mod reorder;
pub mod trace;

use std::collections::BTreeMap;

use heaccel_sim::isa::{Instruction, Program};
use heaccel_sim::{AllocOptions, AllocStats, CriticalPath, HwConfig, Scheduler, Unit};
use heaccel_verification::ckks::Parameters;
use serde::Serialize;
use thiserror::Error;

pub use bind::{bind, Bound, BufferTable};
pub use reorder::reorder_for_key_reuse;
pub use trace::{
    trace_bootstrap, trace_program, Dataflow, DataflowTracer, Expansions, PlainKey, StreamEvent,
    StreamOp, Value,
};

use crate::lowering::LowerError;
use crate::pack::PackError;

/// Errors of whole-program streams.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A lowered operation's buffer does not bind to the stream (a lowering bug, not an
    /// input).
    #[error("binding: {operation}: lowered buffer `{buffer}` {problem}")]
    Binding {
        /// The stream operation ([`StreamOp::name`]).
        operation: &'static str,
        /// The lowered program's buffer name.
        buffer: String,
        /// Why it does not bind.
        problem: BindingProblem,
    },
    /// From the lowering.
    #[error(transparent)]
    Lower(#[from] LowerError),
    /// From the simulator (allocation, timing).
    #[error(transparent)]
    Sim(#[from] heaccel_sim::SimError),
    /// From the network program.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// From the reference model (parameters, circuits).
    #[error(transparent)]
    Ckks(#[from] heaccel_verification::Error),
}

impl From<StreamError> for LowerError {
    /// For callers whose errors are the lowering's (e.g. [`crate::bootsim`]).
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::Lower(e) => e,
            StreamError::Sim(e) => LowerError::Sim(e),
            StreamError::Ckks(e) => LowerError::Ckks(e),
            e @ (StreamError::Binding { .. } | StreamError::Pack(_)) => {
                LowerError::Stream(Box::new(e))
            }
        }
    }
}

/// Why a lowered buffer does not bind to a stream ([`StreamError::Binding`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BindingProblem {
    /// The name is not one of the lowering's buffer names ([`crate::lowering::BufferOperand`]).
    #[error("is outside the lowering's layout")]
    OutsideLayout,
    /// It names an operand the operation does not have.
    #[error("names {0} the operation does not have")]
    Missing(MissingOperand),
}

/// An operand a lowered buffer names ([`BindingProblem::Missing`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingOperand {
    /// An input ciphertext.
    Input,
    /// A result ciphertext.
    Result,
    /// A plaintext.
    Plaintext,
    /// A rotation's Galois key.
    GaloisKey,
    /// A switching key (relinearization or rotation).
    Key,
}

impl std::fmt::Display for MissingOperand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MissingOperand::Input => "an input",
            MissingOperand::Result => "a result",
            MissingOperand::Plaintext => "a plaintext",
            MissingOperand::GaloisKey => "a Galois key",
            MissingOperand::Key => "a key",
        })
    }
}

/// Settings of the allocation of a stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StreamOptions {
    /// Instructions of lookahead for the allocator's furthest-next-use decisions.
    pub lookahead: usize,
    /// Operations ahead whose keys, plaintexts and inputs are prefetched.
    pub prefetch_chunks: usize,
    /// Operations an operation may move ahead so that those reading the same key run back to
    /// back ([`reorder_for_key_reuse`]); 0 or 1 keeps the program's order. Off by default:
    /// on LeNet (`fpga-u280`) it changes nothing and on ResNet-20 (`sharp`) it adds spills
    /// without saving key traffic (a key there is a third of the scratchpad; docs/RESULTS.md).
    pub key_reuse_window: usize,
}

impl Default for StreamOptions {
    /// 2^16 instructions of lookahead (about 8 MB), prefetch two operations ahead, the
    /// program's order.
    fn default() -> Self {
        StreamOptions {
            lookahead: 1 << 16,
            prefetch_chunks: 2,
            key_reuse_window: 1,
        }
    }
}

/// `flow` in the order the options ask for.
fn ordered<'f>(flow: &'f Dataflow, options: &StreamOptions) -> std::borrow::Cow<'f, Dataflow> {
    if options.key_reuse_window > 1 {
        std::borrow::Cow::Owned(reorder_for_key_reuse(flow, options.key_reuse_window))
    } else {
        std::borrow::Cow::Borrowed(flow)
    }
}

/// A whole program timed on one configuration (deterministic: no wall-clock figures, so
/// reports of the same inputs are byte-identical).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WholeProgramSim {
    /// Configuration name.
    pub config: String,
    /// Scratchpad slots (vectors of `N` words) the configuration holds.
    pub scratchpad_slots: u32,
    /// Time of the whole program, microseconds.
    pub time_us: f64,
    /// Cycles of the whole program.
    pub cycles: u64,
    /// CKKS operations of the dataflow (bootstrappings and ReLUs expanded).
    pub operations: usize,
    /// Chunks the allocator took (operations; hoisted groups split to fit).
    pub chunks: u64,
    /// Distinct lowered operation shapes.
    pub templates: usize,
    /// Instructions of the allocated stream (timed).
    pub instructions: u64,
    /// Bootstrappings in the program.
    pub bootstrappings: usize,
    /// Off-chip bytes moved.
    pub offchip_bytes: u64,
    /// `offchip_bytes` by traffic class (key, plaintext, ciphertext, output, spill).
    pub offchip_by_class: BTreeMap<&'static str, u64>,
    /// The compulsory traffic: every key, plaintext and input limb read once and every
    /// output limb written once, bytes.
    pub offchip_lower_bound_bytes: u64,
    /// The busiest unit.
    pub bound: Unit,
    /// Busy fraction by unit name.
    pub busy: BTreeMap<&'static str, f64>,
    /// The chain of instructions that decides the time.
    pub critical_path: CriticalPath,
    /// What the allocator did.
    pub alloc: AllocStats,
}

/// Physical scratchpad slots of `config` for vectors of `N = 2^log_n` words (at most
/// `u32::MAX`).
pub fn scratchpad_slots(config: &HwConfig, log_n: u32) -> u32 {
    let vector = (1u64 << log_n) * config.word_bytes();
    (config.scratchpad.bytes / vector).min(u32::MAX as u64) as u32
}

fn alloc_options(slots: u32, config: &str, options: &StreamOptions) -> AllocOptions {
    AllocOptions {
        slots,
        lookahead: options.lookahead,
        prefetch_chunks: options.prefetch_chunks,
        config: config.to_string(),
    }
}

/// Times `flow` (under `params`) on `config` as one allocated stream (see the module docs).
/// Errors: binding, an operation too large for the scratchpad, the configuration.
pub fn simulate_dataflow(
    params: &Parameters,
    flow: &Dataflow,
    config: &HwConfig,
    options: &StreamOptions,
) -> Result<WholeProgramSim, StreamError> {
    let slots = scratchpad_slots(config, params.log_n());
    let moduli = crate::lowering::prime_table(params);
    let flow = &*ordered(flow, options);
    let bound = bind(
        params,
        flow,
        alloc_options(slots, &config.name, options),
        |buffers| {
            let roles = buffers.iter().map(|b| b.role).collect();
            Ok(Scheduler::new(
                config,
                params.log_n(),
                &moduli,
                slots,
                roles,
            )?)
        },
    )?;
    let report = bound.sink.finish();
    let vector_bytes = (1u64 << params.log_n()) * config.word_bytes();
    Ok(WholeProgramSim {
        config: config.name.clone(),
        scratchpad_slots: slots,
        time_us: report.time_us,
        cycles: report.cycles,
        operations: flow.events.len(),
        chunks: bound.chunks,
        templates: bound.templates,
        instructions: report.instructions,
        bootstrappings: flow.bootstrappings,
        offchip_bytes: report.offchip_bytes,
        offchip_by_class: report.offchip_by_class,
        offchip_lower_bound_bytes: bound.alloc.compulsory_vectors * vector_bytes,
        bound: report.bound,
        busy: report.busy,
        critical_path: report.critical_path,
        alloc: bound.alloc,
    })
}

/// `flow` allocated onto `slots` physical slots as one [`Program`] (for the functional
/// executor; the whole stream in memory, so for small programs), with the buffer table and
/// the allocation's statistics.
pub fn allocate_dataflow(
    params: &Parameters,
    flow: &Dataflow,
    slots: u32,
    options: &StreamOptions,
) -> Result<(Program, BufferTable, AllocStats), StreamError> {
    let flow = &*ordered(flow, options);
    let bound = bind(
        params,
        flow,
        alloc_options(slots, "functional", options),
        |_| Ok(Vec::<Instruction>::new()),
    )?;
    let mut program = Program::new(params.log_n(), crate::lowering::prime_table(params), slots);
    program.buffers = bound.table.buffers.clone();
    program.instructions = bound.sink;
    Ok((program, bound.table, bound.alloc))
}
