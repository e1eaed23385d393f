//! The cleartext slot backend ([`run_cleartext`]): the packing code's properties on plain slot
//! vectors, in milliseconds, and its equivalence with the encrypted path.
//!
//! Fast (cleartext only): random convolutions (dense and SpENCNN, grouped, strided, padded,
//! pruned, gapped and replicated inputs), fully connected layers and repackings compile to
//! programs whose cleartext run equals the plaintext forward pass of the plan's effective layer
//! (up to `f64` summation order, [`EXACT`]), never reads the slots that hold no pixel and
//! writes zeros there; whole compiled networks (polynomial activations, pooling, repacking;
//! minimax ReLU, a residual block and bootstrapping) match the forward pass; the interpreter's
//! own semantics and errors. The encrypted tests of `tests/pack.rs`, `tests/infer.rs` and
//! `tests/infer_bootstrap.rs` stay: they check the same properties through CKKS.
//!
//! Slow (`encrypted_*`): the same programs on the reference evaluator (insecure test
//! parameters, N = 2^12, scale 2^40) decrypt to the cleartext run's slots, every slot, within
//! [`LINEAR_BOUND`] for linear layers, [`RELU_BOUND`] through minimax ReLUs and
//! [`BOOTSTRAP_BOUND`] through bootstrappings.
//!
//! The fast tests alone: `cargo test -p heaccel-host --test cleartext_backend -- --skip encrypted`.

mod common;

use common::nets::{bootstrap_params, relu, residual_net};
use heaccel_host::nn::fast::{ActivationHook, FastNetwork};
use heaccel_host::nn::weights::{init_seeded, seeded_input};
use heaccel_host::nn::{
    forward, zoo, Activation, ActivationLayer, Conv2d, FeatureMap, Layer, Linear, Network, Pool,
    Shape,
};
use heaccel_host::pack::*;
use heaccel_verification::bootstrap::{BootstrapConfig, Bootstrapper};
use heaccel_verification::circuits::MinimaxActivation;
use heaccel_verification::ckks::*;
use heaccel_verification::minimax::CompositeSign;
use proptest::prelude::{
    any, prop_assert, prop_assert_eq, prop_assume, prop_oneof, proptest, Just, ProptestConfig,
    TestCaseError,
};
use proptest::strategy::{Strategy as _, ValueTree};
use proptest::test_runner::TestRunner;
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};

/// Largest difference between the cleartext run and the plaintext forward pass of a linear
/// layer, relative to `max(1, max |output|)`: rounding of sums in another order only.
const EXACT: f64 = 1e-9;

/// Largest slot difference between a decrypted linear layer and its cleartext run at scale
/// 2^40 (as `tests/pack.rs`'s `CONV_TOLERANCE`: measured errors are around 2^-27).
const LINEAR_BOUND: f64 = 1.0 / (1u64 << 22) as f64;

/// Largest slot difference between a decrypted network with minimax ReLUs and its cleartext
/// run, relative to `max(1, max |output|)`, at scale 2^40 (measured: 8e-8 for conv, ReLU, fc).
const RELU_BOUND: f64 = 1e-6;

/// The same through bootstrappings (`tests/infer_bootstrap.rs`'s chain; measured: 1e-8 for
/// its residual network, whose outputs are those of the last linear layer).
const BOOTSTRAP_BOUND: f64 = 1e-6;

// ---------------------------------------------------------------------------------------
// Helpers.

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

fn random_fc(seed: u64, n_in: usize, n_out: usize) -> Linear {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fc = Linear::zeroed("fc", n_in, n_out, true);
    for w in fc
        .weight
        .iter_mut()
        .chain(fc.bias.as_mut().unwrap().iter_mut())
    {
        *w = rng.gen_range(-0.5..0.5);
    }
    fc
}

fn random_map(seed: u64, shape: Shape) -> FeatureMap {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    FeatureMap::new(
        shape,
        (0..shape.len()).map(|_| rng.gen_range(-1.0..1.0)).collect(),
    )
    .unwrap()
}

/// The nn forward pass of one layer: the independent oracle.
fn plain_layer(layer: Layer, input: &FeatureMap) -> FeatureMap {
    let net = Network {
        name: "one".into(),
        input_shape: input.shape(),
        layers: vec![layer],
    };
    forward(&net, input).unwrap().output
}

