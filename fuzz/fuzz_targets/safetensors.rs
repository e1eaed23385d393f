//! Fuzzes the safetensors readers of `heaccel-host`: the same bytes as the weights of a tiny
//! network (`load_safetensors_bytes`) and as a `(1, 4, 4)` network input
//! (`load_input_safetensors_bytes`). Errors name the file; a refused weights file leaves the
//! network unchanged; accepted values are finite.
#![no_main]

use std::path::Path;

use heaccel_host::nn::weights;
use heaccel_host::nn::{
    Activation, ActivationLayer, BatchNorm, Conv2d, Layer, Linear, Network, Shape,
};
use libfuzzer_sys::fuzz_target;

const INPUT: Shape = Shape::new(1, 4, 4);

fn tiny() -> Network {
    Network {
        name: "tiny".to_string(),
        input_shape: INPUT,
        layers: vec![
            Layer::Conv2d(Conv2d::zeroed("conv1", 1, 2, 3, 1, 1, 1, true)),
            Layer::BatchNorm(BatchNorm::identity("bn1", 2)),
            Layer::Activation(ActivationLayer {
                name: "act1".to_string(),
                function: Activation::DEFAULT_POLY,
            }),
            Layer::Flatten,
            Layer::Linear(Linear::zeroed("fc", 32, 3, true)),
        ],
    }
}

fuzz_target!(|data: &[u8]| {
    let file = Path::new("fuzz.safetensors");
    let original = tiny();
    let mut network = original.clone();
    match weights::load_safetensors_bytes(&mut network, data, file) {
        Ok(()) => {
            for p in network.parameters() {
                assert!(p.values.iter().all(|v| v.is_finite()), "{}", p.name);
            }
        }
        Err(e) => {
            assert!(e.to_string().starts_with("fuzz.safetensors: "), "{e}");
            assert!(network == original, "changed on error: {e}");
        }
    }
    match weights::load_input_safetensors_bytes(data, file, INPUT) {
        Ok(input) => assert!(input.data().iter().all(|v| v.is_finite())),
        Err(e) => assert!(e.to_string().starts_with("fuzz.safetensors: "), "{e}"),
    }
});
