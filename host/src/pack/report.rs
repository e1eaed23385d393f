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

use serde::Serialize;

use super::conv::{
    conv2d_scaled, linear_scaled, repack, BuildOptions, EffectiveLayer, PruneReport, Strategy,
};
use super::diag::Bsgs;
use super::layout::{ChannelOrder, Layout};
use super::program::{
    merge_tallies, op_depth, HeOp, HeProgram, OpCounts, OpTally, ReluSpec, TallyKind, ValueId,
};
use super::PackError;
use crate::nn::{
    fold_batch_norm, weights::init_seeded, Activation, Conv2d, FeatureMap, Layer, Network,
    PoolKind, Shape,
};
use heaccel_verification::circuits::{MinimaxActivation, OpCounts as CircuitCounts};

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

/// How activations, max-pooling and pooled maps run (see the module docs); the default runs
/// polynomial activations and average pooling only, and repacks pooled maps.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Precise ReLU for every activation layer: `(alpha, circuits)`.
    pub relu: Option<(u32, MinimaxActivation)>,
    /// Max-pooling for poolings of window 2 or 3: `(alpha, circuits)`.
    pub max_pool: Option<(u32, MinimaxActivation)>,
    /// Which poolings' maps are repacked into fewer ciphertexts when they can ([`repack`]).
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
    fn wants(&self, pool: usize) -> bool {
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

/// The tallies of `per_ct` copies of a circuit with `counts` spread over `depth` levels from
/// `offset` (each kind's count evenly, the remainder on the first levels).
fn spread(counts: &CircuitCounts, depth: usize, offset: usize, per_ct: usize) -> Vec<OpTally> {
    let depth = depth.max(1);
    let kinds = [
        (TallyKind::MulRelin, counts.ct_mults),
        (TallyKind::MulConst, counts.const_mults),
        (TallyKind::Add, counts.additions),
        (TallyKind::AddConst, counts.const_additions),
        (TallyKind::Rescale, counts.rescales),
        (TallyKind::Rotations { count: 1 }, counts.rotations),
    ];
    let mut out = Vec::new();
    for (kind, n) in kinds {
        for level in 0..depth {
            let c = n / depth + usize::from(level < n % depth);
            out.push(OpTally {
                kind,
                depth: offset + level,
                count: c * per_ct,
            });
        }
    }
    out
}

/// Pack counts of `per_ct` copies of a circuit.
fn circuit_counts(c: &CircuitCounts, per_ct: usize) -> OpCounts {
    OpCounts {
        rotations: c.rotations * per_ct,
        hoisted_rotations: 0,
        decompositions: (c.rotations + c.ct_mults) * per_ct,
        key_switches: (c.rotations + c.ct_mults) * per_ct,
        pmults: 0,
        hmults: c.ct_mults * per_ct,
        adds: c.additions * per_ct,
        plain_adds: c.const_additions * per_ct,
        const_mults: c.const_mults * per_ct,
        rescales: c.rescales * per_ct,
        depth: c.depth as usize,
    }
}

/// Counts, profile and depth of a `k x k` max-pooling of `cts` ciphertexts (see the module
/// docs).
fn max_pool_plan(act: &MinimaxActivation, k: usize, cts: usize) -> (OpCounts, Vec<OpTally>) {
    let md = act.max_depth() as usize;
    let mc = act.max_counts();
    let mut counts = OpCounts::default();
    let mut profile = Vec::new();
    let mut at = 0;
    for _pass in 0..2 {
        let rot = if k == 2 {
            TallyKind::Rotations { count: 1 }
        } else {
            TallyKind::Rotations { count: 2 }
        };
        profile.push(OpTally {
            kind: rot,
            depth: at,
            count: cts,
        });
        counts.rotations += (k - 1) * cts;
        counts.key_switches += (k - 1) * cts;
        counts.decompositions += cts;
        if k == 3 {
            counts.hoisted_rotations += 2 * cts;
        }
        for m in 0..k - 1 {
            profile.extend(spread(&mc, md, at, cts));
            counts = counts.then(&circuit_counts(&mc, cts));
            if m == 1 {
                // the second rotation is aligned down to the first max's output
                for kind in [TallyKind::MulConst, TallyKind::Rescale] {
                    profile.push(OpTally {
                        kind,
                        depth: at - 1,
                        count: cts,
                    });
                }
                counts.const_mults += cts;
                counts.rescales += cts;
            }
            at += md;
        }
    }
    counts.depth = at;
    (counts, merge_tallies(profile))
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
        }
    });
    init_seeded(&mut dense, seed);
    dense
}

