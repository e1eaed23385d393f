//! The model zoo: the four networks of SpENCNN (see `shared/BACKGROUND.md`), layer for layer.
//!
//! Every activation is the polynomial [`Activation::DEFAULT_POLY`] `0.125 x^2 + 0.5 x + 0.25`
//! until weights (which carry trained coefficients) are loaded. Convolutions followed by a batch
//! norm have no bias (PyTorch `bias=False`, the usual choice); all other convolutions and every
//! fully connected layer have one. Module names (hence tensor names, see
//! [`Network::parameters`]) are listed per network.
//!
//! | network | input | output | parameters ([`Network::parameter_count`]) |
//! |---|---|---|---|
//! | `lenet` | (1, 28, 28) | 10 | 15,891 |
//! | `vgg5` | (3, 32, 32) | 10 | 50,410,515 |
//! | `hefnet` | (3, 32, 32) | 10 | 62,230 |
//! | `resnet20` (groups 2, 1, 1) | (3, 32, 32) | 10 | 267,187 |

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ir::{
    Activation, ActivationLayer, BatchNorm, Conv2d, Layer, Linear, Network, Pool, Residual, Shape,
};
use super::weights::init_seeded;
use super::NnError;

/// The default seed of [`seeded`] weights.
pub const DEFAULT_SEED: u64 = 2023;

/// Configuration of [`resnet20`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResNet20Config {
    /// Groups of the 3x3 convolutions of the basic blocks of stages 1, 2, 3 (16, 32, 64
    /// channels at 32x32, 16x16, 8x8). Each must be >= 1 and divide the channels the
    /// convolution reads and writes (stage 1: 16; stage 2: 16 and 32; stage 3: 32 and 64). The
    /// stem convolution (3 -> 16) and the 1x1 shortcut convolutions stay dense.
    ///
    /// Default `[2, 1, 1]`: SpENCNN's HE-group rule, group size = the channels one ciphertext
    /// holds = slots / (H * W), at its N = 2^14 (8,192 slots): 8 of 16 channels at 32x32 (2
    /// groups), 32 of 32 at 16x16 and 128 >= 64 at 8x8 (1 group). Only stage 1 is grouped,
    /// which is consistent with ResNet-20's modest reported speedup (1.87x).
    pub stage_groups: [usize; 3],
}

impl Default for ResNet20Config {
    fn default() -> Self {
        ResNet20Config {
            stage_groups: [2, 1, 1],
        }
    }
}

/// A network of the zoo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZooModel {
    /// [`lenet`].
    Lenet,
    /// [`vgg5`].
    Vgg5,
    /// [`hefnet`].
    Hefnet,
    /// [`resnet20`] with its configuration.
    Resnet20(ResNet20Config),
}

impl ZooModel {
    /// The names [`FromStr`] accepts, in zoo order.
    pub const NAMES: [&'static str; 4] = ["lenet", "vgg5", "hefnet", "resnet20"];

    /// The name (`lenet`, `vgg5`, `hefnet`, `resnet20`).
    pub fn name(&self) -> &'static str {
        match self {
            ZooModel::Lenet => "lenet",
            ZooModel::Vgg5 => "vgg5",
            ZooModel::Hefnet => "hefnet",
            ZooModel::Resnet20(_) => "resnet20",
        }
    }
}

impl fmt::Display for ZooModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses one of [`ZooModel::NAMES`] (ResNet-20 with its default configuration).
impl FromStr for ZooModel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "lenet" => Ok(ZooModel::Lenet),
            "vgg5" => Ok(ZooModel::Vgg5),
            "hefnet" => Ok(ZooModel::Hefnet),
            "resnet20" => Ok(ZooModel::Resnet20(ResNet20Config::default())),
            other => Err(format!(
                "unknown network '{other}' (expected one of: {})",
                ZooModel::NAMES.join(", ")
            )),
        }
    }
}

/// The architecture with zero weights, identity batch norms and default polynomial
/// activations: load weights into it ([`crate::nn::weights::load_safetensors`]).
pub fn architecture(model: ZooModel) -> Result<Network, NnError> {
    Ok(match model {
        ZooModel::Lenet => lenet(),
        ZooModel::Vgg5 => vgg5(),
        ZooModel::Hefnet => hefnet(),
        ZooModel::Resnet20(config) => resnet20(config)?,
    })
}

