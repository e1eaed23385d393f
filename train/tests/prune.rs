//! Sub-block pruning: the trainer prunes exactly the compiler's blocks, by the compiler's rule
//! (`floor(ratio * blocks)` per convolution, smallest L2 norm first, ties by key); the mask
//! travels in the weights file as `{layer}.weight_mask` and the compiler prunes exactly it (not
//! re-pruning by magnitude); bad masks fail naming the file and the tensor; and a pruned
//! training run on real MNIST images (skipped with a notice without `../shared/data`) keeps
//! the pruned weights at exactly 0 and compiles to fewer operations.

#[path = "../../host/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use heaccel_host::nn::weights::{load_safetensors, save_safetensors, WeightDtype};
use heaccel_host::nn::zoo::{self, ZooModel};
use heaccel_host::nn::{Conv2d, Layer, Network, WeightsError};
use heaccel_host::pack::{
    compile_he_structure, network_report_with, OpCounts, PruneConfig, ReportOptions, SpencnnConfig,
    Strategy as PackStrategy,
};
use heaccel_train::prune::{prune_strategy, target_count, Pruning, PRUNE_SLOTS};
use heaccel_train::run::{architecture, bit_identical};
use heaccel_train::{run, Request, StrategyChoice, TrainConfig, TrainError};

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("heaccel-train-prune-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn compiler_pruning(ratio: f64) -> PackStrategy {
    PackStrategy::Spencnn(SpencnnConfig {
        prune: Some(PruneConfig {
            ratio,
            taps_per_block: 1,
        }),
        ..SpencnnConfig::default()
    })
}

fn convs(network: &Network) -> Vec<Conv2d> {
    let mut out = Vec::new();
    network.visit_layers(|_, layer| {
        if let Layer::Conv2d(c) = layer {
            out.push(c.clone());
        }
    });
    out
}

/// Per layer of the report, its counts, for the convolutions (`conv1`, `conv2`).
fn conv_counts(network: &Network, strategy: &PackStrategy) -> Vec<OpCounts> {
    let report =
        network_report_with(network, strategy, PRUNE_SLOTS, &ReportOptions::default()).unwrap();
    report
        .layers
        .iter()
        .filter(|l| l.location.contains("conv2d"))
        .map(|l| l.counts)
        .collect()
}

#[test]
fn the_trainers_blocks_and_choice_are_the_compilers_for_lenet() {
    let seeded = zoo::seeded(ZooModel::Lenet, zoo::DEFAULT_SEED).unwrap();
    let mut pruning = Pruning::new(&seeded, 0.5).unwrap();
    let sizes: Vec<(String, usize)> = pruning
        .layers
        .iter()
        .map(|l| (l.blocks.name.clone(), l.blocks.blocks.len()))
        .collect();
    assert_eq!(sizes, [("conv1".into(), 1600), ("conv2".into(), 900)]);
    // one-shot to the full ratio, by magnitude
    assert_eq!(pruning.step(&seeded, 1.0), 800 + 450);
    assert_eq!(
        pruning.step(&seeded, 1.0),
        0,
        "a second step at the ratio adds nothing"
    );

    // The compiler pruning the same seeded weights at 0.5 zeroes exactly the trainer's mask.
    let compiled = compile_he_structure(
        &seeded,
        &compiler_pruning(0.5),
        PRUNE_SLOTS,
        &ReportOptions::default(),
    )
    .unwrap();
    let reference = convs(&compiled.reference);
    assert_eq!(reference.len(), 2);
    for (layer, conv) in pruning.layers.iter().zip(&reference) {
        assert_eq!(layer.blocks.name, conv.name);
        let zeros: Vec<bool> = conv.weight.iter().map(|&w| w != 0.0).collect();
        assert_eq!(
            layer.weight_mask(),
            zeros,
            "{}: the trainer's mask differs from the compiler's pruning",
            conv.name
        );
    }
    let reports: Vec<(usize, usize)> = compiled
        .pruning
        .iter()
        .map(|(_, r)| (r.blocks, r.pruned.len()))
        .collect();
    assert_eq!(reports, [(1600, 800), (900, 450)]);
    assert_eq!(target_count(0.5, 900), 450);

    // The masked network: the compiler prunes exactly the mask, whatever ratio it is asked.
    let mut masked = seeded.clone();
    pruning.apply(&mut masked);
    for c in convs(&masked) {
        let mask = c.weight_mask.as_ref().expect("apply sets the mask");
        for (w, keep) in c.weight.iter().zip(mask) {
            if !keep {
                // apply() leaves the values; zero them as training does
                assert!(*w != 0.0);
            }
        }
    }
    masked.visit_layers_mut(|_, layer| {
        if let Layer::Conv2d(c) = layer {
            let mask = c.weight_mask.clone().unwrap();
            for (w, keep) in c.weight.iter_mut().zip(mask) {
                if !keep {
                    *w = 0.0;
                }
            }
        }
    });
    for ratio in [0.0, 0.9] {
        let again = compile_he_structure(
            &masked,
            &compiler_pruning(ratio),
            PRUNE_SLOTS,
            &ReportOptions::default(),
        )
        .unwrap();
        let reports: Vec<usize> = again.pruning.iter().map(|(_, r)| r.pruned.len()).collect();
        assert_eq!(
            reports,
            [800, 450],
            "ratio {ratio} re-pruned the masked network"
        );
    }
    // Its counts are those of the compiler's own 0.5 pruning, below the unpruned network's.
    let masked_counts = conv_counts(&masked, &prune_strategy());
    assert_eq!(masked_counts, conv_counts(&seeded, &compiler_pruning(0.5)));
    let dense_counts = conv_counts(&seeded, &prune_strategy());
    // conv2: a block is a (tap, channel offset) diagonal, so PMults fall (484 -> 339 here);
    // its 67 rotations stay, every baby and giant step still being used by a kept block
    assert!(masked_counts[1].pmults < dense_counts[1].pmults);
    assert!(masked_counts[1].rotations <= dense_counts[1].rotations);
}

