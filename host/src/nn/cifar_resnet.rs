//! The CIFAR-10 ResNets of He et al. 2016 (section 4.2) as trained by the public
//! akamaster/pytorch_resnet_cifar10 checkpoints: ResNet-20/32/44/56 (`6 n + 2` layers, `n` =
//! 3, 5, 7, 9 basic blocks per stage), exact ReLU, batch norm, option-A shortcuts
//! ([`Downsample`]), global average pooling and `linear` 64 -> 10.
//!
//! Module names are the checkpoints' `state_dict` names: `conv1`, `bn1`, `layerS.B.conv1`,
//! `layerS.B.bn1`, `layerS.B.conv2`, `layerS.B.bn2` (S in 1..=3, B in 0..n), `linear`. The
//! shortcuts and activations have no tensors. Activation layers are named `relu1` (stem),
//! `layerS.B.relu1` (inside the body) and `layerS.B.relu2` (after the sum), in execution order.
//!
//! This is the network `heaccel accuracy` measures; the zoo's `resnet20` (SpENCNN's, with 1x1
//! projection shortcuts and grouped stages) is the one `heaccel simulate` packs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ir::{
    Activation, ActivationLayer, BatchNorm, Conv2d, Layer, Linear, Network, Pool, Residual, Shape,
};
use super::shortcut::Downsample;

/// Depth of a CIFAR ResNet: 20, 32, 44 or 56 layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CifarResNet {
    /// 3 blocks per stage, 0.27 M parameters.
    ResNet20,
    /// 5 blocks per stage.
    ResNet32,
    /// 7 blocks per stage.
    ResNet44,
    /// 9 blocks per stage, 0.85 M parameters.
    ResNet56,
}

impl CifarResNet {
    /// The names [`FromStr`] accepts, shallowest first.
    pub const NAMES: [&'static str; 4] = ["resnet20", "resnet32", "resnet44", "resnet56"];

    /// `resnet20`, `resnet32`, `resnet44` or `resnet56`.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Basic blocks per stage (3, 5, 7, 9).
    pub fn blocks_per_stage(self) -> usize {
        2 * self as usize + 3
    }

    /// The network with zero weights and identity batch norms: load a checkpoint into it
    /// ([`crate::nn::weights::load_safetensors`]).
    pub fn architecture(self) -> Network {
        let relu = |name: String| {
            Layer::Activation(ActivationLayer {
                name,
                function: Activation::Relu,
            })
        };
        let conv = |name: String, input: usize, output: usize, stride: usize| {
            Layer::Conv2d(Conv2d::zeroed(name, input, output, 3, stride, 1, 1, false))
        };
        let bn =
            |name: String, channels: usize| Layer::BatchNorm(BatchNorm::identity(name, channels));
        let mut layers = vec![
            conv("conv1".into(), 3, 16, 1),
            bn("bn1".into(), 16),
            relu("relu1".into()),
        ];
        let mut channels = 16;
        for (stage, width) in [16, 32, 64].into_iter().enumerate() {
            for block in 0..self.blocks_per_stage() {
                let prefix = format!("layer{}.{block}", stage + 1);
                let name = |part: &str| format!("{prefix}.{part}");
                let stride = if stage > 0 && block == 0 { 2 } else { 1 };
                let body = vec![
                    conv(name("conv1"), channels, width, stride),
                    bn(name("bn1"), width),
                    relu(name("relu1")),
                    conv(name("conv2"), width, width, 1),
                    bn(name("bn2"), width),
                ];
                let shortcut = if stride != 1 || channels != width {
                    let pad = (width - channels) / 2;
                    vec![Layer::Downsample(Downsample {
                        stride,
                        pad_before: pad,
                        pad_after: width - channels - pad,
                    })]
                } else {
                    Vec::new()
                };
                layers.push(Layer::Residual(Residual {
                    name: prefix.clone(),
                    body,
                    shortcut,
                }));
                layers.push(relu(name("relu2")));
                channels = width;
            }
        }
        layers.extend([
            Layer::Pool(Pool::average(8)),
            Layer::Flatten,
            Layer::Linear(Linear::zeroed("linear", 64, 10, true)),
        ]);
        Network {
            name: self.name().to_string(),
            input_shape: Shape::new(3, 32, 32),
            layers,
        }
    }
}

impl fmt::Display for CifarResNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CifarResNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "resnet20" => Ok(CifarResNet::ResNet20),
            "resnet32" => Ok(CifarResNet::ResNet32),
            "resnet44" => Ok(CifarResNet::ResNet44),
            "resnet56" => Ok(CifarResNet::ResNet56),
            other => Err(format!(
                "unknown CIFAR ResNet '{other}' (expected one of: {})",
                CifarResNet::NAMES.join(", ")
            )),
        }
    }
}