/// The architecture with deterministic weights from `seed` ([`init_seeded`]).
pub fn seeded(model: ZooModel, seed: u64) -> Result<Network, NnError> {
    let mut network = architecture(model)?;
    init_seeded(&mut network, seed);
    Ok(network)
}

fn conv(
    name: &str,
    input: usize,
    output: usize,
    kernel: usize,
    padding: usize,
    groups: usize,
) -> Layer {
    Layer::Conv2d(Conv2d::zeroed(
        name, input, output, kernel, 1, padding, groups, true,
    ))
}

fn conv_no_bias(
    name: &str,
    input: usize,
    output: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    groups: usize,
) -> Layer {
    Layer::Conv2d(Conv2d::zeroed(
        name, input, output, kernel, stride, padding, groups, false,
    ))
}

fn act(name: &str) -> Layer {
    Layer::Activation(ActivationLayer {
        name: name.to_string(),
        function: Activation::DEFAULT_POLY,
    })
}

fn bn(name: &str, channels: usize) -> Layer {
    Layer::BatchNorm(BatchNorm::identity(name, channels))
}

fn avg_pool(kernel: usize) -> Layer {
    Layer::Pool(Pool::average(kernel))
}

fn fc(name: &str, input: usize, output: usize) -> Layer {
    Layer::Linear(Linear::zeroed(name, input, output, true))
}

/// LeNet on MNIST `(1, 28, 28)`:
/// `conv1` 1->64 k5 p2 (28x28), `act1`, avgpool 2 (14x14); `conv2` 64->32 k5 groups 4 (10x10),
/// `act2`, avgpool 10 (1x1); flatten; `fc1` 32->32, `act3`; `fc2` 32->10.
/// Multiplicative depth 9 (conv, act, pool, conv, act, pool, fc, act, fc): SpENCNN's "level 9".
pub fn lenet() -> Network {
    Network {
        name: "lenet".to_string(),
        input_shape: Shape::new(1, 28, 28),
        layers: vec![
            conv("conv1", 1, 64, 5, 2, 1),
            act("act1"),
            avg_pool(2),
            conv("conv2", 64, 32, 5, 0, 4),
            act("act2"),
            avg_pool(10),
            Layer::Flatten,
            fc("fc1", 32, 32),
            act("act3"),
            fc("fc2", 32, 10),
        ],
    }
}

/// VGG-5 on CIFAR-10 `(3, 32, 32)`:
/// `conv1` 3->64 k3 p1, `act1`, avgpool 2 (16x16); `conv2` 64->128 k3 p1 groups 8, `act2`;
/// `conv3` 128->128 k3 p1 groups 8, `act3`, avgpool 2 (128 x 8 x 8 = 8192); flatten;
/// `fc1` 8192->4096, `fc2` 4096->4096, `fc3` 4096->10, with no activation between the fully
/// connected layers, as listed: that gives SpENCNN's "level 11" (3 convs, 3 activations, 2
/// pools, 3 FCs), where activations between them would give 13.
pub fn vgg5() -> Network {
    Network {
        name: "vgg5".to_string(),
        input_shape: Shape::new(3, 32, 32),
        layers: vec![
            conv("conv1", 3, 64, 3, 1, 1),
            act("act1"),
            avg_pool(2),
            conv("conv2", 64, 128, 3, 1, 8),
            act("act2"),
            conv("conv3", 128, 128, 3, 1, 8),
            act("act3"),
            avg_pool(2),
            Layer::Flatten,
            fc("fc1", 8192, 4096),
            fc("fc2", 4096, 4096),
            fc("fc3", 4096, 10),
        ],
    }
}

