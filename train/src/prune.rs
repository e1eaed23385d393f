//! Sub-block pruning during training, with exactly the compiler's blocks.
//!
//! **Blocks.** [`Pruning::new`] asks the host for every convolution's sub-blocks as `heaccel
//! simulate --strategy spencnn --prune R` compiles the network
//! ([`heaccel_host::pack::prune_blocks`]: the same walk, layouts and
//! [`heaccel_host::pack::PruneConfig`] definition): SpENCNN with the layers' own groups,
//! [`PRUNE_SLOTS`] slots, the default report options (every pooled map repacked) and
//! [`CLI_TAPS_PER_BLOCK`] tap per block. A block is the set of weights one plaintext diagonal
//! of the packed layer reads (output ciphertext, input ciphertext, channel offset, tap), so a
//! pruned block removes its PMult and, once no other block uses it, its rotation.
//!
//! **Ratio and rounding.** Each convolution loses `floor(ratio * blocks)` of its blocks, the
//! compiler's rule (`heaccel simulate --prune ratio` prunes the same count per layer): LeNet at
//! 0.5 prunes 800 of `conv1`'s 1,600 blocks and 450 of `conv2`'s 900.
//!
//! **Recipe.** SpENCNN (Ran, Xu, Guan, Zhang, Wang, Zhang, Li, Ding and Wang, "SpENCNN:
//! Orchestrating Encoding and Sparsity for Fast Homomorphically Encrypted Neural Network
//! Inference", ICML 2023) trains the HE-group network, prunes its sub-blocks by magnitude and
//! fine-tunes with the pruning fixed. Here the pruning is gradual, as in Zhu and Gupta ("To
//! prune, or not to prune", ICLR workshop 2018): [`schedule`] trains the first third of the
//! epochs unpruned, then at the start of each epoch of the second third raises every layer's
//! pruned fraction along `ratio * (1 - (1 - k / n)^3)` (`k = 1 .. n`), pruning among the blocks
//! still kept those of smallest L2 norm (of the exported weights, batch norms folded; ties: the
//! smaller block key, the compiler's order); the last third fine-tunes with the final mask.
//! A pruned block stays pruned. After every optimizer step the pruned weights are multiplied by
//! the mask, so they are exactly 0 whatever AdamW's moments and weight decay would do (their
//! gradients are masked too, so they do not count in the gradient clipping).
//!
//! **Export.** The mask travels with the weights: [`Pruning::apply`] sets each convolution's
//! [`heaccel_host::nn::Conv2d::weight_mask`], which the host writes as the `{layer}.weight_mask`
//! tensor (0/1, `f32`) and reads back, so the compiler prunes exactly the trained mask.

use heaccel_host::nn::{Layer, Network};
use heaccel_host::pack::conv::block_norm2;
use heaccel_host::pack::{
    prune_blocks, ConvBlocks, GroupChoice, ReportOptions, SpencnnConfig, Strategy,
    CLI_TAPS_PER_BLOCK,
};
use serde::{Deserialize, Serialize};

use crate::TrainError;

/// Slots of the packing the blocks come from: what `heaccel simulate` chooses for LeNet, VGG-5
/// and HEFNet (`N = 2^14`: their depths, 9 to 11, fit its modulus; see `docs/RESULTS.md`).
/// [`crate::tradeoff`] refuses a pruned network the compiler packs in other slots.
pub const PRUNE_SLOTS: usize = 1 << 13;

/// One convolution's pruning state.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerMask {
    /// The compiler's blocks of the layer.
    pub blocks: ConvBlocks,
    /// Per block (in [`ConvBlocks::blocks`] order), whether it is pruned.
    pub pruned: Vec<bool>,
}

impl LayerMask {
    /// The layer's weight mask: `false` for the weights of pruned blocks.
    pub fn weight_mask(&self) -> Vec<bool> {
        let len = self.blocks.weight_shape.iter().product();
        let mut mask = vec![true; len];
        for ((_, indices), &pruned) in self.blocks.blocks.iter().zip(&self.pruned) {
            if pruned {
                for &i in indices {
                    mask[i] = false;
                }
            }
        }
        mask
    }