fn effective(plan: &LayerPlan) -> Layer {
    match &plan.effective {
        EffectiveLayer::Conv2d(c) => Layer::Conv2d(c.clone()),
        EffectiveLayer::Linear(l) => Layer::Linear(l.clone()),
    }
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Which slots of `layout` hold a pixel (every copy of a replicated layout).
fn valid_slots(layout: &Layout) -> Vec<Vec<bool>> {
    let mut valid = vec![vec![false; layout.slots]; layout.ciphertexts];
    let s = layout.shape;
    for c in 0..s.channels {
        for y in 0..s.height {
            for x in 0..s.width {
                let (ct, slot) = layout.slot(c, y, x);
                for k in 0..layout.replicas {
                    valid[ct][slot + k * layout.period()] = true;
                }
            }
        }
    }
    valid
}

/// `slots` with uniform garbage in `[-1, 1)` in every slot that holds no pixel of `layout`.
fn with_garbage(layout: &Layout, mut slots: Vec<Vec<f64>>, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (v, valid) in slots.iter_mut().zip(valid_slots(layout)) {
        for (s, ok) in v.iter_mut().zip(valid) {
            if !ok {
                *s = rng.gen_range(-1.0..1.0);
            }
        }
    }
    slots
}

/// The property of one compiled linear map from `input` to `output` layouts: on `map` (in
/// `input`), the cleartext run decodes to `want` within [`EXACT`]; garbage in the input's
/// empty slots changes no output slot; the output's empty slots are zero.
fn check_linear_map(
    program: &HeProgram,
    input: &Layout,
    output: &Layout,
    map: &FeatureMap,
    want: &FeatureMap,
    seed: u64,
) -> Result<(), TestCaseError> {
    let clean = input.encode(map).unwrap();
    let got = run_cleartext(program, &clean, None).unwrap();
    let decoded = output.decode(&got).unwrap();
    let err = max_diff(decoded.data(), want.data());
    prop_assert!(
        err <= EXACT * want.max_abs().max(1.0),
        "error {err:e} against the forward pass"
    );
    let dirty = run_cleartext(program, &with_garbage(input, clean, seed), None).unwrap();
    for (j, (v, valid)) in dirty.iter().zip(valid_slots(output)).enumerate() {
        for (t, (&x, ok)) in v.iter().zip(valid).enumerate() {
            if ok {
                prop_assert_eq!(x, got[j][t], "garbage reached output {} slot {}", j, t);
            } else {
                prop_assert_eq!(x, 0.0, "output {} slot {} holds no pixel", j, t);
            }
        }
    }
    Ok(())
}

fn spencnn(groups: GroupChoice, prune: Option<PruneConfig>) -> Strategy {
    Strategy::Spencnn(SpencnnConfig { groups, prune })
}

/// A random convolution case (see [`conv_cases`]) compiled, or `None` when its settings do
/// not fit (a layout larger than the slots, a group count the order cannot interleave, ...).
struct ConvCase {
    conv: Conv2d,
    shape: Shape,
    plan: LayerPlan,
}

#[allow(clippy::type_complexity)]
fn build_conv_case(
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
fn conv_cases() -> impl proptest::strategy::Strategy<
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

// ---------------------------------------------------------------------------------------
// Fast: packing properties in cleartext.

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

/// The convolution cases of `tests/pack.rs`'s encrypted test, in cleartext.
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

/// The tiny network of `tests/infer.rs` (grouped convolution, polynomial activation, average
/// pooling repacked, flatten, fully connected).
fn tiny_network() -> Network {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut conv = Conv2d::zeroed("conv", 2, 32, 3, 1, 1, 2, true);
    let mut fc = Linear::zeroed("fc", 32 * 4 * 4, 3, true);
    for w in conv
        .weight
        .iter_mut()
        .chain(conv.bias.as_mut().unwrap())
        .chain(fc.weight.iter_mut())
        .chain(fc.bias.as_mut().unwrap())
    {
        *w = rng.gen_range(-0.6..0.6);
    }
    Network {
        name: "tiny".into(),
        input_shape: Shape::new(2, 8, 8),
        layers: vec![
            Layer::Conv2d(conv),
            Layer::Activation(ActivationLayer {
                name: "act".into(),
                function: Activation::Poly {
                    a: 0.25,
                    b: 0.5,
                    c: 0.1,
                },
            }),
            Layer::Pool(Pool::average(2)),
            Layer::Flatten,
            Layer::Linear(fc),
        ],
    }
}

/// Compiles `net` and checks its cleartext run against the forward pass of the compiled
/// reference network on `inputs` seeded inputs; returns the program's depth.
fn check_compiled_network(
    net: &Network,
    strategy: &Strategy,
    slots: usize,
    options: &ReportOptions,
    inputs: u64,
) -> usize {
    let compiled = compile_he_program(net, strategy, slots, options).unwrap();
    assert_eq!(compiled.program.counts().unwrap(), compiled.report.total);
    let mut depth = 0;
    for seed in 1..=inputs {
        let input = seeded_input(net.input_shape, seed);
        let run = run_cleartext_with(
            &compiled.program,
            &compiled.encode_input(&input).unwrap(),
            CleartextOptions::default(),
        )
        .unwrap();
        let got = compiled.decode_output(&run.outputs).unwrap();
        let want = forward(&compiled.reference, &input).unwrap().output;
        let err = max_diff(got.data(), want.data());
        assert!(
            err <= EXACT * want.max_abs().max(1.0),
            "{} {strategy:?} seed {seed}: error {err:e}",
            net.name
        );
        depth = run.max_depth;
    }
    depth
}

#[test]
fn compiled_networks_compute_the_forward_pass() {
    let tiny = tiny_network();
    for strategy in [Strategy::Dense, spencnn(GroupChoice::Layer, None)] {
        let depth = check_compiled_network(&tiny, &strategy, 512, &ReportOptions::default(), 3);
        assert_eq!(depth, 4, "conv, activation, repack, fc: one level each");
    }
    // LeNet at 8192 slots as `heaccel simulate --model lenet` compiles it, every strategy
    let lenet = zoo::seeded(zoo::ZooModel::Lenet, zoo::DEFAULT_SEED).unwrap();
    let pruned = spencnn(
        GroupChoice::Layer,
        Some(PruneConfig {
            ratio: 0.5,
            taps_per_block: 1,
        }),
    );
    for (strategy, repack) in [
        (Strategy::Dense, Repack::Never),
        (spencnn(GroupChoice::Layer, None), Repack::Always),
        (pruned, Repack::Mask(1)),
    ] {
        let options = ReportOptions {
            repack_pooled: repack,
            ..ReportOptions::default()
        };
        check_compiled_network(&lenet, &strategy, 8192, &options, 2);
    }
}

/// Minimax ReLU precision of the ReLU tests: degree 5, 4 levels with the final product.
const ALPHA: u32 = 4;

fn minimax() -> MinimaxActivation {
    MinimaxActivation::new(CompositeSign::for_alpha(ALPHA, None).unwrap()).unwrap()
}

/// conv, ReLU, flatten, linear: one minimax ReLU, 6 levels.
fn relu_net() -> Network {
    let mut net = Network {
        name: "relu-test".into(),
        input_shape: Shape::new(2, 6, 6),
        layers: vec![
            Layer::Conv2d(Conv2d::zeroed("conv", 2, 4, 3, 1, 1, 1, true)),
            relu("relu"),
            Layer::Flatten,
            Layer::Linear(Linear::zeroed("fc", 4 * 6 * 6, 3, true)),
        ],
    };
    init_seeded(&mut net, 12);
    net
}

/// Largest |x| each activation layer sees (exact ReLU).
struct MaxAbs(Vec<f64>);

impl ActivationHook for MaxAbs {
    fn apply(&mut self, index: usize, _: Activation, values: &mut [f32]) {
        for v in values.iter_mut() {
            self.0[index] = self.0[index].max(f64::from(v.abs()));
            *v = v.max(0.0);
        }
    }
}

/// The minimax ReLU at each layer's bound, per value (what the circuit computes).
struct Minimax<'a> {
    act: &'a MinimaxActivation,
    bounds: &'a [f64],
}

impl ActivationHook for Minimax<'_> {
    fn apply(&mut self, index: usize, _: Activation, values: &mut [f32]) {
        let b = self.bounds[index];
        for v in values.iter_mut() {
            *v = (b * self.act.relu_plain(f64::from(*v) / b)) as f32;
        }
    }
}

