//! Bootstrapping on the insecure `boot-test` preset (N = 2^12, h = 192; opted into for these
//! functional tests only): precision floors, negative controls, the homomorphic linear
//! transforms against plain complex arithmetic and the special FFT, EvalMod against the exact
//! modular reduction, and bad input.

use std::sync::OnceLock;

use heaccel_verification::bootstrap::{
    dft, BootstrapConfig, Bootstrapper, DiagonalMatrix, EncodedTransform,
};
use heaccel_verification::ckks::embedding::SpecialFft;
use heaccel_verification::ckks::{
    preset, Ciphertext, Decryptor, Encoder, EncryptionKey, Encryptor, Evaluator, GaloisKeys,
    KeyGenerator, Parameters, SecretKey,
};
use heaccel_verification::{Error, KeyKind, Mismatched};
use num_complex::Complex64;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

struct Fixture {
    params: Parameters,
    sk: SecretKey,
    eval: Evaluator,
    encoder: Encoder,
    /// Full packing (2^11 slots) and sparse packing (2^7 slots).
    full: Bootstrapper,
    sparse: Bootstrapper,
}

fn params() -> Parameters {
    let mut lit = preset("boot-test").unwrap();
    lit.allow_insecure = true;
    lit.build().unwrap()
}

fn keys_for(params: &Parameters, sk: &SecretKey, elements: &[u64], seed: u64) -> Evaluator {
    let mut kg = KeyGenerator::with_rng(params, ChaCha20Rng::seed_from_u64(seed));
    let relin = kg.gen_relin_key(sk).unwrap();
    let mut galois = GaloisKeys {
        params_id: params.id(),
        key_id: sk.key_id,
        keys: Default::default(),
    };
    for &g in elements {
        galois.keys.insert(g, kg.gen_galois_key(sk, g).unwrap());
    }
    Evaluator::new(params, Some(relin), Some(galois)).unwrap()
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let params = params();
        let full = Bootstrapper::new(
            &params,
            &BootstrapConfig::default_for(&params, params.log_n() - 1).unwrap(),
        )
        .unwrap();
        let sparse =
            Bootstrapper::new(&params, &BootstrapConfig::default_for(&params, 7).unwrap()).unwrap();
        let sk = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(1)).gen_secret_key();
        let mut elements: Vec<u64> = full
            .galois_elements()
            .iter()
            .chain(sparse.galois_elements())
            .copied()
            .collect();
        elements.sort_unstable();
        elements.dedup();
        let eval = keys_for(&params, &sk, &elements, 2);
        Fixture {
            encoder: Encoder::new(&params),
            params,
            sk,
            eval,
            full,
            sparse,
        }
    })
}

fn random_slots(rng: &mut ChaCha20Rng, n: usize) -> Vec<Complex64> {
    (0..n)
        .map(|_| Complex64::new(rng.gen_range(-1.0..=1.0), rng.gen_range(-1.0..=1.0)))
        .collect()
}

