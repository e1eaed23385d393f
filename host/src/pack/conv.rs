//! Convolution and fully connected strategies: the dense baseline and SpENCNN.
//!
//! Both compile a layer into the linear map of [`crate::pack::diag`] between an input
//! [`Layout`] and an output layout, so they share one correct kernel and differ only in what
//! they feed it:
//!
//! - **Dense baseline** ([`Strategy::Dense`]): channel-major multiplexed layouts; the
//!   convolution is the multiplexed diagonal method with rotation sharing: a diagonal is one
//!   (channel offset, kernel tap) pair, its rotation `base_i - base_o + dy row_stride + dx
//!   col_stride` is shared by every output channel and output ciphertext, baby steps are
//!   hoisted, and BSGS splits the `k^2 x channels` rotations into baby and giant steps (about
//!   `k^2 sqrt(C)` instead of `k^2 C`). Strided convolutions write their output in the gapped
//!   grid of the input, multiplexed (the holes filled with other channels), so no repacking
//!   and no extra ciphertexts are needed (Lee et al., ICML'22). With `C` channels per
//!   ciphertext and `k x k` kernels, a dense layer costs `n_in n_out C k^2` PMults.
//! - **SpENCNN** ([`Strategy::Spencnn`]): HE-group convolution with `G` groups (the layer's own,
//!   or chosen by [`he_group_count`]); group-interleaved layouts
//!   ([`ChannelOrder::Interleaved`]), so one channel-offset rotation serves every group of a
//!   ciphertext and a ciphertext pair needs `C/G` channel offsets instead of `C` (PMults and
//!   rotations fall by about `G`); and sub-block pruning ([`PruneConfig`]): weights are pruned
//!   in blocks aligned with the packed diagonals, so a pruned block removes its PMults and, once
//!   no diagonal uses it, its rotation.
//!
//! Files: this one compiles convolutions; `blocks` defines SpENCNN's sub-blocks and prunes by
//! them; `fully_connected` compiles fully connected layers and repacks gapped layouts.
//!
//! Orderings: convolution weights `[out][in/groups][k][k]` (PyTorch); kernel taps numbered
//! row-major `tap = ky k + kx`; fully connected weights `[out][in]`.

use serde::{Deserialize, Serialize};

use super::diag::{Bsgs, Diagonals};
use super::layout::{ChannelOrder, Layout};
use super::program::{HeProgram, OpCounts};
use super::PackError;
use crate::nn::{Conv2d, Linear, Shape};

mod blocks;
mod fully_connected;

use blocks::{apply_mask, prune_conv};
pub use blocks::{
    block_norm2, conv_blocks, pruned_block_count, BlockKey, PruneReport, PrunedBlock,
};
pub use fully_connected::{linear, linear_output_layout, linear_scaled, repack};

/// Sub-block pruning. A *block* is the set of weights that share output ciphertext `m`,
/// input ciphertext `j`, channel offset `delta = base_i - base_o mod S` (so they sit on the
/// same packed channel diagonal) and a chunk of `taps_per_block` consecutive kernel taps
/// (row-major). With `taps_per_block = 1` a block is exactly the weights of one plaintext
/// diagonal (one PMult) in an ungapped layout; with `k^2` it is a whole channel diagonal
/// (all its taps: `k^2` PMults and the channel rotation). The `floor(ratio * blocks)` blocks
/// of smallest L2 norm are pruned (ties: the smaller block key `(m, j, delta, chunk)`).
///
/// A convolution that carries a trained mask ([`Conv2d::weight_mask`], from a weights file)
/// is pruned by its mask instead, under every strategy and whatever the ratio: its masked
/// weights are zeroed and the blocks all of whose weights are masked are reported pruned; it
/// is never pruned further by magnitude. (The mask's zeros always remove their PMults; a mask
/// built for other layouts than the compiled ones may leave blocks partly masked, which stay.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PruneConfig {
    /// Fraction of blocks pruned, in `[0, 1]`.
    pub ratio: f64,
    /// Kernel taps per block, in `[1, k^2]`.
    pub taps_per_block: usize,
}

/// How SpENCNN chooses a layer's group count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupChoice {
    /// The layer's own `groups` (the network was trained grouped).
    Layer,
    /// [`he_group_count`] when the layer's `groups` is 1 (cross-group weights are dropped,
    /// and the returned effective layer has the new groups), else the layer's own.
    HeGroupRule,
}

/// SpENCNN's options.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpencnnConfig {
    /// Group count choice.
    pub groups: GroupChoice,
    /// Sub-block pruning of convolutions, if any.
    pub prune: Option<PruneConfig>,
}

impl Default for SpencnnConfig {
    fn default() -> Self {
        SpencnnConfig {
            groups: GroupChoice::Layer,
            prune: None,
        }
    }
}