/// `net` compiled with minimax ReLUs at 1.5 x the largest |x| each activation sees on
/// `input` (and bootstrapping every `bootstrap_levels`, if set), with the `f32` minimax
/// forward pass of its reference network on `input`.
fn compile_with_relu(
    net: &Network,
    act: &MinimaxActivation,
    input: &FeatureMap,
    slots: usize,
    bootstrap_levels: Option<usize>,
) -> (NetworkProgram, Vec<f64>) {
    let input_f32: Vec<f32> = input.data().iter().map(|&v| v as f32).collect();
    let fast = FastNetwork::new(net).unwrap();
    let mut max_abs = MaxAbs(vec![0.0; fast.activation_names().len()]);
    fast.run(&input_f32, &mut max_abs).unwrap();
    let bounds: Vec<f64> = max_abs.0.iter().map(|m| 1.5 * m).collect();
    let options = ReportOptions {
        relu: Some((ALPHA, act.clone())),
        relu_bounds: bounds.clone(),
        bootstrap_levels,
        ..ReportOptions::default()
    };
    let compiled = compile_he_program(net, &Strategy::Dense, slots, &options).unwrap();
    let reference = FastNetwork::new(&compiled.reference).unwrap();
    let want = reference
        .run(
            &input_f32,
            &mut Minimax {
                act,
                bounds: &bounds,
            },
        )
        .unwrap();
    (compiled, want.iter().map(|&v| f64::from(v)).collect())
}

