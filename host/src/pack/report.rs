//! Per-layer operation counts of a whole network under a strategy: what
//! `heaccel simulate --model` prints.
//!
//! The network's batch norms are folded first ([`crate::nn::fold_batch_norm`]; rows then carry
//! the folded network's paths). Per layer:
//! - convolution and fully connected: the compiled program of [`crate::pack::conv`] (built for
//!   counting only). The baseline keeps channel-major order; a SpENCNN convolution writes its
//!   output interleaved by its own groups when grouped, else by the next convolution's. Any
//!   mismatch between a layer's output layout and what the next linear layer would like is
//!   absorbed by that layer's diagonals (its map reads any layout), so layout changes are
//!   counted in the layer that pays for them, not as separate rows;
//! - polynomial activation `a x^2 + b x + c = a (x + b/2a)^2 + (c - b^2/4a)`, per ciphertext:
//!   `add_const`, `mul_relin`, `rescale`, `add_const` (one level; `a` is folded into the next
//!   linear layer's weights). With `a = 0`: `mul_const`, `rescale`, `add_const`;
//! - average pooling `k x k` with stride `k`, per ciphertext: a row sum and a column sum by
//!   rotations (`log2 k` rotate-and-add doublings when `k` is a power of two, else `k - 1`
//!   hoisted rotations and additions), no level (`1/k^2` is folded into the next linear layer);
//!   the output stays in place, gapped (the layout's strides grow by `k`);
//! - after a pooling, as [`ReportOptions::repack_pooled`] says (default: always), the gapped map is
//!   repacked into the multiplexed layout of its grid ([`repack`]: masks and channel-offset
//!   rotations, one level) when that needs fewer ciphertexts, in the channel order of the next
//!   convolution (of the last one when none follows); counted in the pooling's row
//!   (`repacked`);
//! - flatten: nothing (the layout is reinterpreted);
//! - residual block: one addition per ciphertext (the shortcut is dropped to the body's level,
//!   which costs nothing here).
//!
//! - with [`ReportOptions::relu`] set, every activation layer (polynomial or ReLU) is the precise
//!   ReLU of a composite minimax sign ([`MinimaxActivation`]), per ciphertext: its
//!   `relu_counts()` over `relu_depth()` consecutive levels. Level schedule: each operation
//!   kind's count is spread evenly over those levels, the remainder on the highest (most
//!   expensive) levels, the final product on the last level's schedule like the rest. The
//!   normalization by the bound `B` is folded into the neighbouring linear layers (free);
//! - with [`ReportOptions::max_pool`] set, every pooling of window 2 or 3 (stride = window) is a
//!   max-pooling, per ciphertext: a row pass then a column pass, each `k - 1` rotations
//!   (hoisted for `k = 3`) of the pass's input and `k - 1` sequential max (`max_counts()` over
//!   `max_depth()` levels each, spread as for ReLU; for `k = 3` one more constant product and
//!   rescale aligns the second rotation), `2` (k = 2) or `4` (k = 3) max depths in all; the
//!   output stays in place, gapped, as for average pooling. Larger windows (global pooling)
//!   stay average pooling.
//!
//! Max pooling without [`ReportOptions::max_pool`], exact ReLU without [`ReportOptions::relu`] and
//! pooling with stride different from its window are refused ([`PackError::Unsupported`]).
//!
//! Compiling ([`compile_he_program`]) with [`ReportOptions::relu`] emits one [`HeOp::Relu`] per
//! ciphertext, given one bound per activation layer ([`ReportOptions::relu_bounds`]: linear
//! layers write their output divided by the next ReLU's bound, ReLUs write theirs in the unit an
//! identity shortcut after them needs); with [`ReportOptions::bootstrap_levels`] it places a
//! [`HeOp::Bootstrap`] of every ciphertext of the flow before a layer that would exceed the
//! levels left; residual branches are aligned by [`HeOp::DropLevel`]; an option-A downsampling
//! shortcut runs as its 1x1 convolution (counted the same way).
//!
//! This file holds the report's types and entry points; the walk they share is
//! `pack/walk.rs` (residual blocks by the IR's structure), its counting `pack/count.rs` and
//! its compiling `pack/assemble.rs`.
//!
//! [`repack`]: super::repack
//! [`HeOp::Relu`]: super::HeOp::Relu
//! [`HeOp::Bootstrap`]: super::HeOp::Bootstrap
//! [`HeOp::DropLevel`]: super::HeOp::DropLevel

