//! Packing and convolution strategies: from network layers to CKKS operation graphs.
//!
//! - [`program`]: [`HeOp`] / [`HeProgram`], a CKKS operation graph with counts
//!   ([`OpCounts`]) and depth tracking; [`exec`]: [`HeExecutor`] runs one on the reference
//!   model's evaluator.
//! - [`layout`]: [`Layout`], how a `C x H x W` feature map sits in ciphertext slots
//!   (channel-major or group-interleaved, gapped and multiplexed).
//! - [`diag`]: any linear map between two layouts by the diagonal method with hoisted
//!   baby-step/giant-step rotations.
//! - [`conv`]: the dense baseline and SpENCNN (HE-group convolution, group-interleaved
//!   encoding, sub-block pruning) for convolutions, and fully connected layers.
//! - [`prune`]: [`prune_blocks`], every convolution's pruning sub-blocks as a network compiles
//!   (what a trainer prunes so that the compiler removes the same blocks).
//! - [`report`]: per-layer operation counts of a whole network ([`network_report`]), and
//!   the whole network compiled into one materialized program ([`compile_he_program`]) or
//!   its structure only ([`compile_he_structure`]), by one walk of the layers (`walk`:
//!   residual blocks by the IR's structure, channel orders by `order`) that counts (`count`)
//!   and, when compiling, assembles the program (`assemble`).
//! - [`cleartext`]: the same programs on plain slot vectors ([`run_cleartext`]), for fast
//!   property tests of the packing.

mod assemble;
pub mod cleartext;
pub mod conv;
mod count;
pub mod diag;
pub mod exec;
pub mod layout;
mod order;
pub mod program;
pub mod prune;
pub mod report;
mod walk;

pub use cleartext::{run_cleartext, run_cleartext_with, CleartextOptions, CleartextRun};
pub use conv::{
    conv2d, conv2d_scaled, he_group_count, linear, linear_scaled, repack, BuildOptions,
    EffectiveLayer, GroupChoice, LayerPlan, PruneConfig, PruneReport, PrunedBlock, SpencnnConfig,
    Strategy,
};
pub use diag::{Bsgs, Diagonals};
pub use exec::{run_with, run_with_circuits, Circuits, HeBackend, HeExecutor, ReferenceBackend};
pub use layout::{ChannelOrder, ChannelPlacement, Layout};
pub use program::{
    merge_tallies, HeOp, HeProgram, OpCounts, OpTally, PlainVector, ReluSpec, TallyKind,
};
pub use prune::{prune_blocks, ConvBlocks, CLI_TAPS_PER_BLOCK};
pub use report::{
    compile_he_program, compile_he_structure, densified, network_report, network_report_with,
    LayerReport, MinimaxChoice, NetworkProgram, NetworkReport, Repack, ReportOptions,
};

mod error;
pub use error::{InputsError, LayoutError, PackError};
