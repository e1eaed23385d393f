//! The pooling layer ([`Pool`], [`PoolKind`]) and its shape rule.

use serde::{Deserialize, Serialize};

use super::layer::{check_positive, LayerProblem};
use super::Shape;

/// Pooling reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// Mean of the window (PyTorch `AvgPool2d` without padding): linear, HE-native.
    Average,
    /// Exact maximum of the window (PyTorch `MaxPool2d`): the plaintext reference for the
    /// minimax-approximated max pooling of later strategies.
    Max,
}

/// 2-D pooling per channel, square window, no padding. Input `(C, H, W)` with `H, W >=
/// kernel_size`, output `(C, floor((H - k) / stride) + 1, floor((W - k) / stride) + 1)`. A global
/// average pool is `kernel_size = stride = H = W`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    /// Average or max.
    pub kind: PoolKind,
    /// Window height = width, >= 1.
    pub kernel_size: usize,
    /// Stride, >= 1.
    pub stride: usize,
}

impl Pool {
    /// Average pooling with `stride = kernel_size` (PyTorch's default stride).
    pub const fn average(kernel_size: usize) -> Self {
        Pool {
            kind: PoolKind::Average,
            kernel_size,
            stride: kernel_size,
        }
    }

    pub(super) fn output_shape(&self, input: Shape) -> Result<Shape, LayerProblem> {
        check_positive("kernel_size", self.kernel_size)?;
        check_positive("stride", self.stride)?;
        if input.height < self.kernel_size || input.width < self.kernel_size {
            return Err(LayerProblem::shape(
                format!("(C, H, W) with H, W >= {}", self.kernel_size),
                input,
            ));
        }
        let out = |n: usize| (n - self.kernel_size) / self.stride + 1;
        Ok(Shape::new(
            input.channels,
            out(input.height),
            out(input.width),
        ))
    }
}