use serde::Serialize;

use super::conv::{EffectiveLayer, PruneReport, Strategy};
use super::layout::Layout;
use super::program::{HeProgram, OpCounts, OpTally};
use super::walk::{walk_network, Compiled, Walk};
use super::{InputsError, PackError};
use crate::nn::{weights::init_seeded, FeatureMap, Layer, Network, Shape};
use heaccel_verification::circuits::MinimaxActivation;

/// One row of a [`NetworkReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerReport {
    /// `#path kind 'name'` in the folded network.
    pub location: String,
    /// Layer kind.
    pub kind: &'static str,
    /// Input shape.
    pub input: Shape,
    /// Output shape.
    pub output: Shape,
    /// Ciphertexts in.
    pub ciphertexts_in: usize,
    /// Ciphertexts out.
    pub ciphertexts_out: usize,
    /// Groups a convolution ran with (1 otherwise).
    pub groups: usize,
    /// The counts; `depth` is the levels this layer consumes.
    pub counts: OpCounts,
    /// Levels consumed before this layer starts, on its path from the network input.
    pub start_depth: usize,
    /// The layer's operations by kind and depth below its input (what the simulator costs).
    #[serde(skip)]
    pub profile: Vec<OpTally>,
    /// The approximation an activation or pooling layer ran as (`relu-minimax:13`,
    /// `maxpool-minimax:13`), if any.
    pub approximation: Option<String>,
    /// Whether a pooling's output was repacked into fewer ciphertexts.
    pub repacked: bool,
}

/// A composite minimax approximation (Lee et al.) chosen by its precision `alpha`: the circuits
/// a precise ReLU or max-pooling evaluates.
#[derive(Debug, Clone)]
pub struct MinimaxChoice {
    /// Precision, in `4..=14` (the composite reaches `2^-alpha`).
    pub alpha: u32,
    /// The sign composite and the ReLU and max built on it.
    pub circuits: MinimaxActivation,
}

impl MinimaxChoice {
    /// The choice of `alpha`'s `circuits`.
    pub fn new(alpha: u32, circuits: MinimaxActivation) -> Self {
        MinimaxChoice { alpha, circuits }
    }
}

/// How activations, max-pooling and pooled maps run (see the module docs); the default runs
/// polynomial activations and average pooling only, and repacks pooled maps.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Precise ReLU for every activation layer.
    pub relu: Option<MinimaxChoice>,
    /// Max-pooling for poolings of window 2 or 3.
    pub max_pool: Option<MinimaxChoice>,
    /// Which poolings' maps are repacked into fewer ciphertexts when they can ([`repack`]).
    ///
    /// [`repack`]: super::repack
    pub repack_pooled: Repack,
    /// Compiling [`ReportOptions::relu`]: the bound `B` of each activation layer in execution
    /// order (bodies before shortcuts), each finite and > 0. A ReLU reads `t = x / B`: the
    /// linear layer before it writes its output divided by `B`, and the ReLU writes its own in
    /// the unit its consumers read (the next ReLU's bound across an identity shortcut, else
    /// its own `B`), so no level is spent on normalizing. Unused when counting.
    pub relu_bounds: Vec<f64>,
    /// Compiling with bootstrapping: the levels a value may consume between refreshes (the
    /// program's inputs are at that level, and bootstrapping returns to it). A bootstrapping
    /// of every ciphertext of the flow is placed before each layer that would exceed it (and
    /// before a residual block with no level left), so that both branches of a block share it.
    /// `None`: no bootstrapping. Unused when counting (netsim costs its refreshes itself).
    pub bootstrap_levels: Option<usize>,
}

