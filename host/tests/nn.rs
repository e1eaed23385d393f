//! The network IR, zoo, folding and forward pass against independent oracles: an im2col
//! matrix-product convolution, hand-computed tiny cases, hand-derived shapes and parameter
//! counts (and ResNet-20's published 269,722 trainable parameters).

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

/// Convolution as im2col + matrix product, written independently of the crate: per group, the
/// column matrix has one row per output position and one column per (in-group channel, ky, kx)
/// (zero where the window reaches into the padding); output = W_g * cols^T + bias.
fn conv_im2col(conv: &Conv2d, shape: Shape, x: &[f64]) -> (Shape, Vec<f64>) {
    let (h, w) = (shape.height as isize, shape.width as isize);
    let (k, s, p) = (
        conv.kernel_size as isize,
        conv.stride as isize,
        conv.padding as isize,
    );
    let out_h = ((h + 2 * p - k) / s + 1) as usize;
    let out_w = ((w + 2 * p - k) / s + 1) as usize;
    let cin_g = conv.in_channels / conv.groups;
    let cout_g = conv.out_channels / conv.groups;
    let row_len = cin_g * (k * k) as usize;
    let mut out = vec![0.0; conv.out_channels * out_h * out_w];
    for g in 0..conv.groups {
        let mut cols = vec![vec![0.0; row_len]; out_h * out_w];
        for oy in 0..out_h {
            for ox in 0..out_w {
                let row = &mut cols[oy * out_w + ox];
                for ic in 0..cin_g {
                    for ky in 0..k {
                        for kx in 0..k {
                            let iy = oy as isize * s - p + ky;
                            let ix = ox as isize * s - p + kx;
                            if iy >= 0 && iy < h && ix >= 0 && ix < w {
                                let c = g * cin_g + ic;
                                row[(ic * k as usize + ky as usize) * k as usize + kx as usize] =
                                    x[(c * shape.height + iy as usize) * shape.width + ix as usize];
                            }
                        }
                    }
                }
            }
        }
        // The group's weights as a [cout_g][row_len] matrix: rows of the [out][in/g][k][k] tensor.
        for ol in 0..cout_g {
            let o = g * cout_g + ol;
            let w_row = &conv.weight[o * row_len..(o + 1) * row_len];
            for (pos, col) in cols.iter().enumerate() {
                let dot: f64 = w_row.iter().zip(col).map(|(a, b)| a * b).sum();
                out[o * out_h * out_w + pos] = dot + conv.bias.as_ref().map_or(0.0, |b| b[o]);
            }
        }
    }
    (Shape::new(conv.out_channels, out_h, out_w), out)
}

#[test]
fn conv_matches_im2col_oracle() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // (in, out, kernel, stride, padding, groups, H, W)
    let cases = [
        (1, 1, 1, 1, 0, 1, 4, 4),
        (3, 5, 3, 1, 1, 1, 7, 6),
        (4, 6, 3, 2, 1, 2, 9, 8),
        (8, 8, 3, 1, 0, 8, 5, 5),
        (8, 4, 5, 2, 2, 4, 11, 10),
        (6, 9, 2, 3, 1, 3, 8, 7),
        (4, 4, 5, 1, 2, 1, 3, 3), // kernel larger than the unpadded input
        (16, 32, 1, 2, 0, 1, 8, 8),
    ];
    for (i, &(cin, cout, k, stride, pad, groups, h, w)) in cases.iter().enumerate() {
        let mut conv = Conv2d::zeroed("c", cin, cout, k, stride, pad, groups, i % 2 == 0);
        conv.weight = random_values(&mut rng, conv.weight.len());
        if let Some(b) = &mut conv.bias {
            *b = random_values(&mut rng, cout);
        }
        let shape = Shape::new(cin, h, w);
        let x = random_values(&mut rng, shape.len());
        let (want_shape, want) = conv_im2col(&conv, shape, &x);
        let got = run(&single_layer(shape, Layer::Conv2d(conv)), x);
        assert_eq!(got.shape(), want_shape, "case {i}");
        assert!(max_abs_diff(got.data(), &want) < 1e-12, "case {i}");
    }
}

