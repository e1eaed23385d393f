//! Encrypted convolutions decrypt to the plaintext convolution (the nn forward pass of the
//! same effective weights): random cases, replicated inputs, repacking, regrouping and
//! pruning, and the test parameters at N = 2^13.

use super::*;

#[test]
fn encrypted_convolutions_match_the_plaintext_convolution() {
    let mut crypto = Crypto::new(insecure_test_params());
    let prune = Some(PruneConfig {
        ratio: 0.5,
        taps_per_block: 1,
    });
    let cases = vec![
        Case {
            name: "dense 4->4 6x6 k3 p1 s1",
            slots: 256,
            shape: Shape::new(4, 6, 6),
            input_gap: 1,
            conv: random_conv(1, 4, 4, 3, 1, 1, 1, true),
            strategy: Strategy::Dense,
        },
        Case {
            name: "dense 3->8 7x7 k3 p0 s2 (multiplexed output)",
            slots: 512,
            shape: Shape::new(3, 7, 7),
            input_gap: 1,
            conv: random_conv(2, 3, 8, 3, 2, 0, 1, false),
            strategy: Strategy::Dense,
        },
        Case {
            name: "dense 16->8 8x8 k3 p1 s1 (4 input ciphertexts)",
            slots: 256,
            shape: Shape::new(16, 8, 8),
            input_gap: 1,
            conv: random_conv(3, 16, 8, 3, 1, 1, 1, true),
            strategy: Strategy::Dense,
        },
        Case {
            name: "dense 8->4 4x4 k3 p2 s1 on a gap-2 multiplexed input",
            slots: 256,
            shape: Shape::new(8, 4, 4),
            input_gap: 2,
            conv: random_conv(4, 8, 4, 3, 1, 2, 1, false),
            strategy: Strategy::Dense,
        },
        Case {
            name: "spencnn g2 4->4 5x5 k3 p1 s1",
            slots: 256,
            shape: Shape::new(4, 5, 5),
            input_gap: 1,
            conv: random_conv(5, 4, 4, 3, 1, 1, 2, true),
            strategy: spencnn(None),
        },
        Case {
            name: "spencnn g4 8->8 6x6 k3 p1 s2",
            slots: 512,
            shape: Shape::new(8, 6, 6),
            input_gap: 1,
            conv: random_conv(6, 8, 8, 3, 2, 1, 4, true),
            strategy: spencnn(None),
        },
        Case {
            name: "spencnn g4 16->8 4x4 k3 p1 s1 (2 input ciphertexts)",
            slots: 128,
            shape: Shape::new(16, 4, 4),
            input_gap: 1,
            conv: random_conv(7, 16, 8, 3, 1, 1, 4, false),
            strategy: spencnn(None),
        },
        Case {
            name: "spencnn g2 8->8 6x6 k3 p1 s1 pruned 50%",
            slots: 512,
            shape: Shape::new(8, 6, 6),
            input_gap: 1,
            conv: random_conv(8, 8, 8, 3, 1, 1, 2, true),
            strategy: spencnn(prune),
        },
        Case {
            name: "spencnn g8 64->16 4x4 k3 p1 on a gap-2 multiplexed input (plane kept)",
            slots: 512,
            shape: Shape::new(64, 4, 4),
            input_gap: 2,
            conv: random_conv(10, 64, 16, 3, 1, 1, 8, true),
            strategy: spencnn(None),
        },
        Case {
            name: "spencnn g1->2 by the HE-group rule 8->4 4x4 k3 p1 s2",
            slots: 64,
            shape: Shape::new(8, 4, 4),
            input_gap: 1,
            conv: random_conv(9, 8, 4, 3, 2, 1, 1, true),
            strategy: Strategy::Spencnn(SpencnnConfig {
                groups: GroupChoice::HeGroupRule,
                prune: None,
            }),
        },
    ];
    for case in cases {
        let groups = case.strategy.groups_for(&case.conv, case.shape, case.slots);
        let order = case.strategy.channel_order(groups);
        let input_layout = if case.input_gap == 1 {
            Layout::packed(case.shape, case.slots, order).unwrap()
        } else {
            let g = case.input_gap;
            Layout::multiplexed(case.shape, case.slots, g * case.shape.width, 1, g, order).unwrap()
        };
        let plan = conv2d(
            &case.conv,
            &input_layout,
            &case.strategy,
            order,
            BuildOptions::default(),
        )
        .unwrap();
        assert_eq!(plan.groups, groups, "{}", case.name);
        let input = random_map(100, case.shape);
        let want = plain_conv(effective_conv(&plan), &input);
        let got = crypto.run(&plan, &input);
        let err = max_error(&want, &got);
        eprintln!(
            "{}: max error 2^{:.1}, max |out| {:.2}, {:?}",
            case.name,
            err.log2(),
            want.max_abs(),
            plan.counts
        );
        assert!(want.max_abs() > 0.5, "{}: trivial output", case.name);
        assert!(err < CONV_TOLERANCE, "{}: error {err}", case.name);
    }
}

