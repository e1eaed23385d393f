//! Whole networks compiled into one program and run encrypted: the accelerator's functional
//! executor gives the reference evaluator's ciphertexts bit for bit, the compiled program has
//! the report's counts, and decrypted outputs match the plaintext forward pass.
//!
//! The suite runs the check (N = 2^14, functional executor) on one seeded input of
//! LeNet (~7 s of CPU) and of HEFNet (~55 s); all 20 per network (~20 minutes of CPU) is
//! `#[ignore]`d: `cargo test --release -p heaccel-host --test infer -- --ignored`.

use heaccel_host::funcexec::{prime_table_program, FunctionalBackend};
use heaccel_host::infer::{best_repack, Backend, InferOptions, Session, RELATIVE_TOLERANCE};
use heaccel_host::nn::{
    forward, weights, zoo, Activation, ActivationLayer, Conv2d, Layer, Linear, Network, Pool, Shape,
};
use heaccel_host::pack::*;
use heaccel_verification::ckks::*;
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};

/// TEST ONLY, INSECURE (N = 2^10 far above its bound): small enough that every operation runs
/// on the functional executor in milliseconds. Five 40-bit levels.
fn small_params() -> Parameters {
    ParametersLiteral {
        log_n: 10,
        log_q: vec![50, 40, 40, 40, 40, 40],
        q: vec![],
        log_p: vec![50, 50],
        p: vec![],
        log_scale: 40,
        dnum: 3,
        hamming_weight: None,
        allow_insecure: true,
    }
    .build()
    .unwrap()
}

/// A tiny network with every layer kind the compiler runs: a grouped convolution, a polynomial
/// activation, average pooling (its 4 ciphertexts repacked into 1 at 512 slots), flatten, a
/// fully connected layer.
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

struct Keys {
    params: Parameters,
    encoder: Encoder,
    encryptor: Encryptor<ChaCha20Rng>,
    decryptor: Decryptor,
    relin: RelinKey,
    galois: GaloisKeys,
}

fn keys(params: Parameters, steps: &[i64]) -> Keys {
    let mut kg = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(5));
    let sk = kg.gen_secret_key();
    let pk = kg.gen_public_key(&sk).unwrap();
    Keys {
        relin: kg.gen_relin_key(&sk).unwrap(),
        galois: kg.gen_galois_keys(&sk, steps, false).unwrap(),
        encryptor: Encryptor::with_rng(
            &params,
            EncryptionKey::Public(pk),
            ChaCha20Rng::seed_from_u64(6),
        )
        .unwrap(),
        decryptor: Decryptor::new(&params, &sk).unwrap(),
        encoder: Encoder::new(&params),
        params,
    }
}

impl Keys {
    fn encrypt(&mut self, slots: &[Vec<f64>]) -> Vec<Ciphertext> {
        let level = self.params.max_level();
        let scale = self.params.default_scale();
        slots
            .iter()
            .map(|v| {
                let pt = self.encoder.encode_real(v, level, scale).unwrap();
                self.encryptor.encrypt(&pt).unwrap()
            })
            .collect()
    }