fn encrypt(f: &Fixture, values: &[Complex64], level: usize, scale: f64, seed: u64) -> Ciphertext {
    let pt = f.encoder.encode(values, level, scale).unwrap();
    let mut enc = Encryptor::with_rng(
        &f.params,
        EncryptionKey::Secret(f.sk.clone()),
        ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap();
    enc.encrypt(&pt).unwrap()
}

fn decrypt(f: &Fixture, ct: &Ciphertext) -> Vec<Complex64> {
    let dec = Decryptor::new(&f.params, &f.sk).unwrap();
    f.encoder.decode(&dec.decrypt(ct).unwrap()).unwrap()
}

/// (`-log2` mean error, `-log2` worst error).
fn precision(want: &[Complex64], got: &[Complex64]) -> (f64, f64) {
    let errors: Vec<f64> = want.iter().zip(got).map(|(a, b)| (a - b).norm()).collect();
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    let worst = errors.iter().copied().fold(0.0, f64::max);
    (-mean.log2(), -worst.log2())
}

#[test]
fn full_packing_bootstraps_to_the_default_scale_with_precision() {
    let f = fixture();
    let n = f.params.max_slots();
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let mut values = random_slots(&mut rng, n);
    // corner slots: zero, the extremes of the range
    values[0] = Complex64::new(0.0, 0.0);
    values[1] = Complex64::new(1.0, -1.0);
    values[2] = Complex64::new(-1.0, 1.0);
    let ct = encrypt(f, &values, 0, f.params.default_scale(), 11);
    let (out, stages) = f.full.bootstrap(&f.eval, &ct).unwrap();
    assert_eq!(out.level(), f.full.level_after());
    assert_eq!(
        f.full.level_after(),
        2,
        "boot-test leaves two 40-bit levels"
    );
    assert_eq!(out.scale, f.params.default_scale());
    assert_eq!(out.log_slots, ct.log_slots);
    let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["mod_raise", "coeff_to_slot", "eval_mod", "slot_to_coeff"]
    );
    let (mean, worst) = precision(&values, &decrypt(f, &out));
    // Measured 25.5 / 23.6 bits; the floor for the test preset is a mean of 15.
    assert!(mean >= 22.0 && worst >= 19.0, "mean {mean}, worst {worst}");
    // The bootstrapped ciphertext computes on: one product with a fresh ciphertext.
    let other = random_slots(&mut rng, n);
    let b = encrypt(f, &other, out.level(), out.scale, 12);
    let prod = f
        .eval
        .rescale(&f.eval.mul_relin(&out, &b).unwrap())
        .unwrap();
    let want: Vec<Complex64> = values.iter().zip(&other).map(|(x, y)| x * y).collect();
    let (mean, _) = precision(&want, &decrypt(f, &prod));
    assert!(mean >= 20.0, "product after bootstrapping: {mean}");
}

#[test]
fn sparse_packing_bootstraps() {
    let f = fixture();
    let n = 1 << 7;
    let mut rng = ChaCha20Rng::seed_from_u64(20);
    let values = random_slots(&mut rng, n);
    // A smaller input scale is raised to the message ratio by an integer factor.
    let ct = encrypt(f, &values, 0, 2f64.powi(38), 21);
    let (out, stages) = f.sparse.bootstrap(&f.eval, &ct).unwrap();
    assert_eq!(stages[1].name, "sub_sum");
    assert_eq!(out.log_slots, 7);
    assert_eq!(out.level(), f.sparse.level_after());
    // Measured 22.0 / 20.5: with 2^7 slots the coefficients are larger (|w| ~ 2^-4), and the
    // sine's own error (2 pi)^2 f^3 / 6 with f = w / 2^8 dominates.
    let (mean, worst) = precision(&values, &decrypt(f, &out));
    assert!(mean >= 20.0 && worst >= 18.0, "mean {mean}, worst {worst}");
}

#[test]
fn the_arcsine_removes_the_sine_error_of_few_slots() {
    // boot-test's chain with three more EvalMod primes for the arcsine's depth.
    let mut lit = preset("boot-test").unwrap();
    lit.allow_insecure = true;
    let at = lit.log_q.len() - 3;
    lit.log_q.splice(at..at, [61, 61, 61]);
    lit.dnum = 6;
    let params = lit.build().unwrap();
    let mut with = BootstrapConfig::default_for(&params, 7).unwrap();
    with.evalmod.arcsine_degree = 5;
    let without = BootstrapConfig {
        evalmod: heaccel_verification::bootstrap::EvalModConfig {
            arcsine_degree: 0,
            ..with.evalmod.clone()
        },
        ..with.clone()
    };
    let boot = Bootstrapper::new(&params, &with).unwrap();
    let plain = Bootstrapper::new(&params, &without).unwrap();
    assert_eq!(boot.depth(), plain.depth() + 3);
    let sk = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(60)).gen_secret_key();
    let eval = keys_for(&params, &sk, boot.galois_elements(), 61);
    let encoder = Encoder::new(&params);
    let mut rng = ChaCha20Rng::seed_from_u64(62);
    let values = random_slots(&mut rng, 1 << 7);
    let pt = encoder.encode(&values, 0, params.default_scale()).unwrap();
    let mut enc = Encryptor::with_rng(
        &params,
        EncryptionKey::Secret(sk.clone()),
        ChaCha20Rng::seed_from_u64(63),
    )
    .unwrap();
    let ct = enc.encrypt(&pt).unwrap();
    let dec = Decryptor::new(&params, &sk).unwrap();
    let mut bits = vec![];
    for b in [&boot, &plain] {
        let (out, _) = b.bootstrap(&eval, &ct).unwrap();
        let got = encoder.decode(&dec.decrypt(&out).unwrap()).unwrap();
        bits.push(precision(&values, &got));
    }
    let ((mean_with, _), (mean_without, _)) = (bits[0], bits[1]);
    assert!(
        mean_with >= mean_without + 2.0 && mean_with >= 24.0,
        "arcsine {mean_with} bits, without {mean_without}"
    );
}