/// A whole network compiled into one materialized [`HeProgram`] by the walk of
/// [`network_report_with`] (same layouts, groups, pruning and op counts), with what it takes
/// to run it and check it.
///
/// Factors: an activation `a x^2 + b x + c` computes `(x + b/2a)^2 + (c - b^2/4a)/a`, i.e. its
/// output divided by `a`, and an average pooling sums its window, i.e. `k^2` times its output;
/// such a *pending factor* `f` (true value = `f` x encrypted value) is folded into the next
/// linear layer's weights ([`conv2d_scaled`], [`linear_scaled`]) or, for an activation, into
/// its coefficients (`a f^2`, `b f`, `c`). [`CompiledNetwork::output_factor`] is what is left
/// at the output; [`CompiledNetwork::decode_output`] applies it.
#[derive(Debug, Clone)]
pub struct CompiledNetwork {
    /// The counts (what `heaccel simulate --model` reports for the same network).
    pub report: NetworkReport,
    /// The whole network: inputs are [`CompiledNetwork::input`]'s ciphertexts, outputs
    /// [`CompiledNetwork::output`]'s.
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

impl CompiledNetwork {
    /// The input slot vectors (one per input ciphertext) of `input`, the network's input
    /// shape. Errors when the shape differs.
    pub fn encode_input(&self, input: &FeatureMap) -> Result<Vec<Vec<f64>>, PackError> {
        if input.shape() != self.input.shape {
            return Err(PackError::Inputs(format!(
                "input of shape {}, the network takes {}",
                input.shape(),
                self.input.shape
            )));
        }
        self.input.encode(input)
    }

