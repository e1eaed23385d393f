//! The candle mirror computes what the host IR computes: every layer kind the mirror builds
//! (grouped and strided convolutions with and without bias, batch norm, average and max
//! pooling, quadratic and ReLU activations, flatten, linear) against the host's `f64` forward
//! pass on seeded weights and inputs; and the write-back is exact.

use candle_core::{Device, Tensor};
use heaccel_host::nn::weights::{init_seeded, seeded_input};
use heaccel_host::nn::{
    infer, zoo, Activation, ActivationLayer, BatchNorm, Conv2d, Layer, Linear, Network, Pool,
    PoolKind, Shape,
};
use heaccel_train::{Mirror, TrainError};

fn poly(name: &str, a: f64, b: f64, c: f64) -> Layer {
    Layer::Activation(ActivationLayer {
        name: name.into(),
        function: Activation::Poly { a, b, c },
    })
}

/// A small network with every layer kind the mirror supports.
fn every_kind() -> Network {
    let mut bn = BatchNorm::identity("bn1", 8);
    bn.eps = 1e-3;
    Network {
        name: "every-kind".into(),
        input_shape: Shape::new(4, 12, 12),
        layers: vec![
            Layer::Conv2d(Conv2d::zeroed("conv1", 4, 8, 3, 1, 1, 2, false)),
            Layer::BatchNorm(bn),
            poly("act1", 0.2, 0.7, -0.1),
            Layer::Pool(Pool::average(2)),
            Layer::Conv2d(Conv2d::zeroed("conv2", 8, 6, 3, 2, 0, 1, true)),
            Layer::Activation(ActivationLayer {
                name: "act2".into(),
                function: Activation::Relu,
            }),
            Layer::Pool(Pool {
                kind: PoolKind::Max,
                kernel_size: 2,
                stride: 1,
            }),
            Layer::Flatten,
            Layer::Linear(Linear::zeroed("fc", 6, 5, true)),
        ],
    }
}

/// Largest |mirror - host| over the outputs of one seeded input, relative to the largest
/// host output.
fn relative_gap(network: &Network, seed: u64) -> f64 {
    let input = seeded_input(network.input_shape, seed);
    let host = infer(network, &input).unwrap();
    let mirror = Mirror::new(network, &Device::Cpu, false).unwrap();
    let s = network.input_shape;
    let data: Vec<f32> = input.data().iter().map(|&v| v as f32).collect();
    let x = Tensor::from_vec(data, (1, s.channels, s.height, s.width), &Device::Cpu).unwrap();
    let logits = mirror.forward(&x, false).unwrap();
    let got: Vec<f32> = logits.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(got.len(), host.data().len());
    let scale = host.max_abs().max(1e-6);
    got.iter()
        .zip(host.data())
        .map(|(&g, &h)| (f64::from(g) - h).abs() / scale)
        .fold(0.0, f64::max)
}

#[test]
fn mirror_matches_the_host_forward_pass_on_every_layer_kind() {
    let mut network = every_kind();
    init_seeded(&mut network, 11);
    let gap = relative_gap(&network, 5);
    assert!(gap < 1e-4, "relative gap {gap}");
}

#[test]
fn mirror_matches_the_host_forward_pass_on_lenet() {
    for seed in [1, 2] {
        let mut network = zoo::lenet();
        init_seeded(&mut network, seed);
        let gap = relative_gap(&network, seed + 10);
        assert!(gap < 1e-4, "seed {seed}: relative gap {gap}");
    }
}

#[test]
fn write_back_is_exact_and_running_statistics_travel() {
    let mut network = every_kind();
    init_seeded(&mut network, 3);
    let mirror = Mirror::new(&network, &Device::Cpu, false).unwrap();
    // A training-mode pass updates the batch norm's running statistics.
    let x = Tensor::rand(0f32, 1f32, (6, 4, 12, 12), &Device::Cpu).unwrap();
    mirror.forward(&x, true).unwrap();
    let mut back = network.clone();
    mirror.write_into(&mut back).unwrap();
    for (before, after) in network.parameters().iter().zip(back.parameters()) {
        assert_eq!(before.name, after.name);
        if before.name.starts_with("bn1.running") {
            assert_ne!(before.values, after.values, "{} did not move", before.name);
        } else {
            // Every other value is the f32 rounding of the original, exactly.
            for (&b, &a) in before.values.iter().zip(after.values) {
                assert_eq!(
                    (b as f32).to_bits(),
                    (a as f32).to_bits(),
                    "{}",
                    before.name
                );
                assert_eq!(
                    f64::from(a as f32).to_bits(),
                    a.to_bits(),
                    "{}",
                    before.name
                );
            }
        }
    }
}

#[test]
fn write_into_another_architecture_is_refused_and_changes_nothing() {
    let mut lenet = zoo::lenet();
    init_seeded(&mut lenet, 1);
    let mirror = Mirror::new(&lenet, &Device::Cpu, false).unwrap();
    let mut other = every_kind();
    let before = other.clone();
    let err = mirror.write_into(&mut other).unwrap_err();
    assert!(matches!(err, TrainError::Mirror { .. }), "{err}");
    assert_eq!(other, before);
}

