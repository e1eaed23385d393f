//! How a `C x H x W` feature map sits in ciphertext slots.
//!
//! A [`Layout`] is affine per channel: pixel `(c, y, x)` is in ciphertext
//! `channels[c].ciphertext` at slot `channels[c].base + y * row_stride + x * col_stride`. Every
//! channel shares the two strides, so a spatial shift by `(dy, dx)` is one rotation by
//! `dy * row_stride + dx * col_stride` for all channels at once, and moving channel `i`'s
//! pixels onto channel `o`'s is a rotation by `base_i - base_o` (modulo the slot count)
//! independent of the pixel: that is what makes convolutions cost few distinct rotations.
//! Slots that hold no pixel are *invalid*: they may hold anything (the linear maps of
//! [`crate::pack::diag`] never read them and write zeros there).
//!
//! [`Layout::multiplexed`] builds the layouts the strategies use:
//! - a *plane* of `P` slots (a power of two dividing the slot count) per block; blocks are laid
//!   side by side, `S / P` per ciphertext, so a rotation by a multiple of `P` permutes blocks
//!   cyclically;
//! - *gap* `m >= 1`: pixels are `m` fine-grid steps apart (`row_stride = m * fine_row`,
//!   `col_stride = m * fine_col`), as a stride-`s` convolution or pooling leaves them
//!   (Lee et al.'s gapped layout); the `m^2` holes of a block are filled with `m^2` channels
//!   at sub-offsets `sy * fine_row + sx * fine_col`, `(sy, sx)` in `[0, m)^2` (multiplexed
//!   packing), so a gapped map needs no more ciphertexts than a dense one;
//! - a [`ChannelOrder`]: the channel at position `p` of the order goes to ciphertext
//!   `p / (B m^2)` and, with `q = p mod B m^2`, to block `q mod B` and sub-offset number
//!   `q / B` (`B` blocks per ciphertext; sub-offset number `n` is `(sy, sx) = (n / m, n mod m)`):
//!   consecutive positions fill the blocks first, then the holes.
//!   [`ChannelOrder::Interleaved`] puts channel `g * C/G + l` (group `g`, index `l` in its
//!   group) at position `l * G + g`: the channels of the `G` groups alternate, so when `G`
//!   divides `B` group `g` adds the same `g P` to the base of every one of its channels, in
//!   the input and the output layout alike (same plane `P`), and the channel-offset rotation
//!   that brings input `l'` of every group onto output `l` of the same group is one rotation
//!   for all groups (group-interleaved encoding).
//!
//! *Replicated* layouts ([`Layout::replicated`], for a network input the client encrypts):
//! when a map fits in `P` slots (`P` a power of two below `S`), its slot vector is repeated
//! `S / P` times, so every rotation by `r` reads the same values as a rotation by `r mod P`.
//! The linear maps then rotate by `r mod P` only: one rotation and one plaintext diagonal
//! serve every output block (a 1-channel input feeding 8 output channels per ciphertext needs
//! `k^2` diagonals per output ciphertext instead of `8 k^2`).

use serde::{Deserialize, Serialize};

use super::{LayoutError, PackError};
use crate::nn::{FeatureMap, Shape};

/// Where one channel starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPlacement {
    /// Ciphertext index, `< Layout::ciphertexts`.
    pub ciphertext: usize,
    /// Slot of pixel `(0, 0)`.
    pub base: usize,
}

/// The order channels are placed in (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelOrder {
    /// Channel `c` at position `c`.
    ChannelMajor,
    /// `groups` groups interleaved: channel `g * C/groups + l` at position `l * groups + g`.
    /// `groups` must divide the channel count.
    Interleaved {
        /// Group count `G >= 1` (1 is channel-major).
        groups: usize,
    },
}

impl ChannelOrder {
    /// The channel at each position `0 .. channels`.
    pub fn channel_at_positions(&self, channels: usize) -> Result<Vec<usize>, PackError> {
        match *self {
            ChannelOrder::ChannelMajor => Ok((0..channels).collect()),
            ChannelOrder::Interleaved { groups } => {
                if groups == 0 || !channels.is_multiple_of(groups) {
                    return Err(LayoutError::Interleaving { groups, channels }.into());
                }
                let per_group = channels / groups;
                Ok((0..channels)
                    .map(|p| (p % groups) * per_group + p / groups)
                    .collect())
            }
        }
    }
}