    /// The network output from the decrypted output slot vectors (one per output ciphertext),
    /// times [`CompiledNetwork::output_factor`].
    pub fn decode_output(&self, slots: &[Vec<f64>]) -> Result<FeatureMap, PackError> {
        let mut map = self.output.decode(slots)?;
        for v in map.data_mut() {
            *v *= self.output_factor;
        }
        Ok(map)
    }
}

/// The whole-network program being assembled (compile mode of the walk).
struct Assembly {
    program: HeProgram,
    /// The depth of every value of `program` (see [`HeProgram::check`]).
    depths: Vec<usize>,
    /// Effective convolutions by path.
    effective: Vec<(String, EffectiveLayer)>,
    pruning: Vec<(String, PruneReport)>,
    /// Bootstrapping operations emitted.
    bootstrappings: usize,
}

/// A feature map in flight: its layout, its ciphertexts in the assembled program (empty when
/// only counting) and its pending factor (see [`CompiledNetwork`]).
#[derive(Debug, Clone)]
struct Flow {
    layout: Layout,
    values: Vec<ValueId>,
    factor: f64,
}

/// `op` with its values renumbered by `value` and its plaintexts shifted by `plain_offset`.
fn renumber(op: HeOp, value: impl Fn(ValueId) -> ValueId, plain_offset: usize) -> HeOp {
    match op {
        HeOp::Rotate { src, step, hoisted } => HeOp::Rotate {
            src: value(src),
            step,
            hoisted,
        },
        HeOp::PMult { src, plain } => HeOp::PMult {
            src: value(src),
            plain: plain + plain_offset,
        },
        HeOp::AddPlain { src, plain } => HeOp::AddPlain {
            src: value(src),
            plain: plain + plain_offset,
        },
        HeOp::Add { a, b } => HeOp::Add {
            a: value(a),
            b: value(b),
        },
        HeOp::MulRelin { a, b } => HeOp::MulRelin {
            a: value(a),
            b: value(b),
        },
        HeOp::Rescale { src } => HeOp::Rescale { src: value(src) },
        HeOp::AddConst { src, value: c } => HeOp::AddConst {
            src: value(src),
            value: c,
        },
        HeOp::MulConst { src, value: c } => HeOp::MulConst {
            src: value(src),
            value: c,
        },
        HeOp::Relu { src, multiplier } => HeOp::Relu {
            src: value(src),
            multiplier,
        },
        HeOp::Bootstrap { src } => HeOp::Bootstrap { src: value(src) },
        HeOp::DropLevel { src, levels } => HeOp::DropLevel {
            src: value(src),
            levels,
        },
    }
}

struct Walker<'a> {
    strategy: &'a Strategy,
    nonlinear: &'a ReportOptions,
    slots: usize,
    rows: Vec<LayerReport>,
    /// Group counts of the non-shortcut convolutions in execution order, with their paths.
    conv_groups: Vec<(String, usize)>,
    /// Non-shortcut convolutions walked so far.
    convs_seen: usize,
    /// Poolings walked so far.
    pools_seen: usize,
    /// Paths of the activation layers in execution order (index = bound index).
    activations: Vec<String>,
    /// Compiling minimax ReLUs (units land on their bounds).
    compiles_relu: bool,
    /// The program being assembled, when compiling.
    assembly: Option<Assembly>,
    /// Plaintexts get their values (else the program's structure only).
    materialize: bool,
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
/// [`CompiledNetwork`]) by the walk of [`network_report_with`] with `nonlinear`'s repacking.
///
/// Errors: those of [`network_report_with`]; minimax ReLU or max-pooling (counted by the
/// report, not compiled: polynomial activations and average pooling only); residual branches
/// ending with different pending factors.
pub fn compile_he_program(
    network: &Network,
    strategy: &Strategy,
    slots: usize,
    nonlinear: &ReportOptions,
) -> Result<CompiledNetwork, PackError> {
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
) -> Result<CompiledNetwork, PackError> {
    compile_walk(network, strategy, slots, nonlinear, Walk::Structure)
}

fn compile_walk(
    network: &Network,
    strategy: &Strategy,
    slots: usize,
    nonlinear: &ReportOptions,
    mode: Walk,
) -> Result<CompiledNetwork, PackError> {
    let (report, compiled) = walk_network(network, strategy, slots, nonlinear, mode)?;
    let (assembly, input, output, folded) = compiled.expect("compile mode assembles");
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
    Ok(CompiledNetwork {
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

type Compiled = (Assembly, Layout, Flow, Network);

/// What a walk of the network builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// Counts only.
    Count,
    /// The program, plaintexts without values.
    Structure,
    /// The program with every plaintext's values.
    Materialize,
}

fn walk_network(
    network: &Network,
    strategy: &Strategy,
    slots: usize,
    nonlinear: &ReportOptions,
    mode: Walk,
) -> Result<(NetworkReport, Option<Compiled>), PackError> {
    let compile = mode != Walk::Count;
    let unit_bounds;
    let nonlinear = if mode == Walk::Structure && nonlinear.relu_bounds.is_empty() {
        let mut paths = Vec::new();
        activation_paths(&fold_batch_norm(network)?.layers, "", &mut paths);
        unit_bounds = ReportOptions {
            relu_bounds: vec![1.0; paths.len()],
            ..nonlinear.clone()
        };
        &unit_bounds
    } else {
        nonlinear
    };
    let folded = fold_batch_norm(network)?;
    let placed = folded.placed_layers()?;
    let conv_groups = placed
        .iter()
        .filter(|p| !p.location.path.contains("shortcut"))
        .filter_map(|p| match p.layer {
            Layer::Conv2d(c) => Some((
                p.location.path.clone(),
                strategy.groups_for(c, p.input, slots),
            )),
            _ => None,
        })
        .collect();
    let first_groups = placed
        .iter()
        .find_map(|p| match p.layer {
            Layer::Conv2d(c) => Some(strategy.groups_for(c, p.input, slots)),
            _ => None,
        })
        .unwrap_or(1);
    let input = Layout::replicated(
        folded.input_shape,
        slots,
        strategy.channel_order(first_groups),
    )?;
    let ciphertexts = input.ciphertexts;
    let mut activations = Vec::new();
    activation_paths(&folded.layers, "", &mut activations);
    let compiles_relu = compile && nonlinear.relu.is_some();
    if compiles_relu {
        if nonlinear.relu_bounds.len() != activations.len() {
            return Err(PackError::Inputs(format!(
                "{} ReLU bounds for a network with {} activation layers",
                nonlinear.relu_bounds.len(),
                activations.len()
            )));
        }
        if let Some(b) = nonlinear
            .relu_bounds
            .iter()
            .find(|b| !(b.is_finite() && **b > 0.0))
        {
            return Err(PackError::Inputs(format!(
                "ReLU bound {b}: expected finite and > 0"
            )));
        }
    }
    let relu_spec = nonlinear
        .relu
        .as_ref()
        .filter(|_| compiles_relu)
        .map(|(alpha, act)| ReluSpec {
            alpha: *alpha,
            eps: act.composite().eps(),
            depth: act.relu_depth() as usize,
        });
    let mut walker = Walker {
        strategy,
        nonlinear,
        slots,
        rows: Vec::new(),
        conv_groups,
        convs_seen: 0,
        pools_seen: 0,
        assembly: compile.then(|| Assembly {
            program: HeProgram {
                relu: relu_spec,
                ..HeProgram::new(slots, ciphertexts)
            },
            depths: vec![0; ciphertexts],
            effective: Vec::new(),
            pruning: Vec::new(),
            bootstrappings: 0,
        }),
        activations,
        compiles_relu,
        materialize: mode == Walk::Materialize,
    };
    let flow = Flow {
        layout: input.clone(),
        values: if compile {
            (0..ciphertexts).collect()
        } else {
            Vec::new()
        },
        factor: 1.0,
    };
    let (output, depth) = walker.walk(&folded.layers, "", flow, None, 0, 1.0)?;
    let mut total = walker
        .rows
        .iter()
        .fold(OpCounts::default(), |acc, r| acc.beside(&r.counts));
    total.depth = depth;
    let report = NetworkReport {
        network: network.name.clone(),
        strategy: *strategy,
        slots,
        layers: walker.rows,
        total,
    };
    let compiled = walker
        .assembly
        .map(|assembly| (assembly, input, output, folded));
    Ok((report, compiled))
}

fn join(prefix: &str, i: usize) -> String {
    if prefix.is_empty() {
        i.to_string()
    } else {
        format!("{prefix}.{i}")
    }
}

impl Walker<'_> {
    /// The group count of the first non-shortcut convolution after `path` in execution
    /// order (1 if none).
    fn next_groups(&self, path: &str) -> usize {
        let pos = self.conv_groups.iter().position(|(p, _)| p == path);
        match pos {
            Some(i) => self.conv_groups.get(i + 1).map_or(1, |e| e.1),
            None => 1,
        }
    }

    /// The output channel order of the convolution at `path`: channel-major for the dense
    /// baseline; for SpENCNN interleaved by the convolution's own groups when it is grouped
    /// (its diagonals need it), else by the next convolution's groups (a dense convolution
    /// costs the same in any order, and the next one gets its interleaving for free).
    fn output_order(&self, path: &str) -> ChannelOrder {
        let own = self
            .conv_groups
            .iter()
            .find(|(p, _)| p == path)
            .map_or(1, |e| e.1);
        let g = if own > 1 { own } else { self.next_groups(path) };
        self.strategy.channel_order(g)
    }

    /// Appends `prog` (inputs: `inputs`) to the assembled program and returns the values of
    /// its outputs; nothing (an empty list) when only counting.
    fn emit(&mut self, prog: HeProgram, inputs: &[ValueId]) -> Vec<ValueId> {
        let Some(asm) = self.assembly.as_mut() else {
            return Vec::new();
        };
        debug_assert_eq!(inputs.len(), prog.inputs);
        let (base, plain_offset, local_inputs) = (
            asm.program.value_count(),
            asm.program.plaintexts.len(),
            prog.inputs,
        );
        let value = |v: ValueId| {
            if v < local_inputs {
                inputs[v]
            } else {
                base + v - local_inputs
            }
        };
        let relu_depth = asm.program.relu.map_or(0, |r| r.depth);
        for op in prog.ops {
            let op = renumber(op, value, plain_offset);
            asm.depths.push(op_depth(&op, &asm.depths, relu_depth));
            asm.program.ops.push(op);
        }
        asm.program.plaintexts.extend(prog.plaintexts);
        prog.outputs.iter().map(|&o| value(o)).collect()
    }

    /// The deepest of `values` (0 when counting).
    fn depth_of(&self, values: &[ValueId]) -> usize {
        self.assembly.as_ref().map_or(0, |asm| {
            values.iter().map(|&v| asm.depths[v]).max().unwrap_or(0)
        })
    }

    /// Compiling with bootstrapping: bootstraps every ciphertext of `flow` when `need` more
    /// levels would exceed [`ReportOptions::bootstrap_levels`]; an error when `need` alone
    /// does.
    fn refresh(&mut self, flow: &mut Flow, need: usize, location: &str) -> Result<(), PackError> {
        let Some(levels) = self.nonlinear.bootstrap_levels else {
            return Ok(());
        };
        if self.assembly.is_none() {
            return Ok(());
        }
        if need > levels {
            return Err(PackError::Unsupported {
                location: location.to_string(),
                problem: format!(
                    "needs {need} levels, more than the {levels} left after bootstrapping"
                ),
            });
        }
        if self.depth_of(&flow.values) + need <= levels {
            return Ok(());
        }
        let count = flow.values.len();
        let mut prog = HeProgram::new(self.slots, count);
        for ct in 0..count {
            let refreshed = prog.push(HeOp::Bootstrap { src: ct });
            prog.outputs.push(refreshed);
        }
        flow.values = self.emit(prog, &flow.values);
        if let Some(asm) = self.assembly.as_mut() {
            asm.bootstrappings += count;
        }
        Ok(())
    }

    /// Drops `values` to `depth` where they are shallower (compile mode).
    fn drop_to(&mut self, values: &[ValueId], depth: usize) -> Vec<ValueId> {
        let mut out = Vec::with_capacity(values.len());
        for &v in values {
            let d = self.depth_of(&[v]);
            if d < depth {
                let mut prog = HeProgram::new(self.slots, 1);
                let dropped = prog.push(HeOp::DropLevel {
                    src: 0,
                    levels: depth - d,
                });
                prog.outputs.push(dropped);
                out.extend(self.emit(prog, &[v]));
            } else {
                out.push(v);
            }
        }
        out
    }

    /// The bound of the activation layer at `path` (compiling minimax ReLUs).
    fn bound(&self, path: &str) -> Result<f64, PackError> {
        let index = self
            .activations
            .iter()
            .position(|p| p == path)
            .ok_or_else(|| PackError::Unsupported {
                location: format!("#{path}"),
                problem: "no activation layer at this path".into(),
            })?;
        Ok(self.nonlinear.relu_bounds[index])
    }

    /// The unit the output of `layers[i]` is written in when compiling minimax ReLUs: the
    /// next layer's bound when it is an activation, `tail` when `layers[i]` ends the list,
    /// else 1 (true values).
    fn unit_after(
        &self,
        layers: &[Layer],
        prefix: &str,
        i: usize,
        tail: f64,
    ) -> Result<f64, PackError> {
        if !self.compiles_relu {
            return Ok(1.0);
        }
        match layers.get(i + 1) {
            None => Ok(tail),
            Some(Layer::Activation(_)) => self.bound(&join(prefix, i + 1)),
            Some(_) => Ok(1.0),
        }
    }

    /// The unit a minimax ReLU at `layers[i]` with bound `bound` writes: what an identity
    /// shortcut right after it must carry (the block's output unit), `tail` at the end of
    /// the list, else its own bound (multiplier 1).
    fn relu_output_unit(
        &self,
        layers: &[Layer],
        prefix: &str,
        i: usize,
        tail: f64,
        bound: f64,
    ) -> Result<f64, PackError> {
        match layers.get(i + 1) {
            None => Ok(tail),
            Some(Layer::Residual(block)) if block.shortcut.is_empty() => {
                self.unit_after(layers, prefix, i + 1, tail)
            }
            Some(_) => Ok(bound),
        }
    }

    /// Walks a layer list starting `base` levels below the network input; `shortcut_of` is
    /// the path of the last body convolution of the block when walking a shortcut (its output
    /// order must match); `tail` is the unit the list's output is written in when compiling
    /// minimax ReLUs (see [`ReportOptions::relu_bounds`]). Returns the output and the depth
    /// consumed.
    fn walk(
        &mut self,
        layers: &[Layer],
        prefix: &str,
        mut flow: Flow,
        shortcut_of: Option<&str>,
        base: usize,
        tail: f64,
    ) -> Result<(Flow, usize), PackError> {
        let mut depth = 0;
        let compiling = self.assembly.is_some();
        for (i, layer) in layers.iter().enumerate() {
            let path = join(prefix, i);
            let location = format!(
                "#{path} {}{}",
                layer.kind(),
                if layer.name().is_empty() {
                    String::new()
                } else {
                    format!(" '{}'", layer.name())
                }
            );
            let unsupported = |problem: &str| PackError::Unsupported {
                location: location.clone(),
                problem: problem.to_string(),
            };
            let nonlinear = self.nonlinear;
            let need = match layer {
                Layer::Activation(_) => nonlinear
                    .relu
                    .as_ref()
                    .map_or(1, |(_, act)| act.relu_depth() as usize),
                Layer::Flatten | Layer::BatchNorm(_) => 0,
                _ => 1,
            };
            self.refresh(&mut flow, need, &location)?;
            let layout = flow.layout.clone();
            let input_shape = layout.shape;
            let cts_in = layout.ciphertexts;
            // a downsampling shortcut runs as the 1x1 convolution it is
            let as_conv;
            let conv_layer: Option<&Conv2d> = match layer {
                Layer::Conv2d(conv) => Some(conv),
                Layer::Downsample(d) => {
                    as_conv = d.as_conv(&path, input_shape.channels);
                    Some(&as_conv)
                }
                _ => None,
            };
            let options = BuildOptions {
                bsgs: Bsgs::Auto,
                materialize: compiling && self.materialize,
            };
            let mut approximation = None;
            let mut profile = None;
            // the layer's program on `flow.values` (appended after the match), and the
            // pending factor it leaves
            let mut program: Option<HeProgram> = None;
            let mut factor = flow.factor;
            let (counts, groups, next) = match layer {
                Layer::Conv2d(_) | Layer::Downsample(_) => {
                    let conv = conv_layer.expect("a convolution or a downsampling");
                    if shortcut_of.is_none() && matches!(layer, Layer::Conv2d(_)) {
                        self.convs_seen += 1;
                    }
                    let order = self.output_order(shortcut_of.unwrap_or(&path));
                    let unit = self.unit_after(layers, prefix, i, tail)?;
                    let plan = conv2d_scaled(
                        conv,
                        &layout,
                        self.strategy,
                        order,
                        options,
                        flow.factor,
                        unit,
                    )?;
                    profile = Some(plan.program.profile()?);
                    if let Some(asm) = self.assembly.as_mut() {
                        asm.effective.push((path.clone(), plan.effective));
                        if let Some(pruning) = plan.pruning {
                            asm.pruning.push((location.clone(), pruning));
                        }
                    }
                    program = Some(plan.program);
                    factor = unit;
                    (plan.counts, plan.groups, plan.output)
                }
                Layer::Linear(fc) => {
                    let unit = self.unit_after(layers, prefix, i, tail)?;
                    let plan = linear_scaled(fc, &layout, options, flow.factor, unit)?;
                    profile = Some(plan.program.profile()?);
                    program = Some(plan.program);
                    factor = unit;
                    (plan.counts, 1, plan.output)
                }
                Layer::Activation(_) if nonlinear.relu.is_some() => {
                    let (alpha, act) = nonlinear.relu.as_ref().expect("checked");
                    let rc = act.relu_counts();
                    let cts = layout.ciphertexts;
                    if compiling {
                        let bound = self.bound(&path)?;
                        if (flow.factor - bound).abs() > 1e-12 * bound {
                            return Err(unsupported(&format!(
                                "its input is held in units of {}, not its bound {bound} (a \
                                 pooling or polynomial activation before a minimax ReLU is \
                                 not compiled)",
                                flow.factor
                            )));
                        }
                        let out_unit = self.relu_output_unit(layers, prefix, i, tail, bound)?;
                        let mut prog = HeProgram::new(self.slots, cts);
                        for ct in 0..cts {
                            let out = prog.push(HeOp::Relu {
                                src: ct,
                                multiplier: bound / out_unit,
                            });
                            prog.outputs.push(out);
                        }
                        program = Some(prog);
                        factor = out_unit;
                    }
                    approximation = Some(format!("relu-minimax:{alpha}"));
                    profile = Some(merge_tallies(spread(
                        &rc,
                        act.relu_depth() as usize,
                        0,
                        cts,
                    )));
                    let mut counts = circuit_counts(&rc, cts);
                    counts.depth = act.relu_depth() as usize;
                    (counts, 1, layout.clone())
                }
                Layer::Pool(pool)
                    if self.nonlinear.max_pool.is_some()
                        && matches!(pool.kernel_size, 2 | 3)
                        && pool.stride == pool.kernel_size =>
                {
                    if compiling {
                        return Err(unsupported(
                            "the minimax max-pooling is counted, not compiled: average pooling only",
                        ));
                    }
                    let (alpha, act) = self.nonlinear.max_pool.as_ref().expect("checked");
                    let k = pool.kernel_size;
                    let sh = layout.shape;
                    let out_shape =
                        Shape::new(sh.channels, (sh.height - k) / k + 1, (sh.width - k) / k + 1);
                    let (counts, p) = max_pool_plan(act, k, layout.ciphertexts);
                    approximation = Some(format!("maxpool-minimax:{alpha}"));
                    profile = Some(p);
                    (counts, 1, layout.strided(out_shape, k))
                }
                Layer::Activation(act) => {
                    let Activation::Poly { a, b, c } = act.function else {
                        return Err(unsupported(
                            "exact ReLU needs the minimax approximation (activation relu-minimax:ALPHA)",
                        ));
                    };
                    // the input holds x / f: a x^2 + b x + c = (a f^2) y^2 + (b f) y + c
                    let f = flow.factor;
                    let (a, b) = (a * f * f, b * f);
                    let mut prog = HeProgram::new(self.slots, layout.ciphertexts);
                    for ct in 0..layout.ciphertexts {
                        let out = if a != 0.0 {
                            let x = prog.push(HeOp::AddConst {
                                src: ct,
                                value: b / (2.0 * a),
                            });
                            let sq = prog.push(HeOp::MulRelin { a: x, b: x });
                            let r = prog.push(HeOp::Rescale { src: sq });
                            prog.push(HeOp::AddConst {
                                src: r,
                                value: (c - b * b / (4.0 * a)) / a,
                            })
                        } else {
                            let x = prog.push(HeOp::MulConst { src: ct, value: b });
                            let r = prog.push(HeOp::Rescale { src: x });
                            prog.push(HeOp::AddConst { src: r, value: c })
                        };
                        prog.outputs.push(out);
                    }
                    factor = if a != 0.0 { a } else { 1.0 };
                    profile = Some(prog.profile()?);
                    let counts = prog.counts()?;
                    program = Some(prog);
                    (counts, 1, layout.clone())
                }
                Layer::Pool(pool) => {
                    if pool.kind == PoolKind::Max {
                        return Err(unsupported(
                            "max pooling needs the minimax approximation (pool maxpool-minimax:ALPHA, windows 2 and 3 with stride = window)",
                        ));
                    }
                    if pool.stride != pool.kernel_size {
                        return Err(unsupported(
                            "average pooling with stride != kernel_size is not supported",
                        ));
                    }
                    let k = pool.kernel_size;
                    let sh = layout.shape;
                    let out_shape =
                        Shape::new(sh.channels, (sh.height - k) / k + 1, (sh.width - k) / k + 1);
                    let mut prog = HeProgram::new(self.slots, layout.ciphertexts);
                    for ct in 0..layout.ciphertexts {
                        let mut v = ct;
                        for stride in [layout.col_stride, layout.row_stride] {
                            v = window_sum(&mut prog, v, k, stride);
                        }
                        prog.outputs.push(v);
                    }
                    // the window's sum: k^2 times the average
                    factor = flow.factor / (k * k) as f64;
                    profile = Some(prog.profile()?);
                    let counts = prog.counts()?;
                    program = Some(prog);
                    (counts, 1, layout.strided(out_shape, k))
                }
                Layer::Flatten => (OpCounts::default(), 1, layout.flattened()),
                Layer::BatchNorm(_) => {
                    return Err(unsupported("batch norm left after folding"));
                }
                Layer::Residual(block) => {
                    let last_body_conv = last_conv_path(&block.body, &format!("{path}.body"));
                    let start = base + depth;
                    let unit = self.unit_after(layers, prefix, i, tail)?;
                    let (body, body_depth) = self.walk(
                        &block.body,
                        &format!("{path}.body"),
                        flow.clone(),
                        None,
                        start,
                        unit,
                    )?;
                    let (short, short_depth) = self.walk(
                        &block.shortcut,
                        &format!("{path}.shortcut"),
                        flow.clone(),
                        Some(last_body_conv.as_deref().unwrap_or(&path)),
                        start,
                        unit,
                    )?;
                    if body.layout != short.layout {
                        return Err(unsupported(
                            "the body and the shortcut end in different layouts",
                        ));
                    }
                    if compiling && body.factor != short.factor {
                        return Err(unsupported(&format!(
                            "the body and the shortcut end with different pending factors ({} and {}): not compiled",
                            body.factor, short.factor
                        )));
                    }
                    let cts = body.layout.ciphertexts;
                    let mut prog = HeProgram::new(self.slots, 2 * cts);
                    for ct in 0..cts {
                        let s = prog.push(HeOp::Add { a: ct, b: cts + ct });
                        prog.outputs.push(s);
                    }
                    let mut counts = prog.counts()?;
                    profile = Some(prog.profile()?);
                    // Depth of the block = the deeper branch; rows of the branches hold theirs.
                    depth += body_depth.max(short_depth);
                    counts.depth = 0;
                    // the shallower branch is dropped to the deeper one's level
                    let level = self
                        .depth_of(&body.values)
                        .max(self.depth_of(&short.values));
                    let mut inputs = self.drop_to(&body.values, level);
                    inputs.extend(self.drop_to(&short.values, level));
                    flow.values = self.emit(prog, &inputs);
                    factor = body.factor;
                    (counts, 1, body.layout)
                }
            };
            if let Some(prog) = program {
                flow.values = self.emit(prog, &flow.values);
            }
            flow.factor = factor;
            // a pooled map is repacked into fewer ciphertexts when it can be
            let (mut counts, mut next, mut repacked) = (counts, next, false);
            if matches!(layer, Layer::Pool(_)) {
                self.pools_seen += 1;
            }
            if matches!(layer, Layer::Pool(_))
                && self.nonlinear.repack_pooled.wants(self.pools_seen - 1)
            {
                // the next convolution's order, or the last one's when none follows (the
                // fully connected layers read any order)
                let groups = self
                    .conv_groups
                    .get(self.convs_seen)
                    .or_else(|| self.conv_groups.get(self.convs_seen.checked_sub(1)?))
                    .map_or(1, |e| e.1);
                let order = self.strategy.channel_order(groups);
                if let Some((prog, packed)) = repack(&next, order, options)? {
                    let extra = prog.counts()?;
                    let shifted = prog.profile()?.into_iter().map(|mut t| {
                        t.depth += counts.depth;
                        t
                    });
                    profile = Some(merge_tallies(
                        profile
                            .take()
                            .unwrap_or_default()
                            .into_iter()
                            .chain(shifted),
                    ));
                    counts = counts.then(&extra);
                    next = packed;
                    repacked = true;
                    flow.values = self.emit(prog, &flow.values);
                }
            }
            // a residual block's addition happens after its deeper branch
            let start_depth = base + depth;
            if !matches!(layer, Layer::Residual(_)) {
                depth += counts.depth;
            }
            self.rows.push(LayerReport {
                location,
                kind: layer.kind(),
                input: input_shape,
                output: next.shape,
                ciphertexts_in: cts_in,
                ciphertexts_out: next.ciphertexts,
                groups,
                counts,
                start_depth,
                profile: profile.unwrap_or_default(),
                approximation,
                repacked,
            });
            flow.layout = next;
        }
        Ok((flow, depth))
    }
}

/// The paths of the activation layers of `layers` in execution order (bodies before
/// shortcuts), as the walk meets them.
fn activation_paths(layers: &[Layer], prefix: &str, out: &mut Vec<String>) {
    for (i, layer) in layers.iter().enumerate() {
        let path = join(prefix, i);
        match layer {
            Layer::Activation(_) => out.push(path),
            Layer::Residual(block) => {
                activation_paths(&block.body, &format!("{path}.body"), out);
                activation_paths(&block.shortcut, &format!("{path}.shortcut"), out);
            }
            _ => {}
        }
    }
}

fn last_conv_path(layers: &[Layer], prefix: &str) -> Option<String> {
    layers
        .iter()
        .enumerate()
        .rev()
        .find(|(_, l)| matches!(l, Layer::Conv2d(_)))
        .map(|(i, _)| join(prefix, i))
}

/// Sums `k` consecutive pixels `stride` slots apart into the first: `log2 k` doublings for a
/// power of two, else `k - 1` hoisted rotations.
fn window_sum(prog: &mut HeProgram, v: usize, k: usize, stride: usize) -> usize {
    if k <= 1 {
        return v;
    }
    if k.is_power_of_two() {
        let mut acc = v;
        let mut span = 1;
        while span < k {
            let r = prog.push(HeOp::Rotate {
                src: acc,
                step: (span * stride) as i64,
                hoisted: false,
            });
            acc = prog.push(HeOp::Add { a: acc, b: r });
            span *= 2;
        }
        acc
    } else {
        let mut acc = v;
        for a in 1..k {
            let r = prog.push(HeOp::Rotate {
                src: v,
                step: (a * stride) as i64,
                hoisted: true,
            });
            acc = prog.push(HeOp::Add { a: acc, b: r });
        }
        acc
    }
}