#[test]
fn encrypted_convolution_on_a_replicated_input() {
    // 1 -> 8 channels, 6x6, k3 p1 at 512 slots: the input fits 64 slots and is replicated 8
    // times; the 8 output channels fill 8 blocks of 64 slots of one ciphertext.
    let mut crypto = Crypto::new(insecure_test_params());
    let shape = Shape::new(1, 6, 6);
    for (conv, strategy) in [
        (random_conv(11, 1, 8, 3, 1, 1, 1, true), Strategy::Dense),
        (random_conv(12, 1, 8, 3, 2, 1, 1, false), spencnn(None)),
    ] {
        let order = ChannelOrder::ChannelMajor;
        let input_layout = Layout::replicated(shape, 512, order).unwrap();
        assert_eq!((input_layout.replicas, input_layout.period()), (8, 64));
        let plan = conv2d(
            &conv,
            &input_layout,
            &strategy,
            order,
            BuildOptions::default(),
        )
        .unwrap();
        let packed = Layout::packed(shape, 512, order).unwrap();
        let plain = conv2d(&conv, &packed, &strategy, order, BuildOptions::default()).unwrap();
        if conv.stride == 1 {
            // one diagonal per tap and output ciphertext, instead of one per tap and block
            assert_eq!(plan.counts.pmults, 9 * plan.output.ciphertexts);
            assert_eq!(plain.counts.pmults, 8 * plan.counts.pmults);
        } else {
            // stride 2: the output is multiplexed (4 channels per block at sub-offsets), and
            // the sub-offsets still need their own diagonals
            assert!(plain.counts.pmults > plan.counts.pmults);
        }
        let input = random_map(101, shape);
        let want = plain_conv(effective_conv(&plan), &input);
        let err = max_error(&want, &crypto.run(&plan, &input));
        assert!(want.max_abs() > 0.5 && err < CONV_TOLERANCE, "error {err}");
    }
    // every copy is written; a map needing the whole ciphertext is not replicated
    let input = random_map(102, shape);
    let l = Layout::replicated(shape, 512, ChannelOrder::ChannelMajor).unwrap();
    let v = &l.encode(&input).unwrap()[0];
    assert!((0..512).all(|s| v[s] == v[s % 64]));
    let big = Layout::replicated(Shape::new(8, 6, 6), 512, ChannelOrder::ChannelMajor).unwrap();
    assert_eq!(big.replicas, 1);
}

