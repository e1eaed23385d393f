//! The IR's checks and views: shape errors naming the layer, the serde round trip, placed
//! layers and mutable visits.

use super::*;

#[test]
fn shape_errors_name_the_layer() {
    // conv2 of LeNet made to expect 32 input channels while conv1 gives 64.
    let mut lenet = zoo::lenet();
    if let Layer::Conv2d(c) = &mut lenet.layers[3] {
        *c = Conv2d::zeroed("conv2", 32, 32, 5, 1, 0, 4, true);
    }
    let err = lenet.shapes().unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, NnError::Shape { got, .. } if *got == Shape::new(64, 14, 14)),
        "{message}"
    );
    assert!(message.contains("#3 conv2d 'conv2'"), "{message}");
    assert!(message.contains("(32, H, W)"), "{message}");

    // A fully connected layer directly on a spatial map (VGG-5 without its flatten; LeNet's
    // (32, 1, 1) would be accepted, it is already flat).
    let mut vgg = zoo::vgg5();
    vgg.layers.remove(8);
    let message = vgg.shapes().unwrap_err().to_string();
    assert!(
        message.contains("'fc1'") && message.contains("flatten") && message.contains("(128, 8, 8)"),
        "{message}"
    );

    // Groups that do not divide the channels.
    let net = single_layer(
        Shape::new(6, 4, 4),
        Layer::Conv2d(Conv2d::zeroed("c", 6, 4, 3, 1, 0, 4, false)),
    );
    let err = net.shapes().unwrap_err();
    assert!(
        matches!(
            &err,
            NnError::InvalidLayer {
                field: "in_channels",
                ..
            }
        ),
        "{err}"
    );

    // Weight length not matching the hyperparameters.
    let mut conv = Conv2d::zeroed("c", 2, 2, 3, 1, 1, 1, true);
    conv.weight.pop();
    let err = single_layer(Shape::new(2, 4, 4), Layer::Conv2d(conv))
        .shapes()
        .unwrap_err();
    assert!(
        matches!(
            &err,
            NnError::InvalidLayer {
                field: "weight",
                ..
            }
        ),
        "{err}"
    );

    // Padding beyond kernel_size - 1; an absurd map size.
    let conv = Conv2d::zeroed("c", 1, 1, 3, 1, 3, 1, false);
    let err = single_layer(Shape::new(1, 4, 4), Layer::Conv2d(conv))
        .shapes()
        .unwrap_err();
    assert!(
        matches!(
            &err,
            NnError::InvalidLayer {
                field: "padding",
                ..
            }
        ),
        "{err}"
    );
    let conv = Conv2d::zeroed("c", 1, 1 << 20, 1, 1, 0, 1, false);
    let err = single_layer(Shape::new(1, 1 << 10, 1 << 10), Layer::Conv2d(conv))
        .shapes()
        .unwrap_err();
    assert!(
        err.to_string().contains("at most 1073741824 values"),
        "{err}"
    );
    let huge = single_layer(Shape::new(1 << 20, 1 << 20, 1 << 20), Layer::Flatten);
    assert!(matches!(huge.shapes(), Err(NnError::EmptyInput { .. })));

    // Kernel larger than the padded input; pooling window larger than the map.
    let conv = Conv2d::zeroed("c", 1, 1, 5, 1, 0, 1, false);
    assert!(single_layer(Shape::new(1, 4, 4), Layer::Conv2d(conv))
        .shapes()
        .is_err());
    let pool = Layer::Pool(Pool::average(3));
    assert!(single_layer(Shape::new(1, 2, 2), pool).shapes().is_err());
    let zero_stride = Layer::Pool(Pool {
        kind: PoolKind::Average,
        kernel_size: 1,
        stride: 0,
    });
    assert!(single_layer(Shape::new(1, 2, 2), zero_stride)
        .shapes()
        .is_err());

    // Residual branches with different shapes: the block's nested path is named.
    let mut resnet = zoo::resnet20(ResNet20Config::default()).unwrap();
    if let Layer::Residual(block) = &mut resnet.layers[9] {
        assert_eq!(block.name, "layer2.0");
        block.shortcut.clear(); // identity shortcut keeps (16, 32, 32), body gives (32, 16, 16)
    }
    let message = resnet.shapes().unwrap_err().to_string();
    assert!(message.contains("#9 residual 'layer2.0'"), "{message}");
    // A nested layer error carries the nested path.
    let mut resnet = zoo::resnet20(ResNet20Config::default()).unwrap();
    if let Layer::Residual(block) = &mut resnet.layers[9] {
        if let Layer::BatchNorm(bn) = &mut block.body[1] {
            bn.channels = 31;
            bn.gamma.pop();
            bn.beta.pop();
            bn.running_mean.pop();
            bn.running_var.pop();
        }
    }
    let message = resnet.shapes().unwrap_err().to_string();
    assert!(
        message.contains("#9.body.1 batch_norm 'layer2.0.bn1'"),
        "{message}"
    );

    // Duplicate and empty module names.
    let mut lenet = zoo::lenet();
    if let Layer::Linear(fc) = &mut lenet.layers[9] {
        fc.name = "fc1".into();
    }
    assert!(matches!(
        lenet.shapes().unwrap_err(),
        NnError::DuplicateParameter { .. }
    ));
    let mut lenet = zoo::lenet();
    if let Layer::Linear(fc) = &mut lenet.layers[9] {
        fc.name.clear();
    }
    assert!(matches!(
        lenet.shapes().unwrap_err(),
        NnError::UnnamedParameter { .. }
    ));

    // Wrong input to the forward pass.
    let err = infer(&zoo::lenet(), &FeatureMap::zeros(Shape::new(3, 28, 28))).unwrap_err();
    assert!(matches!(err, NnError::InputShape { .. }), "{err}");
    assert!(FeatureMap::new(Shape::new(1, 2, 2), vec![0.0; 3]).is_err());
}

