//! Networks: a small IR for encrypted-inference CNNs, the model zoo of SpENCNN (LeNet, VGG-5,
//! HEFNet, ResNet-20), seeded and safetensors weights, batch-norm folding and a plaintext `f64`
//! forward pass (the reference the encrypted pipeline is checked against).
//!
//! - [`ir`]: [`Shape`], [`FeatureMap`] (CHW row-major), [`Layer`] and [`Network`] with shape
//!   inference ([`Network::shapes`]) and the parameter view ([`Network::parameters`]) under
//!   PyTorch `state_dict` names.
//! - [`fold`]: [`fold_batch_norm`] folds every batch norm into the preceding convolution or
//!   fully connected layer.
//! - [`mod@forward`]: [`forward()`] (every layer's output) and [`infer`] (only the result).
//! - [`zoo`]: the four networks, [`zoo::architecture`] and [`zoo::seeded`].
//! - [`weights`]: [`weights::init_seeded`], [`weights::seeded_input`],
//!   [`weights::load_safetensors`] and [`weights::save_safetensors`].
//!
//! ```
//! use heaccel_host::nn::{forward, weights, zoo};
//! let net = zoo::seeded(zoo::ZooModel::Lenet, zoo::DEFAULT_SEED).unwrap();
//! let input = weights::seeded_input(net.input_shape, 1);
//! let pass = forward(&net, &input).unwrap();
//! assert_eq!(pass.output.data().len(), 10);
//! ```

pub mod cifar_resnet;
pub mod fast;
pub mod fold;
pub mod forward;
pub mod ir;
pub mod shortcut;
pub mod weights;
pub mod zoo;

pub use cifar_resnet::CifarResNet;
pub use fold::fold_batch_norm;
pub use forward::{forward, infer, ForwardPass, LayerOutput};
pub use ir::{
    Activation, ActivationLayer, BatchNorm, Conv2d, FeatureMap, Layer, LayerLocation, LayerShape,
    Linear, Network, Parameter, ParameterMut, ParameterRole, PlacedLayer, Pool, PoolKind, Residual,
    Shape,
};
pub use shortcut::Downsample;
pub use weights::WeightsError;

use thiserror::Error;

/// Errors of the IR, shape inference, folding and the forward pass. Every variant names the
/// network and, where there is one, the layer (see [`LayerLocation`]'s display: `#path kind
/// 'name'`).
#[derive(Debug, Error)]
pub enum NnError {
    /// A layer's input shape does not fit it.
    #[error("network '{network}', layer {location}: input shape {got} does not fit, expected {expected}")]
    Shape {
        /// Network name.
        network: String,
        /// The layer.
        location: Box<LayerLocation>,
        /// What the layer accepts.
        expected: String,
        /// The shape it got.
        got: Shape,
    },
    /// A layer's hyperparameter or parameter tensor is invalid.
    #[error("network '{network}', layer {location}, field `{field}`: {problem}")]
    InvalidLayer {
        /// Network name.
        network: String,
        /// The layer.
        location: Box<LayerLocation>,
        /// The offending field.
        field: &'static str,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// Two parameter tensors would have the same `state_dict` name.
    #[error("network '{network}': parameter name '{name}' occurs twice")]
    DuplicateParameter {
        /// Network name.
        network: String,
        /// The repeated name.
        name: String,
    },
    /// A layer with parameters has an empty name.
    #[error("network '{network}': a layer with parameters has an empty name (tensor '{name}')")]
    UnnamedParameter {
        /// Network name.
        network: String,
        /// The tensor name it would get.
        name: String,
    },
    /// The network's input shape has a zero dimension or more than
    /// [`ir::MAX_FEATURE_VALUES`] values.
    #[error(
        "network '{network}': input shape {shape} has a zero dimension or more than 2^30 values"
    )]
    EmptyInput {
        /// Network name.
        network: String,
        /// The declared input shape.
        shape: Shape,
    },
    /// The input given to the forward pass has the wrong shape.
    #[error("network '{network}': input shape {got}, expected {expected}")]
    InputShape {
        /// Network name.
        network: String,
        /// The network's input shape.
        expected: Shape,
        /// The input's shape.
        got: Shape,
    },
    /// A value vector does not fill its shape.
    #[error("feature map of shape {shape} needs {expected} values, got {got}")]
    FeatureMapLength {
        /// The shape.
        shape: Shape,
        /// `C * H * W`.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A batch norm that no convolution or fully connected layer precedes in its layer list.
    #[error("network '{network}', layer {location}: batch norm cannot be folded: {reason}")]
    Fold {
        /// Network name.
        network: String,
        /// The batch norm.
        location: Box<LayerLocation>,
        /// What precedes it instead.
        reason: String,
    },
    /// An invalid model-zoo configuration.
    #[error("model '{model}', field `{field}`: {problem}")]
    Config {
        /// Model name.
        model: &'static str,
        /// The offending field.
        field: &'static str,
        /// What is wrong and what is allowed.
        problem: String,
    },
}