#[test]
fn repacking_a_pooled_map_clears_the_holes_and_fills_them() {
    // 8 channels of 8x8 at 256 slots: 2 ciphertexts of 4 blocks of 64; a 2x2 pooling leaves
    // 8 x 4 x 4 gapped in both (3 of 4 slots garbage). Repacked, gap 2 multiplexed: 4
    // channels per block, all 8 in one ciphertext.
    let mut crypto = Crypto::new(insecure_test_params());
    let order = ChannelOrder::Interleaved { groups: 2 };
    let full = Layout::packed(Shape::new(8, 8, 8), 256, order).unwrap();
    let pooled = full.strided(Shape::new(8, 4, 4), 2);
    assert_eq!(pooled.ciphertexts, 2);
    let (program, packed) = repack(&pooled, order, BuildOptions::default())
        .unwrap()
        .expect("fewer ciphertexts");
    assert_eq!((packed.ciphertexts, packed.gap), (1, 2));
    let counts = program.counts().unwrap();
    assert_eq!(counts.depth, 1);
    // one masking PMult per distinct (input ciphertext, channel offset): far fewer than pixels
    assert!(counts.pmults <= 8, "{counts:?}");
    let map = random_map(103, Shape::new(8, 4, 4));
    let mut slots = pooled.encode(&map).unwrap();
    // garbage in every slot that holds no pixel (pooling leaves partial sums there)
    let mut rng = ChaCha8Rng::seed_from_u64(104);
    let mut valid = vec![vec![false; 256]; 2];
    for c in 0..8 {
        for y in 0..4 {
            for x in 0..4 {
                let (j, u) = pooled.slot(c, y, x);
                valid[j][u] = true;
            }
        }
    }
    for (j, v) in slots.iter_mut().enumerate() {
        for (u, s) in v.iter_mut().enumerate() {
            if !valid[j][u] {
                *s = rng.gen_range(-1.0..1.0);
            }
        }
    }
    let out = crypto.run_slots(&program, &slots);
    let got = packed.decode(&out).unwrap();
    let err = max_error(&map, &got);
    assert!(err < CONV_TOLERANCE, "error {err}");
    // slots of the repacked ciphertext that hold no pixel are zero (the masks cleared them)
    let used: usize = out[0].iter().filter(|v| v.abs() > 1e-3).count();
    assert!(used <= 8 * 16, "{used} nonzero slots");
    // nothing to gain: a map already in one ciphertext
    let one = Layout::packed(Shape::new(2, 8, 8), 256, order)
        .unwrap()
        .strided(Shape::new(2, 4, 4), 2);
    assert!(repack(&one, order, BuildOptions::default())
        .unwrap()
        .is_none());
}

#[test]
fn regrouping_and_pruning_change_the_plaintext_result() {
    // The effective layers differ from the originals (so the oracle above is not comparing a
    // layer with itself in disguise).
    let conv = random_conv(9, 8, 4, 3, 2, 1, 1, true);
    let layout = Layout::packed(
        Shape::new(8, 4, 4),
        64,
        ChannelOrder::Interleaved { groups: 2 },
    )
    .unwrap();
    let strategy = Strategy::Spencnn(SpencnnConfig {
        groups: GroupChoice::HeGroupRule,
        prune: None,
    });
    let plan = conv2d(
        &conv,
        &layout,
        &strategy,
        ChannelOrder::Interleaved { groups: 2 },
        BuildOptions::default(),
    )
    .unwrap();
    let eff = effective_conv(&plan);
    assert_eq!(eff.groups, 2);
    let input = random_map(3, Shape::new(8, 4, 4));
    assert!(max_error(&plain_conv(eff, &input), &plain_conv(&conv, &input)) > 0.1);
}

#[test]
fn encrypted_convolution_at_test_n13() {
    let mut crypto = Crypto::new(Parameters::preset("test-n13").unwrap());
    let conv = random_conv(11, 8, 8, 3, 1, 1, 2, true);
    let shape = Shape::new(8, 8, 8);
    let order = ChannelOrder::Interleaved { groups: 2 };
    let layout = Layout::packed(shape, 4096, order).unwrap();
    let plan = conv2d(
        &conv,
        &layout,
        &spencnn(None),
        order,
        BuildOptions::default(),
    )
    .unwrap();
    let input = random_map(12, shape);
    let err = max_error(&plain_conv(&conv, &input), &crypto.run(&plan, &input));
    eprintln!(
        "test-n13 (scale 2^35, 4096 slots): max error 2^{:.1}",
        err.log2()
    );
    // Scale 2^35: 2^5 less headroom than the insecure set.
    assert!(err < CONV_TOLERANCE * 32.0, "error {err}");
}
