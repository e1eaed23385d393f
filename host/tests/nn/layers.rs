//! Single layers against independent oracles: convolution as im2col + matrix product, and
//! hand-computed tiny cases of every layer kind.

use super::*;

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
