//! Floor: plaintext exact-ReLU accuracy reproduces an independent forward pass of the same
//! checkpoint on the same images.
//!
//! The oracle here shares no code with `heaccel_host::nn` or `heaccel_host::data`: it reads the
//! akamaster safetensors file with the `safetensors` crate, decodes the CIFAR-10 JPEGs with the
//! `image` crate, normalizes by hand, and runs PyTorch's `resnet.py` in `f64` by direct loops
//! (3x3 convolution with padding 1, batch norm in eval mode from the running statistics with
//! eps 1e-5, not folded, ReLU, option-A shortcut, global average pooling, linear), walking the
//! blocks from the tensor names. Its logits must match both heaccel paths: the `f32`
//! [`FastNetwork`] on [`Dataset::input`] (what `heaccel accuracy` runs) and the `f64` reference
//! [`infer`], within 1e-4 with the same argmax. Negative controls (a one-sided shortcut padding,
//! the wrong shortcut sampling phase) must miss by more than 1e-2, so the comparison can fail.
//!
//! The tests skip with a notice when `../shared/data` or a checkpoint is absent.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use heaccel_host::data::{Dataset, LoadOptions, Normalization};
use heaccel_host::nn::fast::{ExactActivations, FastNetwork};
use heaccel_host::nn::weights::load_safetensors;
use heaccel_host::nn::{infer, CifarResNet, FeatureMap, Shape};

/// The floor's tolerance on every logit.
const TOLERANCE: f64 = 1e-4;
/// [`infer`] against the oracle on the identical `f64` input (summation order only).
const SAME_INPUT_TOLERANCE: f64 = 1e-9;
/// A broken oracle must miss the reference by more than this.
const BROKEN: f64 = 1e-2;
/// CIFAR-10 classes in label order (sorted folder names).
const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

// ---------------------------------------------------------------------------------------------
// The independent oracle.
// ---------------------------------------------------------------------------------------------

/// One tensor of the checkpoint, widened to `f64`.
struct Tensor {
    shape: Vec<usize>,
    data: Vec<f64>,
}

/// Every tensor of a safetensors file by name (`*.num_batches_tracked` dropped).
struct Checkpoint {
    tensors: BTreeMap<String, Tensor>,
}

impl Checkpoint {
    fn read(path: &Path) -> Checkpoint {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = safetensors::SafeTensors::deserialize(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut tensors = BTreeMap::new();
        for (name, view) in file.tensors() {
            if name.ends_with(".num_batches_tracked") {
                continue;
            }
            let raw = view.data();
            let data: Vec<f64> = match view.dtype() {
                safetensors::Dtype::F32 => raw
                    .chunks_exact(4)
                    .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                    .collect(),
                safetensors::Dtype::F64 => raw
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .collect(),
                other => panic!("{name}: unexpected dtype {other:?}"),
            };
            assert_eq!(data.len(), view.shape().iter().product::<usize>(), "{name}");
            let shape = view.shape().to_vec();
            tensors.insert(name, Tensor { shape, data });
        }
        Checkpoint { tensors }
    }

    fn get(&self, name: &str) -> &Tensor {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("tensor {name} is missing"))
    }

    /// Blocks per stage, from the names `layerS.B.conv1.weight` (the same count in all three).
    fn blocks_per_stage(&self) -> usize {
        let count = |stage: usize| {
            (0..)
                .take_while(|b| {
                    self.tensors
                        .contains_key(&format!("layer{stage}.{b}.conv1.weight"))
                })
                .count()
        };
        let n = count(1);
        assert!(n > 0, "no layer1 blocks");
        assert_eq!(count(2), n, "layer2 block count");
        assert_eq!(count(3), n, "layer3 block count");
        assert!(
            !self.tensors.keys().any(|k| k.starts_with("layer4")),
            "a fourth stage"
        );
        n
    }

