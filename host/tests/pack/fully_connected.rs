//! Fully connected layers: the encrypted matrix product, folded and replicated outputs,
//! grouped outputs that keep the input plane for interleaving.

use super::*;

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
