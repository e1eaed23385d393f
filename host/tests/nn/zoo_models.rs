//! The zoo: hand-derived shapes and parameter counts, PyTorch names, ResNet-20's
//! configuration checks.

use super::*;

/// Output shape of the top-level layer at `index`.
fn top_output(network: &Network, index: usize) -> Shape {
    let path = index.to_string();
    network
        .shapes()
        .unwrap()
        .into_iter()
        .find(|s| s.location.path == path)
        .unwrap()
        .output
}

#[test]
fn zoo_shapes() {
    let lenet = zoo::lenet();
    assert_eq!(lenet.output_shape().unwrap(), Shape::flat(10));
    assert_eq!(top_output(&lenet, 2), Shape::new(64, 14, 14)); // conv1 p2 keeps 28, pool 2
    assert_eq!(top_output(&lenet, 3), Shape::new(32, 10, 10)); // conv2 k5 no pad
    assert_eq!(top_output(&lenet, 5), Shape::new(32, 1, 1)); // avgpool 10

    let vgg = zoo::vgg5();
    assert_eq!(vgg.output_shape().unwrap(), Shape::flat(10));
    assert_eq!(top_output(&vgg, 7), Shape::new(128, 8, 8));
    assert_eq!(top_output(&vgg, 8), Shape::flat(8192)); // = fc1's 8192 inputs

    let hefnet = zoo::hefnet();
    assert_eq!(hefnet.output_shape().unwrap(), Shape::flat(10));
    // 32 -conv-> 30 -conv-> 28 -pool-> 14 -conv-> 12 -pool-> 6 -conv-> 4 -pool-> 2
    assert_eq!(top_output(&hefnet, 0), Shape::new(256, 30, 30));
    assert_eq!(top_output(&hefnet, 6), Shape::new(128, 14, 14));
    assert_eq!(top_output(&hefnet, 10), Shape::new(64, 6, 6));
    assert_eq!(top_output(&hefnet, 14), Shape::new(64, 2, 2));
    assert_eq!(top_output(&hefnet, 15), Shape::flat(256)); // = fc's 256 inputs

    let resnet = zoo::resnet20(ResNet20Config::default()).unwrap();
    assert_eq!(resnet.output_shape().unwrap(), Shape::flat(10));
    // stem (3 layers), then per block: residual + activation.
    assert_eq!(top_output(&resnet, 2), Shape::new(16, 32, 32));
    assert_eq!(top_output(&resnet, 3 + 2 * 3 - 1), Shape::new(16, 32, 32));
    assert_eq!(top_output(&resnet, 3 + 2 * 6 - 1), Shape::new(32, 16, 16));
    assert_eq!(top_output(&resnet, 3 + 2 * 9 - 1), Shape::new(64, 8, 8));
    assert_eq!(top_output(&resnet, 21), Shape::new(64, 1, 1)); // global avg pool
    assert_eq!(resnet.layers.len(), 3 + 18 + 3);
    // 19 convolutions on the main path + 2 shortcut convolutions, 9 residual blocks.
    let mut convs = 0;
    let mut blocks = 0;
    let mut grouped = 0;
    resnet.visit_layers(|_, layer| match layer {
        Layer::Conv2d(c) => {
            convs += 1;
            grouped += usize::from(c.groups == 2);
        }
        Layer::Residual(_) => blocks += 1,
        _ => {}
    });
    assert_eq!((convs, blocks, grouped), (21, 9, 6)); // stage 1's six 3x3 convs have 2 groups

    for name in ZooModel::NAMES {
        let model: ZooModel = name.parse().unwrap();
        assert_eq!(model.name(), name);
    }
    assert!("resnet56"
        .parse::<ZooModel>()
        .unwrap_err()
        .contains("lenet"));
}

