//! The walk of a network's layers, shared by counting and compiling: per layer its program
//! under the strategy, its layout, level and row; residual blocks by the IR's structure (the
//! body on the main line, the shortcut a [`Branch::Shortcut`] writing the body's output
//! order, [`super::order`]). The rows go to a [`Counter`] ([`super::count`]); when compiling,
//! the programs to an [`Assembly`] ([`super::assemble`]).

use super::assemble::{activation_count, Assembly, ReluUnits};
use super::conv::{conv2d_scaled, linear_scaled, repack, BuildOptions, Strategy};
use super::count::{max_pool_plan, relu_plan, Counter};
use super::diag::Bsgs;
use super::layout::Layout;
use super::order::{Branch, ChannelOrders};
use super::program::{merge_tallies, HeOp, HeProgram, OpCounts, ReluSpec, ValueId};
use super::report::{LayerReport, MinimaxChoice, NetworkReport, ReportOptions};
use super::PackError;
use crate::nn::ir::join_path;
use crate::nn::{fold_batch_norm, Activation, Conv2d, Layer, Network, PoolKind, Shape};

/// What a walk of the network builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Walk {
    /// Counts only.
    Count,
    /// The program, plaintexts without values.
    Structure,
    /// The program with every plaintext's values.
    Materialize,
}

/// What a compiling walk leaves besides the report.
#[derive(Debug)]
pub(super) struct Compiled {
    /// The assembled program (outputs not yet set) and what it recorded.
    pub(super) assembly: Assembly,
    /// Layout of the encrypted input.
    pub(super) input: Layout,
    /// The network's output: its layout, values and pending factor.
    pub(super) output: Flow,
    /// The batch-norm-folded network that was walked.
    pub(super) folded: Network,
}

/// A feature map in flight: its layout, its ciphertexts in the assembled program (empty when
/// only counting) and its pending factor (see [`super::NetworkProgram`]).
#[derive(Debug, Clone)]
pub(super) struct Flow {
    /// Its layout.
    pub(super) layout: Layout,
    /// Its ciphertexts in the assembled program.
    pub(super) values: Vec<ValueId>,
    /// True value = `factor` x encrypted value.
    pub(super) factor: f64,
}

/// Where the walk compiled a convolution layer ([`Layer::Conv2d`], not a downsampling
/// shortcut): the layer as walked (batch norms folded) and its layouts.
#[derive(Debug, Clone)]
pub(super) struct ConvSite {
    /// The layer as walked (before regrouping and pruning).
    pub(super) conv: Conv2d,
    /// Groups it was compiled with.
    pub(super) groups: usize,
    /// Its input layout.
    pub(super) input: Layout,
    /// Its output layout.
    pub(super) output: Layout,
}

struct Walker<'a> {
    strategy: &'a Strategy,
    nonlinear: &'a ReportOptions,
    slots: usize,
    /// The rows counted so far.
    counter: Counter,
    /// The channel order each convolution writes.
    orders: ChannelOrders<'a>,
    /// Poolings walked so far.
    pools_seen: usize,
    /// The units of minimax ReLUs (all 1 unless compiling them).
    relu: ReluUnits<'a>,
    /// The program being assembled, when compiling.
    assembly: Option<Assembly>,
    /// Plaintexts get their values (else the program's structure only).
    materialize: bool,
    /// The convolutions walked so far.
    convs: Vec<ConvSite>,
}

/// Walks `network` under `strategy` at `slots` slots: its report and, unless `mode` only
/// counts, the compiled program.
pub(super) fn walk_network(
    network: &Network,
    strategy: &Strategy,
    slots: usize,
    nonlinear: &ReportOptions,
    mode: Walk,
) -> Result<(NetworkReport, Option<Compiled>), PackError> {
    walk_with_sites(network, strategy, slots, nonlinear, mode).map(|(r, c, _)| (r, c))
}

