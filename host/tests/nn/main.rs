//! The network IR, zoo, folding and forward pass against independent oracles: an im2col
//! matrix-product convolution, hand-computed tiny cases, hand-derived shapes and parameter
//! counts (and ResNet-20's published 269,722 trainable parameters).
//!
//! One test binary (each binary links the whole crate graph), its tests grouped by concern in
//! `nn/`: single layers (`layers`), the zoo (`zoo_models`), the IR's checks and views
//! (`ir_checks`), the forward pass and folding (`forward_pass`); the shared helpers are here.

mod forward_pass;
mod ir_checks;
mod layers;
mod zoo_models;

use heaccel_host::nn::zoo::{self, ResNet20Config, ZooModel};
use heaccel_host::nn::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn single_layer(input_shape: Shape, layer: Layer) -> Network {
    Network {
        name: "test".to_string(),
        input_shape,
        layers: vec![layer],
    }
}

fn run(network: &Network, data: Vec<f64>) -> FeatureMap {
    let input = FeatureMap::new(network.input_shape, data).unwrap();
    infer(network, &input).unwrap()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn random_values(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}