#[test]
fn zoo_parameter_counts() {
    // LeNet: conv1 64*1*25 + 64 = 1,664; conv2 32*(64/4)*25 + 32 = 12,832;
    // fc1 32*32 + 32 = 1,056; fc2 32*10 + 10 = 330; 3 activations * 3 = 9 -> 15,891.
    assert_eq!(zoo::lenet().parameter_count(), 15_891);
    // VGG-5: conv1 64*3*9 + 64 = 1,792; conv2 128*8*9 + 128 = 9,344; conv3 128*16*9 + 128 =
    // 18,560; fc1 8192*4096 + 4096 = 33,558,528; fc2 4096*4096 + 4096 = 16,781,312;
    // fc3 4096*10 + 10 = 40,970; 3 activations * 3 = 9 -> 50,410,515.
    assert_eq!(zoo::vgg5().parameter_count(), 50_410_515);
    // HEFNet (no conv bias, BN = 4 tensors of C): conv1 256*3*9 = 6,912, bn1 1,024;
    // conv2 128*32*9 = 36,864, bn2 512; conv3 64*16*9 = 9,216, bn3 256; conv4 64*8*9 = 4,608,
    // bn4 256; fc 256*10 + 10 = 2,570; 4 activations * 3 = 12 -> 62,230.
    assert_eq!(zoo::hefnet().parameter_count(), 62_230);
    // ResNet-20, groups [2, 1, 1]: stem 432 + bn 64; stage 1: 6 convs 16*8*9 = 1,152 + 6 bn 64
    // = 7,296; stage 2: 4,608 + 5 * 9,216 + shortcut 512 + 7 bn 128 = 52,096; stage 3:
    // 18,432 + 5 * 36,864 + shortcut 2,048 + 7 bn 256 = 206,592; fc 650; 19 activations * 3 =
    // 57 -> 267,187.
    let resnet = zoo::resnet20(ResNet20Config::default()).unwrap();
    assert_eq!(resnet.parameter_count(), 267_187);

    // Dense ResNet-20 counted as the literature does (trainable, option-A shortcut: no
    // shortcut parameters, no running statistics, no polynomial coefficients): 269,722.
    let dense = zoo::resnet20(ResNet20Config {
        stage_groups: [1, 1, 1],
    })
    .unwrap();
    let trainable: usize = dense
        .parameters()
        .iter()
        .filter(|p| {
            !p.name.contains("shortcut")
                && !matches!(
                    p.role,
                    ParameterRole::BatchNormMean
                        | ParameterRole::BatchNormVar
                        | ParameterRole::PolyCoefficient
                )
        })
        .map(|p| p.values.len())
        .sum();
    assert_eq!(trainable, 269_722);
}

#[test]
fn zoo_names_follow_pytorch() {
    let resnet = zoo::resnet20(ResNet20Config::default()).unwrap();
    let names: Vec<String> = resnet.parameters().into_iter().map(|p| p.name).collect();
    for expected in [
        "conv1.weight",
        "bn1.weight",
        "bn1.running_var",
        "act1.a",
        "layer1.0.conv1.weight",
        "layer1.2.bn2.bias",
        "layer2.0.shortcut.0.weight",
        "layer2.0.shortcut.1.running_mean",
        "layer3.2.act2.c",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}");
    }
    assert!(!names.iter().any(|n| n == "layer1.0.conv1.bias"));
    assert!(!names.iter().any(|n| n.starts_with("layer1.0.shortcut")));
    let shapes: Vec<(String, Vec<usize>)> = resnet
        .parameters()
        .into_iter()
        .map(|p| (p.name, p.shape))
        .collect();
    let shape_of = |n: &str| shapes.iter().find(|(m, _)| m == n).unwrap().1.clone();
    assert_eq!(shape_of("layer1.0.conv1.weight"), vec![16, 8, 3, 3]);
    assert_eq!(shape_of("layer2.0.conv1.weight"), vec![32, 16, 3, 3]);
    assert_eq!(shape_of("layer3.0.shortcut.0.weight"), vec![64, 32, 1, 1]);
    assert_eq!(shape_of("fc.weight"), vec![10, 64]);
    assert_eq!(shape_of("act1.a"), Vec::<usize>::new());
}

#[test]
fn resnet20_config_is_checked() {
    let err = zoo::resnet20(ResNet20Config {
        stage_groups: [2, 3, 1],
    })
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("stage_groups") && message.contains("stage 2"),
        "{message}"
    );
    assert!(zoo::resnet20(ResNet20Config {
        stage_groups: [0, 1, 1]
    })
    .is_err());
    // Largest groups every stage allows: 16, 16, 32.
    let net = zoo::resnet20(ResNet20Config {
        stage_groups: [16, 16, 32],
    })
    .unwrap();
    assert_eq!(net.output_shape().unwrap(), Shape::flat(10));
}
