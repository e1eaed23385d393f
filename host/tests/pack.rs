//! Packing strategies: encrypted convolutions decrypt to the plaintext convolution (the nn
//! forward pass of the same effective weights), op counts against hand-derived ones, pruning,
//! layouts and the network report.

use heaccel_host::nn::{forward, zoo, Conv2d, FeatureMap, Layer, Network, Shape};
use heaccel_host::pack::*;
use heaccel_verification::ckks::*;
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};

/// TEST ONLY, INSECURE: N = 2^12 with log2(PQ) = 140 (the 128-bit bound at 2^12 is 109), so the
/// encrypted tests run fast. Scale 2^40, one level for the PMult + rescale of a linear layer.
fn insecure_test_params() -> Parameters {
    ParametersLiteral {
        log_n: 12,
        log_q: vec![50, 40],
        q: vec![],
        log_p: vec![50],
        p: vec![],
        log_scale: 40,
        dnum: 2,
        hamming_weight: None,
        allow_insecure: true,
    }
    .build()
    .unwrap()
}

fn random_conv(
    seed: u64,
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    padding: usize,
    groups: usize,
    bias: bool,
) -> Conv2d {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut c = Conv2d::zeroed("conv", cin, cout, k, stride, padding, groups, bias);
    for w in c.weight.iter_mut() {
        *w = rng.gen_range(-0.5..0.5);
    }
    if let Some(b) = c.bias.as_mut() {
        for v in b.iter_mut() {
            *v = rng.gen_range(-0.5..0.5);
        }
    }
    c
}

fn random_map(seed: u64, shape: Shape) -> FeatureMap {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    FeatureMap::new(
        shape,
        (0..shape.len()).map(|_| rng.gen_range(-1.0..1.0)).collect(),
    )
    .unwrap()
}

/// The nn forward pass of one convolution: the independent oracle.
fn plain_conv(conv: &Conv2d, input: &FeatureMap) -> FeatureMap {
    let net = Network {
        name: "one".into(),
        input_shape: input.shape(),
        layers: vec![Layer::Conv2d(conv.clone())],
    };
    forward(&net, input).unwrap().output
}

struct Crypto {
    params: Parameters,
    encoder: Encoder,
    sk: SecretKey,
    kg: KeyGenerator<ChaCha20Rng>,
    encryptor: Encryptor<ChaCha20Rng>,
    decryptor: Decryptor,
}

impl Crypto {
    fn new(params: Parameters) -> Self {
        let mut kg = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(7));
        let sk = kg.gen_secret_key();
        let pk = kg.gen_public_key(&sk).unwrap();
        let encryptor = Encryptor::with_rng(
            &params,
            EncryptionKey::Public(pk),
            ChaCha20Rng::seed_from_u64(8),
        )
        .unwrap();
        let decryptor = Decryptor::new(&params, &sk).unwrap();
        Crypto {
            encoder: Encoder::new(&params),
            params,
            sk,
            kg,
            encryptor,
            decryptor,
        }
    }

    /// Encrypts `input` in the plan's input layout, runs the plan, decrypts in its output
    /// layout.
    fn run(&mut self, plan: &LayerPlan, input: &FeatureMap) -> FeatureMap {
        let slots = self.run_slots(&plan.program, &plan.input.encode(input).unwrap());
        plan.output.decode(&slots).unwrap()
    }

    /// Encrypts slot vectors, runs `program`, decrypts its outputs' slots (real parts).
    fn run_slots(&mut self, program: &HeProgram, input: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let steps = program.rotation_steps();
        let galois = self.kg.gen_galois_keys(&self.sk, &steps, false).unwrap();
        let evaluator = Evaluator::new(&self.params, None, Some(galois)).unwrap();
        let level = self.params.max_level();
        let scale = self.params.default_scale();
        let cts: Vec<Ciphertext> = input
            .iter()
            .map(|v| {
                let pt = self.encoder.encode_real(v, level, scale).unwrap();
                self.encryptor.encrypt(&pt).unwrap()
            })
            .collect();
        let out = HeExecutor::new(&evaluator, &self.encoder)
            .run(program, &cts)
            .unwrap();
        out.iter()
            .map(|ct| {
                let pt = self.decryptor.decrypt(ct).unwrap();
                self.encoder
                    .decode(&pt)
                    .unwrap()
                    .iter()
                    .map(|z| z.re)
                    .collect()
            })
            .collect()
    }
}

