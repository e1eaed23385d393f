//! The network IR: shapes, feature maps, layers, networks, shape inference and the parameter
//! view (PyTorch `state_dict` names) that weight loading, seeded initialization and the packing
//! strategies build on.
//!
//! Conventions (all of `nn`):
//! - A feature map is a `(C, H, W)` tensor stored CHW row-major: value `(c, y, x)` at
//!   `(c * H + y) * W + x`. A flat vector of `n` features is the shape `(n, 1, 1)`.
//! - Convolution weights are `[out][in / groups][kh][kw]` row-major (PyTorch's layout); square
//!   kernels only (`kh = kw = kernel_size`). Output channel `o` belongs to group
//!   `o / (out / groups)` and reads input channels `g * (in / groups) .. (g + 1) * (in / groups)`
//!   of its group `g`.
//! - Fully connected weights are `[out][in]` row-major; the input feature `i` of a flattened
//!   `(C, H, W)` map is `(c * H + y) * W + x` (PyTorch's `flatten`).
//! - Output sizes follow PyTorch: `floor((H + 2 * padding - kernel) / stride) + 1`.
//!
//! One concern a file: [`Shape`] and [`FeatureMap`] (`shape`); the layer kinds [`Conv2d`]
//! (`conv`), [`BatchNorm`] (`batch_norm`), [`Pool`] (`pool`), [`Activation`] (`activation`),
//! [`Linear`] (`linear`); the [`Layer`] sum type and [`LayerLocation`] (`layer`); [`Network`]
//! with shape inference and layer walks (`network`); the parameter view [`Parameter`]
//! (`parameter`).

mod activation;
mod batch_norm;
mod conv;
mod layer;
mod linear;
mod network;
mod parameter;
mod pool;
mod shape;

pub use activation::{Activation, ActivationLayer};
pub use batch_norm::BatchNorm;
pub use conv::Conv2d;
pub use layer::{Layer, LayerLocation, Residual};
pub use linear::Linear;
pub(crate) use network::join_path;
pub use network::{LayerShape, Network, PlacedLayer};
pub use parameter::{Parameter, ParameterMut, ParameterRole};
pub use pool::{Pool, PoolKind};
pub use shape::{FeatureMap, Shape};

/// Largest feature map a network may produce (2^30 values, 8 GiB of `f64`): larger shapes are
/// refused by [`Network::shapes`] instead of exhausting memory.
pub const MAX_FEATURE_VALUES: usize = 1 << 30;