#[test]
fn networks_with_minimax_relu_and_bootstrapping_match_the_minimax_pass() {
    let act = minimax();
    // conv, ReLU, fc: the levels of one ReLU and two linear layers
    let relu_net_depth = act.relu_depth() as usize + 2;
    for (net, levels) in [(residual_net(), Some(5)), (relu_net(), None)] {
        let input = seeded_input(net.input_shape, 5);
        let (compiled, want) = compile_with_relu(&net, &act, &input, 2048, levels);
        let program = &compiled.program;
        assert!(program.ops.iter().any(|op| matches!(op, HeOp::Relu { .. })));
        assert_eq!(
            compiled.bootstrappings > 0,
            levels.is_some(),
            "{}: bootstrappings",
            net.name
        );
        let options = CleartextOptions {
            relu: Some(&act),
            input_level: Some(levels.unwrap_or(relu_net_depth)),
        };
        let run =
            run_cleartext_with(program, &compiled.encode_input(&input).unwrap(), options).unwrap();
        assert_eq!(
            run.relu_outside, 0,
            "{}: bounds hold every ReLU input",
            net.name
        );
        assert!(run.max_depth <= levels.unwrap_or(relu_net_depth));
        let got = compiled.decode_output(&run.outputs).unwrap();
        // the reference pass runs in f32
        let range = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = max_diff(got.data(), &want);
        assert!(err < 1e-5 * range.max(1.0), "{}: error {err:e}", net.name);
        // one level fewer than the program needs is refused, naming the op
        let short = CleartextOptions {
            input_level: Some(run.max_depth - 1),
            ..options
        };
        let e = run_cleartext_with(program, &compiled.encode_input(&input).unwrap(), short)
            .unwrap_err()
            .to_string();
        assert!(e.contains("the inputs have"), "{e}");
    }
}

// ---------------------------------------------------------------------------------------
// The interpreter itself.

