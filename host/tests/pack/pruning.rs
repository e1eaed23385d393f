//! Sub-block pruning: ratio zero, whole rotation/PMult pairs removed by magnitude, settings
//! out of range.

use super::*;

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
