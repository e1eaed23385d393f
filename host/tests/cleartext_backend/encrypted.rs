//! Slow (`encrypted_*`): the encrypted path on the reference evaluator decrypts to the
//! cleartext run's slots.

use super::layers::{build_conv_case, conv_cases};
use super::networks::{compile_with_relu, minimax, relu_net};
use super::*;

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