#[test]
fn wrong_key_and_corrupted_ciphertext_fail_the_precision_check() {
    let f = fixture();
    let n = f.params.max_slots();
    let mut rng = ChaCha20Rng::seed_from_u64(30);
    let values = random_slots(&mut rng, n);
    let ct = encrypt(f, &values, 0, f.params.default_scale(), 31);
    // Keys of another secret, labelled as this key set so that no identifier check stops it.
    let mut other =
        KeyGenerator::with_rng(&f.params, ChaCha20Rng::seed_from_u64(99)).gen_secret_key();
    other.key_id = f.sk.key_id;
    let wrong = keys_for(&f.params, &other, f.full.galois_elements(), 98);
    let (out, _) = f.full.bootstrap(&wrong, &ct).unwrap();
    let (mean, _) = precision(&values, &decrypt(f, &out));
    assert!(mean < 2.0, "wrong keys still gave {mean} bits");
    // One flipped coefficient of c_1.
    let mut bad = ct.clone();
    let q0 = f.params.q_tables()[0].modulus().value();
    bad.parts[1].limbs[0][5] = (bad.parts[1].limbs[0][5] + q0 / 3) % q0;
    let (out, _) = f.full.bootstrap(&f.eval, &bad).unwrap();
    let (mean, _) = precision(&values, &decrypt(f, &out));
    assert!(mean < 2.0, "a corrupted ciphertext still gave {mean} bits");
}

#[test]
fn eval_mod_matches_the_exact_modular_reduction() {
    let f = fixture();
    let em = f.full.evalmod();
    let k = em.config().k;
    let level = f.full.coeff_to_slot().last().unwrap().level() - 1;
    let scale = f.params.q_tables()[level].modulus().value() as f64;
    let n = f.params.max_slots();
    let mut rng = ChaCha20Rng::seed_from_u64(40);
    // x = I + e with every integer I in (-K, K) and |e| <= 2^-12.
    let xs: Vec<f64> = (0..n)
        .map(|j| {
            let i = (j as i64 % (2 * k as i64 - 1)) - (k as i64 - 1);
            i as f64 + rng.gen_range(-1.0..=1.0) * 2f64.powi(-12)
        })
        .collect();
    let us: Vec<Complex64> = xs.iter().map(|x| Complex64::new(x / k, 0.0)).collect();
    let ct = encrypt(f, &us, level, scale, 41);
    let out = em.evaluate(&f.eval, &ct, scale).unwrap();
    assert_eq!(out.level(), level - em.depth());
    let got = decrypt(f, &out);
    let worst = xs
        .iter()
        .zip(&got)
        .map(|(x, g)| (g.re - (x - x.round())).abs())
        .fold(0.0, f64::max);
    // The sine's own error at |e| = 2^-12 is (2 pi)^2 e^3 / 6 = 2^-33.3.
    assert!(-worst.log2() >= 30.0, "EvalMod error 2^{}", worst.log2());
    // far from an integer the reduction is not the identity
    let ct = encrypt(f, &[Complex64::new(0.4 / k, 0.0); 2048], level, scale, 42);
    let got = decrypt(f, &em.evaluate(&f.eval, &ct, scale).unwrap());
    assert!((got[0].re - 0.4).abs() > 0.1, "{}", got[0].re);
}