#[test]
fn conv_hand_computed() {
    let x: Vec<f64> = (1..=9).map(f64::from).collect(); // 3x3: 1 2 3 / 4 5 6 / 7 8 9
                                                        // 2x2 kernel of ones, no padding, bias 0.5: window sums + 0.5.
    let mut conv = Conv2d::zeroed("c", 1, 1, 2, 1, 0, 1, true);
    conv.weight = vec![1.0; 4];
    conv.bias = Some(vec![0.5]);
    let y = run(
        &single_layer(Shape::new(1, 3, 3), Layer::Conv2d(conv)),
        x.clone(),
    );
    assert_eq!(y.shape(), Shape::new(1, 2, 2));
    assert_eq!(y.data(), &[12.5, 16.5, 24.5, 28.5]);

    // 3x3 ones, padding 1, stride 2: windows centred on (0,0), (0,2), (2,0), (2,2).
    let mut conv = Conv2d::zeroed("c", 1, 1, 3, 2, 1, 1, false);
    conv.weight = vec![1.0; 9];
    let y = run(&single_layer(Shape::new(1, 3, 3), Layer::Conv2d(conv)), x);
    assert_eq!(y.shape(), Shape::new(1, 2, 2));
    assert_eq!(y.data(), &[12.0, 16.0, 24.0, 28.0]);

    // Asymmetric kernel: weight[ky][kx] = [[1, 10], [100, 1000]] picks the window's corners.
    let mut conv = Conv2d::zeroed("c", 1, 1, 2, 1, 0, 1, false);
    conv.weight = vec![1.0, 10.0, 100.0, 1000.0];
    let y = run(
        &single_layer(Shape::new(1, 2, 3), Layer::Conv2d(conv)),
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    assert_eq!(
        y.data(),
        &[1.0 + 20.0 + 400.0 + 5000.0, 2.0 + 30.0 + 500.0 + 6000.0]
    );

    // Groups: 4 inputs, 2 outputs, groups 2, 1x1 ones: out0 = in0 + in1, out1 = in2 + in3.
    let mut conv = Conv2d::zeroed("c", 4, 2, 1, 1, 0, 2, false);
    conv.weight = vec![1.0; 4];
    let y = run(
        &single_layer(Shape::new(4, 1, 1), Layer::Conv2d(conv)),
        vec![1.0, 2.0, 30.0, 40.0],
    );
    assert_eq!(y.data(), &[3.0, 70.0]);

    // Depthwise (groups = channels), weights 2 and 3.
    let mut conv = Conv2d::zeroed("c", 2, 2, 1, 1, 0, 2, false);
    conv.weight = vec![2.0, 3.0];
    let y = run(
        &single_layer(Shape::new(2, 1, 2), Layer::Conv2d(conv)),
        vec![1.0, 2.0, 5.0, 7.0],
    );
    assert_eq!(y.data(), &[2.0, 4.0, 15.0, 21.0]);
}

#[test]
fn pool_linear_activation_residual_hand_computed() {
    let x: Vec<f64> = (0..16).map(f64::from).collect(); // 4x4: row r = 4r .. 4r+3
    let avg = run(
        &single_layer(Shape::new(1, 4, 4), Layer::Pool(Pool::average(2))),
        x.clone(),
    );
    assert_eq!(avg.data(), &[2.5, 4.5, 10.5, 12.5]);
    let max = Pool {
        kind: PoolKind::Max,
        kernel_size: 2,
        stride: 2,
    };
    let y = run(
        &single_layer(Shape::new(1, 4, 4), Layer::Pool(max)),
        x.clone(),
    );
    assert_eq!(y.data(), &[5.0, 7.0, 13.0, 15.0]);
    // Overlapping windows (kernel 3, stride 1): 2x2 outputs, means of 3x3 blocks.
    let overlapping = Pool {
        kind: PoolKind::Average,
        kernel_size: 3,
        stride: 1,
    };
    let y = run(
        &single_layer(Shape::new(1, 4, 4), Layer::Pool(overlapping)),
        x,
    );
    assert_eq!(y.data(), &[5.0, 6.0, 9.0, 10.0]);

    // Linear [[1, 2, 3], [-1, 0, 1]] + [10, 20] on (1, 1, 1) after flattening (3, 1, 1).
    let mut fc = Linear::zeroed("fc", 3, 2, true);
    fc.weight = vec![1.0, 2.0, 3.0, -1.0, 0.0, 1.0];
    fc.bias = Some(vec![10.0, 20.0]);
    let y = run(
        &single_layer(Shape::flat(3), Layer::Linear(fc)),
        vec![1.0, 1.0, 1.0],
    );
    assert_eq!(y.data(), &[16.0, 20.0]);

    // Poly 2x^2 - x + 3 and exact ReLU.
    let poly = |name: &str, a, b, c| {
        Layer::Activation(ActivationLayer {
            name: name.into(),
            function: Activation::Poly { a, b, c },
        })
    };
    let y = run(
        &single_layer(Shape::flat(3), poly("act", 2.0, -1.0, 3.0)),
        vec![-1.0, 0.0, 2.0],
    );
    assert_eq!(y.data(), &[6.0, 3.0, 9.0]);
    let relu = Layer::Activation(ActivationLayer {
        name: "relu".into(),
        function: Activation::Relu,
    });
    let y = run(&single_layer(Shape::flat(3), relu), vec![-1.5, 0.0, 2.0]);
    assert_eq!(y.data(), &[0.0, 0.0, 2.0]);

    // Residual: body 2x (poly b = 2), identity shortcut: 3x; with shortcut -x: x.
    let mut block = Residual {
        name: "block".into(),
        body: vec![poly("double", 0.0, 2.0, 0.0)],
        shortcut: vec![],
    };
    let y = run(
        &single_layer(Shape::flat(2), Layer::Residual(block.clone())),
        vec![1.0, -4.0],
    );
    assert_eq!(y.data(), &[3.0, -12.0]);
    block.shortcut = vec![poly("negate", 0.0, -1.0, 0.0)];
    let y = run(
        &single_layer(Shape::flat(2), Layer::Residual(block)),
        vec![1.0, -4.0],
    );
    assert_eq!(y.data(), &[1.0, -4.0]);

    // Flatten keeps CHW order.
    let y = run(
        &single_layer(Shape::new(2, 1, 2), Layer::Flatten),
        vec![1.0, 2.0, 3.0, 4.0],
    );
    assert_eq!(y.shape(), Shape::flat(4));
    assert_eq!(y.data(), &[1.0, 2.0, 3.0, 4.0]);
}

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
fn seeded_forward_is_finite_and_bounded() {
    for model in ["lenet", "vgg5", "hefnet", "resnet20"] {
        let network = zoo::seeded(model.parse().unwrap(), zoo::DEFAULT_SEED).unwrap();
        let input = weights::seeded_input(network.input_shape, 7);
        let pass = forward(&network, &input).unwrap();
        assert_eq!(pass.output.shape(), Shape::flat(10), "{model}");
        let worst = pass
            .max_abs_per_layer()
            .into_iter()
            .map(|(_, m)| m)
            .fold(0.0, f64::max);
        // Finite, O(1) (see init_seeded), and not collapsed to a constant.
        assert!(worst.is_finite() && worst < 20.0, "{model}: {worst}");
        let out = pass.output.data();
        let spread = out.iter().cloned().fold(f64::MIN, f64::max)
            - out.iter().cloned().fold(f64::MAX, f64::min);
        assert!(spread > 1e-3, "{model}: output spread {spread}");
        // infer gives the same output, and a different input a different output.
        assert_eq!(infer(&network, &input).unwrap(), pass.output);
        let other = infer(&network, &weights::seeded_input(network.input_shape, 8)).unwrap();
        assert_ne!(other, pass.output);
    }
}

#[test]
fn residual_outputs_are_branch_sums() {
    let network = zoo::seeded(ZooModel::Resnet20(Default::default()), 3).unwrap();
    let pass = forward(&network, &weights::seeded_input(network.input_shape, 4)).unwrap();
    let outputs = &pass.layer_outputs;
    let mut checked = 0;
    for (i, entry) in outputs.iter().enumerate() {
        if entry.location.kind != "residual" {
            continue;
        }
        let path = &entry.location.path;
        let last_of = |branch: &str| {
            outputs[..i]
                .iter()
                .rev()
                .find(|o| o.location.path.starts_with(&format!("{path}.{branch}.")))
        };
        let body = last_of("body").unwrap();
        // The block's input: the previous top-level output.
        let block_input = outputs[..i]
            .iter()
            .rev()
            .find(|o| !o.location.path.contains('.'))
            .unwrap();
        let shortcut = last_of("shortcut").unwrap_or(block_input);
        let sum: Vec<f64> = body
            .output
            .data()
            .iter()
            .zip(shortcut.output.data())
            .map(|(a, b)| a + b)
            .collect();
        assert_eq!(entry.output.data(), sum.as_slice(), "{path}");
        checked += 1;
    }
    assert_eq!(checked, 9);
}

#[test]
fn batch_norm_folding_preserves_the_function() {
    for model in ["hefnet", "resnet20"] {
        let network = zoo::seeded(model.parse().unwrap(), 11).unwrap();
        let folded = fold_batch_norm(&network).unwrap();
        let mut batch_norms = 0;
        folded.visit_layers(|_, l| batch_norms += usize::from(matches!(l, Layer::BatchNorm(_))));
        assert_eq!(batch_norms, 0, "{model}");
        for seed in 0..3 {
            let input = weights::seeded_input(network.input_shape, seed);
            let a = infer(&network, &input).unwrap();
            let b = infer(&folded, &input).unwrap();
            let scale = a.max_abs().max(1.0);
            assert!(max_abs_diff(a.data(), b.data()) < 1e-12 * scale, "{model}");
        }
    }

    // Hand case: BN after a linear layer without bias. y = 2x, BN gamma 3, beta 1, mean 4,
    // var 0 with eps 1/4: s = 3 / sqrt(1/4) = 6, folded weight 12, bias 6 * (0 - 4) + 1 = -23.
    let mut fc = Linear::zeroed("fc", 1, 1, false);
    fc.weight = vec![2.0];
    let mut bn = BatchNorm::identity("bn", 1);
    bn.gamma = vec![3.0];
    bn.beta = vec![1.0];
    bn.running_mean = vec![4.0];
    bn.running_var = vec![0.0];
    bn.eps = 0.25;
    let network = Network {
        name: "fc-bn".into(),
        input_shape: Shape::flat(1),
        layers: vec![Layer::Linear(fc), Layer::BatchNorm(bn)],
    };
    let folded = fold_batch_norm(&network).unwrap();
    assert_eq!(folded.layers.len(), 1);
    let Layer::Linear(fc) = &folded.layers[0] else {
        panic!("expected a linear layer, got {:?}", folded.layers[0]);
    };
    assert_eq!(fc.weight, vec![12.0]);
    assert_eq!(fc.bias, Some(vec![-23.0]));
    assert_eq!(run(&network, vec![5.0]).data(), &[37.0]); // 3 * (10 - 4) / 0.5 + 1

    // A batch norm that nothing can absorb.
    let mut hefnet = zoo::hefnet();
    hefnet.layers.swap(1, 2); // conv1, act1, bn1
    let err = fold_batch_norm(&hefnet).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, NnError::Fold { .. }), "{message}");
    assert!(
        message.contains("'bn1'") && message.contains("activation"),
        "{message}"
    );
    let first = single_layer(
        Shape::new(2, 1, 1),
        Layer::BatchNorm(BatchNorm::identity("bn", 2)),
    );
    assert!(fold_batch_norm(&first).is_err());
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

