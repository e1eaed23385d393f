//! Packing strategies: encrypted convolutions decrypt to the plaintext convolution (the nn
//! forward pass of the same effective weights), op counts against hand-derived ones, pruning,
//! layouts and the network report.
//!
//! One test binary (each binary links the whole crate graph), its tests grouped by concern in
//! `pack/`: encrypted convolutions (`convolutions`), hand-derived counts (`counts`), pruning
//! (`pruning`), layouts, rules, programs and reports (`layouts`), fully connected layers
//! (`fully_connected`); the shared parameters, oracle and helpers are here.

mod convolutions;
mod counts;
mod fully_connected;
mod layouts;
mod pruning;

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