/// A matrix on `slots` values with `count` random diagonals (random shifts, entries uniform
/// in the unit square).
fn random_matrix(rng: &mut ChaCha20Rng, slots: usize, count: usize) -> DiagonalMatrix {
    DiagonalMatrix::from_diagonals(
        slots,
        (0..count).map(|_| {
            let shift = rng.gen_range(0..slots as i64);
            (shift, random_slots(rng, slots))
        }),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Encrypted linear transforms (random diagonals at random shifts, on random vectors)
    /// agree with plain complex arithmetic.
    #[test]
    fn encrypted_linear_transforms_match_plain_arithmetic(seed in 0u64..1000) {
        let f = fixture();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let slots = 1usize << rng.gen_range(3..=11u32);
        let count = rng.gen_range(1..=12);
        let m = random_matrix(&mut rng, slots, count);
        let level = f.params.max_level();
        let scale = f.params.q_tables()[level].modulus().value() as f64;
        let t = EncodedTransform::new(&f.params, &f.encoder, &m, level, scale, scale).unwrap();
        let eval = keys_for(&f.params, &f.sk, &t.galois_elements(f.params.log_n()), seed);
        let v = random_slots(&mut rng, slots);
        let ct = encrypt(f, &v, level, scale, seed + 1);
        let got = decrypt(f, &t.evaluate(&eval, &ct).unwrap());
        let want = m.apply(&v);
        let (_, worst) = precision(&want, &got);
        prop_assert!(worst >= 28.0, "slots {} worst {}", slots, worst);
    }

    /// CoeffToSlot on ciphertexts is the encoder's inverse special FFT (bit-reversed), and
    /// SlotToCoeff brings it back, on random vectors.
    #[test]
    fn encrypted_coeff_to_slot_is_the_special_fft(seed in 0u64..1000) {
        let f = fixture();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let log_slots = f.params.log_n() - 1;
        let n = 1usize << log_slots;
        let level = f.params.max_level();
        let scale = f.params.q_tables()[level].modulus().value() as f64;
        let z = random_slots(&mut rng, n);
        let mut ct = encrypt(f, &z, level, scale, seed + 7);
        let budget = 3;
        for (k, m) in dft::coeff_to_slot_factors(n, budget).iter().enumerate() {
            let t = EncodedTransform::new(&f.params, &f.encoder, m, level - k, scale, scale).unwrap();
            ct = t.evaluate(&f.eval, &ct).unwrap();
        }
        let got = decrypt(f, &ct);
        let coeffs = SpecialFft::new(f.params.log_n(), log_slots).unwrap().encode(&z);
        let want: Vec<Complex64> = (0..n)
            .map(|t| {
                let k = heaccel_verification::arith::bit_reverse(t, log_slots);
                Complex64::new(coeffs[k], coeffs[n + k])
            })
            .collect();
        let (_, worst) = precision(&want, &got);
        prop_assert!(worst >= 30.0, "CoeffToSlot worst {}", worst);
        for (k, m) in dft::slot_to_coeff_factors(n, budget).iter().enumerate() {
            let t = EncodedTransform::new(&f.params, &f.encoder, m, level - budget - k, scale, scale).unwrap();
            ct = t.evaluate(&f.eval, &ct).unwrap();
        }
        let (_, worst) = precision(&z, &decrypt(f, &ct));
        prop_assert!(worst >= 25.0, "round trip worst {}", worst);
    }
}

#[test]
fn bad_input_gets_clear_errors() {
    let f = fixture();
    let n = f.params.max_slots();
    let values = vec![Complex64::new(0.5, 0.0); n];
    // wrong level
    let ct = encrypt(f, &values, 1, f.params.default_scale(), 50);
    let err = f.full.bootstrap(&f.eval, &ct).unwrap_err();
    assert!(
        matches!(&err, Error::Level { operation, level: 1, allowed }
            if operation == "bootstrapping" && *allowed == (0..=0)),
        "{err}"
    );
    assert!(err.to_string().contains("needs level 0"), "{err}");
    // wrong slot count
    let ct = encrypt(f, &values[..256], 0, f.params.default_scale(), 51);
    let err = f.full.bootstrap(&f.eval, &ct).unwrap_err();
    assert!(
        matches!(&err, Error::Mismatch { what: Mismatched::Slots, found, .. } if found == "2^8"),
        "{err}"
    );
    // scale too large for the message ratio
    let ct = encrypt(f, &values, 0, 2f64.powi(55), 52);
    let err = f.full.bootstrap(&f.eval, &ct).unwrap_err();
    assert!(
        matches!(&err, Error::OutOfRange { what, .. } if what.ends_with("input scale")),
        "{err}"
    );
    // a missing Galois key is named with its rotation
    let needed = f.full.galois_elements();
    let eval = keys_for(&f.params, &f.sk, &needed[1..], 53);
    let ct = encrypt(f, &values, 0, f.params.default_scale(), 54);
    let err = f.full.bootstrap(&eval, &ct).unwrap_err();
    assert!(
        matches!(&err, Error::MissingKey { key: KeyKind::Galois(g), detail, .. }
            if *g == needed[0] && detail.contains("rotation by")),
        "{err}"
    );
    assert!(err.to_string().contains("rotation by"), "{err}");
    // budgets out of range, slots that do not divide N/2, no room for the depth, EvalMod
    // levels on primes of another size
    let base = BootstrapConfig::default_for(&f.params, 11).unwrap();
    let mut arcsine = base.clone();
    arcsine.evalmod.arcsine_degree = 5;
    // CoeffToSlot of 4 levels pushes EvalMod's last level onto a 50-bit SlotToCoeff prime
    let mut deep_cts = base.clone();
    deep_cts.cts_budget = 4;
    for (cfg, field) in [
        (
            BootstrapConfig {
                cts_budget: 6,
                ..base.clone()
            },
            "cts_budget",
        ),
        (
            BootstrapConfig {
                stc_budget: 0,
                ..base.clone()
            },
            "stc_budget",
        ),
        (
            BootstrapConfig {
                log_slots: 12,
                ..base.clone()
            },
            "log_slots",
        ),
        (
            BootstrapConfig {
                cts_budget: 5,
                stc_budget: 5,
                ..base.clone()
            },
            "levels",
        ),
        (arcsine, "levels"),
        (deep_cts, "log_q"),
    ] {
        let err = Bootstrapper::new(&f.params, &cfg).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParameter { field: got, .. } if got == field),
            "{field}: {err}"
        );
    }
    let small = Parameters::preset("test-n13").unwrap();
    let err = BootstrapConfig::default_for(&small, 12)
        .and_then(|cfg| Bootstrapper::new(&small, &cfg))
        .unwrap_err();
    assert!(err.to_string().contains("levels"), "{err}");
}