#[test]
fn each_operation_on_slot_vectors() {
    let slots = 8;
    let mut prog = HeProgram::new(slots, 2);
    let w: Vec<f64> = (0..slots).map(|t| t as f64 - 2.5).collect();
    let p = prog.add_plaintext("w".into(), w.clone());
    let r = prog.push(HeOp::Rotate {
        src: 0,
        step: 3,
        hoisted: true,
    });
    let rn = prog.push(HeOp::Rotate {
        src: 0,
        step: -1,
        hoisted: false,
    });
    let m = prog.push(HeOp::PMult { src: r, plain: p });
    let m = prog.push(HeOp::Rescale { src: m });
    let a = prog.push(HeOp::AddPlain { src: 1, plain: p });
    let a = prog.push(HeOp::DropLevel { src: a, levels: 1 });
    let s = prog.push(HeOp::Add { a: m, b: a });
    let q = prog.push(HeOp::MulRelin { a: s, b: s });
    let q = prog.push(HeOp::Rescale { src: q });
    let c = prog.push(HeOp::MulConst {
        src: q,
        value: -0.5,
    });
    let c = prog.push(HeOp::Rescale { src: c });
    let c = prog.push(HeOp::AddConst { src: c, value: 2.0 });
    let b = prog.push(HeOp::Bootstrap { src: c });
    prog.outputs = vec![b, rn, 1];
    let x: Vec<f64> = (0..slots).map(|t| 10.0 * t as f64).collect();
    let y: Vec<f64> = (0..slots).map(|t| 1.0 / (t as f64 + 1.0)).collect();
    let run = run_cleartext_with(
        &prog,
        &[x.clone(), y.clone()],
        CleartextOptions {
            relu: None,
            input_level: Some(3),
        },
    )
    .unwrap();
    let want: Vec<f64> = (0..slots)
        .map(|t| {
            let s = x[(t + 3) % slots] * w[t] + (y[t] + w[t]);
            -0.5 * (s * s) + 2.0
        })
        .collect();
    assert_eq!(run.outputs[0], want);
    // left rotation: new slot t = old slot t + step
    let want_rn: Vec<f64> = (0..slots).map(|t| x[(t + slots - 1) % slots]).collect();
    assert_eq!(run.outputs[1], want_rn);
    assert_eq!(run.outputs[2], y, "an input as an output");
    assert_eq!(run.output_depths, vec![0, 0, 0]);
    assert_eq!(run.max_depth, 3);
    assert_eq!(run.relu_outside, 0);
    // three levels are consumed before the bootstrapping: two are not enough
    let e = run_cleartext_with(
        &prog,
        &[x.clone(), y.clone()],
        CleartextOptions {
            relu: None,
            input_level: Some(2),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("op 10: rescale reaches depth 3"), "{e}");
}

#[test]
fn relu_is_the_minimax_polynomial_and_out_of_range_inputs_are_counted() {
    let act = minimax();
    let slots = 4;
    let mut prog = HeProgram::new(slots, 1);
    prog.relu = Some(ReluSpec {
        alpha: ALPHA,
        eps: act.composite().eps(),
        depth: act.relu_depth() as usize,
    });
    let r = prog.push(HeOp::Relu {
        src: 0,
        multiplier: 3.0,
    });
    prog.outputs = vec![r];
    let x = vec![-0.9, -0.1, 0.4, 1.5];
    let run = run_cleartext_with(
        &prog,
        std::slice::from_ref(&x),
        CleartextOptions {
            relu: Some(&act),
            input_level: None,
        },
    )
    .unwrap();
    let want: Vec<f64> = x.iter().map(|&t| 3.0 * act.relu_plain(t)).collect();
    assert_eq!(run.outputs[0], want);
    assert_eq!(run.relu_outside, 1, "1.5 is outside [-1, 1]");
    assert_eq!(run.max_depth, act.relu_depth() as usize);
    // close to 3 ReLU(x) inside the range
    assert!(
        (run.outputs[0][2] - 1.2).abs() < 0.1,
        "{:?}",
        run.outputs[0]
    );
    // no activation, or another one than the program's, is refused
    let e = run_cleartext(&prog, std::slice::from_ref(&x), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no minimax activation"), "{e}");
    let other = MinimaxActivation::new(CompositeSign::for_alpha(8, None).unwrap()).unwrap();
    let e = run_cleartext(&prog, std::slice::from_ref(&x), Some(&other))
        .unwrap_err()
        .to_string();
    assert!(e.contains("ReluSpec"), "{e}");
}

#[test]
fn bad_programs_and_inputs_are_refused() {
    let mut prog = HeProgram::new(8, 1);
    let p = prog.add_plaintext("w".into(), vec![1.0; 8]);
    let m = prog.push(HeOp::PMult { src: 0, plain: p });
    prog.outputs = vec![m];
    let e = run_cleartext(&prog, &[vec![0.0; 8], vec![0.0; 8]], None).unwrap_err();
    assert!(e.to_string().contains("2 slot vectors given"), "{e}");
    let e = run_cleartext(&prog, &[vec![0.0; 4]], None).unwrap_err();
    assert!(e.to_string().contains("input 0 has 4 values"), "{e}");
    // the program's own check runs first (depths of an addition's operands differ)
    let mut uneven = prog.clone();
    let r = uneven.push(HeOp::Rescale { src: m });
    uneven.push(HeOp::Add { a: r, b: 0 });
    assert!(run_cleartext(&uneven, &[vec![0.0; 8]], None).is_err());
    // a program built for counting only cannot run
    prog.plaintexts[p].values.clear();
    assert!(matches!(
        run_cleartext(&prog, &[vec![0.0; 8]], None),
        Err(PackError::NotMaterialized)
    ));
}

// ---------------------------------------------------------------------------------------
// Slow: the encrypted path decrypts to the cleartext run.

/// TEST ONLY, INSECURE: N = 2^12 (2048 slots), scale 2^40, `levels` 40-bit levels.
fn insecure_params(levels: usize) -> Parameters {
    ParametersLiteral {
        log_n: 12,
        log_q: std::iter::once(60).chain(vec![40; levels]).collect(),
        q: vec![],
        log_p: vec![61],
        p: vec![],
        log_scale: 40,
        // one prime per digit: the 61-bit special prime is above each of them
        dnum: levels + 1,
        hamming_weight: None,
        allow_insecure: true,
    }
    .build()
    .unwrap()
}

/// Encrypts `inputs` (at the top level, or with `bootstrap` at the level bootstrapping
/// returns to), runs `program` on the reference evaluator (with `relu` for its ReLUs and,
/// with `bootstrap`, the default bootstrapper of the parameters for its bootstrappings) and
/// decrypts every output slot (real parts).
fn run_encrypted(
    params: &Parameters,
    program: &HeProgram,
    inputs: &[Vec<f64>],
    relu: Option<&MinimaxActivation>,
    bootstrap: bool,
) -> Vec<Vec<f64>> {
    let boot = bootstrap.then(|| {
        let config = BootstrapConfig::default_for(params, params.log_n() - 1).unwrap();
        Bootstrapper::new(params, &config).unwrap()
    });
    let mut kg = KeyGenerator::with_rng(params, ChaCha20Rng::seed_from_u64(7));
    let sk = kg.gen_secret_key();
    let pk = kg.gen_public_key(&sk).unwrap();
    let relin = kg.gen_relin_key(&sk).unwrap();
    let mut galois = kg
        .gen_galois_keys(&sk, &program.rotation_steps(), false)
        .unwrap();
    for &g in boot.iter().flat_map(|b| b.galois_elements()) {
        galois.keys.insert(g, kg.gen_galois_key(&sk, g).unwrap());
    }
    let evaluator = Evaluator::new(params, Some(relin), Some(galois)).unwrap();
    let encoder = Encoder::new(params);
    let mut encryptor = Encryptor::with_rng(
        params,
        EncryptionKey::Public(pk),
        ChaCha20Rng::seed_from_u64(8),
    )
    .unwrap();
    let decryptor = Decryptor::new(params, &sk).unwrap();
    let level = boot
        .as_ref()
        .map_or(params.max_level(), |b| b.level_after());
    let cts: Vec<Ciphertext> = inputs
        .iter()
        .map(|v| {
            let pt = encoder
                .encode_real(v, level, params.default_scale())
                .unwrap();
            encryptor.encrypt(&pt).unwrap()
        })
        .collect();
    let circuits = Circuits {
        relu,
        bootstrapper: boot.as_ref(),
    };
    let out = run_with_circuits(
        &mut ReferenceBackend(&evaluator),
        &encoder,
        circuits,
        program,
        &cts,
        &mut |_, _| {},
    )
    .unwrap();
    out.iter()
        .map(|ct| {
            let pt = decryptor.decrypt(ct).unwrap();
            encoder.decode(&pt).unwrap().iter().map(|z| z.re).collect()
        })
        .collect()
}

/// The largest slot difference between two runs' outputs (every slot of every output).
fn max_slot_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| max_diff(x, y))
        .fold(0.0, f64::max)
}

