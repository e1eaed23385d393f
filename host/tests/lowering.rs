//! Lowered CKKS operations, run on the functional executor, produce exactly the ciphertexts of
//! the reference model.

use heaccel_host::lowering::*;
use heaccel_sim::isa::Program;
use heaccel_sim::{FunctionalExecutor, Memory};
use heaccel_verification::automorphism::{galois_element_conjugate, galois_element_for_rotation};
use heaccel_verification::ckks::*;
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};

struct Setup {
    params: Parameters,
    evaluator: Evaluator,
    relin: RelinKey,
    galois: GaloisKeys,
    x: Ciphertext,
    y: Ciphertext,
    pt: Plaintext,
}

/// `test-n13` (one prime per digit, one special prime) and a small set with two primes per
/// digit and two special primes (explicitly insecure: only the lowering is under test).
fn setups() -> Vec<Setup> {
    let small = ParametersLiteral {
        log_n: 10,
        log_q: vec![40, 30, 30, 30, 30],
        q: vec![],
        log_p: vec![45, 45],
        p: vec![],
        log_scale: 30,
        dnum: 3,
        hamming_weight: None,
        allow_insecure: true,
    };
    [
        Parameters::preset("test-n13").unwrap(),
        small.build().unwrap(),
    ]
    .into_iter()
    .map(|params| {
        let mut kg = KeyGenerator::with_rng(&params, ChaCha20Rng::seed_from_u64(1));
        let sk = kg.gen_secret_key();
        let pk = kg.gen_public_key(&sk).unwrap();
        let relin = kg.gen_relin_key(&sk).unwrap();
        let galois = kg.gen_galois_keys(&sk, &[1, 2, 5], true).unwrap();
        let evaluator = Evaluator::new(&params, Some(relin.clone()), Some(galois.clone())).unwrap();
        let encoder = Encoder::new(&params);
        let mut enc = Encryptor::with_rng(
            &params,
            EncryptionKey::Public(pk),
            ChaCha20Rng::seed_from_u64(2),
        )
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut values = || -> Vec<Complex64> {
            (0..params.max_slots())
                .map(|_| Complex64::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0)))
                .collect()
        };
        let (vx, vy) = (values(), values());
        let level = params.max_level();
        let scale = params.default_scale();
        let x = enc
            .encrypt(&encoder.encode(&vx, level, scale).unwrap())
            .unwrap();
        let y = enc
            .encrypt(&encoder.encode(&vy, level, scale).unwrap())
            .unwrap();
        let pt = encoder.encode(&vy, level, scale).unwrap();
        Setup {
            params,
            evaluator,
            relin,
            galois,
            x,
            y,
            pt,
        }
    })
    .collect()
}

fn run(program: &Program, fill: impl FnOnce(&mut Memory)) -> Memory {
    let mut memory = Memory::for_program(program);
    fill(&mut memory);
    FunctionalExecutor::new(program)
        .unwrap()
        .run(&mut memory)
        .unwrap();
    memory
}

fn at_level(s: &Setup, ct: &Ciphertext, level: usize) -> Ciphertext {
    s.evaluator.drop_level(ct, level).unwrap()
}

#[test]
fn add_and_pmult_are_bit_exact() {
    for s in setups() {
        for level in [s.params.max_level(), 1] {
            let (x, y) = (at_level(&s, &s.x, level), at_level(&s, &s.y, level));
            let mem = run(&lower_add(&s.params, level).unwrap(), |m| {
                write_ciphertext(m, OperandStem::A, &x).unwrap();
                write_ciphertext(m, OperandStem::B, &y).unwrap();
            });
            let want = s.evaluator.add(&x, &y).unwrap();
            assert_eq!(
                read_ciphertext(&mem, OperandStem::Out, level, want.scale, &x).unwrap(),
                want,
                "add, level {level}"
            );

            let mut pt = s.pt.clone();
            pt.poly.truncate(level + 1);
            let mem = run(&lower_pmult(&s.params, level).unwrap(), |m| {
                write_ciphertext(m, OperandStem::A, &x).unwrap();
                write_plaintext(m, OperandStem::M, &pt).unwrap();
            });
            let want = s.evaluator.mul_plain(&x, &pt).unwrap();
            assert_eq!(
                read_ciphertext(&mem, OperandStem::Out, level, want.scale, &x).unwrap(),
                want,
                "pmult, level {level}"
            );
        }
    }
}

