//! Fast: single layers in cleartext. Random convolutions (dense and SpENCNN, grouped,
//! strided, padded, pruned, gapped and replicated inputs), fully connected layers and
//! repackings compute the forward pass of their plan's effective layer and keep the empty
//! slots out.

use super::*;

/// A random convolution case (see [`conv_cases`]) compiled, or `None` when its settings do
/// not fit (a layout larger than the slots, a group count the order cannot interleave, ...).
pub(super) struct ConvCase {
    pub(super) conv: Conv2d,
    pub(super) shape: Shape,
    pub(super) plan: LayerPlan,
}

#[allow(clippy::type_complexity)]
pub(super) fn build_conv_case(
    (seed, cin_log, cout_log, group_log, k, stride, padding): (
        u64,
        u32,
        u32,
        u32,
        usize,
        usize,
        usize,
    ),
    (height, width, slots_log, input_kind, strategy_kind, out_kind, bias): (
        usize,
        usize,
        u32,
        u8,
        u8,
        u8,
        bool,
    ),
) -> Option<ConvCase> {
    let (cin, cout) = (1usize << cin_log, 1usize << cout_log);
    let groups = 1usize << group_log.min(cin_log).min(cout_log);
    if height + 2 * padding < k || width + 2 * padding < k {
        return None;
    }
    let conv = random_conv(seed, cin, cout, k, stride, padding, groups, bias);
    let shape = Shape::new(cin, height, width);
    let slots = 1usize << slots_log;
    let prune = PruneConfig {
        ratio: 0.5,
        taps_per_block: 1 + (seed as usize % (k * k)),
    };
    let strategy = match strategy_kind {
        0 => Strategy::Dense,
        1 => spencnn(GroupChoice::Layer, None),
        2 => spencnn(GroupChoice::HeGroupRule, None),
        _ => spencnn(GroupChoice::Layer, Some(prune)),
    };
    let run_groups = strategy.groups_for(&conv, shape, slots);
    let order = strategy.channel_order(run_groups);
    let input = match input_kind {
        0 => Layout::packed(shape, slots, order),
        1 => Layout::replicated(shape, slots, order),
        // a gap-2 multiplexed input, as a strided layer leaves it
        _ => Layout::multiplexed(shape, slots, 2 * width, 1, 2, order),
    }
    .ok()?;
    let out_order = match out_kind {
        0 => order,
        1 => ChannelOrder::ChannelMajor,
        _ => ChannelOrder::Interleaved {
            groups: cout.min(2),
        },
    };
    let plan = conv2d(&conv, &input, &strategy, out_order, BuildOptions::default()).ok()?;
    Some(ConvCase { conv, shape, plan })
}

/// Strategy of the random convolution settings [`build_conv_case`] reads.
#[allow(clippy::type_complexity)]
pub(super) fn conv_cases() -> impl proptest::strategy::Strategy<
    Value = (
        (u64, u32, u32, u32, usize, usize, usize),
        (usize, usize, u32, u8, u8, u8, bool),
    ),
> {
    (
        (
            any::<u64>(),
            0u32..=4,
            0u32..=3,
            0u32..=3,
            prop_oneof![Just(1usize), Just(3), Just(5)],
            1usize..=2,
            0usize..=2,
        ),
        (
            2usize..=8,
            2usize..=8,
            5u32..=9,
            0u8..=2,
            0u8..=3,
            0u8..=2,
            any::<bool>(),
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_global_rejects: 4096, ..ProptestConfig::default() })]

    #[test]
    fn random_convolutions_compute_the_forward_pass((a, b) in conv_cases()) {
        let case = build_conv_case(a, b);
        prop_assume!(case.is_some());
        let ConvCase { conv, shape, plan } = case.unwrap();
        let map = random_map(a.0 ^ 0x5eed, shape);
        let want = plain_layer(effective(&plan), &map);
        check_linear_map(&plan.program, &plan.input, &plan.output, &map, &want, a.0)?;
        // the plan's counts are its program's, and its depth is one level
        prop_assert_eq!(plan.program.counts().unwrap(), plan.counts);
        prop_assert_eq!(plan.counts.depth, 1);
        // SpENCNN without regrouping or pruning computes the layer itself
        if plan.groups == conv.groups && plan.pruning.is_none() {
            prop_assert_eq!(effective(&plan), Layer::Conv2d(conv));
        }
    }

    #[test]
    fn random_fully_connected_layers_compute_the_matrix_product(
        seed in any::<u64>(),
        (c, h, w) in (1usize..=4, 1usize..=4, 1usize..=4),
        n_mid in 1usize..=20,
        n_out in 1usize..=12,
        slots_log in 6u32..=9,
        replicated in any::<bool>(),
    ) {
        let shape = Shape::new(c, h, w);
        let slots = 1usize << slots_log;
        let layout = if replicated {
            Layout::replicated(shape, slots, ChannelOrder::ChannelMajor)
        } else {
            Layout::packed(shape, slots, ChannelOrder::ChannelMajor)
        };
        prop_assume!(layout.is_ok());
        let flat = layout.unwrap().flattened();
        let (fc1, fc2) = (random_fc(seed, shape.len(), n_mid), random_fc(seed ^ 1, n_mid, n_out));
        let p1 = linear(&fc1, &flat, BuildOptions::default()).unwrap();
        let x = random_map(seed ^ 2, Shape::flat(shape.len()));
        let y = plain_layer(Layer::Linear(fc1), &x);
        check_linear_map(&p1.program, &p1.input, &p1.output, &x, &y, seed)?;
        // the second layer reads the first one's (replicated) output layout
        let p2 = linear(&fc2, &p1.output, BuildOptions::default()).unwrap();
        let z = plain_layer(Layer::Linear(fc2), &y);
        check_linear_map(&p2.program, &p2.input, &p2.output, &y, &z, seed ^ 3)?;
        prop_assert_eq!(p2.counts.depth, 1);
    }

    #[test]
    fn random_repackings_move_every_pixel_and_clear_the_rest(
        seed in any::<u64>(),
        c_log in 0u32..=5,
        side in 2usize..=8,
        slots_log in 6u32..=10,
        groups_log in 0u32..=2,
    ) {
        let c = 1usize << c_log;
        let order = if groups_log == 0 {
            ChannelOrder::ChannelMajor
        } else {
            ChannelOrder::Interleaved { groups: 1 << groups_log.min(c_log) }
        };
        let full = Layout::packed(Shape::new(c, 2 * side, 2 * side), 1 << slots_log, order);
        prop_assume!(full.is_ok());
        let pooled = full.unwrap().strided(Shape::new(c, side, side), 2);
        let repacked = repack(&pooled, order, BuildOptions::default()).unwrap();
        prop_assume!(repacked.is_some());
        let (program, target) = repacked.unwrap();
        prop_assert!(target.ciphertexts < pooled.ciphertexts);
        let map = random_map(seed, pooled.shape);
        check_linear_map(&program, &pooled, &target, &map, &map, seed ^ 1)?;
    }
}