#[test]
fn the_bound_checker_reports_the_first_relu_or_max_pool_input_beyond_b() {
    // x -> 2x (1x1 conv) -> ReLU -> 2x2 max pool: with input max |x| = 1.5 (a -1.5), the ReLU
    // sees 3.0 and the pool sees max(ReLU) = 2 * 0.9 = 1.8.
    let mut conv = Conv2d::zeroed("double", 1, 1, 1, 1, 0, 1, false);
    conv.weight = vec![2.0];
    let network = Network {
        name: "bounded".into(),
        input_shape: Shape::new(1, 2, 2),
        layers: vec![
            Layer::Conv2d(conv),
            Layer::Activation(ActivationLayer {
                name: "relu".into(),
                function: Activation::Relu,
            }),
            Layer::Pool(Pool {
                kind: PoolKind::Max,
                kernel_size: 2,
                stride: 2,
            }),
        ],
    };
    let input = FeatureMap::new(network.input_shape, vec![0.9, -1.5, 0.25, 0.0]).unwrap();
    let pass = forward(&network, &input).unwrap();
    let (loc, value) = pass.first_beyond_bound(2.5).unwrap();
    assert_eq!(
        (loc.path.as_str(), loc.kind, value),
        ("1", "activation", 3.0)
    );
    let (loc, value) = pass.first_beyond_bound(1.7).unwrap();
    assert_eq!((loc.path.as_str(), value), ("1", 3.0));
    // within 3.0 the ReLU passes, and the pool's 1.8 too; the conv needs no bound
    assert!(pass.first_beyond_bound(3.0).is_none());
    let nan = FeatureMap::new(network.input_shape, vec![f64::NAN, 0.0, 0.0, 0.0]).unwrap();
    let pass = forward(&network, &nan).unwrap();
    assert!(pass.first_beyond_bound(1e9).is_some());
}