fn max_error(a: &FeatureMap, b: &FeatureMap) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.data()
        .iter()
        .zip(b.data())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn effective_conv(plan: &LayerPlan) -> &Conv2d {
    match &plan.effective {
        EffectiveLayer::Conv2d(c) => c,
        other => panic!("expected a convolution, got {other:?}"),
    }
}

fn spencnn(prune: Option<PruneConfig>) -> Strategy {
    Strategy::Spencnn(SpencnnConfig {
        groups: GroupChoice::Layer,
        prune,
    })
}

struct Case {
    name: &'static str,
    slots: usize,
    shape: Shape,
    /// Gap of the input layout (1: packed; 2: a gapped multiplexed input as a strided layer
    /// leaves it, on a fine grid of twice the width).
    input_gap: usize,
    conv: Conv2d,
    strategy: Strategy,
}

/// Bound on the worst slot error of one encrypted linear layer at scale 2^40 (measured
/// around 2^-27 here; the bound leaves room for key-switching noise of larger sums).
const CONV_TOLERANCE: f64 = 1.0 / (1u64 << 22) as f64;

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

// ---------------------------------------------------------------------------------------
// Hand-derived counts.

fn counts_of(conv: &Conv2d, layout: &Layout, strategy: &Strategy, bsgs: Bsgs) -> OpCounts {
    conv2d(
        conv,
        layout,
        strategy,
        layout_order(layout, strategy, conv),
        BuildOptions {
            bsgs,
            materialize: true,
        },
    )
    .unwrap()
    .counts
}

fn layout_order(_layout: &Layout, strategy: &Strategy, conv: &Conv2d) -> ChannelOrder {
    strategy.channel_order(conv.groups)
}

#[test]
fn single_channel_3x3_counts_by_hand() {
    // 1 -> 1 channel, 4x4, k3 p1, 16 slots: one block of 16 slots, row stride 4. The nine
    // taps (dy, dx) in {-1,0,1}^2 rotate by 4 dy + dx mod 16 = {11,12,13,15,0,1,3,4,5}: nine
    // diagonals, nine PMults, eight additions, one rescale.
    let conv = random_conv(1, 1, 1, 3, 1, 1, 1, false);
    let layout = Layout::packed(Shape::new(1, 4, 4), 16, ChannelOrder::ChannelMajor).unwrap();
    // Giant step 16 (no giant steps): 8 hoisted baby rotations, one decomposition.
    let c = counts_of(&conv, &layout, &Strategy::Dense, Bsgs::GiantStep(16));
    assert_eq!(
        c,
        OpCounts {
            rotations: 8,
            hoisted_rotations: 8,
            decompositions: 1,
            key_switches: 8,
            pmults: 9,
            hmults: 0,
            adds: 8,
            plain_adds: 0,
            const_mults: 0,
            rescales: 1,
            depth: 1,
        }
    );
    // Auto: G = 1: 8 giants; G = 2: babies {1}, giants {1,2,5,6,7}: 6; G = 4: babies
    // r mod 4 = {1,3}, giants r div 4 = {1,2,3}: 5; G = 8: babies {1,3,4,5,7}, giants {1}: 6;
    // G = 16: 8. So G = 4: 2 hoisted baby rotations (1 decomposition) + 3 giant rotations
    // (3 decompositions).
    let c = counts_of(&conv, &layout, &Strategy::Dense, Bsgs::Auto);
    assert_eq!(
        (
            c.rotations,
            c.hoisted_rotations,
            c.decompositions,
            c.pmults,
            c.adds
        ),
        (5, 2, 4, 9, 8)
    );
}