    /// Asserts the file holds exactly the tensors the oracle reads, nothing else.
    fn assert_names_complete(&self) {
        let n = self.blocks_per_stage();
        let bn = |prefix: &str| {
            ["weight", "bias", "running_mean", "running_var"].map(|p| format!("{prefix}.{p}"))
        };
        let mut expected = vec!["conv1.weight".to_string()];
        expected.extend(bn("bn1"));
        for stage in 1..=3 {
            for block in 0..n {
                let p = format!("layer{stage}.{block}");
                expected.push(format!("{p}.conv1.weight"));
                expected.extend(bn(&format!("{p}.bn1")));
                expected.push(format!("{p}.conv2.weight"));
                expected.extend(bn(&format!("{p}.bn2")));
            }
        }
        expected.extend(["linear.weight".to_string(), "linear.bias".to_string()]);
        expected.sort();
        let names: Vec<String> = self.tensors.keys().cloned().collect();
        assert_eq!(names, expected, "the checkpoint's tensor names");
    }
}

/// Deliberate mistakes for the negative controls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Faults {
    /// Put all `planes / 2` zero channels of the option-A shortcut after the input's.
    one_sided_padding: bool,
    /// Sample the stride-2 shortcut at `x[:, :, 1::2, 1::2]` instead of `::2`.
    odd_sampling: bool,
}

/// A `C x H x W` map, row-major.
#[derive(Clone)]
struct Map {
    c: usize,
    h: usize,
    w: usize,
    v: Vec<f64>,
}

impl Map {
    fn at(&self, c: usize, y: usize, x: usize) -> f64 {
        self.v[(c * self.h + y) * self.w + x]
    }
}

/// `nn.Conv2d(in, out, 3, stride, padding=1, bias=False)`: every output is a plain sum over
/// (input channel, ky, kx) of weight times input, out-of-range taps skipped.
fn conv3x3(x: &Map, weight: &Tensor, stride: usize) -> Map {
    let [out_c, in_c, kh, kw] = weight.shape[..] else {
        panic!("conv weight shape {:?}", weight.shape)
    };
    assert_eq!((in_c, kh, kw), (x.c, 3, 3), "conv weight shape");
    let oh = (x.h + 2 - 3) / stride + 1;
    let ow = (x.w + 2 - 3) / stride + 1;
    let mut v = Vec::with_capacity(out_c * oh * ow);
    for o in 0..out_c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = 0.0f64;
                for c in 0..in_c {
                    for ky in 0..3 {
                        let iy = (oy * stride + ky) as isize - 1;
                        if iy < 0 || iy >= x.h as isize {
                            continue;
                        }
                        for kx in 0..3 {
                            let ix = (ox * stride + kx) as isize - 1;
                            if ix < 0 || ix >= x.w as isize {
                                continue;
                            }
                            let wgt = weight.data[((o * in_c + c) * 3 + ky) * 3 + kx];
                            acc += wgt * x.at(c, iy as usize, ix as usize);
                        }
                    }
                }
                v.push(acc);
            }
        }
    }
    Map {
        c: out_c,
        h: oh,
        w: ow,
        v,
    }
}

/// `nn.BatchNorm2d` in eval mode: `(x - running_mean) / sqrt(running_var + 1e-5) * weight +
/// bias`, per channel, as written (not folded into a scale and shift).
fn batch_norm(mut x: Map, ck: &Checkpoint, prefix: &str) -> Map {
    let part = |p: &str| {
        let t = ck.get(&format!("{prefix}.{p}"));
        assert_eq!(t.shape, [x.c], "{prefix}.{p} shape");
        &t.data
    };
    let (mean, var, gamma, beta) = (
        part("running_mean"),
        part("running_var"),
        part("weight"),
        part("bias"),
    );
    let plane = x.h * x.w;
    for (i, v) in x.v.iter_mut().enumerate() {
        let c = i / plane;
        *v = (*v - mean[c]) / (var[c] + 1e-5).sqrt() * gamma[c] + beta[c];
    }
    x
}

fn relu(mut x: Map) -> Map {
    for v in &mut x.v {
        *v = v.max(0.0);
    }
    x
}