#[test]
fn residual_networks_are_refused_with_the_layer_named() {
    let network = zoo::resnet20(Default::default()).unwrap();
    let err = Mirror::new(&network, &Device::Cpu, false).unwrap_err();
    match &err {
        TrainError::UnsupportedLayer { kind, path, .. } => {
            assert_eq!(*kind, "residual");
            assert_eq!(path, "3");
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("resnet20"), "{err}");
}

#[test]
fn folded_norms_export_what_the_mirror_computes_in_evaluation_mode() {
    let mut network = zoo::lenet();
    init_seeded(&mut network, 4);
    let mirror = Mirror::new(&network, &Device::Cpu, true).unwrap();
    // conv1, conv2 and fc1 each get a norm (a scale and a shift): 6 more tensors.
    assert_eq!(mirror.variables().len(), mirror.trainable().len() + 6);
    // Training-mode passes move the norms' running statistics away from (0, 1).
    for _ in 0..3 {
        let x = Tensor::rand(0f32, 1f32, (16, 1, 28, 28), &Device::Cpu).unwrap();
        mirror.forward(&x, true).unwrap();
    }
    let mut exported = network.clone();
    mirror.write_into(&mut exported).unwrap();
    assert_eq!(
        exported.layers.len(),
        network.layers.len(),
        "same architecture"
    );
    let input = seeded_input(network.input_shape, 9);
    let host = infer(&exported, &input).unwrap();
    let data: Vec<f32> = input.data().iter().map(|&v| v as f32).collect();
    let x = Tensor::from_vec(data, (1, 1, 28, 28), &Device::Cpu).unwrap();
    let got: Vec<f32> = mirror
        .forward(&x, false)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let scale = host.max_abs().max(1e-6);
    for (g, h) in got.iter().zip(host.data()) {
        assert!(
            (f64::from(*g) - h).abs() / scale < 1e-4,
            "{got:?} vs {:?}",
            host.data()
        );
    }
    // Exported values are f32 values.
    for p in exported.parameters() {
        assert!(
            p.values.iter().all(|&v| f64::from(v as f32) == v),
            "{}",
            p.name
        );
    }
}

#[test]
fn im2col_convolution_and_fused_activation_have_candles_gradients() {
    use candle_core::Var;
    let d = Device::Cpu;
    let x = Var::from_tensor(&Tensor::randn(0f32, 1f32, (3, 8, 9, 9), &d).unwrap()).unwrap();
    let w = Var::from_tensor(&Tensor::randn(0f32, 1f32, (6, 4, 3, 3), &d).unwrap()).unwrap();
    let b = Var::from_tensor(&Tensor::randn(0f32, 1f32, 6, &d).unwrap()).unwrap();
    let r = Tensor::randn(0f32, 1f32, (3, 6, 9, 9), &d).unwrap();
    let max_gap = |p: &Tensor, q: &Tensor| -> f32 {
        (p - q)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar()
            .unwrap()
    };
    let mine =
        heaccel_train::model::conv2d(x.as_tensor(), w.as_tensor(), Some(b.as_tensor()), 1, 1, 2)
            .unwrap();
    let theirs = x
        .as_tensor()
        .conv2d(w.as_tensor(), 1, 1, 1, 2)
        .unwrap()
        .broadcast_add(&b.as_tensor().reshape((1, 6, 1, 1)).unwrap())
        .unwrap();
    assert!(max_gap(&mine, &theirs) < 1e-4);
    let g1 = (&mine * &r).unwrap().sum_all().unwrap().backward().unwrap();
    let g2 = (&theirs * &r)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for v in [&x, &w, &b] {
        let (p, q) = (
            g1.get(v.as_tensor()).unwrap(),
            g2.get(v.as_tensor()).unwrap(),
        );
        assert!(max_gap(p, q) < 1e-3, "gradient gap {}", max_gap(p, q));
    }
    // The fused quadratic against the same polynomial built from candle's elementwise ops.
    let coefficients = Var::from_tensor(&Tensor::new(&[0.3f32, -0.7, 0.2], &d).unwrap()).unwrap();
    let fused = heaccel_train::model::quadratic(x.as_tensor(), coefficients.as_tensor()).unwrap();
    let c = coefficients.as_tensor();
    let (a, bb, cc) = (c.get(0).unwrap(), c.get(1).unwrap(), c.get(2).unwrap());
    let xs = x.as_tensor();
    let plain = ((xs.sqr().unwrap().broadcast_mul(&a).unwrap() + xs.broadcast_mul(&bb).unwrap())
        .unwrap())
    .broadcast_add(&cc)
    .unwrap();
    assert!(max_gap(&fused, &plain) < 1e-5);
    let r = Tensor::randn(0f32, 1f32, (3, 8, 9, 9), &d).unwrap();
    let g1 = (&fused * &r)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g2 = (&plain * &r)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for v in [&x, &coefficients] {
        let (p, q) = (
            g1.get(v.as_tensor()).unwrap(),
            g2.get(v.as_tensor()).unwrap(),
        );
        assert!(max_gap(p, q) < 1e-3, "gradient gap {}", max_gap(p, q));
    }
}
