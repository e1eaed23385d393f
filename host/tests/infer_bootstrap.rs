//! A network with a residual shortcut, minimax ReLUs and bootstrappings compiled into one
//! program and run encrypted on the reference evaluator, against the plaintext forward pass
//! with the same minimax ReLU (same coefficients, same bounds). Parameters: N = 2^12 with the
//! bootstrapping chain of `boot-test` and 5 levels after bootstrapping: far below the 128-bit
//! bound, opted into for this functional test only (the secure N = 2^16 run is the documented
//! `heaccel infer` command, not a test).

mod common;

use heaccel_host::funcexec::{prime_table_program, FunctionalBackend};
use heaccel_host::nn::fast::{ActivationHook, FastNetwork};
use heaccel_host::nn::weights::seeded_input;
use heaccel_host::nn::{Activation, Network};
use heaccel_host::pack::{
    compile_he_program, run_with_circuits, Circuits, HeOp, MinimaxChoice, NetworkProgram,
    ReferenceBackend, ReportOptions, Strategy,
};
use heaccel_verification::bootstrap::{BootstrapConfig, Bootstrapper};
use heaccel_verification::circuits::MinimaxActivation;
use heaccel_verification::ckks::{
    Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator, KeyGenerator,
};
use heaccel_verification::minimax::CompositeSign;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Levels left after bootstrapping (and at the input).
const LEVELS: usize = common::nets::BOOT_LEVELS;
/// Minimax ReLU precision: degree 5, 4 levels with the final product.
const ALPHA: u32 = 4;

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

/// The minimax ReLU at each layer's bound, in f64 per value (what the circuit computes).
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

fn compile(net: &Network, act: &MinimaxActivation, bounds: &[f64]) -> NetworkProgram {
    let options = ReportOptions {
        relu: Some(MinimaxChoice::new(ALPHA, act.clone())),
        relu_bounds: bounds.to_vec(),
        bootstrap_levels: Some(LEVELS),
        ..ReportOptions::default()
    };
    compile_he_program(net, &Strategy::Dense, 2048, &options).unwrap()
}