/// akamaster's `LambdaLayer(lambda x: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4,
/// planes // 4)))`.
fn option_a_shortcut(x: &Map, planes: usize, faults: Faults) -> Map {
    let phase = usize::from(faults.odd_sampling);
    let (h, w) = ((x.h - phase).div_ceil(2), (x.w - phase).div_ceil(2));
    let before = if faults.one_sided_padding {
        0
    } else {
        planes / 4
    };
    assert_eq!(x.c + 2 * (planes / 4), planes, "option-A channel count");
    let mut out = Map {
        c: planes,
        h,
        w,
        v: vec![0.0; planes * h * w],
    };
    for c in 0..x.c {
        for y in 0..h {
            for xx in 0..w {
                out.v[((before + c) * h + y) * w + xx] = x.at(c, 2 * y + phase, 2 * xx + phase);
            }
        }
    }
    out
}

/// PyTorch `resnet.py`'s `ResNet.forward` on one normalized CHW image.
fn oracle_logits(ck: &Checkpoint, image: &[f64], faults: Faults) -> Vec<f64> {
    let n = ck.blocks_per_stage();
    let mut x = Map {
        c: 3,
        h: 32,
        w: 32,
        v: image.to_vec(),
    };
    assert_eq!(x.v.len(), 3 * 32 * 32);
    x = relu(batch_norm(
        conv3x3(&x, ck.get("conv1.weight"), 1),
        ck,
        "bn1",
    ));
    for stage in 1..=3 {
        for block in 0..n {
            let p = format!("layer{stage}.{block}");
            let stride = if stage > 1 && block == 0 { 2 } else { 1 };
            let w1 = ck.get(&format!("{p}.conv1.weight"));
            let planes = w1.shape[0];
            let mut out = conv3x3(&x, w1, stride);
            out = relu(batch_norm(out, ck, &format!("{p}.bn1")));
            out = conv3x3(&out, ck.get(&format!("{p}.conv2.weight")), 1);
            out = batch_norm(out, ck, &format!("{p}.bn2"));
            let shortcut = if stride != 1 || x.c != planes {
                option_a_shortcut(&x, planes, faults)
            } else {
                x
            };
            assert_eq!((out.c, out.h, out.w), (shortcut.c, shortcut.h, shortcut.w));
            for (o, s) in out.v.iter_mut().zip(&shortcut.v) {
                *o += s;
            }
            x = relu(out);
        }
    }
    // F.avg_pool2d(out, out.size()[3]) then view(N, -1): one mean per channel.
    assert_eq!((x.c, x.h, x.w), (64, 8, 8));
    let plane = x.h * x.w;
    let pooled: Vec<f64> =
        x.v.chunks_exact(plane)
            .map(|ch| ch.iter().sum::<f64>() / plane as f64)
            .collect();
    let weight = ck.get("linear.weight");
    let bias = ck.get("linear.bias");
    let [classes, features] = weight.shape[..] else {
        panic!("linear weight shape {:?}", weight.shape)
    };
    assert_eq!(features, pooled.len());
    (0..classes)
        .map(|k| {
            bias.data[k]
                + (0..features)
                    .map(|f| weight.data[k * features + f] * pooled[f])
                    .sum::<f64>()
        })
        .collect()
}

/// `transforms.ToTensor()` then `Normalize(mean, std)`, in `f64`, from the JPEG decoded by the
/// `image` crate: CHW, `(p / 255 - mean[c]) / std[c]`. Also returns the CHW bytes.
fn oracle_image(file: &Path) -> (Vec<u8>, Vec<f64>) {
    const MEAN: [f64; 3] = [0.485, 0.456, 0.406];
    const STD: [f64; 3] = [0.229, 0.224, 0.225];
    let rgb = image::open(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .to_rgb8();
    assert_eq!(rgb.dimensions(), (32, 32), "{}", file.display());
    let mut bytes = vec![0u8; 3 * 32 * 32];
    for (x, y, pixel) in rgb.enumerate_pixels() {
        for c in 0..3 {
            bytes[(c * 32 + y as usize) * 32 + x as usize] = pixel[c];
        }
    }
    let normalized = bytes
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let c = i / (32 * 32);
            (f64::from(p) / 255.0 - MEAN[c]) / STD[c]
        })
        .collect();
    (bytes, normalized)
}

fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        assert!(v.is_finite(), "non-finite logit {v}");
        if *v > values[best] {
            best = i;
        }
    }
    best
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

// ---------------------------------------------------------------------------------------------
// The comparison.
// ---------------------------------------------------------------------------------------------

/// The first test image (by file name) of each of `classes`.
fn test_images(root: &Path, classes: &[usize]) -> Vec<(usize, PathBuf)> {
    classes
        .iter()
        .map(|&label| {
            let folder = root.join("test").join(CLASSES[label]);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
                .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
                .map(|e| e.expect("directory entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
                .collect();
            files.sort();
            (label, files.swap_remove(0))
        })
        .collect()
}

/// Compares the oracle with heaccel's `f32` and `f64` paths for the ResNet of `depth` on the
/// first test image of each of `classes`; returns the largest differences (f32, f64).
fn compare(depth: usize, classes: &[usize]) -> Option<(f64, f64)> {
    let weights = common::resnet_weights(depth)?;
    let root = common::cifar10_jpeg()?;
    let start = Instant::now();

    let ck = Checkpoint::read(&weights);
    let n = ck.blocks_per_stage();
    assert_eq!(
        6 * n + 2,
        depth,
        "blocks per stage in {}",
        weights.display()
    );
    ck.assert_names_complete();

    let kind: CifarResNet = format!("resnet{depth}").parse().expect("a CIFAR ResNet");
    let mut network = kind.architecture();
    load_safetensors(&mut network, &weights).expect("heaccel loads the checkpoint");
    let fast = FastNetwork::new(&network).expect("FastNetwork");
    let shape = Shape::new(3, 32, 32);
    let dataset = Dataset::open(
        &root.join("test"),
        LoadOptions {
            shape,
            per_class: Some(1),
        },
    )
    .expect("heaccel reads the test set");
    assert_eq!(dataset.classes, CLASSES);
    let norm = Normalization::imagenet();

    let (mut worst_f32, mut worst_f64) = (0.0f64, 0.0f64);
    for (label, file) in test_images(&root, classes) {
        let (bytes, image) = oracle_image(&file);
        // per_class = 1: sample `label` is that class's first file.
        let sample = &dataset.samples[label];
        assert_eq!(sample.label, label);
        assert!(
            file.ends_with(&sample.origin),
            "{} vs {}",
            file.display(),
            sample.origin
        );
        assert_eq!(sample.pixels, bytes, "decoded pixels of {}", sample.origin);

        let input = dataset.input(label, &norm);
        let input_diff = max_abs_diff(
            &input.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
            &image,
        );
        assert!(
            input_diff < 1e-6,
            "normalized input differs by {input_diff}"
        );

        let expected = oracle_logits(&ck, &image, Faults::default());
        let got_f32: Vec<f64> = fast
            .run(&input, &mut ExactActivations)
            .expect("FastNetwork runs")
            .into_iter()
            .map(f64::from)
            .collect();
        let got_f64 = infer(
            &network,
            &FeatureMap::new(shape, input.iter().map(|&v| f64::from(v)).collect())
                .expect("input map"),
        )
        .expect("infer runs")
        .data()
        .to_vec();
        // The same f64 network on the oracle's own f64 input: only summation order differs.
        let same_input = infer(
            &network,
            &FeatureMap::new(shape, image.clone()).expect("input map"),
        )
        .expect("infer runs");
        let d64_same_input = max_abs_diff(same_input.data(), &expected);
        assert!(
            d64_same_input <= SAME_INPUT_TOLERANCE,
            "resnet{depth} {}: infer on the oracle's input differs by {d64_same_input:e}",
            sample.origin
        );
        let (d32, d64) = (
            max_abs_diff(&got_f32, &expected),
            max_abs_diff(&got_f64, &expected),
        );
        let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        println!(
            "resnet{depth} {}: class {} oracle argmax {} max|logit| {scale:.3}; \
             max|diff| FastNetwork f32 {d32:.3e}, infer f64 {d64:.3e} \
             (on the oracle's f64 input {d64_same_input:.1e}; f32 input rounding {input_diff:.1e})",
            sample.origin,
            CLASSES[label],
            CLASSES[argmax(&expected)],
        );
        assert!(
            d32 <= TOLERANCE,
            "resnet{depth} {}: FastNetwork differs from the oracle by {d32:e}\n  oracle {expected:?}\n  fast   {got_f32:?}",
            sample.origin
        );
        assert!(
            d64 <= TOLERANCE,
            "resnet{depth} {}: infer differs from the oracle by {d64:e}\n  oracle {expected:?}\n  infer  {got_f64:?}",
            sample.origin
        );
        assert_eq!(argmax(&got_f32), argmax(&expected), "{}", sample.origin);
        assert_eq!(argmax(&got_f64), argmax(&expected), "{}", sample.origin);
        worst_f32 = worst_f32.max(d32);
        worst_f64 = worst_f64.max(d64);
    }
    println!(
        "resnet{depth}: {} images, worst max|diff| f32 {worst_f32:.3e}, f64 {worst_f64:.3e}, {:.2?}",
        classes.len(),
        start.elapsed()
    );
    Some((worst_f32, worst_f64))
}

/// Four different classes (their first test image each): airplane, cat, frog, ship.
const FOUR_CLASSES: [usize; 4] = [0, 3, 6, 8];

#[test]
fn resnet20_matches_an_independent_f64_oracle() {
    compare(20, &FOUR_CLASSES);
}

#[test]
fn resnet32_matches_an_independent_f64_oracle() {
    compare(32, &FOUR_CLASSES);
}

#[test]
fn resnet44_matches_an_independent_f64_oracle() {
    compare(44, &FOUR_CLASSES);
}

#[test]
fn resnet56_matches_an_independent_f64_oracle() {
    compare(56, &FOUR_CLASSES);
}

/// The comparison can fail: an oracle with a one-sided shortcut padding or the wrong shortcut
/// sampling phase misses heaccel's `f64` logits by more than 1e-2 on a real image.
#[test]
fn broken_oracles_miss_the_reference() {
    let Some(weights) = common::resnet_weights(20) else {
        return;
    };
    let Some(root) = common::cifar10_jpeg() else {
        return;
    };
    let ck = Checkpoint::read(&weights);
    let mut network = CifarResNet::ResNet20.architecture();
    load_safetensors(&mut network, &weights).expect("heaccel loads the checkpoint");
    let (_, file) = test_images(&root, &[3]).swap_remove(0);
    let (_, image) = oracle_image(&file);
    let reference = infer(
        &network,
        &FeatureMap::new(Shape::new(3, 32, 32), image.clone()).expect("input map"),
    )
    .expect("infer runs")
    .data()
    .to_vec();
    let correct = max_abs_diff(&oracle_logits(&ck, &image, Faults::default()), &reference);
    println!("resnet20 {}: correct oracle {correct:.3e}", file.display());
    assert!(
        correct <= TOLERANCE,
        "the correct oracle differs by {correct:e}"
    );
    for faults in [
        Faults {
            one_sided_padding: true,
            ..Faults::default()
        },
        Faults {
            odd_sampling: true,
            ..Faults::default()
        },
    ] {
        let diff = max_abs_diff(&oracle_logits(&ck, &image, faults), &reference);
        println!(
            "resnet20 {}: {faults:?} differs by {diff:.3e}",
            file.display()
        );
        assert!(
            diff > BROKEN,
            "{faults:?}: the broken oracle differs by only {diff:e}: the comparison cannot fail"
        );
    }
}