/// A convolution strategy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The dense baseline.
    Dense,
    /// SpENCNN.
    Spencnn(SpencnnConfig),
}

impl Strategy {
    /// The channel order this strategy wants for the input of a convolution of `groups`
    /// groups: channel-major for the baseline, interleaved for SpENCNN.
    pub fn channel_order(&self, groups: usize) -> ChannelOrder {
        match self {
            Strategy::Dense => ChannelOrder::ChannelMajor,
            Strategy::Spencnn(_) => ChannelOrder::Interleaved { groups },
        }
    }

    /// The group count this strategy runs `conv` with on `input` at `slots`.
    pub fn groups_for(&self, conv: &Conv2d, input: Shape, slots: usize) -> usize {
        match self {
            Strategy::Spencnn(SpencnnConfig {
                groups: GroupChoice::HeGroupRule,
                ..
            }) if conv.groups == 1 => he_group_count(conv, input, slots),
            _ => conv.groups,
        }
    }
}

/// SpENCNN's HE-group rule: a group holds the channels one ciphertext holds in the dense
/// layout, `S / next_pow2(H W)`; `G = C_in / that` (at least 1), lowered to the largest
/// divisor of `gcd(C_in, C_out)` not above it. (ResNet-20 at 8,192 slots: 2, 1, 1 per stage.)
pub fn he_group_count(conv: &Conv2d, input: Shape, slots: usize) -> usize {
    let per_ct = (slots / (input.height * input.width).next_power_of_two()).max(1);
    let target = (conv.in_channels / per_ct).max(1);
    let (mut a, mut b) = (conv.in_channels, conv.out_channels);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    (1..=target).rev().find(|g| a % g == 0).unwrap_or(1)
}

/// Build options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildOptions {
    /// Giant-step choice.
    pub bsgs: Bsgs,
    /// Keep plaintext values (to execute); off to count only (much less memory).
    pub materialize: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            bsgs: Bsgs::Auto,
            materialize: true,
        }
    }
}
/// A compiled linear layer.
#[derive(Debug, Clone)]
pub struct LayerPlan {
    /// The CKKS program: inputs are the input layout's ciphertexts, outputs the output's.
    pub program: HeProgram,
    /// Input layout.
    pub input: Layout,
    /// Output layout.
    pub output: Layout,
    /// The program's counts.
    pub counts: OpCounts,
    /// Giant step used.
    pub giant_step: usize,
    /// Groups the convolution ran with (1 for fully connected layers).
    pub groups: usize,
    /// The effective layer (regrouped and pruned weights) whose plaintext forward pass the
    /// program computes.
    pub effective: EffectiveLayer,
    /// Pruning, if any.
    pub pruning: Option<PruneReport>,
}

/// The layer a plan computes.
#[derive(Debug, Clone, PartialEq)]
pub enum EffectiveLayer {
    /// A convolution.
    Conv2d(Conv2d),
    /// A fully connected layer.
    Linear(Linear),
}

fn layer_error(name: &str, field: &'static str, problem: String) -> PackError {
    PackError::Layer {
        layer: name.to_string(),
        field,
        problem,
    }
}

/// The output layout a convolution of `conv` on `input` produces: the input's fine grid with
/// gap times the stride (output pixel `(y, x)` on the slot of the input pixel
/// `(s y, s x)`, so every tap is one rotation), multiplexed in `order` (for a grouped layer
/// interleaved by its own groups, on the input's plane when the groups divide its blocks). When the output rows
/// do not fit the fine grid's holes (padding above `(k - 1) / 2` grows the map), the holes are
/// left empty; when they do not even fit between the rows, the output is packed afresh
/// (correct, with more diagonals: the map then depends on the row).
pub fn conv_output_layout(
    conv: &Conv2d,
    input: &Layout,
    order: ChannelOrder,
) -> Result<Layout, PackError> {
    let out_shape = conv_output_shape(conv, input.shape)?;
    let fine_row = input.row_stride / input.gap;
    let fine_col = input.col_stride / input.gap;
    let gap = input.gap * conv.stride;
    let err = |e: PackError| layer_error(&conv.name, "output layout", e.to_string());
    // group interleaving needs the same plane in and out (a group adds the same `g P` to its
    // channels' bases on both sides), with the groups dividing the blocks
    if let ChannelOrder::Interleaved { groups } = order {
        if groups > 1 && conv.groups == groups && (input.slots / input.plane).is_multiple_of(groups)
        {
            if let Ok(l) = Layout::multiplexed_with_plane(
                out_shape,
                input.slots,
                fine_row,
                fine_col,
                gap,
                input.plane,
                order,
            ) {
                return Ok(l);
            }
        }
    }
    Layout::multiplexed(out_shape, input.slots, fine_row, fine_col, gap, order)
        .or_else(|_| Layout::gapped(out_shape, input.slots, fine_row, fine_col, gap, 1, order))
        .or_else(|_| Layout::packed(out_shape, input.slots, order))
        .map_err(err)
}