/// How a feature map of `shape` sits in `ciphertexts` ciphertexts of `slots` slots (see the
/// module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// The feature map's shape `(C, H, W)`.
    pub shape: Shape,
    /// Slots per ciphertext (a power of two).
    pub slots: usize,
    /// Number of ciphertexts.
    pub ciphertexts: usize,
    /// Slot distance between pixels `(y, x)` and `(y + 1, x)` of a channel.
    pub row_stride: usize,
    /// Slot distance between pixels `(y, x)` and `(y, x + 1)`.
    pub col_stride: usize,
    /// Multiplexing gap `m` (informative: `m^2` channels share a block), >= 1.
    pub gap: usize,
    /// Block plane size `P` (informative), a power of two dividing `slots`.
    pub plane: usize,
    /// Per channel, where pixel `(0, 0)` is.
    pub channels: Vec<ChannelPlacement>,
    /// Copies of the slot vector (>= 1, a power of two): slot `s` and `s + k slots /
    /// replicas` hold the same value; pixels sit in the first `slots / replicas` slots.
    #[serde(default = "one")]
    pub replicas: usize,
}

fn one() -> usize {
    1
}

impl Layout {
    /// Builds the multiplexed layout of `shape` (see the module docs): pixels `gap` fine steps
    /// apart on a fine grid of strides `(fine_row, fine_col)`, the smallest power-of-two plane
    /// holding a gapped block, and, when all channels fit in one ciphertext, planes enlarged so
    /// the used blocks fill it (`B = next_pow2(ceil(C / gap^2))` blocks of `S / B` slots).
    ///
    /// Errors ([`PackError::Layout`]) when a block does not fit in `slots` or the order is
    /// invalid.
    pub fn multiplexed(
        shape: Shape,
        slots: usize,
        fine_row: usize,
        fine_col: usize,
        gap: usize,
        order: ChannelOrder,
    ) -> Result<Layout, PackError> {
        Layout::gapped(shape, slots, fine_row, fine_col, gap, gap, order)
    }

    /// Like [`Layout::multiplexed`], with only `fill` of the `gap` holes per direction filled
    /// (`fill` in `[1, gap]`; 1: one channel per block, holes left empty). For maps whose rows
    /// are too long for the fine grid's holes (a convolution whose padding grows the map).
    pub fn gapped(
        shape: Shape,
        slots: usize,
        fine_row: usize,
        fine_col: usize,
        gap: usize,
        fill: usize,
        order: ChannelOrder,
    ) -> Result<Layout, PackError> {
        Layout::build(shape, slots, fine_row, fine_col, gap, fill, None, order)
    }