    fn decrypt(&self, cts: &[Ciphertext]) -> Vec<Vec<f64>> {
        cts.iter()
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

    /// Runs `program` on both backends; asserts identical ciphertexts and returns them.
    fn run_both(&self, program: &HeProgram, inputs: &[Ciphertext]) -> Vec<Ciphertext> {
        let evaluator = Evaluator::new(
            &self.params,
            Some(self.relin.clone()),
            Some(self.galois.clone()),
        )
        .unwrap();
        let executor = HeExecutor::new(&evaluator, &self.encoder);
        let reference = executor.run(program, inputs).unwrap();
        let template = prime_table_program(&self.params).unwrap();
        let mut backend =
            FunctionalBackend::new(&template, &self.params, Some(&self.relin), &self.galois)
                .unwrap();
        let functional = executor.run_with(&mut backend, program, inputs).unwrap();
        assert!(backend.stats().programs >= program.ops.len());
        assert_eq!(functional.len(), reference.len());
        for (i, (f, r)) in functional.iter().zip(&reference).enumerate() {
            assert!(
                f == r,
                "output {i}: functional and reference ciphertexts differ"
            );
        }
        reference
    }
}

#[test]
fn every_operation_is_bit_identical_on_both_backends() {
    let params = small_params();
    let slots = params.max_slots();
    let mut prog = HeProgram::new(slots, 2);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut vector = |prog: &mut HeProgram, label: &str| {
        let v = (0..slots).map(|_| rng.gen_range(-1.0..1.0)).collect();
        prog.add_plaintext(label.into(), v)
    };
    let p0 = vector(&mut prog, "w0");
    let p1 = vector(&mut prog, "w1");
    let r1 = prog.push(HeOp::Rotate {
        src: 0,
        step: 3,
        hoisted: true,
    });
    let r2 = prog.push(HeOp::Rotate {
        src: 0,
        step: -7,
        hoisted: true,
    });
    let r3 = prog.push(HeOp::Rotate {
        src: 1,
        step: 1,
        hoisted: false,
    });
    let m1 = prog.push(HeOp::PMult { src: r1, plain: p0 });
    let m2 = prog.push(HeOp::PMult { src: r2, plain: p1 });
    let s = prog.push(HeOp::Add { a: m1, b: m2 });
    let s = prog.push(HeOp::Rescale { src: s });
    let b = prog.push(HeOp::MulConst {
        src: r3,
        value: -0.75,
    });
    let b = prog.push(HeOp::Rescale { src: b });
    let b = prog.push(HeOp::AddConst { src: b, value: 0.3 });
    let sq = prog.push(HeOp::MulRelin { a: s, b: s });
    let sq = prog.push(HeOp::Rescale { src: sq });
    let p2 = vector(&mut prog, "bias");
    let sq = prog.push(HeOp::AddPlain { src: sq, plain: p2 });
    let bb = prog.push(HeOp::MulRelin { a: b, b });
    let bb = prog.push(HeOp::Rescale { src: bb });
    let out = prog.push(HeOp::Add { a: sq, b: bb });
    let out = prog.push(HeOp::Rotate {
        src: out,
        step: 3,
        hoisted: false,
    });
    prog.outputs = vec![out, s];
    let mut k = keys(params, &prog.rotation_steps());
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let input: Vec<Vec<f64>> = (0..2)
        .map(|_| (0..slots).map(|_| rng.gen_range(-1.0..1.0)).collect())
        .collect();
    let cts = k.encrypt(&input);
    let outs = k.run_both(&prog, &cts);
    // and the result is the plain computation's
    let rot = |v: &[f64], r: i64| -> Vec<f64> {
        (0..slots)
            .map(|t| v[(t as i64 + r).rem_euclid(slots as i64) as usize])
            .collect()
    };
    let w = |p: usize| prog.plaintexts[p].values.clone();
    let (x, y) = (&input[0], &input[1]);
    let (a, bv) = (rot(x, 3), rot(x, -7));
    let s_plain: Vec<f64> = (0..slots)
        .map(|t| a[t] * w(p0)[t] + bv[t] * w(p1)[t])
        .collect();
    let b_plain: Vec<f64> = rot(y, 1).iter().map(|v| -0.75 * v + 0.3).collect();
    let o: Vec<f64> = (0..slots)
        .map(|t| s_plain[t] * s_plain[t] + w(p2)[t] + b_plain[t] * b_plain[t])
        .collect();
    let want = [rot(&o, 3), s_plain];
    for (got, want) in k.decrypt(&outs).iter().zip(&want) {
        let err = got
            .iter()
            .zip(want)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-6, "error {err}");
    }
}

#[test]
fn a_compiled_network_is_bit_identical_on_both_backends_and_matches_the_plain_pass() {
    let net = tiny_network();
    let params = small_params();
    let strategy = Strategy::Spencnn(SpencnnConfig::default());
    let compiled = compile_he_program(
        &net,
        &strategy,
        params.max_slots(),
        &ReportOptions::default(),
    )
    .unwrap();
    assert_eq!(
        compiled.program.counts().unwrap(),
        compiled.report.total,
        "the whole program has the report's counts"
    );
    assert!(compiled.report.layers.iter().any(|l| l.repacked));
    assert!(compiled.program.is_materialized());
    let mut k = keys(params, &compiled.program.rotation_steps());
    let input = weights::seeded_input(net.input_shape, 9);
    let cts = k.encrypt(&compiled.encode_input(&input).unwrap());
    let outs = k.run_both(&compiled.program, &cts);
    let got = compiled.decode_output(&k.decrypt(&outs)).unwrap();
    let want = forward(&compiled.reference, &input).unwrap().output;
    let err = got
        .data()
        .iter()
        .zip(want.data())
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-6, "error {err}");
    // the pending factors were real: the activation's a and the pooling's 1/4 went into fc
    assert_ne!(compiled.output_factor, 0.0);
}

#[test]
fn compiled_programs_have_the_report_counts() {
    let lenet = zoo::seeded(zoo::ZooModel::Lenet, zoo::DEFAULT_SEED).unwrap();
    let pruned = Strategy::Spencnn(SpencnnConfig {
        groups: GroupChoice::Layer,
        prune: Some(PruneConfig {
            ratio: 0.5,
            taps_per_block: 1,
        }),
    });
    for (strategy, repack) in [
        (Strategy::Dense, Repack::Never),
        (Strategy::Spencnn(SpencnnConfig::default()), Repack::Always),
        (pruned, Repack::Mask(1)),
    ] {
        let options = ReportOptions {
            repack_pooled: repack,
            ..ReportOptions::default()
        };
        let compiled = compile_he_program(&lenet, &strategy, 8192, &options).unwrap();
        let report = network_report_with(&lenet, &strategy, 8192, &options).unwrap();
        assert_eq!(compiled.report, report);
        assert_eq!(compiled.program.counts().unwrap(), report.total);
        assert!(compiled.program.is_materialized());
        assert_eq!(compiled.pruning.is_empty(), strategy != pruned);
        // the reference network carries the pruned weights: pruned blocks are zero there
        if strategy == pruned {
            let zeros = |n: &Network| {
                let mut z = 0;
                n.visit_layers(|_, l| {
                    if let Layer::Conv2d(c) = l {
                        z += c.weight.iter().filter(|w| **w == 0.0).count();
                    }
                });
                z
            };
            let pruned_weights: usize = compiled
                .pruning
                .iter()
                .flat_map(|(_, p)| &p.pruned)
                .map(|b| b.weights)
                .sum();
            assert!(pruned_weights > 0);
            assert_eq!(zeros(&compiled.reference), zeros(&lenet) + pruned_weights);
        }
    }
}