    /// Blocks pruned.
    pub fn pruned_count(&self) -> usize {
        self.pruned.iter().filter(|&&p| p).count()
    }
}

/// What pruning did to one convolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerPruning {
    /// The layer's name.
    pub name: String,
    /// Its blocks.
    pub blocks: usize,
    /// Blocks pruned.
    pub pruned: usize,
    /// Weights pruned (the zeros of its `weight_mask`).
    pub pruned_weights: usize,
    /// Weights of the layer.
    pub weights: usize,
}

/// The pruning of a network's convolutions (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Pruning {
    /// The target fraction of every convolution's blocks, in (0, 1).
    pub ratio: f64,
    /// Per convolution, in execution order.
    pub layers: Vec<LayerMask>,
}

/// The grouped network's strategy whose blocks are pruned: SpENCNN with the layers' own groups.
pub fn prune_strategy() -> Strategy {
    Strategy::Spencnn(SpencnnConfig {
        groups: GroupChoice::Layer,
        prune: None,
    })
}

/// Blocks pruned of `blocks` at `ratio`: `floor(ratio * blocks)`, the compiler's own rule.
pub use heaccel_host::pack::conv::pruned_block_count as target_count;

/// The pruning steps for `epochs` epochs: `(epoch, fraction of the ratio)` at the start of
/// that epoch (see the module docs). Epochs `start = epochs / 3 + 1` to
/// `max(start, 2 epochs / 3)`; the last step is always the full ratio (`1.0`), so one epoch
/// prunes once at its start and fine-tunes.
pub fn schedule(epochs: usize) -> Vec<(usize, f64)> {
    if epochs == 0 {
        return Vec::new();
    }
    let start = epochs / 3 + 1;
    let end = start.max(2 * epochs / 3);
    let n = end - start + 1;
    (1..=n)
        .map(|k| {
            let left = 1.0 - k as f64 / n as f64;
            (start + k - 1, 1.0 - left * left * left)
        })
        .collect()
}

impl Pruning {
    /// The pruning of `network`'s convolutions at `ratio` (finite, in (0, 1)), with the
    /// compiler's blocks (see the module docs). Blocks whose weights a mask already prunes (a
    /// resumed file) start pruned.
    ///
    /// Errors: the network does not compile; a resumed mask that is not a union of the
    /// compiler's blocks, or prunes more blocks than `ratio` asks.
    pub fn new(network: &Network, ratio: f64) -> Result<Pruning, TrainError> {
        crate::run::check_prune(ratio)?;
        let convs = prune_blocks(
            network,
            &prune_strategy(),
            PRUNE_SLOTS,
            &ReportOptions::default(),
            CLI_TAPS_PER_BLOCK,
        )?;
        let mut masks = std::collections::HashMap::new();
        network.visit_layers(|_, layer| {
            if let Layer::Conv2d(c) = layer {
                if let Some(m) = &c.weight_mask {
                    masks.insert(c.name.clone(), m.clone());
                }
            }
        });
        let mut layers = Vec::with_capacity(convs.len());
        for blocks in convs {
            let mut pruned = vec![false; blocks.blocks.len()];
            if let Some(mask) = masks.get(&blocks.name) {
                for ((_, indices), p) in blocks.blocks.iter().zip(pruned.iter_mut()) {
                    let masked = indices.iter().filter(|&&i| !mask[i]).count();
                    if masked != 0 && masked != indices.len() {
                        return Err(TrainError::Mask {
                            tensor: heaccel_host::nn::weights::mask_name(&blocks.name),
                            problem: "the resumed mask is not a union of the compiler's \
                                      pruning blocks (trained for another packing)"
                                .into(),
                        });
                    }
                    *p = masked != 0;
                }
                let done = pruned.iter().filter(|&&p| p).count();
                let target = target_count(ratio, blocks.blocks.len());
                if done > target {
                    return Err(TrainError::Config {
                        field: "prune",
                        value: ratio.to_string(),
                        expected: format!(
                            "at least the resumed mask's ratio: layer '{}' has {done} of {} \
                             blocks pruned already",
                            blocks.name,
                            blocks.blocks.len()
                        ),
                    });
                }
            }
            layers.push(LayerMask { blocks, pruned });
        }
        Ok(Pruning { ratio, layers })
    }

