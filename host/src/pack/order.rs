//! Channel orders: the order each convolution writes its output channels in (SpENCNN
//! interleaves them by groups), from the group counts of the main-line convolutions (those
//! outside every shortcut branch, found by the IR's residual structure), and the [`Branch`] a
//! layer list is walked as.

use std::collections::HashMap;

use super::conv::Strategy;
use super::layout::ChannelOrder;
use crate::nn::ir::join_path;
use crate::nn::{Conv2d, Layer, PlacedLayer, Shape};

/// Which branch a layer list is walked as, from the IR's residual structure.
#[derive(Debug, Clone, Copy)]
pub(super) enum Branch<'p> {
    /// The network's layer list and every residual block's body: its convolutions are the
    /// ones whose groups set the channel order of the convolutions before them. (A body
    /// nested in a shortcut is walked as `Main` too, though its convolutions are not among
    /// [`main_line_convs`]; no zoo network has one.)
    Main,
    /// A residual block's shortcut: its convolutions write the output order of the
    /// convolution at `order_of` (the body's last one, else the block itself, i.e. the
    /// default order), so that both branches end in the same layout.
    Shortcut {
        /// Path of the convolution whose output order the shortcut writes.
        order_of: &'p str,
    },
}

/// The convolutions outside every shortcut branch (of `layers` and, recursively, of their
/// residual bodies) in execution order, with their paths.
fn main_line_convs<'a>(layers: &'a [Layer], prefix: &str, out: &mut Vec<(String, &'a Conv2d)>) {
    for (i, layer) in layers.iter().enumerate() {
        let path = join_path(prefix, i);
        match layer {
            Layer::Conv2d(conv) => out.push((path, conv)),
            Layer::Residual(block) => main_line_convs(&block.body, &format!("{path}.body"), out),
            _ => {}
        }
    }
}

/// The channel order of every convolution of a walk.
#[derive(Debug)]
pub(super) struct ChannelOrders<'a> {
    strategy: &'a Strategy,
    /// Group counts of the main-line convolutions ([`main_line_convs`]) in execution order,
    /// with their paths.
    groups: Vec<(String, usize)>,
    /// Main-line convolutions walked so far.
    seen: usize,
}

impl<'a> ChannelOrders<'a> {
    /// The orders of the convolutions of `layers` (a folded network's, `placed` its placed
    /// layers) under `strategy` at `slots` slots.
    pub(super) fn new(
        strategy: &'a Strategy,
        layers: &[Layer],
        placed: &[PlacedLayer<'_>],
        slots: usize,
    ) -> Self {
        let inputs: HashMap<&str, Shape> = placed
            .iter()
            .map(|p| (p.location.path.as_str(), p.input))
            .collect();
        let mut main_line = Vec::new();
        main_line_convs(layers, "", &mut main_line);
        let groups = main_line
            .into_iter()
            .map(|(path, c)| {
                let groups = strategy.groups_for(c, inputs[path.as_str()], slots);
                (path, groups)
            })
            .collect();
        ChannelOrders {
            strategy,
            groups,
            seen: 0,
        }
    }

    /// Notes that the walk passed a main-line convolution.
    pub(super) fn passed_conv(&mut self) {
        self.seen += 1;
    }

    /// The group count of the first main-line convolution after `path` in execution
    /// order (1 if none).
    fn next_groups(&self, path: &str) -> usize {
        let pos = self.groups.iter().position(|(p, _)| p == path);
        match pos {
            Some(i) => self.groups.get(i + 1).map_or(1, |e| e.1),
            None => 1,
        }
    }

    /// The output channel order of the convolution at `path`: channel-major for the dense
    /// baseline; for SpENCNN interleaved by the convolution's own groups when it is grouped
    /// (its diagonals need it), else by the next convolution's groups (a dense convolution
    /// costs the same in any order, and the next one gets its interleaving for free).
    pub(super) fn output_order(&self, path: &str) -> ChannelOrder {
        let own = self
            .groups
            .iter()
            .find(|(p, _)| p == path)
            .map_or(1, |e| e.1);
        let g = if own > 1 { own } else { self.next_groups(path) };
        self.strategy.channel_order(g)
    }

    /// The order a repacked pooling writes: the next convolution's, or the last one's when
    /// none follows (the fully connected layers read any order).
    pub(super) fn repack_order(&self) -> ChannelOrder {
        let groups = self
            .groups
            .get(self.seen)
            .or_else(|| self.groups.get(self.seen.checked_sub(1)?))
            .map_or(1, |e| e.1);
        self.strategy.channel_order(groups)
    }
}