#[test]
fn minimax_activations_need_their_bounds_and_deep_networks_are_refused_with_the_depth() {
    let lenet = zoo::seeded(zoo::ZooModel::Lenet, zoo::DEFAULT_SEED).unwrap();
    let nl = heaccel_host::netsim::report_options(
        "relu-minimax:6".parse().unwrap(),
        "avg".parse().unwrap(),
        Repack::Always,
    )
    .unwrap();
    let e = compile_he_program(&lenet, &Strategy::Dense, 8192, &nl)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("0 ReLU bounds for a network with 3 activation layers"),
        "{e}"
    );
    // with one bound per activation layer every activation compiles to a minimax ReLU
    let bounded = ReportOptions {
        relu_bounds: vec![4.0; 3],
        ..nl.clone()
    };
    let compiled = compile_he_program(&lenet, &Strategy::Dense, 8192, &bounded).unwrap();
    let relus = compiled
        .program
        .ops
        .iter()
        .filter(|op| op.name() == "relu")
        .count();
    assert!(relus >= 3, "{relus} relu ops");
    assert_eq!(compiled.program.relu.map(|r| r.alpha), Some(6));
    let bad = ReportOptions {
        relu_bounds: vec![4.0, f64::NAN, 4.0],
        ..nl
    };
    let e = compile_he_program(&lenet, &Strategy::Dense, 8192, &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ReLU bound NaN"), "{e}");
    let resnet = zoo::seeded(
        zoo::ZooModel::Resnet20(Default::default()),
        zoo::DEFAULT_SEED,
    )
    .unwrap();
    let options = InferOptions {
        strategy: Strategy::Spencnn(SpencnnConfig::default()),
        repack: Repack::Always,
        backend: Backend::Reference,
    };
    let e = Session::new(&resnet, &options).unwrap_err().to_string();
    assert!(e.contains("resnet20") && e.contains("N = 2^14"), "{e}");
}

/// Runs `count` seeded inputs (seeds 1..=count) of `model` on `backend` at N = 2^14 and
/// asserts the check on each.
fn check_network(model: zoo::ZooModel, backend: Backend, count: u64) {
    let net = zoo::seeded(model, zoo::DEFAULT_SEED).unwrap();
    let strategy = Strategy::Spencnn(SpencnnConfig::default());
    // what `heaccel simulate --model` runs (HEFNet: no repacking, depth 9, L = 10)
    let config = heaccel_sim::HwConfig::preset("fpga-u280").unwrap();
    let options = InferOptions {
        repack: best_repack(&net, &strategy, &config).unwrap(),
        strategy,
        backend,
    };
    let mut session = Session::new(&net, &options).unwrap();
    assert_eq!(session.params().log_n(), 14);
    assert!(session.params().security_bits().is_some_and(|b| b >= 128));
    for seed in 1..=count {
        let input = weights::seeded_input(net.input_shape, seed);
        let r = session.infer(&input, &mut |_, _| {}).unwrap();
        eprintln!(
            "{model} seed {seed} ({backend}): max abs error {:.3e}, range {:.3}, relative {:.3e}, argmax {} / {}, {:.0} ms",
            r.max_abs_error,
            r.output_range,
            r.relative_error,
            r.argmax_plain,
            r.argmax_encrypted,
            r.times.total_ms
        );
        assert!(r.relative_error < RELATIVE_TOLERANCE, "seed {seed}: {r:?}");
        assert_eq!(r.argmax_plain, r.argmax_encrypted, "seed {seed}");
        assert!(r.passes);
        assert_eq!(r.output_level, 1);
    }
}

#[test]
fn lenet_encrypted_on_the_functional_executor_matches_the_plain_pass() {
    check_network(zoo::ZooModel::Lenet, Backend::Functional, 1);
}

#[test]
fn hefnet_encrypted_on_the_functional_executor_matches_the_plain_pass() {
    check_network(zoo::ZooModel::Hefnet, Backend::Functional, 1);
}

#[test]
#[ignore = "minutes: cargo test --release -p heaccel-host --test infer -- --ignored"]
fn lenet_and_hefnet_pass_on_20_seeded_inputs() {
    check_network(zoo::ZooModel::Lenet, Backend::Functional, 20);
    check_network(zoo::ZooModel::Hefnet, Backend::Functional, 20);
}
