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

use serde::Serialize;

use super::conv::{conv2d, linear, repack, BuildOptions, Strategy};
use super::diag::Bsgs;
use super::layout::{ChannelOrder, Layout};
use super::program::{merge_tallies, HeOp, HeProgram, OpCounts, OpTally, TallyKind};
use super::PackError;
use crate::nn::{
    fold_batch_norm, weights::init_seeded, Activation, Layer, Network, PoolKind, Shape,
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
    let mut walker = Walker {
        strategy,
        nonlinear,
        slots,
        rows: Vec::new(),
        conv_groups,
        convs_seen: 0,
        pools_seen: 0,
    };
    let (_, depth) = walker.walk(&folded.layers, "", input, None, 0)?;
    let mut total = walker
        .rows
        .iter()
        .fold(OpCounts::default(), |acc, r| acc.beside(&r.counts));
    total.depth = depth;
    Ok(NetworkReport {
        network: network.name.clone(),
        strategy: *strategy,
        slots,
        layers: walker.rows,
        total,
    })
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

    /// Walks a layer list starting `base` levels below the network input; `shortcut_of` is
    /// the path of the last body convolution of the block when walking a shortcut (its output
    /// order must match). Returns the output layout and the depth consumed.
    fn walk(
        &mut self,
        layers: &[Layer],
        prefix: &str,
        mut layout: Layout,
        shortcut_of: Option<&str>,
        base: usize,
    ) -> Result<(Layout, usize), PackError> {
        let mut depth = 0;
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
            let input_shape = layout.shape;
            let cts_in = layout.ciphertexts;
            let options = BuildOptions {
                bsgs: Bsgs::Auto,
                materialize: false,
            };
            let mut approximation = None;
            let mut profile = None;
            let (counts, groups, next) = match layer {
                Layer::Conv2d(conv) => {
                    if shortcut_of.is_none() {
                        self.convs_seen += 1;
                    }
                    let order = self.output_order(shortcut_of.unwrap_or(&path));
                    let plan = conv2d(conv, &layout, self.strategy, order, options)?;
                    profile = Some(plan.program.profile()?);
                    (plan.counts, plan.groups, plan.output)
                }
                Layer::Linear(fc) => {
                    let plan = linear(fc, &layout, options)?;
                    profile = Some(plan.program.profile()?);
                    (plan.counts, 1, plan.output)
                }
                Layer::Activation(_) if self.nonlinear.relu.is_some() => {
                    let (alpha, act) = self.nonlinear.relu.as_ref().expect("checked");
                    let rc = act.relu_counts();
                    let cts = layout.ciphertexts;
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
                    profile = Some(prog.profile()?);
                    (prog.counts()?, 1, layout.clone())
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
                    profile = Some(prog.profile()?);
                    (prog.counts()?, 1, layout.strided(out_shape, k))
                }
                Layer::Flatten => (OpCounts::default(), 1, layout.flattened()),
                Layer::BatchNorm(_) => {
                    return Err(unsupported("batch norm left after folding"));
                }
                Layer::Residual(block) => {
                    let last_body_conv = last_conv_path(&block.body, &format!("{path}.body"));
                    let start = base + depth;
                    let (body, body_depth) = self.walk(
                        &block.body,
                        &format!("{path}.body"),
                        layout.clone(),
                        None,
                        start,
                    )?;
                    let (short, short_depth) = self.walk(
                        &block.shortcut,
                        &format!("{path}.shortcut"),
                        layout.clone(),
                        Some(last_body_conv.as_deref().unwrap_or(&path)),
                        start,
                    )?;
                    if body != short {
                        return Err(unsupported(
                            "the body and the shortcut end in different layouts",
                        ));
                    }
                    let mut prog = HeProgram::new(self.slots, 2 * body.ciphertexts);
                    for ct in 0..body.ciphertexts {
                        let s = prog.push(HeOp::Add {
                            a: ct,
                            b: body.ciphertexts + ct,
                        });
                        prog.outputs.push(s);
                    }
                    let mut counts = prog.counts()?;
                    profile = Some(prog.profile()?);
                    // Depth of the block = the deeper branch; rows of the branches hold theirs.
                    depth += body_depth.max(short_depth);
                    counts.depth = 0;
                    (counts, 1, body)
                }
            };
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
            layout = next;
        }
        Ok((layout, depth))
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
