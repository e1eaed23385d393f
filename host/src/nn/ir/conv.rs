//! The 2-D convolution layer ([`Conv2d`]): hyperparameters, weight layout and its shape rule.

use serde::{Deserialize, Serialize};

use super::layer::{check_len, check_positive, LayerProblem};
use super::Shape;

/// A 2-D convolution (PyTorch `nn.Conv2d` with square kernels, zero padding, no dilation).
///
/// Input `(in_channels, H, W)`, output `(out_channels, H', W')` with
/// `H' = floor((H + 2 padding - kernel_size) / stride) + 1` (same for `W`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2d {
    /// Module name; its tensors are `{name}.weight` and `{name}.bias`.
    pub name: String,
    /// Input channels, >= 1, a multiple of `groups`.
    pub in_channels: usize,
    /// Output channels, >= 1, a multiple of `groups`.
    pub out_channels: usize,
    /// Kernel height = width, >= 1.
    pub kernel_size: usize,
    /// Stride (both directions), >= 1.
    pub stride: usize,
    /// Zero padding on every side, `0 ..= kernel_size - 1` (more would only add rows of bias).
    pub padding: usize,
    /// Groups, >= 1: group `g` maps input channels `g*in/groups ..` to output channels
    /// `g*out/groups ..`; 1 is a dense convolution, `in_channels` a depthwise one.
    pub groups: usize,
    /// `[out_channels][in_channels / groups][kernel_size][kernel_size]` row-major.
    pub weight: Vec<f64>,
    /// One per output channel, or none.
    pub bias: Option<Vec<f64>>,
    /// The sub-block pruning mask the weights were trained with, if any: one entry per
    /// [`Conv2d::weight`] value (same order), `false` where the weight is pruned (and 0). Read
    /// from the `{name}.weight_mask` tensor of a weights file
    /// ([`crate::nn::weights::load_safetensors`]); the compiler prunes exactly this mask and
    /// does not prune such a layer further by magnitude ([`crate::pack::PruneConfig`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_mask: Option<Vec<bool>>,
}

impl Conv2d {
    /// A convolution with zero weights (and zero bias when `bias`); fill the weights by
    /// [`crate::nn::weights::init_seeded`] or [`crate::nn::weights::load_safetensors`].
    /// Hyperparameters are checked by [`Network::shapes`](super::Network::shapes), not here.
    pub fn zeroed(
        name: impl Into<String>,
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        groups: usize,
        bias: bool,
    ) -> Self {
        let mut conv = Conv2d {
            name: name.into(),
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            groups,
            weight: Vec::new(),
            bias: bias.then(|| vec![0.0; out_channels]),
            weight_mask: None,
        };
        conv.weight = vec![0.0; conv.weight_len()];
        conv
    }

    /// Input channels per group `in_channels / groups` (0 when `groups` is 0).
    pub fn in_channels_per_group(&self) -> usize {
        self.in_channels.checked_div(self.groups).unwrap_or(0)
    }

    /// Output channels per group `out_channels / groups` (0 when `groups` is 0).
    pub fn out_channels_per_group(&self) -> usize {
        self.out_channels.checked_div(self.groups).unwrap_or(0)
    }

    /// `[out_channels, in_channels / groups, kernel_size, kernel_size]`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [
            self.out_channels,
            self.in_channels_per_group(),
            self.kernel_size,
            self.kernel_size,
        ]
    }

    fn weight_len(&self) -> usize {
        self.weight_shape()
            .iter()
            .fold(1usize, |a, &d| a.saturating_mul(d))
    }

    /// Index into [`Conv2d::weight`] of output channel `out`, in-group input channel `in_g`,
    /// kernel row `ky` and column `kx`.
    pub fn weight_index(&self, out: usize, in_g: usize, ky: usize, kx: usize) -> usize {
        ((out * self.in_channels_per_group() + in_g) * self.kernel_size + ky) * self.kernel_size
            + kx
    }

    /// The output shape for `input`, or what does not fit.
    pub(super) fn output_shape(&self, input: Shape) -> Result<Shape, LayerProblem> {
        check_positive("in_channels", self.in_channels)?;
        check_positive("out_channels", self.out_channels)?;
        check_positive("kernel_size", self.kernel_size)?;
        check_positive("stride", self.stride)?;
        check_positive("groups", self.groups)?;
        for (field, channels) in [
            ("in_channels", self.in_channels),
            ("out_channels", self.out_channels),
        ] {
            if channels % self.groups != 0 {
                return Err(LayerProblem::field(
                    field,
                    format!(
                        "{field} = {channels} is not a multiple of groups = {}",
                        self.groups
                    ),
                ));
            }
        }
        if self.padding >= self.kernel_size {
            return Err(LayerProblem::field(
                "padding",
                format!(
                    "padding = {} must be at most kernel_size - 1 = {}",
                    self.padding,
                    self.kernel_size - 1
                ),
            ));
        }
        check_len("weight", self.weight_len(), self.weight.len())?;
        if let Some(bias) = &self.bias {
            check_len("bias", self.out_channels, bias.len())?;
        }
        if let Some(mask) = &self.weight_mask {
            check_len("weight_mask", self.weight_len(), mask.len())?;
        }
        let padded = |n: usize| n.saturating_add(self.padding.saturating_mul(2));
        if input.channels != self.in_channels
            || padded(input.height) < self.kernel_size
            || padded(input.width) < self.kernel_size
        {
            return Err(LayerProblem::shape(
                format!(
                    "({}, H, W) with H + 2*{} >= {} and W + 2*{} >= {}",
                    self.in_channels,
                    self.padding,
                    self.kernel_size,
                    self.padding,
                    self.kernel_size
                ),
                input,
            ));
        }
        let out = |n: usize| (padded(n) - self.kernel_size) / self.stride + 1;
        Ok(Shape::new(
            self.out_channels,
            out(input.height),
            out(input.width),
        ))
    }
}
