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
//! - flatten: nothing (the layout is reinterpreted);
//! - residual block: one addition per ciphertext (the shortcut is dropped to the body's level,
//!   which costs nothing here).
//!
//! Max pooling, exact ReLU and pooling with stride different from its window are refused
//! ([`PackError::Unsupported`]) until their approximations land.

use serde::Serialize;

use super::conv::{conv2d, linear, BuildOptions, Strategy};
use super::diag::Bsgs;
use super::layout::{ChannelOrder, Layout};
use super::program::{HeOp, HeProgram, OpCounts};
use super::PackError;
use crate::nn::{
    fold_batch_norm, weights::init_seeded, Activation, Layer, Network, PoolKind, Shape,
};

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
    slots: usize,
    rows: Vec<LayerReport>,
    /// Group counts of the non-shortcut convolutions in execution order, with their paths.
    conv_groups: Vec<(String, usize)>,
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
    let input = Layout::packed(
        folded.input_shape,
        slots,
        strategy.channel_order(first_groups),
    )?;
    let mut walker = Walker {
        strategy,
        slots,
        rows: Vec::new(),
        conv_groups,
    };
    let (_, depth) = walker.walk(&folded.layers, "", input, None)?;
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

    /// Walks a layer list; `shortcut_of` is the path of the last body convolution of the
    /// block when walking a shortcut (its output order must match). Returns the output layout
    /// and the depth consumed.
    fn walk(
        &mut self,
        layers: &[Layer],
        prefix: &str,
        mut layout: Layout,
        shortcut_of: Option<&str>,
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
            let (counts, groups, next) = match layer {
                Layer::Conv2d(conv) => {
                    let order = self.output_order(shortcut_of.unwrap_or(&path));
                    let plan = conv2d(conv, &layout, self.strategy, order, options)?;
                    (plan.counts, plan.groups, plan.output)
                }
                Layer::Linear(fc) => {
                    let plan = linear(fc, &layout, options)?;
                    (plan.counts, 1, plan.output)
                }
                Layer::Activation(act) => {
                    let Activation::Poly { a, b, c } = act.function else {
                        return Err(unsupported(
                            "exact ReLU has no HE evaluation yet (use a polynomial activation)",
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
                    (prog.counts()?, 1, layout.clone())
                }
                Layer::Pool(pool) => {
                    if pool.kind == PoolKind::Max {
                        return Err(unsupported(
                            "max pooling has no HE evaluation yet (minimax max: later)",
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
                    (prog.counts()?, 1, layout.strided(out_shape, k))
                }
                Layer::Flatten => (OpCounts::default(), 1, layout.flattened()),
                Layer::BatchNorm(_) => {
                    return Err(unsupported("batch norm left after folding"));
                }
                Layer::Residual(block) => {
                    let last_body_conv = last_conv_path(&block.body, &format!("{path}.body"));
                    let (body, body_depth) =
                        self.walk(&block.body, &format!("{path}.body"), layout.clone(), None)?;
                    let (short, short_depth) = self.walk(
                        &block.shortcut,
                        &format!("{path}.shortcut"),
                        layout.clone(),
                        Some(last_body_conv.as_deref().unwrap_or(&path)),
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
                    // Depth of the block = the deeper branch; rows of the branches hold theirs.
                    depth += body_depth.max(short_depth);
                    counts.depth = 0;
                    (counts, 1, body)
                }
            };
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
