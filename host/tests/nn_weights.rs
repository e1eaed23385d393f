//! Seeded weights and safetensors files: round trips (exact in F64, f32 rounding in F32), files
//! built independently with the safetensors crate, and every error case.

use std::path::{Path, PathBuf};

use heaccel_host::nn::weights::{self, WeightDtype, WeightsError};
use heaccel_host::nn::zoo::{self, ResNet20Config, ZooModel};
use heaccel_host::nn::*;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

/// One tensor of a hand-built file: name, dtype, shape, little-endian bytes.
type RawTensor = (String, Dtype, Vec<usize>, Vec<u8>);

fn raw_tensors(bytes: &[u8]) -> Vec<RawTensor> {
    SafeTensors::deserialize(bytes)
        .unwrap()
        .tensors()
        .into_iter()
        .map(|(name, v)| (name, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect()
}

fn file_of(tensors: &[RawTensor]) -> Vec<u8> {
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.as_str(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, None).unwrap()
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn load(network: &mut Network, bytes: &[u8]) -> Result<(), WeightsError> {
    weights::load_safetensors_bytes(network, bytes, Path::new("weights.safetensors"))
}

#[test]
fn seeded_weights_are_deterministic_and_per_tensor() {
    let a = zoo::seeded(ZooModel::Hefnet, 1).unwrap();
    let b = zoo::seeded(ZooModel::Hefnet, 1).unwrap();
    let c = zoo::seeded(ZooModel::Hefnet, 2).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    // A tensor's values depend only on the seed and its name: LeNet and VGG-5 share the module
    // name `fc1` but not its shape; `conv1.bias` has 64 values in both.
    let lenet = zoo::seeded(ZooModel::Lenet, 1).unwrap();
    let vgg = zoo::seeded(ZooModel::Vgg5, 1).unwrap();
    let bias = |n: &Network| {
        n.parameters()
            .into_iter()
            .find(|p| p.name == "conv1.bias")
            .unwrap()
            .values
            .to_vec()
    };
    assert_eq!(bias(&lenet), bias(&vgg));
    // Ranges of init_seeded: weights within sqrt(3 / fan_in), with variance ~ 1 / fan_in.
    for p in vgg.parameters() {
        match p.role {
            ParameterRole::Weight { fan_in } => {
                let bound = (3.0 / fan_in as f64).sqrt();
                assert!(p.values.iter().all(|v| v.abs() <= bound), "{}", p.name);
                let var = p.values.iter().map(|v| v * v).sum::<f64>() / p.values.len() as f64;
                let rel = (var * fan_in as f64 - 1.0).abs();
                assert!(
                    rel < 0.05,
                    "{}: variance * fan_in = {}",
                    p.name,
                    var * fan_in as f64
                );
            }
            ParameterRole::Bias => assert!(p.values.iter().all(|v| v.abs() <= 0.05)),
            ParameterRole::PolyCoefficient => {
                assert!([0.125, 0.5, 0.25].contains(&p.values[0]))
            }
            _ => {}
        }
    }
    // Batch-norm statistics in their documented ranges, variance positive.
    for p in a.parameters() {
        if p.role == ParameterRole::BatchNormVar {
            assert!(
                p.values.iter().all(|v| (0.8..=1.2).contains(v)),
                "{}",
                p.name
            );
        }
    }
    let input = weights::seeded_input(Shape::new(3, 4, 4), 9);
    assert_eq!(input, weights::seeded_input(Shape::new(3, 4, 4), 9));
    assert!(input.data().iter().all(|v| (-1.0..1.0).contains(v)));
}

#[test]
fn f64_round_trip_is_exact_through_a_file() {
    for model in [
        ZooModel::Lenet,
        ZooModel::Hefnet,
        ZooModel::Resnet20(ResNet20Config::default()),
    ] {
        let seeded = zoo::seeded(model, 42).unwrap();
        let path = tmp(&format!("{model}-f64.safetensors"));
        weights::save_safetensors(&seeded, &path, WeightDtype::F64).unwrap();
        let mut loaded = zoo::architecture(model).unwrap();
        assert_ne!(loaded, seeded);
        weights::load_safetensors(&mut loaded, &path).unwrap();
        assert_eq!(loaded, seeded, "{model}");
        // The file, read independently, holds every parameter under its state_dict name.
        let bytes = std::fs::read(&path).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(file.len(), seeded.parameters().len());
        let (fc_name, fc_inputs) = match model {
            ZooModel::Lenet => ("fc2.weight", 32),
            ZooModel::Hefnet => ("fc.weight", 256),
            _ => ("fc.weight", 64),
        };
        let fc = file.tensor(fc_name).unwrap();
        assert_eq!(fc.dtype(), Dtype::F64);
        assert_eq!(fc.shape(), &[10, fc_inputs]);
        let first = f64::from_le_bytes(fc.data()[..8].try_into().unwrap());
        let want = seeded
            .parameters()
            .into_iter()
            .find(|p| p.name == fc_name)
            .unwrap();
        assert_eq!(first, want.values[0]);
        let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
        let metadata = metadata.metadata().clone().unwrap();
        assert_eq!(metadata["network"], model.name());
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn f32_round_trip_rounds_to_f32() {
    let seeded = zoo::seeded(ZooModel::Lenet, 3).unwrap();
    let bytes = weights::to_safetensors_bytes(&seeded, WeightDtype::F32).unwrap();
    assert!(raw_tensors(&bytes).iter().all(|t| t.1 == Dtype::F32));
    let mut loaded = zoo::lenet();
    load(&mut loaded, &bytes).unwrap();
    for (p, q) in seeded.parameters().iter().zip(loaded.parameters()) {
        assert_eq!(p.name, q.name);
        for (x, y) in p.values.iter().zip(q.values) {
            assert_eq!(*y, f64::from(*x as f32), "{}", p.name);
        }
    }
}

/// A file written the way PyTorch would: F32, scalars of shape [1], BN counters (I64, shape
/// []) and tensors in another order, built here without the crate's writer.
#[test]
fn pytorch_style_file_loads() {
    let reference = zoo::seeded(ZooModel::Hefnet, 8).unwrap();
    let mut tensors: Vec<RawTensor> = reference
        .parameters()
        .iter()
        .rev()
        .map(|p| {
            let shape = if p.shape.is_empty() {
                vec![1]
            } else {
                p.shape.clone()
            };
            let values: Vec<f32> = p.values.iter().map(|&v| v as f32).collect();
            (p.name.clone(), Dtype::F32, shape, f32_bytes(&values))
        })
        .collect();
    for bn in ["bn1", "bn2", "bn3", "bn4"] {
        tensors.push((
            format!("{bn}.num_batches_tracked"),
            Dtype::I64,
            vec![],
            7i64.to_le_bytes().to_vec(),
        ));
    }
    let mut network = zoo::hefnet();
    load(&mut network, &file_of(&tensors)).unwrap();
    for (p, q) in reference.parameters().iter().zip(network.parameters()) {
        for (x, y) in p.values.iter().zip(q.values) {
            assert_eq!(*y, f64::from(*x as f32), "{}", p.name);
        }
    }
}

fn lenet_file() -> Vec<RawTensor> {
    raw_tensors(
        &weights::to_safetensors_bytes(&zoo::seeded(ZooModel::Lenet, 1).unwrap(), WeightDtype::F64)
            .unwrap(),
    )
}

/// Loads `tensors` into a seeded LeNet, checks that the load failed and left the network as it
/// was, and returns the error message.
fn load_error(tensors: &[RawTensor]) -> (WeightsError, String) {
    let mut network = zoo::seeded(ZooModel::Lenet, 2).unwrap();
    let before = network.clone();
    let err = load(&mut network, &file_of(tensors)).unwrap_err();
    assert_eq!(network, before, "a failed load changed the network");
    let message = err.to_string();
    assert!(message.contains("weights.safetensors"), "{message}");
    (err, message)
}

#[test]
fn load_errors_name_file_tensor_and_expectation() {
    // Missing tensors, all listed.
    let mut tensors = lenet_file();
    tensors.retain(|t| t.0 != "conv2.bias" && t.0 != "act3.b");
    let (err, message) = load_error(&tensors);
    assert!(
        matches!(err, WeightsError::Missing { ref names, .. } if names == &["act3.b", "conv2.bias"])
    );
    assert!(message.contains("act3.b, conv2.bias"), "{message}");

    // Unexpected tensors.
    let mut tensors = lenet_file();
    tensors.push((
        "fc3.weight".into(),
        Dtype::F32,
        vec![2],
        f32_bytes(&[1.0, 2.0]),
    ));
    let (err, message) = load_error(&tensors);
    assert!(matches!(err, WeightsError::Unexpected { .. }), "{message}");
    assert!(message.contains("fc3.weight"), "{message}");

    // Wrong shape (same number of values, transposed).
    let mut tensors = lenet_file();
    let fc1 = tensors.iter_mut().find(|t| t.0 == "fc1.weight").unwrap();
    fc1.2 = vec![16, 64];
    let (err, message) = load_error(&tensors);
    assert!(
        matches!(&err, WeightsError::Shape { name, expected, got, .. }
            if name == "fc1.weight" && expected == &[32, 32] && got == &[16, 64]),
        "{message}"
    );
    assert!(
        message.contains("[16, 64]") && message.contains("[32, 32]"),
        "{message}"
    );

    // A scalar given as a vector of two.
    let mut tensors = lenet_file();
    let a = tensors.iter_mut().find(|t| t.0 == "act1.a").unwrap();
    a.2 = vec![2];
    a.3.extend(0f64.to_le_bytes());
    let (err, _) = load_error(&tensors);
    assert!(matches!(err, WeightsError::Shape { .. }));

    // Unsupported dtype.
    let mut tensors = lenet_file();
    let bias = tensors.iter_mut().find(|t| t.0 == "fc2.bias").unwrap();
    bias.1 = Dtype::F16;
    bias.3 = vec![0; 20];
    let (err, message) = load_error(&tensors);
    assert!(matches!(err, WeightsError::Dtype { .. }), "{message}");
    assert!(
        message.contains("fc2.bias") && message.contains("F16"),
        "{message}"
    );

    // Non-finite value, with its index.
    let mut tensors = lenet_file();
    let bias = tensors.iter_mut().find(|t| t.0 == "conv1.bias").unwrap();
    bias.3[8 * 5..8 * 6].copy_from_slice(&f64::NAN.to_le_bytes());
    let (err, message) = load_error(&tensors);
    assert!(
        matches!(&err, WeightsError::NonFinite { name, index: 5, .. } if name == "conv1.bias"),
        "{message}"
    );

    // Negative running variance (HEFNet).
    let mut tensors = raw_tensors(
        &weights::to_safetensors_bytes(
            &zoo::seeded(ZooModel::Hefnet, 1).unwrap(),
            WeightDtype::F32,
        )
        .unwrap(),
    );
    let var = tensors
        .iter_mut()
        .find(|t| t.0 == "bn3.running_var")
        .unwrap();
    var.3[..4].copy_from_slice(&(-0.5f32).to_le_bytes());
    let mut hefnet = zoo::hefnet();
    let err = load(&mut hefnet, &file_of(&tensors)).unwrap_err();
    assert!(
        matches!(&err, WeightsError::NegativeVariance { name, index: 0, .. } if name == "bn3.running_var"),
        "{err}"
    );
}

#[test]
fn unreadable_files_are_errors() {
    let mut network = zoo::lenet();
    // Not a safetensors file at all, a truncated one, and a header that lies about offsets.
    for bytes in [
        b"not a safetensors file".to_vec(),
        vec![],
        {
            let mut good = weights::to_safetensors_bytes(&network, WeightDtype::F32).unwrap();
            good.truncate(good.len() - 3);
            good
        },
        {
            let header = br#"{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,1000]}}"#;
            let mut file = (header.len() as u64).to_le_bytes().to_vec();
            file.extend_from_slice(header);
            file.extend_from_slice(&[0; 16]);
            file
        },
    ] {
        let err = load(&mut network, &bytes).unwrap_err();
        assert!(matches!(err, WeightsError::Format { .. }), "{err}");
        assert!(err.to_string().contains("weights.safetensors"), "{err}");
    }
    let missing = tmp("does-not-exist.safetensors");
    let err = weights::load_safetensors(&mut network, &missing).unwrap_err();
    assert!(matches!(err, WeightsError::Io { .. }));
    assert!(
        err.to_string().contains("does-not-exist.safetensors"),
        "{err}"
    );
    // A file for another network.
    let hefnet_file = weights::to_safetensors_bytes(&zoo::hefnet(), WeightDtype::F32).unwrap();
    let err = load(&mut network, &hefnet_file).unwrap_err();
    assert!(matches!(err, WeightsError::Missing { .. }), "{err}");
    // An invalid network is reported as such, on load and on save.
    let mut broken = zoo::lenet();
    broken.input_shape = Shape::new(2, 28, 28);
    let file = weights::to_safetensors_bytes(&zoo::lenet(), WeightDtype::F32).unwrap();
    assert!(matches!(
        load(&mut broken, &file),
        Err(WeightsError::Network { .. })
    ));
    assert!(matches!(
        weights::to_safetensors_bytes(&broken, WeightDtype::F32),
        Err(WeightsError::Network { .. })
    ));
}

#[test]
fn loaded_weights_drive_the_forward_pass() {
    // Weights saved from one seed and loaded into a fresh architecture give that seed's outputs,
    // and trained polynomial coefficients in the file replace the defaults.
    let mut source = zoo::seeded(ZooModel::Lenet, 5).unwrap();
    if let Layer::Activation(act) = &mut source.layers[1] {
        act.function = Activation::Poly {
            a: 0.3,
            b: 0.9,
            c: -0.1,
        };
    }
    let bytes = weights::to_safetensors_bytes(&source, WeightDtype::F64).unwrap();
    let mut network = zoo::lenet();
    load(&mut network, &bytes).unwrap();
    assert_eq!(
        network.layers[1],
        Layer::Activation(ActivationLayer {
            name: "act1".into(),
            function: Activation::Poly {
                a: 0.3,
                b: 0.9,
                c: -0.1
            }
        })
    );
    let input = weights::seeded_input(network.input_shape, 1);
    assert_eq!(
        infer(&network, &input).unwrap(),
        infer(&source, &input).unwrap()
    );
}
