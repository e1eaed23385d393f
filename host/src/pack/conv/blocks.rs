//! SpENCNN's sub-blocks: their definition on the packed diagonals ([`conv_blocks`]), the
//! magnitude rule that ranks them, and pruning a convolution by it.

use serde::{Deserialize, Serialize};

use super::{layer_error, PruneConfig};
use crate::nn::Conv2d;
use crate::pack::layout::Layout;
use crate::pack::PackError;

/// One pruned block (see [`PruneConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrunedBlock {
    /// Output ciphertext.
    pub out_ct: usize,
    /// Input ciphertext.
    pub in_ct: usize,
    /// Channel offset `base_i - base_o mod S`.
    pub channel_offset: usize,
    /// Tap chunk (taps `chunk * taps_per_block ..`).
    pub chunk: usize,
    /// Its L2 norm before pruning.
    pub norm: f64,
    /// Number of weights in it.
    pub weights: usize,
}

impl PrunedBlock {
    /// The report of block `key` of `weights` weights whose squared L2 norm was `norm2`.
    fn new(key: BlockKey, norm2: f64, weights: usize) -> Self {
        let BlockKey {
            out_ct,
            in_ct,
            channel_offset,
            chunk,
        } = key;
        PrunedBlock {
            out_ct,
            in_ct,
            channel_offset,
            chunk,
            norm: norm2.sqrt(),
            weights,
        }
    }
}

/// The squared L2 norm of the block of `weights` at `indices`, summed in index order (the
/// order pruning ranks blocks by, in the compiler and in training).
pub fn block_norm2(weights: &[f64], indices: &[usize]) -> f64 {
    indices.iter().map(|&i| weights[i] * weights[i]).sum()
}

/// Blocks pruned of `blocks` at `ratio`: `floor(ratio * blocks)`, the compiler's rule.
pub fn pruned_block_count(ratio: f64, blocks: usize) -> usize {
    (ratio * blocks as f64).floor() as usize
}

/// What pruning did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PruneReport {
    /// Blocks of the layer.
    pub blocks: usize,
    /// The pruned ones, smallest norm first.
    pub pruned: Vec<PrunedBlock>,
}

/// A sub-block's key (see [`PruneConfig`]). Keys order field by field in declaration order
/// (output ciphertext first), the order blocks are listed and ties of equal norm are broken in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockKey {
    /// Output ciphertext.
    pub out_ct: usize,
    /// Input ciphertext.
    pub in_ct: usize,
    /// Channel offset `base_i - base_o mod S`.
    pub channel_offset: usize,
    /// Tap chunk (taps `chunk * taps_per_block ..`).
    pub chunk: usize,
}

/// The sub-blocks of `conv` compiled between the layouts `input` and `output` (those
/// [`conv2d`](super::conv2d) builds it with), exactly as [`PruneConfig`] defines them for `taps_per_block`
/// kernel taps: each block's key with the indices into [`Conv2d::weight`] of its weights (in
/// increasing order), blocks in key order; every weight is in exactly one block. What a
/// trainer prunes to get the blocks the compiler removes. An error when `taps_per_block` is
/// outside `[1, k^2]` or the layouts do not hold the layer's channels.
pub fn conv_blocks(
    conv: &Conv2d,
    input: &Layout,
    output: &Layout,
    taps_per_block: usize,
) -> Result<std::collections::BTreeMap<BlockKey, Vec<usize>>, PackError> {
    let k = conv.kernel_size;
    let k2 = k * k;
    if taps_per_block == 0 || taps_per_block > k2 {
        return Err(layer_error(
            &conv.name,
            "prune.taps_per_block",
            format!("{taps_per_block} is outside [1, {k2}]"),
        ));
    }
    if input.channels.len() < conv.in_channels || output.channels.len() < conv.out_channels {
        return Err(layer_error(
            &conv.name,
            "layout",
            format!(
                "layouts of {} and {} channels for a {} -> {} convolution",
                input.channels.len(),
                output.channels.len(),
                conv.in_channels,
                conv.out_channels
            ),
        ));
    }
    let s = input.slots;
    let (cgi, cgo) = (conv.in_channels_per_group(), conv.out_channels_per_group());
    let mut blocks: std::collections::BTreeMap<BlockKey, Vec<usize>> = Default::default();
    for o in 0..conv.out_channels {
        let g = o / cgo;
        for il in 0..cgi {
            let (ic, oc) = (input.channels[g * cgi + il], output.channels[o]);
            let offset = (ic.base + s - oc.base) % s;
            for tap in 0..k2 {
                let key = BlockKey {
                    out_ct: oc.ciphertext,
                    in_ct: ic.ciphertext,
                    channel_offset: offset,
                    chunk: tap / taps_per_block,
                };
                let index = conv.weight_index(o, il, tap / k, tap % k);
                blocks.entry(key).or_default().push(index);
            }
        }
    }
    for indices in blocks.values_mut() {
        indices.sort_unstable();
    }
    Ok(blocks)
}

