//! The parameter-free shortcut of the CIFAR-10 ResNets (He et al. 2016, option A): where a
//! block halves the map and doubles the channels, its shortcut keeps every `stride`-th row and
//! column and pads zero channels on both sides (PyTorch
//! `F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))`).

use serde::{Deserialize, Serialize};

use super::ir::{Conv2d, FeatureMap, Shape};

/// `(C, H, W) -> (pad_before + C + pad_after, ceil(H / stride), ceil(W / stride))`: output
/// channel `pad_before + c`, row `i`, column `j` is input `(c, i * stride, j * stride)`; the
/// padded channels are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Downsample {
    /// Row and column step, >= 1.
    pub stride: usize,
    /// Zero channels before the input's.
    pub pad_before: usize,
    /// Zero channels after the input's.
    pub pad_after: usize,
}

impl Downsample {
    /// The output shape (`None` when it overflows `usize`, or `stride` is 0).
    pub fn output_shape(&self, input: Shape) -> Option<Shape> {
        if self.stride == 0 {
            return None;
        }
        let channels = input
            .channels
            .checked_add(self.pad_before)?
            .checked_add(self.pad_after)?;
        Some(Shape::new(
            channels,
            input.height.div_ceil(self.stride),
            input.width.div_ceil(self.stride),
        ))
    }

    /// The same map as a 1x1 convolution of stride `stride` without padding or bias from
    /// `in_channels` to `pad_before + in_channels + pad_after` channels, weight 1 from input
    /// channel `c` to output channel `pad_before + c` and 0 elsewhere (how an encrypted
    /// network runs it: a linear map of the packed slots).
    pub fn as_conv(&self, name: &str, in_channels: usize) -> Conv2d {
        let out_channels = self.pad_before + in_channels + self.pad_after;
        let mut conv = Conv2d::zeroed(name, in_channels, out_channels, 1, self.stride, 0, 1, false);
        for c in 0..in_channels {
            conv.weight[(self.pad_before + c) * in_channels + c] = 1.0;
        }
        conv
    }

    /// Applies the layer to `x` (whose shape it must accept: see [`Self::output_shape`]).
    pub fn apply(&self, x: &FeatureMap) -> FeatureMap {
        let input = x.shape();
        let output = self
            .output_shape(input)
            .expect("the network's shape check accepted this layer");
        let mut out = vec![0.0; output.len()];
        let data = x.data();
        for c in 0..input.channels {
            for i in 0..output.height {
                for j in 0..output.width {
                    out[((self.pad_before + c) * output.height + i) * output.width + j] =
                        data[(c * input.height + i * self.stride) * input.width + j * self.stride];
                }
            }
        }
        FeatureMap::new(output, out).expect("the length is the shape's")
    }
}