/// HEFNet on CIFAR-10 `(3, 32, 32)`, no padding anywhere:
/// `conv1` 3->256 k3 (30x30), `bn1`, `act1`; `conv2` 256->128 k3 groups 8 (28x28), `bn2`,
/// `act2`, avgpool 2 (14x14); `conv3` 128->64 k3 groups 8 (12x12), `bn3`, `act3`, avgpool 2
/// (6x6); `conv4` 64->64 k3 groups 8 (4x4), `bn4`, `act4`, avgpool 2 (2x2); flatten
/// (64 x 2 x 2 = 256); `fc` 256->10. The listed FC 256->10 fits only without padding (with
/// padding 1 the map would end 4x4 and flatten to 1024).
pub fn hefnet() -> Network {
    Network {
        name: "hefnet".to_string(),
        input_shape: Shape::new(3, 32, 32),
        layers: vec![
            conv_no_bias("conv1", 3, 256, 3, 1, 0, 1),
            bn("bn1", 256),
            act("act1"),
            conv_no_bias("conv2", 256, 128, 3, 1, 0, 8),
            bn("bn2", 128),
            act("act2"),
            avg_pool(2),
            conv_no_bias("conv3", 128, 64, 3, 1, 0, 8),
            bn("bn3", 64),
            act("act3"),
            avg_pool(2),
            conv_no_bias("conv4", 64, 64, 3, 1, 0, 8),
            bn("bn4", 64),
            act("act4"),
            avg_pool(2),
            Layer::Flatten,
            fc("fc", 256, 10),
        ],
    }
}

/// ResNet-20 (He et al. 2016, CIFAR variant) on `(3, 32, 32)`:
/// stem `conv1` 3->16 k3 p1, `bn1`, `act1`; three stages of three basic blocks
/// (`layer{1,2,3}.{0,1,2}`) with 16, 32, 64 channels at 32x32, 16x16, 8x8; avgpool 8 (global,
/// 64 x 1 x 1); flatten; `fc` 64->10.
///
/// A basic block `layerS.B` is a [`Residual`] with body `conv1` (3x3, stride 2 in the first
/// block of stages 2 and 3, else 1; padding 1; groups of the stage), `bn1`, `act1`, `conv2`
/// (3x3, stride 1, padding 1, groups of the stage), `bn2`, followed after the sum by the
/// top-level activation `layerS.B.act2`. The shortcut is the identity, except where the block
/// downsamples (first block of stages 2 and 3): there it is option B of the paper, a 1x1
/// convolution with stride 2 (`layerS.0.shortcut.0`, no bias) and a batch norm
/// (`layerS.0.shortcut.1`), as in torchvision's `downsample`. No convolution has a bias.
pub fn resnet20(config: ResNet20Config) -> Result<Network, NnError> {
    let widths = [16, 32, 64];
    for (stage, &groups) in config.stage_groups.iter().enumerate() {
        let reads = if stage == 0 { 16 } else { widths[stage - 1] };
        let writes = widths[stage];
        if groups == 0 || reads % groups != 0 || writes % groups != 0 {
            return Err(NnError::Config {
                model: "resnet20",
                field: "stage_groups",
                problem: format!(
                    "stage {} groups = {groups}: must be >= 1 and divide {reads} and {writes}",
                    stage + 1
                ),
            });
        }
    }
    let mut layers = vec![
        conv_no_bias("conv1", 3, 16, 3, 1, 1, 1),
        bn("bn1", 16),
        act("act1"),
    ];
    let mut channels = 16;
    for (stage, (&width, &groups)) in widths.iter().zip(&config.stage_groups).enumerate() {
        for block in 0..3 {
            let prefix = format!("layer{}.{block}", stage + 1);
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            let name = |part: &str| format!("{prefix}.{part}");
            let body = vec![
                conv_no_bias(&name("conv1"), channels, width, 3, stride, 1, groups),
                bn(&name("bn1"), width),
                act(&name("act1")),
                conv_no_bias(&name("conv2"), width, width, 3, 1, 1, groups),
                bn(&name("bn2"), width),
            ];
            let shortcut = if stride != 1 || channels != width {
                vec![
                    conv_no_bias(&name("shortcut.0"), channels, width, 1, stride, 0, 1),
                    bn(&name("shortcut.1"), width),
                ]
            } else {
                Vec::new()
            };
            layers.push(Layer::Residual(Residual {
                name: prefix.clone(),
                body,
                shortcut,
            }));
            layers.push(act(&name("act2")));
            channels = width;
        }
    }
    layers.extend([avg_pool(8), Layer::Flatten, fc("fc", 64, 10)]);
    Ok(Network {
        name: "resnet20".to_string(),
        input_shape: Shape::new(3, 32, 32),
        layers,
    })
}
