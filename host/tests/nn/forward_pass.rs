//! The forward pass: seeded networks finite and bounded, residual outputs as branch sums,
//! batch-norm folding preserving the function, the bound checker.

use super::*;

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
