//! A network and a parameter set shared by the functional tests of bootstrapped networks
//! (`infer_bootstrap.rs`, `cleartext_backend/`, `whole_program.rs`).

use heaccel_host::nn::weights::init_seeded;
use heaccel_host::nn::{
    Activation, ActivationLayer, Conv2d, Layer, Linear, Network, Pool, Residual, Shape,
};
use heaccel_verification::ckks::{Parameters, ParametersLiteral};

/// Levels left after bootstrapping (and at the input) in [`bootstrap_params`].
pub const BOOT_LEVELS: usize = 5;

/// TEST ONLY, INSECURE (opted into for functional tests; the secure N = 2^16 run is a
/// documented command): N = 2^12 with a bootstrapping chain, [`BOOT_LEVELS`] 40-bit levels
/// after bootstrapping, a sparse secret of Hamming weight 192.
pub fn bootstrap_params() -> Parameters {
    ParametersLiteral {
        log_n: 12,
        log_q: std::iter::once(60)
            .chain([40; BOOT_LEVELS])
            .chain([50; 3])
            .chain([61; 12])
            .collect(),
        q: vec![],
        log_p: vec![61; 5],
        p: vec![],
        log_scale: 40,
        dnum: 5,
        hamming_weight: Some(192),
        allow_insecure: true,
    }
    .build()
    .unwrap()
}

/// An exact-ReLU activation layer named `name`.
pub fn relu(name: &str) -> Layer {
    Layer::Activation(ActivationLayer {
        name: name.into(),
        function: Activation::Relu,
    })
}

/// conv, ReLU, [conv, ReLU, conv] + identity, ReLU, global average pooling, linear; seeded
/// weights.
pub fn residual_net() -> Network {
    let conv = |name: &str, i, o| Layer::Conv2d(Conv2d::zeroed(name, i, o, 3, 1, 1, 1, true));
    let mut net = Network {
        name: "residual-test".into(),
        input_shape: Shape::new(2, 8, 8),
        layers: vec![
            conv("conv1", 2, 4),
            relu("relu1"),
            Layer::Residual(Residual {
                name: "block".into(),
                body: vec![
                    conv("block.conv1", 4, 4),
                    relu("block.relu1"),
                    conv("block.conv2", 4, 4),
                ],
                shortcut: vec![],
            }),
            relu("relu2"),
            Layer::Pool(Pool::average(8)),
            Layer::Flatten,
            Layer::Linear(Linear::zeroed("fc", 4, 3, true)),
        ],
    };
    init_seeded(&mut net, 11);
    net
}