    /// Prunes every convolution up to `floor(fraction * ratio * blocks)` blocks, adding the kept
    /// blocks of smallest L2 norm in `network`'s weights (ties: the smaller key). Returns the
    /// blocks newly pruned.
    pub fn step(&mut self, network: &Network, fraction: f64) -> usize {
        let mut weights = std::collections::HashMap::new();
        network.visit_layers(|_, layer| {
            if let Layer::Conv2d(c) = layer {
                weights.insert(c.name.clone(), c.weight.clone());
            }
        });
        let mut added = 0;
        for layer in &mut self.layers {
            let Some(w) = weights.get(&layer.blocks.name) else {
                continue;
            };
            let target = target_count(self.ratio * fraction, layer.blocks.blocks.len());
            let done = layer.pruned_count();
            if target <= done {
                continue;
            }
            let mut kept: Vec<(f64, usize)> = layer
                .blocks
                .blocks
                .iter()
                .enumerate()
                .filter(|(b, _)| !layer.pruned[*b])
                .map(|(b, (_, indices))| (block_norm2(w, indices), b))
                .collect();
            kept.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            for &(_, b) in kept.iter().take(target - done) {
                layer.pruned[b] = true;
                added += 1;
            }
        }
        added
    }

    /// Sets every pruned convolution's [`heaccel_host::nn::Conv2d::weight_mask`] and writes its
    /// pruned weights, which training holds at 0, as `+0.0` (folding a batch norm of negative
    /// scale gives `-0.0`). A pruned weight that is not 0 is left as it is, for the checks to
    /// see (the host's loader would zero it: the file would then not reload bit for bit).
    pub fn apply(&self, network: &mut Network) {
        let masks: std::collections::HashMap<&str, Vec<bool>> = self
            .layers
            .iter()
            .map(|l| (l.blocks.name.as_str(), l.weight_mask()))
            .collect();
        network.visit_layers_mut(|_, layer| {
            if let Layer::Conv2d(c) = layer {
                if let Some(mask) = masks.get(c.name.as_str()) {
                    for (w, &keep) in c.weight.iter_mut().zip(mask) {
                        if !keep && *w == 0.0 {
                            *w = 0.0;
                        }
                    }
                    c.weight_mask = Some(mask.clone());
                }
            }
        });
    }

    /// Per convolution, what is pruned.
    pub fn report(&self) -> Vec<LayerPruning> {
        self.layers
            .iter()
            .map(|l| {
                let mask = l.weight_mask();
                LayerPruning {
                    name: l.blocks.name.clone(),
                    blocks: l.blocks.blocks.len(),
                    pruned: l.pruned_count(),
                    pruned_weights: mask.iter().filter(|&&k| !k).count(),
                    weights: mask.len(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_prunes_in_the_middle_third_and_ends_at_the_ratio() {
        let twelve = schedule(12);
        let epochs: Vec<usize> = twelve.iter().map(|s| s.0).collect();
        assert_eq!(epochs, [5, 6, 7, 8]);
        let fractions: Vec<f64> = twelve.iter().map(|s| s.1).collect();
        assert_eq!(
            fractions,
            [1.0 - 0.421875, 1.0 - 0.125, 1.0 - 0.015625, 1.0]
        );
        assert_eq!(schedule(1), [(1, 1.0)]);
        assert_eq!(schedule(2), [(1, 1.0)]);
        assert_eq!(schedule(3), [(2, 1.0)]);
        assert!(schedule(0).is_empty());
    }

    #[test]
    fn target_count_rounds_down() {
        assert_eq!(target_count(0.5, 900), 450);
        assert_eq!(target_count(0.5, 901), 450);
        assert_eq!(target_count(0.3, 10), 3);
        assert_eq!(target_count(0.999, 10), 9);
    }
}