#[test]
fn random_convolution_cases_mostly_compile() {
    // The property above skips settings that do not fit; most must fit, or it tests little.
    let mut runner = TestRunner::deterministic();
    let (mut built, total) = (0, 400);
    // compiled cases by input layout (packed, replicated, gapped) and strategy (dense,
    // SpENCNN, HE-group rule, pruned)
    let (mut inputs, mut strategies) = ([0; 3], [0; 4]);
    for _ in 0..total {
        let (a, b) = conv_cases().new_tree(&mut runner).unwrap().current();
        if build_conv_case(a, b).is_some() {
            built += 1;
            inputs[b.3 as usize] += 1;
            strategies[b.4 as usize] += 1;
        }
    }
    eprintln!("{built} of {total} compile; by input {inputs:?}, by strategy {strategies:?}");
    assert!(2 * built >= total, "{built} of {total} cases compile");
    assert!(inputs.iter().chain(&strategies).all(|&n| n >= total / 20));
}

/// The convolution cases of `tests/pack/`'s encrypted test, in cleartext.
#[test]
fn pack_test_conv_cases_hold_in_cleartext() {
    let prune = Some(PruneConfig {
        ratio: 0.5,
        taps_per_block: 1,
    });
    let layer = spencnn(GroupChoice::Layer, None);
    let cases: Vec<(usize, Shape, usize, Conv2d, Strategy)> = vec![
        (
            256,
            Shape::new(4, 6, 6),
            1,
            random_conv(1, 4, 4, 3, 1, 1, 1, true),
            Strategy::Dense,
        ),
        (
            512,
            Shape::new(3, 7, 7),
            1,
            random_conv(2, 3, 8, 3, 2, 0, 1, false),
            Strategy::Dense,
        ),
        (
            256,
            Shape::new(16, 8, 8),
            1,
            random_conv(3, 16, 8, 3, 1, 1, 1, true),
            Strategy::Dense,
        ),
        (
            256,
            Shape::new(8, 4, 4),
            2,
            random_conv(4, 8, 4, 3, 1, 2, 1, false),
            Strategy::Dense,
        ),
        (
            256,
            Shape::new(4, 5, 5),
            1,
            random_conv(5, 4, 4, 3, 1, 1, 2, true),
            layer,
        ),
        (
            512,
            Shape::new(8, 6, 6),
            1,
            random_conv(6, 8, 8, 3, 2, 1, 4, true),
            layer,
        ),
        (
            128,
            Shape::new(16, 4, 4),
            1,
            random_conv(7, 16, 8, 3, 1, 1, 4, false),
            layer,
        ),
        (
            512,
            Shape::new(8, 6, 6),
            1,
            random_conv(8, 8, 8, 3, 1, 1, 2, true),
            spencnn(GroupChoice::Layer, prune),
        ),
        (
            512,
            Shape::new(64, 4, 4),
            2,
            random_conv(10, 64, 16, 3, 1, 1, 8, true),
            layer,
        ),
        (
            64,
            Shape::new(8, 4, 4),
            1,
            random_conv(9, 8, 4, 3, 2, 1, 1, true),
            spencnn(GroupChoice::HeGroupRule, None),
        ),
    ];
    for (slots, shape, gap, conv, strategy) in cases {
        let groups = strategy.groups_for(&conv, shape, slots);
        let order = strategy.channel_order(groups);
        let input = if gap == 1 {
            Layout::packed(shape, slots, order).unwrap()
        } else {
            Layout::multiplexed(shape, slots, gap * shape.width, 1, gap, order).unwrap()
        };
        let plan = conv2d(&conv, &input, &strategy, order, BuildOptions::default()).unwrap();
        let map = random_map(100, shape);
        let want = plain_layer(effective(&plan), &map);
        assert!(want.max_abs() > 0.5, "trivial output");
        check_linear_map(&plan.program, &plan.input, &plan.output, &map, &want, 7).unwrap();
    }
}