    /// Like [`Layout::multiplexed`] with blocks of exactly `plane` slots (a power of two,
    /// at least the block's extent, at most `slots`; `slots / plane` blocks per ciphertext,
    /// filled in position order): what keeps group interleaving working across a layer whose
    /// input has that plane.
    pub fn multiplexed_with_plane(
        shape: Shape,
        slots: usize,
        fine_row: usize,
        fine_col: usize,
        gap: usize,
        plane: usize,
        order: ChannelOrder,
    ) -> Result<Layout, PackError> {
        Layout::build(
            shape,
            slots,
            fine_row,
            fine_col,
            gap,
            gap,
            Some(plane),
            order,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        shape: Shape,
        slots: usize,
        fine_row: usize,
        fine_col: usize,
        gap: usize,
        fill: usize,
        forced_plane: Option<usize>,
        order: ChannelOrder,
    ) -> Result<Layout, PackError> {
        if fill == 0 || fill > gap {
            return Err(LayoutError::Fill { fill, gap }.into());
        }
        if slots == 0 || !slots.is_power_of_two() {
            return Err(LayoutError::Slots { slots }.into());
        }
        if shape.is_empty() || gap == 0 || fine_row == 0 || fine_col == 0 {
            return Err(LayoutError::Empty {
                shape,
                gap,
                fine_row,
                fine_col,
            }
            .into());
        }
        let row_stride = gap * fine_row;
        let col_stride = gap * fine_col;
        let extent = (shape.height - 1) * row_stride
            + (shape.width - 1) * col_stride
            + (fill - 1) * (fine_row + fine_col)
            + 1;
        let min_plane = extent.next_power_of_two();
        if min_plane > slots {
            return Err(LayoutError::BlockTooLarge {
                height: shape.height,
                width: shape.width,
                gap,
                extent,
                slots,
            }
            .into());
        }
        let per_block = fill * fill;
        let blocks_needed = shape.channels.div_ceil(per_block);
        let max_blocks = slots / min_plane;
        let (plane, blocks) = if let Some(p) = forced_plane {
            if !p.is_power_of_two() || p < min_plane || p > slots {
                return Err(LayoutError::Plane {
                    plane: p,
                    min: min_plane,
                    slots,
                }
                .into());
            }
            (p, slots / p)
        } else if blocks_needed <= max_blocks {
            let b = blocks_needed.next_power_of_two();
            (slots / b, b)
        } else {
            (min_plane, max_blocks)
        };
        let per_ct = blocks * per_block;
        let order = order.channel_at_positions(shape.channels)?;
        let mut channels = vec![
            ChannelPlacement {
                ciphertext: 0,
                base: 0
            };
            shape.channels
        ];
        for (p, &c) in order.iter().enumerate() {
            let q = p % per_ct;
            let (block, sub) = (q % blocks, q / blocks);
            let (sy, sx) = (sub / fill, sub % fill);
            channels[c] = ChannelPlacement {
                ciphertext: p / per_ct,
                base: block * plane + sy * fine_row + sx * fine_col,
            };
        }
        let layout = Layout {
            shape,
            slots,
            ciphertexts: shape.channels.div_ceil(per_ct),
            row_stride,
            col_stride,
            gap,
            plane,
            channels,
            replicas: 1,
        };
        layout.validate()?;
        Ok(layout)
    }

    /// The packed layout ([`Layout::packed`]) of `shape` in the smallest power-of-two number
    /// of slots `P <= slots` that holds it in one ciphertext, replicated `slots / P` times
    /// (see the module docs); the plain packed layout when it needs the whole ciphertext or
    /// more than one.
    pub fn replicated(
        shape: Shape,
        slots: usize,
        order: ChannelOrder,
    ) -> Result<Layout, PackError> {
        let packed = Layout::packed(shape, slots, order)?;
        if packed.ciphertexts > 1 {
            return Ok(packed);
        }
        let mut p = slots;
        while p > 1 {
            match Layout::packed(shape, p / 2, order) {
                Ok(l) if l.ciphertexts == 1 => p /= 2,
                _ => break,
            }
        }
        let mut layout = Layout::packed(shape, p, order)?;
        layout.slots = slots;
        layout.replicas = slots / p;
        layout.validate()?;
        Ok(layout)
    }

    /// Slots of one copy, `slots / replicas`: rotations act modulo it.
    pub fn period(&self) -> usize {
        self.slots / self.replicas
    }

    /// The dense input layout of a network: row-major pixels (`row_stride = W`, `col_stride =
    /// 1`), no gap.
    pub fn packed(shape: Shape, slots: usize, order: ChannelOrder) -> Result<Layout, PackError> {
        Layout::multiplexed(shape, slots, shape.width, 1, 1, order)
    }

    /// `(ciphertext, slot)` of pixel `(c, y, x)` (no bounds check beyond the layout's own).
    pub fn slot(&self, c: usize, y: usize, x: usize) -> (usize, usize) {
        let p = self.channels[c];
        (
            p.ciphertext,
            p.base + y * self.row_stride + x * self.col_stride,
        )
    }

    /// Checks that every pixel is in range (within the first copy) and no two share a slot.
    pub fn validate(&self) -> Result<(), PackError> {
        if self.replicas == 0
            || !self.replicas.is_power_of_two()
            || !self.slots.is_multiple_of(self.replicas)
        {
            return Err(LayoutError::Replicas {
                replicas: self.replicas,
                slots: self.slots,
            }
            .into());
        }
        if self.channels.len() != self.shape.channels {
            return Err(LayoutError::Placements {
                placements: self.channels.len(),
                channels: self.shape.channels,
            }
            .into());
        }
        let mut used = vec![vec![false; self.slots]; self.ciphertexts];
        for c in 0..self.shape.channels {
            for y in 0..self.shape.height {
                for x in 0..self.shape.width {
                    let (ct, s) = self.slot(c, y, x);
                    if ct >= self.ciphertexts || s >= self.period() {
                        return Err(LayoutError::PixelOutside {
                            channel: c,
                            y,
                            x,
                            ciphertext: ct,
                            slot: s,
                            ciphertexts: self.ciphertexts,
                            period: self.period(),
                        }
                        .into());
                    }
                    if std::mem::replace(&mut used[ct][s], true) {
                        return Err(LayoutError::PixelShared {
                            channel: c,
                            y,
                            x,
                            ciphertext: ct,
                            slot: s,
                        }
                        .into());
                    }
                }
            }
        }
        Ok(())
    }

    /// The layout after a pooling of window stride `stride` that leaves each output pixel at
    /// the slot of the window's top-left input pixel (no repacking): strides and gap times
    /// `stride`, same channel placements.
    pub fn strided(&self, output: Shape, stride: usize) -> Layout {
        Layout {
            shape: output,
            row_stride: self.row_stride * stride,
            col_stride: self.col_stride * stride,
            gap: self.gap * stride,
            ..self.clone()
        }
    }

    /// The same slots seen as a flat vector `(C H W, 1, 1)` in CHW order (PyTorch's flatten):
    /// feature `c H W + y W + x` is pixel `(c, y, x)`.
    pub fn flattened(&self) -> Layout {
        let s = self.shape;
        let mut channels = Vec::with_capacity(s.len());
        for c in 0..s.channels {
            for y in 0..s.height {
                for x in 0..s.width {
                    let (ciphertext, base) = self.slot(c, y, x);
                    channels.push(ChannelPlacement { ciphertext, base });
                }
            }
        }
        Layout {
            shape: Shape::flat(s.len()),
            slots: self.slots,
            ciphertexts: self.ciphertexts,
            row_stride: 1,
            col_stride: 1,
            gap: 1,
            plane: 1,
            channels,
            replicas: self.replicas,
        }
    }

    /// Number of slots holding a pixel over all ciphertexts, divided by all slots.
    pub fn utilization(&self) -> f64 {
        self.shape.len() as f64 / (self.ciphertexts * self.slots) as f64
    }

    /// The slot vectors of `map` (one per ciphertext, every copy written; invalid slots zero).
    pub fn encode(&self, map: &FeatureMap) -> Result<Vec<Vec<f64>>, PackError> {
        if map.shape() != self.shape {
            return Err(LayoutError::MapShape {
                map: map.shape(),
                layout: self.shape,
            }
            .into());
        }
        let mut out = vec![vec![0.0; self.slots]; self.ciphertexts];
        let s = self.shape;
        for c in 0..s.channels {
            for y in 0..s.height {
                for x in 0..s.width {
                    let (ct, slot) = self.slot(c, y, x);
                    for k in 0..self.replicas {
                        out[ct][slot + k * self.period()] =
                            map.data()[(c * s.height + y) * s.width + x];
                    }
                }
            }
        }
        Ok(out)
    }

    /// Reads the feature map back from slot vectors (one per ciphertext).
    pub fn decode(&self, slots: &[Vec<f64>]) -> Result<FeatureMap, PackError> {
        if slots.len() != self.ciphertexts || slots.iter().any(|v| v.len() != self.slots) {
            return Err(LayoutError::SlotVectors {
                given: slots.len(),
                ciphertexts: self.ciphertexts,
                slots: self.slots,
            }
            .into());
        }
        let s = self.shape;
        let mut data = Vec::with_capacity(s.len());
        for c in 0..s.channels {
            for y in 0..s.height {
                for x in 0..s.width {
                    let (ct, slot) = self.slot(c, y, x);
                    data.push(slots[ct][slot]);
                }
            }
        }
        // the data has the shape's length by construction
        Ok(FeatureMap::new(s, data)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_error(r: Result<impl std::fmt::Debug, PackError>) -> LayoutError {
        match r {
            Err(PackError::Layout(e)) => e,
            other => panic!("expected a layout error, got {other:?}"),
        }
    }

    #[test]
    fn invalid_layouts_name_the_field_and_the_allowed_values() {
        let shape = Shape::new(4, 4, 4);
        let order = ChannelOrder::ChannelMajor;
        assert_eq!(
            layout_error(Layout::gapped(shape, 64, 1, 4, 2, 3, order)),
            LayoutError::Fill { fill: 3, gap: 2 }
        );
        assert_eq!(
            layout_error(Layout::multiplexed(shape, 48, 1, 4, 1, order)),
            LayoutError::Slots { slots: 48 }
        );
        let e = layout_error(Layout::multiplexed(shape, 8, 1, 4, 1, order));
        assert_eq!(
            e,
            LayoutError::BlockTooLarge {
                height: 4,
                width: 4,
                gap: 1,
                extent: 16,
                slots: 8
            }
        );
        assert_eq!(
            e.to_string(),
            "a block of shape (4, 4) with gap 1 spans 16 slots, more than the 8 of a ciphertext"
        );
        assert_eq!(
            layout_error(Layout::multiplexed_with_plane(shape, 64, 1, 4, 1, 8, order)),
            LayoutError::Plane {
                plane: 8,
                min: 16,
                slots: 64
            }
        );
        assert_eq!(
            layout_error(ChannelOrder::Interleaved { groups: 3 }.channel_at_positions(4)),
            LayoutError::Interleaving {
                groups: 3,
                channels: 4
            }
        );
        let good = Layout::multiplexed(shape, 64, 1, 4, 1, order).unwrap();
        let e = layout_error(good.decode(&vec![vec![0.0; 64]; good.ciphertexts + 1]));
        assert_eq!(
            e,
            LayoutError::SlotVectors {
                given: good.ciphertexts + 1,
                ciphertexts: good.ciphertexts,
                slots: 64
            }
        );
        let mut shared = good.clone();
        shared.channels[1] = shared.channels[0];
        assert_eq!(
            layout_error(shared.validate()),
            LayoutError::PixelShared {
                channel: 1,
                y: 0,
                x: 0,
                ciphertext: good.channels[0].ciphertext,
                slot: good.channels[0].base
            }
        );
    }
}
