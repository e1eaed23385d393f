//! Fast: whole compiled networks in cleartext (polynomial activations, pooling, repacking;
//! minimax ReLU, a residual block and bootstrapping) match the forward pass.

use super::*;

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
pub(super) const ALPHA: u32 = 4;

pub(super) fn minimax() -> MinimaxActivation {
    MinimaxActivation::new(CompositeSign::for_alpha(ALPHA, None).unwrap()).unwrap()
}

/// conv, ReLU, flatten, linear: one minimax ReLU, 6 levels.
pub(super) fn relu_net() -> Network {
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
pub(super) fn compile_with_relu(
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
        relu: Some(MinimaxChoice::new(ALPHA, act.clone())),
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