fn conv_output_shape(conv: &Conv2d, input: Shape) -> Result<Shape, PackError> {
    let check = |ok: bool, field: &'static str, problem: String| {
        if ok {
            Ok(())
        } else {
            Err(layer_error(&conv.name, field, problem))
        }
    };
    check(
        conv.groups >= 1
            && conv.in_channels.is_multiple_of(conv.groups)
            && conv.out_channels.is_multiple_of(conv.groups),
        "groups",
        format!(
            "groups = {} must be >= 1 and divide in_channels = {} and out_channels = {}",
            conv.groups, conv.in_channels, conv.out_channels
        ),
    )?;
    check(
        conv.kernel_size >= 1 && conv.stride >= 1 && conv.padding < conv.kernel_size,
        "kernel_size",
        format!(
            "kernel_size {} >= 1, stride {} >= 1 and padding {} < kernel_size",
            conv.kernel_size, conv.stride, conv.padding
        ),
    )?;
    let expected_len = conv.out_channels * conv.in_channels_per_group() * conv.kernel_size.pow(2);
    check(
        conv.weight.len() == expected_len,
        "weight",
        format!("{} values, expected {expected_len}", conv.weight.len()),
    )?;
    if let Some(b) = &conv.bias {
        check(
            b.len() == conv.out_channels,
            "bias",
            format!("{} values, expected {}", b.len(), conv.out_channels),
        )?;
    }
    let padded = |n: usize| n + 2 * conv.padding;
    check(
        input.channels == conv.in_channels
            && padded(input.height) >= conv.kernel_size
            && padded(input.width) >= conv.kernel_size,
        "in_channels",
        format!(
            "input {input} does not fit in_channels = {}, kernel_size = {}, padding = {}",
            conv.in_channels, conv.kernel_size, conv.padding
        ),
    )?;
    let out = |n: usize| (padded(n) - conv.kernel_size) / conv.stride + 1;
    Ok(Shape::new(
        conv.out_channels,
        out(input.height),
        out(input.width),
    ))
}

