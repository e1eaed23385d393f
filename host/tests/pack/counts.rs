//! Op counts of compiled convolutions against hand-derived ones.

use super::*;

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