#[test]
fn fused_inner_product_equals_the_chain_of_products_and_sums() {
    let f = fixture();
    let level = f.params.max_level();
    let scale = f.params.q_tables()[level].modulus().value() as f64;
    let mut rng = ChaCha20Rng::seed_from_u64(70);
    let n = f.params.max_slots();
    // 40 terms: more than one 32-term chunk of the 128-bit accumulator
    let babies: Vec<Ciphertext> = (0..5)
        .map(|b| encrypt(f, &random_slots(&mut rng, n), level, scale, 71 + b))
        .collect();
    let row: Vec<(usize, heaccel_verification::ckks::Plaintext)> = (0..40)
        .map(|j| {
            let pt = f
                .encoder
                .encode(&random_slots(&mut rng, n), level, scale)
                .unwrap();
            (j % 5, pt)
        })
        .collect();
    let fused =
        heaccel_verification::bootstrap::linear::inner_product(&f.eval, &babies, &row, level);
    let mut chain = f.eval.mul_plain(&babies[row[0].0], &row[0].1).unwrap();
    for (b, pt) in &row[1..] {
        chain = f
            .eval
            .add(&chain, &f.eval.mul_plain(&babies[*b], pt).unwrap())
            .unwrap();
    }
    assert_eq!(fused, chain);
}