/// Which poolings repack their output (see [`ReportOptions::repack_pooled`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Repack {
    /// None.
    Never,
    /// Every one that can.
    Always,
    /// Pooling number `i` (0-based, in execution order) when bit `i` is set.
    Mask(u64),
}

impl Repack {
    /// Whether pooling number `pool` (0-based, in execution order) repacks.
    pub(super) fn wants(&self, pool: usize) -> bool {
        match *self {
            Repack::Never => false,
            Repack::Always => true,
            Repack::Mask(m) => pool < 64 && m >> pool & 1 == 1,
        }
    }
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            relu: None,
            max_pool: None,
            repack_pooled: Repack::Always,
            relu_bounds: Vec::new(),
            bootstrap_levels: None,
        }
    }
}

/// Per-layer counts of a network under a strategy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkReport {
    /// Network name.
    pub network: String,
    /// The strategy.
    pub strategy: Strategy,
    /// Slots per ciphertext.
    pub slots: usize,
    /// Rows in execution order (a residual block's row after its branches' rows).
    pub layers: Vec<LayerReport>,
    /// Sums; `depth` is the multiplicative depth of the whole network (residual branches in
    /// parallel).
    pub total: OpCounts,
}

/// `network` with every convolution made dense (`groups = 1`) and all weights re-seeded by
/// [`init_seeded`]`(seed)`: the dense baseline network of a grouped one.
pub fn densified(network: &Network, seed: u64) -> Network {
    let mut dense = network.clone();
    dense.visit_layers_mut(|_, layer| {
        if let Layer::Conv2d(c) = layer {
            c.groups = 1;
            c.weight = vec![0.0; c.out_channels * c.in_channels * c.kernel_size * c.kernel_size];
            c.weight_mask = None;
        }
    });
    init_seeded(&mut dense, seed);
    dense
}

/// A whole network compiled into one materialized [`HeProgram`] by the walk of
/// [`network_report_with`] (same layouts, groups, pruning and op counts), with what it takes
/// to run it and check it. (The simulator's compiled form, without the program's values, is
/// `netsim::CompiledNetwork`.)
///
/// Factors: an activation `a x^2 + b x + c` computes `(x + b/2a)^2 + (c - b^2/4a)/a`, i.e. its
/// output divided by `a`, and an average pooling sums its window, i.e. `k^2` times its output;
/// such a *pending factor* `f` (true value = `f` x encrypted value) is folded into the next
/// linear layer's weights ([`conv2d_scaled`], [`linear_scaled`]) or, for an activation, into
/// its coefficients (`a f^2`, `b f`, `c`). [`NetworkProgram::output_factor`] is what is left
/// at the output; [`NetworkProgram::decode_output`] applies it.
///
/// [`conv2d_scaled`]: super::conv2d_scaled
/// [`linear_scaled`]: super::linear_scaled
#[derive(Debug, Clone)]
pub struct NetworkProgram {
    /// The counts (what `heaccel simulate --model` reports for the same network).
    pub report: NetworkReport,
    /// The whole network: inputs are [`NetworkProgram::input`]'s ciphertexts, outputs
    /// [`NetworkProgram::output`]'s.
    pub program: HeProgram,
    /// Layout of the encrypted input.
    pub input: Layout,
    /// Layout of the encrypted output.
    pub output: Layout,
    /// True output = `output_factor` x decoded slots.
    pub output_factor: f64,
    /// The batch-norm-folded network with every convolution replaced by the layer its program
    /// computes (regrouped and pruned): the plaintext reference of the encrypted result.
    pub reference: Network,
    /// Pruning of each pruned convolution, by path (`#path kind 'name'`).
    pub pruning: Vec<(String, PruneReport)>,
    /// Bootstrapping operations in the program (one per refreshed ciphertext).
    pub bootstrappings: usize,
}