#[test]
fn residual_network_with_bootstrapping_matches_the_plaintext_minimax_pass() {
    let net = common::nets::residual_net();
    let act = MinimaxActivation::new(CompositeSign::for_alpha(ALPHA, None).unwrap()).unwrap();
    let input = seeded_input(net.input_shape, 5);
    let input_f32: Vec<f32> = input.data().iter().map(|&v| v as f32).collect();
    let fast = FastNetwork::new(&net).unwrap();
    let mut max_abs = MaxAbs(vec![0.0; fast.activation_names().len()]);
    fast.run(&input_f32, &mut max_abs).unwrap();
    let bounds: Vec<f64> = max_abs.0.iter().map(|m| 1.5 * m).collect();
    assert_eq!(bounds.len(), 3);
    assert!(bounds.iter().all(|b| *b > 0.0), "{bounds:?}");

    let compiled = compile(&net, &act, &bounds);
    let program = &compiled.program;
    let depths = program.check().unwrap();
    assert!(
        depths.iter().all(|&d| d <= LEVELS),
        "a depth above {LEVELS}"
    );
    let relus = program
        .ops
        .iter()
        .filter(|op| matches!(op, HeOp::Relu { .. }))
        .count();
    assert_eq!(
        relus, 3,
        "one ReLU per activation layer (one ciphertext each)"
    );
    assert!(compiled.bootstrappings >= 1);
    assert_eq!(
        compiled.bootstrappings,
        program
            .ops
            .iter()
            .filter(|op| matches!(op, HeOp::Bootstrap { .. }))
            .count()
    );
    // ReLUs change their bound where an identity shortcut needs the next one's unit
    assert!(program
        .ops
        .iter()
        .any(|op| matches!(op, HeOp::Relu { multiplier, .. } if *multiplier != 1.0)));

    let params = common::nets::bootstrap_params();
    let config = BootstrapConfig::default_for(&params, params.log_n() - 1).unwrap();
    let boot = Bootstrapper::new(&params, &config).unwrap();
    assert_eq!(boot.level_after(), LEVELS);
    let mut kg = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(1));
    let sk = kg.gen_secret_key();
    let pk = kg.gen_public_key(&sk).unwrap();
    let relin = kg.gen_relin_key(&sk).unwrap();
    let mut galois = kg
        .gen_galois_keys(&sk, &program.rotation_steps(), false)
        .unwrap();
    for &g in boot.galois_elements() {
        galois.keys.insert(g, kg.gen_galois_key(&sk, g).unwrap());
    }
    let eval = Evaluator::new(&params, Some(relin.clone()), Some(galois.clone())).unwrap();
    let encoder = Encoder::new(&params);
    let mut encryptor = Encryptor::with_rng(
        &params,
        EncryptionKey::Public(pk),
        ChaCha20Rng::seed_from_u64(2),
    )
    .unwrap();
    let inputs: Vec<_> = compiled
        .encode_input(&input)
        .unwrap()
        .iter()
        .map(|v| {
            let pt = encoder
                .encode_real(v, LEVELS, params.default_scale())
                .unwrap();
            encryptor.encrypt(&pt).unwrap()
        })
        .collect();
    let circuits = Circuits {
        relu: Some(&act),
        bootstrapper: Some(&boot),
    };
    let outputs = run_with_circuits(
        &mut ReferenceBackend(&eval),
        &encoder,
        circuits,
        program,
        &inputs,
        &mut |_, _| {},
    )
    .unwrap();
    // the accelerator's functional executor runs the same program to the same words
    let template = prime_table_program(&params).unwrap();
    let mut functional = FunctionalBackend::new(&template, &params, Some(&relin), &galois).unwrap();
    let on_accelerator = run_with_circuits(
        &mut functional,
        &encoder,
        circuits,
        program,
        &inputs,
        &mut |_, _| {},
    )
    .unwrap();
    assert!(on_accelerator == outputs, "functional executor differs");
    assert!(functional.stats().instructions > 0);
    // it reads keys at whole-chain positions: a restricted key is refused, not misread
    let mut restricted = galois.clone();
    let (&g, key) = restricted.keys.iter().next().unwrap();
    let key = key.restricted(&params, LEVELS).unwrap();
    restricted.keys.insert(g, key);
    let err = FunctionalBackend::new(&template, &params, Some(&relin), &restricted).unwrap_err();
    assert!(
        err.to_string().contains("restricted to levels up to 5"),
        "{err}"
    );
    let decryptor = Decryptor::new(&params, &sk).unwrap();
    let slots: Vec<Vec<f64>> = outputs
        .iter()
        .map(|ct| {
            let pt = decryptor.decrypt(ct).unwrap();
            encoder.decode(&pt).unwrap().iter().map(|z| z.re).collect()
        })
        .collect();
    let got = compiled.decode_output(&slots).unwrap();

    let reference = FastNetwork::new(&compiled.reference).unwrap();
    let want = reference
        .run(
            &input_f32,
            &mut Minimax {
                act: &act,
                bounds: &bounds,
            },
        )
        .unwrap();
    assert_eq!(got.data().len(), want.len());
    let range = want.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
    let err = got
        .data()
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - f64::from(*w)).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "logits {:?} vs {:?}: max error {err:e} (range {range:e}), {} bootstrappings",
        got.data(),
        want,
        compiled.bootstrappings
    );
    assert!(err < 1e-3 * range.max(1.0), "max logit error {err:e}");
    // the approximation differs from exact ReLU: the comparison is against the minimax pass
    let argmax = |v: &[f64]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    let want64: Vec<f64> = want.iter().map(|&v| f64::from(v)).collect();
    assert_eq!(argmax(got.data()), argmax(&want64));
}

#[test]
fn compiling_refuses_missing_bounds_and_a_relu_deeper_than_the_levels() {
    let net = common::nets::residual_net();
    let act = MinimaxActivation::new(CompositeSign::for_alpha(ALPHA, None).unwrap()).unwrap();
    let options = ReportOptions {
        relu: Some(MinimaxChoice::new(ALPHA, act.clone())),
        relu_bounds: vec![1.0; 2],
        bootstrap_levels: Some(LEVELS),
        ..ReportOptions::default()
    };
    let err = compile_he_program(&net, &Strategy::Dense, 2048, &options).unwrap_err();
    assert!(err.to_string().contains("2 ReLU bounds"), "{err}");
    let options = ReportOptions {
        relu_bounds: vec![1.0; 3],
        bootstrap_levels: Some(3),
        ..options
    };
    let err = compile_he_program(&net, &Strategy::Dense, 2048, &options).unwrap_err();
    assert!(
        err.to_string().contains("needs 4 levels, more than the 3"),
        "{err}"
    );
}