#[test]
fn group_interleaving_counts_by_hand() {
    // 4 -> 4 channels, 2x2 maps, 1x1 kernel, 16 slots: extent 4, four blocks of P = 4 slots.
    let shape = Shape::new(4, 2, 2);
    let dense_conv = random_conv(2, 4, 4, 1, 1, 0, 1, false);
    let grouped = random_conv(3, 4, 4, 1, 1, 0, 2, false);
    let major = Layout::packed(shape, 16, ChannelOrder::ChannelMajor).unwrap();
    let inter = Layout::packed(shape, 16, ChannelOrder::Interleaved { groups: 2 }).unwrap();
    // Interleaved: channel g*2 + l at block 2l + g (base 4 (2l + g)).
    for (c, base) in [(0, 0), (1, 8), (2, 4), (3, 12)] {
        assert_eq!(inter.channels[c].base, base, "channel {c}");
    }
    // Dense layer, channel-major: the channel offsets 0, 4, 8, 12: 4 PMults. Auto BSGS:
    // G = 8 gives babies {4} and giants {1}: 2 rotations.
    let c = counts_of(&dense_conv, &major, &Strategy::Dense, Bsgs::Auto);
    assert_eq!((c.pmults, c.rotations, c.adds), (4, 2, 3));
    // Grouped layer in channel-major order (what the baseline would do with it): input (g, l)
    // at block 2g + l, output (g, lo) at 2g + lo: offsets l - lo in {-1, 0, 1}, i.e. r in
    // {12, 0, 4}: 3 PMults; 2 rotations (G = 1: giants {4, 12}).
    let c = counts_of(&grouped, &major, &Strategy::Dense, Bsgs::Auto);
    assert_eq!((c.pmults, c.rotations, c.adds), (3, 2, 2));
    // Group-interleaved: offsets 2 (l - lo) mod 4 in {0, 2}, r in {0, 8}: one rotation serves
    // both groups: 2 PMults, 1 rotation, 1 addition.
    let c = counts_of(&grouped, &inter, &spencnn(None), Bsgs::Auto);
    assert_eq!((c.pmults, c.rotations, c.adds), (2, 1, 1));
}