#[test]
fn ir_serde_round_trip() {
    let network = zoo::seeded(ZooModel::Resnet20(Default::default()), 5).unwrap();
    let json = serde_json::to_string(&network).unwrap();
    let back: Network = serde_json::from_str(&json).unwrap();
    assert_eq!(back.shapes().unwrap(), network.shapes().unwrap());
    let (a, b) = (network.parameters(), back.parameters());
    assert_eq!(a.len(), b.len());
    for (p, q) in a.iter().zip(&b) {
        assert_eq!((&p.name, &p.shape), (&q.name, &q.shape));
        for (x, y) in p.values.iter().zip(q.values) {
            assert!((x - y).abs() <= 1e-15 * x.abs(), "{}", p.name);
        }
    }
    // The architecture (zero weights) round-trips exactly; the tags are readable.
    let lenet = zoo::lenet();
    let json = serde_json::to_string(&lenet).unwrap();
    assert!(json.contains(r#""layer":"conv2d""#) && json.contains(r#""function":{"kind":"poly""#));
    assert_eq!(serde_json::from_str::<Network>(&json).unwrap(), lenet);
    // Unknown keys and layer kinds are refused, with the offending name.
    let typo = json.replacen(r#""stride""#, r#""strides""#, 1);
    let err = serde_json::from_str::<Network>(&typo)
        .unwrap_err()
        .to_string();
    assert!(err.contains("strides"), "{err}");
    let unknown = json.replacen(r#""layer":"flatten""#, r#""layer":"upsample""#, 1);
    let err = serde_json::from_str::<Network>(&unknown)
        .unwrap_err()
        .to_string();
    assert!(err.contains("upsample"), "{err}");
}

#[test]
fn placed_layers_and_mutable_visits() {
    let mut resnet = zoo::resnet20(ResNet20Config::default()).unwrap();
    let placed = resnet.placed_layers().unwrap();
    assert_eq!(placed.len(), resnet.shapes().unwrap().len());
    // 3 stem + 9 * (residual + act) + 3 tail top-level; 5 body layers per block; 2 shortcut
    // layers in 2 blocks.
    assert_eq!(placed.len(), 3 + 18 + 3 + 45 + 4);
    let conv = placed
        .iter()
        .find(|p| p.location.name == "layer3.0.conv1")
        .unwrap();
    assert_eq!(conv.location.path, "15.body.0");
    assert_eq!(
        (conv.input, conv.output),
        (Shape::new(32, 16, 16), Shape::new(64, 8, 8))
    );
    assert!(matches!(conv.layer, Layer::Conv2d(c) if c.stride == 2 && c.groups == 1));
    // Swap every activation for exact ReLU; the forward pass then never goes negative after one.
    resnet.visit_layers_mut(|_, layer| {
        if let Layer::Activation(a) = layer {
            a.function = Activation::Relu;
        }
    });
    weights::init_seeded(&mut resnet, 1);
    let pass = forward(&resnet, &weights::seeded_input(resnet.input_shape, 2)).unwrap();
    let mut relus = 0;
    for out in &pass.layer_outputs {
        if out.location.kind == "activation" {
            relus += 1;
            assert!(out.output.data().iter().all(|v| *v >= 0.0));
        }
    }
    assert_eq!(relus, 19);
}