impl NetworkProgram {
    /// The input slot vectors (one per input ciphertext) of `input`, the network's input
    /// shape. Errors when the shape differs.
    pub fn encode_input(&self, input: &FeatureMap) -> Result<Vec<Vec<f64>>, PackError> {
        if input.shape() != self.input.shape {
            return Err(InputsError::InputShape {
                given: input.shape(),
                expected: self.input.shape,
            }
            .into());
        }
        self.input.encode(input)
    }

    /// The network output from the decrypted output slot vectors (one per output ciphertext),
    /// times [`NetworkProgram::output_factor`].
    pub fn decode_output(&self, slots: &[Vec<f64>]) -> Result<FeatureMap, PackError> {
        let mut map = self.output.decode(slots)?;
        for v in map.data_mut() {
            *v *= self.output_factor;
        }
        Ok(map)
    }
}

/// Counts every layer of `network` under `strategy` at `slots` slots per ciphertext.
///
/// Errors: the network's check and batch-norm folding, unsupported layers, layers that do
/// not fit the slots (all naming the layer).
pub fn network_report(
    network: &Network,
    strategy: &Strategy,
    slots: usize,
) -> Result<NetworkReport, PackError> {
    network_report_with(network, strategy, slots, &ReportOptions::default())
}

/// [`network_report`] with activations and max-pooling as `nonlinear` says.
pub fn network_report_with(
    network: &Network,
    strategy: &Strategy,
    slots: usize,
    nonlinear: &ReportOptions,
) -> Result<NetworkReport, PackError> {
    Ok(walk_network(network, strategy, slots, nonlinear, Walk::Count)?.0)
}

/// Compiles `network` under `strategy` at `slots` slots into one materialized program (see
/// [`NetworkProgram`]) by the walk of [`network_report_with`] with `nonlinear`'s repacking.
///
/// Errors: those of [`network_report_with`]; minimax ReLU or max-pooling (counted by the
/// report, not compiled: polynomial activations and average pooling only); residual branches
/// ending with different pending factors.
pub fn compile_he_program(
    network: &Network,
    strategy: &Strategy,
    slots: usize,
    nonlinear: &ReportOptions,
) -> Result<NetworkProgram, PackError> {
    compile_walk(network, strategy, slots, nonlinear, Walk::Materialize)
}

/// [`compile_he_program`] without the plaintexts' values (every [`super::PlainVector`]
/// empty): the same operations, values, levels and plaintext ids, for scheduling and timing a
/// network without its weights' encodings (gigabytes at `N = 2^16`). Compiling minimax ReLUs needs no
/// bounds here: when `nonlinear.relu_bounds` is empty every bound is taken as 1 (bounds only
/// scale weights). The program cannot be executed ([`HeProgram::is_materialized`] is false).
pub fn compile_he_structure(
    network: &Network,
    strategy: &Strategy,
    slots: usize,
    nonlinear: &ReportOptions,
) -> Result<NetworkProgram, PackError> {
    compile_walk(network, strategy, slots, nonlinear, Walk::Structure)
}

fn compile_walk(
    network: &Network,
    strategy: &Strategy,
    slots: usize,
    nonlinear: &ReportOptions,
    mode: Walk,
) -> Result<NetworkProgram, PackError> {
    let (report, compiled) = walk_network(network, strategy, slots, nonlinear, mode)?;
    let Compiled {
        assembly,
        input,
        output,
        folded,
    } = compiled.expect("compile mode assembles");
    let mut reference = folded;
    reference.visit_layers_mut(|location, layer| {
        if let Some((_, EffectiveLayer::Conv2d(conv))) =
            assembly.effective.iter().find(|(p, _)| *p == location.path)
        {
            *layer = Layer::Conv2d(conv.clone());
        }
    });
    let mut program = assembly.program;
    program.outputs = output.values;
    program.check()?;
    Ok(NetworkProgram {
        report,
        program,
        input,
        output: output.layout,
        output_factor: output.factor,
        reference,
        pruning: assembly.pruning,
        bootstrappings: assembly.bootstrappings,
    })
}