#[test]
fn hmult_relin_and_rescale_are_bit_exact() {
    for s in setups() {
        for level in [s.params.max_level(), 1] {
            let (x, y) = (at_level(&s, &s.x, level), at_level(&s, &s.y, level));
            let mem = run(&lower_hmult_relin(&s.params, level).unwrap(), |m| {
                write_ciphertext(m, OperandStem::A, &x).unwrap();
                write_ciphertext(m, OperandStem::B, &y).unwrap();
                write_switching_key(m, OperandStem::Rlk, &s.relin.key).unwrap();
            });
            let want = s.evaluator.mul_relin(&x, &y).unwrap();
            let got = read_ciphertext(&mem, OperandStem::Out, level, want.scale, &x).unwrap();
            assert_eq!(got, want, "hmult_relin, level {level}");

            let mem = run(&lower_rescale(&s.params, level).unwrap(), |m| {
                write_ciphertext(m, OperandStem::A, &want).unwrap()
            });
            let rescaled = s.evaluator.rescale(&want).unwrap();
            assert_eq!(
                read_ciphertext(&mem, OperandStem::Out, level - 1, rescaled.scale, &want).unwrap(),
                rescaled,
                "rescale, level {level}"
            );
        }
    }
}

#[test]
fn rotations_conjugation_and_hoisting_are_bit_exact() {
    for s in setups() {
        let log_n = s.params.log_n();
        let elements: Vec<u64> = [1i64, 2, 5]
            .iter()
            .map(|&k| galois_element_for_rotation(k, log_n))
            .chain([galois_element_conjugate(log_n)])
            .collect();
        for level in [s.params.max_level(), 0] {
            let x = at_level(&s, &s.x, level);
            // one at a time
            for &g in &elements {
                let mem = run(&lower_automorphisms(&s.params, level, &[g]).unwrap(), |m| {
                    write_ciphertext(m, OperandStem::A, &x).unwrap();
                    write_switching_key(m, OperandStem::Galois(g), &s.galois.keys[&g]).unwrap();
                });
                let want = s.evaluator.automorphism(&x, g).unwrap();
                assert_eq!(
                    read_ciphertext(&mem, OperandStem::OutIndexed(0), level, want.scale, &x)
                        .unwrap(),
                    want,
                    "g {g}, level {level}"
                );
            }
            // hoisted: one decomposition for all rotations
            let program = lower_automorphisms(&s.params, level, &elements[..3]).unwrap();
            let mem = run(&program, |m| {
                write_ciphertext(m, OperandStem::A, &x).unwrap();
                for &g in &elements[..3] {
                    write_switching_key(m, OperandStem::Galois(g), &s.galois.keys[&g]).unwrap();
                }
            });
            let want = s.evaluator.rotate_hoisted(&x, &[1, 2, 5]).unwrap();
            for (r, w) in want.iter().enumerate() {
                assert_eq!(
                    &read_ciphertext(&mem, OperandStem::OutIndexed(r), level, w.scale, &x).unwrap(),
                    w,
                    "hoisted {r}, level {level}"
                );
            }
            // hoisting converts c_1 once: fewer basis conversions than three separate programs
            let separate: usize = elements[..3]
                .iter()
                .map(|&g| count_bconv(&lower_automorphisms(&s.params, level, &[g]).unwrap()))
                .sum();
            assert!(count_bconv(&program) < separate);
        }
    }
}

/// Key streaming: in every key switch (a rotation and a relinearization, hoisted rotations),
/// consecutive key limbs load into two alternating slots, each after the product that read
/// its slot two loads before, and each digit's first key limb loads before its converted
/// limbs' NTTs (so the stream overlaps the transforms and the products on a core that
/// overlaps its units).
#[test]
fn key_limbs_stream_through_a_double_buffered_pair_of_slots() {
    use heaccel_sim::isa::{BufferRole, Instruction};
    for s in setups() {
        let level = s.params.max_level();
        let g = galois_element_for_rotation(1, s.params.log_n());
        for program in [
            lower_automorphisms(&s.params, level, &[g]).unwrap(),
            lower_automorphisms(&s.params, level, &[g, g + 2]).unwrap(),
            lower_hmult_relin(&s.params, level).unwrap(),
        ] {
            let is_key = |i: &Instruction| {
                matches!(i, Instruction::Load { buffer, .. }
                    if program.buffers[*buffer as usize].role == BufferRole::Key)
            };
            let keys: Vec<(usize, u32)> = program
                .instructions
                .iter()
                .enumerate()
                .filter(|(_, i)| is_key(i))
                .map(|(k, i)| (k, i.writes()[0]))
                .collect();
            assert!(keys.len() >= 4);
            let mut digits = 0;
            for (n, &(k, slot)) in keys.iter().enumerate() {
                let next = &program.instructions[k + 1];
                if next.name() == "ntt" {
                    // A digit's first key limb, loaded before its conversion's NTTs.
                    digits += 1;
                    continue;
                }
                assert!(
                    matches!(next.name(), "mul" | "mac") && next.reads().contains(&slot),
                    "key load {k} is not followed by its product: {next:?}"
                );
                // Within a digit: the product of the previous key limb, from the other slot,
                // comes just before this load.
                let prev = &program.instructions[k - 1];
                let (_, prev_slot) = keys[n - 1];
                assert_ne!(prev_slot, slot, "consecutive key limbs share a slot");
                assert!(
                    matches!(prev.name(), "mul" | "mac") && prev.reads().contains(&prev_slot),
                    "key load {k} does not follow the previous limb's product: {prev:?}"
                );
            }
            assert!(digits >= 1);
        }
    }
}