/// [`walk_network`], also returning every convolution layer's [`ConvSite`] in walk order.
pub(super) fn walk_with_sites(
    network: &Network,
    strategy: &Strategy,
    slots: usize,
    nonlinear: &ReportOptions,
    mode: Walk,
) -> Result<(NetworkReport, Option<Compiled>, Vec<ConvSite>), PackError> {
    let compile = mode != Walk::Count;
    let unit_bounds;
    let nonlinear = if mode == Walk::Structure && nonlinear.relu_bounds.is_empty() {
        let activations = activation_count(&fold_batch_norm(network)?.layers);
        unit_bounds = ReportOptions {
            relu_bounds: vec![1.0; activations],
            ..nonlinear.clone()
        };
        &unit_bounds
    } else {
        nonlinear
    };
    let folded = fold_batch_norm(network)?;
    let placed = folded.placed_layers()?;
    let orders = ChannelOrders::new(strategy, &folded.layers, &placed, slots);
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
    let relu = ReluUnits::new(&folded.layers, nonlinear, compile)?;
    let relu_spec = nonlinear
        .relu
        .as_ref()
        .filter(|_| relu.compiling())
        .map(|m| ReluSpec {
            alpha: m.alpha,
            eps: m.circuits.composite().eps(),
            depth: m.circuits.relu_depth() as usize,
        });
    let mut walker = Walker {
        strategy,
        nonlinear,
        slots,
        counter: Counter::default(),
        orders,
        pools_seen: 0,
        assembly: compile.then(|| Assembly::new(slots, ciphertexts, relu_spec)),
        relu,
        materialize: mode == Walk::Materialize,
        convs: Vec::new(),
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
    let (output, depth) = walker.walk(&folded.layers, "", flow, Branch::Main, 0, 1.0)?;
    let report = walker.counter.into_report(network, strategy, slots, depth);
    let compiled = walker.assembly.map(|assembly| Compiled {
        assembly,
        input,
        output,
        folded,
    });
    Ok((report, compiled, walker.convs))
}

impl Walker<'_> {
    /// Appends `prog` (inputs: `inputs`) to the assembled program and returns the values of
    /// its outputs; nothing (an empty list) when only counting.
    fn emit(&mut self, prog: HeProgram, inputs: &[ValueId]) -> Vec<ValueId> {
        match self.assembly.as_mut() {
            Some(asm) => asm.emit(prog, inputs),
            None => Vec::new(),
        }
    }

    /// The deepest of `values` (0 when counting).
    fn depth_of(&self, values: &[ValueId]) -> usize {
        self.assembly.as_ref().map_or(0, |asm| asm.depth_of(values))
    }

    /// Compiling with bootstrapping: [`Assembly::refresh`] of `flow`'s values; nothing
    /// otherwise.
    fn refresh(&mut self, flow: &mut Flow, need: usize, location: &str) -> Result<(), PackError> {
        let Some(levels) = self.nonlinear.bootstrap_levels else {
            return Ok(());
        };
        match self.assembly.as_mut() {
            Some(asm) => asm.refresh(&mut flow.values, need, levels, location),
            None => Ok(()),
        }
    }

    /// Drops `values` to `depth` where they are shallower (compile mode; unchanged when
    /// counting).
    fn drop_to(&mut self, values: &[ValueId], depth: usize) -> Vec<ValueId> {
        match self.assembly.as_mut() {
            Some(asm) => asm.drop_to(values, depth),
            None => values.to_vec(),
        }
    }

    /// Walks a layer list starting `base` levels below the network input, as `branch` (a
    /// shortcut writes the output order of its block's last body convolution); `tail` is the
    /// unit the list's output is written in when compiling minimax ReLUs (see
    /// [`ReportOptions::relu_bounds`]). Returns the output and the depth consumed.
    fn walk(
        &mut self,
        layers: &[Layer],
        prefix: &str,
        mut flow: Flow,
        branch: Branch<'_>,
        base: usize,
        tail: f64,
    ) -> Result<(Flow, usize), PackError> {
        let mut depth = 0;
        let compiling = self.assembly.is_some();
        for (i, layer) in layers.iter().enumerate() {
            let path = join_path(prefix, i);
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
                    .map_or(1, |m| m.circuits.relu_depth() as usize),
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
                    let order_of = match branch {
                        Branch::Main => {
                            if matches!(layer, Layer::Conv2d(_)) {
                                self.orders.passed_conv();
                            }
                            path.as_str()
                        }
                        Branch::Shortcut { order_of } => order_of,
                    };
                    let order = self.orders.output_order(order_of);
                    let unit = self.relu.unit_after(layers, prefix, i, tail)?;
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
                    if matches!(layer, Layer::Conv2d(_)) {
                        self.convs.push(ConvSite {
                            conv: conv.clone(),
                            groups: plan.groups,
                            input: plan.input.clone(),
                            output: plan.output.clone(),
                        });
                    }
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
                    let unit = self.relu.unit_after(layers, prefix, i, tail)?;
                    let plan = linear_scaled(fc, &layout, options, flow.factor, unit)?;
                    profile = Some(plan.program.profile()?);
                    program = Some(plan.program);
                    factor = unit;
                    (plan.counts, 1, plan.output)
                }
                Layer::Activation(_) if nonlinear.relu.is_some() => {
                    let MinimaxChoice {
                        alpha,
                        circuits: act,
                    } = nonlinear.relu.as_ref().expect("checked");
                    let cts = layout.ciphertexts;
                    if compiling {
                        let bound = self.relu.bound(&path)?;
                        if (flow.factor - bound).abs() > 1e-12 * bound {
                            return Err(unsupported(&format!(
                                "its input is held in units of {}, not its bound {bound} (a \
                                 pooling or polynomial activation before a minimax ReLU is \
                                 not compiled)",
                                flow.factor
                            )));
                        }
                        let out_unit = self.relu.output_unit(layers, prefix, i, tail, bound)?;
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
                    let (counts, p) = relu_plan(act, cts);
                    profile = Some(p);
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
                    let MinimaxChoice {
                        alpha,
                        circuits: act,
                    } = self.nonlinear.max_pool.as_ref().expect("checked");
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
                    let unit = self.relu.unit_after(layers, prefix, i, tail)?;
                    let (body, body_depth) = self.walk(
                        &block.body,
                        &format!("{path}.body"),
                        flow.clone(),
                        Branch::Main,
                        start,
                        unit,
                    )?;
                    let (short, short_depth) = self.walk(
                        &block.shortcut,
                        &format!("{path}.shortcut"),
                        flow.clone(),
                        Branch::Shortcut {
                            order_of: last_body_conv.as_deref().unwrap_or(&path),
                        },
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
                let order = self.orders.repack_order();
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
            self.counter.push(LayerReport {
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

fn last_conv_path(layers: &[Layer], prefix: &str) -> Option<String> {
    layers
        .iter()
        .enumerate()
        .rev()
        .find(|(_, l)| matches!(l, Layer::Conv2d(_)))
        .map(|(i, _)| join_path(prefix, i))
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
