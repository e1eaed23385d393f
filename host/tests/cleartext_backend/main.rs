//! The cleartext slot backend ([`run_cleartext`]): the packing code's properties on plain slot
//! vectors, in milliseconds, and its equivalence with the encrypted path.
//!
//! Fast (cleartext only): random convolutions (dense and SpENCNN, grouped, strided, padded,
//! pruned, gapped and replicated inputs), fully connected layers and repackings compile to
//! programs whose cleartext run equals the plaintext forward pass of the plan's effective layer
//! (up to `f64` summation order, [`EXACT`]), never reads the slots that hold no pixel and
//! writes zeros there; whole compiled networks (polynomial activations, pooling, repacking;
//! minimax ReLU, a residual block and bootstrapping) match the forward pass; the interpreter's
//! own semantics and errors. The encrypted tests of `tests/pack/`, `tests/infer.rs` and
//! `tests/infer_bootstrap.rs` stay: they check the same properties through CKKS.
//!
//! Slow (`encrypted_*`): the same programs on the reference evaluator (insecure test
//! parameters, N = 2^12, scale 2^40) decrypt to the cleartext run's slots, every slot, within
//! [`LINEAR_BOUND`] for linear layers, [`RELU_BOUND`] through minimax ReLUs and
//! [`BOOTSTRAP_BOUND`] through bootstrappings.
//!
//! The fast tests alone: `cargo test -p heaccel-host --test cleartext_backend -- --skip encrypted`.
//!
//! One test binary (each binary links the whole crate graph), its tests grouped by concern in
//! `cleartext_backend/`: single layers (`layers`), whole networks (`networks`), the
//! interpreter itself (`interpreter`) and the encrypted path (`encrypted`); the shared
//! bounds and helpers are here.

#[path = "../common/mod.rs"]
mod common;
mod encrypted;
mod interpreter;
mod layers;
mod networks;

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
/// 2^40 (as `tests/pack/`'s `CONV_TOLERANCE`: measured errors are around 2^-27).
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
