//! The sub-blocks the compiler prunes, per convolution of a network, for a trainer to prune
//! the same ones: [`prune_blocks`] walks the network exactly as compiling it does (the same
//! walk as [`super::network_report_with`]: layouts, channel orders, repacking) and gives, for
//! every convolution layer, its blocks under [`PruneConfig`]'s definition
//! ([`super::conv::conv_blocks`] on the layer's compiled layouts).
//!
//! [`PruneConfig`]: super::PruneConfig

use std::collections::BTreeMap;

use super::conv::{conv_blocks, BlockKey, Strategy};
use super::report::ReportOptions;
use super::walk::{walk_with_sites, Walk};
use super::PackError;
use crate::nn::Network;

/// `taps_per_block` of the pruning `heaccel simulate`, `compare` and `infer --prune` compile
/// with: one kernel tap per block, so a block is the weights of one plaintext diagonal (one
/// PMult).
pub const CLI_TAPS_PER_BLOCK: usize = 1;

/// One convolution's sub-blocks (see [`prune_blocks`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvBlocks {
    /// The layer's name (its tensors are `{name}.weight`, `{name}.weight_mask`).
    pub name: String,
    /// The layer's `[out, in / groups, k, k]` weight shape.
    pub weight_shape: [usize; 4],
    /// Per block, in key order (`(output ciphertext, input ciphertext, channel offset, tap
    /// chunk)`): its key and the indices into the layer's row-major weight of its weights
    /// (increasing). Every weight is in exactly one block.
    pub blocks: Vec<(BlockKey, Vec<usize>)>,
}

/// Every convolution layer of `network` (top level and inside residual blocks, in execution
/// order; downsampling shortcuts excluded) with the sub-blocks of `taps_per_block` taps the
/// compiler prunes when it compiles `network` under `strategy` at `slots` slots with
/// `options` (the blocks depend on the layouts, hence on all three). Only the layers' shapes
/// and groups matter, not their weights.
///
/// Errors: the network does not compile (naming the layer), `taps_per_block` outside
/// `[1, k^2]`, or a convolution the strategy regroups ([`super::GroupChoice::HeGroupRule`]
/// on an ungrouped layer: its blocks would index another weight tensor).
pub fn prune_blocks(
    network: &Network,
    strategy: &Strategy,
    slots: usize,
    options: &ReportOptions,
    taps_per_block: usize,
) -> Result<Vec<ConvBlocks>, PackError> {
    let (_, _, sites) = walk_with_sites(network, strategy, slots, options, Walk::Count)?;
    sites
        .into_iter()
        .map(|site| {
            if site.groups != site.conv.groups {
                return Err(PackError::Layer {
                    layer: site.conv.name.clone(),
                    field: "groups",
                    problem: format!(
                        "the strategy compiles it with {} groups, its weights have {}: train the \
                         network grouped as compiled",
                        site.groups, site.conv.groups
                    ),
                });
            }
            let blocks: BTreeMap<BlockKey, Vec<usize>> =
                conv_blocks(&site.conv, &site.input, &site.output, taps_per_block)?;
            Ok(ConvBlocks {
                name: site.conv.name.clone(),
                weight_shape: site.conv.weight_shape(),
                blocks: blocks.into_iter().collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{zoo, Layer};
    use crate::pack::{network_report_with, PruneConfig, SpencnnConfig};

    fn spencnn(prune: Option<PruneConfig>) -> Strategy {
        Strategy::Spencnn(SpencnnConfig {
            prune,
            ..SpencnnConfig::default()
        })
    }

    #[test]
    fn lenet_blocks_partition_each_convolution_and_count_its_pmults() {
        let lenet = zoo::seeded(zoo::ZooModel::Lenet, zoo::DEFAULT_SEED).unwrap();
        let options = ReportOptions::default();
        let convs = prune_blocks(&lenet, &spencnn(None), 1 << 13, &options, 1).unwrap();
        let names: Vec<&str> = convs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["conv1", "conv2"]);
        let report = network_report_with(&lenet, &spencnn(None), 1 << 13, &options).unwrap();
        for (c, layer_index) in convs.iter().zip([0usize, 3]) {
            let Some(Layer::Conv2d(conv)) = lenet.layers.get(layer_index) else {
                panic!("layer {layer_index} is a convolution");
            };
            assert_eq!(c.weight_shape, conv.weight_shape());
            let mut all: Vec<usize> = c.blocks.iter().flat_map(|b| b.1.clone()).collect();
            all.sort_unstable();
            assert_eq!(all, (0..conv.weight.len()).collect::<Vec<_>>());
        }
        // conv1 reads the replicated one-channel image: every output channel has its own
        // channel offset, so each of its 64 x 25 weights is a block of its own (and a PMult,
        // 8 channels' weights, goes once all its blocks are pruned)
        assert_eq!(convs[0].blocks.len(), 64 * 25);
        assert!(convs[0].blocks.iter().all(|b| b.1.len() == 1));
        // conv2, group-interleaved at 2^13 slots: 900 blocks (a ciphertext pair, a channel
        // offset and a tap), several of which can share a plaintext diagonal (a PMult)
        assert_eq!(convs[1].blocks.len(), 900);
        assert!(report.layers[3].counts.pmults <= 900);
        assert!(prune_blocks(&lenet, &spencnn(None), 1 << 13, &options, 0).is_err());
    }
}