fn count_bconv(p: &Program) -> usize {
    p.instructions
        .iter()
        .filter(|i| i.name() == "bconv")
        .count()
}

#[test]
fn invalid_lowerings_are_errors() {
    let params = Parameters::preset("test-n13").unwrap();
    let top = params.max_level();
    assert!(matches!(
        lower_add(&params, top + 1),
        Err(LowerError::LevelAbove { level, highest }) if level == top + 1 && highest == top
    ));
    assert!(matches!(
        lower_rescale(&params, 0),
        Err(LowerError::RescaleAtLevelZero)
    ));
    assert!(matches!(
        lower_automorphisms(&params, 1, &[]),
        Err(LowerError::NoGaloisElement)
    ));
    assert!(matches!(
        lower_drop_level(&params, 1, 2),
        Err(LowerError::DropUpward { from: 1, to: 2 })
    ));
    assert!(matches!(
        lower_inner_product(&params, 1, 0),
        Err(LowerError::NoTerms)
    ));
    let two_n = 2 * params.n();
    assert!(matches!(
        monomial_limbs(&params, 1, two_n),
        Err(LowerError::MonomialExponent { exponent, two_n: t }) if exponent == two_n && t == two_n
    ));
    assert_eq!(
        lower_rescale(&params, 0).unwrap_err().to_string(),
        "lowering: rescale at level 0"
    );
    assert_eq!(
        lower_add(&params, top + 1).unwrap_err().to_string(),
        format!(
            "lowering: level {} is above the highest level {top}",
            top + 1
        )
    );
}

#[test]
fn add_plain_add_const_and_mul_const_are_bit_exact() {
    for s in setups() {
        for level in [s.params.max_level(), 1, 0] {
            let x = at_level(&s, &s.x, level);
            let mut pt = s.pt.clone();
            pt.poly.truncate(level + 1);
            let mem = run(&lower_add_plain(&s.params, level).unwrap(), |m| {
                write_ciphertext(m, OperandStem::A, &x).unwrap();
                write_plaintext(m, OperandStem::M, &pt).unwrap();
            });
            let want = s.evaluator.add_plain(&x, &pt).unwrap();
            assert_eq!(
                read_ciphertext(&mem, OperandStem::Out, level, want.scale, &x).unwrap(),
                want,
                "add_plain, level {level}"
            );

            // negative and fractional constants, and one beyond 2^63 after scaling
            for value in [0.375, -1.25, 3.0e9] {
                let mem = run(
                    &lower_add_const(&s.params, level, value, x.scale).unwrap(),
                    |m| write_ciphertext(m, OperandStem::A, &x).unwrap(),
                );
                let want = s.evaluator.add_const(&x, value).unwrap();
                assert_eq!(
                    read_ciphertext(&mem, OperandStem::Out, level, want.scale, &x).unwrap(),
                    want,
                    "add_const {value}, level {level}"
                );

                let const_scale = s.params.default_scale();
                let mem = run(
                    &lower_mul_const(&s.params, level, value, const_scale).unwrap(),
                    |m| write_ciphertext(m, OperandStem::A, &x).unwrap(),
                );
                let want = s.evaluator.mul_const(&x, value, const_scale).unwrap();
                assert_eq!(
                    read_ciphertext(&mem, OperandStem::Out, level, want.scale, &x).unwrap(),
                    want,
                    "mul_const {value}, level {level}"
                );
            }
        }
    }
}

#[test]
fn invalid_constant_lowerings_are_errors() {
    let params = Parameters::preset("test-n13").unwrap();
    assert!(matches!(
        lower_add_const(&params, 1, f64::INFINITY, 1.0),
        Err(LowerError::NonFiniteConstant { value, scale }) if value.is_infinite() && scale == 1.0
    ));
    assert!(matches!(
        lower_mul_const(&params, 1, 1.0, 0.5),
        Err(LowerError::ConstantScale { scale }) if scale == 0.5
    ));
    assert!(matches!(
        lower_mul_const(&params, 1, f64::NAN, 2.0),
        Err(LowerError::NonFiniteConstant { .. })
    ));
    assert!(matches!(
        lower_add_plain(&params, 9),
        Err(LowerError::LevelAbove { level: 9, .. })
    ));
}