#[test]
fn encrypted_linear_layers_decrypt_to_the_cleartext_run() {
    let params = insecure_params(1);
    let mut programs: Vec<(String, HeProgram, Vec<Vec<f64>>)> = Vec::new();
    // random convolution cases (fixed seeds), at the slot counts the parameters hold
    let mut runner = TestRunner::deterministic();
    while programs.len() < 6 {
        let (a, mut b) = conv_cases().new_tree(&mut runner).unwrap().current();
        b.2 = b.2.min(params.max_slots().trailing_zeros());
        if let Some(case) = build_conv_case(a, b) {
            let map = random_map(a.0, case.shape);
            let input = case.plan.input.encode(&map).unwrap();
            let input = with_garbage(&case.plan.input, input, a.0 ^ 1);
            programs.push((format!("{a:?} {b:?}"), case.plan.program, input));
        }
    }
    // a fully connected layer on a replicated input, and a repacking
    let flat = Layout::replicated(Shape::new(4, 3, 3), 128, ChannelOrder::ChannelMajor)
        .unwrap()
        .flattened();
    let fc = linear(&random_fc(41, 36, 10), &flat, BuildOptions::default()).unwrap();
    let x = flat.encode(&random_map(43, Shape::flat(36))).unwrap();
    programs.push(("fc 36->10".into(), fc.program, x));
    let order = ChannelOrder::Interleaved { groups: 2 };
    let pooled = Layout::packed(Shape::new(8, 8, 8), 256, order)
        .unwrap()
        .strided(Shape::new(8, 4, 4), 2);
    let (program, _) = repack(&pooled, order, BuildOptions::default())
        .unwrap()
        .unwrap();
    let x = pooled
        .encode(&random_map(103, Shape::new(8, 4, 4)))
        .unwrap();
    programs.push(("repack".into(), program, with_garbage(&pooled, x, 104)));
    for (name, program, input) in &programs {
        let clear = run_cleartext(program, input, None).unwrap();
        let encrypted = run_encrypted(&params, program, input, None, false);
        let err = max_slot_diff(&encrypted, &clear);
        eprintln!(
            "{name}: {} ops, {} slots, max slot error 2^{:.1}",
            program.ops.len(),
            program.slots,
            err.log2()
        );
        assert!(err < LINEAR_BOUND, "{name}: error {err:e}");
    }
}