/// `conv` regrouped to `groups` (only from 1 group: cross-group weights dropped).
fn regroup(conv: &Conv2d, groups: usize) -> Result<Conv2d, PackError> {
    if groups == conv.groups {
        return Ok(conv.clone());
    }
    if conv.groups != 1
        || groups == 0
        || !conv.in_channels.is_multiple_of(groups)
        || !conv.out_channels.is_multiple_of(groups)
    {
        return Err(layer_error(
            &conv.name,
            "groups",
            format!(
                "cannot regroup {} groups to {groups} (only from 1, to a divisor of {} and {})",
                conv.groups, conv.in_channels, conv.out_channels
            ),
        ));
    }
    let mut out = Conv2d::zeroed(
        conv.name.clone(),
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        groups,
        conv.bias.is_some(),
    );
    out.bias = conv.bias.clone();
    if conv.weight_mask.is_some() {
        out.weight_mask = Some(vec![true; out.weight.len()]);
    }
    let cgi = out.in_channels_per_group();
    let cgo = out.out_channels_per_group();
    let k = conv.kernel_size;
    for o in 0..conv.out_channels {
        let g = o / cgo;
        for il in 0..cgi {
            for ky in 0..k {
                for kx in 0..k {
                    let idx = out.weight_index(o, il, ky, kx);
                    let src = conv.weight_index(o, g * cgi + il, ky, kx);
                    out.weight[idx] = conv.weight[src];
                    if let (Some(to), Some(from)) = (out.weight_mask.as_mut(), &conv.weight_mask) {
                        to[idx] = from[src];
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The first output row (or column) index whose window tap `kk` reads inside `[0, n)`, if any.
fn first_valid(out_n: usize, n: usize, kk: usize, stride: usize, padding: usize) -> Option<usize> {
    let y0 = if padding > kk {
        (padding - kk).div_ceil(stride)
    } else {
        0
    };
    (y0 < out_n && y0 * stride + kk < n + padding).then_some(y0)
}

/// Compiles `conv` on `input` with `strategy`, writing the output in `output_order`.
///
/// Errors name the layer: hyperparameters or weights that do not fit the input layout, a
/// layout that does not fit the slots, invalid pruning or group settings.
pub fn conv2d(
    conv: &Conv2d,
    input: &Layout,
    strategy: &Strategy,
    output_order: ChannelOrder,
    options: BuildOptions,
) -> Result<LayerPlan, PackError> {
    conv2d_scaled(conv, input, strategy, output_order, options, 1.0, 1.0)
}

/// [`conv2d`] for an input whose ciphertexts hold the feature map divided by `input_scale`
/// (a factor an earlier activation or pooling left to the next linear layer), writing its
/// output divided by `output_unit` (what the next minimax ReLU reads: `x / B`): the packed
/// weights are multiplied by `input_scale / output_unit` and the bias divided by `output_unit`
/// after regrouping and pruning (which see the layer's own weights, so the plan's effective
/// layer and pruning do not depend on either).
pub fn conv2d_scaled(
    conv: &Conv2d,
    input: &Layout,
    strategy: &Strategy,
    output_order: ChannelOrder,
    options: BuildOptions,
    input_scale: f64,
    output_unit: f64,
) -> Result<LayerPlan, PackError> {
    let weight_scale = input_scale / output_unit;
    let out_shape = conv_output_shape(conv, input.shape)?;
    let groups = strategy.groups_for(conv, input.shape, input.slots);
    let mut effective = regroup(conv, groups)?;
    let output = conv_output_layout(&effective, input, output_order)?;
    let s = input.slots;
    let k = conv.kernel_size;
    let (cgi, cgo) = (
        effective.in_channels_per_group(),
        effective.out_channels_per_group(),
    );
    let pruning = match (strategy, effective.weight_mask.is_some()) {
        (Strategy::Spencnn(SpencnnConfig { prune: cfg, .. }), true) => Some(apply_mask(
            &mut effective,
            input,
            &output,
            cfg.map_or(1, |c| c.taps_per_block),
        )?),
        (_, true) => Some(apply_mask(&mut effective, input, &output, 1)?),
        (
            Strategy::Spencnn(SpencnnConfig {
                prune: Some(cfg), ..
            }),
            false,
        ) => Some(prune_conv(&mut effective, input, &output, *cfg)?),
        _ => None,
    };
    let mut diags = Diagonals::new(
        s,
        input.ciphertexts,
        output.ciphertexts,
        options.materialize,
    )
    .with_input_period(input.period());
    let (h, w) = (input.shape.height, input.shape.width);
    let (ho, wo) = (out_shape.height, out_shape.width);
    for o in 0..conv.out_channels {
        let g = o / cgo;
        let oc = output.channels[o];
        for il in 0..cgi {
            let i = g * cgi + il;
            let ic = input.channels[i];
            for ky in 0..k {
                let Some(y0) = first_valid(ho, h, ky, conv.stride, conv.padding) else {
                    continue;
                };
                for kx in 0..k {
                    let wv = effective.weight[effective.weight_index(o, il, ky, kx)];
                    if wv == 0.0 {
                        continue;
                    }
                    let Some(x0) = first_valid(wo, w, kx, conv.stride, conv.padding) else {
                        continue;
                    };
                    if !options.materialize {
                        let (_, u) = input.slot(
                            i,
                            y0 * conv.stride + ky - conv.padding,
                            x0 * conv.stride + kx - conv.padding,
                        );
                        let (_, t) = output.slot(o, y0, x0);
                        diags.touch(oc.ciphertext, ic.ciphertext, diags.rotation(u, t));
                        continue;
                    }
                    for yo in y0..ho {
                        let iy = yo * conv.stride + ky;
                        if iy < conv.padding || iy - conv.padding >= h {
                            continue;
                        }
                        for xo in x0..wo {
                            let ix = xo * conv.stride + kx;
                            if ix < conv.padding || ix - conv.padding >= w {
                                continue;
                            }
                            let (j, u) = input.slot(i, iy - conv.padding, ix - conv.padding);
                            let (m, t) = output.slot(o, yo, xo);
                            diags.add(j, u, m, t, wv * weight_scale);
                        }
                    }
                }
            }
        }
    }
    let bias = bias_vectors(
        &output,
        effective.bias.as_deref(),
        output_unit,
        options.materialize,
    );
    let (program, giant_step) = diags.compile(bias.as_deref(), options.bsgs)?;
    let counts = program.counts()?;
    Ok(LayerPlan {
        program,
        input: input.clone(),
        output,
        counts,
        giant_step,
        groups,
        effective: EffectiveLayer::Conv2d(effective),
        pruning,
    })
}

/// The bias divided by `unit`, in `output`'s slots (empty vectors when not materializing).
fn bias_vectors(
    output: &Layout,
    bias: Option<&[f64]>,
    unit: f64,
    materialize: bool,
) -> Option<Vec<Vec<f64>>> {
    let bias = bias?;
    if !materialize {
        return Some(vec![Vec::new(); output.ciphertexts]);
    }
    let mut v = vec![vec![0.0; output.slots]; output.ciphertexts];
    let sh = output.shape;
    for (c, &b) in bias.iter().enumerate() {
        for y in 0..sh.height {
            for x in 0..sh.width {
                let (m, t) = output.slot(c, y, x);
                for k in 0..output.replicas {
                    v[m][t + k * output.period()] = b / unit;
                }
            }
        }
    }
    Some(v)
}