#[test]
fn the_shape_trace_of_the_plan_is_the_trace_of_a_real_run() {
    use heaccel_verification::ckks::ops::{shape_ciphertext, OpRecord, Recorder, ShapeTracer};
    let f = fixture();
    for (boot, log_slots, scale) in [
        (&f.full, f.params.log_n() - 1, f.params.default_scale()),
        (&f.sparse, 7, 2f64.powi(38)),
    ] {
        let n = 1usize << log_slots;
        let mut rng = ChaCha20Rng::seed_from_u64(40);
        let ct = encrypt(f, &random_slots(&mut rng, n), 0, scale, 41);
        let recorder = Recorder::new(&f.eval);
        let (real, _) = boot.bootstrap_with(&recorder, &ct).unwrap();
        let real_trace = recorder.into_trace();

        let plan = Bootstrapper::plan(&f.params, boot.config()).unwrap();
        let tracer = ShapeTracer::new(&f.params);
        let shape_in = shape_ciphertext(&f.params, 0, scale, log_slots);
        let (shape, _) = plan.bootstrap_with(&tracer, &shape_in).unwrap();
        let shape_trace = tracer.into_trace();

        assert_eq!(shape_trace, real_trace, "2^{log_slots} slots");
        assert_eq!(shape.level(), real.level());
        assert_eq!(shape.scale, real.scale);
        assert_eq!(shape.log_slots, real.log_slots);
        // The trace is the factorization's: every stage present, one hoisted baby-step
        // rotation set per transform factor, EvalMod's products on its levels.
        let stages: Vec<&str> = {
            let mut s: Vec<&str> = real_trace.iter().map(|t| t.stage.as_str()).collect();
            s.dedup();
            s
        };
        let want: &[&str] = if log_slots + 1 < f.params.log_n() {
            &[
                "mod_raise",
                "sub_sum",
                "coeff_to_slot",
                "eval_mod",
                "slot_to_coeff",
            ]
        } else {
            &["mod_raise", "coeff_to_slot", "eval_mod", "slot_to_coeff"]
        };
        assert_eq!(stages, want);
        let factors = boot.coeff_to_slot().len() + boot.slot_to_coeff().len();
        let hoisted = real_trace
            .iter()
            .filter(|t| matches!(&t.op, OpRecord::Automorphisms { galois, .. } if galois.len() > 1))
            .count();
        assert!(
            hoisted <= factors && hoisted >= factors / 2,
            "{hoisted} of {factors}"
        );
        let mults = real_trace
            .iter()
            .filter(|t| t.stage == "eval_mod" && matches!(t.op, OpRecord::MulRelin { .. }))
            .count();
        let halves = if log_slots + 1 < f.params.log_n() {
            1
        } else {
            2
        };
        assert_eq!(mults, halves * boot.evalmod().ct_mults());
    }
    // A real backend refuses the plan's shape-only diagonals.
    let plan = Bootstrapper::plan(&f.params, f.full.config()).unwrap();
    let ct = encrypt(
        f,
        &vec![Complex64::new(0.5, 0.0); f.params.max_slots()],
        0,
        f.params.default_scale(),
        42,
    );
    let err = plan.bootstrap(&f.eval, &ct).unwrap_err();
    assert!(
        matches!(&err, Error::Mismatch { operation, what: Mismatched::Coefficients, found, .. }
            if operation.contains("plaintext") && found == "0"),
        "{err:?}"
    );
}