#[test]
fn encrypted_network_with_minimax_relu_decrypts_to_the_cleartext_run() {
    let act = minimax();
    let net = relu_net();
    let input = seeded_input(net.input_shape, 5);
    let (compiled, _) = compile_with_relu(&net, &act, &input, 2048, None);
    let program = &compiled.program;
    let slots = compiled.encode_input(&input).unwrap();
    let depth = run_cleartext_with(
        program,
        &slots,
        CleartextOptions {
            relu: Some(&act),
            input_level: None,
        },
    )
    .unwrap()
    .max_depth;
    assert_eq!(depth, act.relu_depth() as usize + 2);
    let params = insecure_params(depth);
    let options = CleartextOptions {
        relu: Some(&act),
        input_level: Some(params.max_level()),
    };
    let clear = run_cleartext_with(program, &slots, options).unwrap();
    assert_eq!(clear.max_depth, depth);
    let encrypted = run_encrypted(&params, program, &slots, Some(&act), false);
    let range = clear
        .outputs
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let err = max_slot_diff(&encrypted, &clear.outputs);
    eprintln!(
        "{}: {} ops, depth {depth}, max slot error {err:e} (range {range:.3})",
        net.name,
        program.ops.len()
    );
    assert!(err < RELU_BOUND * range.max(1.0), "error {err:e}");
}

#[test]
fn encrypted_network_with_bootstrapping_decrypts_to_the_cleartext_run() {
    // the residual network of tests/infer_bootstrap.rs: ReLUs, a residual block (level
    // drops) and bootstrappings, every operation kind but none of the constants
    let act = minimax();
    let net = residual_net();
    let input = seeded_input(net.input_shape, 5);
    let (compiled, _) = compile_with_relu(&net, &act, &input, 2048, Some(5));
    assert!(compiled.bootstrappings > 0);
    let program = &compiled.program;
    let slots = compiled.encode_input(&input).unwrap();
    let params = bootstrap_params();
    let options = CleartextOptions {
        relu: Some(&act),
        input_level: Some(5),
    };
    let clear = run_cleartext_with(program, &slots, options).unwrap();
    let encrypted = run_encrypted(&params, program, &slots, Some(&act), true);
    let range = clear
        .outputs
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let err = max_slot_diff(&encrypted, &clear.outputs);
    eprintln!(
        "{}: {} ops, {} bootstrappings, max slot error {err:e} (range {range:.3})",
        net.name,
        program.ops.len(),
        compiled.bootstrappings
    );
    assert!(err < BOOTSTRAP_BOUND * range.max(1.0), "error {err:e}");
}