#[test]
fn counting_only_builds_the_same_program() {
    for (conv, shape, slots, strategy) in [
        (
            random_conv(1, 8, 8, 3, 1, 1, 2, true),
            Shape::new(8, 6, 6),
            256,
            spencnn(None),
        ),
        (
            random_conv(2, 3, 8, 3, 2, 0, 1, false),
            Shape::new(3, 7, 7),
            512,
            Strategy::Dense,
        ),
        (
            random_conv(3, 16, 8, 3, 1, 1, 4, true),
            Shape::new(16, 4, 4),
            128,
            spencnn(None),
        ),
        (
            random_conv(4, 8, 8, 5, 2, 2, 1, true),
            Shape::new(8, 9, 9),
            1024,
            Strategy::Dense,
        ),
    ] {
        let order = strategy.channel_order(conv.groups);
        let layout = Layout::packed(shape, slots, order).unwrap();
        let build = |materialize| {
            conv2d(
                &conv,
                &layout,
                &strategy,
                order,
                BuildOptions {
                    bsgs: Bsgs::Auto,
                    materialize,
                },
            )
            .unwrap()
        };
        let (full, count) = (build(true), build(false));
        assert_eq!(full.program.ops, count.program.ops);
        assert_eq!(full.counts, count.counts);
        assert!(!count.program.is_materialized());
        let labels = |p: &HeProgram| {
            p.plaintexts
                .iter()
                .map(|x| x.label.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(labels(&full.program), labels(&count.program));
    }
}

// ---------------------------------------------------------------------------------------
// Pruning.

#[test]
fn pruning_at_ratio_zero_changes_nothing() {
    let conv = random_conv(5, 8, 8, 3, 1, 1, 2, true);
    let order = ChannelOrder::Interleaved { groups: 2 };
    let layout = Layout::packed(Shape::new(8, 6, 6), 512, order).unwrap();
    let none = conv2d(
        &conv,
        &layout,
        &spencnn(None),
        order,
        BuildOptions::default(),
    )
    .unwrap();
    let zero = conv2d(
        &conv,
        &layout,
        &spencnn(Some(PruneConfig {
            ratio: 0.0,
            taps_per_block: 3,
        })),
        order,
        BuildOptions::default(),
    )
    .unwrap();
    assert_eq!(none.program, zero.program);
    assert_eq!(effective_conv(&zero), &conv);
    assert!(zero.pruning.as_ref().unwrap().pruned.is_empty());
}

#[test]
fn pruning_removes_whole_rotation_pmult_pairs_by_magnitude() {
    // 4 -> 4, 4x4, k3 p1, groups 2, 64 slots: 4 blocks of P = 16, one ciphertext. Interleaved:
    // channel (g, l) at base 16 (2 l + g). Within a group the channel offset is
    // 16 * 2 (l_i - l_o) mod 64 in {0, 32}; with the tap offsets 4 dy + dx in [-5, 5] every
    // (offset, tap) is its own diagonal r: 2 x 9 = 18 blocks of 1 tap = 18 PMults, and with no
    // giant steps 17 rotations (r = 0 needs none).
    let conv = random_conv(21, 4, 4, 3, 1, 1, 2, false);
    let order = ChannelOrder::Interleaved { groups: 2 };
    let layout = Layout::packed(Shape::new(4, 4, 4), 64, order).unwrap();
    let opts = BuildOptions {
        bsgs: Bsgs::GiantStep(64),
        materialize: true,
    };
    let full = conv2d(&conv, &layout, &spencnn(None), order, opts).unwrap();
    assert_eq!((full.counts.pmults, full.counts.rotations), (18, 17));
    // Block norms by hand.
    let base = |c: usize| 16 * (2 * (c % 2) + c / 2);
    let mut norms = std::collections::BTreeMap::<(usize, usize), f64>::new();
    for o in 0..4 {
        for il in 0..2 {
            let i = (o / 2) * 2 + il;
            for tap in 0..9 {
                let w = conv.weight[conv.weight_index(o, il, tap / 3, tap % 3)];
                *norms
                    .entry(((base(i) + 64 - base(o)) % 64, tap))
                    .or_default() += w * w;
            }
        }
    }
    assert_eq!(norms.len(), 18);
    for ratio in [0.25, 0.5, 1.0] {
        let cfg = PruneConfig {
            ratio,
            taps_per_block: 1,
        };
        let plan = conv2d(&conv, &layout, &spencnn(Some(cfg)), order, opts).unwrap();
        let report = plan.pruning.clone().unwrap();
        let expected = (ratio * 18.0).floor() as usize;
        assert_eq!((report.blocks, report.pruned.len()), (18, expected));
        // The pruned blocks are the smallest by norm.
        let mut sorted: Vec<f64> = norms.values().map(|n| n.sqrt()).collect();
        sorted.sort_by(f64::total_cmp);
        let pruned: std::collections::BTreeSet<(usize, usize)> = report
            .pruned
            .iter()
            .map(|b| (b.channel_offset, b.chunk))
            .collect();
        for (key, n2) in &norms {
            if pruned.contains(key) {
                assert!(n2.sqrt() <= sorted[expected - 1] + 1e-12);
            } else if expected > 0 {
                assert!(n2.sqrt() >= sorted[expected - 1] - 1e-12);
            }
        }
        // Each pruned block removes its PMult and (unless r = 0) its rotation.
        let r_of = |(delta, tap): (usize, usize)| {
            let (dy, dx) = (tap as i64 / 3 - 1, tap as i64 % 3 - 1);
            (delta as i64 + 4 * dy + dx).rem_euclid(64)
        };
        let zero_rotations = pruned.iter().filter(|&&k| r_of(k) == 0).count();
        assert_eq!(plan.counts.pmults, 18 - expected);
        assert_eq!(plan.counts.rotations, 17 - (expected - zero_rotations));
        // The effective weights: pruned blocks zero, the rest untouched.
        let eff = effective_conv(&plan);
        for o in 0..4 {
            for il in 0..2 {
                let i = (o / 2) * 2 + il;
                for tap in 0..9 {
                    let idx = conv.weight_index(o, il, tap / 3, tap % 3);
                    let key = ((base(i) + 64 - base(o)) % 64, tap);
                    let want = if pruned.contains(&key) {
                        0.0
                    } else {
                        conv.weight[idx]
                    };
                    assert_eq!(eff.weight[idx], want);
                }
            }
        }
    }
}

#[test]
fn pruning_settings_out_of_range_are_errors_naming_the_layer() {
    let conv = random_conv(5, 4, 4, 3, 1, 1, 2, false);
    let order = ChannelOrder::Interleaved { groups: 2 };
    let layout = Layout::packed(Shape::new(4, 4, 4), 64, order).unwrap();
    for (ratio, taps, field) in [
        (1.5, 1, "prune.ratio"),
        (f64::NAN, 1, "prune.ratio"),
        (0.5, 0, "prune.taps_per_block"),
        (0.5, 10, "prune.taps_per_block"),
    ] {
        let cfg = PruneConfig {
            ratio,
            taps_per_block: taps,
        };
        let err = conv2d(
            &conv,
            &layout,
            &spencnn(Some(cfg)),
            order,
            BuildOptions::default(),
        )
        .unwrap_err();
        match err {
            PackError::Layer {
                layer, field: f, ..
            } => {
                assert_eq!((layer.as_str(), f), ("conv", field));
            }
            other => panic!("unexpected {other}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Layouts, rules, programs, reports.

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
    assert!(matches!(bad.validate(), Err(PackError::Layout(_))));
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

#[test]
fn encrypted_fully_connected_layer_matches_the_matrix_product() {
    // 4 channels of 3x3 in a packed layout, flattened (36 features, CHW order), FC 36 -> 10.
    let mut crypto = Crypto::new(insecure_test_params());
    let shape = Shape::new(4, 3, 3);
    let flat = Layout::packed(shape, 128, ChannelOrder::ChannelMajor)
        .unwrap()
        .flattened();
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let mut fc = heaccel_host::nn::Linear::zeroed("fc", 36, 10, true);
    for w in fc
        .weight
        .iter_mut()
        .chain(fc.bias.as_mut().unwrap().iter_mut())
    {
        *w = rng.gen_range(-0.5..0.5);
    }
    let plan = linear(&fc, &flat, BuildOptions::default()).unwrap();
    let input = random_map(32, Shape::flat(36));
    let got = crypto.run(&plan, &input);
    // Naive matrix product (independent of the nn forward pass).
    let want: Vec<f64> = (0..10)
        .map(|o| {
            fc.bias.as_ref().unwrap()[o]
                + (0..36)
                    .map(|i| fc.weight[o * 36 + i] * input.data()[i])
                    .sum::<f64>()
        })
        .collect();
    let want = FeatureMap::new(Shape::flat(10), want).unwrap();
    let err = max_error(&want, &got);
    eprintln!(
        "fc 36->10: max error 2^{:.1}, {:?}",
        err.log2(),
        plan.counts
    );
    assert!(want.max_abs() > 0.5);
    assert!(err < CONV_TOLERANCE, "error {err}");
}

fn random_fc(seed: u64, n_in: usize, n_out: usize) -> heaccel_host::nn::Linear {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fc = heaccel_host::nn::Linear::zeroed("fc", n_in, n_out, true);
    for w in fc
        .weight
        .iter_mut()
        .chain(fc.bias.as_mut().unwrap().iter_mut())
    {
        *w = rng.gen_range(-0.5..0.5);
    }
    fc
}

fn naive_fc(fc: &heaccel_host::nn::Linear, x: &[f64]) -> Vec<f64> {
    (0..fc.out_features)
        .map(|o| {
            fc.bias.as_ref().unwrap()[o]
                + (0..fc.in_features)
                    .map(|i| fc.weight[o * fc.in_features + i] * x[i])
                    .sum::<f64>()
        })
        .collect()
}

#[test]
fn fully_connected_outputs_are_folded_and_replicated() {
    // FC 36 -> 10 on a packed 4x3x3 map at 128 slots: the 10 outputs fold into period 16
    // (3 rotate-and-add steps: by 64, 32, 16), so at most 16 diagonals instead of up to 128;
    // then FC 10 -> 4 reads that replicated output (input period 16 > output period 4: the
    // products land in the copy of the output slot that reads the input slot itself).
    let mut crypto = Crypto::new(insecure_test_params());
    let flat = Layout::packed(Shape::new(4, 3, 3), 128, ChannelOrder::ChannelMajor)
        .unwrap()
        .flattened();
    let (fc1, fc2) = (random_fc(41, 36, 10), random_fc(42, 10, 4));
    let p1 = linear(&fc1, &flat, BuildOptions::default()).unwrap();
    assert_eq!((p1.output.replicas, p1.output.period()), (8, 16));
    assert!(p1.counts.pmults <= 16, "{:?}", p1.counts);
    let p2 = linear(&fc2, &p1.output, BuildOptions::default()).unwrap();
    assert_eq!((p2.output.replicas, p2.output.period()), (32, 4));
    assert!(p2.counts.pmults <= 4, "{:?}", p2.counts);
    let input = random_map(43, Shape::flat(36));
    // run both layers, checking every copy of the intermediate and final outputs
    let slots1 = crypto.run_slots(&p1.program, &p1.input.encode(&input).unwrap());
    let want1 = naive_fc(&fc1, input.data());
    for t in 0..128 {
        if t % 16 < 10 {
            assert!(
                (slots1[0][t] - want1[t % 16]).abs() < CONV_TOLERANCE,
                "slot {t}"
            );
        }
    }
    let mid = FeatureMap::new(Shape::flat(10), want1.clone()).unwrap();
    let slots2 = crypto.run_slots(&p2.program, &p2.input.encode(&mid).unwrap());
    let want2 = naive_fc(&fc2, &want1);
    for t in 0..128 {
        assert!(
            (slots2[0][t] - want2[t % 4]).abs() < CONV_TOLERANCE,
            "slot {t}"
        );
    }
}

#[test]
fn grouped_outputs_keep_the_input_plane_for_interleaving() {
    // 64 -> 16 channels, 8 groups, 4x4 at gap 2 (a pooled map) on a fine grid of width 8, at
    // 512 slots: input blocks of 64 slots (extent 64), 4 channels per block at the
    // sub-offsets, 8 blocks per ciphertext, 2 ciphertexts. Left to itself, the 16-channel
    // output would fill 4 blocks of 128 slots (8 groups over 4 blocks: no interleaving);
    // on the input's 64-slot plane every group keeps one offset on both sides.
    let shape = Shape::new(64, 4, 4);
    let il = ChannelOrder::Interleaved { groups: 8 };
    let cm = ChannelOrder::ChannelMajor;
    let layout = |order| Layout::multiplexed(shape, 512, 8, 1, 2, order).unwrap();
    assert_eq!((layout(il).plane, layout(il).ciphertexts), (64, 2));
    let free = Layout::multiplexed(Shape::new(16, 4, 4), 512, 8, 1, 2, il).unwrap();
    assert_eq!(free.plane, 128);
    let grouped = random_conv(14, 64, 16, 3, 1, 1, 8, false);
    let g = conv2d(
        &grouped,
        &layout(il),
        &spencnn(None),
        il,
        BuildOptions::default(),
    )
    .unwrap();
    assert_eq!(g.output.plane, 64);
    let dense_conv = random_conv(13, 64, 16, 3, 1, 1, 1, false);
    let d = conv2d(
        &dense_conv,
        &layout(cm),
        &Strategy::Dense,
        cm,
        BuildOptions::default(),
    )
    .unwrap();
    // at least the group count fewer diagonals (measured: 84 against 784)
    assert!(
        8 * g.counts.pmults <= d.counts.pmults,
        "{:?} {:?}",
        g.counts,
        d.counts
    );
}
