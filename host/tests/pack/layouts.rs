//! Layouts, the HE group rule, program checks and the network report.

use super::*;

#[test]
fn multiplexed_layout_fills_the_gaps() {
    // 8 channels of 3x3 at gap 2 on a fine grid of width 6: strides (12, 2), extent
    // 2*12 + 2*2 + 1*(6 + 1) + 1 = 36 -> plane 64 holds 4 channels; 2 blocks of 128 slots
    // fill 256 slots. Position p -> block p mod 2, sub-offset p / 2 -> (sy, sx).
    let l = Layout::multiplexed(
        Shape::new(8, 3, 3),
        256,
        6,
        1,
        2,
        ChannelOrder::ChannelMajor,
    )
    .unwrap();
    assert_eq!(
        (l.ciphertexts, l.plane, l.row_stride, l.col_stride),
        (1, 128, 12, 2)
    );
    let bases: Vec<usize> = l.channels.iter().map(|c| c.base).collect();
    assert_eq!(bases, vec![0, 128, 1, 129, 6, 134, 7, 135]);
    assert!((l.utilization() - 72.0 / 256.0).abs() < 1e-12);
    // Round trip.
    let m = random_map(1, l.shape);
    assert_eq!(l.decode(&l.encode(&m).unwrap()).unwrap(), m);
    // Overlap is refused.
    let mut bad = l.clone();
    bad.channels[1] = bad.channels[0];
    assert!(matches!(
        bad.validate(),
        Err(PackError::Layout(LayoutError::PixelShared {
            channel: 1,
            ..
        }))
    ));
    // A block larger than a ciphertext is refused.
    assert!(Layout::packed(Shape::new(1, 32, 32), 512, ChannelOrder::ChannelMajor).is_err());
    // Interleaving needs a divisor.
    assert!(Layout::packed(
        Shape::new(6, 2, 2),
        64,
        ChannelOrder::Interleaved { groups: 4 }
    )
    .is_err());
}

#[test]
fn he_group_rule() {
    let conv = |cin, cout| Conv2d::zeroed("c", cin, cout, 3, 1, 1, 1, false);
    // ResNet-20 at 8192 slots: 16 channels of 32x32 (8 per ciphertext) -> 2; 32 of 16x16 -> 1.
    assert_eq!(
        he_group_count(&conv(16, 16), Shape::new(16, 32, 32), 8192),
        2
    );
    assert_eq!(
        he_group_count(&conv(32, 32), Shape::new(32, 16, 16), 8192),
        1
    );
    // 64 of 14x14 (plane 256, 32 per ciphertext) -> 2; 256 of 30x30 (8 per ciphertext) -> 32,
    // lowered to a divisor of gcd(256, 24) = 8.
    assert_eq!(
        he_group_count(&conv(64, 32), Shape::new(64, 14, 14), 8192),
        2
    );
    assert_eq!(
        he_group_count(&conv(256, 24), Shape::new(256, 30, 30), 8192),
        8
    );
}

#[test]
fn program_check_tracks_depth_and_refuses_bad_programs() {
    let mut p = HeProgram::new(16, 1);
    let a = p.push(HeOp::MulConst { src: 0, value: 2.0 });
    let r = p.push(HeOp::Rescale { src: a });
    let s = p.push(HeOp::MulRelin { a: r, b: r });
    let t = p.push(HeOp::Rescale { src: s });
    p.outputs.push(t);
    assert_eq!(p.check().unwrap(), vec![0, 0, 1, 1, 2]);
    assert_eq!(p.counts().unwrap().depth, 2);
    let mut bad = p.clone();
    bad.push(HeOp::Add { a: 0, b: t });
    assert!(matches!(bad.check(), Err(PackError::Program { op: 4, .. })));
    let mut bad = p.clone();
    bad.ops[0] = HeOp::Rescale { src: 3 };
    assert!(matches!(bad.check(), Err(PackError::Program { op: 0, .. })));
    let mut bad = p.clone();
    bad.push(HeOp::Rotate {
        src: 0,
        step: 16,
        hoisted: false,
    });
    assert!(bad.check().is_err());
}

#[test]
fn network_report_of_lenet() {
    let net = zoo::seeded(zoo::ZooModel::Lenet, zoo::DEFAULT_SEED).unwrap();
    let dense = densified(&net, zoo::DEFAULT_SEED);
    let keep = ReportOptions {
        repack_pooled: Repack::Never,
        ..ReportOptions::default()
    };
    let base = network_report_with(&dense, &Strategy::Dense, 8192, &keep).unwrap();
    let sp = network_report_with(&net, &spencnn(None), 8192, &keep).unwrap();
    // conv, act, pool, conv, act, pool, flatten, fc, act, fc; depth: 2 convs + 3 activations
    // + 2 FCs = 7 (pools fold their 1/k^2 into the next linear layer).
    for r in [&base, &sp] {
        assert_eq!(r.layers.len(), 10);
        assert_eq!(r.total.depth, 7);
    }
    // conv1 (1 -> 64 channels, 28x28, k5 p2): the input (784 values) is encrypted replicated
    // 8 times (period 1024), 64 channels in 8 output ciphertexts of 8 blocks of 1024 slots:
    // one diagonal per tap serves all 8 blocks, 25 per output ciphertext, 200 PMults (8 x 25
    // = 200 per output ciphertext, 1,600, without replication); the same in both strategies.
    assert_eq!(base.layers[0].counts.pmults, 200);
    assert_eq!(sp.layers[0].counts.pmults, 200);
    // conv2 with 4 groups: 4x fewer PMults than the dense one (input 8 ciphertexts of 8
    // channels; output 1 ciphertext; dense: 8 x 32 offsets x 25 taps = 6400; grouped and
    // interleaved: 8 x 8 x 25 = 1600).
    assert_eq!(base.layers[3].counts.pmults, 6400);
    assert_eq!(sp.layers[3].counts.pmults, 1600);
    assert!(sp.total.key_switches < base.total.key_switches);
    // Repacked (the default): the first pooling's 64 x 14 x 14 map goes from 8 gapped
    // ciphertexts to 2 multiplexed ones (4 channels per 1024-slot block) for one more level;
    // the 10 x 10 global pooling leaves one ciphertext and is not repacked.
    for (strategy, network, plain) in [(Strategy::Dense, &dense, &base), (spencnn(None), &net, &sp)]
    {
        let r = network_report(network, &strategy, 8192).unwrap();
        assert_eq!(r.total.depth, 8);
        assert!(r.layers[2].repacked && !r.layers[5].repacked);
        assert_eq!(
            (r.layers[2].ciphertexts_in, r.layers[2].ciphertexts_out),
            (8, 2)
        );
        assert_eq!(r.layers[2].counts.depth, 1);
        assert!(r.layers[3].counts.pmults < plain.layers[3].counts.pmults);
        assert!(r.total.pmults < plain.total.pmults);
    }
}

#[test]
fn unsupported_layers_are_errors_naming_the_layer() {
    let mut net = zoo::seeded(zoo::ZooModel::Lenet, 1).unwrap();
    if let Layer::Activation(a) = &mut net.layers[1] {
        a.function = heaccel_host::nn::Activation::Relu;
    }
    let err = network_report(&net, &Strategy::Dense, 8192).unwrap_err();
    assert!(err.to_string().contains("#1 activation 'act1'"), "{err}");
}
