//! ISA programs co-run on the accelerator core and checked against the simulator.
//!
//! [`translate()`] turns an ISA program into the core's instructions, [`core_hw_config`] describes
//! a core as a simulator configuration, and [`verify_core_program`] runs a program on the
//! rust-hdl core (and, given a folder, on its Verilator build) and on the functional executor,
//! compares every stored limb bit-exactly, and compares the core's cycles with the timing
//! simulator's. [`verify_core_operation`] does the same for a whole CKKS operation (HMult
//! with relinearization, rotation, rescale, conjugation) lowered by the host from real
//! ciphertexts and keys, and compares the core's output with the reference evaluator's.
//! `heaccel verify core` is this crate behind a command line.

#![warn(missing_docs)]

pub mod error;
pub mod hw_config;
pub mod memory;
pub mod operation;
pub mod run;
pub mod translate;

pub use error::CoRunError;
pub use heaccel_hdl::core::CoreIssue;
pub use hw_config::core_hw_config;
pub use memory::{check_memory, random_memory, MAX_MEMORY_WORDS};
pub use operation::{
    operation_parameters, verify_core_operation, CoreOperation, CYCLE_TOLERANCE_PERCENT,
    OPERATION_LOG_N,
};
pub use run::{
    issue_policy, verify_core_program, verify_core_with_memory, CoreBuild, CoreRunOutcome,
    CycleComparison, VerifyCoreReport,
};
pub use translate::{translate, CoreProgram};