/// A safetensors file of `tensors` (`name`, dtype, shape, little-endian bytes).
fn write_safetensors(path: &Path, tensors: &[(String, &str, Vec<usize>, Vec<u8>)]) {
    let mut header = String::from("{");
    let mut offset = 0;
    for (i, (name, dtype, shape, bytes)) in tensors.iter().enumerate() {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        header.push_str(&format!(
            "{}\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{offset},{}]}}",
            if i > 0 { "," } else { "" },
            dims.join(","),
            offset + bytes.len()
        ));
        offset += bytes.len();
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    for (_, _, _, bytes) in tensors {
        out.extend(bytes);
    }
    std::fs::write(path, out).unwrap();
}

/// LeNet's tensors (`f32`) plus `extra`.
fn lenet_with(path: &Path, extra: Vec<(String, &str, Vec<usize>, Vec<u8>)>) {
    let seeded = zoo::seeded(ZooModel::Lenet, 3).unwrap();
    let mut tensors: Vec<(String, &str, Vec<usize>, Vec<u8>)> = seeded
        .parameters()
        .into_iter()
        .map(|p| {
            let bytes = p
                .values
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect();
            (p.name, "F32", p.shape, bytes)
        })
        .collect();
    tensors.extend(extra);
    write_safetensors(path, &tensors);
}

fn f32_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(f32::to_le_bytes).collect()
}