/// Prunes `conv` in place by its trained mask ([`Conv2d::weight_mask`], see [`PruneConfig`]):
/// masked weights become 0; the blocks (of `taps_per_block` taps) whose weights are all masked
/// are reported pruned, in key order.
pub(super) fn apply_mask(
    conv: &mut Conv2d,
    input: &Layout,
    output: &Layout,
    taps_per_block: usize,
) -> Result<PruneReport, PackError> {
    let Some(mask) = conv.weight_mask.clone() else {
        return Ok(PruneReport {
            blocks: 0,
            pruned: Vec::new(),
        });
    };
    if mask.len() != conv.weight.len() {
        return Err(layer_error(
            &conv.name,
            "weight_mask",
            format!(
                "{} entries, expected one per weight ({})",
                mask.len(),
                conv.weight.len()
            ),
        ));
    }
    let blocks = conv_blocks(conv, input, output, taps_per_block)?;
    let mut pruned = Vec::new();
    for (&key, indices) in &blocks {
        if indices.iter().all(|&i| !mask[i]) {
            let norm2 = block_norm2(&conv.weight, indices);
            pruned.push(PrunedBlock::new(key, norm2, indices.len()));
        }
    }
    for (w, keep) in conv.weight.iter_mut().zip(&mask) {
        if !keep {
            *w = 0.0;
        }
    }
    Ok(PruneReport {
        blocks: blocks.len(),
        pruned,
    })
}

/// Prunes `conv` in place (see [`PruneConfig`]) for the given layouts.
pub(super) fn prune_conv(
    conv: &mut Conv2d,
    input: &Layout,
    output: &Layout,
    cfg: PruneConfig,
) -> Result<PruneReport, PackError> {
    if !(cfg.ratio.is_finite() && (0.0..=1.0).contains(&cfg.ratio)) {
        return Err(layer_error(
            &conv.name,
            "prune.ratio",
            format!("{} is outside [0, 1]", cfg.ratio),
        ));
    }
    let blocks = conv_blocks(conv, input, output, cfg.taps_per_block)?;
    let mut order: Vec<(f64, BlockKey, &Vec<usize>)> = blocks
        .iter()
        .map(|(key, indices)| (block_norm2(&conv.weight, indices), *key, indices))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let count = pruned_block_count(cfg.ratio, blocks.len());
    let pruned: Vec<PrunedBlock> = order[..count]
        .iter()
        .map(|&(norm2, key, indices)| PrunedBlock::new(key, norm2, indices.len()))
        .collect();
    for &(_, _, indices) in &order[..count] {
        for &i in indices {
            conv.weight[i] = 0.0;
        }
    }
    Ok(PruneReport {
        blocks: blocks.len(),
        pruned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::weights::init_seeded;
    use crate::nn::Shape;
    use crate::nn::{zoo, Layer};
    use crate::pack::conv::conv_output_layout;
    use crate::pack::layout::ChannelOrder;

    /// LeNet's grouped `conv2` (64 -> 32, 4 groups, k 5) on its 14x14 input, group-interleaved
    /// at 2^10 slots (several ciphertexts, so blocks differ by ciphertext pair and offset).
    fn lenet_conv2() -> (Conv2d, Layout, Layout) {
        let mut lenet = zoo::lenet();
        init_seeded(&mut lenet, 5);
        let Some(Layer::Conv2d(conv)) = lenet.layers.get(3).cloned() else {
            panic!("lenet's layer 3 is conv2");
        };
        let order = ChannelOrder::Interleaved { groups: 4 };
        let input = Layout::packed(Shape::new(64, 14, 14), 1 << 10, order).unwrap();
        let output = conv_output_layout(&conv, &input, order).unwrap();
        (conv, input, output)
    }

    #[test]
    fn blocks_partition_the_weights_and_split_by_taps() {
        let (conv, input, output) = lenet_conv2();
        let whole = conv_blocks(&conv, &input, &output, 25).unwrap();
        let single = conv_blocks(&conv, &input, &output, 1).unwrap();
        assert_eq!(single.len(), 25 * whole.len());
        for blocks in [&whole, &single] {
            let mut all: Vec<usize> = blocks.values().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..conv.weight.len()).collect::<Vec<_>>());
        }
        // A whole-kernel block is the union of its 25 single-tap blocks.
        for (&key, indices) in &whole {
            assert_eq!(key.chunk, 0);
            let mut parts: Vec<usize> = (0..25)
                .flat_map(|chunk| single[&BlockKey { chunk, ..key }].iter().copied())
                .collect();
            parts.sort_unstable();
            assert_eq!(&parts, indices);
        }
        for bad in [0, 26] {
            assert!(conv_blocks(&conv, &input, &output, bad).is_err());
        }
    }

    #[test]
    fn pruning_zeroes_exactly_the_smallest_blocks() {
        let (conv, input, output) = lenet_conv2();
        let cfg = PruneConfig {
            ratio: 0.5,
            taps_per_block: 5,
        };
        let blocks = conv_blocks(&conv, &input, &output, cfg.taps_per_block).unwrap();
        let mut norms: Vec<(f64, BlockKey)> = blocks
            .iter()
            .map(|(key, ix)| (ix.iter().map(|&i| conv.weight[i].powi(2)).sum(), *key))
            .collect();
        norms.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let count = blocks.len() / 2;
        let mut pruned = conv.clone();
        let report = prune_conv(&mut pruned, &input, &output, cfg).unwrap();
        assert_eq!(report.blocks, blocks.len());
        assert_eq!(report.pruned.len(), count);
        let gone: std::collections::BTreeSet<BlockKey> =
            norms[..count].iter().map(|n| n.1).collect();
        for (key, indices) in &blocks {
            for &i in indices {
                let expected = if gone.contains(key) {
                    0.0
                } else {
                    conv.weight[i]
                };
                assert_eq!(
                    pruned.weight[i].to_bits(),
                    expected.to_bits(),
                    "{key:?} {i}"
                );
            }
        }
    }
}