#[test]
fn masks_round_trip_and_bad_masks_name_the_file_and_tensor() {
    let dir = temp_dir("masks");
    // A mask in f32 and one in u8: loaded, the masked weights zeroed; saved and reloaded bit
    // for bit.
    let good = dir.join("good.safetensors");
    let conv1_mask: Vec<f32> = (0..64 * 25).map(|i| (i % 3 != 0) as u8 as f32).collect();
    let conv2_mask: Vec<u8> = (0..32 * 16 * 25).map(|i| (i % 2) as u8).collect();
    lenet_with(
        &good,
        vec![
            (
                "conv1.weight_mask".into(),
                "F32",
                vec![64, 1, 5, 5],
                f32_bytes(conv1_mask.iter().copied()),
            ),
            (
                "conv2.weight_mask".into(),
                "U8",
                vec![32, 16, 5, 5],
                conv2_mask.clone(),
            ),
        ],
    );
    let mut net = zoo::architecture(ZooModel::Lenet).unwrap();
    load_safetensors(&mut net, &good).unwrap();
    let c = convs(&net);
    let want1: Vec<bool> = conv1_mask.iter().map(|&m| m == 1.0).collect();
    let want2: Vec<bool> = conv2_mask.iter().map(|&m| m == 1).collect();
    assert_eq!(c[0].weight_mask.as_ref(), Some(&want1));
    assert_eq!(c[1].weight_mask.as_ref(), Some(&want2));
    for conv in &c {
        let mask = conv.weight_mask.as_ref().unwrap();
        for (w, keep) in conv.weight.iter().zip(mask) {
            assert_eq!(*w == 0.0, !keep, "{}", conv.name);
        }
    }
    let resaved = dir.join("resaved.safetensors");
    save_safetensors(&net, &resaved, WeightDtype::F32).unwrap();
    let mut again = zoo::architecture(ZooModel::Lenet).unwrap();
    load_safetensors(&mut again, &resaved).unwrap();
    assert!(bit_identical(&net, &again));
    // A file without masks clears them.
    let plain = dir.join("plain.safetensors");
    lenet_with(&plain, Vec::new());
    load_safetensors(&mut again, &plain).unwrap();
    assert!(convs(&again).iter().all(|c| c.weight_mask.is_none()));

    let file_of = |name: &str| dir.join(format!("{name}.safetensors"));
    let fails = |name: &str| -> WeightsError {
        let mut n = zoo::architecture(ZooModel::Lenet).unwrap();
        let before = n.clone();
        let err = load_safetensors(&mut n, &file_of(name)).unwrap_err();
        assert_eq!(n, before, "{name}: a failed load changed the network");
        let text = err.to_string();
        assert!(text.contains(&format!("{name}.safetensors")), "{text}");
        err
    };
    // Wrong shape (a mask of another network's conv2).
    lenet_with(
        &file_of("shape"),
        vec![(
            "conv2.weight_mask".into(),
            "F32",
            vec![32, 64, 5, 5],
            f32_bytes(vec![1.0; 32 * 64 * 25]),
        )],
    );
    match fails("shape") {
        WeightsError::Shape {
            name,
            expected,
            got,
            ..
        } => {
            assert_eq!(name, "conv2.weight_mask");
            assert_eq!((expected, got), (vec![32, 16, 5, 5], vec![32, 64, 5, 5]));
        }
        other => panic!("expected a shape error, got {other}"),
    }
    // Not 0 or 1.
    let mut values = vec![1.0f32; 64 * 25];
    values[7] = 0.5;
    lenet_with(
        &file_of("value"),
        vec![(
            "conv1.weight_mask".into(),
            "F32",
            vec![64, 1, 5, 5],
            f32_bytes(values),
        )],
    );
    match fails("value") {
        WeightsError::MaskValue {
            name, index, value, ..
        } => assert_eq!((name.as_str(), index, value), ("conv1.weight_mask", 7, 0.5)),
        other => panic!("expected a mask value error, got {other}"),
    }
    // A mask for a layer LeNet does not have, or for a fully connected layer.
    for (tensor, shape) in [("conv3.weight_mask", 4usize), ("fc1.weight_mask", 32 * 32)] {
        lenet_with(
            &file_of("unexpected"),
            vec![(
                tensor.into(),
                "F32",
                vec![shape],
                f32_bytes(vec![1.0; shape]),
            )],
        );
        match fails("unexpected") {
            WeightsError::Unexpected { names, .. } => assert_eq!(names, [tensor]),
            other => panic!("expected unexpected tensors, got {other}"),
        }
    }
    // An integer type other than U8.
    lenet_with(
        &file_of("dtype"),
        vec![(
            "conv1.weight_mask".into(),
            "I32",
            vec![64, 1, 5, 5],
            vec![0u8; 64 * 25 * 4],
        )],
    );
    assert!(matches!(fails("dtype"), WeightsError::Dtype { .. }));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_resumed_mask_the_ratio_cannot_hold_is_refused() {
    let mut net = zoo::seeded(ZooModel::Lenet, 5).unwrap();
    let mut heavy = Pruning::new(&net, 0.75).unwrap();
    heavy.step(&net, 1.0);
    heavy.apply(&mut net);
    match Pruning::new(&net, 0.5) {
        Err(TrainError::Config {
            field, expected, ..
        }) => {
            assert_eq!(field, "prune");
            assert!(expected.contains("1200 of 1600 blocks"), "{expected}");
        }
        other => panic!("expected a prune error, got {other:?}"),
    }
    // the same or a higher ratio resumes from it
    let resumed = Pruning::new(&net, 0.9).unwrap();
    let counts: Vec<usize> = resumed.layers.iter().map(|l| l.pruned_count()).collect();
    assert_eq!(counts, [1200, 675]);
    // a mask that is not a union of blocks
    net.visit_layers_mut(|_, layer| {
        if let Layer::Conv2d(c) = layer {
            if c.name == "conv2" {
                let mut mask = vec![true; c.weight.len()];
                mask[0] = false;
                c.weight_mask = Some(mask);
            }
        }
    });
    match Pruning::new(&net, 0.9) {
        Err(TrainError::Mask { tensor, .. }) => assert_eq!(tensor, "conv2.weight_mask"),
        other => panic!("expected a mask error, got {other:?}"),
    }
    for bad in [1.0, -0.1, f64::NAN] {
        assert!(matches!(
            Pruning::new(&net, bad),
            Err(TrainError::Config { field: "prune", .. })
        ));
    }
}

#[test]
fn pruned_training_holds_the_mask_at_zero_and_compiles_cheaper() {
    let Some(data) = common::mnist_10k() else {
        return;
    };
    let dir = temp_dir("train");
    let req = Request {
        model: "lenet".into(),
        strategy: StrategyChoice::Spencnn,
        prune: 0.5,
        data,
        train_images: 512,
        test_images: 500,
        config: TrainConfig {
            epochs: 1,
            batch_size: 32,
            seed: 7,
            progress: false,
            ..TrainConfig::default()
        },
        resume: None,
        out: dir.join("lenet-p50.safetensors"),
        checkpoint: Some(dir.join("lenet-p50.checkpoint.safetensors")),
    };
    let outcome = run(&req).unwrap();
    // floor(0.5 x blocks) of each convolution's compiler blocks
    let pruned: Vec<(String, usize, usize)> = outcome
        .report
        .pruning
        .iter()
        .map(|p| (p.name.clone(), p.blocks, p.pruned))
        .collect();
    assert_eq!(
        pruned,
        [("conv1".into(), 1600, 800), ("conv2".into(), 900, 450)]
    );
    let losses = &outcome.report.batch_losses;
    assert!(
        losses[12..].iter().sum::<f32>() < 0.9 * losses[..4].iter().sum::<f32>(),
        "{losses:?}"
    );
    assert!(outcome.report.test_accuracy > 0.2, "{:?}", outcome.report);
    // Every pruned weight is exactly +0 (held there through AdamW, not zeroed on export) and
    // every kept one is not.
    for (c, report) in convs(&outcome.network).iter().zip(&outcome.report.pruning) {
        let mask = c
            .weight_mask
            .as_ref()
            .expect("pruned convolutions carry their mask");
        let zeros = mask.iter().filter(|k| !**k).count();
        assert_eq!(zeros, report.pruned_weights, "{}", c.name);
        assert_eq!(report.weights, c.weight.len());
        if c.name == "conv1" {
            assert_eq!(zeros, 800, "conv1's blocks are single weights");
        }
        for (i, (w, keep)) in c.weight.iter().zip(mask).enumerate() {
            if *keep {
                assert!(*w != 0.0, "{} weight {i} kept but 0", c.name);
            } else {
                assert_eq!(w.to_bits(), 0f64.to_bits(), "{} weight {i} = {w}", c.name);
            }
        }
    }
    // The file carries the masks and reloads bit for bit.
    assert!(outcome.reloaded_bit_exact);
    let mut reloaded = architecture(ZooModel::Lenet, StrategyChoice::Spencnn).unwrap();
    load_safetensors(&mut reloaded, &req.out).unwrap();
    assert!(bit_identical(&outcome.network, &reloaded));
    // The compiler prunes exactly the mask: fewer PMults (and no more rotations) in conv2 than the
    // unpruned trained network (its mask removed, pruned weights back to nonzero), and the
    // same blocks as the compiler's own magnitude pruning at 0.5 of the masked weights.
    let masked = conv_counts(&reloaded, &prune_strategy());
    let mut unpruned = reloaded.clone();
    unpruned.visit_layers_mut(|_, layer| {
        if let Layer::Conv2d(c) = layer {
            c.weight_mask = None;
            for w in c.weight.iter_mut().filter(|w| **w == 0.0) {
                *w = 1e-3;
            }
        }
    });
    let dense = conv_counts(&unpruned, &prune_strategy());
    assert!(masked[1].pmults < dense[1].pmults, "{masked:?} {dense:?}");
    assert!(
        masked[1].rotations <= dense[1].rotations,
        "{masked:?} {dense:?}"
    );
    assert!(masked[0].pmults <= dense[0].pmults);
    let compiled = compile_he_structure(
        &reloaded,
        &compiler_pruning(0.5),
        PRUNE_SLOTS,
        &ReportOptions::default(),
    )
    .unwrap();
    let reports: Vec<usize> = compiled
        .pruning
        .iter()
        .map(|(_, r)| r.pruned.len())
        .collect();
    assert_eq!(reports, [800, 450]);
    let _ = std::fs::remove_dir_all(&dir);
}
